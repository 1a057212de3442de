// The quorum vote and its exact early-stop test (see vote.h for the rules).
//
// Why is_final() only has to look at "all pending slots answer into one group": for any target
// group h with c_h answers and x more, c_h + x - need(a + x) never decreases as x grows (need
// grows by at most 1 per answer since q <= 1), and every other group's chance to stay below need
// only improves as need grows. So the completion that best helps any one group reach a quorum
// alone is "every pending slot answers into it"; the completion that best makes a group lose its
// quorum is "every pending slot answers elsewhere" (need(a + p)). Both are checked directly.
#include "engine/vote.h"

#include <cmath>

#include "base/assert.h"

namespace em::engine {
namespace {

enum class Class : uint8_t { valid, invalid, syncing, accepted };

Class class_of(Status s) {
    switch (s) {
        case Status::valid:
            return Class::valid;
        case Status::invalid:
        case Status::invalid_block_hash:
            return Class::invalid;
        case Status::syncing:
            return Class::syncing;
        case Status::accepted:
            return Class::accepted;
    }
    return Class::syncing;
}

bool decisive_class(Class c) {
    return c == Class::valid || c == Class::invalid;
}

struct Group {
    Class cls;
    uint8_t count;
    uint8_t invalid_block_hash;  // members that said INVALID_BLOCK_HASH
    int8_t first_slot;
    int8_t error_slot;  // first member with a validationError, -1 if none
};

struct Tally {
    Group groups[voters_max];
    uint8_t group_count = 0;
    uint8_t answered = 0;
    uint8_t no_answer = 0;
    uint8_t pending = 0;
    uint8_t invalid = 0;  // INVALID + INVALID_BLOCK_HASH answers
    uint8_t per_status[status_count] = {};
};

bool same_hash(const PayloadStatus& a, const PayloadStatus& b) {
    if (a.has_latest_valid_hash != b.has_latest_valid_hash) return false;
    return !a.has_latest_valid_hash || a.latest_valid_hash == b.latest_valid_hash;
}

// Same group: SYNCING and ACCEPTED ignore latestValidHash (the spec says null there).
bool same_group(Class cls, const PayloadStatus& a, const PayloadStatus& b) {
    if (cls == Class::syncing || cls == Class::accepted) return true;
    if (!same_hash(a, b)) return false;
    return cls != Class::valid || a.inclusion_list_satisfied == b.inclusion_list_satisfied;
}

void add_answer(Tally& t, std::span<const VoteSlot> slots, size_t i) {
    const PayloadStatus& a = slots[i].answer;
    Class cls = class_of(a.status);
    auto status_index = static_cast<size_t>(a.status);
    EM_ASSERT(status_index < status_count);
    t.answered++;
    t.per_status[status_index]++;
    if (cls == Class::invalid) t.invalid++;
    Group* g = nullptr;
    for (uint8_t k = 0; k < t.group_count; k++) {
        Group& c = t.groups[k];
        if (c.cls == cls && same_group(cls, slots[c.first_slot].answer, a)) {
            g = &c;
            break;
        }
    }
    if (!g) {
        g = &t.groups[t.group_count++];
        *g = Group{cls, 0, 0, static_cast<int8_t>(i), -1};
    }
    g->count++;
    if (a.status == Status::invalid_block_hash) g->invalid_block_hash++;
    if (g->error_slot < 0 && !a.validation_error_json.empty())
        g->error_slot = static_cast<int8_t>(i);
}

Tally tally(std::span<const VoteSlot> slots) {
    EM_ASSERT(slots.size() <= voters_max);
    Tally t;
    for (size_t i = 0; i < slots.size(); i++) {
        switch (slots[i].state) {
            case SlotState::pending:
                t.pending++;
                break;
            case SlotState::no_answer:
                t.no_answer++;
                break;
            case SlotState::answered:
                add_answer(t, slots, i);
                break;
        }
    }
    return t;
}

struct Outcome {
    Status status;
    int8_t group;  // winning group (VALID, INVALID, ACCEPTED), -1 for SYNCING
    VoteReason reason;
};

Outcome decide(const Tally& t, uint32_t need, VoteMethod method) {
    if (t.answered == 0) return {Status::syncing, -1, VoteReason::no_answers};
    int decisive = -1;
    int decisive_groups = 0;
    int accepted = -1;
    for (int k = 0; k < t.group_count; k++) {
        const Group& g = t.groups[k];
        if (g.cls == Class::accepted) accepted = k;
        if (decisive_class(g.cls) && g.count >= need) {
            decisive = k;
            decisive_groups++;
        }
    }
    if (decisive_groups >= 2) return {Status::syncing, -1, VoteReason::conflicting_quorums};
    if (decisive_groups == 1) {
        const Group& g = t.groups[decisive];
        auto k = static_cast<int8_t>(decisive);
        if (g.cls == Class::invalid) {
            bool ibh = method == VoteMethod::new_payload_v1 && g.invalid_block_hash >= need;
            return {ibh ? Status::invalid_block_hash : Status::invalid, k,
                    VoteReason::quorum_invalid};
        }
        if (t.invalid == 0) return {Status::valid, k, VoteReason::quorum_valid};
        return {Status::syncing, -1, VoteReason::invalid_minority};
    }
    if (method != VoteMethod::forkchoice_updated && t.invalid == 0 && accepted >= 0 &&
        t.groups[accepted].count >= need)
        return {Status::accepted, static_cast<int8_t>(accepted), VoteReason::quorum_accepted};
    return {Status::syncing, -1, VoteReason::no_quorum};
}

struct TopTwo {
    uint32_t first = 0;
    uint32_t second = 0;
    int first_group = -1;
};

TopTwo top_decisive(const Tally& t) {
    TopTwo top;
    for (int k = 0; k < t.group_count; k++) {
        const Group& g = t.groups[k];
        if (!decisive_class(g.cls)) continue;
        if (g.count > top.first) {
            top.second = top.first;
            top.first = g.count;
            top.first_group = k;
        } else if (g.count > top.second) {
            top.second = g.count;
        }
    }
    return top;
}

// INVALID(g) stays iff g keeps its quorum when every pending slot answers elsewhere, no other
// group (or a new one) can reach need with every pending slot, and (newPayloadV1) the
// INVALID / INVALID_BLOCK_HASH choice cannot flip.
bool invalid_is_final(const Tally& t, const Outcome& o, uint32_t need_max, VoteMethod method) {
    const Group& g = t.groups[o.group];
    if (g.count < need_max) return false;
    uint32_t other = 0;
    for (int k = 0; k < t.group_count; k++) {
        const Group& h = t.groups[k];
        if (k != o.group && decisive_class(h.cls) && h.count > other) other = h.count;
    }
    if (other + t.pending >= need_max) return false;
    if (method != VoteMethod::new_payload_v1) return true;
    if (o.status == Status::invalid_block_hash) return g.invalid_block_hash >= need_max;
    return g.invalid_block_hash + t.pending < need_max;
}

// SYNCING stays iff no group (existing or new) can become the only decisive one, and ACCEPTED
// cannot reach need, with every pending slot answering into it.
bool syncing_is_final(const Tally& t, uint32_t need_max, VoteMethod method) {
    uint32_t p = t.pending;
    TopTwo top = top_decisive(t);
    if (p >= need_max && top.first < need_max) return false;  // a new INVALID group
    for (int k = 0; k < t.group_count; k++) {
        const Group& h = t.groups[k];
        if (!decisive_class(h.cls)) continue;
        uint32_t other = k == top.first_group ? top.second : top.first;
        if (h.count + p < need_max || other >= need_max) continue;
        if (h.cls == Class::invalid || t.invalid == 0) return false;
    }
    if (method == VoteMethod::forkchoice_updated || t.invalid != 0 || top.first >= need_max)
        return true;
    uint32_t accepted = t.per_status[static_cast<size_t>(Status::accepted)];
    return accepted + p < need_max;
}

bool final_given(const Tally& t, const Outcome& o, Quorum quorum, VoteMethod method) {
    if (t.pending == 0) return true;
    uint32_t need_max = quorum.need(t.answered + t.pending);
    switch (o.status) {
        case Status::valid:
        case Status::accepted:
            return false;  // a pending INVALID would veto it
        case Status::invalid:
        case Status::invalid_block_hash:
            return invalid_is_final(t, o, need_max, method);
        case Status::syncing:
            return syncing_is_final(t, need_max, method);
    }
    return false;
}

void fill_answer(VoteResult& r, const Tally& t, const Outcome& o, std::span<const VoteSlot> slots) {
    r.answer = PayloadStatus{};
    r.answer.status = o.status;
    r.reason = o.reason;
    if (o.group < 0) return;
    const Group& g = t.groups[o.group];
    r.agree = g.count;
    if (o.status == Status::accepted) return;  // latestValidHash and validationError: null
    int slot = g.error_slot >= 0 && o.status != Status::valid ? g.error_slot : g.first_slot;
    const PayloadStatus& src = slots[slot].answer;
    r.chosen_slot = static_cast<int8_t>(slot);
    r.answer.has_latest_valid_hash = src.has_latest_valid_hash;
    r.answer.latest_valid_hash = src.latest_valid_hash;
    if (o.status == Status::valid) {
        r.answer.inclusion_list_satisfied = src.inclusion_list_satisfied;
    } else {
        r.answer.validation_error_json = src.validation_error_json;
    }
}

}  // namespace

Result<Quorum> Quorum::from_fraction(double q) {
    if (!std::isfinite(q) || q <= 0.0 || q > 1.0)
        return failf(Errc::invalid_input, "vote threshold %g: must be in (0, 1]", q);
    auto ppm = static_cast<uint32_t>(std::llround(q * one_ppm));
    if (ppm == 0) return failf(Errc::invalid_input, "vote threshold %g: below 0.000001", q);
    return Quorum{ppm};
}

std::string_view vote_reason_name(VoteReason reason) {
    switch (reason) {
        case VoteReason::quorum_valid:
            return "quorum_valid";
        case VoteReason::quorum_invalid:
            return "quorum_invalid";
        case VoteReason::quorum_accepted:
            return "quorum_accepted";
        case VoteReason::invalid_minority:
            return "invalid_minority";
        case VoteReason::conflicting_quorums:
            return "conflicting_quorums";
        case VoteReason::no_quorum:
            return "no_quorum";
        case VoteReason::no_answers:
            return "no_answers";
    }
    return "no_quorum";
}

VoteResult vote(std::span<const VoteSlot> slots, Quorum quorum, VoteMethod method) {
    Tally t = tally(slots);
    uint32_t need = quorum.need(t.answered);
    Outcome o = decide(t, need, method);
    VoteResult r;
    fill_answer(r, t, o, slots);
    r.voters = static_cast<uint8_t>(slots.size());
    r.answered = t.answered;
    r.no_answer = t.no_answer;
    r.pending = t.pending;
    r.need = static_cast<uint8_t>(need);
    r.disagree = static_cast<uint8_t>(t.answered - r.agree);
    for (size_t i = 0; i < status_count; i++) r.per_status[i] = t.per_status[i];
    return r;
}

bool is_final(std::span<const VoteSlot> slots, Quorum quorum, VoteMethod method) {
    Tally t = tally(slots);
    Outcome o = decide(t, quorum.need(t.answered), method);
    return final_given(t, o, quorum, method);
}

}  // namespace em::engine
