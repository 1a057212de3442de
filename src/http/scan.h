// Byte-class scanning for the HTTP parsers (internal to src/http): find the first byte of a
// class in [p, end), 16 bytes at a time with SSE2 where available, never reading at or past end.
//
// Any thread; pure inline functions.
#pragma once

#include <cstddef>
#include <cstdint>
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

/// s without leading and trailing SP/HTAB.
inline std::string_view trim_ows(std::string_view s) {
    size_t b = 0, e = s.size();
    while (b < e && (s[b] == ' ' || s[b] == '\t')) b++;
    while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t')) e--;
    return s.substr(b, e - b);
}

}  // namespace em::http::detail
