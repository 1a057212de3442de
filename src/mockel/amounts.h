// Numbers typed by people for the mock EL (command-line flags and rules): decimal, or "0x"/"0X" +
// hex digits in either case with leading zeros allowed. Engine API values in requests and
// answers are not read or written here but by the hex codec (base/hex.h), which is strict.
//
// Any thread; pure functions, no allocation.
#pragma once

#include <cstdint>
#include <string_view>

#include "base/result.h"
#include "base/u256.h"

namespace em::mockel {

/// A wei amount: decimal digits, or "0x" + hex digits (either case, leading zeros allowed),
/// below 2^256. Errors say which.
[[nodiscard]] Result<U256> parse_wei(std::string_view text);

/// Decimal digits or "0x" + hex digits within u64 (for command-line numbers).
bool parse_u64_flexible(std::string_view text, uint64_t* out);

}  // namespace em::mockel
