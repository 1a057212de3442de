// Benchmarks of base-layer pieces on the data path: ByteBuffer reuse, the histogram, and the hex
// codec (the digit decoders per ISA on transaction-sized input in lower and mixed case; DATA and
// QUANTITY values as newPayload carries them; the writers).
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "alloc_counter.h"
#include "base/buffer.h"
#include "base/hex.h"
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
    state.counters["allocs_per_iter"] =
        em::bench::per_iteration(allocs.allocations(), state.iterations());
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
    state.counters["allocs_per_iter"] =
        em::bench::per_iteration(allocs.allocations(), state.iterations());
}
BENCHMARK(BM_AllocCounterSeesMalloc);

// n bytes of hex digits (fixed seed); mixed: every letter's case picked at random.
static std::string hex_digits(size_t n, bool mixed) {
    std::mt19937_64 rng(n);
    const char* lower = "0123456789abcdef";
    const char* upper = "0123456789ABCDEF";
    std::string s;
    for (size_t i = 0; i < 2 * n; i++) {
        unsigned d = rng() & 15;
        s += (mixed && (rng() & 1)) ? upper[d] : lower[d];
    }
    return s;
}

static void BM_HexDecode(benchmark::State& state, em::HexImpl impl, bool mixed) {
    if (!em::hex_supported(impl)) {
        state.SkipWithError("CPU lacks this decoder's ISA");
        return;
    }
    em::hex_force(impl);
    size_t n = static_cast<size_t>(state.range(0));
    std::string text = hex_digits(n, mixed);
    std::vector<uint8_t> out(n);
    em::bench::AllocScope allocs;
    for (auto _ : state) {
        size_t r = em::hex_decode_digits(text.data(), out.data(), n);
        benchmark::DoNotOptimize(r);
        benchmark::DoNotOptimize(out.data());
    }
    state.counters["allocs_per_iter"] =
        em::bench::per_iteration(allocs.allocations(), state.iterations());
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * 2 * n));
}
BENCHMARK_CAPTURE(BM_HexDecode, portable, em::HexImpl::portable, false)
    ->Arg(20)
    ->Arg(32)
    ->Arg(200)
    ->Arg(1000)
    ->Arg(100000);
BENCHMARK_CAPTURE(BM_HexDecode, avx2, em::HexImpl::avx2, false)
    ->Arg(20)
    ->Arg(32)
    ->Arg(200)
    ->Arg(1000)
    ->Arg(100000);
BENCHMARK_CAPTURE(BM_HexDecode, avx2_mixed_case, em::HexImpl::avx2, true)->Arg(200)->Arg(100000);

// parse_data on a 20-byte address and a 32-byte hash, the selected decoder (as in production).
static void BM_ParseData(benchmark::State& state, size_t n, bool mixed) {
    em::hex_force(em::hex_supported(em::HexImpl::avx2) ? em::HexImpl::avx2 : em::HexImpl::portable);
    std::string text = "0x" + hex_digits(n, mixed);
    std::vector<uint8_t> out(n);
    em::bench::AllocScope allocs;
    for (auto _ : state) {
        auto r = em::parse_data(text, out);
        benchmark::DoNotOptimize(r);
        benchmark::DoNotOptimize(out.data());
    }
    state.counters["allocs_per_iter"] =
        em::bench::per_iteration(allocs.allocations(), state.iterations());
}
BENCHMARK_CAPTURE(BM_ParseData, address, 20, false);
BENCHMARK_CAPTURE(BM_ParseData, address_mixed_case, 20, true);
BENCHMARK_CAPTURE(BM_ParseData, hash, 32, false);

static void BM_ParseQuantity(benchmark::State& state) {
    const char* texts[] = {"0x0", "0x1c9c380", "0x68000000", "0x3B9ACA07", "0xffffffffffffffff"};
    em::bench::AllocScope allocs;
    size_t i = 0;
    for (auto _ : state) {
        auto r = em::parse_quantity(texts[i]);
        benchmark::DoNotOptimize(r);
        i = i == 4 ? 0 : i + 1;
    }
    state.counters["allocs_per_iter"] =
        em::bench::per_iteration(allocs.allocations(), state.iterations());
}
BENCHMARK(BM_ParseQuantity);

static void BM_ParseQuantityU256(benchmark::State& state) {
    const char* texts[] = {"0x7", "0x3b9aca07", "0xDE0B6B3A7640000",
                           "0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"};
    em::bench::AllocScope allocs;
    size_t i = 0;
    for (auto _ : state) {
        auto r = em::parse_quantity_u256(texts[i]);
        benchmark::DoNotOptimize(r);
        i = (i + 1) & 3;
    }
    state.counters["allocs_per_iter"] =
        em::bench::per_iteration(allocs.allocations(), state.iterations());
}
BENCHMARK(BM_ParseQuantityU256);

// What an answer writes: a hash, a payload id, a block number and a 256-bit value.
static void BM_AppendValues(benchmark::State& state) {
    em::ByteBuffer out(1 << 16);
    uint8_t hash[32];
    for (int i = 0; i < 32; i++) hash[i] = static_cast<uint8_t>(i * 37);
    em::U256 value = *em::parse_quantity_u256("0xde0b6b3a7640000");
    em::bench::AllocScope allocs;
    for (auto _ : state) {
        out.clear();
        em::append_data(out, hash);
        em::append_data(out, std::span<const uint8_t>(hash, 8));
        em::append_quantity(out, uint64_t{0x1500000});
        em::append_quantity(out, value);
        benchmark::DoNotOptimize(out.data());
    }
    state.counters["allocs_per_iter"] =
        em::bench::per_iteration(allocs.allocations(), state.iterations());
}
BENCHMARK(BM_AppendValues);

BENCHMARK_MAIN();
