// U256: an unsigned 256-bit integer held as 32 big-endian bytes, the one 256-bit type of
// enginemux (baseFeePerGas in a payload and a header, getPayload's blockValue, the mock EL's
// amounts). Big-endian because every user wants bytes: RLP encodes it as a big-endian string,
// the hex codec (base/hex.h) reads and writes it digit by digit, and comparing two values is a
// comparison of their bytes.
//
// Any thread; a plain value, no allocation.
#pragma once

#include <array>
#include <compare>
#include <cstdint>

namespace em {

struct U256 {
    std::array<uint8_t, 32> be{};  ///< most significant byte first

    /// The value v (< 2^64).
    static constexpr U256 from_u64(uint64_t v) {
        U256 x;
        for (int i = 0; i < 8; i++) x.be[31 - i] = static_cast<uint8_t>(v >> (8 * i));
        return x;
    }
    /// Numeric order (big-endian bytes compare like the numbers they hold).
    friend constexpr auto operator<=>(const U256&, const U256&) = default;
    friend constexpr bool operator==(const U256&, const U256&) = default;
};

}  // namespace em
