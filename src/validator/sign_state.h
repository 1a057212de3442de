// CometBFT's last-sign state (privval FilePVLastSignState, priv_validator_state.json): the
// height/round/step (HRS) a validator last signed, with the signature and sign bytes that let it
// re-sign the same vote. Strict parser and writer, HRS order, and the high-watermark rule.
//
// File format (cmtjson): {"height":"<int64 as string>","round":<int32>,"step":<0..3>,
// "signature":"<base64>","signbytes":"<hex>"}; signature and signbytes are omitted when empty.
// CometBFT refuses to sign at a lower HRS, so writing a higher HRS only makes it refuse more.
//
// Any thread; plain values, no I/O, no allocation (signature and sign bytes live inline).
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/buffer.h"
#include "base/result.h"
#include "validator/json.h"

namespace em::validator {

/// CometBFT's steps (privval: 0 none, 1 propose, 2 prevote, 3 precommit).
inline constexpr int8_t step_max = 3;
inline constexpr int32_t round_max = 2147483647;

/// Height, round, step in CometBFT's order.
struct Hrs {
    int64_t height = 0;
    int32_t round = 0;
    int8_t step = 0;
    auto operator<=>(const Hrs&) const = default;
};

struct SignState {
    /// Base64 characters of a signature we keep (ed25519/secp256k1 signatures take 88).
    static constexpr size_t signature_chars_max = 256;
    /// Hex digits of sign bytes we keep (canonical votes/proposals are a few hundred bytes).
    static constexpr size_t signbytes_chars_max = 4096;

    Hrs hrs;
    uint16_t signature_chars = 0;
    uint16_t signbytes_chars = 0;
    char signature[signature_chars_max];
    char signbytes[signbytes_chars_max];

    SignState() = default;
    explicit SignState(Hrs h) : hrs(h) {}
    SignState(const SignState& o) { *this = o; }
    /// Copies only the used bytes of the inline buffers.
    SignState& operator=(const SignState& o);

    std::string_view signature_b64() const { return {signature, signature_chars}; }
    std::string_view signbytes_hex() const { return {signbytes, signbytes_chars}; }
    /// Validates (base64 / hex) and stores; errors name the field.
    Result<void> set_signature(std::string_view b64);
    Result<void> set_signbytes(std::string_view hex);
    /// Same HRS, signature and sign bytes (sign bytes compared ignoring hex case).
    bool same_as(const SignState& o) const;
};

/// Parses the state file's JSON text. Unknown or duplicate fields, wrong types (a numeric height,
/// a string round), out-of-range values and malformed signature/signbytes are errors naming the
/// field.
Result<SignState> parse_sign_state(std::string_view json, JsonParser& parser);
/// Same, from an already parsed value (a state embedded in a peer or etcd message).
Result<SignState> sign_state_from_json(JsonValue value);
/// Appends the state as JSON (compact; empty signature/signbytes omitted, as cmtjson does).
void write_sign_state(const SignState& state, ByteBuffer& out);

/// The high-watermark state to write before a validator may start on a new active host: the
/// highest of the local state, the last state received from the previous holder (may be null)
/// and {chain_height + 1 + margin_heights, round_max, step_max}. A real state that wins is
/// copied whole (signature and sign bytes kept, so CometBFT can re-sign that exact vote); the
/// synthetic one carries none (CometBFT then refuses every vote at its height).
SignState high_watermark(const SignState& local, const SignState* peer, int64_t chain_height,
                         uint32_t margin_heights);

}  // namespace em::validator
