// Benchmarks of base-layer pieces on the data path: ByteBuffer reuse and the histogram.
#include <benchmark/benchmark.h>

#include "alloc_counter.h"
#include "base/buffer.h"
#include "base/histogram.h"

static void BM_ByteBufferReuse(benchmark::State& state) {
    em::ByteBuffer b(1 << 20);
    std::string chunk(200, 'x');
    b.append(chunk);
    em::bench::AllocScope allocs;
    for (auto _ : state) {
        b.clear();
        b.append(chunk);
        b.append_u64(123456789);
        benchmark::DoNotOptimize(b.data());
    }
    state.counters["allocs_per_iter"] = em::bench::per_iteration(allocs.allocations(), state.iterations());
}
BENCHMARK(BM_ByteBufferReuse);

static void BM_HistogramRecord(benchmark::State& state) {
    em::LatencyHistogram h;
    uint64_t v = 12345;
    for (auto _ : state) {
        h.record(v);
        v = v * 6364136223846793005ull + 1442695040888963407ull;
        v >>= 40;
    }
    benchmark::DoNotOptimize(h.count());
}
BENCHMARK(BM_HistogramRecord);

static void BM_AllocCounterSeesMalloc(benchmark::State& state) {
    em::bench::AllocScope allocs;
    for (auto _ : state) {
        void* p = std::malloc(64);
        benchmark::DoNotOptimize(p);
        std::free(p);
    }
    state.counters["allocs_per_iter"] = em::bench::per_iteration(allocs.allocations(), state.iterations());
}
BENCHMARK(BM_AllocCounterSeesMalloc);

BENCHMARK_MAIN();
