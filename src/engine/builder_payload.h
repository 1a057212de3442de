// A builder's getPayload answer as the engine_newPayload request that imports its block on the
// local EL (the builder role, issue 15): the one text enginemux both hash-checks
// (eth::BlockHashVerifier::verify_request) and sends to the local EL for its VALID, so the
// block checked is byte for byte the block validated. Also reads what select_block needs.
//
// Any thread; pure. The caller owns the parser and the output buffer (reused between calls:
// no allocation once it has grown).
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <string_view>

#include "base/buffer.h"
#include "base/result.h"
#include "base/u256.h"

namespace em::engine {

/// What a builder's block offers.
struct BuiltPayload {
    uint8_t new_payload_version = 0;  ///< the engine_newPayload version that imports it
    uint64_t gas_used = 0;
    U256 block_value;  ///< zero for getPayloadV1 (no blockValue)
};

/// The newPayload version that imports a getPayloadV<version> block (1..6; 0: none).
uint8_t new_payload_version_for(uint8_t get_payload_version);

/// Writes into `out` the engine_newPayload request (JSON-RPC id `id`, raw JSON text) that
/// imports the block of `result`, a getPayloadV<version> result (1..6), and reads its gas and
/// value. The executionPayload's JSON is copied as it came. V3+: expectedBlobVersionedHashes
/// is [] (an OP Stack block carries no blobs: a non-empty blobsBundle is unsupported), and
/// parentBeaconBlockRoot is the answer's own (OP Stack envelopes carry it), else
/// `parent_beacon_block_root` (the attributes', 0x + 64 hex digits). V4+: the answer's
/// executionRequests ([] when absent, as OP Isthmus). Errors name the field.
[[nodiscard]] Result<BuiltPayload> new_payload_from_built(simdjson::ondemand::parser& parser,
                                                          simdjson::padded_string_view result,
                                                          uint8_t get_payload_version,
                                                          std::string_view parent_beacon_block_root,
                                                          std::string_view id, ByteBuffer& out);

}  // namespace em::engine
