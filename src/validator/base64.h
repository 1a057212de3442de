// Standard base64 (RFC 4648 section 4, with '=' padding), as Go's encoding/json writes []byte:
// signatures in priv_validator_state.json, pub keys in /status, keys and values in etcd's JSON
// gateway.
//
// Any thread; pure functions, no allocation except into the caller's ByteBuffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "base/buffer.h"
#include "base/result.h"

namespace em::validator {

/// Characters base64_encode writes for n bytes.
constexpr size_t base64_encoded_chars(size_t n) {
    return (n + 2) / 3 * 4;
}
/// Bytes base64_decode can produce at most from `chars` characters.
constexpr size_t base64_decoded_bytes_max(size_t chars) {
    return chars / 4 * 3;
}

/// Appends the padded base64 text of `in` to out.
void base64_encode(std::span<const uint8_t> in, ByteBuffer& out);
/// Decodes padded base64 (length a multiple of 4, '=' only at the end) into out, which must hold
/// base64_decoded_bytes_max(in.size()) bytes; returns the decoded length. Errors name the offset.
Result<size_t> base64_decode(std::string_view in, uint8_t* out);
/// Checks that `in` is valid padded base64 without decoding it.
Result<void> base64_validate(std::string_view in);

}  // namespace em::validator
