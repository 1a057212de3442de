// Keccak-256 throughput per variant: single messages (BM_Keccak256), 4- and 8-message batches
// (BM_Keccak256Batch), the bare permutation, and OpenSSL's SHA3-256 (same Keccak-f[1600], one
// block for 64 bytes) as a yardstick. Names: BM_<what>/<variant>/<bytes>[/<batch>].
//
// Counters: items_per_second = hashes/s; ns_per_perm_lane = CPU time / lane-permutations
// (keccak_permutations_thread(); an 8-lane call counts 8); perms_per_iter; allocs_per_iter
// (must read 0; OpenSSL's EVP_Digest allocates its context per call).
#include <benchmark/benchmark.h>
#include <openssl/evp.h>

#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "alloc_counter.h"
#include "eth/keccak/keccak.h"
#include "eth/keccak/keccak_internal.h"

namespace {

using em::eth::Hash32;
using em::eth::KeccakImpl;

constexpr size_t message_sizes[] = {32, 64, 136, 532};
constexpr size_t batch_sizes[] = {4, 8};

/// Distinct pseudo-random messages of `bytes` each (own buffers, so lanes read different lines).
std::vector<std::vector<uint8_t>> make_messages(size_t count, size_t bytes) {
    std::mt19937_64 rng(bytes * 131 + count);
    std::vector<std::vector<uint8_t>> msgs(count, std::vector<uint8_t>(bytes));
    for (auto& m : msgs)
        for (auto& b : m) b = static_cast<uint8_t>(rng());
    return msgs;
}

/// Sets the shared counters from what the loop did. ns_per_perm_lane uses the benchmark's own
/// time base (CPU time, like items_per_second): rate-inverted perms / 1e9 = ns per perm.
void report(benchmark::State& state, uint64_t hashes, uint64_t perms,
            const em::bench::AllocScope& allocs) {
    uint64_t allocations = allocs.allocations();  // before the counter map allocates
    state.SetItemsProcessed(static_cast<int64_t>(hashes));
    state.counters["ns_per_perm_lane"] =
        benchmark::Counter(static_cast<double>(perms) / 1e9,
                           benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
    state.counters["perms_per_iter"] = em::bench::per_iteration(perms, state.iterations());
    state.counters["allocs_per_iter"] = em::bench::per_iteration(allocations, state.iterations());
}

void bm_single(benchmark::State& state, KeccakImpl impl, size_t bytes) {
    auto msgs = make_messages(1, bytes);
    std::span<const uint8_t> msg(msgs[0]);
    uint8_t out[32];
    em::bench::AllocScope allocs;
    uint64_t perms0 = em::eth::keccak_permutations_thread();
    for (auto _ : state) {
        em::eth::keccak256_using(impl, msg, out);
        benchmark::DoNotOptimize(out);
        benchmark::ClobberMemory();
    }
    report(state, state.iterations(), em::eth::keccak_permutations_thread() - perms0, allocs);
}

void bm_batch(benchmark::State& state, KeccakImpl impl, size_t bytes, size_t count) {
    auto msgs = make_messages(count, bytes);
    std::vector<std::span<const uint8_t>> spans(msgs.begin(), msgs.end());
    std::vector<Hash32> outs(count);
    em::bench::AllocScope allocs;
    uint64_t perms0 = em::eth::keccak_permutations_thread();
    for (auto _ : state) {
        em::eth::keccak256_batch_using(impl, spans.data(), outs.data(), count);
        benchmark::DoNotOptimize(outs.data());
        benchmark::ClobberMemory();
    }
    report(state, state.iterations() * count, em::eth::keccak_permutations_thread() - perms0,
           allocs);
}

/// A single message through a SIMD kernel with one lane busy: the alternative single-message
/// path the dispatcher could take (compare with BM_Keccak256/portable).
void bm_single_via_kernel(benchmark::State& state, KeccakImpl impl, size_t bytes) {
    auto msgs = make_messages(1, bytes);
    const uint8_t* ptr = msgs[0].data();
    size_t len = bytes;
    uint8_t out[32];
    uint8_t* out_ptr = out;
    auto kernel = impl == KeccakImpl::avx2x4 ? &em::eth::keccak256_many_avx2x4
                                             : &em::eth::keccak256_many_avx512x8;
    em::bench::AllocScope allocs;
    uint64_t perms = 0;
    for (auto _ : state) {
        perms += kernel(&ptr, &len, &out_ptr, 1);
        benchmark::DoNotOptimize(out);
        benchmark::ClobberMemory();
    }
    report(state, state.iterations(), perms, allocs);
}

void bm_permutation(benchmark::State& state, bool reference) {
    uint64_t s[25] = {1, 2, 3};
    em::bench::AllocScope allocs;
    for (auto _ : state) {
        if (reference) {
            em::eth::keccak_f1600_reference(s);
        } else {
            em::eth::keccak_f1600_portable(s);
        }
        benchmark::DoNotOptimize(s);
    }
    report(state, 0, state.iterations(), allocs);
}

/// OpenSSL EVP SHA3-256 (EVP_Digest with a pre-fetched EVP_MD): the yardstick.
void bm_openssl_sha3(benchmark::State& state, size_t bytes) {
    EVP_MD* md = EVP_MD_fetch(nullptr, "SHA3-256", nullptr);
    if (!md) {
        state.SkipWithError("OpenSSL has no SHA3-256");
        return;
    }
    auto msgs = make_messages(1, bytes);
    unsigned char out[32];
    unsigned int out_len = 0;
    em::bench::AllocScope allocs;
    for (auto _ : state) {
        if (!EVP_Digest(msgs[0].data(), bytes, out, &out_len, md, nullptr)) {
            state.SkipWithError("EVP_Digest failed");
            break;
        }
        benchmark::DoNotOptimize(out);
    }
    // One permutation per 136-byte block plus the padded one, as Keccak-256.
    report(state, state.iterations(), state.iterations() * (bytes / 136 + 1), allocs);
    EVP_MD_free(md);
}

void register_all() {
    for (KeccakImpl impl : {KeccakImpl::portable, KeccakImpl::avx2x4, KeccakImpl::avx512x8}) {
        std::string name = em::eth::keccak_impl_name(impl);
        if (!em::eth::keccak_supported(impl)) {
            std::fprintf(stderr, "bench_keccak: %s not supported by this CPU, not measured\n",
                         name.c_str());
            continue;
        }
        for (size_t bytes : message_sizes) {
            std::string sz = "/" + std::to_string(bytes);
            benchmark::RegisterBenchmark(("BM_Keccak256/" + name + sz).c_str(), bm_single, impl,
                                         bytes);
            for (size_t count : batch_sizes)
                benchmark::RegisterBenchmark(
                    ("BM_Keccak256Batch/" + name + sz + "/" + std::to_string(count)).c_str(),
                    bm_batch, impl, bytes, count);
            if (impl != KeccakImpl::portable)
                benchmark::RegisterBenchmark(("BM_Keccak256SingleViaKernel/" + name + sz).c_str(),
                                             bm_single_via_kernel, impl, bytes);
        }
    }
    benchmark::RegisterBenchmark("BM_KeccakF1600/portable", bm_permutation, false);
    benchmark::RegisterBenchmark("BM_KeccakF1600/reference", bm_permutation, true);
    for (size_t bytes : message_sizes)
        benchmark::RegisterBenchmark(("BM_OpenSslSha3_256/" + std::to_string(bytes)).c_str(),
                                     bm_openssl_sha3, bytes);
}

}  // namespace

int main(int argc, char** argv) {
    register_all();
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
