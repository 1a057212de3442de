#include "base/hex.h"

namespace em {

void hex_encode(std::span<const uint8_t> in, char* out) {
    static constexpr char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < in.size(); i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
}

Result<void> hex_decode(std::string_view in, uint8_t* out) {
    if (in.size() % 2 != 0) return fail(Errc::invalid_input, "odd number of hex digits");
    for (size_t i = 0; i < in.size(); i += 2) {
        int hi = hex_digit_value(in[i]);
        int lo = hex_digit_value(in[i + 1]);
        if (hi < 0 || lo < 0) {
            size_t at = hi < 0 ? i : i + 1;
            return failf(Errc::invalid_input, "invalid hex digit at offset %zu", at);
        }
        out[i / 2] = static_cast<uint8_t>(hi << 4 | lo);
    }
    return {};
}

}  // namespace em
