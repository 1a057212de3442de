#include "validator/process.h"

#include <signal.h>  // NOLINT(modernize-deprecated-headers): POSIX sigaction, kill, sigset_t
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "base/assert.h"
#include "base/clock.h"
#include "base/log.h"
#include "io/child.h"

namespace em::validator {

Result<pid_t> spawn_process(const char* const* argv, int inherit_fd) {
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) return Unexpected(Error::sys(errno, "fork"));
    if (pid == 0) {
        // Child: async-signal-safe calls only until exec.
        io::prepare_child(parent, inherit_fd);
        execv(argv[0], const_cast<char* const*>(argv));
        _exit(127);
    }
    setpgid(pid, pid);  // also from the parent, so kill(-pid) works at once
    return pid;
}

Result<pid_t> spawn_shell(const std::string& command) {
    const char* argv[] = {"/bin/sh", "-c", command.c_str(), nullptr};
    return spawn_process(argv);
}

namespace {

/// waitpid(WNOHANG): true when pid ended (its status in *status).
bool reaped(pid_t pid, int* status) {
    int s = 0;
    pid_t r = waitpid(pid, &s, WNOHANG);
    if (r == pid || (r < 0 && errno == ECHILD)) {
        *status = r == pid ? s : 0;
        return true;
    }
    return false;
}

int exit_code(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return -1;
}

}  // namespace

ProcessControl::ProcessControl(io::Loop& loop, const ProcessConfig& config, ProcessEvents& events)
    : loop_(loop), config_(config), events_(events) {
    EM_ASSERT(!config_.child_mode || (config_.permit_fd >= 0 && !config_.supervisor_path.empty()));
    timer_.fn = on_timer;
    timer_.owner = this;
    arm(config_.poll_ms);
}

ProcessControl::~ProcessControl() {
    loop_.timer_cancel(&timer_);
    kill_all();
}

void ProcessControl::arm(uint32_t ms) {
    loop_.timer_start(&timer_, loop_.now_ns() + ms_to_ns(ms));
}

void ProcessControl::on_timer(io::Timer* t) {
    auto* self = static_cast<ProcessControl*>(t->owner);
    self->poll();
    if (!t->armed()) self->arm(self->config_.poll_ms);
}

