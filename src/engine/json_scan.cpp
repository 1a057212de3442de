// Engine-layer JSON helpers (see json_scan.h).
#include "engine/json_scan.h"

#include "base/hex.h"

namespace em::engine::detail {

bool parse_data_fixed(std::string_view text, uint8_t* out, size_t n) {
    if (text.size() != 2 + 2 * n || text[0] != '0' || text[1] != 'x') return false;
    const char* p = text.data() + 2;
    for (size_t i = 0; i < n; i++) {
        int hi = hex_digit_value(p[2 * i]);
        int lo = hex_digit_value(p[2 * i + 1]);
        if ((hi | lo) < 0) return false;
        out[i] = static_cast<uint8_t>(hi << 4 | lo);
    }
    return true;
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

int compare(const U256& a, const U256& b) {
    for (int i = 3; i >= 0; i--) {
        if (a.limb[i] != b.limb[i]) return a.limb[i] < b.limb[i] ? -1 : 1;
    }
    return 0;
}

bool parse_quantity_u256(std::string_view text, U256& out) {
    if (text.size() < 3 || text.size() > 66 || text[0] != '0' || text[1] != 'x') return false;
    std::string_view digits = text.substr(2);
    if (digits.size() > 1 && digits[0] == '0') return false;  // QUANTITY: no leading zeros
    out = U256{};
    size_t n = digits.size();
    for (size_t i = 0; i < n; i++) {
        int v = hex_digit_value(digits[n - 1 - i]);  // i-th digit from the least significant
        if (v < 0) return false;
        out.limb[i / 16] |= static_cast<uint64_t>(v) << (4 * (i % 16));
    }
    return true;
}

std::string_view trim_json_space(std::string_view raw) {
    while (!raw.empty()) {
        char c = raw.back();
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        raw.remove_suffix(1);
    }
    return raw;
}

bool is_json_string_literal(std::string_view raw) {
    if (raw.size() < 2 || raw.front() != '"' || raw.back() != '"') return false;
    size_t end = raw.size() - 1;
    for (size_t i = 1; i < end; i++) {
        auto c = static_cast<unsigned char>(raw[i]);
        if (c < 0x20 || c == '"') return false;
        if (c != '\\') continue;
        if (++i >= end) return false;
        switch (raw[i]) {
            case '"':
            case '\\':
            case '/':
            case 'b':
            case 'f':
            case 'n':
            case 'r':
            case 't':
                break;
            case 'u':
                if (i + 4 >= end) return false;
                for (size_t k = 1; k <= 4; k++) {
                    if (hex_digit_value(raw[i + k]) < 0) return false;
                }
                i += 4;
                break;
            default:
                return false;
        }
    }
    return true;
}

}  // namespace em::engine::detail
