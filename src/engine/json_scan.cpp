// Engine-layer JSON helpers (see json_scan.h).
#include "engine/json_scan.h"

#include "base/hex.h"

namespace em::engine::detail {

bool parse_data_fixed(std::string_view text, uint8_t* out, size_t n) {
    return parse_data(text, {out, n}).has_value();
}

bool append_data(ByteBuffer& out, const uint8_t* bytes, size_t n) {
    return em::append_data(out, {bytes, n});
}

int compare(const U256& a, const U256& b) {
    auto order = a <=> b;
    return order < 0 ? -1 : (order > 0 ? 1 : 0);
}

bool parse_quantity_u256(std::string_view text, U256& out) {
    auto v = em::parse_quantity_u256(text);
    if (!v) return false;
    out = *v;
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
