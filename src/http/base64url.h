// base64url (RFC 4648 §5) without padding, as JWT uses it: strict decoding (no '=', no
// whitespace, unused trailing bits must be zero, so every value has exactly one encoding).
//
// Any thread; pure functions over caller memory, no allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "base/result.h"

namespace em::http {

/// Characters needed to encode n bytes without padding.
constexpr size_t base64url_encoded_bytes(size_t n) {
    return n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0);
}
/// Upper bound of the bytes that n characters decode to.
constexpr size_t base64url_decoded_bytes_max(size_t n) {
    return n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0);
}

/// Writes base64url_encoded_bytes(in.size()) characters to out; returns that count.
size_t base64url_encode(std::span<const uint8_t> in, char* out);

/// Decodes `in` into out (out_bytes_max capacity); returns the decoded size. Errors name the
/// position of a bad character, an impossible length, or non-zero trailing bits.
[[nodiscard]] Result<size_t> base64url_decode(std::string_view in, uint8_t* out,
                                              size_t out_bytes_max);

}  // namespace em::http
