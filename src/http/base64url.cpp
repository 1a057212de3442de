#include "http/base64url.h"

namespace em::http {

namespace {

constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

struct DecodeTable {
    int8_t v[256];
};

constexpr DecodeTable make_decode_table() {
    DecodeTable t{};
    for (int i = 0; i < 256; i++) t.v[i] = -1;
    for (int i = 0; i < 64; i++) t.v[static_cast<uint8_t>(alphabet[i])] = static_cast<int8_t>(i);
    return t;
}

constexpr DecodeTable decode_table = make_decode_table();

}  // namespace

size_t base64url_encode(std::span<const uint8_t> in, char* out) {
    size_t n = in.size();
    size_t i = 0;
    char* o = out;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t{in[i]} << 16) | (uint32_t{in[i + 1]} << 8) | in[i + 2];
        *o++ = alphabet[v >> 18];
        *o++ = alphabet[(v >> 12) & 63];
        *o++ = alphabet[(v >> 6) & 63];
        *o++ = alphabet[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = uint32_t{in[i]} << 16;
        *o++ = alphabet[v >> 18];
        *o++ = alphabet[(v >> 12) & 63];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t{in[i]} << 16) | (uint32_t{in[i + 1]} << 8);
        *o++ = alphabet[v >> 18];
        *o++ = alphabet[(v >> 12) & 63];
        *o++ = alphabet[(v >> 6) & 63];
    }
    return static_cast<size_t>(o - out);
}

Result<size_t> base64url_decode(std::string_view in, uint8_t* out, size_t out_bytes_max) {
    size_t need = base64url_decoded_bytes_max(in.size());
    if (need > out_bytes_max) {
        return failf(Errc::too_large, "decodes to %zu bytes, limit %zu", need, out_bytes_max);
    }
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < in.size(); i++) {
        int8_t d = decode_table.v[static_cast<uint8_t>(in[i])];
        if (d < 0) {
            uint8_t c = static_cast<uint8_t>(in[i]);
            if (c == '=') return failf(Errc::invalid_input, "base64url padding '=' at %zu", i);
            if (c > 0x20 && c < 0x7F) {
                return failf(Errc::invalid_input, "invalid base64url character '%c' at %zu", c, i);
            }
            return failf(Errc::invalid_input, "invalid base64url byte 0x%02x at %zu", c, i);
        }
        acc = (acc << 6) | static_cast<uint32_t>(d);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = static_cast<uint8_t>(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (in.size() % 4 == 1) {
        return failf(Errc::invalid_input, "base64url length %zu is impossible", in.size());
    }
    if (acc != 0) return fail(Errc::invalid_input, "base64url has non-zero trailing bits");
    return o;
}

}  // namespace em::http
