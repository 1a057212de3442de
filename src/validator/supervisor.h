// `enginemux validator-run`: the dead-man switch the validator runs under.
//
//   enginemux validator-run (--permit-fd N | --permit FILE) [--term-grace-ms MS] [--check-ms MS]
//                           -- COMMAND [ARG...]
//
// It starts COMMAND (the validator) as its child in a process group of its own and holds it to
// the permit (permit.h): the moment the permit's deadline passes or it is revoked, it SIGKILLs
// the validator's process group and exits once the validator is confirmed gone (reaped). The
// guard renews the permit after each lease renewal, so a guard whose event loop stalls (SIGSTOP,
// a cgroup freezer, a blocked write, a hung syscall) loses its validator strictly before the
// other host may take the lease over. The guard's loop alone can never be that fence: a loop
// that does not run cannot decide anything.
//
// It does nothing else. After start-up it allocates nothing, logs nothing and makes no call that
// can block for long: a poll() with a bounded wait on a signalfd and a CLOCK_BOOTTIME timerfd,
// the permit checked at least every --check-ms (10 ms by default; a revoke is seen that fast).
// SIGTERM, SIGINT, SIGQUIT and SIGHUP are forwarded to the validator's group; after SIGTERM,
// SIGINT or SIGQUIT the validator gets --term-grace-ms (10 s) to exit before SIGKILL. The child
// dies with the supervisor (PR_SET_PDEATHSIG), and in child mode the supervisor dies with the
// guard, so killing any link of the chain stops the validator.
//
// Child mode: the guard spawns it with the permit as an inherited memfd. Commands mode: the
// validator's systemd unit runs it (ExecStart=, KillMode=mixed) with the permit file the guard
// writes (`[validator.process] permit_file`).
//
// Exit status: the validator's (128 + signal when killed by one), or one of the codes below.
#pragma once

namespace em::validator {

/// The permit was already lapsed or revoked at start: the validator was not started.
constexpr int supervisor_exit_no_permit = 111;
/// The permit lapsed or was revoked while the validator ran: it was SIGKILLed and reaped.
constexpr int supervisor_exit_permit_lapsed = 112;
/// Bad arguments, unreadable permit, fork/exec failure.
constexpr int supervisor_exit_usage = 2;

/// The subcommand; argv[0] is "validator-run".
int supervisor_main(int argc, char** argv);

}  // namespace em::validator
