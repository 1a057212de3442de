// `enginemux validator-run` (the dead-man switch) as a real process over a real permit page:
// it refuses to start without a valid permit, kills the validator and everything in its process
// group when the permit lapses or is revoked (also while the guard that spawned it is
// SIGSTOPped), keeps it running while the permit is renewed, forwards SIGTERM and escalates to
// SIGKILL after the grace period, dies with its parent and takes the validator with it, and
// reads a permit file as well as an inherited descriptor (commands mode).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "base/clock.h"
#include "harness.h"
#include "validator/permit.h"
#include "validator/process.h"
#include "validator/supervisor.h"

namespace em::validator {
namespace {

using test::read_text;
using test::TempDir;
using test::wait_for;

bool running(pid_t pid) {
    return test::process_running(pid);
}

pid_t pid_in(const std::string& path) {
    return static_cast<pid_t>(std::atoi(read_text(path).c_str()));
}

struct Supervised {
    pid_t supervisor = 0;
    /// waitpid with a bound; the exit status as the shell reports it, or -1 if still running.
    int wait_exit(int timeout_ms) {
        int status = 0;
        bool done = wait_for([&] { return waitpid(supervisor, &status, WNOHANG) == supervisor; },
                             timeout_ms);
        if (!done) return -1;
        supervisor = 0;
        if (WIFEXITED(status)) return WEXITSTATUS(status);
        return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -2;
    }
    ~Supervised() {
        if (supervisor > 0) {
            kill(-supervisor, SIGKILL);
            waitpid(supervisor, nullptr, 0);
        }
    }
};

struct SupervisorTest : ::testing::Test {
    TempDir tmp;
    std::string dir = tmp.path();
    std::string binary = test::built("tests/validator/validator_guard");
    PermitWriter permit = *PermitWriter::create_anonymous();

    void grant_ms(uint64_t ms) { permit.grant_until(boot_ns() + ms_to_ns(ms), 3); }

    /// The validator writes its pid (and a background child's) and sleeps.
    std::string sleeper() const {
        return "sleep 1000 & echo $! > " + dir + "/grandchild; echo $$ > " + dir +
               "/validator; exec sleep 1000";
    }

    pid_t spawn(const std::string& command, const char* grace_ms = "10000",
                const std::string& permit_file = "") {
        std::vector<const char*> argv = {binary.c_str(), "validator-run"};
        if (permit_file.empty()) {
            argv.insert(argv.end(), {"--permit-fd", "3"});
        } else {
            argv.insert(argv.end(), {"--permit", permit_file.c_str()});
        }
        argv.insert(argv.end(),
                    {"--term-grace-ms", grace_ms, "--", "/bin/sh", "-c", command.c_str(), nullptr});
        auto pid = spawn_process(argv.data(), permit_file.empty() ? permit.fd() : -1);
        EXPECT_TRUE(pid) << pid.error().c_str();
        return pid ? *pid : 0;
    }

    void TearDown() override {
        // Whatever a failed test left behind must not hold the test runner's pipes open.
        for (const char* f : {"/validator", "/grandchild"}) {
            pid_t p = pid_in(dir + f);
            if (p > 1) kill(p, SIGKILL);
        }
    }

