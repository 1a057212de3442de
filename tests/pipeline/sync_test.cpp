// The sync role's policy (pipeline/sync_policy.h) transition by transition: the best client
// (strictly higher timestamps, staleness, timestamps from the future), forkchoiceUpdated from
// the best only, one call per block (running copies join, final answers are reused within the
// window, SYNCING never is); then the same policy as the core's gate (pipeline/core.h), with
// real newPayload requests and a fake shell: copies from three clients are one call per node
// and every client is answered under its own id.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "commands/payload_example.h"
#include "fixture.h"
#include "pipeline/core.h"
#include "pipeline/sync_policy.h"

namespace em::pipeline::test {
namespace {

constexpr uint64_t ms = 1'000'000;
constexpr int64_t wall = 1'800'000'000;  // the wall clock the tests run at (s)

SyncPolicyConfig sync_config() {
    SyncPolicyConfig c;
    c.mux = MuxPolicyConfig{engine::Quorum{}, true, 0};
    c.best_stale_ms = 1000;
    c.future_slack_s = 60;
    c.dedup_window_ms = 500;
    return c;
}

engine::Hash32 hash_of(uint8_t b) {
    engine::Hash32 h;
    h.fill(b);
    return h;
}

struct SyncPolicyTest : ::testing::Test {
    SyncBoard board;
    SyncPolicy policy{sync_config(), &board};

