// The vote: the truth table of issue 4, the rules one by one, and is_final() exhaustively
// against brute force (every assignment of the pending slots, up to 6 voters, 7 thresholds).
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "engine/vote.h"

namespace em::engine {
namespace {

// ---- building slots -------------------------------------------------------------------------

Hash32 hash_of(int label) {
    Hash32 h{};
    h[0] = static_cast<uint8_t>(label);
    h[31] = 0xaa;
    return h;
}

// Inverse of hash_of (-1 for "no hash").
int label_of(const PayloadStatus& s) {
    return s.has_latest_valid_hash ? s.latest_valid_hash[0] : -1;
}

VoteSlot answered(Status status, int label = -1, const char* error_json = "") {
    VoteSlot s;
    s.state = SlotState::answered;
    s.answer.status = status;
    if (label >= 0) {
        s.answer.has_latest_valid_hash = true;
        s.answer.latest_valid_hash = hash_of(label);
    }
    s.answer.validation_error_json = error_json;
    return s;
}
VoteSlot V(int label = 1) {
    return answered(Status::valid, label);
}
VoteSlot I(int label = 0, const char* error_json = "") {
    return answered(Status::invalid, label, error_json);
}
VoteSlot B(int label = -1) {
    return answered(Status::invalid_block_hash, label);
}
VoteSlot S() {
    return answered(Status::syncing);
}
VoteSlot A() {
    return answered(Status::accepted);
}
VoteSlot Dead() {
    VoteSlot s;
    s.state = SlotState::no_answer;
    return s;
}
VoteSlot Pending() {
    return VoteSlot{};
}

Quorum q(double fraction) {
    return *Quorum::from_fraction(fraction);
}
const Quorum default_quorum{};

Status run(std::vector<VoteSlot> slots, Quorum quorum = default_quorum,
           VoteMethod method = VoteMethod::new_payload) {
    return vote(slots, quorum, method).answer.status;
}

// ---- the truth table (3 voters, default threshold 0.6 unless noted) --------------------------

TEST(VoteTruthTable, DefaultThresholdIsExecutionbackups) {
    EXPECT_EQ(Quorum{}.ppm, 600'000u);
}

TEST(VoteTruthTable, ThreeVoters) {
    EXPECT_EQ(run({V(), V(), V()}), Status::valid);
    EXPECT_EQ(run({I(), I(), I()}), Status::invalid);
    EXPECT_EQ(run({V(), V(), S()}), Status::valid);
    EXPECT_EQ(run({V(), V(), I()}), Status::syncing);
    EXPECT_EQ(run({I(), I(), V()}), Status::invalid);
    EXPECT_EQ(run({I(), I(), S()}), Status::invalid);
    EXPECT_EQ(run({V(), S(), S()}), Status::syncing);
    EXPECT_EQ(run({Dead(), Dead(), Dead()}), Status::syncing);
}

TEST(VoteTruthTable, ValidSyncingSyncingAtEachThreshold) {
    // need = max(1, ceil(q * 3)): 0.3 -> 1, 0.34 -> 2, 0.5 -> 2, 0.67 -> 3, 1.0 -> 3.
    EXPECT_EQ(run({V(), S(), S()}, q(0.3)), Status::valid);
    EXPECT_EQ(run({V(), S(), S()}, q(0.34)), Status::syncing);
    EXPECT_EQ(run({V(), S(), S()}, q(0.5)), Status::syncing);
    EXPECT_EQ(run({V(), S(), S()}, q(0.67)), Status::syncing);
    EXPECT_EQ(run({V(), S(), S()}, q(1.0)), Status::syncing);
    EXPECT_EQ(run({V(), V(), S()}, q(0.67)), Status::syncing);
    EXPECT_EQ(run({V(), V(), V()}, q(1.0)), Status::valid);
}

TEST(VoteTruthTable, AllDeadAnswersSyncingWithNullHash) {
    auto r = vote(std::vector<VoteSlot>{Dead(), Dead(), Dead()}, default_quorum,
                  VoteMethod::new_payload);
    EXPECT_EQ(r.answer.status, Status::syncing);
    EXPECT_FALSE(r.answer.has_latest_valid_hash);
    EXPECT_EQ(r.reason, VoteReason::no_answers);
    EXPECT_EQ(r.chosen_slot, -1);
    EXPECT_EQ(r.no_answer, 3);
}

TEST(VoteTruthTable, ValidsWithDifferentLatestValidHash) {
    // Grouped by (status, latestValidHash): 2 of 3 agree -> VALID with their hash.
    auto r = vote(std::vector<VoteSlot>{V(1), V(2), V(1)}, default_quorum, VoteMethod::new_payload);
    EXPECT_EQ(r.answer.status, Status::valid);
    EXPECT_EQ(label_of(r.answer), 1);
    EXPECT_EQ(r.agree, 2);
    EXPECT_EQ(r.disagree, 1);
    // All different: no group reaches 2 -> SYNCING.
    EXPECT_EQ(run({V(1), V(2), V(3)}), Status::syncing);
    // Two VALID groups each reaching need (q = 0.3): conflicting quorums -> SYNCING.
    auto c = vote(std::vector<VoteSlot>{V(1), V(2), S()}, q(0.3), VoteMethod::new_payload);
    EXPECT_EQ(c.answer.status, Status::syncing);
    EXPECT_EQ(c.reason, VoteReason::conflicting_quorums);
}

TEST(VoteTruthTable, TwoOfThreeAnswered) {
    // need = ceil(0.6 * 2) = 2.
    EXPECT_EQ(run({V(), V(), Dead()}), Status::valid);
    EXPECT_EQ(run({V(), S(), Dead()}), Status::syncing);
    EXPECT_EQ(run({I(), I(), Dead()}), Status::invalid);
    EXPECT_EQ(run({V(), I(), Dead()}), Status::syncing);
    // need = ceil(0.6 * 1) = 1: the one that answered decides (executionbackup does the same).
    EXPECT_EQ(run({V(), Dead(), Dead()}), Status::valid);
    EXPECT_EQ(run({Pending(), V(), Pending()}), Status::valid);  // pending = not answered
}

TEST(VoteTruthTable, OneVoter) {
    EXPECT_EQ(run({V()}), Status::valid);
    EXPECT_EQ(run({I()}), Status::invalid);
    EXPECT_EQ(run({S()}), Status::syncing);
    EXPECT_EQ(run({Dead()}), Status::syncing);
    EXPECT_EQ(run({V()}, q(1.0)), Status::valid);
}

TEST(VoteTruthTable, FiveVoters) {
    // need = ceil(0.6 * 5) = 3.
    EXPECT_EQ(run({V(), V(), V(), S(), S()}), Status::valid);
    EXPECT_EQ(run({V(), V(), S(), S(), S()}), Status::syncing);
    EXPECT_EQ(run({V(), V(), V(), V(), I()}), Status::syncing);
    EXPECT_EQ(run({I(), I(), I(), V(), V()}), Status::invalid);
    EXPECT_EQ(run({I(), I(), V(), V(), S()}), Status::syncing);
    EXPECT_EQ(run({V(), V(), V(), Dead(), Dead()}), Status::valid);  // need = ceil(1.8) = 2
    EXPECT_EQ(run({V(), V(), V(), V(), S()}, q(1.0)), Status::syncing);
}

// ---- the rules one by one --------------------------------------------------------------------

TEST(VoteRules, NeedIsExactCeiling) {
    EXPECT_EQ(q(0.7).need(10), 7u);  // 0.7 * 10 in doubles is 7.000000000000001
    EXPECT_EQ(q(0.6).need(5), 3u);
    EXPECT_EQ(q(0.34).need(3), 2u);
    EXPECT_EQ(q(0.3).need(3), 1u);
    EXPECT_EQ(q(0.5).need(0), 1u);
    EXPECT_EQ(q(1.0).need(16), 16u);
    EXPECT_EQ(q(0.000001).need(16), 1u);
}

TEST(VoteRules, ThresholdOutOfRangeIsAnError) {
    for (double bad : {0.0, -0.1, 1.0000001, 2.0, 0.0000001}) {
        auto r = Quorum::from_fraction(bad);
        ASSERT_FALSE(r) << bad;
        EXPECT_EQ(r.error().code(), Errc::invalid_input);
    }
    EXPECT_FALSE(Quorum::from_fraction(std::numeric_limits<double>::quiet_NaN()));
}

TEST(VoteRules, InvalidKeepsOneValidationErrorFromTheQuorumGroup) {
    auto r = vote(std::vector<VoteSlot>{I(7), I(7, "\"bad state root\""), I(3, "\"other\"")},
                  default_quorum, VoteMethod::new_payload);
    EXPECT_EQ(r.answer.status, Status::invalid);
    EXPECT_EQ(label_of(r.answer), 7);
    EXPECT_EQ(r.answer.validation_error_json, "\"bad state root\"");
    EXPECT_EQ(r.chosen_slot, 1);
    EXPECT_EQ(r.reason, VoteReason::quorum_invalid);
}

TEST(VoteRules, InvalidBlockHashOnlyWhenTheQuorumSaidIt) {
    // newPayloadV1: INVALID and INVALID_BLOCK_HASH with the same hash are one group.
    EXPECT_EQ(run({B(), B(), S()}, default_quorum, VoteMethod::new_payload_v1),
              Status::invalid_block_hash);
    EXPECT_EQ(run({B(), I(-1), S()}, default_quorum, VoteMethod::new_payload_v1), Status::invalid);
    EXPECT_EQ(run({B(), B(), B()}, default_quorum, VoteMethod::new_payload), Status::invalid);
    // An INVALID_BLOCK_HASH minority vetoes VALID like INVALID does.
    EXPECT_EQ(run({V(), V(), B()}, default_quorum, VoteMethod::new_payload_v1), Status::syncing);
}

TEST(VoteRules, AcceptedCountsAsSyncingForValidButAnAcceptedQuorumAnswersAccepted) {
    EXPECT_EQ(run({V(), A(), A()}), Status::accepted);
    EXPECT_EQ(run({V(), V(), A()}), Status::valid);
    EXPECT_EQ(run({V(), A(), S()}), Status::syncing);
    EXPECT_EQ(run({A(), A(), I()}), Status::syncing);
    auto r = vote(std::vector<VoteSlot>{A(), A(), S()}, default_quorum, VoteMethod::new_payload);
    EXPECT_EQ(r.answer.status, Status::accepted);
    EXPECT_FALSE(r.answer.has_latest_valid_hash);
    EXPECT_EQ(r.agree, 2);
    // forkchoiceUpdated never answers ACCEPTED.
    EXPECT_EQ(run({A(), A(), A()}, default_quorum, VoteMethod::forkchoice_updated),
              Status::syncing);
}

TEST(VoteRules, ConflictingValidAndInvalidQuorumsAnswerSyncing) {
    auto r = vote(std::vector<VoteSlot>{V(), I()}, q(0.5), VoteMethod::new_payload);
    EXPECT_EQ(r.answer.status, Status::syncing);
    EXPECT_EQ(r.reason, VoteReason::conflicting_quorums);
}

TEST(VoteRules, InclusionListSatisfiedSplitsValidGroups) {
    VoteSlot yes = V(1), no = V(1);
    yes.answer.inclusion_list_satisfied = OptBool::yes;
    no.answer.inclusion_list_satisfied = OptBool::no;
    EXPECT_EQ(run({yes, yes, no}), Status::valid);
    EXPECT_EQ(vote(std::vector<VoteSlot>{yes, no, no}, default_quorum, VoteMethod::new_payload)
                  .answer.inclusion_list_satisfied,
              OptBool::no);
    EXPECT_EQ(run({yes, no, S()}), Status::syncing);
}

TEST(VoteRules, CountsForMetrics) {
    auto r = vote(std::vector<VoteSlot>{V(), V(), S(), Dead(), Pending(), I()}, default_quorum,
                  VoteMethod::new_payload);
    EXPECT_EQ(r.voters, 6);
    EXPECT_EQ(r.answered, 4);
    EXPECT_EQ(r.no_answer, 1);
    EXPECT_EQ(r.pending, 1);
    EXPECT_EQ(r.need, 3);
    EXPECT_EQ(r.per_status[static_cast<int>(Status::valid)], 2);
    EXPECT_EQ(r.per_status[static_cast<int>(Status::syncing)], 1);
    EXPECT_EQ(r.per_status[static_cast<int>(Status::invalid)], 1);
    EXPECT_EQ(r.answer.status, Status::syncing);
    EXPECT_EQ(r.agree, 0);
    EXPECT_EQ(r.disagree, 4);
    EXPECT_EQ(vote_reason_name(r.reason), "no_quorum");
}

TEST(VoteRules, IsFinalBasics) {
    // VALID can never be final while someone may still say INVALID.
    EXPECT_FALSE(is_final(std::vector<VoteSlot>{V(), V(), Pending()}, default_quorum,
                          VoteMethod::new_payload));
    EXPECT_TRUE(
        is_final(std::vector<VoteSlot>{V(), V(), Dead()}, default_quorum, VoteMethod::new_payload));
    // Two INVALIDs of three with default q: the third cannot change INVALID.
    EXPECT_TRUE(is_final(std::vector<VoteSlot>{I(), I(), Pending()}, default_quorum,
                         VoteMethod::new_payload));
    // Nothing answered yet: anything may happen.
    EXPECT_FALSE(is_final(std::vector<VoteSlot>{Pending(), Pending(), Pending()}, default_quorum,
                          VoteMethod::new_payload));
    // V, S answered, one pending, q = 1.0: need would be 3, V can never reach it, and the
    // pending one cannot make INVALID either -> SYNCING is final.
    EXPECT_TRUE(
        is_final(std::vector<VoteSlot>{V(), S(), Pending()}, q(1.0), VoteMethod::new_payload));
}

// ---- is_final() against brute force ---------------------------------------------------------
//
// Symbols: an answer kind with a hash label. Labels 1, 2 are "existing" hashes; 3, 4 are fresh
// ones only pending slots may use (two per class: enough to form two new groups of one class,
// which is all a conflict needs; a third new group can only act as a non-quorum sink, like
// SYNCING or no answer).
enum class Sym : uint8_t { pending, dead, s, a, v1, v2, v3, v4, i1, in, i3, i4, b1, bn, b3, b4 };

VoteSlot slot_of(Sym s) {
    switch (s) {
        case Sym::pending:
            return Pending();
        case Sym::dead:
            return Dead();
        case Sym::s:
            return S();
        case Sym::a:
            return A();
        case Sym::v1:
            return V(1);
        case Sym::v2:
            return V(2);
        case Sym::v3:
            return V(3);
        case Sym::v4:
            return V(4);
        case Sym::i1:
            return I(1);
        case Sym::in:
            return I(-1);
        case Sym::i3:
            return I(3);
        case Sym::i4:
            return I(4);
        case Sym::b1:
            return B(1);
        case Sym::bn:
            return B(-1);
        case Sym::b3:
            return B(3);
        case Sym::b4:
            return B(4);
    }
    return Dead();
}

// The rules, written again independently of vote.cpp (a map-free brute force).
struct RefOutcome {
    Status status;
    int label;  // reported latestValidHash label (-1 null)
    friend bool operator==(const RefOutcome&, const RefOutcome&) = default;
};

RefOutcome reference_vote(const std::vector<VoteSlot>& slots, uint32_t ppm, VoteMethod method) {
    std::vector<const PayloadStatus*> answers;
    for (const auto& s : slots)
        if (s.state == SlotState::answered) answers.push_back(&s.answer);
    uint64_t a = answers.size();
    uint32_t need = 1;
    while (uint64_t{need} * 1'000'000 < uint64_t{ppm} * a) need++;
    if (a == 0) return {Status::syncing, -1};
    bool any_invalid = false;
    int accepted = 0;
    for (auto* p : answers) {
        any_invalid |= is_invalid(p->status);
        accepted += p->status == Status::accepted;
    }
    // Candidate decisive groups: (valid?, label).
    int decisive = 0;
    RefOutcome winner{Status::syncing, -1};
    for (bool valid : {true, false}) {
        for (int label = -1; label <= 4; label++) {
            int count = 0, ibh = 0;
            for (auto* p : answers) {
                bool cls = valid ? p->status == Status::valid : is_invalid(p->status);
                if (cls && label_of(*p) == label) {
                    count++;
                    ibh += p->status == Status::invalid_block_hash;
                }
            }
            if (count < static_cast<int>(need)) continue;
            decisive++;
            if (valid) {
                winner = {any_invalid ? Status::syncing : Status::valid, any_invalid ? -1 : label};
            } else {
                bool say_ibh =
                    method == VoteMethod::new_payload_v1 && ibh >= static_cast<int>(need);
                winner = {say_ibh ? Status::invalid_block_hash : Status::invalid, label};
            }
        }
    }
    if (decisive > 1) return {Status::syncing, -1};
    if (decisive == 1) return winner;
    if (method != VoteMethod::forkchoice_updated && !any_invalid &&
        accepted >= static_cast<int>(need))
        return {Status::accepted, -1};
    return {Status::syncing, -1};
}

RefOutcome outcome_of(const VoteResult& r) {
    bool has_label = r.answer.status == Status::valid || is_invalid(r.answer.status);
    return {r.answer.status, has_label ? label_of(r.answer) : -1};
}

// Calls f(multiset) for every multiset of `size` symbols from `alphabet` (non-decreasing order).
template <typename F>
void for_each_multiset(const std::vector<Sym>& alphabet, size_t size, std::vector<Sym>& acc,
                       size_t from, F&& f) {
    if (acc.size() == size) {
        f(acc);
        return;
    }
    for (size_t k = from; k < alphabet.size(); k++) {
        acc.push_back(alphabet[k]);
        for_each_multiset(alphabet, size, acc, k, f);
        acc.pop_back();
    }
}

struct BruteStats {
    uint64_t configs = 0;
    uint64_t completions = 0;
    uint64_t final_true = 0;
};

void check_config(const std::vector<Sym>& config, const std::vector<Sym>& completion_alphabet,
                  uint32_t ppm, VoteMethod method, BruteStats& stats) {
    std::vector<VoteSlot> slots;
    size_t pending = 0;
    for (Sym s : config) {
        slots.push_back(slot_of(s));
        pending += s == Sym::pending;
    }
    Quorum quorum{ppm};
    VoteResult now = vote(slots, quorum, method);
    RefOutcome expected_now = reference_vote(slots, ppm, method);
    ASSERT_EQ(outcome_of(now), expected_now) << "vote() disagrees with the reference";
    bool all_same = true;
    std::vector<Sym> acc;
    for_each_multiset(completion_alphabet, pending, acc, 0, [&](const std::vector<Sym>& fill) {
        std::vector<VoteSlot> completed;
        size_t next = 0;
        for (Sym s : config)
            completed.push_back(s == Sym::pending ? slot_of(fill[next++]) : slot_of(s));
        stats.completions++;
        if (!(reference_vote(completed, ppm, method) == expected_now)) all_same = false;
    });
    stats.configs++;
    stats.final_true += all_same;
    bool got = is_final(slots, quorum, method);
    if (got != all_same) {
        std::string text;
        for (Sym s : config) text += std::to_string(static_cast<int>(s)) + " ";
        FAIL() << "is_final=" << got << " brute force=" << all_same << " ppm=" << ppm
               << " method=" << static_cast<int>(method) << " config=" << text;
    }
    EXPECT_EQ(vote(slots, quorum, method).pending, pending);
}

void brute_force(VoteMethod method) {
    std::vector<Sym> initial = {Sym::pending, Sym::dead, Sym::s,  Sym::a,  Sym::v1,
                                Sym::v2,      Sym::i1,   Sym::in, Sym::b1, Sym::bn};
    std::vector<Sym> completion = {Sym::dead, Sym::s,  Sym::a,  Sym::v1, Sym::v2,
                                   Sym::v3,   Sym::v4, Sym::i1, Sym::in, Sym::i3,
                                   Sym::i4,   Sym::b1, Sym::bn, Sym::b3, Sym::b4};
    if (method == VoteMethod::forkchoice_updated) {  // the parser never lets these through
        auto drop = [](std::vector<Sym>& v) {
            std::erase_if(v, [](Sym s) {
                return s == Sym::a || s == Sym::b1 || s == Sym::bn || s == Sym::b3 || s == Sym::b4;
            });
        };
        drop(initial);
        drop(completion);
    }
    BruteStats stats;
    for (double fraction : {0.3, 0.5, 0.51, 0.6, 0.67, 0.75, 1.0}) {
        uint32_t ppm = q(fraction).ppm;
        for (size_t n = 1; n <= 6; n++) {
            std::vector<Sym> acc;
            for_each_multiset(initial, n, acc, 0, [&](const std::vector<Sym>& config) {
                check_config(config, completion, ppm, method, stats);
            });
            if (::testing::Test::HasFatalFailure()) return;
        }
    }
    // The search really exercised both answers of is_final().
    EXPECT_GT(stats.final_true, 1000u);
    EXPECT_GT(stats.configs - stats.final_true, 1000u);
    ::testing::Test::RecordProperty("configs", std::to_string(stats.configs));
    ::testing::Test::RecordProperty("completions", std::to_string(stats.completions));
}

TEST(VoteIsFinal, MatchesBruteForceNewPayload) {
    brute_force(VoteMethod::new_payload);
}
TEST(VoteIsFinal, MatchesBruteForceNewPayloadV1) {
    brute_force(VoteMethod::new_payload_v1);
}
TEST(VoteIsFinal, MatchesBruteForceForkchoiceUpdated) {
    brute_force(VoteMethod::forkchoice_updated);
}

}  // namespace
}  // namespace em::engine
