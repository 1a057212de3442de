// The builder role's call (pipeline/builder_call.h) through the real core and BuilderPolicy,
// without sockets: node 0 is the local EL, nodes 1 and 2 builders. Builder blocks are the mock
// EL's synthetic payloads (their hashes are right; a changed digit makes them wrong), so the
// hash check, the validation on the local EL and select_block all run for real.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "fixture.h"
#include "mockel/payloads.h"
#include "pipeline/builder_policy.h"
#include "pipeline/builder_shared.h"
#include "pipeline/core.h"

namespace em::pipeline::test {
namespace {

struct Shell final : pipeline::Shell {
    struct Sent {
        uint64_t call;
        size_t node;
        std::string body;
        bool ordered;
        uint64_t deadline_ns;
    };
    std::vector<Sent> sent;
    std::vector<std::string> answers;
    uint64_t t = 1'000'000'000;
    void send(uint64_t call, size_t node, std::string_view body, bool ordered,
              uint64_t deadline_ns) override {
        sent.push_back({call, node, std::string(body), ordered, deadline_ns});
    }
    void flush() override {}
    void answer(uint64_t, int, std::string_view body) override { answers.emplace_back(body); }
    bool client_waiting(uint64_t) const override { return true; }
    std::vector<size_t> failed;  ///< node_failed reports
    void node_failed(size_t node, const Error&) override { failed.push_back(node); }
    uint64_t now_ns() const override { return t; }
};

std::string zeros(size_t n) {
    return std::string(n, '0');
}

/// mockel::synthetic_payload's blocks are children of this parent at this time.
const std::string mock_parent = "0x6d6f636b" + std::string(56, '0');

std::string forkchoice(int id, bool attributes, bool no_tx_pool = false,
                       const std::string& head = mock_parent) {
    std::string h = "\"" + head + "\"";
    std::string s = R"({"jsonrpc":"2.0","id":)" + std::to_string(id) +
                    R"(,"method":"engine_forkchoiceUpdatedV3","params":[{"headBlockHash":)" + h +
                    R"(,"safeBlockHash":)" + h + R"(,"finalizedBlockHash":)" + h + "},";
    if (!attributes) return s + "null]}";
    return s + R"({"timestamp":"0x6553f100","prevRandao":"0x)" + zeros(64) +
           R"(","suggestedFeeRecipient":"0x)" + zeros(40) +
           R"(","withdrawals":[],"parentBeaconBlockRoot":"0x)" + zeros(64) +
           R"(","transactions":[],"noTxPool":)" + (no_tx_pool ? "true" : "false") +
           R"(,"gasLimit":"0x1c9c380"}]})";
}

std::string fcu_answer(int id, const char* payload_id) {
    std::string pid = payload_id ? std::string("\"") + payload_id + "\"" : "null";
    return R"({"jsonrpc":"2.0","id":)" + std::to_string(id) +
           R"(,"result":{"payloadStatus":{"status":"VALID","latestValidHash":"0x)" +
           std::string(64, '2') + R"(","validationError":null},"payloadId":)" + pid + "}}";
}

std::string get_payload(int id, const char* payload_id) {
    return R"({"jsonrpc":"2.0","id":)" + std::to_string(id) +
           R"(,"method":"engine_getPayloadV3","params":[")" + payload_id + "\"]}";
}

/// A getPayloadV3 answer with the synthetic block claiming `gas` (bad: its hash made wrong).
std::string built(int id, uint64_t gas, bool bad = false) {
    auto payload = mockel::synthetic_payload(3, 101, gas);
    EXPECT_TRUE(payload.has_value());
    std::string p = *payload;
    if (bad) {
        size_t at = p.find("\"blockHash\":\"0x") + 15;
        p[at] = p[at] == '0' ? '1' : '0';
    }
    return R"({"jsonrpc":"2.0","id":)" + std::to_string(id) + R"(,"result":{"executionPayload":)" +
           p +
           R"(,"blockValue":"0x1","blobsBundle":{"commitments":[],"proofs":[],"blobs":[]},)"
           R"("shouldOverrideBuilder":false}})";
}

/// The blockHash of a getPayload answer or result text.
std::string block_hash(const std::string& text) {
    size_t at = text.find("\"blockHash\":\"");
    return at == std::string::npos ? "" : text.substr(at + 13, 66);
}

