// LoopThread: a thread that owns one io::Loop — pinned to a CPU, set up by a caller-supplied
// function on that thread (so SINGLE_ISSUER binds the ring to it), then running the loop.
//
// Created and joined by the main thread; loop() may be used from other threads only for the
// thread-safe Loop methods (post, request_stop).
#pragma once

#include <pthread.h>

#include <atomic>
#include <memory>
#include <thread>

#include "base/result.h"
#include "io/loop.h"

namespace em::io {

/// Number of CPUs this process may run on (sched_getaffinity), at least 1.
int usable_cpu_count();
/// The n-th CPU of this process's affinity set (wraps around), or -1 if unknown.
int nth_usable_cpu(int n);
/// Pins the calling thread to `cpu` (ignored when cpu < 0). Errors are reported, not fatal.
Result<void> pin_current_thread(int cpu);

class LoopThread {
  public:
    /// Runs on the new thread after the loop exists, before run(): create listeners, etc.
    using SetupFn = Result<void> (*)(Loop& loop, void* ctx);
    /// Runs on the thread after run() returns, before the loop is destroyed.
    using TeardownFn = void (*)(Loop& loop, void* ctx);

    /// Starts the thread and waits until setup finished; its error is returned here.
    static Result<std::unique_ptr<LoopThread>> start(const LoopConfig& config, int cpu,
                                                     SetupFn setup, TeardownFn teardown, void* ctx);
    ~LoopThread();
    Loop& loop() { return *loop_; }
    /// Asks the loop to stop (it drains first, see Loop::set_drain_check).
    void request_stop() { loop_->request_stop(); }
    void join();

  private:
    LoopThread() = default;
    void body(const LoopConfig& config, int cpu, SetupFn setup, TeardownFn teardown, void* ctx);

    std::thread thread_;
    std::unique_ptr<Loop> loop_;
    std::atomic<int> state_{0};  // 0 starting, 1 running, 2 failed
    Error error_;
};

}  // namespace em::io