void ProcessControl::kill_all(uint32_t wait_ms) {
    pid_t* pids[] = {&validator_pid_, &follower_pid_, &command_pid_};
    for (pid_t* p : pids) {
        if (*p > 0) forget(*p);
        *p = 0;
    }
    for (pid_t p : forgotten_) {
        if (p > 0) kill(-p, SIGKILL);
    }
    uint64_t deadline = mono_ns() + ms_to_ns(wait_ms);
    for (;;) {
        reap_forgotten();
        bool left = false;
        for (pid_t p : forgotten_) left = left || p > 0;
        if (!left || mono_ns() >= deadline) return;
        usleep(1'000);
    }
}

void ProcessControl::forget(pid_t pid) {
    for (pid_t& slot : forgotten_) {
        if (slot == 0) {
            slot = pid;
            return;
        }
    }
    // All slots hold processes stuck in the kernel: this one stays a zombie until we exit.
}

void ProcessControl::reap_forgotten() {
    for (pid_t& slot : forgotten_) {
        int status;
        if (slot > 0 && reaped(slot, &status)) slot = 0;
    }
}

void ProcessControl::run_follower(bool wanted) {
    follower_wanted_ = wanted && !config_.follower_command.empty();
    if (!follower_wanted_ && follower_pid_ > 0 && step_ == Step::idle)
        kill(-follower_pid_, SIGTERM);
}

void ProcessControl::start() {
    EM_ASSERT(step_ == Step::idle);
    starting_ = true;
    step_deadline_ns_ = mono_ns() + ms_to_ns(config_.command_timeout_ms);
    if (!config_.child_mode) {
        auto pid = spawn_shell(config_.start_command);
        if (!pid) {
            finish_start(&pid.error());
            return;
        }
        command_pid_ = *pid;
        step_ = Step::start_command;
        return;
    }
    stop_deadline_ns_ = mono_ns() + ms_to_ns(config_.stop_timeout_ms);
    killed_hard_ = false;
    if (follower_pid_ > 0) kill(-follower_pid_, SIGTERM);
    step_ = Step::stop_follower;  // poll() spawns the validator once the follower is gone
    arm(0);
}

void ProcessControl::stop() {
    EM_ASSERT(step_ == Step::idle);
    starting_ = false;
    stop_deadline_ns_ = mono_ns() + ms_to_ns(config_.stop_timeout_ms);
    killed_hard_ = false;
    if (!config_.child_mode) {
        auto pid = spawn_shell(config_.stop_command);
        if (!pid) {
            finish_stop(&pid.error());
            return;
        }
        command_pid_ = *pid;
        step_ = Step::stop_command;
        return;
    }
    if (validator_pid_ > 0) kill(-validator_pid_, SIGTERM);
    step_ = Step::stop_child;  // confirmed when reaped (poll)
    arm(0);
}

void ProcessControl::finish_start(const Error* error) {
    step_ = Step::idle;
    events_.on_validator_started(error);
}

void ProcessControl::finish_stop(const Error* error) {
    step_ = Step::idle;
    events_.on_validator_stopped(error);
}

void ProcessControl::begin_status_check() {
    auto pid = spawn_shell(config_.status_command);
    if (!pid) {
        finish_stop(&pid.error());
        return;
    }
    command_pid_ = *pid;
    step_ = Step::status_check;
}

void ProcessControl::maybe_start_follower() {
    if (!follower_wanted_ || step_ != Step::idle || validator_pid_ > 0 || follower_pid_ > 0 ||
        mono_ns() < follower_retry_ns_) {
        return;
    }
    auto pid = spawn_shell(config_.follower_command);
    if (!pid) {
        EM_LOG_LIMITED(LogLevel::error, 1, "validator: follower_command: %s", pid.error().c_str());
        follower_retry_ns_ = mono_ns() + ms_to_ns(1000);
        return;
    }
    follower_pid_ = *pid;
}

void ProcessControl::poll() {
    uint64_t now = mono_ns();
    int status = 0;
    reap_forgotten();
    if (validator_pid_ > 0 && reaped(validator_pid_, &status)) {
        validator_pid_ = 0;
        if (step_ != Step::stop_child) events_.on_validator_exited(exit_code(status));
    }
    if (follower_pid_ > 0 && reaped(follower_pid_, &status)) {
        follower_pid_ = 0;
        if (step_ != Step::stop_follower) follower_retry_ns_ = now + ms_to_ns(1000);
    }
    bool command_done = command_pid_ > 0 && reaped(command_pid_, &status);
    if (command_done) command_pid_ = 0;
    if (command_pid_ > 0 && step_ == Step::start_command && now > step_deadline_ns_) {
        kill(-command_pid_, SIGKILL);  // reaped on a later poll, then reported as failed
    }
    if (command_pid_ > 0 && (step_ == Step::stop_command || step_ == Step::status_check) &&
        now > stop_deadline_ns_) {
        kill(-command_pid_, SIGKILL);
        forget(command_pid_);  // reaped by a later poll, whenever it goes
        command_pid_ = 0;
        Error e(Errc::timeout, "stop not confirmed within stop_timeout_ms");
        finish_stop(&e);
        return;
    }
    switch (step_) {
        case Step::idle:
            maybe_start_follower();
            break;
        case Step::start_command:
        case Step::stop_command:
        case Step::status_check:
            if (command_done) command_finished(exit_code(status), now);
            break;
        case Step::stop_follower:
        case Step::stop_child:
            poll_child_stop(now);
            break;
    }
}

void ProcessControl::command_finished(int code, uint64_t now) {
    if (step_ == Step::start_command) {
        if (code == 0) {
            finish_start(nullptr);
        } else {
            Error e = Error::fmt(Errc::io, "start_command exited with status %d", code);
            finish_start(&e);
        }
    } else if (step_ == Step::stop_command) {  // NOLINT(bugprone-branch-clone): then a status check
        begin_status_check();
    } else if (code != 0) {
        finish_stop(nullptr);  // status_command says: not running
    } else if (now > stop_deadline_ns_) {
        Error e(Errc::timeout, "status_command still reports the validator running");
        finish_stop(&e);
    } else {
        begin_status_check();
    }
}

void ProcessControl::start_validator_child() {
    // The supervisor escalates to SIGKILL (and confirms it) before our own escalation at half
    // the stop timeout, so the validator itself, not only the supervisor, is seen to go.
    std::string grace_ms = std::to_string(config_.stop_timeout_ms * 2 / 5);
    const char* argv[] = {config_.supervisor_path.c_str(),
                          "validator-run",
                          "--permit-fd",
                          "3",
                          "--term-grace-ms",
                          grace_ms.c_str(),
                          "--",
                          "/bin/sh",
                          "-c",
                          config_.run_command.c_str(),
                          nullptr};
    auto pid = spawn_process(argv, config_.permit_fd);
    if (pid) validator_pid_ = *pid;
    finish_start(pid ? nullptr : &pid.error());
}

void ProcessControl::poll_child_stop(uint64_t now) {
    pid_t target = step_ == Step::stop_child ? validator_pid_ : follower_pid_;
    if (target == 0) {
        if (step_ == Step::stop_child) {
            finish_stop(nullptr);
            maybe_start_follower();
            return;
        }
        start_validator_child();  // the follower is gone: now the validator may start
        return;
    }
    uint64_t half = ms_to_ns(config_.stop_timeout_ms) / 2;
    if (!killed_hard_ && now + half > stop_deadline_ns_) {
        kill(-target, SIGKILL);
        killed_hard_ = true;
    }
    if (now > stop_deadline_ns_) {
        Error e(Errc::timeout, "the process did not exit after SIGKILL");
        if (step_ == Step::stop_child)
            finish_stop(&e);
        else
            finish_start(&e);
    }
}

}  // namespace em::validator
