// Keccak-256 as Ethereum uses it (original Keccak padding 0x01, not SHA3's 0x06).
//
// Any thread; pure functions. Three implementations of the Keccak-f[1600] permutation: portable
// 64-bit (unrolled, lane-complemented; checked against a plain reference), AVX2 4-lane and
// AVX-512 8-lane multi-buffer (each in its own source file and static library with its own
// compiler flags, x86_64 only). The multi-buffer variants hash 4/8 independent messages per
// permutation call, refilling a lane as soon as its message is done. The variant is chosen once
// from CPUID (lazily, on the first call of keccak_selected(), keccak256() or keccak256_batch())
// and can be forced with keccak_force() for tests and benchmarks. Single messages take the
// faster measured path: the AVX-512 kernel with one lane busy on AVX-512 CPUs, else portable.
// No function here allocates; callers own all buffers (inputs are only read).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace em::eth {

using Hash32 = std::array<uint8_t, 32>;

enum class KeccakImpl : uint8_t { portable = 0, avx2x4 = 1, avx512x8 = 2 };

/// "portable", "avx2x4" or "avx512x8".
const char* keccak_impl_name(KeccakImpl impl);
/// True if this CPU can run `impl`.
bool keccak_supported(KeccakImpl impl);
/// Forces a variant (must be supported; asserts otherwise). Not thread-safe against concurrent
/// hashing: call at start-up or in single-threaded tests/benchmarks.
void keccak_force(KeccakImpl impl);
/// The variant in use (selects the best supported one on first call).
KeccakImpl keccak_selected();
/// Messages per multi-buffer call of the selected variant (1, 4 or 8).
size_t keccak_lanes();

/// keccak256(data) into out.
void keccak256(std::span<const uint8_t> data, uint8_t out[32]);
inline Hash32 keccak256(std::span<const uint8_t> data) {
    Hash32 h;
    keccak256(data, h.data());
    return h;
}

/// Hashes count independent messages: outs[i] = keccak256(msgs[i]). Messages of any lengths;
/// the selected variant groups them into 4/8-lane calls (lanes of unequal length are handled).
void keccak256_batch(const std::span<const uint8_t>* msgs, Hash32* outs, size_t count);

/// Always the portable implementation (the oracle for differential tests).
void keccak256_portable(std::span<const uint8_t> data, uint8_t out[32]);

/// keccak256() with a given variant instead of the selected one (must be supported; asserts).
void keccak256_using(KeccakImpl impl, std::span<const uint8_t> data, uint8_t out[32]);
/// keccak256_batch() with a given variant instead of the selected one (must be supported).
void keccak256_batch_using(KeccakImpl impl, const std::span<const uint8_t>* msgs, Hash32* outs,
                           size_t count);

/// Total Keccak-f[1600] permutations executed by this thread (per lane, i.e. an 8-lane call
/// counts 8, idle lanes included), for benchmarks that report distance to the permutation floor.
uint64_t keccak_permutations_thread();

}  // namespace em::eth
