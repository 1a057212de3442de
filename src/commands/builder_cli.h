// `enginemux builder set-execution-mode MODE` and `enginemux builder get-execution-mode`: the
// builder role's execution mode (issue 15 item 4) switched or read through a running daemon's
// admin API (POST / GET /execution-mode), with its bearer token from --admin-token-file as every
// write of the admin API needs. MODE: enabled, dry-run (or dry_run), disabled; the daemon
// judges it and its error is printed as it says it.
//
// Threads: a command-line subcommand on the main thread. Allocates freely (a tool).
#pragma once

namespace em::commands {

/// argv[0] is "builder". Exit 0 on success, 1 when the daemon refused or could not be reached
/// (the reason on stderr), 2 on usage errors.
int builder_main(int argc, char** argv);

}  // namespace em::commands
