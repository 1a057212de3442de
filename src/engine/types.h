// Engine API value types shared by the engine layer: payload statuses, hashes, payload ids and
// the named limits of the vote.
//
// Any thread; plain values, no ownership except where a field says it is a view: views point
// into a buffer the caller owns (an EL's response body) and are valid only while it lives.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace em::engine {

/// Most voting ELs one vote handles (slots per vote; also per-node ids per payload id).
inline constexpr size_t voters_max = 16;

using Hash32 = std::array<uint8_t, 32>;

/// An 8-byte payloadId (DATA8), ours or an EL's.
struct PayloadId {
    std::array<uint8_t, 8> bytes{};
    friend bool operator==(const PayloadId&, const PayloadId&) = default;
};

/// PayloadStatus.status. INVALID_BLOCK_HASH exists only in newPayloadV1's answers.
enum class Status : uint8_t { valid, invalid, syncing, accepted, invalid_block_hash };
inline constexpr size_t status_count = 5;

/// "VALID", "INVALID", "SYNCING", "ACCEPTED" or "INVALID_BLOCK_HASH".
std::string_view status_name(Status s);

/// True for INVALID and INVALID_BLOCK_HASH (both veto VALID and count as INVALID).
constexpr bool is_invalid(Status s) {
    return s == Status::invalid || s == Status::invalid_block_hash;
}

/// Which PayloadStatus structure a method uses: V1 (Paris..Amsterdam) or V2 (Bogota: newPayloadV6,
/// forkchoiceUpdatedV5), which appends `inclusionListSatisfied: BOOLEAN|null`.
enum class StatusSchema : uint8_t { v1, v2 };

/// A JSON `true|false|null`.
enum class OptBool : uint8_t { null, no, yes };

/// One PayloadStatusV1/V2 as an EL sent it or as we answer it.
struct PayloadStatus {
    Status status = Status::syncing;
    /// False when latestValidHash is null (or absent).
    bool has_latest_valid_hash = false;
    Hash32 latest_valid_hash{};
    /// validationError as raw JSON text: a complete string literal including its quotes (already
    /// checked to be well-formed), viewing the EL's buffer. Empty means null.
    std::string_view validation_error_json;
    /// PayloadStatusV2.inclusionListSatisfied (always null for V1).
    OptBool inclusion_list_satisfied = OptBool::null;
};

}  // namespace em::engine