size_t fallbacks(const ShardMetrics& m, engine::Fallback f) {
    return m.builder.fallbacks[static_cast<size_t>(f)].load();
}

struct BuilderCore : ::testing::Test {
    ShardMetrics metrics;
    FakeNodes nodes;
    BuilderSettings settings;
    std::unique_ptr<BuilderShared> shared;
    std::unique_ptr<BuilderPolicy> policy;
    Shell shell;
    std::unique_ptr<PipelineCore> core;
    ReplyStore store;

    void SetUp() override { make(); }
    void make(engine::ExecutionMode mode = engine::ExecutionMode::enabled) {
        for (size_t i = 0; i < 3; i++) nodes.set(i, i == 0);
        settings.local = 0;
        BuilderSharedConfig sc;
        sc.mode = mode;
        sc.breaker = {3, 60'000, 30'000};
        shared = std::make_unique<BuilderShared>(sc);
        settings.shared = shared.get();
        settings.get_payload_deadline_ms = 500;
        policy = std::make_unique<BuilderPolicy>(settings, 1000);
        CoreConfig c;
        c.body_bytes_max = 1u << 20;
        core = std::make_unique<PipelineCore>(c, *policy, nodes, shell, metrics);
    }
    void request(std::string body) {
        body.reserve(body.size() + 64);
        core->on_request(7, body.data(), body.size(), body.capacity(), shell.t, shell.t);
    }
    void reply(size_t k, std::string body) {
        core->on_reply(shell.sent[k].call, store.answer(shell.sent[k].node, std::move(body)),
                       shell.t);
    }
    void fail(size_t k, Errc code, const char* text) {
        core->on_reply(shell.sent[k].call, store.failure(shell.sent[k].node, code, text), shell.t);
    }
    /// The sends since `from` to node n.
    std::vector<size_t> sends_to(size_t n, size_t from = 0) const {
        std::vector<size_t> out;
        for (size_t k = from; k < shell.sent.size(); k++)
            if (shell.sent[k].node == n) out.push_back(k);
        return out;
    }
    /// fcU with attributes (on `head`) answered by everyone: local id L, builders B1, B2.
    void fork(const std::string& head = mock_parent) {
        request(forkchoice(1, true, false, head));
        ASSERT_EQ(shell.sent.size(), 3u);
        reply(0, fcu_answer(1, "0x00000000000000aa"));
        reply(1, fcu_answer(1, "0x00000000000000b1"));
        reply(2, fcu_answer(1, "0x00000000000000b2"));
        ASSERT_EQ(core->busy(), 0u);
        shell.sent.clear();
        shell.answers.clear();
    }
    /// A fork, then getPayload: the local block (1000 gas), b1's (5000 gas), b2 failed; b1's
    /// block goes to the local EL for validation, answered `status`. Returns the local block.
    std::string local_block_after_validation(const char* status) {
        fork();
        request(get_payload(2, "0x00000000000000aa"));
        std::string local = built(2, 1000);
        reply(0, local);
        reply(1, built(2, 5000));
        fail(2, Errc::io, "reset");
        std::vector<size_t> validations = sends_to(0, 3);
        EXPECT_EQ(validations.size(), 1u);
        if (validations.size() == 1) reply(validations[0], status_result("1", status, hash_a()));
        return local;
    }
};

TEST_F(BuilderCore, AForkGoesToEveryoneAndTheLocalAnswerReturnsAtOnce) {
    request(forkchoice(1, true));
    ASSERT_EQ(shell.sent.size(), 3u);
    for (const auto& s : shell.sent) EXPECT_TRUE(s.ordered) << "fcU keeps the lanes' order";
    reply(0, fcu_answer(1, "0x00000000000000aa"));
    ASSERT_EQ(shell.answers.size(), 1u) << "op-node is not held for the builders";
    EXPECT_NE(shell.answers[0].find("0x00000000000000aa"), std::string::npos);
    EXPECT_EQ(core->busy(), 1u) << "the call waits for the builders' replies before reuse";
    reply(1, fcu_answer(1, "0x00000000000000b1"));
    reply(2, fcu_answer(1, "0x00000000000000b2"));
    EXPECT_EQ(core->busy(), 0u);
    EXPECT_EQ(metrics.builder.ids_attached.load(), 2u);
    // getPayload(L): each builder is asked with its own id.
    shell.sent.clear();
    request(get_payload(2, "0x00000000000000aa"));
    ASSERT_EQ(shell.sent.size(), 3u);
    EXPECT_NE(shell.sent[0].body.find("0x00000000000000aa"), std::string::npos);
    EXPECT_NE(shell.sent[1].body.find("0x00000000000000b1"), std::string::npos);
    EXPECT_NE(shell.sent[2].body.find("0x00000000000000b2"), std::string::npos);
    EXPECT_LE(shell.sent[1].deadline_ns, shell.t + 500'000'000ull);
}

