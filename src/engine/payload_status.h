// Reading ELs' newPayload / forkchoiceUpdated answers and writing the CL's answer.
//
// Any thread; pure functions. Parsing takes the `result` JSON of an EL's response (the jsonrpc
// layer hands over its raw span) with >= 64 readable bytes after it (simdjson padding) and the
// caller's simdjson parser (one per shard, reused: no allocation once it has grown to the
// largest answer). The PayloadStatus returned views the input (validation_error_json): keep the
// input alive while using it. Writers append a JSON fragment (the `result` value) to a
// ByteBuffer; the proxy wraps it in the JSON-RPC envelope.
//
// Strictness: an answer is accepted only if it matches the spec's structure exactly: a JSON
// object with known fields only (PayloadStatusV1: status, latestValidHash, validationError; V2
// adds inclusionListSatisfied), no duplicates, no trailing content, correct types and lengths,
// VALID with a latestValidHash, V2 inclusionListSatisfied set iff VALID; forkchoiceUpdated
// answers only VALID/INVALID/SYNCING. Optional fields may be absent (= null, as in the spec's
// schema). Anything else is a malformed answer: the error names what was wrong, the caller
// counts it and the vote treats the node as "did not answer". Hex digits may be either case.
#pragma once

#include <cstddef>
#include <string_view>

#include <simdjson.h>

#include "base/buffer.h"
#include "base/result.h"
#include "engine/types.h"

namespace em::engine {

/// Longest validationError (raw JSON bytes) we relay; a longer one is replaced by a short note.
inline constexpr size_t validation_error_bytes_max = 4096;
/// What replaces an over-long validationError (a JSON string literal).
inline constexpr std::string_view validation_error_truncated_json =
    "\"validationError too long: dropped by enginemux\"";

/// forkchoiceUpdated's result: {payloadStatus, payloadId: DATA8|null}.
struct ForkchoiceUpdatedAnswer {
    PayloadStatus payload_status;
    /// False when payloadId is null or absent.
    bool has_payload_id = false;
    PayloadId payload_id;
};

/// Parses a newPayload result (PayloadStatusV1, or V2 for newPayloadV6).
[[nodiscard]] Result<PayloadStatus> parse_payload_status(simdjson::ondemand::parser& parser,
                                                         simdjson::padded_string_view json,
                                                         StatusSchema schema);
/// Same, from (data, size, capacity): capacity - size must be >= 64 (asserted).
[[nodiscard]] Result<PayloadStatus> parse_payload_status(simdjson::ondemand::parser& parser,
                                                         const char* data, size_t size,
                                                         size_t capacity, StatusSchema schema);

/// Parses a forkchoiceUpdated result ({payloadStatus, payloadId}).
[[nodiscard]] Result<ForkchoiceUpdatedAnswer> parse_forkchoice_updated(
    simdjson::ondemand::parser& parser, simdjson::padded_string_view json, StatusSchema schema);
/// Same, from (data, size, capacity): capacity - size must be >= 64 (asserted).
[[nodiscard]] Result<ForkchoiceUpdatedAnswer> parse_forkchoice_updated(
    simdjson::ondemand::parser& parser, const char* data, size_t size, size_t capacity,
    StatusSchema schema);

/// Appends {"status":..,"latestValidHash":..,"validationError":..[,"inclusionListSatisfied":..]}.
/// validation_error_json must be empty or a JSON string literal (asserted). Errc::too_large
/// (and `out` unchanged) when the buffer's bytes_max would be exceeded.
[[nodiscard]] Result<void> write_payload_status(ByteBuffer& out, const PayloadStatus& status,
                                                StatusSchema schema);

/// Appends {"payloadStatus":{..},"payloadId":"0x.."|null}; payload_id == nullptr writes null.
[[nodiscard]] Result<void> write_forkchoice_updated(ByteBuffer& out, const PayloadStatus& status,
                                                    StatusSchema schema,
                                                    const PayloadId* payload_id);

/// True if `json` (a result's raw text) is the literal null, ignoring surrounding whitespace.
/// The proxy uses it for the `primary` strategy's fallback (getBlobs, bodies).
bool is_null_result(std::string_view json);

}  // namespace em::engine
