// The harness itself: a test that dies takes the processes it started with it, so an aborted
// or crashed test never leaves daemons and mock ELs running on the machine.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "base/clock.h"
#include "harness.h"

namespace em::test {
namespace {

std::string read_text(const std::string& path) {
    std::ifstream in(path);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

/// Running, not a zombie waiting for its (new) parent to reap it.
bool alive(pid_t pid) {
    if (::kill(pid, 0) != 0 && errno == ESRCH) return false;
    std::string stat = read_text("/proc/" + std::to_string(pid) + "/stat");
    size_t paren = stat.rfind(')');
    return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] != 'Z';
}

/// Forks a child that starts a long-running process through the harness, reports its pid on
/// a pipe and then dies by `how`; returns the grandchild's pid once the child is gone.
pid_t orphan_after(void (*how)()) {
    int fds[2];
    EXPECT_EQ(::pipe(fds), 0);
    pid_t child = ::fork();
    if (child == 0) {
        ::close(fds[0]);
        Process sleeper({"/bin/sleep", "600"}, "sleeper");
        pid_t pid = sleeper.pid();
        if (::write(fds[1], &pid, sizeof pid) != sizeof pid) _exit(3);
        how();
        _exit(4);  // not reached
    }
    ::close(fds[1]);
    pid_t grandchild = -1;
    EXPECT_EQ(::read(fds[0], &grandchild, sizeof grandchild),
              static_cast<ssize_t>(sizeof grandchild));
    ::close(fds[0]);
    int status = 0;
    EXPECT_EQ(::waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFSIGNALED(status)) << "the child should have died by a signal";
    return grandchild;
}

bool gone_within(pid_t pid, int ms) {
    uint64_t deadline = mono_ns() + uint64_t(ms) * 1'000'000ull;
    while (alive(pid) && mono_ns() < deadline) ::usleep(10'000);
    return !alive(pid);
}

TEST(Harness, AnAbortingTestTakesItsProcessesWithIt) {
    pid_t pid = orphan_after([] { std::abort(); });
    ASSERT_GT(pid, 0);
    EXPECT_TRUE(gone_within(pid, 5000)) << "pid " << pid << " outlived the test that started it";
}

TEST(Harness, ATestKilledByTheRunnerTakesItsProcessesWithIt) {
    // meson test sends SIGTERM to a test past its timeout.
    pid_t pid = orphan_after([] {
        ::raise(SIGTERM);
        ::pause();
    });
    ASSERT_GT(pid, 0);
    EXPECT_TRUE(gone_within(pid, 5000)) << "pid " << pid << " outlived the test that started it";
}

}  // namespace
}  // namespace em::test
