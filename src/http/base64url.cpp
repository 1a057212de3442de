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

namespace {

/// The error for the first character of `in` that is not in the alphabet.
Unexpected bad_character(std::string_view in) {
    size_t i = 0;
    while (i < in.size() && decode_table.v[static_cast<uint8_t>(in[i])] >= 0) i++;
    uint8_t c = static_cast<uint8_t>(in[i]);
    if (c == '=') return failf(Errc::invalid_input, "base64url padding '=' at %zu", i);
    if (c > 0x20 && c < 0x7F) {
        return failf(Errc::invalid_input, "invalid base64url character '%c' at %zu", c, i);
    }
    return failf(Errc::invalid_input, "invalid base64url byte 0x%02x at %zu", c, i);
}

int32_t digit(char c) {
    return decode_table.v[static_cast<uint8_t>(c)];
}

}  // namespace

Result<size_t> base64url_decode(std::string_view in, uint8_t* out, size_t out_bytes_max) {
    size_t need = base64url_decoded_bytes_max(in.size());
    if (need > out_bytes_max) {
        return failf(Errc::too_large, "decodes to %zu bytes, limit %zu", need, out_bytes_max);
    }
    const char* p = in.data();
    size_t n = in.size();
    size_t i = 0, o = 0;
    for (; i + 4 <= n; i += 4, o += 3) {  // 4 characters -> 3 bytes
        int32_t a = digit(p[i]), b = digit(p[i + 1]), c = digit(p[i + 2]), d = digit(p[i + 3]);
        if ((a | b | c | d) < 0) return bad_character(in);
        uint32_t v = (static_cast<uint32_t>(a) << 18) | (static_cast<uint32_t>(b) << 12) |
                     (static_cast<uint32_t>(c) << 6) | static_cast<uint32_t>(d);
        out[o] = static_cast<uint8_t>(v >> 16);
        out[o + 1] = static_cast<uint8_t>(v >> 8);
        out[o + 2] = static_cast<uint8_t>(v);
    }
    size_t rest = n - i;
    if (rest == 0) return o;
    int32_t tail[3] = {digit(p[i]), rest > 1 ? digit(p[i + 1]) : 0, rest > 2 ? digit(p[i + 2]) : 0};
    if ((tail[0] | tail[1] | tail[2]) < 0) return bad_character(in);
    if (rest == 1) return failf(Errc::invalid_input, "base64url length %zu is impossible", n);
    uint32_t v = (static_cast<uint32_t>(tail[0]) << 18) | (static_cast<uint32_t>(tail[1]) << 12) |
                 (static_cast<uint32_t>(tail[2]) << 6);
    out[o++] = static_cast<uint8_t>(v >> 16);
    if (rest == 3) out[o++] = static_cast<uint8_t>(v >> 8);
    // The unused low bits of the last character must be zero (one encoding per value).
    if ((rest == 2 && (v & 0xFFFF)) || (rest == 3 && (v & 0xFF))) {
        return fail(Errc::invalid_input, "base64url has non-zero trailing bits");
    }
    return o;
}

}  // namespace em::http
