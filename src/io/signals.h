// Process signals as file descriptors: SIGINT/SIGTERM (graceful shutdown) and SIGHUP (reload)
// are blocked in every thread and read from a signalfd by the control loop.
//
// block_shutdown_signals() must run in main() before any thread starts (threads inherit the
// mask). SignalWatcher is owned by the control loop's thread.
#pragma once

#include <signal.h>
#include <sys/signalfd.h>

#include "base/result.h"
#include "io/loop.h"

namespace em::io {

/// Blocks SIGINT, SIGTERM, SIGHUP and ignores SIGPIPE for the calling thread and its children.
void block_shutdown_signals();

class SignalWatcher {
  public:
    using Fn = void (*)(int signal_number, void* ctx);
    /// Opens a signalfd for SIGINT/SIGTERM/SIGHUP and reads it on `loop`; fn runs per signal.
    Result<void> start(Loop& loop, Fn fn, void* ctx);
    ~SignalWatcher();

  private:
    static void on_read(Completion* c, int32_t result, uint32_t flags);
    void arm();

    Loop* loop_ = nullptr;
    int fd_ = -1;
    Fn fn_ = nullptr;
    void* ctx_ = nullptr;
    signalfd_siginfo info_{};
    Completion read_{};
};

}  // namespace em::io
