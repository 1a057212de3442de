// The quorum vote over the voting ELs' newPayload / forkchoiceUpdated answers (DESIGN.md "Safety
// rules of the vote"), and is_final(): whether waiting for the nodes still in flight could change
// the answer.
//
// Any thread; pure functions over a caller-owned slot array (at most voters_max slots), no
// allocation. The proxy keeps one VoteSlot per voting node (mirrors never get a slot), fills a
// slot as that node's answer arrives (parse failures, errors, timeouts, resets and wrong ids are
// `no_answer`), calls is_final() after each arrival to stop waiting as early as safely possible,
// and calls vote() once to build the CL's answer. A VoteResult's answer views the winning slot's
// validation_error_json, i.e. that EL's response buffer.
//
// The rules (q = threshold, answered = slots with an answer):
//   need = max(1, ceil(q * answered)), computed exactly in parts per million.
//   Answers are grouped by (status class, latestValidHash[, inclusionListSatisfied]); INVALID and
//   INVALID_BLOCK_HASH are one class; SYNCING answers form one group and ACCEPTED answers another
//   whatever their latestValidHash (the spec says null there).
//   A "decisive" group is a VALID or INVALID group with at least `need` answers.
//   - exactly one decisive group, INVALID            -> INVALID with that group's latestValidHash
//     and one of its validationErrors (newPayloadV1: INVALID_BLOCK_HASH if at least `need` of
//     the group said INVALID_BLOCK_HASH; later versions never answer INVALID_BLOCK_HASH);
//   - exactly one decisive group, VALID, no INVALID  -> VALID with that latestValidHash;
//   - exactly one decisive group, VALID, any INVALID -> SYNCING (an INVALID minority vetoes);
//   - two or more decisive groups                    -> SYNCING (conflicting quorums; only
//     possible with q <= 0.5 or VALIDs that disagree on latestValidHash);
//   - none: newPayload with no INVALID and >= need ACCEPTED -> ACCEPTED (all ACCEPTED-quorum:
//     ACCEPTED is what a quorum said, and a CL treats it like SYNCING: optimistic import);
//   - otherwise (including no answers at all)        -> SYNCING, latestValidHash null.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "base/result.h"
#include "engine/types.h"

namespace em::engine {

/// The vote threshold (`--fcu-majority`), exact in parts per million, in (0, 1].
struct Quorum {
    /// executionbackup's --fcu-majority default (0.6); we keep it so a drop-in behaves the same.
    static constexpr uint32_t default_ppm = 600'000;
    static constexpr uint32_t one_ppm = 1'000'000;

    uint32_t ppm = default_ppm;

    /// From a fraction in (0, 1] (rounded to the nearest ppm); names the problem otherwise.
    [[nodiscard]] static Result<Quorum> from_fraction(double q);
    /// max(1, ceil(q * answered)).
    uint32_t need(uint32_t answered) const {
        uint64_t n = (static_cast<uint64_t>(ppm) * answered + one_ppm - 1) / one_ppm;
        return n < 1 ? 1 : static_cast<uint32_t>(n);
    }
};

/// Which call is being voted on: decides whether ACCEPTED / INVALID_BLOCK_HASH can be answered.
enum class VoteMethod : uint8_t {
    new_payload_v1,      ///< may answer INVALID_BLOCK_HASH and ACCEPTED
    new_payload,         ///< V2+: may answer ACCEPTED; INVALID_BLOCK_HASH is reported as INVALID
    forkchoice_updated,  ///< VALID / INVALID / SYNCING only
};

enum class SlotState : uint8_t {
    pending,    ///< still in flight
    no_answer,  ///< error, timeout, reset, garbage or wrong id: does not count as answered
    answered,   ///< `answer` holds a parsed PayloadStatus
};

/// One voting node's contribution.
struct VoteSlot {
    SlotState state = SlotState::pending;
    PayloadStatus answer;
};

/// Why the vote ended as it did (a metric label).
enum class VoteReason : uint8_t {
    quorum_valid,         ///< VALID: one VALID group reached need, no INVALID
    quorum_invalid,       ///< INVALID: one INVALID group reached need, nothing else did
    quorum_accepted,      ///< ACCEPTED: ACCEPTED reached need, nothing decisive, no INVALID
    invalid_minority,     ///< SYNCING: a VALID quorum but some voter said INVALID
    conflicting_quorums,  ///< SYNCING: two or more decisive groups reached need
    no_quorum,            ///< SYNCING: answers, but no group reached need
    no_answers,           ///< SYNCING: nobody answered
};
inline constexpr size_t vote_reason_count = 7;

/// "quorum_valid", "quorum_invalid", ... (metric label values).
std::string_view vote_reason_name(VoteReason reason);

struct VoteResult {
    /// What to tell the CL (views the chosen slot's validationError).
    PayloadStatus answer;
    VoteReason reason = VoteReason::no_answers;
    /// Slot whose latestValidHash / validationError is reported; -1 when none.
    int8_t chosen_slot = -1;
    /// Slots by state.
    uint8_t voters = 0;
    uint8_t answered = 0;
    uint8_t no_answer = 0;
    uint8_t pending = 0;
    /// max(1, ceil(q * answered)).
    uint8_t need = 0;
    /// Answers in the winning group (0 when the answer is SYNCING).
    uint8_t agree = 0;
    /// answered - agree.
    uint8_t disagree = 0;
    /// Answers per Status (indexed by the enum's value).
    uint8_t per_status[status_count] = {};
};

/// The CL's answer from the slots (pending slots count as not answered). slots.size() <=
/// voters_max (asserted).
VoteResult vote(std::span<const VoteSlot> slots, Quorum quorum, VoteMethod method);

/// True when no way the pending slots could still turn out (each may become no answer or any
/// answer, joining any group or forming new ones) changes vote()'s status or reported
/// latestValidHash/inclusionListSatisfied. Exact, O(slots^2). True when nothing is pending.
bool is_final(std::span<const VoteSlot> slots, Quorum quorum, VoteMethod method);

}  // namespace em::engine