TEST_F(BuilderCore, ABuilderIdThatCameBeforeTheLocalOneIsAdopted) {
    request(forkchoice(1, true));
    reply(1, fcu_answer(1, "0x00000000000000b1"));
    EXPECT_TRUE(shell.answers.empty()) << "a builder's answer never reaches op-node";
    reply(0, fcu_answer(1, "0x00000000000000aa"));
    ASSERT_EQ(shell.answers.size(), 1u);
    fail(2, Errc::timeout, "deadline");
    shell.sent.clear();
    request(get_payload(2, "0x00000000000000aa"));
    ASSERT_EQ(shell.sent.size(), 2u) << "the local EL and the one builder that gave an id";
    EXPECT_EQ(shell.sent[1].node, 1u);
    EXPECT_NE(shell.sent[1].body.find("0x00000000000000b1"), std::string::npos);
}

TEST_F(BuilderCore, AValidBuilderBlockWithMoreGasIsAnsweredAfterTheLocalElSaysValid) {
    fork();
    request(get_payload(2, "0x00000000000000aa"));
    ASSERT_EQ(shell.sent.size(), 3u);
    std::string local = built(2, 1000), b1 = built(2, 5000), b2 = built(2, 3000);
    reply(0, local);
    reply(1, b1);
    reply(2, b2);
    EXPECT_TRUE(shell.answers.empty()) << "not before the builder blocks are validated";
    std::vector<size_t> validations = sends_to(0, 3);
    ASSERT_EQ(validations.size(), 2u) << "each builder block goes to the local EL";
    for (size_t k : validations) {
        EXPECT_NE(shell.sent[k].body.find("engine_newPayloadV3"), std::string::npos);
        EXPECT_TRUE(shell.sent[k].ordered);
        EXPECT_LE(shell.sent[k].deadline_ns, shell.t + 500'000'000ull);
    }
    for (size_t k : validations) reply(k, status_result("1", "VALID", hash_a()));
    ASSERT_EQ(shell.answers.size(), 1u);
    EXPECT_EQ(block_hash(shell.answers[0]), block_hash(b1)) << shell.answers[0];
    EXPECT_NE(shell.answers[0].find("\"id\":2"), std::string::npos);
    EXPECT_EQ(metrics.builder.blocks[1].load(), 1u);
    EXPECT_EQ(metrics.builder.blocks[0].load(), 0u);
    EXPECT_EQ(core->busy(), 0u);
}

// The local EL would call a valid block on another parent it knows VALID: a builder block that
// is not the child of the fork's head (or not at its timestamp) is never validated or used.
TEST_F(BuilderCore, ABlockOnAnotherParentIsNeverValidatedAndTheLocalBlockWins) {
    fork("0x" + std::string(64, '2'));  // the builders' blocks are the mock parent's children
    request(get_payload(2, "0x00000000000000aa"));
    std::string local = built(2, 1000);
    reply(0, local);
    reply(1, built(2, 5000));
    reply(2, built(2, 3000));
    EXPECT_TRUE(sends_to(0, 3).empty()) << "no block on another parent goes to the local EL";
    ASSERT_EQ(shell.answers.size(), 1u);
    EXPECT_EQ(block_hash(shell.answers[0]), block_hash(local));
    EXPECT_EQ(
        metrics.builder.rejected[1][static_cast<size_t>(engine::Fallback::wrong_parent)].load(),
        1u);
    EXPECT_EQ(
        metrics.builder.rejected[2][static_cast<size_t>(engine::Fallback::wrong_parent)].load(),
        1u);
}

