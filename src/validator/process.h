// ProcessControl: starts and stops the validator for the guard, without blocking its loop.
//
// Two modes:
//  - commands: runs the operator's start/stop/status commands (e.g. systemctl); a stop is
//    confirmed only when status_command exits non-zero (the validator is gone) within
//    stop_timeout_ms. The validator's own unit runs it under `enginemux validator-run --permit
//    FILE` (supervisor.h) and BindsTo= the guard's unit, so the permit and systemd stop it when
//    the guard stalls or dies.
//  - child: runs run_command under the supervisor (`<supervisor_path> validator-run --permit-fd
//    3 -- /bin/sh -c run_command`, the permit's memfd as fd 3) as the guard's child, in its own
//    process group with PR_SET_PDEATHSIG=SIGKILL, so the supervisor, and through it the
//    validator, dies with the guard (kill -9 included), and the validator dies when the permit
//    lapses even while the guard is stopped. Stop = SIGTERM to the supervisor (it forwards it),
//    SIGKILL after half the stop timeout, confirmed when the supervisor is reaped (it exits only
//    after reaping the validator). While passive it can run follower_command (the node without
//    the validator key, not supervised) the same way.
//
// Commands run as `/bin/sh -c CMD` with a clean signal mask and fds >= 3 closed (but the
// permit). Children are reaped by polling waitpid(WNOHANG) on a loop timer (poll_ms); nothing
// here waits for a child: a process stuck in the kernel after SIGKILL is reaped when it goes.
//
// Threads: the guard's loop thread. Exactly one start/stop at a time (the guard serialises).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "base/result.h"
#include "io/loop.h"

namespace em::validator {

struct ProcessConfig {
    bool child_mode = false;
    std::string start_command, stop_command, status_command;  ///< commands mode
    std::string run_command, follower_command;                ///< child mode
    std::string supervisor_path;  ///< child mode: the binary that implements validator-run
    int permit_fd = -1;           ///< child mode: the permit's memfd, passed on as fd 3
    uint32_t stop_timeout_ms = 20'000;
    uint32_t command_timeout_ms = 60'000;
    uint32_t poll_ms = 50;
};

/// Outcomes, delivered on the loop thread.
class ProcessEvents {
  public:
    virtual ~ProcessEvents() = default;
    virtual void on_validator_started(const Error* error) = 0;
    /// The validator is confirmed gone (error: not confirmed; it may still run).
    virtual void on_validator_stopped(const Error* error) = 0;
    /// Child mode: the validator exited without being asked to.
    virtual void on_validator_exited(int status) = 0;
};

class ProcessControl {
  public:
    ProcessControl(io::Loop& loop, const ProcessConfig& config, ProcessEvents& events);
    ~ProcessControl();
    ProcessControl(const ProcessControl&) = delete;
    ProcessControl& operator=(const ProcessControl&) = delete;

    /// Starts the validator -> on_validator_started.
    void start();
    /// Stops the validator and confirms it is gone -> on_validator_stopped.
    void stop();
    /// Child mode: keep the follower running while passive (no-op without follower_command).
    void run_follower(bool wanted);
    /// Exit path: SIGKILL every child process group we started and reap them, waiting at most
    /// wait_ms for processes stuck in the kernel (they are left to init).
    void kill_all(uint32_t wait_ms = 2'000);
    /// Pid of the validator child (child mode), or 0.
    pid_t validator_pid() const { return validator_pid_; }
    pid_t follower_pid() const { return follower_pid_; }

  private:
    enum class Step : uint8_t {
        idle,
        start_command,
        stop_command,
        status_check,
        stop_follower,
        stop_child
    };
    static void on_timer(io::Timer* t);
    void poll();
    void command_finished(int exit_code, uint64_t now);
    void poll_child_stop(uint64_t now);
    void arm(uint32_t ms);
    void finish_start(const Error* error);
    void finish_stop(const Error* error);
    void begin_status_check();
    void maybe_start_follower();
    void start_validator_child();
    /// A killed command that has not exited yet: reaped by later polls.
    void forget(pid_t pid);
    void reap_forgotten();

    io::Loop& loop_;
    ProcessConfig config_;
    ProcessEvents& events_;
    io::Timer timer_{};
    Step step_ = Step::idle;
    bool starting_ = false;  ///< the step serves a start() (else a stop())
    pid_t command_pid_ = 0;  ///< a running start/stop/status command
    pid_t validator_pid_ = 0;
    pid_t follower_pid_ = 0;
    bool follower_wanted_ = false;
    bool killed_hard_ = false;
    uint64_t step_deadline_ns_ = 0;
    uint64_t stop_deadline_ns_ = 0;
    uint64_t follower_retry_ns_ = 0;
    pid_t forgotten_[8] = {};  ///< killed, not yet reaped
};

/// Spawns argv (argv[0] an absolute path) in a new process group, dying with this thread's
/// process (PDEATHSIG SIGKILL), with fds >= 3 closed except inherit_fd, which the child gets as
/// fd 3 (-1: none). Returns the pid.
Result<pid_t> spawn_process(const char* const* argv, int inherit_fd = -1);
/// spawn_process of `/bin/sh -c command`.
Result<pid_t> spawn_shell(const std::string& command);

}  // namespace em::validator