    CallFacts facts(uint32_t client, const char* method_name) {
        CallFacts f;
        f.origin = Origin{client, wall};
        f.method = engine::find_method(method_name);
        f.method_slot = f.method ? f.method->index : method_slot_other;
        f.vote = f.method && (f.method->kind == engine::MethodKind::new_payload ||
                              f.method->kind == engine::MethodKind::forkchoice_updated);
        return f;
    }
    CallFacts payload(uint32_t client, uint64_t timestamp, uint8_t hash = 1,
                      const char* method_name = "engine_newPayloadV3") {
        CallFacts f = facts(client, method_name);
        f.has_timestamp = true;
        f.timestamp = timestamp;
        f.has_block_hash = true;
        f.block_hash = hash_of(hash);
        return f;
    }
    CallFacts forkchoice(uint32_t client, uint8_t head = 9) {
        CallFacts f = facts(client, "engine_forkchoiceUpdatedV3");
        f.has_head = true;
        f.head = hash_of(head);
        return f;
    }
};

TEST_F(SyncPolicyTest, TheBestHasTheHighestTimestampAndChangesOnlyForAStrictlyHigherOne) {
    uint32_t a = policy.client("cl-a", "10.0.0.1", 0), b = policy.client("cl-b", "10.0.0.2", 0);
    EXPECT_EQ(policy.best(), -1);  // nobody has a timestamp yet
    policy.admit(payload(a, 100, 1), 1 * ms);
    EXPECT_EQ(policy.best(), static_cast<int>(a));
    policy.admit(payload(b, 100, 1), 2 * ms);
    EXPECT_EQ(policy.best(), static_cast<int>(a)) << "an equal timestamp does not switch";
    policy.admit(payload(b, 101, 2), 3 * ms);
    EXPECT_EQ(policy.best(), static_cast<int>(b));
    EXPECT_EQ(board.best(), static_cast<int>(b));
    policy.admit(payload(a, 90, 3), 4 * ms);  // an older block does not lower a's highest
    EXPECT_EQ(policy.client_record(a).timestamp, 100u);
    EXPECT_EQ(policy.best(), static_cast<int>(b));
}

TEST_F(SyncPolicyTest, AQuietBestIsReplacedByTheFreshestClientThatCalledLately) {
    uint32_t a = policy.client("a", "x", 0), b = policy.client("b", "y", 0),
             c = policy.client("c", "z", 0);
    policy.admit(payload(a, 200), 0);
    policy.admit(payload(b, 150), 0);
    policy.admit(payload(c, 120), 0);
    ASSERT_EQ(policy.best(), static_cast<int>(a));
    policy.admit(facts(b, "eth_blockNumber"), 900 * ms);  // b is alive, a is not
    EXPECT_EQ(policy.best(), static_cast<int>(a)) << "a is quiet for 900 ms, under 1000";
    policy.admit(payload(c, 121), 1500 * ms);
    EXPECT_EQ(policy.best(), static_cast<int>(b)) << "a quiet 1.5 s; b (150) beats c (121)";
    policy.admit(payload(c, 122), 2000 * ms);
    EXPECT_EQ(policy.best(), static_cast<int>(c)) << "b quiet 1.1 s now";
}

TEST_F(SyncPolicyTest, ATimestampFromTheFutureIsNotBelievedAndNoticedOncePerEpisode) {
    uint32_t a = policy.client("a", "x", 0), f = policy.client("ahead", "y", 0);
    policy.admit(payload(a, wall - 12), 0);
    GateDecision d = policy.admit(payload(f, wall + 61), 1 * ms);
    EXPECT_NE(d.notice.find("future"), std::string_view::npos) << d.notice;
    EXPECT_NE(d.notice.find("ahead"), std::string_view::npos) << d.notice;
    EXPECT_EQ(policy.best(), static_cast<int>(a));
    EXPECT_TRUE(policy.client_record(f).future);
    EXPECT_FALSE(policy.client_record(f).has_timestamp);
    EXPECT_EQ(policy.admit(payload(f, wall + 3600), 2 * ms).notice, "") << "once per episode";
    // Its forkchoiceUpdated is not followed.
    EXPECT_EQ(policy.admit(forkchoice(f), 3 * ms).verdict, GateDecision::Verdict::answer);
    // A sane timestamp ends the episode: within the slack it counts, and beats a's.
    policy.admit(payload(f, wall + 60), 4 * ms);
    EXPECT_FALSE(policy.client_record(f).future);
    EXPECT_EQ(policy.best(), static_cast<int>(f));
    EXPECT_NE(policy.admit(payload(f, wall + 100), 5 * ms).notice, "") << "a new episode";
    EXPECT_EQ(policy.best(), static_cast<int>(a)) << "a client in the future is never best";
}

TEST_F(SyncPolicyTest, ForkchoiceUpdatedFromTheBestRunsAndEveryoneElseIsToldSyncing) {
    uint32_t a = policy.client("a", "x", 0), b = policy.client("b", "y", 0);
    policy.admit(payload(a, 100), 0);
    policy.admit(payload(b, 99), 0);
    EXPECT_EQ(policy.admit(forkchoice(a), 1 * ms).verdict, GateDecision::Verdict::run);
    GateDecision d = policy.admit(forkchoice(b, 7), 2 * ms);
    ASSERT_EQ(d.verdict, GateDecision::Verdict::answer);
    EXPECT_EQ(
        d.result,
        R"({"payloadStatus":{"status":"SYNCING","latestValidHash":null,"validationError":null},"payloadId":null})");
    EXPECT_TRUE(policy.client_record(b).has_head);
    EXPECT_EQ(policy.client_record(b).head, hash_of(7));
    EXPECT_EQ(
        policy.client_record(b).calls[engine::find_method("engine_forkchoiceUpdatedV3")->index],
        1u);
}

TEST_F(SyncPolicyTest, ACopyOfARunningBlockJoinsItsCallAndAFinalAnswerIsReusedInTheWindow) {
    uint32_t a = policy.client("a", "x", 0), b = policy.client("b", "y", 0),
             c = policy.client("c", "z", 0);
    CallFacts first = payload(a, 100, 5);
    ASSERT_EQ(policy.admit(first, 0).verdict, GateDecision::Verdict::run);
    policy.started(first, 7, 0);
    GateDecision joined = policy.admit(payload(b, 100, 5), 1 * ms);
    EXPECT_EQ(joined.verdict, GateDecision::Verdict::join);
    EXPECT_EQ(joined.call, 7u);
    // Another version of the same hash is another call.
    EXPECT_EQ(policy.admit(payload(c, 100, 5, "engine_newPayloadV4"), 1 * ms).verdict,
              GateDecision::Verdict::run);
    engine::Status valid = engine::Status::valid;
    policy.answered(7, &valid, R"({"status":"VALID"})", 10 * ms);
    GateDecision cached = policy.admit(payload(c, 100, 5), 20 * ms);
    ASSERT_EQ(cached.verdict, GateDecision::Verdict::answer);
    EXPECT_EQ(cached.result, R"({"status":"VALID"})");
    EXPECT_EQ(policy.admit(payload(c, 100, 5), 511 * ms).verdict, GateDecision::Verdict::run)
        << "the window (500 ms) is over";
}

TEST_F(SyncPolicyTest, SyncingAcceptedAndErrorsAreNeverReused) {
    uint32_t a = policy.client("a", "x", 0);
    engine::Status syncing = engine::Status::syncing, accepted = engine::Status::accepted;
    const engine::Status* answers[] = {&syncing, &accepted, nullptr};
    uint32_t call = 1;
    for (const engine::Status* told : answers) {
        CallFacts f = payload(a, 100, 6);
        ASSERT_EQ(policy.admit(f, 0).verdict, GateDecision::Verdict::run);
        policy.started(f, call, 0);
        policy.answered(call++, told, told ? R"({"status":"SYNCING"})" : "", 1 * ms);
        EXPECT_EQ(policy.admit(f, 2 * ms).verdict, GateDecision::Verdict::run);
        policy.answered(call - 1, nullptr, "", 2 * ms);  // nothing runs under that call now
    }
}

TEST_F(SyncPolicyTest, APayloadWithoutATrustedHashIsNeverShared) {
    uint32_t a = policy.client("a", "x", 0);
    CallFacts f = payload(a, 100, 8);
    f.has_block_hash = false;  // it did not match its hash
    EXPECT_EQ(policy.admit(f, 0).verdict, GateDecision::Verdict::run);
    policy.started(f, 3, 0);
    EXPECT_EQ(policy.admit(f, 1 * ms).verdict, GateDecision::Verdict::run);
}

TEST_F(SyncPolicyTest, ClientsAreBoundedAndTheOneQuietLongestGivesWay) {
    std::vector<uint32_t> slots;
    for (size_t i = 0; i < sync_clients_max; i++) {
        std::string name = "cl" + std::to_string(i);
        slots.push_back(policy.client(name, "a", i * ms));
        policy.admit(payload(slots.back(), 100 + i), i * ms);
    }
    int best = policy.best();
    EXPECT_EQ(policy.client("cl5", "b", 100 * ms), slots[5]) << "known names keep their slot";
    uint32_t fresh = policy.client("newcomer", "c", 200 * ms);
    EXPECT_EQ(fresh, slots[0]) << "cl0 is the one quiet longest";
    EXPECT_EQ(policy.client_record(fresh).name_view(), "newcomer");
    EXPECT_EQ(policy.best(), best);
    SyncClientRecord seen;
    ASSERT_TRUE(board.read(fresh, seen));
    EXPECT_EQ(seen.name_view(), "newcomer");
    EXPECT_EQ(seen.address_view(), "c");
}

TEST_F(SyncPolicyTest, NamesAreSanitisedForLogsLabelsAndJson) {
    uint32_t a = policy.client("bad\"name\n", "::1", 0);
    EXPECT_EQ(policy.client_record(a).name_view(), "bad_name_");
    EXPECT_EQ(policy.client_record(a).address_view(), "__1");
}

// ---------------------------------------------------------------------------------------------
// The policy as the core's gate

struct FakeShell final : Shell {
    struct Sent {
        uint64_t call;
        size_t node;
        std::string body;
    };
    std::vector<Sent> sent;
    std::vector<std::pair<uint64_t, std::string>> answers;
    uint64_t t = 1;
    void send(uint64_t call, size_t node, std::string_view body, bool, uint64_t) override {
        sent.push_back({call, node, std::string(body)});
    }
    void flush() override {}
    void answer(uint64_t client, int, std::string_view body) override {
        answers.emplace_back(client, std::string(body));
    }
    bool client_waiting(uint64_t) const override { return true; }
    void node_failed(size_t, const Error&) override {}
    uint64_t now_ns() const override { return t; }
};

std::string example_payload(uint64_t id, uint64_t seed) {
    commands::ExampleOptions o;
    o.version = 3;
    o.txs = 3;
    o.seed = seed;
    o.first_number = 1000 + seed;
    ByteBuffer out(1u << 20);
    EXPECT_TRUE(commands::write_payload_examples(o, out));
    std::string text(out.view());
    // The request's id is 1: give each copy its own.
    size_t at = text.find("\"id\":1,");
    EXPECT_NE(at, std::string::npos);
    text.replace(at, 7, "\"id\":" + std::to_string(id) + ",");
    return text;
}

struct GatedCore : ::testing::Test {
    ShardMetrics metrics;
    FakeNodes nodes;
    SyncPolicy policy{sync_config(), &metrics.sync};
    FakeShell shell;
    std::unique_ptr<PipelineCore> core;
    ReplyStore store;

