// The one hex codec of enginemux: the Engine API's DATA and QUANTITY values (64- and 256-bit)
// read strictly and written in lower case, and the plain hex digits under them (JWT secrets,
// MACs, payload ids).
//
// Layer: base, the lowest one, because every reader and writer of these values sits above it:
// eth (newPayload decoding), engine (EL answers), http (JWT secrets), proxy, validator, app
// (payload-example) and the mock EL. One codec means one definition of what is accepted.
//
// What it accepts, as geth, reth, Nethermind and Besu do (the execution-apis schema allows A-F
// in addresses for EIP-55 checksums; the ELs accept upper-case digits in every field):
//   - DATA: "0x" + an even number of hex digits in either case; fixed-size fields need exactly
//     their byte count ("0x" alone is zero bytes). EIP-55 checksums are not verified (no EL
//     does); the bytes are the same whatever the case, and so is every hash over them.
//   - QUANTITY: "0x0", or "0x" + 1..16 (u64) or 1..64 (U256) digits in either case without a
//     leading zero.
//   - Rejected, as the ELs reject them: a missing or "0X" prefix, "0x" alone as a QUANTITY, odd
//     digit counts, leading zeros in a QUANTITY, values too long, any other character (JSON
//     escapes included: callers pass the raw text between the quotes).
// What it writes: lower case, always ("0x" + digits; QUANTITY without leading zeros).
// Errors say what is wrong and where in the value ("invalid hex digit 'g' at index 3", the
// index counting from the start of the value, "0x" included), never which field: the caller
// knows the field and prefixes it (Error::prefix), so the message names both.
//
// Any thread; pure functions, no allocation. The digit decoder is picked once from CPUID (AVX2
// when available, else portable; hex_avx2.cpp alone is compiled with -mavx2) and can be forced
// for tests and benchmarks. The portable decoder is the oracle in the tests and the fuzzer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "base/buffer.h"
#include "base/result.h"
#include "base/u256.h"

namespace em {

// ---- hex digits without a prefix ------------------------------------------------------------

/// Value of one hex digit (either case), or -1.
inline int hex_digit_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/// Writes 2*in.size() lower-case hex digits to out (no prefix, no terminator).
void hex_encode(std::span<const uint8_t> in, char* out);

/// Decodes an even number of hex digits (either case, no prefix) into out (in.size()/2 bytes).
/// Errors name the offset but never show the byte (secret files are read with this).
[[nodiscard]] Result<void> hex_decode(std::string_view in, uint8_t* out);

/// Strips a leading "0x" or "0X" if present. For text typed by people (JWT secret files); the
/// Engine API values are read with parse_data/parse_quantity, which want exactly "0x".
inline std::string_view strip_0x(std::string_view s) {
    if (s.size() >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) return s.substr(2);
    return s;
}

/// Returned by the digit decoders when every digit was valid.
inline constexpr size_t hex_ok = SIZE_MAX;

enum class HexImpl : uint8_t { portable = 0, avx2 = 1 };

/// Decodes 2*out_bytes hex digits (either case) from `in` into `out` with the selected decoder.
/// Returns hex_ok, or the index (into `in`) of the first character that is not a hex digit;
/// `out` is then partly written.
size_t hex_decode_digits(const char* in, uint8_t* out, size_t out_bytes);
/// The portable decoder (the oracle for tests and the fuzzer). Same contract.
size_t hex_decode_digits_portable(const char* in, uint8_t* out, size_t out_bytes);
/// True if this CPU can run `impl`.
bool hex_supported(HexImpl impl);
/// Forces a decoder (must be supported). Call at start-up or in single-threaded tests only.
void hex_force(HexImpl impl);

/// 1..16 hex digits (either case, leading zeros allowed, no prefix) as a number. For numbers
/// typed by people; Engine API values use parse_quantity.
[[nodiscard]] Result<uint64_t> hex_digits_to_u64(std::string_view digits);
/// 1..64 hex digits (either case, leading zeros allowed, no prefix) as a number.
[[nodiscard]] Result<U256> hex_digits_to_u256(std::string_view digits);

// ---- Engine API values: reading --------------------------------------------------------------

/// Byte count of the DATA value `text` after checking its prefix and digit count (the digits
/// themselves are checked by parse_data). For callers that size a buffer first.
[[nodiscard]] Result<size_t> data_bytes(std::string_view text);
/// DATA of exactly out.size() bytes into out (partly written on error).
[[nodiscard]] Result<void> parse_data(std::string_view text, std::span<uint8_t> out);
/// QUANTITY within 64 bits.
[[nodiscard]] Result<uint64_t> parse_quantity(std::string_view text);
/// QUANTITY within 256 bits.
[[nodiscard]] Result<U256> parse_quantity_u256(std::string_view text);

// ---- Engine API values: writing (lower case) -------------------------------------------------

/// Most characters format_quantity writes: "0x" + 16 digits, and "0x" + 64 digits.
inline constexpr size_t quantity_chars_max = 18;
inline constexpr size_t quantity_u256_chars_max = 66;

/// Writes v as QUANTITY to out (at least quantity_chars_max bytes); returns the length.
size_t format_quantity(uint64_t v, char* out);
/// Writes v as QUANTITY to out (at least quantity_u256_chars_max bytes); returns the length.
size_t format_quantity(const U256& v, char* out);
/// Writes "0x" + 2*bytes.size() digits to out (2 + 2*bytes.size() bytes).
void format_data(std::span<const uint8_t> bytes, char* out);

/// Appends DATA / QUANTITY text (no quotes). False when the buffer refused (its bytes_max).
bool append_data(ByteBuffer& out, std::span<const uint8_t> bytes);
bool append_quantity(ByteBuffer& out, uint64_t v);
bool append_quantity(ByteBuffer& out, const U256& v);

}  // namespace em
