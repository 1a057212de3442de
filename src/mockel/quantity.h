// Numbers as the Engine API writes them (QUANTITY: "0x" + hex without leading zeros) for the mock
// EL: reading them from requests and rules, writing them into answers.
//
// Any thread; pure functions, no allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/buffer.h"
#include "base/result.h"

namespace em::mockel {

/// A 256-bit amount as QUANTITY text ("0x0", "0xde0b6b3a7640000").
struct QuantityText {
    char text[68] = {};
    uint8_t bytes = 0;
    std::string_view view() const { return {text, bytes}; }
};

/// Parses a wei amount: decimal digits, or "0x" + hex digits (either case, leading zeros
/// allowed), below 2^256. Errors say which.
[[nodiscard]] Result<QuantityText> parse_wei(std::string_view text);

/// Parses a strict QUANTITY ("0x0" or "0x" + lowercase/uppercase hex, no leading zero) within
/// u64. False otherwise.
bool parse_quantity_u64(std::string_view text, uint64_t* out);

/// Parses decimal digits or "0x" + hex digits within u64 (for command-line numbers).
bool parse_u64_flexible(std::string_view text, uint64_t* out);

/// Appends v as QUANTITY text ("0x" + lowercase hex without leading zeros).
bool append_quantity(ByteBuffer& out, uint64_t v);

/// Appends "0x" + the 2*n lowercase hex digits of bytes.
bool append_data(ByteBuffer& out, const uint8_t* bytes, size_t n);

}  // namespace em::mockel
