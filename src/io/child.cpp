#include "io/child.h"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <csignal>

namespace em::io {

void prepare_child(pid_t parent, int keep_fd) {
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);  // the parent died before prctl took effect
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    signal(SIGPIPE, SIG_DFL);
    unsigned first_closed = 3;
    if (keep_fd >= 0) {
        // dup2 gives fd 3 without close-on-exec; on fd 3 itself, clear the flag.
        if (keep_fd == 3) {
            fcntl(3, F_SETFD, 0);
        } else if (dup2(keep_fd, 3) != 3) {
            _exit(127);
        }
        first_closed = 4;
    }
    syscall(SYS_close_range, first_closed, ~0u, 0u);
}

}  // namespace em::io
