// AVX-512 8-lane multi-buffer Keccak-256: eight independent states, lane i of every __m512i
// belongs to message i. Compiled with -mavx512f -mavx512vl in its own static library; called
// only after CPUID reported AVX512F and AVX512VL (keccak.cpp). Rotations are vprolq, chi and
// the five-way XOR of theta are vpternlogq.
//
// Nothing in this file may have a dynamic initializer or a non-inline, non-internal helper
// (the build test keccak_simd_symbols checks the object defines no weak symbols): code here
// must never run on a CPU without AVX-512.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "eth/keccak/keccak_internal.h"
#include "eth/keccak/keccak_multi.h"
#include "eth/keccak/keccak_round.h"

namespace em::eth {

namespace {

using Lane = __m512i;

inline Lane k_xor(Lane a, Lane b) {
    return _mm512_xor_si512(a, b);
}
inline Lane k_xor5(Lane a, Lane b, Lane c, Lane d, Lane e) {
    return _mm512_ternarylogic_epi64(_mm512_ternarylogic_epi64(a, b, c, 0x96), d, e, 0x96);
}
template <int n>
inline Lane k_rol(Lane a) {
    return _mm512_rol_epi64(a, n);
}
// 0xD2: a ^ (~b & c)
inline Lane k_chi(Lane a, Lane b, Lane c) {
    return _mm512_ternarylogic_epi64(a, b, c, 0xD2);
}
inline Lane k_iota(Lane a, uint64_t rc) {
    return _mm512_xor_si512(a, _mm512_set1_epi64(static_cast<long long>(rc)));
}
inline Lane k_load(const Lane* s, size_t i) {
    return s[i];
}
inline void k_store(Lane* s, size_t i, Lane v) {
    s[i] = v;
}

struct Avx512x8 {
    static constexpr size_t lanes = 8;

    void zero() {
        for (auto& v : s) v = _mm512_setzero_si512();
    }
    void absorb(const uint64_t* block) {
        for (size_t j = 0; j < keccak_rate_words; j++)
            s[j] = _mm512_xor_si512(s[j], _mm512_load_si512(block + 8 * j));
    }
    void permute() { permute_state(s); }
    void extract(uint64_t* words) {
        for (size_t k = 0; k < 4; k++) _mm512_store_si512(words + 8 * k, s[k]);
    }
    void reset(unsigned lane_mask) {
        const __mmask8 keep = static_cast<__mmask8>(~lane_mask);
        for (auto& v : s) v = _mm512_maskz_mov_epi64(keep, v);
    }

    static void permute_state(Lane* state) { EM_KECCAK_PERMUTE(state); }

    Lane s[keccak_state_words];
};

}  // namespace

uint64_t keccak256_many_avx512x8(const uint8_t* const* ptrs, const size_t* lens,
                                 uint8_t* const* outs, size_t count) {
    return KeccakMultiSponge<Avx512x8>::run(ptrs, lens, outs, count);
}

}  // namespace em::eth
