// Internal to src/eth/keccak (and its tests, fuzzer and benchmarks): constants, the portable
// and reference permutations, and the entry points of the per-ISA multi-buffer kernels.
//
// Any thread; pure functions. Callers own every buffer they pass. The SIMD kernels take plain
// pointer arrays (no std:: types) so that their translation units, compiled with -mavx2 or
// -mavx512f, need no inline library code that the linker could share with baseline code.
// Only call a kernel after keccak_supported() said the CPU has its instruction set.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace em::eth {

inline constexpr size_t keccak_rate_bytes = 136;
inline constexpr size_t keccak_rate_words = keccak_rate_bytes / 8;
inline constexpr size_t keccak_state_words = 25;
inline constexpr size_t keccak_rounds = 24;
/// Messages the dispatcher hands a multi-buffer kernel per call (stack arrays of this size).
inline constexpr size_t keccak_batch_chunk_max = 64;

/// In-place Keccak-f[1600] on a 25-lane state (portable, unrolled: the production scalar path).
void keccak_f1600_portable(uint64_t state[25]);
/// In-place Keccak-f[1600], written as the specification reads (loops over x, y): the oracle.
void keccak_f1600_reference(uint64_t state[25]);
/// Keccak-256 with a byte-wise sponge around keccak_f1600_reference: the oracle of the oracle.
void keccak256_reference(std::span<const uint8_t> data, uint8_t out[32]);

/// Adds n to this thread's permutation counter.
void keccak_count_permutations(uint64_t n);

/// AVX2 kernel (keccak_avx2.cpp): outs[i] = keccak256(ptrs[i][0..lens[i])) for i < count,
/// four messages per permutation, refilling a lane as soon as its message is done. Returns the
/// number of lane-permutations executed (4 per permutation call). x86_64 builds only.
uint64_t keccak256_many_avx2x4(const uint8_t* const* ptrs, const size_t* lens, uint8_t* const* outs,
                               size_t count);
/// AVX-512 kernel (keccak_avx512.cpp): as keccak256_many_avx2x4 with eight lanes.
uint64_t keccak256_many_avx512x8(const uint8_t* const* ptrs, const size_t* lens,
                                 uint8_t* const* outs, size_t count);

}  // namespace em::eth