    void SetUp() override {
        for (size_t i = 0; i < 3; i++) nodes.set(i, true);
        CoreConfig c;
        c.body_bytes_max = 1u << 20;
        core = std::make_unique<PipelineCore>(c, policy, nodes, shell, metrics);
        core->set_gate(&policy);
    }
    void request(uint64_t client, uint32_t origin, std::string body) {
        body.reserve(body.size() + 64);
        core->on_request(client, body.data(), body.size(), body.capacity(), shell.t, shell.t,
                         Origin{origin, wall});
    }
    std::string forkchoice(int id, uint64_t timestamp) {
        return R"({"jsonrpc":"2.0","id":)" + std::to_string(id) +
               R"(,"method":"engine_forkchoiceUpdatedV3","params":[{"headBlockHash":"0x)" +
               std::string(64, '2') + R"(","safeBlockHash":"0x)" + std::string(64, '2') +
               R"(","finalizedBlockHash":"0x)" + std::string(64, '2') + R"("},{"timestamp":")" +
               "0x" +
               [&] {
                   char hex[20];
                   std::snprintf(hex, sizeof hex, "%llx",
                                 static_cast<unsigned long long>(timestamp));
                   return std::string(hex);
               }() +
               R"(","prevRandao":"0x)" + std::string(64, '0') + R"(","suggestedFeeRecipient":"0x)" +
               std::string(40, '0') + R"(","withdrawals":[],"parentBeaconBlockRoot":"0x)" +
               std::string(64, '0') + R"("}]})";
    }
};

