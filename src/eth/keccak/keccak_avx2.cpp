// AVX2 4-lane multi-buffer Keccak-256: four independent states, lane i of every __m256i belongs
// to message i. Compiled with -mavx2 in its own static library; called only after CPUID
// reported AVX2 (keccak.cpp). AVX2 has no 64-bit rotate: rotations are two shifts and an OR,
// except 8 and 56 bits, which are one byte shuffle.
//
// Nothing in this file may have a dynamic initializer or a non-inline, non-internal helper
// (the build test keccak_simd_symbols checks the object defines no weak symbols): code here
// must never run on a CPU without AVX2.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "eth/keccak/keccak_internal.h"
#include "eth/keccak/keccak_multi.h"
#include "eth/keccak/keccak_round.h"

namespace em::eth {

namespace {

using Lane = __m256i;

inline Lane k_xor(Lane a, Lane b) {
    return _mm256_xor_si256(a, b);
}
inline Lane k_xor5(Lane a, Lane b, Lane c, Lane d, Lane e) {
    return k_xor(k_xor(k_xor(a, b), k_xor(c, d)), e);
}
template <int n>
inline Lane k_rol(Lane a) {
    if constexpr (n == 8) {
        return _mm256_shuffle_epi8(
            a, _mm256_setr_epi8(7, 0, 1, 2, 3, 4, 5, 6, 15, 8, 9, 10, 11, 12, 13, 14, 7, 0, 1, 2, 3,
                                4, 5, 6, 15, 8, 9, 10, 11, 12, 13, 14));
    } else if constexpr (n == 56) {
        return _mm256_shuffle_epi8(
            a, _mm256_setr_epi8(1, 2, 3, 4, 5, 6, 7, 0, 9, 10, 11, 12, 13, 14, 15, 8, 1, 2, 3, 4, 5,
                                6, 7, 0, 9, 10, 11, 12, 13, 14, 15, 8));
    } else {
        return _mm256_or_si256(_mm256_slli_epi64(a, n), _mm256_srli_epi64(a, 64 - n));
    }
}
// andnot(b, c) = ~b & c
inline Lane k_chi(Lane a, Lane b, Lane c) {
    return k_xor(a, _mm256_andnot_si256(b, c));
}
inline Lane k_iota(Lane a, uint64_t rc) {
    return k_xor(a, _mm256_set1_epi64x(static_cast<long long>(rc)));
}
inline Lane k_load(const Lane* s, size_t i) {
    return s[i];
}
inline void k_store(Lane* s, size_t i, Lane v) {
    s[i] = v;
}

struct Avx2x4 {
    static constexpr size_t lanes = 4;

    void zero() {
        for (auto& v : s) v = _mm256_setzero_si256();
    }
    void absorb(const uint64_t* block) {
        for (size_t j = 0; j < keccak_rate_words; j++)
            s[j] = k_xor(s[j], _mm256_load_si256(reinterpret_cast<const Lane*>(block + 4 * j)));
    }
    void permute() { permute_state(s); }
    void extract(uint64_t* words) {
        for (size_t k = 0; k < 4; k++)
            _mm256_store_si256(reinterpret_cast<Lane*>(words + 4 * k), s[k]);
    }
    void reset(unsigned lane_mask) {
        // keep[i] = all ones unless lane i is being reset
        const Lane keep =
            _mm256_set_epi64x((lane_mask >> 3 & 1u) ? 0 : -1, (lane_mask >> 2 & 1u) ? 0 : -1,
                              (lane_mask >> 1 & 1u) ? 0 : -1, (lane_mask & 1u) ? 0 : -1);
        for (auto& v : s) v = _mm256_and_si256(v, keep);
    }

    static void permute_state(Lane* state) { EM_KECCAK_PERMUTE(state); }

    Lane s[keccak_state_words];
};

}  // namespace

uint64_t keccak256_many_avx2x4(const uint8_t* const* ptrs, const size_t* lens, uint8_t* const* outs,
                               size_t count) {
    return KeccakMultiSponge<Avx2x4>::run(ptrs, lens, outs, count);
}

}  // namespace em::eth
