// Block-hash verification of engine_newPayloadV1..V5 calls: the check the proxy runs on every
// newPayload before it trusts any EL's answer (a payload whose blockHash does not match its
// contents is INVALID / INVALID_BLOCK_HASH without waiting for the ELs).
//
// One BlockHashVerifier per shard thread; not thread-safe. It owns one em::Arena (reset at the
// start of every call: decoded bytes, trie nodes) and, for verify_request(), one simdjson
// On-Demand parser. Both are sized at construction from VerifierConfig, so steady-state calls
// allocate nothing. Results (and the views in last_payload()) are valid until the next call.
#pragma once

#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/arena.h"
#include "base/result.h"
#include "eth/payload.h"
#include "eth/payload_decode.h"

namespace em::eth {

struct VerifierConfig {
    /// Scratch memory per call: decoded payload bytes plus trie nodes (~1.5x the JSON text).
    size_t arena_bytes = size_t{48} << 20;
    /// Largest request text verify_request() accepts (the daemon's request body limit).
    size_t request_bytes_max = size_t{32} << 20;
    DecodeOptions decode;
};

/// Outcome of one verification: the hash rebuilt from the payload and the one it claims.
struct Verdict {
    Hash32 computed{};
    Hash32 claimed{};
    bool match = false;
    Fork fork = Fork::paris;
    uint8_t version = 0;  ///< newPayload method version 1..5
};

class BlockHashVerifier {
  public:
    explicit BlockHashVerifier(const VerifierConfig& config = {});
    BlockHashVerifier(const BlockHashVerifier&) = delete;
    BlockHashVerifier& operator=(const BlockHashVerifier&) = delete;

    /// Verifies the `params` value of an engine_newPayloadV<version> request (1..5), e.g. the
    /// proxy's document positioned at "params". Errors: decode errors (invalid_input, for
    /// -32602) naming the field path, too_large when a limit or the arena is exceeded.
    [[nodiscard]] Result<Verdict> verify_params(simdjson::ondemand::value params, uint8_t version);
    /// The two halves of verify_params(value), so a caller can act between them (the proxy
    /// forwards a payload only once it decoded, and hashes while the ELs work): decode_params
    /// decodes into this verifier's arena (errors as verify_params); hash_decoded rebuilds the
    /// header of what the last successful decode_params read. Nothing else may run between them.
    [[nodiscard]] Result<void> decode_params(simdjson::ondemand::value params, uint8_t version);
    [[nodiscard]] Result<Verdict> hash_decoded();
    /// decode_params with the decoding done by `decode(arena, payload, options, counters)`
    /// (a JSON kernel's decoder over its own document; engine/json_kernel.h), which must
    /// decode as decode_new_payload does into the arena and payload it is given.
    template <typename Decode>
    [[nodiscard]] Result<void> decode_params_with(Decode&& decode) {
        arena_.reset();
        return decode(arena_, payload_, config_.decode, &counters_);
    }
    /// Same for an already opened params array.
    [[nodiscard]] Result<Verdict> verify_params(simdjson::ondemand::array params, uint8_t version);
    /// Verifies a whole JSON-RPC request text (finds "method" and "params" itself; unsupported
    /// when the method is not engine_newPayloadV1..V5).
    [[nodiscard]] Result<Verdict> verify_request(simdjson::padded_string_view request);
    /// Verifies one request object of an opened document; *id_token receives the raw JSON text
    /// of its "id" ("null" when absent), a view into the request text.
    [[nodiscard]] Result<Verdict> verify_request_object(simdjson::ondemand::object request,
                                                        std::string_view* id_token = nullptr);

    /// The payload decoded by the last successful call (views into the arena).
    const NewPayload& last_payload() const { return payload_; }
    /// Decoder counters accumulated over all calls.
    const DecodeCounters& counters() const { return counters_; }
    /// Arena high-water mark in bytes (for sizing arena_bytes).
    size_t arena_high_water() const { return arena_.high_water(); }
    const VerifierConfig& config() const { return config_; }

  private:
    Result<Verdict> finish();

    VerifierConfig config_;
    Arena arena_;
    simdjson::ondemand::parser parser_;
    simdjson::ondemand::document document_;
    DecodeCounters counters_;
    NewPayload payload_;
};

/// Formats `0x` + 64 lowercase hex digits of h into out (66 characters, no terminator).
void format_hash(const Hash32& h, char out[66]);

}  // namespace em::eth
