// AVX2 hex digit decoder (either case): 32 digits -> 16 bytes per step; compiled with -mavx2
// alone (see hex.h).
#include <immintrin.h>

#include "base/hex.h"
#include "base/hex_internal.h"

namespace em {

namespace {

// Decodes 32 digits at in into 16 bytes at out; false (nothing written) if any is not a hex
// digit. Digits are checked on the byte as it is; letters after OR 0x20, which maps 'A'-'F' onto
// 'a'-'f' and nothing else onto them (only 0x41-0x46 and 0x61-0x66 land in 0x61-0x66).
inline bool decode16(const char* in, uint8_t* out) {
    const __m256i zero_char = _mm256_set1_epi8('0');
    const __m256i a_char = _mm256_set1_epi8('a');
    const __m256i case_bit = _mm256_set1_epi8(0x20);
    const __m256i nine = _mm256_set1_epi8(9);
    const __m256i five = _mm256_set1_epi8(5);
    const __m256i ten = _mm256_set1_epi8(10);
    const __m256i weights = _mm256_set1_epi16(0x0110);  // bytes (16, 1): hi*16 + lo
    __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in));
    __m256i digit = _mm256_sub_epi8(v, zero_char);
    __m256i letter = _mm256_sub_epi8(_mm256_or_si256(v, case_bit), a_char);
    __m256i is_digit = _mm256_cmpeq_epi8(_mm256_min_epu8(digit, nine), digit);
    __m256i is_letter = _mm256_cmpeq_epi8(_mm256_min_epu8(letter, five), letter);
    __m256i valid = _mm256_or_si256(is_digit, is_letter);
    if (_mm256_movemask_epi8(valid) != -1) return false;
    __m256i value = _mm256_blendv_epi8(_mm256_add_epi8(letter, ten), digit, is_digit);
    __m256i pairs = _mm256_maddubs_epi16(value, weights);  // 16 x u16 in two 128-bit lanes
    __m256i packed = _mm256_packus_epi16(pairs, pairs);
    packed = _mm256_permute4x64_epi64(packed, 0x08);  // qwords 0 and 2 to the low half
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm256_castsi256_si128(packed));
    return true;
}

}  // namespace

size_t hex_decode_digits_avx2(const char* in, uint8_t* out, size_t out_bytes) {
    if (out_bytes < 16) return hex_decode_digits_portable(in, out, out_bytes);
    size_t i = 0;
    for (; i + 16 <= out_bytes; i += 16)
        if (!decode16(in + 2 * i, out + i))
            return 2 * i + hex_decode_digits_portable(in + 2 * i, out + i, 16);
    if (i == out_bytes) return hex_ok;
    // Tail: one more block that overlaps the last full one (re-decoding a few bytes is harmless).
    size_t last = out_bytes - 16;
    if (!decode16(in + 2 * last, out + last))
        return 2 * last + hex_decode_digits_portable(in + 2 * last, out + last, 16);
    return hex_ok;
}

}  // namespace em