TEST_F(BuilderCore, ABlockWhoseHashDoesNotMatchIsNeverValidatedAndTheLocalBlockWins) {
    fork();
    request(get_payload(2, "0x00000000000000aa"));
    std::string local = built(2, 1000);
    reply(0, local);
    reply(1, built(2, 5000, /*bad=*/true));
    reply(2, built(2, 5000, /*bad=*/true));
    EXPECT_TRUE(sends_to(0, 3).empty()) << "a mismatched block is not sent to the local EL";
    ASSERT_EQ(shell.answers.size(), 1u);
    EXPECT_EQ(block_hash(shell.answers[0]), block_hash(local));
    EXPECT_EQ(fallbacks(metrics, engine::Fallback::hash_mismatch), 1u);
    EXPECT_EQ(metrics.builder.rejected[1][static_cast<size_t>(engine::Fallback::hash_mismatch)],
              1u);
    EXPECT_EQ(metrics.builder.blocks[0].load(), 1u);
}

TEST_F(BuilderCore, ABlockTheLocalElDoesNotCallValidIsNotUsed) {
    std::string local = local_block_after_validation("INVALID");
    ASSERT_EQ(shell.answers.size(), 1u);
    EXPECT_EQ(block_hash(shell.answers[0]), block_hash(local));
    EXPECT_EQ(fallbacks(metrics, engine::Fallback::invalid), 1u);
}

TEST_F(BuilderCore, LateBuildersMeanTheLocalBlockAndTheirRepliesArriveBeforeReuse) {
    fork();
    request(get_payload(2, "0x00000000000000aa"));
    std::string local = built(2, 1000);
    reply(0, local);
    EXPECT_TRUE(shell.answers.empty());
    reply(1, built(2, 5000));
    // The deadline passes: builder 2 times out, then builder 1's validation does.
    shell.t += 600'000'000;
    fail(2, Errc::timeout, "deadline");
    EXPECT_TRUE(shell.answers.empty()) << "builder 1's validation is still due";
    std::vector<size_t> validations = sends_to(0, 3);
    ASSERT_EQ(validations.size(), 1u);
    fail(validations[0], Errc::timeout, "deadline");
    ASSERT_EQ(shell.answers.size(), 1u);
    EXPECT_EQ(block_hash(shell.answers[0]), block_hash(local));
    EXPECT_EQ(fallbacks(metrics, engine::Fallback::late), 1u);
    EXPECT_EQ(core->busy(), 0u);
}

TEST_F(BuilderCore, ABuilderAnsweringAfterItsDeadlineIsNotValidated) {
    fork();
    request(get_payload(2, "0x00000000000000aa"));
    reply(0, built(2, 1000));
    fail(2, Errc::io, "reset");
    shell.t += 600'000'000;  // the answer itself comes after the deadline
    reply(1, built(2, 5000));
    EXPECT_TRUE(sends_to(0, 3).empty());
    ASSERT_EQ(shell.answers.size(), 1u);
    EXPECT_EQ(metrics.builder.rejected[1][static_cast<size_t>(engine::Fallback::late)].load(), 1u);
}

TEST_F(BuilderCore, BoostSyncAnswersWithTheLocalEl) {
    request(forkchoice(3, false));
    ASSERT_EQ(shell.sent.size(), 3u) << "every builder follows the chain";
    fail(1, Errc::io, "refused");
    EXPECT_TRUE(shell.answers.empty()) << "a builder's failure is not op-node's answer";
    reply(0, fcu_answer(3, nullptr));
    ASSERT_EQ(shell.answers.size(), 1u);
    EXPECT_EQ(shell.answers[0], fcu_answer(3, nullptr));
    EXPECT_EQ(core->busy(), 1u);
    reply(2, fcu_answer(3, nullptr));
    EXPECT_EQ(core->busy(), 0u);
    EXPECT_EQ(metrics.builder.forks.load(), 0u);
}

TEST_F(BuilderCore, ADeadBuilderGetsNoFork) {
    nodes.views[2].health = Health::dead;
    request(forkchoice(1, true));
    ASSERT_EQ(shell.sent.size(), 2u);
    EXPECT_EQ(shell.sent[1].node, 1u);
}

