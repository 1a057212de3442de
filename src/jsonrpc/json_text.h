// JSON text helpers that work on raw bytes without copying: whitespace trimming, the number
// grammar, string-escape validation, unescaping into caller memory and value equality of raw
// string and number tokens. Used by the request/response parsers and same_id().
//
// Any thread; pure functions, no allocation, no state. "Raw string content" means the bytes
// between a JSON string's quotes, escapes still in place.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace em::jsonrpc {

/// True for JSON's insignificant whitespace (RFC 8259 §2): space, tab, LF, CR.
constexpr bool is_json_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/// s without leading and trailing JSON whitespace.
std::string_view trim_json_space(std::string_view s);

/// s without trailing JSON whitespace.
inline std::string_view trim_json_space_right(std::string_view s) {
    size_t e = s.size();
    while (e > 0 && is_json_space(s[e - 1])) e--;
    return s.substr(0, e);
}

/// True if s contains a backslash (inline loop for short text, memchr for long).
inline bool has_backslash(std::string_view s) {
    constexpr size_t short_bytes = 32;
    if (s.size() > short_bytes) return std::memchr(s.data(), '\\', s.size()) != nullptr;
    for (char c : s) {
        if (c == '\\') return true;
    }
    return false;
}

/// True if token is exactly one JSON number (RFC 8259 §6:
/// -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?).
bool is_json_number(std::string_view token);

/// Parses an integer token (no fraction or exponent) that fits in int32; false otherwise.
bool parse_json_int32(std::string_view token, int32_t* out);

/// Length of a string's raw content that starts right after its opening quote, up to (not
/// including) the closing quote; *has_escape says whether it contains a backslash. The string must
/// be closed within readable memory (simdjson's stage 1 guarantees that for parsed input).
inline size_t json_string_content_length(const char* content, bool* has_escape) {
    const char* p = content;
    bool escape = false;
    for (;;) {
        char c = *p;
        if (c == '"') break;
        if (c == '\\') {
            escape = true;
            p += 2;
            continue;
        }
        p++;
    }
    *has_escape = escape;
    return static_cast<size_t>(p - content);
}

/// True if `raw` is exactly one JSON string literal: its quotes, valid escapes, no raw control
/// character and no unescaped quote inside. For raw tokens that On-Demand does not validate.
bool is_json_string_literal(std::string_view raw);

/// True when `s` holds no backslash, quote or control character, so the raw text between a
/// string token's quotes equals its value.
inline bool is_plain_ascii_name(std::string_view s) {
    for (char c : s) {
        if (c == '\\' || c == '"' || static_cast<unsigned char>(c) < 0x20) return false;
    }
    return true;
}

/// True if every backslash in raw content starts a valid escape (\" \\ \/ \b \f \n \r \t \uXXXX).
/// Raw control characters are not checked here: simdjson's stage 1 rejects them.
bool json_escapes_valid(std::string_view content);

/// Unescapes raw content into out as UTF-8. Returns the length written, or -1 when an escape is
/// invalid, a \u escape is an unpaired surrogate, or the result exceeds out_bytes_max.
ptrdiff_t json_unescape(std::string_view content, char* out, size_t out_bytes_max);

/// True if two raw string contents denote the same string ("a" == "\u0061").
bool json_string_content_equal(std::string_view a, std::string_view b);

/// True if two JSON number tokens denote the same number (1 == 1.0 == 10e-1, -0 == 0).
/// Tokens that are not valid numbers are equal only when byte-identical.
bool json_number_equal(std::string_view a, std::string_view b);

}  // namespace em::jsonrpc