    bool started() {
        return wait_for(
            [&] { return pid_in(dir + "/validator") > 0 && pid_in(dir + "/grandchild") > 0; },
            5000);
    }
};

TEST_F(SupervisorTest, RefusesToStartTheValidatorWithoutAValidPermit) {
    Supervised s{spawn("touch " + dir + "/started")};
    EXPECT_EQ(s.wait_exit(5000), supervisor_exit_no_permit);
    EXPECT_EQ(read_text(dir + "/started"), "") << "the validator ran without a permit";
    grant_ms(1);  // a permit that has already lapsed by the time it is read
    usleep(5'000);
    Supervised late{spawn("touch " + dir + "/started")};
    EXPECT_EQ(late.wait_exit(5000), supervisor_exit_no_permit);
}

TEST_F(SupervisorTest, APermitThatLapsesKillsTheValidatorsWholeProcessGroup) {
    grant_ms(500);
    Supervised s{spawn(sleeper())};
    ASSERT_TRUE(started());
    pid_t validator = pid_in(dir + "/validator"), grandchild = pid_in(dir + "/grandchild");
    EXPECT_EQ(s.wait_exit(10'000), supervisor_exit_permit_lapsed);
    EXPECT_FALSE(running(validator));
    EXPECT_TRUE(wait_for([&] { return !running(grandchild); }, 2000))
        << "a process the validator started survived";
}

TEST_F(SupervisorTest, RenewalsKeepItRunningAndARevokeKillsIt) {
    grant_ms(2000);
    Supervised s{spawn(sleeper())};
    ASSERT_TRUE(started());
    pid_t validator = pid_in(dir + "/validator");
    // Renewed every 50 ms, each for 2 s, for 1.5 s: never close to lapsing.
    for (int i = 0; i < 30; i++) {
        grant_ms(2000);
        usleep(50'000);
    }
    EXPECT_TRUE(running(validator));
    EXPECT_EQ(s.wait_exit(0), -1);
    permit.revoke();
    EXPECT_EQ(s.wait_exit(5000), supervisor_exit_permit_lapsed);
    EXPECT_FALSE(running(validator));
}

TEST_F(SupervisorTest, SigtermIsForwardedAndTheValidatorsExitStatusReturned) {
    grant_ms(60'000);
    Supervised s{spawn("trap 'exit 7' TERM; echo $$ > " + dir + "/validator; echo 1 > " + dir +
                       "/grandchild; while :; do sleep 0.05; done")};
    ASSERT_TRUE(started());
    kill(s.supervisor, SIGTERM);
    EXPECT_EQ(s.wait_exit(10'000), 7);
}

TEST_F(SupervisorTest, AValidatorThatIgnoresSigtermIsKilledAfterTheGrace) {
    grant_ms(60'000);
    Supervised s{spawn("trap '' TERM; " + sleeper(), "200")};
    ASSERT_TRUE(started());
    pid_t validator = pid_in(dir + "/validator");
    kill(s.supervisor, SIGTERM);
    EXPECT_EQ(s.wait_exit(10'000), 128 + SIGKILL);
    EXPECT_FALSE(running(validator));
}

// The dead-man property itself: the process that spawned the supervisor (the guard) is
// stopped and never runs again; the validator still goes when the permit lapses.
TEST_F(SupervisorTest, TheValidatorGoesWhenThePermitLapsesWhileItsGuardIsStopped) {
    grant_ms(60'000);
    pid_t guard = fork();
    if (guard == 0) {
        if (spawn(sleeper()) <= 0) _exit(1);
        for (;;) pause();
    }
    ASSERT_TRUE(started());
    pid_t validator = pid_in(dir + "/validator");
    kill(guard, SIGSTOP);
    grant_ms(300);  // the last renewal the stopped guard made
    EXPECT_TRUE(wait_for([&] { return !running(validator); }, 10'000))
        << "the validator outlived its permit while the guard was stopped";
    kill(guard, SIGKILL);
    waitpid(guard, nullptr, 0);
}

// A guard killed with -9: the supervisor dies with it, and the validator with the supervisor.
// (What the validator starts in the background outlives that chain, as it outlived the guard
// before; run the validator with `exec`.)
TEST_F(SupervisorTest, TheValidatorDiesWithItsGuard) {
    grant_ms(60'000);
    pid_t guard = fork();
    if (guard == 0) {
        std::string command =
            "echo $$ > " + dir + "/validator; echo 1 > " + dir + "/grandchild; exec sleep 1000";
        if (spawn(command) <= 0) _exit(1);
        for (;;) pause();
    }
    ASSERT_TRUE(started());
    pid_t validator = pid_in(dir + "/validator");
    kill(guard, SIGKILL);
    waitpid(guard, nullptr, 0);
    EXPECT_TRUE(wait_for([&] { return !running(validator); }, 5000));
}

TEST_F(SupervisorTest, ReadsAPermitFileInCommandsMode) {
    std::string path = dir + "/validator.permit";
    auto file = PermitWriter::open_file(path);
    ASSERT_TRUE(file) << file.error().c_str();
    Supervised refused{spawn("true", "10000", path)};
    EXPECT_EQ(refused.wait_exit(5000), supervisor_exit_no_permit);
    file->grant_until(boot_ns() + ms_to_ns(60'000), 9);
    Supervised s{spawn(sleeper(), "10000", path)};
    ASSERT_TRUE(started());
    pid_t validator = pid_in(dir + "/validator");
    file->revoke();
    EXPECT_EQ(s.wait_exit(5000), supervisor_exit_permit_lapsed);
    EXPECT_FALSE(running(validator));
    // Not a permit page: refused with the reason.
    test::write_text(dir + "/not-a-permit", "hello");
    Supervised bad{spawn("true", "10000", dir + "/not-a-permit")};
    EXPECT_EQ(bad.wait_exit(5000), supervisor_exit_usage);
}

}  // namespace
}  // namespace em::validator
