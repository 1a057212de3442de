#include "validator/base64.h"

namespace em::validator {

namespace {

constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int value_of(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/// Decodes (when out != nullptr) or only checks.
Result<size_t> decode(std::string_view in, uint8_t* out) {
    if (in.size() % 4 != 0) {
        return failf(Errc::invalid_input, "base64 length %zu is not a multiple of 4", in.size());
    }
    size_t n = 0;
    for (size_t i = 0; i < in.size(); i += 4) {
        bool last = i + 4 == in.size();
        int v[4];
        int pad = 0;
        for (int k = 0; k < 4; k++) {
            char c = in[i + k];
            if (c == '=' && last && k >= 2) {
                pad++;
                v[k] = 0;
                continue;
            }
            if (pad > 0 || (v[k] = value_of(c)) < 0) {
                return failf(Errc::invalid_input, "invalid base64 character at offset %zu", i + k);
            }
        }
        if (pad == 1 && in[i + 3] != '=') {
            return failf(Errc::invalid_input, "invalid base64 padding at offset %zu", i + 2);
        }
        uint32_t bits = (static_cast<uint32_t>(v[0]) << 18) | (static_cast<uint32_t>(v[1]) << 12) |
                        (static_cast<uint32_t>(v[2]) << 6) | static_cast<uint32_t>(v[3]);
        size_t bytes = 3 - static_cast<size_t>(pad);
        if (out) {
            out[n] = static_cast<uint8_t>(bits >> 16);
            if (bytes > 1) out[n + 1] = static_cast<uint8_t>(bits >> 8);
            if (bytes > 2) out[n + 2] = static_cast<uint8_t>(bits);
        }
        n += bytes;
    }
    return n;
}

}  // namespace

void base64_encode(std::span<const uint8_t> in, ByteBuffer& out) {
    char* p = out.prepare(base64_encoded_chars(in.size()));
    if (!p) return;  // out.overflowed() tells the caller
    size_t o = 0;
    size_t i = 0;
    for (; i + 3 <= in.size(); i += 3) {
        uint32_t b = (static_cast<uint32_t>(in[i]) << 16) |
                     (static_cast<uint32_t>(in[i + 1]) << 8) | in[i + 2];
        p[o++] = alphabet[b >> 18];
        p[o++] = alphabet[(b >> 12) & 63];
        p[o++] = alphabet[(b >> 6) & 63];
        p[o++] = alphabet[b & 63];
    }
    if (i < in.size()) {
        uint32_t b = static_cast<uint32_t>(in[i]) << 16;
        if (i + 1 < in.size()) b |= static_cast<uint32_t>(in[i + 1]) << 8;
        p[o++] = alphabet[b >> 18];
        p[o++] = alphabet[(b >> 12) & 63];
        p[o++] = i + 1 < in.size() ? alphabet[(b >> 6) & 63] : '=';
        p[o++] = '=';
    }
    out.commit(o);
}

Result<size_t> base64_decode(std::string_view in, uint8_t* out) {
    return decode(in, out);
}

Result<void> base64_validate(std::string_view in) {
    EM_TRY(decode(in, nullptr));
    return {};
}

}  // namespace em::validator