TEST_F(GatedCore, ThreeCopiesOfABlockAreOneCallPerNodeAndEachClientHearsItUnderItsOwnId) {
    uint32_t a = policy.client("a", "x", 0), b = policy.client("b", "y", 0),
             c = policy.client("c", "z", 0);
    request(1, a, example_payload(11, 7));
    request(2, b, example_payload(12, 7));
    request(3, c, example_payload(13, 7));
    ASSERT_EQ(shell.sent.size(), 3u) << "one call per node for three copies";
    EXPECT_TRUE(shell.answers.empty());
    for (size_t i = 0; i < 3; i++) {
        NodeReply r = store.answer(i, status_result("11", "VALID", hash_a()));
        core->on_reply(shell.sent[i].call, r, shell.t);
    }
    ASSERT_EQ(shell.answers.size(), 3u);
    for (size_t k = 0; k < 3; k++) {
        EXPECT_EQ(shell.answers[k].first, k + 1);
        EXPECT_NE(shell.answers[k].second.find("\"id\":1" + std::to_string(k + 1) + ","),
                  std::string::npos)
            << shell.answers[k].second;
        EXPECT_NE(shell.answers[k].second.find("\"status\":\"VALID\""), std::string::npos);
    }
    // A fourth copy within the window is answered from the final answer: nothing is sent.
    request(4, a, example_payload(14, 7));
    EXPECT_EQ(shell.sent.size(), 3u);
    ASSERT_EQ(shell.answers.size(), 4u);
    EXPECT_NE(shell.answers[3].second.find("\"id\":14,"), std::string::npos);
    EXPECT_NE(shell.answers[3].second.find("VALID"), std::string::npos);
    EXPECT_EQ(core->busy(), 0u);
}

TEST_F(GatedCore, ASyncingAnswerGoesToEveryWaiterButTheNextCopyIsSentAgain) {
    uint32_t a = policy.client("a", "x", 0), b = policy.client("b", "y", 0);
    request(1, a, example_payload(1, 9));
    request(2, b, example_payload(2, 9));
    ASSERT_EQ(shell.sent.size(), 3u);
    for (size_t i = 0; i < 3; i++)
        core->on_reply(shell.sent[i].call, store.answer(i, status_result("1", "SYNCING")), 1);
    ASSERT_EQ(shell.answers.size(), 2u);
    EXPECT_NE(shell.answers[1].second.find("\"id\":2,"), std::string::npos);
    EXPECT_NE(shell.answers[1].second.find("SYNCING"), std::string::npos);
    request(3, b, example_payload(3, 9));
    EXPECT_EQ(shell.sent.size(), 6u) << "SYNCING is not reused";
}

