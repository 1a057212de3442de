// Decoding engine_newPayloadV1..V5 params straight from a simdjson On-Demand view.
//
// Any thread (one decode at a time per arena). Hex is decoded from the JSON text into the
// caller's em::Arena; nothing else is allocated and no intermediate strings are made. The proxy
// positions its (already stage-1-indexed) document at "params" and passes that value here.
//
// Strict about shapes; every error names the field path and is meant for JSON-RPC -32602:
//   - DATA: ^0x([0-9a-fA-F]{2})*$ with the exact length for fixed-size fields (hashes 32 bytes,
//     addresses 20, logsBloom 256, extraData 0..32). QUANTITY: ^0x(0|[1-9a-fA-F][0-9a-fA-F]*)$
//     within u64 (u256 for baseFeePerGas). Digits in either case, as every EL accepts them
//     (EIP-55 checksummed addresses; not verified, as no EL verifies them); the bytes, and so
//     the block hash, do not depend on the case. Missing or "0X" prefix, odd digit counts,
//     leading zeros, escapes inside hex strings are all rejected. The values are read by the
//     hex codec (base/hex.h).
//   - params count per version: V1/V2 one, V3 three, V4/V5 four. V2 takes payloads with or
//     without withdrawals. executionRequests items: type byte || data, at least one data byte,
//     types strictly ascending.
//   - Fields of a later version than the method (e.g. blobGasUsed in V2) are accepted only as
//     JSON null (geth writes them so); any other value is an error. Missing or duplicated
//     fields are errors.
//   - Unknown fields in the payload or withdrawal objects: DecodeOptions::unknown_fields.
//     The default is `ignore` and counts them (DecodeCounters::unknown_fields_ignored): real
//     clients send extras (EthereumJS adds a non-spec `requestsHash` to executionPayload) and
//     the ELs behind the proxy ignore them too; `reject` is for conformance testing.
// Fork: V1 Paris; V2 Shanghai with withdrawals, else Paris; V3 Cancun; V4 Prague/Osaka, or OP
// Stack Isthmus when the payload carries `withdrawalsRoot` (withdrawals must then be empty);
// V5 Amsterdam. Limits (counts and sizes) exceeded -> Errc::too_large; all else invalid_input.
#pragma once

#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/arena.h"
#include "base/json_kernel_ns.h"
#include "base/result.h"
#include "eth/payload.h"

namespace em::eth {

/// Highest engine_newPayload version understood.
inline constexpr uint8_t new_payload_version_max = 5;

/// What to do with object fields the spec does not define (see the file comment).
enum class UnknownFields : uint8_t { ignore, reject };

/// Per-call maxima (every list and byte string is bounded before it is decoded).
struct PayloadLimits {
    size_t transactions_max = size_t{1} << 16;
    size_t transaction_bytes_max = size_t{1} << 24;
    size_t withdrawals_max = size_t{1} << 16;
    size_t versioned_hashes_max = size_t{1} << 12;
    size_t execution_requests_max = 256;  ///< one per type byte at most
    size_t request_bytes_max = size_t{1} << 24;
    size_t block_access_list_bytes_max = size_t{1} << 25;
};

struct DecodeOptions {
    UnknownFields unknown_fields = UnknownFields::ignore;
    PayloadLimits limits;
};

/// Counters the caller exports as metrics (never reset by the decoder).
struct DecodeCounters {
    uint64_t unknown_fields_ignored = 0;
};

// The functions are compiled once per JSON kernel (base/json_kernel_ns.h); the types above are
// shared by all of them.
inline namespace EM_JSON_KERNEL_NS {

/// 1..5 for "engine_newPayloadV1".."engine_newPayloadV5", 0 for anything else.
uint8_t new_payload_version(std::string_view method);
/// Number of params of engine_newPayloadV<version> (1, 1, 3, 4, 4).
size_t new_payload_param_count(uint8_t version);

/// Decodes the params array of engine_newPayloadV<version> (1..5) into out; byte strings are
/// written to `arena`. On error `out` is unspecified.
[[nodiscard]] Result<void> decode_new_payload(simdjson::ondemand::array params, uint8_t version,
                                              Arena& arena, NewPayload& out,
                                              const DecodeOptions& options = {},
                                              DecodeCounters* counters = nullptr);
/// Same, from the `params` value (an error names it if it is not an array).
[[nodiscard]] Result<void> decode_new_payload(simdjson::ondemand::value params, uint8_t version,
                                              Arena& arena, NewPayload& out,
                                              const DecodeOptions& options = {},
                                              DecodeCounters* counters = nullptr);

}  // namespace EM_JSON_KERNEL_NS
}  // namespace em::eth
