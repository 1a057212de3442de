// The execution payloads enginemux-mock-el answers engine_getPayloadV1..V6 with: params[0] of an
// engine_newPayload request read from --payload-file, or small built-in synthetic payloads (no
// transactions) whose blockHash is correct for their fork (header rebuilt with the eth layer;
// V3+ hashes assume no blob hashes, a zero parentBeaconBlockRoot and no execution requests).
//
// Start-up only (main thread); allocates freely.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace em::mockel {

/// Largest --payload-file.
inline constexpr size_t payload_file_bytes_max = size_t{32} << 20;

/// executionPayload JSON text per getPayload version (index 1..6; 0 unused).
using PayloadTexts = std::array<std::string, 7>;

/// The synthetic payload of getPayloadV<version> (1..6) for block `number` claiming `gas_used`
/// gas (a mock builder's block differs from the local EL's by it), with its block hash
/// computed. Errors only if the eth layer rejects it (a bug).
[[nodiscard]] Result<std::string> synthetic_payload(uint8_t version, uint64_t number,
                                                    uint64_t gas_used = 0);

/// params[0] of a JSON-RPC engine_newPayloadV1..V5 request object (or of a {"request": {...}}
/// test-case wrapper) as minimal JSON text. Errors say what is wrong.
[[nodiscard]] Result<std::string> payload_from_request(std::string_view json);

/// Fills texts: every version from the file when path is non-empty, else synthetic payloads for
/// block number head + 1 claiming `gas_used` gas. Errors name the file.
[[nodiscard]] Result<void> load_payloads(const std::string& path, uint64_t head,
                                         PayloadTexts& texts, uint64_t gas_used = 0);

}  // namespace em::mockel
