// Internal helpers of the engine layer for reading and writing Engine API JSON fragments:
// fixed-size DATA hex, QUANTITY up to 256 bits, raw JSON string literals. The hex values are
// read and written by the one codec (base/hex.h: either case in, lower case out); the functions
// here are thin adapters kept for their callers (their names stay until the pipeline refactor).
//
// Any thread; pure functions, no allocation. Not part of the layer's public API (tests may use
// them).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include <simdjson.h>

#include "base/buffer.h"
#include "base/u256.h"

namespace em::engine::detail {

/// Decodes "0x" + exactly 2*n hex digits (either case) into out[0..n). False otherwise.
bool parse_data_fixed(std::string_view text, uint8_t* out, size_t n);

/// Appends "0x" + 2*n lowercase hex digits. False when the buffer refused (bytes_max).
bool append_data(ByteBuffer& out, const uint8_t* bytes, size_t n);

/// The one 256-bit type (base/u256.h).
using U256 = em::U256;
/// -1, 0 or 1 as a <, ==, > b.
int compare(const U256& a, const U256& b);

/// Parses a QUANTITY: "0x0" or "0x" + 1..64 hex digits without a leading zero (either case).
bool parse_quantity_u256(std::string_view text, U256& out);

/// `raw` with trailing JSON whitespace removed (simdjson's raw tokens include it).
std::string_view trim_json_space(std::string_view raw);

/// True if `raw` is exactly one JSON string literal: quotes, valid escapes, no raw control
/// characters (UTF-8 validity is checked by simdjson for the whole input).
bool is_json_string_literal(std::string_view raw);

/// True when `s` holds no backslash, quote or control character, so the raw text between a
/// string token's quotes equals its value.
inline bool is_plain_ascii_name(std::string_view s) {
    for (char c : s) {
        if (c == '\\' || c == '"' || static_cast<unsigned char>(c) < 0x20) return false;
    }
    return true;
}

/// True when the document's iterator has consumed everything (no trailing content).
inline bool at_document_end(simdjson::ondemand::document& doc) {
    return doc.current_location().error() == simdjson::OUT_OF_BOUNDS;
}

}  // namespace em::engine::detail