TEST_F(GatedCore, AnErrorRelayedFromTheNodesReachesEveryWaiterAndIsNotReused) {
    uint32_t a = policy.client("a", "x", 0), b = policy.client("b", "y", 0);
    request(1, a, example_payload(1, 11));
    request(2, b, example_payload(2, 11));
    ASSERT_EQ(shell.sent.size(), 3u);
    const std::string error =
        R"({"jsonrpc":"2.0","id":1,"error":{"code":-38005,"message":"Unsupported fork"}})";
    for (size_t i = 0; i < 3; i++) core->on_reply(shell.sent[i].call, store.answer(i, error), 1);
    ASSERT_EQ(shell.answers.size(), 2u);
    EXPECT_EQ(shell.answers[0].second, error);
    EXPECT_EQ(shell.answers[1].second,
              R"({"jsonrpc":"2.0","id":2,"error":{"code":-38005,"message":"Unsupported fork"}})");
    request(3, b, example_payload(3, 11));
    EXPECT_EQ(shell.sent.size(), 6u) << "an error is never reused";
}

TEST_F(GatedCore, ACopyInsideABatchJoinsAndTheBatchIsAnsweredWithIt) {
    uint32_t a = policy.client("a", "x", 0), b = policy.client("b", "y", 0);
    request(1, a, example_payload(1, 12));
    request(2, b, "[" + example_payload(7, 12) + "]");
    ASSERT_EQ(shell.sent.size(), 3u) << "the batch's element joined the running call";
    for (size_t i = 0; i < 3; i++) {
        core->on_reply(shell.sent[i].call, store.answer(i, status_result("1", "INVALID", hash_a())),
                       1);
    }
    ASSERT_EQ(shell.answers.size(), 2u);
    EXPECT_EQ(shell.answers[1].first, 2u);
    EXPECT_EQ(shell.answers[1].second.front(), '[') << shell.answers[1].second;
    EXPECT_NE(shell.answers[1].second.find("\"id\":7,"), std::string::npos);
    EXPECT_NE(shell.answers[1].second.find("INVALID"), std::string::npos);
    EXPECT_EQ(core->busy(), 0u);
    // INVALID is final: reused for the next copy within the window.
    request(3, a, example_payload(8, 12));
    EXPECT_EQ(shell.sent.size(), 3u);
    ASSERT_EQ(shell.answers.size(), 3u);
    EXPECT_NE(shell.answers[2].second.find("INVALID"), std::string::npos);
}

TEST_F(GatedCore, ATamperedCopyIsNeverAnsweredFromAnotherClientsCall) {
    uint32_t a = policy.client("a", "x", 0), b = policy.client("b", "y", 0);
    request(1, a, example_payload(1, 5));
    std::string tampered = example_payload(2, 5);
    size_t at = tampered.find("\"gasUsed\":\"0x");
    ASSERT_NE(at, std::string::npos);
    tampered[at + 13] = tampered[at + 13] == '1' ? '2' : '1';
    request(2, b, tampered);
    EXPECT_EQ(shell.sent.size(), 6u) << "its own call (the ELs still see it, as in the mux)";
    ASSERT_EQ(shell.answers.size(), 1u);
    EXPECT_NE(shell.answers[0].second.find("\"id\":2,"), std::string::npos);
    EXPECT_NE(shell.answers[0].second.find("INVALID"), std::string::npos)
        << shell.answers[0].second;
}

TEST_F(GatedCore, OnlyTheBestClientsForkchoiceUpdatedReachesTheNodes) {
    uint32_t a = policy.client("a", "x", 0), b = policy.client("b", "y", 0);
    request(1, a, forkchoice(1, wall - 10));
    ASSERT_EQ(policy.best(), static_cast<int>(a));
    EXPECT_EQ(shell.sent.size(), 3u);
    request(2, b, forkchoice(2, wall - 20));
    EXPECT_EQ(shell.sent.size(), 3u) << "b lags: not forwarded";
    ASSERT_EQ(shell.answers.size(), 1u);
    EXPECT_EQ(
        shell.answers[0].second,
        R"({"jsonrpc":"2.0","id":2,"result":{"payloadStatus":{"status":"SYNCING","latestValidHash":null,"validationError":null},"payloadId":null}})");
    EXPECT_EQ(metrics.sync.best(), static_cast<int>(a));
}

}  // namespace
}  // namespace em::pipeline::test
