#include "validator/supervisor.h"

#include <poll.h>
#include <signal.h>  // NOLINT(modernize-deprecated-headers): POSIX sigaction, kill, sigset_t
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "io/child.h"
#include "validator/permit.h"

namespace em::validator {

namespace {

const char usage[] =
    "usage: enginemux validator-run (--permit-fd N | --permit FILE) [--term-grace-ms MS]\n"
    "                               [--check-ms MS] -- COMMAND [ARG...]\n"
    "Runs COMMAND (the validator) and SIGKILLs it the moment the guard's permit lapses.\n";

struct Options {
    int permit_fd = -1;
    std::string permit_file;
    uint32_t term_grace_ms = 10'000;
    uint32_t check_ms = 10;
    char** command = nullptr;  ///< null-terminated, from argv
};

int usage_error(const char* what) {
    std::fprintf(stderr, "enginemux validator-run: %s\n%s", what, usage);
    return supervisor_exit_usage;
}

bool parse_u32(const char* text, uint32_t min, uint32_t max, uint32_t& out) {
    char* end = nullptr;
    errno = 0;
    unsigned long v = std::strtoul(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < min || v > max) return false;
    out = static_cast<uint32_t>(v);
    return true;
}

/// Fills o from argv; returns 0 or the exit status of a usage error.
int parse(int argc, char** argv, Options& o) {
    for (int i = 1; i < argc; i++) {
        std::string_view a = argv[i];
        const char* value = i + 1 < argc ? argv[i + 1] : nullptr;
        uint32_t fd = 0;
        if (a == "--") {
            if (i + 1 >= argc) return usage_error("no command after --");
            o.command = argv + i + 1;
            break;
        }
        if (value == nullptr) return usage_error("an option lacks its value");
        i++;
        if (a == "--permit-fd") {
            if (!parse_u32(value, 3, 1 << 20, fd)) return usage_error("--permit-fd needs fd >= 3");
            o.permit_fd = static_cast<int>(fd);
        } else if (a == "--permit") {
            o.permit_file = value;
        } else if (a == "--term-grace-ms") {
            if (!parse_u32(value, 0, 3'600'000, o.term_grace_ms))
                return usage_error("--term-grace-ms needs 0..3600000");
        } else if (a == "--check-ms") {
            if (!parse_u32(value, 1, 1'000, o.check_ms))
                return usage_error("--check-ms needs 1..1000");
        } else {
            std::string what = "unknown option '" + std::string(a) + "'";
            return usage_error(what.c_str());
        }
    }
    if (o.command == nullptr) return usage_error("no command (put it after --)");
    if ((o.permit_fd >= 0) == !o.permit_file.empty())
        return usage_error("give exactly one of --permit-fd and --permit");
    return 0;
}

/// Child side of the fork: its own process group, dies with us, then exec.
[[noreturn]] void exec_validator(char** command, pid_t supervisor) {
    io::prepare_child(supervisor, -1);
    execvp(command[0], command);
    _exit(127);
}

/// The supervision loop: returns the exit status. No allocation, no logging.
int supervise(const PermitReader& permit, pid_t child, int signal_fd, int timer_fd,
              const Options& o) {
    bool killed = false, lapsed = false;
    uint64_t term_ns = 0;
    const uint64_t grace_ns = ms_to_ns(o.term_grace_ms);
    for (;;) {
        uint64_t now = boot_ns();
        uint64_t deadline = permit.deadline_ns();
        if (!killed && now >= deadline) {
            kill(-child, SIGKILL);
            killed = lapsed = true;
        } else if (!killed && term_ns != 0 && now >= term_ns + grace_ns) {
            kill(-child, SIGKILL);
            killed = true;
        }
        if (!killed) {
            uint64_t wake = deadline;
            if (term_ns != 0 && term_ns + grace_ns < wake) wake = term_ns + grace_ns;
            itimerspec at{};
            at.it_value.tv_sec = static_cast<time_t>(wake / 1'000'000'000ull);
            at.it_value.tv_nsec = static_cast<long>(wake % 1'000'000'000ull);
            timerfd_settime(timer_fd, TFD_TIMER_ABSTIME, &at, nullptr);
        }
        pollfd fds[2] = {{signal_fd, POLLIN, 0}, {timer_fd, POLLIN, 0}};
        poll(fds, 2, killed ? -1 : static_cast<int>(o.check_ms));
        uint64_t expirations;
        if (read(timer_fd, &expirations, sizeof expirations) < 0) {
            // EAGAIN: the timer has not fired
        }
        signalfd_siginfo si;
        while (read(signal_fd, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
            int sig = static_cast<int>(si.ssi_signo);
            if (sig != SIGCHLD) {
                if (!killed) kill(-child, sig);
                if (sig != SIGHUP && term_ns == 0) term_ns = boot_ns();
                continue;
            }
            siginfo_t exited{};
            if (waitid(P_PID, static_cast<id_t>(child), &exited, WEXITED | WNOHANG | WNOWAIT) !=
                    0 ||
                exited.si_pid != child) {
                continue;
            }
            // Still a zombie, so its pid (the group id) cannot be reused yet: clear the group of
            // whatever the validator left behind, then reap.
            kill(-child, SIGKILL);
            int status = 0;
            waitpid(child, &status, 0);
            if (lapsed) return supervisor_exit_permit_lapsed;
            if (WIFEXITED(status)) return WEXITSTATUS(status);
            return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 1;
        }
    }
}

}  // namespace

int supervisor_main(int argc, char** argv) {
    Options o;
    if (int bad = parse(argc, argv, o)) return bad;
    auto permit = o.permit_fd >= 0 ? PermitReader::from_fd(o.permit_fd)
                                   : PermitReader::open_file(o.permit_file);
    if (!permit) {
        std::fprintf(stderr, "enginemux validator-run: %s\n", permit.error().c_str());
        return supervisor_exit_usage;
    }
    sigset_t handled;
    sigemptyset(&handled);
    for (int s : {SIGCHLD, SIGTERM, SIGINT, SIGQUIT, SIGHUP}) sigaddset(&handled, s);
    sigprocmask(SIG_BLOCK, &handled, nullptr);
    int signal_fd = signalfd(-1, &handled, SFD_CLOEXEC | SFD_NONBLOCK);
    int timer_fd = timerfd_create(CLOCK_BOOTTIME, TFD_CLOEXEC | TFD_NONBLOCK);
    if (signal_fd < 0 || timer_fd < 0) {
        std::fprintf(stderr, "enginemux validator-run: signalfd/timerfd: %s\n",
                     std::strerror(errno));
        return supervisor_exit_usage;
    }
    uint64_t now = boot_ns();
    uint64_t deadline = permit->deadline_ns();
    if (deadline <= now) {
        std::fprintf(stderr,
                     "enginemux validator-run: no valid permit (%s; epoch %llu): the validator "
                     "is started only by its guard, under a lease\n",
                     deadline == 0 ? "revoked" : "lapsed",
                     static_cast<unsigned long long>(permit->epoch()));
        return supervisor_exit_no_permit;
    }
    pid_t self = getpid();
    pid_t child = fork();
    if (child < 0) {
        std::fprintf(stderr, "enginemux validator-run: fork: %s\n", std::strerror(errno));
        return supervisor_exit_usage;
    }
    if (child == 0) exec_validator(o.command, self);
    setpgid(child, child);  // also from here, so kill(-child) works at once
    return supervise(*permit, child, signal_fd, timer_fd, o);
}

}  // namespace em::validator
