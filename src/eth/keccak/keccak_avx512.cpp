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

    static constexpr unsigned all_lanes = 0xFF;

    void start(const uint64_t* block, unsigned active) {
        for (size_t j = 0; j < keccak_rate_words; j++) s[j] = load_block_word(block, j, active);
        // The capacity words, spelled out: as a loop the compiler makes it a memset (rep stos),
        // which costs more than these eight stores.
        const Lane zero = _mm512_setzero_si512();
        s[17] = zero, s[18] = zero, s[19] = zero, s[20] = zero;
        s[21] = zero, s[22] = zero, s[23] = zero, s[24] = zero;
    }
    void absorb(const uint64_t* block, unsigned active, unsigned fresh) {
        if (!fresh) {
            for (size_t j = 0; j < keccak_rate_words; j++)
                s[j] = _mm512_xor_si512(s[j], load_block_word(block, j, active));
            return;
        }
        // Fresh lanes take the block word as is (state zero), the others XOR it in.
        const __mmask8 keep = static_cast<__mmask8>(~fresh);
        for (size_t j = 0; j < keccak_rate_words; j++) {
            Lane v = load_block_word(block, j, active);
            s[j] = _mm512_mask_xor_epi64(v, keep, s[j], v);
        }
        for (size_t j = keccak_rate_words; j < keccak_state_words; j++)
            s[j] = _mm512_maskz_mov_epi64(keep, s[j]);
    }
    void permute() { permute_state(s); }
    void extract(uint64_t* words) {
        for (size_t k = 0; k < 4; k++) _mm512_store_si512(words + 8 * k, s[k]);
    }
    /// Word j of every lane's block; inactive lanes read as zero (their memory is not read).
    static Lane load_block_word(const uint64_t* block, size_t j, unsigned active) {
        if (active == all_lanes) return _mm512_load_si512(block + 8 * j);
        return _mm512_maskz_load_epi64(static_cast<__mmask8>(active), block + 8 * j);
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
