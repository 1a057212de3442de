#include "mockel/quantity.h"

#include <array>

#include "base/hex.h"

namespace em::mockel {

namespace {

constexpr char hex_digits[] = "0123456789abcdef";

/// 256-bit accumulator, limb[0] least significant; false on overflow.
bool mul_add(std::array<uint64_t, 4>& v, uint64_t mul, uint64_t add) {
    unsigned __int128 carry = add;
    for (uint64_t& limb : v) {
        unsigned __int128 x = static_cast<unsigned __int128>(limb) * mul + carry;
        limb = static_cast<uint64_t>(x);
        carry = x >> 64;
    }
    return carry == 0;
}

QuantityText format_u256(const std::array<uint64_t, 4>& v) {
    QuantityText q;
    q.text[0] = '0';
    q.text[1] = 'x';
    size_t n = 2;
    bool started = false;
    for (int limb = 3; limb >= 0; limb--) {
        for (int shift = 60; shift >= 0; shift -= 4) {
            unsigned d = static_cast<unsigned>(v[static_cast<size_t>(limb)] >> shift) & 15;
            if (!started && d == 0) continue;
            started = true;
            q.text[n++] = hex_digits[d];
        }
    }
    if (!started) q.text[n++] = '0';
    q.bytes = static_cast<uint8_t>(n);
    return q;
}

}  // namespace

Result<QuantityText> parse_wei(std::string_view text) {
    std::array<uint64_t, 4> v{};
    bool hex = text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
    std::string_view digits = hex ? text.substr(2) : text;
    if (digits.empty()) return fail(Errc::invalid_input, "empty amount");
    for (char c : digits) {
        int d = hex ? hex_digit_value(c) : (c >= '0' && c <= '9' ? c - '0' : -1);
        if (d < 0)
            return fail(Errc::invalid_input,
                        hex ? "amount has a non-hex digit" : "amount is not decimal (or 0x-hex)");
        if (!mul_add(v, hex ? 16 : 10, static_cast<uint64_t>(d)))
            return fail(Errc::invalid_input, "amount does not fit 256 bits");
    }
    return format_u256(v);
}

bool parse_quantity_u64(std::string_view text, uint64_t* out) {
    if (text.size() < 3 || text[0] != '0' || text[1] != 'x') return false;
    std::string_view digits = text.substr(2);
    if (digits.size() > 16 || (digits.size() > 1 && digits[0] == '0')) return false;
    uint64_t v = 0;
    for (char c : digits) {
        int d = hex_digit_value(c);
        if (d < 0) return false;
        v = (v << 4) | static_cast<uint64_t>(d);
    }
    *out = v;
    return true;
}

bool parse_u64_flexible(std::string_view text, uint64_t* out) {
    if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
        std::string_view digits = text.substr(2);
        if (digits.size() > 16) return false;
        uint64_t v = 0;
        for (char c : digits) {
            int d = hex_digit_value(c);
            if (d < 0) return false;
            v = (v << 4) | static_cast<uint64_t>(d);
        }
        *out = v;
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

bool append_quantity(ByteBuffer& out, uint64_t v) {
    char tmp[18];
    size_t n = 0;
    do {
        tmp[17 - n++] = hex_digits[v & 15];
        v >>= 4;
    } while (v);
    tmp[17 - n++] = 'x';
    tmp[17 - n++] = '0';
    return out.append(tmp + 18 - n, n);
}

bool append_data(ByteBuffer& out, const uint8_t* bytes, size_t n) {
    char* p = out.prepare(2 + 2 * n);
    if (!p) return false;
    p[0] = '0';
    p[1] = 'x';
    hex_encode({bytes, n}, p + 2);
    out.commit(2 + 2 * n);
    return true;
}

}  // namespace em::mockel
