// Hex encoding and decoding (0x-prefixed DATA/QUANTITY as the Engine API writes them).
//
// Any thread; pure functions, no allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "base/result.h"

namespace em {

/// Value of one hex digit (either case), or -1.
inline int hex_digit_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/// Writes 2*in.size() lowercase hex digits to out (no prefix, no terminator).
void hex_encode(std::span<const uint8_t> in, char* out);

/// Decodes an even number of hex digits (no prefix) into out (in.size()/2 bytes).
/// Errors name the offending position.
Result<void> hex_decode(std::string_view in, uint8_t* out);

/// Strips a leading "0x" or "0X" if present.
inline std::string_view strip_0x(std::string_view s) {
    if (s.size() >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) return s.substr(2);
    return s;
}

}  // namespace em
