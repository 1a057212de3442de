#include "io/thread.h"

#include <sched.h>

#include <cstring>

#include "base/log.h"

namespace em::io {

int usable_cpu_count() {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0) return 1;
    int n = CPU_COUNT(&set);
    return n > 0 ? n : 1;
}

int nth_usable_cpu(int n) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0) return -1;
    int count = CPU_COUNT(&set);
    if (count <= 0) return -1;
    int want = n % count;
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (!CPU_ISSET(cpu, &set)) continue;
        if (want-- == 0) return cpu;
    }
    return -1;
}

Result<void> pin_current_thread(int cpu) {
    if (cpu < 0) return {};
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    int rc = pthread_setaffinity_np(pthread_self(), sizeof set, &set);
    if (rc != 0) return Unexpected(Error::sys(rc, "pin thread to cpu"));
    return {};
}

Result<std::unique_ptr<LoopThread>> LoopThread::start(const LoopConfig& config, int cpu,
                                                      SetupFn setup, TeardownFn teardown,
                                                      void* ctx) {
    std::unique_ptr<LoopThread> t(new LoopThread());
    LoopThread* self = t.get();
    self->thread_ = std::thread([self, config, cpu, setup, teardown, ctx] {
        self->body(config, cpu, setup, teardown, ctx);
    });
    while (self->state_.load(std::memory_order_acquire) == 0) self->state_.wait(0);
    if (self->state_.load() == 2) {
        self->thread_.join();
        return Unexpected(self->error_);
    }
    return t;
}

void LoopThread::body(const LoopConfig& config, int cpu, SetupFn setup, TeardownFn teardown,
                      void* ctx) {
    pthread_setname_np(pthread_self(), config.name);
    if (auto pinned = pin_current_thread(cpu); !pinned)
        EM_LOG_WARN("%s: cannot pin to cpu %d: %s", config.name, cpu, pinned.error().c_str());
    auto loop = Loop::create(config);
    if (!loop) {
        error_ = loop.error();
        state_.store(2, std::memory_order_release);
        state_.notify_all();
        return;
    }
    loop_ = std::move(*loop);
    if (setup) {
        if (auto ok = setup(*loop_, ctx); !ok) {
            error_ = ok.error();
            loop_.reset();
            state_.store(2, std::memory_order_release);
            state_.notify_all();
            return;
        }
    }
    state_.store(1, std::memory_order_release);
    state_.notify_all();
    loop_->run();
    if (teardown) teardown(*loop_, ctx);
    // The loop stays allocated until ~LoopThread so other threads' pointers stay valid.
}

void LoopThread::join() {
    if (thread_.joinable()) thread_.join();
}

LoopThread::~LoopThread() {
    if (thread_.joinable()) {
        loop_->request_stop();
        thread_.join();
    }
}

}  // namespace em::io
