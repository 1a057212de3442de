// Cross-thread hand-off cost between two io::Loop threads (MpscQueue + MSG_RING wake-up): the
// price of moving an engine call from the shard that received it to another shard and back.
// This is the measurement behind "the mux listener lives on one engine shard"
// (docs/ARCHITECTURE.md). Also: the same-thread post, for comparison.
#include <benchmark/benchmark.h>

#include <atomic>
#include <thread>

#include "alloc_counter.h"
#include "base/clock.h"
#include "io/thread.h"

namespace {

struct PingPong {
    em::io::Loop* a = nullptr;
    em::io::Loop* b = nullptr;
    std::atomic<uint64_t> done{0};
};

void pong(void* arg, uint64_t n);
void ping(void* arg, uint64_t n) {
    auto* p = static_cast<PingPong*>(arg);
    p->done.store(n, std::memory_order_release);
}
void pong(void* arg, uint64_t n) {
    auto* p = static_cast<PingPong*>(arg);
    p->a->post(em::io::Task{ping, p, n});  // from b's thread: a MSG_RING wake-up of a
}

void BM_CrossLoopRoundTrip(benchmark::State& state) {
    PingPong p;
    em::io::LoopConfig ca{.name = "bench-a", .buffer_count = 16};
    em::io::LoopConfig cb{.name = "bench-b", .buffer_count = 16};
    int cpus = em::io::usable_cpu_count();
    auto ta = em::io::LoopThread::start(ca, em::io::nth_usable_cpu(0), nullptr, nullptr, nullptr);
    auto tb = em::io::LoopThread::start(cb, cpus > 1 ? em::io::nth_usable_cpu(1) : -1, nullptr,
                                        nullptr, nullptr);
    if (!ta || !tb) {
        state.SkipWithError("io_uring unavailable");
        return;
    }
    p.a = &(*ta)->loop();
    p.b = &(*tb)->loop();
    uint64_t n = 0;
    for (auto _ : state) {
        n++;
        // Start the round trip from a's thread so both hops are loop-to-loop (MSG_RING).
        p.a->post(em::io::Task{[](void* arg, uint64_t k) {
                                   auto* q = static_cast<PingPong*>(arg);
                                   q->b->post(em::io::Task{pong, q, k});
                               },
                               &p, n});
        while (p.done.load(std::memory_order_acquire) != n) {
        }
    }
    state.counters["cpus"] = cpus;
    (*ta)->request_stop();
    (*tb)->request_stop();
    (*ta)->join();
    (*tb)->join();
}
BENCHMARK(BM_CrossLoopRoundTrip)->UseRealTime()->MinTime(1.0);

}  // namespace

BENCHMARK_MAIN();
