#include "io/signals.h"

#include <unistd.h>

#include <cerrno>

namespace em::io {

static sigset_t shutdown_set() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    return set;
}

void block_shutdown_signals() {
    sigset_t set = shutdown_set();
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    signal(SIGPIPE, SIG_IGN);
}

Result<void> SignalWatcher::start(Loop& loop, Fn fn, void* ctx) {
    sigset_t set = shutdown_set();
    fd_ = signalfd(-1, &set, SFD_CLOEXEC);
    if (fd_ < 0) return Unexpected(Error::sys(errno, "signalfd"));
    loop_ = &loop;
    fn_ = fn;
    ctx_ = ctx;
    read_.fn = on_read;
    read_.owner = this;
    arm();
    return {};
}

void SignalWatcher::arm() {
    loop_->read(&read_, fd_, &info_, sizeof info_, 0);
}

SignalWatcher::~SignalWatcher() {
    if (fd_ >= 0) ::close(fd_);
}

void SignalWatcher::on_read(Completion* c, int32_t result, uint32_t) {
    auto* self = static_cast<SignalWatcher*>(c->owner);
    if (result == static_cast<int32_t>(sizeof(signalfd_siginfo))) {
        self->fn_(static_cast<int>(self->info_.ssi_signo), self->ctx_);
    }
    if (result != -ECANCELED) self->arm();
}

}  // namespace em::io