TEST_F(BuilderCore, NoTxPoolMeansTheLocalBlockOnly) {
    request(forkchoice(1, true, /*no_tx_pool=*/true));
    ASSERT_EQ(shell.sent.size(), 3u) << "builders still get a copy";
    reply(0, fcu_answer(1, "0x00000000000000aa"));
    reply(1, fcu_answer(1, "0x00000000000000b1"));
    reply(2, fcu_answer(1, "0x00000000000000b2"));
    shell.sent.clear();
    request(get_payload(2, "0x00000000000000aa"));
    ASSERT_EQ(shell.sent.size(), 1u) << "no builder is asked for a block";
    std::string local = built(2, 1000);
    reply(0, local);
    ASSERT_EQ(shell.answers.size(), 2u);
    EXPECT_EQ(block_hash(shell.answers[1]), block_hash(local));
    EXPECT_EQ(fallbacks(metrics, engine::Fallback::no_tx_pool), 1u);
}

TEST_F(BuilderCore, AnIdNoBuilderMappedIsTheLocalBlockForNoPayloadId) {
    request(get_payload(2, "0x00000000000000cc"));
    ASSERT_EQ(shell.sent.size(), 1u);
    reply(0, built(2, 1000));
    ASSERT_EQ(shell.answers.size(), 1u);
    EXPECT_EQ(fallbacks(metrics, engine::Fallback::no_payload_id), 1u);
}

TEST_F(BuilderCore, TheLocalElsErrorIsRelayed) {
    fork();
    request(get_payload(2, "0x00000000000000aa"));
    reply(0, R"({"jsonrpc":"2.0","id":2,"error":{"code":-38001,"message":"Unknown payload"}})");
    ASSERT_EQ(shell.answers.size(), 1u) << "no block to compare with: answered at once";
    EXPECT_NE(shell.answers[0].find("-38001"), std::string::npos) << shell.answers[0];
    EXPECT_EQ(core->busy(), 1u) << "the builders' replies are still due";
    reply(1, built(2, 5000));
    reply(2, built(2, 5000));
    EXPECT_TRUE(sends_to(0, 3).empty()) << "nothing is validated for an answered call";
    EXPECT_EQ(shell.answers.size(), 1u);
    EXPECT_EQ(core->busy(), 0u);
}

TEST_F(BuilderCore, DryRunValidatesButAnswersTheLocalBlock) {
    make(engine::ExecutionMode::dry_run);
    std::string local = local_block_after_validation("VALID");
    ASSERT_EQ(shell.answers.size(), 1u);
    EXPECT_EQ(block_hash(shell.answers[0]), block_hash(local));
    EXPECT_EQ(fallbacks(metrics, engine::Fallback::dry_run), 1u);
    EXPECT_EQ(metrics.builder.dry_run_picks.load(), 1u);
}

TEST_F(BuilderCore, DisabledSendsNothingToBuilders) {
    make(engine::ExecutionMode::disabled);
    request(forkchoice(1, true));
    ASSERT_EQ(shell.sent.size(), 1u);
    EXPECT_EQ(shell.sent[0].node, 0u);
}

TEST_F(BuilderCore, OtherMethodsGoToTheLocalElOnly) {
    request(R"({"jsonrpc":"2.0","id":4,"method":"eth_blockNumber","params":[]})");
    ASSERT_EQ(shell.sent.size(), 1u);
    EXPECT_EQ(shell.sent[0].node, 0u);
    fail(0, Errc::io, "refused");
    ASSERT_EQ(shell.answers.size(), 1u) << "no builder takes the local EL's place";
    EXPECT_NE(shell.answers[0].find("error"), std::string::npos);
}

/// One fork and getPayload in which both builders' blocks have wrong hashes.
void bad_round(BuilderCore& c) {
    c.fork();
    c.request(get_payload(2, "0x00000000000000aa"));
    c.reply(0, built(2, 1000));
    c.reply(1, built(2, 5000, /*bad=*/true));
    c.reply(2, built(2, 5000, /*bad=*/true));
    ASSERT_EQ(c.core->busy(), 0u);
    c.shell.sent.clear();
    c.shell.answers.clear();
}

