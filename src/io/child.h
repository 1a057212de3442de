// The child's side of a fork() that will exec a supervised process (the validator guard's
// validator, its supervisor, the operator's commands): a process group of its own, killed with
// its parent, a clean signal state and no inherited descriptors but the one it is given.
//
// Threads: call only in the child between fork() and exec: everything here is async-signal-safe
// (no allocation, no locks, no logging).
#pragma once

#include <sys/types.h>

namespace em::io {

/// In the child, before exec: setpgid(0, 0); SIGKILL when the parent dies (PR_SET_PDEATHSIG;
/// _exit(127) at once if `parent` already died); an empty signal mask and SIGPIPE at its
/// default; `keep_fd` (if >= 0) becomes fd 3 without close-on-exec; every other fd >= 3 is
/// closed. On a failure it _exit(127)s.
void prepare_child(pid_t parent, int keep_fd);

}  // namespace em::io
