// Numbers typed by people (see amounts.h); the hex digits are read by the hex codec.
#include "mockel/amounts.h"

#include "base/hex.h"

namespace em::mockel {

namespace {

// The digits after a "0x"/"0X" prefix without their leading zeros ("0" if all were zeros), or
// false when `text` has no such prefix and at least one digit.
bool hex_digits_of(std::string_view text, std::string_view& digits) {
    if (text.size() <= 2 || text[0] != '0' || (text[1] != 'x' && text[1] != 'X')) return false;
    digits = text.substr(2);
    while (digits.size() > 1 && digits[0] == '0') digits.remove_prefix(1);
    return true;
}

// x = x * 10 + d over the big-endian bytes; false on overflow.
bool times_ten_plus(U256& x, unsigned d) {
    unsigned carry = d;
    for (size_t i = x.be.size(); i-- > 0;) {
        unsigned v = x.be[i] * 10u + carry;
        x.be[i] = static_cast<uint8_t>(v);
        carry = v >> 8;
    }
    return carry == 0;
}

}  // namespace

Result<U256> parse_wei(std::string_view text) {
    std::string_view digits;
    if (hex_digits_of(text, digits)) {
        auto v = hex_digits_to_u256(digits);
        if (v) return *v;
        if (digits.size() > 64) return fail(Errc::invalid_input, "amount does not fit 256 bits");
        return fail(Errc::invalid_input, "amount has a non-hex digit");
    }
    if (text.empty()) return fail(Errc::invalid_input, "empty amount");
    U256 x;
    for (char c : text) {
        if (c < '0' || c > '9')
            return fail(Errc::invalid_input, "amount is not decimal (or 0x-hex)");
        if (!times_ten_plus(x, static_cast<unsigned>(c - '0')))
            return fail(Errc::invalid_input, "amount does not fit 256 bits");
    }
    return x;
}

bool parse_u64_flexible(std::string_view text, uint64_t* out) {
    std::string_view digits;
    if (hex_digits_of(text, digits)) {
        auto v = hex_digits_to_u64(digits);
        if (!v) return false;
        *out = *v;
        return true;
    }
    if (text.empty()) return false;
    uint64_t v = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return false;
        uint64_t d = static_cast<uint64_t>(c - '0');
        if (v > (UINT64_MAX - d) / 10) return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

}  // namespace em::mockel