TEST_F(BuilderCore, ThreeBadBlocksBenchABuilderAndAValidProbeBlockBringsItBack) {
    for (int k = 0; k < 3; k++) {
        EXPECT_FALSE(shared->benched(1)) << k;
        bad_round(*this);
    }
    EXPECT_TRUE(shared->benched(1));
    EXPECT_TRUE(shared->benched(2));
    // Benched: no attributes for them (the local EL alone gets the fork) ...
    request(forkchoice(1, true));
    ASSERT_EQ(shell.sent.size(), 1u);
    EXPECT_EQ(shell.sent[0].node, 0u);
    reply(0, fcu_answer(1, "0x00000000000000aa"));
    // ... and getPayload asks no builder, counting each as breaker_open.
    shell.sent.clear();
    request(get_payload(2, "0x00000000000000aa"));
    ASSERT_EQ(shell.sent.size(), 1u);
    reply(0, built(2, 1000));
    ASSERT_EQ(shell.answers.size(), 2u);
    EXPECT_EQ(fallbacks(metrics, engine::Fallback::breaker_open), 1u);
    EXPECT_EQ(metrics.builder.rejected[2][static_cast<size_t>(engine::Fallback::breaker_open)], 1u);
    // Boost sync still reaches them.
    shell.sent.clear();
    request(forkchoice(3, false));
    EXPECT_EQ(shell.sent.size(), 3u);
    for (size_t k = 0; k < 3; k++) reply(k, fcu_answer(3, nullptr));
    // After the cooldown the next fork is the probe; a valid block closes the breaker.
    shell.t += 30'000'000'000ull;
    shell.sent.clear();
    shell.answers.clear();
    request(forkchoice(1, true));
    ASSERT_EQ(shell.sent.size(), 3u) << "the probe fork goes to both";
    EXPECT_EQ(shared->breakers().state(1), rpc::BreakerState::half_open);
    reply(0, fcu_answer(1, "0x00000000000000aa"));
    reply(1, fcu_answer(1, "0x00000000000000b1"));
    reply(2, fcu_answer(1, "0x00000000000000b2"));
    shell.sent.clear();
    request(get_payload(2, "0x00000000000000aa"));
    reply(0, built(2, 1000));
    reply(1, built(2, 5000));
    reply(2, built(2, 3000, /*bad=*/true));
    std::vector<size_t> validations = sends_to(0, 3);
    ASSERT_EQ(validations.size(), 1u);
    reply(validations[0], status_result("1", "VALID", hash_a()));
    EXPECT_EQ(shared->breakers().state(1), rpc::BreakerState::closed) << "a good probe closes";
    EXPECT_TRUE(shared->benched(2)) << "a bad probe opens it again";
    EXPECT_EQ(shared->breakers().opens(2), 2u);
}

TEST_F(BuilderCore, AFailedBuilderCallDoesNotMarkItDeadButTheLocalElsDoes) {
    request(forkchoice(1, true));
    reply(0, fcu_answer(1, "0x00000000000000aa"));
    fail(1, Errc::io, "reset");
    fail(2, Errc::timeout, "deadline");
    EXPECT_TRUE(shell.failed.empty()) << "builders stay in the next fork";
    shell.sent.clear();
    request(forkchoice(2, true));
    EXPECT_EQ(shell.sent.size(), 3u);
    fail(0, Errc::io, "reset");
    ASSERT_EQ(shell.failed.size(), 1u);
    EXPECT_EQ(shell.failed[0], 0u);
}

TEST_F(BuilderCore, TheModeSwitchesAtRunTime) {
    (void)shared->switch_mode(engine::ExecutionMode::disabled, "a test");
    request(forkchoice(1, true));
    ASSERT_EQ(shell.sent.size(), 1u) << "disabled: the local EL alone";
    reply(0, fcu_answer(1, "0x00000000000000aa"));
    (void)shared->switch_mode(engine::ExecutionMode::enabled, "a test");
    shell.sent.clear();
    request(forkchoice(2, true));
    EXPECT_EQ(shell.sent.size(), 3u) << "enabled again: the builders too";
}

