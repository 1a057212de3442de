// ProcessControl: starts and stops the validator for the guard, without blocking its loop.
//
// Two modes:
//  - commands: runs the operator's start/stop/status commands (e.g. systemctl); a stop is
//    confirmed only when status_command exits non-zero (the validator is gone) within
//    stop_timeout_ms. Run the validator unit with BindsTo= the guard's unit, so systemd stops
//    it if the guard dies.
//  - child: runs run_command as the guard's child (use `exec` so the validator is the child
//    itself) in its own process group with PR_SET_PDEATHSIG=SIGKILL, so it dies with the guard
//    (kill -9 included). Stop = SIGTERM to the group, SIGKILL after half the stop timeout,
//    confirmed when the child is reaped. While passive it can run follower_command (the node
//    without the validator key) the same way.
//
// Commands run as `/bin/sh -c CMD` with a clean signal mask and fds >= 3 closed. Children are
// reaped by polling waitpid(WNOHANG) on a loop timer (poll_ms).
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
    /// Exit path (blocking): SIGKILL every child process group we started and reap them.
    void kill_all();
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
};

/// Spawns `/bin/sh -c command` in a new process group, dying with this thread's process
/// (PDEATHSIG SIGKILL). Returns the pid.
Result<pid_t> spawn_shell(const std::string& command);

}  // namespace em::validator
