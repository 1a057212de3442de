// Fuzz: the vote over random slot assignments. The outcome must respect the safety rules,
// checked here independently of vote.cpp: never VALID while any voter said INVALID; never VALID
// or INVALID (or ACCEPTED) unless that many answers agree on (status, latestValidHash) to reach
// need = max(1, ceil(q * answered)); nothing answered -> SYNCING. And when is_final() says the
// vote is decided, completing the pending slots (from the remaining bytes) never changes it.
//
// Input: byte 0 voters (1..16), bytes 1-2 threshold (1..1e6 ppm), byte 3 method, then one byte
// per slot (state/status/hash label), then bytes for completions of pending slots.
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "../fuzz_check.h"
#include "engine/vote.h"

using namespace em::engine;

namespace {

VoteSlot slot_from(uint8_t b, VoteMethod method) {
    VoteSlot s;
    uint8_t kind = b % 8;
    int label = (b >> 3) % 4;  // 0 = null hash, 1..3 = three hashes
    bool ils = (b >> 5) & 1;
    if (kind == 0) return s;  // pending
    if (kind == 1) {
        s.state = SlotState::no_answer;
        return s;
    }
    s.state = SlotState::answered;
    static constexpr Status statuses[] = {
        Status::syncing, Status::accepted,           Status::valid,
        Status::invalid, Status::invalid_block_hash, Status::valid};
    s.answer.status = statuses[kind - 2];
    if (method == VoteMethod::forkchoice_updated &&
        (s.answer.status == Status::accepted || s.answer.status == Status::invalid_block_hash))
        s.answer.status = Status::syncing;  // the parser never lets these through for fcU
    if (s.answer.status == Status::valid && label == 0) label = 1;  // VALID always has a hash
    if (label > 0) {
        s.answer.has_latest_valid_hash = true;
        s.answer.latest_valid_hash[0] = static_cast<uint8_t>(label);
    }
    if (s.answer.status == Status::valid)
        s.answer.inclusion_list_satisfied = ils ? OptBool::yes : OptBool::no;
    if (is_invalid(s.answer.status) && (b >> 6)) s.answer.validation_error_json = "\"e\"";
    return s;
}

bool same_key(const PayloadStatus& a, const PayloadStatus& b) {
    return a.has_latest_valid_hash == b.has_latest_valid_hash &&
           a.latest_valid_hash == b.latest_valid_hash;
}

void check_safety(const std::vector<VoteSlot>& slots, Quorum quorum, VoteMethod method,
                  const VoteResult& r) {
    uint32_t answered = 0, invalid = 0, accepted = 0, pending = 0, dead = 0;
    for (const auto& s : slots) {
        pending += s.state == SlotState::pending;
        dead += s.state == SlotState::no_answer;
        if (s.state != SlotState::answered) continue;
        answered++;
        invalid += is_invalid(s.answer.status);
        accepted += s.answer.status == Status::accepted;
    }
    FUZZ_CHECK(r.answered == answered && r.pending == pending && r.no_answer == dead);
    FUZZ_CHECK(r.voters == slots.size());
    uint32_t need = quorum.need(answered);
    const PayloadStatus& a = r.answer;
    if (answered == 0) FUZZ_CHECK(a.status == Status::syncing && !a.has_latest_valid_hash);
    if (a.status == Status::syncing || a.status == Status::accepted)
        FUZZ_CHECK(!a.has_latest_valid_hash && a.validation_error_json.empty());
    if (a.status == Status::valid) {
        FUZZ_CHECK(invalid == 0);
        uint32_t agree = 0;
        for (const auto& s : slots)
            agree += s.state == SlotState::answered && s.answer.status == Status::valid &&
                     same_key(s.answer, a) &&
                     s.answer.inclusion_list_satisfied == a.inclusion_list_satisfied;
        FUZZ_CHECK(agree >= need);
    }
    if (is_invalid(a.status)) {
        uint32_t agree = 0;
        for (const auto& s : slots)
            agree += s.state == SlotState::answered && is_invalid(s.answer.status) &&
                     same_key(s.answer, a);
        FUZZ_CHECK(agree >= need);
        if (a.status == Status::invalid_block_hash)
            FUZZ_CHECK(method == VoteMethod::new_payload_v1);
    }
    if (a.status == Status::accepted)
        FUZZ_CHECK(method != VoteMethod::forkchoice_updated && invalid == 0 && accepted >= need);
}

bool same_outcome(const VoteResult& x, const VoteResult& y) {
    if (x.answer.status != y.answer.status) return false;
    if (x.answer.status == Status::syncing || x.answer.status == Status::accepted) return true;
    return same_key(x.answer, y.answer) &&
           x.answer.inclusion_list_satisfied == y.answer.inclusion_list_satisfied;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 4) return 0;
    size_t voters = 1 + data[0] % voters_max;
    uint32_t ppm = 1 + (static_cast<uint32_t>(data[1]) << 8 | data[2]) * 1'000'000u / 65535u;
    if (ppm > Quorum::one_ppm) ppm = Quorum::one_ppm;
    auto method = static_cast<VoteMethod>(data[3] % 3);
    Quorum quorum{ppm};
    size_t at = 4;
    std::vector<VoteSlot> slots;
    for (size_t i = 0; i < voters; i++)
        slots.push_back(slot_from(at < size ? data[at++] : 0, method));
    VoteResult r = vote(slots, quorum, method);
    check_safety(slots, quorum, method, r);
    bool final = is_final(slots, quorum, method);
    if (r.pending == 0) FUZZ_CHECK(final);
    if (!final || r.pending == 0) return 0;
    // Completions from the remaining bytes: the decided outcome must not move.
    while (at < size) {
        std::vector<VoteSlot> completed = slots;
        for (auto& s : completed) {
            if (s.state != SlotState::pending) continue;
            uint8_t b = at < size ? data[at++] : 1;
            s = slot_from(b % 8 == 0 ? static_cast<uint8_t>(b | 1) : b, method);
        }
        VoteResult c = vote(completed, quorum, method);
        check_safety(completed, quorum, method, c);
        FUZZ_CHECK(same_outcome(r, c));
    }
    return 0;
}