// The per-builder breaker on its own, time injected.
struct Bench : ::testing::Test {
    BuilderShared shared{BuilderSharedConfig{}};  // 3 within 60 s, 30 s cooldown
    static constexpr uint64_t s = 1'000'000'000ull;
    uint64_t t = 1000 * s;
};

TEST_F(Bench, ThreeBadBlocksWithinTheWindowBench) {
    EXPECT_FALSE(shared.block_failed(1, t));
    EXPECT_FALSE(shared.block_failed(1, t + 20 * s));
    EXPECT_FALSE(shared.block_valid(1)) << "a good block while closed changes nothing";
    EXPECT_TRUE(shared.block_failed(1, t + 59 * s));
    EXPECT_TRUE(shared.benched(1));
    EXPECT_FALSE(shared.admit_fork(1, t + 60 * s));
    EXPECT_FALSE(shared.benched(2)) << "per builder";
}

TEST_F(Bench, ThreeBadBlocksSpreadBeyondTheWindowDoNot) {
    EXPECT_FALSE(shared.block_failed(1, t));
    EXPECT_FALSE(shared.block_failed(1, t + 30 * s));
    EXPECT_FALSE(shared.block_failed(1, t + 61 * s)) << "the run began more than 60 s before";
    EXPECT_FALSE(shared.benched(1));
    EXPECT_TRUE(shared.admit_fork(1, t + 62 * s));
}

TEST_F(Bench, AfterTheCooldownOneForkIsTheProbe) {
    for (int k = 0; k < 3; k++) (void)shared.block_failed(1, t);
    EXPECT_FALSE(shared.admit_fork(1, t + 29 * s));
    EXPECT_TRUE(shared.admit_fork(1, t + 30 * s)) << "the probe";
    EXPECT_EQ(shared.breakers().state(1), rpc::BreakerState::half_open);
    EXPECT_FALSE(shared.benched(1)) << "its getPayload is asked";
    EXPECT_FALSE(shared.admit_fork(1, t + 31 * s)) << "one probe at a time";
    EXPECT_TRUE(shared.block_valid(1));
    EXPECT_EQ(shared.breakers().state(1), rpc::BreakerState::closed);
    EXPECT_TRUE(shared.admit_fork(1, t + 32 * s));
}

TEST_F(Bench, ABadProbeBenchesItAgainForAnotherCooldown) {
    for (int k = 0; k < 3; k++) (void)shared.block_failed(1, t);
    ASSERT_TRUE(shared.admit_fork(1, t + 30 * s));
    EXPECT_TRUE(shared.block_failed(1, t + 31 * s));
    EXPECT_TRUE(shared.benched(1));
    EXPECT_FALSE(shared.admit_fork(1, t + 60 * s));
    EXPECT_TRUE(shared.admit_fork(1, t + 61 * s));
    EXPECT_EQ(shared.breakers().opens(1), 2u);
}

TEST_F(Bench, AProbeThatNeverGetsABlockIsRetriedAfterTheCooldown) {
    for (int k = 0; k < 3; k++) (void)shared.block_failed(1, t);
    ASSERT_TRUE(shared.admit_fork(1, t + 30 * s));
    EXPECT_TRUE(shared.admit_fork(1, t + 60 * s)) << "op-node never asked for that block";
}

TEST(ForkAttributes, ReadsNoTxPoolAndTheBeaconRoot) {
    auto requests = engine::make_request_kernel(jsonrpc::Limits{});
    auto parse = [&](const std::string& body) {
        std::string padded = body + std::string(64, ' ');  // the parser reads 64 bytes past it
        auto envelope = requests->parse(padded.data(), body.size(), padded.size());
        EXPECT_TRUE(envelope.has_value());
        ForkAttributes a;
        read_fork_attributes(*requests, 0, a);
        return a;
    };
    ForkAttributes a = parse(forkchoice(1, true, true));
    EXPECT_TRUE(a.present);
    EXPECT_TRUE(a.no_tx_pool);
    EXPECT_EQ(std::string(a.beacon_root), "0x" + zeros(64));
    a = parse(forkchoice(1, true, false));
    EXPECT_TRUE(a.present);
    EXPECT_FALSE(a.no_tx_pool);
    a = parse(forkchoice(1, false));
    EXPECT_FALSE(a.present);
}

}  // namespace
}  // namespace em::pipeline::test
