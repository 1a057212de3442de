// Byte-class scanning for the HTTP parsers (internal to src/http): find the first byte of a
// class in [p, end), 16 bytes at a time with SSE2 where available, never reading at or past end.
//
// Any thread; pure inline functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace em::http::detail {

/// True for a control byte (0x00-0x1F, 0x7F): not allowed in header lines except HTAB.
inline bool is_ctl(uint8_t c) {
    return c < 0x20 || c == 0x7F;
}

/// First byte in [p, end) that is a control byte (see is_ctl), or end.
inline const char* find_ctl(const char* p, const char* end) {
#if defined(__SSE2__)
    const __m128i below = _mm_set1_epi8(0x1F);
    const __m128i del = _mm_set1_epi8(0x7F);
    while (end - p >= 16) {
        __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
        __m128i low = _mm_cmpeq_epi8(_mm_min_epu8(x, below), x);  // x <= 0x1F (unsigned)
        __m128i hit = _mm_or_si128(low, _mm_cmpeq_epi8(x, del));
        int mask = _mm_movemask_epi8(hit);
        if (mask) return p + __builtin_ctz(static_cast<unsigned>(mask));
        p += 16;
    }
#endif
    while (p < end && !is_ctl(static_cast<uint8_t>(*p))) p++;
    return p;
}

/// First byte in [p, end) outside 0x21-0x7E (visible ASCII: SP, controls, DEL, non-ASCII), or end.
inline const char* find_non_vchar(const char* p, const char* end) {
#if defined(__SSE2__)
    const __m128i lo = _mm_set1_epi8(0x20);
    const __m128i hi = _mm_set1_epi8(0x7F);
    while (end - p >= 16) {
        __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
        __m128i low = _mm_cmpeq_epi8(_mm_min_epu8(x, lo), x);   // x <= 0x20
        __m128i high = _mm_cmpeq_epi8(_mm_max_epu8(x, hi), x);  // x >= 0x7F
        int mask = _mm_movemask_epi8(_mm_or_si128(low, high));
        if (mask) return p + __builtin_ctz(static_cast<unsigned>(mask));
        p += 16;
    }
#endif
    while (p<end&& static_cast<uint8_t>(*p)> 0x20 && static_cast<uint8_t>(*p) < 0x7F) p++;
    return p;
}

/// Fast path for a field name: if [p, e) holds 16+ bytes and a ':' within the first 16 is
/// preceded only by letters, digits and '-' (every common field name), returns the ':'.
/// Otherwise nullptr: the caller falls back to the exact tchar scan.
inline const char* find_simple_name_end(const char* p, const char* e) {
#if defined(__SSE2__)
    if (e - p < 16) return nullptr;
    __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    unsigned colon =
        static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8(':'))));
    if (colon == 0) return nullptr;
    __m128i letter = _mm_sub_epi8(_mm_or_si128(x, _mm_set1_epi8(0x20)), _mm_set1_epi8('a'));
    letter = _mm_cmpeq_epi8(_mm_min_epu8(letter, _mm_set1_epi8(25)), letter);
    __m128i digit = _mm_sub_epi8(x, _mm_set1_epi8('0'));
    digit = _mm_cmpeq_epi8(_mm_min_epu8(digit, _mm_set1_epi8(9)), digit);
    __m128i dash = _mm_cmpeq_epi8(x, _mm_set1_epi8('-'));
    unsigned ok =
        static_cast<unsigned>(_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(letter, digit), dash)));
    unsigned k = static_cast<unsigned>(__builtin_ctz(colon));
    unsigned before = (1u << k) - 1;
    if (k == 0 || (ok & before) != before) return nullptr;
    return p + k;
#else
    (void)p;
    (void)e;
    return nullptr;
#endif
}

/// RFC 9110 tchar: the characters of a token (method, header name, transfer coding).
inline bool is_tchar(uint8_t c) {
    static constexpr auto table = [] {
        struct T {
            bool v[256] = {};
        } t;
        for (int c = '0'; c <= '9'; c++) t.v[c] = true;
        for (int c = 'a'; c <= 'z'; c++) t.v[c] = true;
        for (int c = 'A'; c <= 'Z'; c++) t.v[c] = true;
        for (char c : std::string_view("!#$%&'*+-.^_`|~")) t.v[static_cast<uint8_t>(c)] = true;
        return t;
    }();
    return table.v[c];
}

/// Lowercase of an ASCII letter; other bytes unchanged.
inline char ascii_lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

/// True if `s` equals `lower` (which is all lowercase) ignoring ASCII case.
inline bool iequals_lower(std::string_view s, std::string_view lower) {
    if (s.size() != lower.size()) return false;
    for (size_t i = 0; i < s.size(); i++) {
        if (ascii_lower(s[i]) != lower[i]) return false;
    }
    return true;
}

namespace word {
inline uint64_t load8(const char* p) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
}
inline uint32_t load4(const char* p) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
}
constexpr uint64_t pack(const char* s, size_t n) {  // little-endian, as load8/load4 read
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v |= static_cast<uint64_t>(static_cast<uint8_t>(s[i])) << (8 * i);
    return v;
}
}  // namespace word

/// A string literal as a template argument (for token_is).
template <size_t N>
struct Literal {
    char text[N];
    constexpr Literal(const char (&s)[N]) {  // NOLINT: implicit on purpose
        for (size_t i = 0; i < N; i++) text[i] = s[i];
    }
};

/// The 8-byte words token_is compares for an n-byte literal (n >= 8): words at 0, 8, ... and a
/// last one ending at n (it may overlap the one before).
template <size_t N>
struct TokenWords {
    static constexpr size_t count = (N - 1 + 7) / 8;
    uint64_t w[count];
    static constexpr size_t offset(size_t k) { return k + 1 < count ? 8 * k : N - 1 - 8; }
    constexpr explicit TokenWords(const char (&s)[N]) : w{} {
        for (size_t k = 0; k < count; k++) w[k] = word::pack(s + offset(k), 8);
    }
};

/// True if token `name` equals `Lower` (lowercase letters and '-') ignoring ASCII case, by
/// comparing 4- or 8-byte words with the case bit (0x20) set against constants. Exact only
/// for tokens (RFC 9110 tchar): no tchar but a letter maps onto a letter or '-' that way.
template <Literal Lower>
inline bool token_is(std::string_view name) {
    constexpr size_t n = sizeof(Lower.text) - 1;
    static_assert(n >= 4);
    if (name.size() != n) return false;
    const char* p = name.data();
    if constexpr (n < 8) {
        constexpr uint32_t head = static_cast<uint32_t>(word::pack(Lower.text, 4));
        constexpr uint32_t tail = static_cast<uint32_t>(word::pack(Lower.text + n - 4, 4));
        uint32_t diff = ((word::load4(p) | 0x20202020u) ^ head) |
                        ((word::load4(p + n - 4) | 0x20202020u) ^ tail);
        return diff == 0;
    } else {
        using Words = TokenWords<n + 1>;
        static constexpr Words words(Lower.text);
        uint64_t diff = 0;
        for (size_t k = 0; k < Words::count; k++) {
            diff |= (word::load8(p + Words::offset(k)) | 0x2020202020202020ull) ^ words.w[k];
        }
        return diff == 0;
    }
}

/// s without leading and trailing SP/HTAB.
inline std::string_view trim_ows(std::string_view s) {
    size_t b = 0, e = s.size();
    while (b < e && (s[b] == ' ' || s[b] == '\t')) b++;
    while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t')) e--;
    return s.substr(b, e - b);
}

}  // namespace em::http::detail
