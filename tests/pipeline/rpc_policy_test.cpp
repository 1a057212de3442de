// The rpc role's policy (pipeline/rpc_policy.h) transition by transition: the allow-list, the
// block a read needs, the head-aware least-loaded pick, the gate's cache and filter decisions,
// and the policy as the core's policy and gate (a fake shell, no I/O): batches in order with the
// clients' ids byte for byte, a cache hit that touches no node, reads retried on another node at
// the head, transactions broadcast with "already known" folded into success; eth_getLogs over
// the limit split across the nodes and merged (or refused saying why); [rpc] sticky clients.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "fixture.h"
#include "pipeline/core.h"
#include "pipeline/rpc_policy.h"

namespace em::pipeline::test {
namespace {

using rpc::RpcPolicy;

TEST(RpcGlob, StarMatchesAnyRunAndEverythingElseItself) {
    EXPECT_TRUE(rpc::glob_match("*", ""));
    EXPECT_TRUE(rpc::glob_match("*", "engine_newPayloadV4"));
    EXPECT_TRUE(rpc::glob_match("eth_*", "eth_call"));
    EXPECT_FALSE(rpc::glob_match("eth_*", "debug_traceTransaction"));
    EXPECT_TRUE(rpc::glob_match("eth_get*ByHash", "eth_getBlockByHash"));
    EXPECT_FALSE(rpc::glob_match("eth_get*ByHash", "eth_getBlockByNumber"));
    EXPECT_TRUE(rpc::glob_match("*_call", "eth_call"));
    EXPECT_TRUE(rpc::glob_match("a*b*c", "a-x-b-y-b-c"));
    EXPECT_FALSE(rpc::glob_match("a*b*c", "a-x-b-y-c-d"));
    EXPECT_TRUE(rpc::glob_match("eth_call", "eth_call"));
    EXPECT_FALSE(rpc::glob_match("eth_call", "eth_calls"));
}

TEST(RpcAllowList, TheDefaultIsReadOnlyEthNetWeb3AndSendRawTransaction) {
    for (const char* m :
         {"eth_blockNumber", "eth_call", "eth_getLogs", "eth_newFilter", "eth_getFilterChanges",
          "net_version", "web3_clientVersion", "eth_sendRawTransaction"})
        EXPECT_TRUE(rpc::allowed_by_default(m)) << m;
    for (const char* m : {"eth_sendTransaction", "eth_sign", "eth_signTypedData_v4",
                          "eth_submitWork", "eth_subscribe", "engine_newPayloadV4", "admin_addPeer",
                          "debug_traceTransaction", "personal_unlockAccount", "txpool_content", ""})
        EXPECT_FALSE(rpc::allowed_by_default(m)) << m;
}

TEST(RpcBlockNeed, TagsAndMissingBlocksNeedTheHeadNumbersNeedThatBlock) {
    auto need = [](const char* method, const std::string& params) {
        rpc::BlockNeed n = rpc::block_needed(method, params);
        return n.at_head ? std::string("head") : std::to_string(n.number);
    };
    EXPECT_EQ(need("eth_blockNumber", "[]"), "head");
    EXPECT_EQ(need("eth_getBlockByNumber", R"(["latest",false])"), "head");
    EXPECT_EQ(need("eth_getBlockByNumber", R"(["pending",false])"), "head");
    EXPECT_EQ(need("eth_getBlockByNumber", R"(["safe",false])"), "head");
    EXPECT_EQ(need("eth_getBlockByNumber", R"(["finalized",false])"), "head");
    EXPECT_EQ(need("eth_getBlockByNumber", R"(["0x10",false])"), "16");
    EXPECT_EQ(need("eth_getBalance", R"(["0x00000000000000000000000000000000000000aa"])"), "head");
    EXPECT_EQ(need("eth_getBalance", R"(["0x00000000000000000000000000000000000000aa","0x5"])"),
              "5");
    EXPECT_EQ(need("eth_call", R"([{},{"blockNumber":"0x7"}])"), "7");
    EXPECT_EQ(need("eth_call", R"([{},{"blockHash":"0x)" + std::string(64, 'a') + R"("}])"),
              "head");
    EXPECT_EQ(need("eth_getStorageAt", R"(["0xaa","0x0","0x20"])"), "32");
    EXPECT_EQ(need("eth_getLogs", R"([{"fromBlock":"0x1","toBlock":"0x9"}])"), "9");
    EXPECT_EQ(need("eth_getLogs", R"([{"fromBlock":"0x1"}])"), "head");
    EXPECT_EQ(need("eth_getBlockByNumber", "not json"), "head");
    EXPECT_EQ(need("eth_getBlockByNumber", R"(["0x10000000000000000",false])"), "head");
}

TEST(RpcTransactionHash, IsTheKeccakOfTheRawBytes) {
    ByteBuffer scratch(1u << 20);
    char hash[72] = {};
    ASSERT_TRUE(rpc::raw_transaction_hash(R"(["0x00"])", scratch, hash));
    EXPECT_EQ(std::string(hash, 66),
              "0xbc36789e7a1e281436464229828f817d6612f7b477d66591ff96a9e064bcc98a");
    EXPECT_FALSE(rpc::raw_transaction_hash(R"(["0x0"])", scratch, hash)) << "odd digits";
    EXPECT_FALSE(rpc::raw_transaction_hash(R"(["0x00","0x00"])", scratch, hash));
    EXPECT_FALSE(rpc::raw_transaction_hash(R"([1])", scratch, hash));
    EXPECT_FALSE(rpc::raw_transaction_hash("", scratch, hash));
}

/// Three nodes: 0 and 1 at head 100, 2 lagging at 90 (max lag 2).
struct RpcPolicyTest : ::testing::Test {
    ShardMetrics metrics;
    FakeNodes nodes;
    rpc::AnswerCache cache{1u << 20};
    std::unique_ptr<RpcPolicy> policy;

    void SetUp() override {
        make(rpc::PolicyConfig{});
        for (size_t i = 0; i < 3; i++) nodes.set(i, true, Health::synced, 1000);
        head(0, 100, 90);
        head(1, 100, 90);
        head(2, 90, 80);
    }
    void make(const rpc::PolicyConfig& c) {
        policy = std::make_unique<RpcPolicy>(c, &cache, metrics.rpc);
        policy->set_nodes(nodes);
    }
    void head(size_t i, int64_t number, int64_t finalized) {
        nodes.views[i].head_number = number;
        nodes.views[i].finalized_number = finalized;
    }
    GateDecision admit(std::string_view method, std::string_view params) {
        CallFacts f;
        f.name = method;
        f.params = params;
        return policy->admit(f, 1);
    }
    Route at_head() {
        Route r;
        r.at_head = true;
        return r;
    }
};

TEST_F(RpcPolicyTest, AHeadReadNeverGoesToALaggingNode) {
    Route r = at_head();
    int first = policy->pick_route(nodes, 0, r);
    EXPECT_TRUE(first == 0 || first == 1);
    int second = policy->pick_route(nodes, 1u << first, r);
    EXPECT_EQ(second, 1 - first);
    EXPECT_EQ(policy->pick_route(nodes, 0b011, r), -1) << "node 2 is 10 blocks behind";
    // Within max_head_lag_blocks it is at the head.
    head(2, 98, 80);
    EXPECT_EQ(policy->pick_route(nodes, 0b011, r), 2);
    // A read of an old block may go to it; of a block it does not have, not.
    head(2, 90, 80);
    Route old;
    old.min_head = 50;
    EXPECT_EQ(policy->pick_route(nodes, 0b011, old), 2);
    old.min_head = 95;
    EXPECT_EQ(policy->pick_route(nodes, 0b011, old), -1);
    // A block past every head is asked of the nodes at the head (an EL answers "not found"),
    // never of the lagging one, and not refused.
    Route future;
    future.min_head = 1000;
    int at = policy->pick_route(nodes, 0, future);
    EXPECT_TRUE(at == 0 || at == 1) << at;
    EXPECT_EQ(policy->pick_route(nodes, 0b011, future), -1);
}

TEST_F(RpcPolicyTest, LeastOutstandingWeightedByLatencyAndSyncedFirst) {
    Route any;
    nodes.views[0].outstanding = 3;
    nodes.views[1].outstanding = 0;
    EXPECT_EQ(policy->pick_route(nodes, 0b100, any), 1);
    nodes.views[1].latency_ewma_us = 10'000;  // (0+1) x 10 ms > (3+1) x 1 ms
    EXPECT_EQ(policy->pick_route(nodes, 0b100, any), 0);
    nodes.views[0].health = Health::syncing;
    nodes.views[1].health = Health::syncing;
    EXPECT_EQ(policy->pick_route(nodes, 0, any), 2) << "synced before syncing";
    nodes.views[2].health = Health::dead;
    EXPECT_EQ(policy->pick_route(nodes, 0, any), 0) << "never dead";
    nodes.views[0].health = nodes.views[1].health = Health::dead;
    EXPECT_EQ(policy->pick_route(nodes, 0, any), -1);
}

TEST_F(RpcPolicyTest, ANodeWhoseBreakerIsOpenGetsNoReadsAndNoTransactions) {
    nodes.views[0].breaker_open = true;
    for (int k = 0; k < 3; k++) EXPECT_EQ(policy->pick_route(nodes, 0, at_head()), 1);
    EXPECT_EQ(policy->pick_route(nodes, 0b010, at_head()), -1) << "node 2 lags; 0 is shut out";
    Route old;
    old.min_head = 10;
    EXPECT_EQ(policy->pick_route(nodes, 0b110, old), -1);
    EXPECT_FALSE(policy->takes_part(CallKind::broadcast, nodes.views[0]));
    EXPECT_TRUE(policy->takes_part(CallKind::broadcast, nodes.views[1]));
    nodes.views[0].breaker_open = false;
    EXPECT_EQ(policy->pick_route(nodes, 0b110, old), 0);
}

TEST_F(RpcPolicyTest, ALogsRangeOverTheLimitIsRefusedNamingTheLimitWhenSplittingIsOff) {
    rpc::PolicyConfig c;
    c.max_logs_block_range = 100;
    c.logs_split = false;
    make(c);
    using V = GateDecision::Verdict;
    GateDecision wide = admit("eth_getLogs", R"([{"fromBlock":"0x1","toBlock":"0x65"}])");
    ASSERT_EQ(wide.verdict, V::refuse);
    EXPECT_EQ(wide.code, -32602);
    EXPECT_NE(wide.message.find("blocks 1..101 are 101 blocks"), std::string_view::npos)
        << wide.message;
    EXPECT_NE(wide.message.find("limit of 100 ([rpc] max_logs_block_range)"),
              std::string_view::npos)
        << wide.message;
    EXPECT_EQ(metrics.rpc.logs_refused.load(), 1u);
    EXPECT_EQ(admit("eth_getLogs", R"([{"fromBlock":"0x2","toBlock":"0x65"}])").verdict, V::run);
    // A tag is the highest head known (100): 0..100 is 101 blocks.
    EXPECT_EQ(admit("eth_getLogs", R"([{"fromBlock":"0x0","toBlock":"latest"}])").verdict,
              V::refuse);
    EXPECT_EQ(admit("eth_getLogs", R"([{"fromBlock":"0x1"}])").verdict, V::run);
    EXPECT_EQ(admit("eth_getLogs", R"([{"blockHash":"0x01","fromBlock":"0x0","toBlock":"0xffff"}])")
                  .verdict,
              V::run)
        << "a blockHash filter has no range";
    for (size_t i = 0; i < 3; i++) head(i, -1, -1);
    GateDecision unknown = admit("eth_getLogs", R"([{"fromBlock":"0x0","toBlock":"latest"}])");
    EXPECT_EQ(unknown.verdict, V::refuse);
    EXPECT_NE(unknown.message.find("no head known yet"), std::string_view::npos) << unknown.message;
    EXPECT_EQ(admit("eth_getLogs", "[{}]").verdict, V::run) << "latest..latest: one block";
    c.max_logs_block_range = 0;
    make(c);
    EXPECT_EQ(admit("eth_getLogs", R"([{"fromBlock":"0x0","toBlock":"0xffffff"}])").verdict,
              V::run);
}

TEST_F(RpcPolicyTest, UnknownHeadsAreNotAtTheHeadOnceAnyHeadIsKnown) {
    head(0, -1, -1);
    EXPECT_EQ(policy->pick_route(nodes, 0b010, at_head()), -1);
    for (size_t i = 0; i < 3; i++) head(i, -1, -1);
    EXPECT_GE(policy->pick_route(nodes, 0, at_head()), 0) << "no head known: any node";
}

TEST_F(RpcPolicyTest, AMethodNotAllowedIsRefusedNamingIt) {
    GateDecision d = admit("debug_traceTransaction", "[]");
    EXPECT_EQ(d.verdict, GateDecision::Verdict::refuse);
    EXPECT_EQ(d.code, -32601);
    EXPECT_NE(d.message.find("debug_traceTransaction"), std::string_view::npos) << d.message;
    EXPECT_EQ(metrics.rpc.not_allowed.load(), 1u);
    rpc::PolicyConfig all;
    all.allow_methods = {"*"};
    make(all);
    EXPECT_EQ(admit("debug_traceTransaction", "[]").verdict, GateDecision::Verdict::run);
    rpc::PolicyConfig some;
    some.allow_methods = {"eth_get*"};
    make(some);
    EXPECT_EQ(admit("eth_getBalance", "[]").verdict, GateDecision::Verdict::run);
    EXPECT_EQ(admit("eth_blockNumber", "[]").verdict, GateDecision::Verdict::refuse);
}

TEST_F(RpcPolicyTest, AFinalBlockIsCachedAndAnsweredWithoutANode) {
    const char* params = R"(["0x10",false])";
    GateDecision first = admit("eth_getBlockByNumber", params);
    ASSERT_EQ(first.verdict, GateDecision::Verdict::run);
    EXPECT_EQ(first.route.learn, Learn::cache);
    EXPECT_FALSE(first.route.at_head);
    EXPECT_EQ(first.route.min_head, 16);
    EXPECT_TRUE(first.route.rewrite_id);
    std::string key(first.route.key);
    policy->learned(Learn::cache, key, R"({"number":"0x10"})", 0, 1);
    GateDecision again = admit("eth_getBlockByNumber", R"([ "0x10", false ])");
    ASSERT_EQ(again.verdict, GateDecision::Verdict::answer) << "the same request, spaced";
    EXPECT_EQ(again.result, R"({"number":"0x10"})");
    size_t slot = rpc::method_slot("eth_getBlockByNumber");
    EXPECT_EQ(metrics.rpc.methods[slot].cache_hits.load(), 1u);
    EXPECT_EQ(metrics.rpc.methods[slot].requests.load(), 2u);
}

TEST_F(RpcPolicyTest, TheFinalizedBlockIsTheLowestASyncedNodeReported) {
    EXPECT_EQ(policy->finalized(), 80);
    nodes.views[2].health = Health::syncing;
    EXPECT_EQ(policy->finalized(), 90);
    // Block 85 is final for node 2 only: above the lowest, so not cached.
    nodes.views[2].health = Health::synced;
    EXPECT_EQ(admit("eth_getBlockByNumber", R"(["0x55",false])").route.learn, Learn::nothing);
    for (const char* tag : {"latest", "pending", "safe", "finalized"}) {
        GateDecision d = admit("eth_getBlockByNumber", std::string("[\"") + tag + "\",false]");
        EXPECT_EQ(d.route.learn, Learn::nothing) << tag;
        EXPECT_TRUE(d.route.at_head) << tag;
    }
    // A receipt is kept only once the block it names is final.
    GateDecision r = admit("eth_getTransactionReceipt", R"(["0x)" + std::string(64, '1') + R"("])");
    EXPECT_EQ(r.route.learn, Learn::cache_if_final);
    std::string key(r.route.key);
    policy->learned(Learn::cache_if_final, key, R"({"blockNumber":"0x5a"})", 0, 1);
    EXPECT_EQ(metrics.rpc.cache_stores.load(), 0u) << "block 90 is above finalized 80";
    policy->learned(Learn::cache_if_final, key, R"({"blockNumber":"0x50"})", 0, 1);
    EXPECT_EQ(metrics.rpc.cache_stores.load(), 1u);
}

TEST_F(RpcPolicyTest, FiltersStickToTheNodeThatMadeThem) {
    GateDecision make_filter = admit("eth_newBlockFilter", "[]");
    EXPECT_EQ(make_filter.route.learn, Learn::filter_node);
    policy->learned(Learn::filter_node, "", R"("0xabc")", 2, 1);
    GateDecision use = admit("eth_getFilterChanges", R"(["0xabc"])");
    EXPECT_EQ(use.route.sticky, 2);
    EXPECT_FALSE(use.route.at_head) << "the filter's node, however far behind";
    EXPECT_EQ(policy->pick_route(nodes, 0, use.route), 2);
    EXPECT_EQ(admit("eth_uninstallFilter", R"(["0xabc"])").route.sticky, 2);
    EXPECT_EQ(admit("eth_getFilterLogs", R"(["0xdef"])").route.sticky, -1) << "unknown id";
}

TEST_F(RpcPolicyTest, ATransactionIsBroadcastWithItsHash) {
    GateDecision d = admit("eth_sendRawTransaction", R"(["0x00"])");
    EXPECT_EQ(d.verdict, GateDecision::Verdict::run);
    EXPECT_TRUE(d.broadcast);
    EXPECT_EQ(d.route.tx_hash,
              "0xbc36789e7a1e281436464229828f817d6612f7b477d66591ff96a9e064bcc98a");
    EXPECT_TRUE(policy->takes_part(CallKind::broadcast, nodes.node(2)));
    nodes.views[2].health = Health::dead;
    EXPECT_FALSE(policy->takes_part(CallKind::broadcast, nodes.node(2)));
}

TEST_F(RpcPolicyTest, MethodTimeoutsComeFromTheTableElseTheDefault) {
    rpc::PolicyConfig c;
    c.default_timeout_ms = 3000;
    c.method_timeouts = {{"eth_call", 500}};
    make(c);
    EXPECT_EQ(admit("eth_call", "[{}]").route.timeout_ms, 500u);
    EXPECT_EQ(admit("eth_blockNumber", "[]").route.timeout_ms, 3000u);
}

// ---------------------------------------------------------------------------------------------
// The policy as the core's policy and gate

struct FakeShell final : Shell {
    struct Sent {
        uint64_t call;
        size_t node;
        std::string body;
    };
    std::vector<Sent> sent;
    std::vector<std::pair<int, std::string>> answers;
    void send(uint64_t call, size_t node, std::string_view body, bool, uint64_t) override {
        sent.push_back({call, node, std::string(body)});
    }
    void flush() override {}
    void answer(uint64_t, int status, std::string_view body) override {
        answers.emplace_back(status, std::string(body));
    }
    bool client_waiting(uint64_t) const override { return true; }
    void node_failed(size_t, const Error&) override {}
    uint64_t now_ns() const override { return 1; }
    std::vector<std::pair<uint64_t, uint64_t>> wakes;  ///< (call, at_ns)
    void wake(uint64_t call, uint64_t at_ns) override { wakes.emplace_back(call, at_ns); }
};

struct RpcCore : RpcPolicyTest {
    FakeShell shell;
    std::unique_ptr<PipelineCore> core;
    ReplyStore store;

    void SetUp() override {
        RpcPolicyTest::SetUp();
        build_core();
    }
    /// The core on the policy as it is now (after make(): on the new one).
    void build_core() {
        CoreConfig c;
        c.body_bytes_max = 1u << 20;
        c.mints_payload_ids = false;
        core = std::make_unique<PipelineCore>(c, *policy, nodes, shell, metrics);
        core->set_gate(policy.get());
    }
    void hedging(double ratio) {
        rpc::PolicyConfig c;
        c.hedge.max_ratio = ratio;
        core.reset();
        make(c);
        build_core();
    }
    void request(std::string body, const Origin& origin = {}) {
        body.reserve(body.size() + 64);
        core->on_request(1, body.data(), body.size(), body.capacity(), 1, 1, origin);
    }
    /// The policy and core anew with `c`.
    void remake(const rpc::PolicyConfig& c) {
        core.reset();
        make(c);
        build_core();
    }
    /// Node `node` answers send k with `result` under the id it was sent.
    void reply(size_t k, const std::string& response) {
        core->on_reply(shell.sent[k].call, store.answer(shell.sent[k].node, response), 1);
    }
};

TEST_F(RpcCore, AReadUnansweredAtItsWakeIsHedgedTheFirstAnswerWinsTheLateOneIsDropped) {
    hedging(1.0);
    RpcMethodMetrics& m = metrics.rpc.methods[rpc::method_slot("eth_blockNumber")];
    request(R"({"jsonrpc":"2.0","id":7,"method":"eth_blockNumber"})");
    ASSERT_EQ(shell.sent.size(), 1u);
    ASSERT_EQ(shell.wakes.size(), 1u);
    EXPECT_EQ(shell.wakes[0].second, 1 + 100'000'000u) << "no samples yet: the default delay";
    size_t first = shell.sent[0].node;
    core->on_wake(shell.wakes[0].first, 2);
    ASSERT_EQ(shell.sent.size(), 2u);
    EXPECT_NE(shell.sent[1].node, first);
    EXPECT_NE(shell.sent[1].node, 2u) << "a hedge obeys the route: never the lagging node";
    EXPECT_EQ(m.hedges.load(), 1u);
    reply(1, R"({"jsonrpc":"2.0","id":7,"result":"0x64"})");
    ASSERT_EQ(shell.answers.size(), 1u);
    EXPECT_EQ(shell.answers[0].second, R"({"jsonrpc":"2.0","id":7,"result":"0x64"})");
    EXPECT_EQ(m.hedges_won.load(), 1u);
    EXPECT_EQ(core->busy(), 1u) << "the first copy is still out: the call is kept";
    reply(0, R"({"jsonrpc":"2.0","id":7,"result":"0x63"})");
    EXPECT_EQ(shell.answers.size(), 1u) << "the loser's answer is dropped";
    EXPECT_EQ(core->busy(), 0u);
    // Answered before its wake: no hedge; the wake only lets the call go.
    request(R"({"jsonrpc":"2.0","id":8,"method":"eth_blockNumber"})");
    ASSERT_EQ(shell.sent.size(), 3u);
    ASSERT_EQ(shell.wakes.size(), 2u);
    reply(2, R"({"jsonrpc":"2.0","id":8,"result":"0x64"})");
    EXPECT_EQ(shell.answers.size(), 2u);
    EXPECT_EQ(core->busy(), 1u);
    core->on_wake(shell.wakes[1].first, 3);
    EXPECT_EQ(shell.sent.size(), 3u);
    EXPECT_EQ(core->busy(), 0u);
    EXPECT_EQ(m.hedges.load(), 1u);
}

TEST_F(RpcCore, HedgesWaitForTheBudgetAndSendsAndFiltersAreNeverHedged) {
    hedging(0.5);
    request(R"({"jsonrpc":"2.0","id":1,"method":"eth_blockNumber"})");
    core->on_wake(shell.wakes.at(0).first, 2);
    EXPECT_EQ(shell.sent.size(), 1u) << "half a token: no hedge yet";
    reply(0, R"({"jsonrpc":"2.0","id":1,"result":"0x64"})");
    request(R"({"jsonrpc":"2.0","id":2,"method":"eth_blockNumber"})");
    core->on_wake(shell.wakes.at(1).first, 3);
    EXPECT_EQ(shell.sent.size(), 3u) << "a whole token: hedged";
    size_t wakes = shell.wakes.size();
    request(R"({"jsonrpc":"2.0","id":3,"method":"eth_newBlockFilter"})");
    request(R"({"jsonrpc":"2.0","id":4,"method":"eth_sendRawTransaction","params":["0x00"]})");
    EXPECT_EQ(shell.wakes.size(), wakes);
}

TEST_F(RpcCore, NoHedgeWhenItsDelayIsPastTheMethodsDeadline) {
    rpc::PolicyConfig c;
    c.hedge.max_ratio = 1;
    c.method_timeouts = {{"eth_blockNumber", 50}};  // below the 100-ms delay before samples
    core.reset();
    make(c);
    build_core();
    request(R"({"jsonrpc":"2.0","id":1,"method":"eth_blockNumber"})");
    EXPECT_EQ(shell.wakes.size(), 0u);
    reply(0, R"({"jsonrpc":"2.0","id":1,"result":"0x64"})");
    EXPECT_EQ(core->busy(), 0u) << "answered: nothing holds the call";
    request(R"({"jsonrpc":"2.0","id":2,"method":"eth_chainId"})");
    EXPECT_EQ(shell.wakes.size(), 1u) << "10 s deadline: hedged after 100 ms";
}

TEST_F(RpcCore, ABatchKeepsOrderAndTheClientsIdsByteForByte) {
    request(R"([{"jsonrpc":"2.0","id":"a\u0062","method":"eth_blockNumber"},)"
            R"({"jsonrpc":"2.0","id":1e0,"method":"debug_traceTransaction","params":[]},)"
            R"({"jsonrpc":"2.0","id":18446744073709551617,"method":"eth_chainId"},)"
            R"({"jsonrpc":"2.0","id":null,"method":"net_version"}])");
    ASSERT_EQ(shell.sent.size(), 3u) << "the method not allowed is answered at once";
    for (const auto& s : shell.sent) EXPECT_NE(s.node, 2u) << "head reads: never the lagging node";
    // The nodes answer out of order, with ids spelled their own way.
    reply(2, R"({"jsonrpc":"2.0","id":null,"result":"1"})");
    reply(1, R"({"jsonrpc":"2.0","id":4.0,"result":"0x1"})");  // it was sent id 4
    ASSERT_TRUE(shell.answers.empty());
    reply(0, R"({"jsonrpc":"2.0","id":"ab","result":"0x64"})");
    ASSERT_EQ(shell.answers.size(), 1u);
    EXPECT_EQ(shell.answers[0].second,
              R"([{"jsonrpc":"2.0","id":"a\u0062","result":"0x64"},)"
              R"({"jsonrpc":"2.0","id":1e0,"error":{"code":-32601,"message":"the method )"
              R"x(debug_traceTransaction is not available on this endpoint (allow_methods)"}},)x"
              R"({"jsonrpc":"2.0","id":18446744073709551617,"result":"0x1"},)"
              R"({"jsonrpc":"2.0","id":null,"result":"1"}])");
}

TEST_F(RpcCore, ANodeIsSentAnIdItParsesAndTheClientGetsItsOwnBack) {
    // anvil and reth answer 1e0, -1, -0.5e-3 or 2^64+1 with -32600 and id null: the read would
    // fail on every node. They are sent id 4; the client still gets its id byte for byte.
    for (std::string id : {"1e0", "-1", "-0.5e-3", "18446744073709551617"}) {
        shell.sent.clear();
        shell.answers.clear();
        request(R"({"jsonrpc":"2.0","id":)" + id + R"(,"method":"eth_blockNumber","params":[]})");
        ASSERT_EQ(shell.sent.size(), 1u) << id;
        EXPECT_EQ(shell.sent[0].body,
                  R"({"jsonrpc":"2.0","id":4,"method":"eth_blockNumber","params":[]})");
        reply(0, R"({"jsonrpc":"2.0","id":4,"result":"0x64"})");
        ASSERT_EQ(shell.answers.size(), 1u) << id;
        EXPECT_EQ(shell.answers[0].second,
                  R"({"jsonrpc":"2.0","id":)" + id + R"(,"result":"0x64"})");
    }
    // Ids every node takes go as they are.
    for (std::string id : {"7", R"("a\u0062")", "null"}) {
        shell.sent.clear();
        std::string body = R"({"jsonrpc":"2.0","id":)" + id + R"(,"method":"eth_blockNumber"})";
        request(body);
        ASSERT_EQ(shell.sent.size(), 1u) << id;
        EXPECT_EQ(shell.sent[0].body, body);
    }
}

TEST_F(RpcCore, ABroadcastTransactionIsSentAnIdEveryNodeParses) {
    request(R"({"jsonrpc":"2.0","id":18446744073709551617,"method":"eth_sendRawTransaction",)"
            R"("params":["0x00"]})");
    ASSERT_EQ(shell.sent.size(), 3u);
    for (const auto& s : shell.sent)
        EXPECT_EQ(s.body, R"({"jsonrpc":"2.0","id":4,"method":"eth_sendRawTransaction",)"
                          R"("params":["0x00"]})");
    reply(1, R"({"jsonrpc":"2.0","id":4,"result":"0x12"})");
    ASSERT_EQ(shell.answers.size(), 1u);
    EXPECT_EQ(shell.answers[0].second,
              R"({"jsonrpc":"2.0","id":18446744073709551617,"result":"0x12"})");
}

TEST_F(RpcCore, ACachedAnswerTouchesNoNode) {
    request(R"({"jsonrpc":"2.0","id":7,"method":"eth_chainId"})");
    ASSERT_EQ(shell.sent.size(), 1u);
    reply(0, R"({"jsonrpc":"2.0","id":7,"result":"0x1"})");
    request(R"({"jsonrpc":"2.0","id":"x","method":"eth_chainId"})");
    request(R"({"jsonrpc":"2.0","id":"y","method":"eth_chainId"})");
    EXPECT_EQ(shell.sent.size(), 1u) << "answered from the cache";
    ASSERT_EQ(shell.answers.size(), 3u);
    EXPECT_EQ(shell.answers[2].second, R"({"jsonrpc":"2.0","id":"y","result":"0x1"})");
}

TEST_F(RpcCore, AFailedReadIsRetriedOnAnotherNodeAtTheHeadNeverTheLaggingOne) {
    request(R"({"jsonrpc":"2.0","id":3,"method":"eth_blockNumber"})");
    ASSERT_EQ(shell.sent.size(), 1u);
    size_t first = shell.sent[0].node;
    core->on_reply(shell.sent[0].call, store.failure(first, Errc::timeout, "timed out"), 1);
    ASSERT_EQ(shell.sent.size(), 2u) << "a read is retried, after a timeout too";
    EXPECT_EQ(shell.sent[1].node, 1 - first);
    core->on_reply(shell.sent[1].call, store.failure(1 - first, Errc::io, "reset"), 1);
    EXPECT_EQ(shell.sent.size(), 2u) << "node 2 lags: not asked";
    ASSERT_EQ(shell.answers.size(), 1u);
    EXPECT_NE(shell.answers[0].second.find("\"id\":3,\"error\""), std::string::npos)
        << shell.answers[0].second;
    EXPECT_EQ(metrics.rpc.methods[rpc::method_slot("eth_blockNumber")].retries.load(), 1u);
}

TEST_F(RpcCore, ATransactionGoesToEveryNodeAndTheFirstSuccessAnswers) {
    request(R"({"jsonrpc":"2.0","id":"t","method":"eth_sendRawTransaction","params":["0x00"]})");
    ASSERT_EQ(shell.sent.size(), 3u);
    reply(0, R"({"jsonrpc":"2.0","id":"t","error":{"code":-32000,"message":"nonce too low"}})");
    EXPECT_TRUE(shell.answers.empty());
    reply(1, R"({"jsonrpc":"2.0","id":"t","error":{"code":-32000,"message":"already known"}})");
    ASSERT_EQ(shell.answers.size(), 1u);
    EXPECT_EQ(shell.answers[0].second,
              R"({"jsonrpc":"2.0","id":"t","result":)"
              R"("0xbc36789e7a1e281436464229828f817d6612f7b477d66591ff96a9e064bcc98a"})");
    reply(2, R"({"jsonrpc":"2.0","id":"t","result":"0x12"})");
    EXPECT_EQ(shell.answers.size(), 1u) << "answered once";
    EXPECT_EQ(core->busy(), 0u);
}

TEST_F(RpcCore, AnvilsAlreadyImportedIsAlreadyKnownToo) {
    request(R"({"jsonrpc":"2.0","id":"t","method":"eth_sendRawTransaction","params":["0x00"]})");
    ASSERT_EQ(shell.sent.size(), 3u);
    reply(0, R"({"jsonrpc":"2.0","id":"t","error":{"code":-32003,)"
             R"("message":"transaction already imported"}})");
    ASSERT_EQ(shell.answers.size(), 1u);
    EXPECT_NE(shell.answers[0].second.find(R"("result":"0xbc36789e7a1e2814)"), std::string::npos)
        << shell.answers[0].second;
    EXPECT_EQ(metrics.rpc.already_known.load(), 1u);
}

TEST_F(RpcCore, ATransactionEveryNodeRefusesGetsTheFirstError) {
    request(R"({"jsonrpc":"2.0","id":1e0,"method":"eth_sendRawTransaction","params":["0x00"]})");
    ASSERT_EQ(shell.sent.size(), 3u);
    core->on_reply(shell.sent[2].call, store.failure(2, Errc::io, "reset"), 1);
    // The nodes were sent id 4 (some refuse 1e0).
    reply(1, R"({"jsonrpc":"2.0","id":4,"error":{"code":-32000,"message":"nonce too low"}})");
    reply(0, R"({"jsonrpc":"2.0","id":4,"error":{"code":-32000,"message":"underpriced"}})");
    ASSERT_EQ(shell.answers.size(), 1u);
    EXPECT_EQ(shell.answers[0].second,
              R"({"jsonrpc":"2.0","id":1e0,"error":{"code":-32000,"message":"nonce too low"}})");
}

TEST_F(RpcCore, ATransactionSentAsANotificationIsBroadcastAndAnsweredWithNothing) {
    request(R"({"jsonrpc":"2.0","method":"eth_sendRawTransaction","params":["0x00"]})");
    ASSERT_EQ(shell.sent.size(), 3u);
    reply(0, R"({"jsonrpc":"2.0","id":null,"result":"0x12"})");
    EXPECT_TRUE(shell.answers.empty()) << "nothing until every node is in";
    reply(1, R"({"jsonrpc":"2.0","id":null,"result":"0x12"})");
    core->on_reply(shell.sent[2].call, store.failure(2, Errc::io, "reset"), 1);
    ASSERT_EQ(shell.answers.size(), 1u);
    EXPECT_EQ(shell.answers[0].first, 204);
    EXPECT_EQ(shell.answers[0].second, "");
    EXPECT_EQ(core->busy(), 0u);
}

// ---------------------------------------------------------------------------------------------
// A shared tier (Redis in production): the core parks a cacheable miss until the tier answers

struct FakeShared final : rpc::SharedAnswers {
    bool available = true;
    std::vector<std::pair<uint64_t, std::string>> gets;  ///< ticket, key
    std::vector<std::pair<std::string, std::string>> puts;
    bool get(uint64_t ticket, std::string_view key) override {
        if (!available) return false;
        gets.emplace_back(ticket, std::string(key));
        return true;
    }
    void put(std::string_view key, std::string_view result) override {
        puts.emplace_back(std::string(key), std::string(result));
    }
};

struct RpcCoreShared : RpcCore {
    FakeShared shared;
    void SetUp() override {
        RpcCore::SetUp();
        policy->set_shared(&shared);
    }
};

TEST_F(RpcCoreShared, AnEmbeddedMissWaitsForTheTierAndItsHitTouchesNoNode) {
    request(R"({"jsonrpc":"2.0","id":"a\u0062","method":"eth_getBlockByNumber",)"
            R"("params":["0x10",false]})");
    ASSERT_EQ(shared.gets.size(), 1u) << "the tier is asked after the embedded cache missed";
    EXPECT_TRUE(shell.sent.empty()) << "no node while the tier looks";
    EXPECT_TRUE(shell.answers.empty()) << "the completion rule: nothing inside on_request";
    EXPECT_EQ(core->busy(), 1u) << "a parked request counts as in flight";
    core->resume(shared.gets[0].first, true, R"({"number":"0x10"})", 2);
    EXPECT_TRUE(shell.sent.empty());
    ASSERT_EQ(shell.answers.size(), 1u);
    EXPECT_EQ(shell.answers[0].second,
              R"({"jsonrpc":"2.0","id":"a\u0062","result":{"number":"0x10"}})");
    EXPECT_EQ(core->busy(), 0u);
}

TEST_F(RpcCoreShared, ATierMissGoesToANodeAndItsAnswerIsStoredInBoth) {
    request(R"({"jsonrpc":"2.0","id":5,"method":"eth_getBlockByNumber","params":["0x10",false]})");
    ASSERT_EQ(shared.gets.size(), 1u);
    core->resume(shared.gets[0].first, false, "", 2);
    ASSERT_EQ(shell.sent.size(), 1u) << "a miss runs with the route the gate gave it";
    reply(0, R"({"jsonrpc":"2.0","id":5,"result":{"number":"0x10"}})");
    ASSERT_EQ(shell.answers.size(), 1u);
    EXPECT_EQ(shell.answers[0].second, R"({"jsonrpc":"2.0","id":5,"result":{"number":"0x10"}})");
    ASSERT_EQ(shared.puts.size(), 1u) << "a cacheable answer goes to the tier too";
    EXPECT_EQ(shared.puts[0].first, shared.gets[0].second);
    request(R"({"jsonrpc":"2.0","id":6,"method":"eth_getBlockByNumber","params":["0x10",false]})");
    EXPECT_EQ(shared.gets.size(), 1u) << "an embedded hit does not ask the tier";
    EXPECT_EQ(shell.answers.size(), 2u);
}

TEST_F(RpcCoreShared, AnUnavailableTierSendsTheReadToANodeAtOnce) {
    shared.available = false;
    request(R"({"jsonrpc":"2.0","id":5,"method":"eth_getBlockByNumber","params":["0x10",false]})");
    EXPECT_EQ(shell.sent.size(), 1u) << "no waiting when the tier is benched";
    request(R"({"jsonrpc":"2.0","id":6,"method":"eth_blockNumber"})");
    EXPECT_EQ(shell.sent.size(), 2u) << "a head read is never looked up";
    EXPECT_TRUE(shared.gets.empty());
}

TEST_F(RpcCoreShared, ParkedBatchEntriesComeBackInOrder) {
    request(R"([{"jsonrpc":"2.0","id":1,"method":"eth_getBlockByNumber","params":["0x10",false]},)"
            R"({"jsonrpc":"2.0","id":2,"method":"eth_blockNumber"},)"
            R"({"jsonrpc":"2.0","method":"eth_getBlockByNumber","params":["0x11",false]}])");
    ASSERT_EQ(shared.gets.size(), 2u);
    ASSERT_EQ(shell.sent.size(), 1u);
    core->resume(shared.gets[1].first, true, "{}", 2);  // the notification: no answer of its own
    reply(0, R"({"jsonrpc":"2.0","id":2,"result":"0x64"})");
    EXPECT_TRUE(shell.answers.empty());
    core->resume(shared.gets[0].first, true, R"({"n":1})", 2);
    ASSERT_EQ(shell.answers.size(), 1u);
    EXPECT_EQ(shell.answers[0].second, R"([{"jsonrpc":"2.0","id":1,"result":{"n":1}},)"
                                       R"({"jsonrpc":"2.0","id":2,"result":"0x64"}])");
    EXPECT_EQ(core->busy(), 0u);
}

// ---------------------------------------------------------------------------------------------
// eth_getLogs over max_logs_block_range: split, run across the nodes, merged

TEST_F(RpcPolicyTest, AWideLogsRangeIsSplitWithItsTagsResolvedOrRefusedSayingWhy) {
    rpc::PolicyConfig c;
    c.max_logs_block_range = 10;
    c.logs_split_pieces_max = 4;
    c.response_bytes_max = 12345;
    make(c);
    using V = GateDecision::Verdict;
    GateDecision d = admit("eth_getLogs", R"([{"fromBlock":"0x1","toBlock":"0x19"}])");
    ASSERT_EQ(d.verdict, V::split);
    EXPECT_EQ(d.split.from, 1u);
    EXPECT_EQ(d.split.to, 25u);
    EXPECT_EQ(d.split.blocks, 10u);
    EXPECT_EQ(d.split.bytes_max, 12345u);
    EXPECT_TRUE(d.route.rewrite_id);
    EXPECT_EQ(d.route.learn, Learn::nothing) << "a split is not cached";
    // "latest" is the highest head known (100); "finalized" the lowest a synced node reported.
    d = admit("eth_getLogs", R"([{"fromBlock":"0x5a"}])");
    ASSERT_EQ(d.verdict, V::split);
    EXPECT_EQ(d.split.from, 90u);
    EXPECT_EQ(d.split.to, 100u);
    d = admit("eth_getLogs", R"([{"fromBlock":"0x32","toBlock":"finalized"}])");
    ASSERT_EQ(d.verdict, V::split);
    EXPECT_EQ(d.split.to, 80u);
    // Not split: "safe" and "pending" ends, more pieces than allowed; named.
    d = admit("eth_getLogs", R"([{"fromBlock":"0x5a","toBlock":"safe"}])");
    ASSERT_EQ(d.verdict, V::refuse);
    EXPECT_EQ(d.code, -32602);
    EXPECT_NE(d.message.find("it is not split: \"safe\" is not resolved"), std::string_view::npos)
        << d.message;
    d = admit("eth_getLogs", R"([{"fromBlock":"0x5a","toBlock":"pending"}])");
    ASSERT_EQ(d.verdict, V::refuse);
    EXPECT_NE(d.message.find("\"pending\""), std::string_view::npos) << d.message;
    d = admit("eth_getLogs", R"([{"fromBlock":"0x0","toBlock":"0x28"}])");
    ASSERT_EQ(d.verdict, V::refuse);
    EXPECT_NE(d.message.find("blocks 0..40 are 41 blocks"), std::string_view::npos) << d.message;
    EXPECT_NE(d.message.find("5 pieces, over this endpoint's limit of 4 ([rpc] "
                             "logs_split_pieces_max); ask for at most 40 blocks"),
              std::string_view::npos)
        << d.message;
    EXPECT_EQ(admit("eth_getLogs", R"([{"fromBlock":"0x0","toBlock":"0x27"}])").verdict, V::split);
    EXPECT_EQ(metrics.rpc.logs_refused.load(), 3u);
    // A blockHash filter is one block: never split, never refused.
    EXPECT_EQ(admit("eth_getLogs", R"([{"blockHash":"0x01","fromBlock":"0x0","toBlock":"0xff"}])")
                  .verdict,
              V::run);
}

/// A log of block n (index i) as a mock EL writes it.
std::string log_of(uint64_t n, uint64_t i) {
    char text[128];
    std::snprintf(text, sizeof text, R"({"blockNumber":"0x%llx","logIndex":"0x%llx","data":"0x"})",
                  static_cast<unsigned long long>(n), static_cast<unsigned long long>(i));
    return text;
}

/// The logs of blocks from..to (one per odd block).
std::string logs_of(uint64_t from, uint64_t to) {
    std::string s = "[";
    for (uint64_t n = from; n <= to; n++) {
        if (n % 2 == 0) continue;
        if (s.size() > 1) s += ",";
        s += log_of(n, 0);
    }
    return s + "]";
}

struct RpcLogs : RpcCore {
    void SetUp() override {
        RpcCore::SetUp();
        rpc::PolicyConfig c;
        c.max_logs_block_range = 10;
        remake(c);
    }
    /// The piece the core sent as send k: "from..to" of its filter.
    std::string piece(size_t k) {
        const std::string& b = shell.sent[k].body;
        auto field = [&](const char* key) -> uint64_t {
            size_t at = b.find(key);
            if (at == std::string::npos) return uint64_t{0};
            return std::stoull(b.substr(at + std::strlen(key) + 3), nullptr, 16);
        };
        return std::to_string(field("\"fromBlock\":")) + ".." +
               std::to_string(field("\"toBlock\":"));
    }
    /// Node answers send k, under the id it was sent, with `result`.
    void answer(size_t k, const std::string& result) {
        const std::string& b = shell.sent[k].body;
        size_t at = b.find("\"id\":") + 5;
        std::string id = b.substr(at, b.find(',', at) - at);
        reply(k, R"({"jsonrpc":"2.0","id":)" + id + R"(,"result":)" + result + "}");
    }
};

TEST_F(RpcLogs, PiecesGoToEveryNodeInParallelAndMergeInBlockOrderUnderTheClientsId) {
    request(R"({"jsonrpc":"2.0","id":"a\u0062","method":"eth_getLogs","params":[)"
            R"({"fromBlock":"0x1","toBlock":"0x19","address":"0xaa"}]})");
    ASSERT_EQ(shell.sent.size(), 3u) << "three pieces at once";
    EXPECT_EQ(piece(0), "1..10");
    EXPECT_EQ(piece(1), "11..20");
    EXPECT_EQ(piece(2), "21..25");
    EXPECT_NE(shell.sent[0].body.find(R"("address":"0xaa")"), std::string::npos)
        << shell.sent[0].body;
    std::vector<size_t> to = {shell.sent[0].node, shell.sent[1].node, shell.sent[2].node};
    std::sort(to.begin(), to.end());
    EXPECT_EQ(to, (std::vector<size_t>{0, 1, 2})) << "each node a piece (node 2 has block 25)";
    answer(2, logs_of(21, 25));
    answer(0, logs_of(1, 10));
    EXPECT_TRUE(shell.answers.empty());
    answer(1, logs_of(11, 20));
    ASSERT_EQ(shell.answers.size(), 1u);
    EXPECT_EQ(shell.answers[0].second,
              R"({"jsonrpc":"2.0","id":"a\u0062","result":)" + logs_of(1, 25) + "}");
    EXPECT_EQ(metrics.rpc.logs_splits.load(), 1u);
    EXPECT_EQ(metrics.rpc.logs_pieces.load(), 3u);
    EXPECT_EQ(metrics.request_latency[method_slot_other].count.load(), 1u)
        << "one request's latency, not each piece's";
    EXPECT_EQ(core->busy(), 0u);
}

TEST_F(RpcLogs, APieceGoesOnlyToNodesThatHaveItsBlocks) {
    request(R"({"jsonrpc":"2.0","id":1,"method":"eth_getLogs","params":[)"
            R"({"fromBlock":"0x51","toBlock":"0x64"}]})");
    ASSERT_EQ(shell.sent.size(), 2u);
    EXPECT_EQ(piece(0), "81..90");
    EXPECT_EQ(piece(1), "91..100");
    EXPECT_NE(shell.sent[1].node, 2u) << "node 2's head is 90";
}

TEST_F(RpcLogs, APieceFailedOnEveryNodeAnswersAnErrorNamingItsRangeNeverAPartialArray) {
    request(R"({"jsonrpc":"2.0","id":7,"method":"eth_getLogs","params":[)"
            R"({"fromBlock":"0x1","toBlock":"0x19"}]})");
    ASSERT_EQ(shell.sent.size(), 3u);
    answer(0, logs_of(1, 10));
    // Piece 2 (11..20) fails on its node, is retried on the others, fails there too.
    for (size_t k = 1, tries = 0; tries < 3; tries++) {
        core->on_reply(shell.sent[k].call, store.failure(shell.sent[k].node, Errc::io, "reset"), 1);
        k = shell.sent.size() - 1;
        if (tries < 2) {
            ASSERT_EQ(shell.sent.size(), 4 + tries) << "retried on another node";
        }
    }
    ASSERT_EQ(shell.answers.size(), 1u) << "answered at once, piece 3 still out";
    const std::string& a = shell.answers[0].second;
    EXPECT_NE(a.find(R"("id":7,"error":{"code":-32000)"), std::string::npos) << a;
    EXPECT_NE(a.find("blocks 11..20 (piece 2 of 3) failed"), std::string::npos) << a;
    EXPECT_EQ(a.find("result"), std::string::npos) << a;
    EXPECT_EQ(core->busy(), 2u) << "the split waits for its last piece";
    answer(2, logs_of(21, 25));
    EXPECT_EQ(shell.answers.size(), 1u) << "nothing more for the client";
    EXPECT_EQ(core->busy(), 0u);
    EXPECT_EQ(metrics.rpc.logs_split_failures.load(), 1u);
}

TEST_F(RpcLogs, AnElsErrorForAPieceIsTheAnswerWithItsCodeAndTheRange) {
    request(R"({"jsonrpc":"2.0","id":7,"method":"eth_getLogs","params":[)"
            R"({"fromBlock":"0x1","toBlock":"0xf"}]})");
    ASSERT_EQ(shell.sent.size(), 2u);
    reply(1, R"({"jsonrpc":"2.0","id":2,"error":{"code":-32005,"message":"too many logs"}})");
    ASSERT_EQ(shell.answers.size(), 1u);
    EXPECT_EQ(shell.answers[0].second,
              R"({"jsonrpc":"2.0","id":7,"error":{"code":-32005,"message":"eth_getLogs: blocks )"
              R"(11..15 (piece 2 of 2) failed, so no answer is given for the whole range: too )"
              R"(many logs"}})");
    answer(0, logs_of(1, 10));
    EXPECT_EQ(shell.answers.size(), 1u);
    EXPECT_EQ(core->busy(), 0u);
}

TEST_F(RpcLogs, APieceWithLogsOutsideItsRangeFailsTheCall) {
    request(R"({"jsonrpc":"2.0","id":7,"method":"eth_getLogs","params":[)"
            R"({"fromBlock":"0x1","toBlock":"0xf"}]})");
    ASSERT_EQ(shell.sent.size(), 2u);
    answer(0, logs_of(1, 10));
    answer(1, logs_of(1, 15));
    ASSERT_EQ(shell.answers.size(), 1u);
    EXPECT_NE(shell.answers[0].second.find("blocks 11..15: a log is outside the piece's range "
                                           "(block 1); no partial answer is given"),
              std::string::npos)
        << shell.answers[0].second;
}

TEST_F(RpcLogs, ASplitInABatchKeepsItsPlace) {
    request(R"([{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber"},)"
            R"({"jsonrpc":"2.0","id":2,"method":"eth_getLogs","params":[)"
            R"({"fromBlock":"0x1","toBlock":"0xf"}]}])");
    ASSERT_EQ(shell.sent.size(), 3u);
    answer(2, logs_of(11, 15));
    answer(1, logs_of(1, 10));
    reply(0, R"({"jsonrpc":"2.0","id":1,"result":"0x64"})");
    ASSERT_EQ(shell.answers.size(), 1u);
    EXPECT_EQ(shell.answers[0].second, R"([{"jsonrpc":"2.0","id":1,"result":"0x64"},)"
                                       R"({"jsonrpc":"2.0","id":2,"result":)" +
                                           logs_of(1, 15) + "}]");
}

TEST_F(RpcLogs, WithNoNodeEveryPieceFailsAtOnceAndTheClientGetsOneError) {
    for (size_t i = 0; i < 3; i++) nodes.views[i].health = Health::dead;
    request(R"({"jsonrpc":"2.0","id":7,"method":"eth_getLogs","params":[)"
            R"({"fromBlock":"0x1","toBlock":"0xf"}]})");
    EXPECT_TRUE(shell.sent.empty());
    ASSERT_EQ(shell.answers.size(), 1u);
    EXPECT_NE(shell.answers[0].second.find("blocks 1..10 (piece 1 of 2) failed"), std::string::npos)
        << shell.answers[0].second;
    EXPECT_EQ(core->busy(), 0u);
}

// ---------------------------------------------------------------------------------------------
// [rpc] sticky: a client's reads never go back in time

TEST(RpcStickyTable, AClientsNodeAndFloorAndTheLeastRecentlyServedIsEvicted) {
    rpc::StickyTable t(4);  // one bucket of four
    rpc::StickyEntry e;
    EXPECT_EQ(t.capacity(), 4u);
    EXPECT_FALSE(t.find(11, e));
    EXPECT_FALSE(t.served(11, 1, 100));
    EXPECT_FALSE(t.served(11, 2, 90));
    ASSERT_TRUE(t.find(11, e));
    EXPECT_EQ(e.node, 2);
    EXPECT_EQ(e.floor, 100) << "the floor never goes down";
    for (uint64_t c = 12; c <= 14; c++) EXPECT_FALSE(t.served(c, 0, 1));
    EXPECT_FALSE(t.served(11, 2, 101));  // 11 served last: 12 is the least recent now
    EXPECT_TRUE(t.served(15, 0, 5));
    EXPECT_FALSE(t.find(12, e));
    EXPECT_TRUE(t.find(11, e));
    EXPECT_TRUE(t.find(15, e));
    EXPECT_EQ(rpc::StickyTable(65'536).capacity(), 65'536u);
    EXPECT_EQ(rpc::StickyTable(5).capacity(), 8u) << "rounded up to whole buckets";
}

struct RpcSticky : RpcCore {
    Origin alice{.client = 0, .wall_s = 0, .sticky = 42};
    void SetUp() override {
        RpcCore::SetUp();
        rpc::PolicyConfig c;
        c.sticky = rpc::StickyBy::address;
        remake(c);
    }
    /// One read by `who`, answered by the node it went to; that node. (Reads of old blocks
    /// name another account each time: the same read again would be a cache hit.)
    size_t read(const std::string& method, const std::string& params, const Origin& who) {
        size_t before = shell.sent.size();
        request(R"({"jsonrpc":"2.0","id":1,"method":")" + method + R"(","params":)" + params + "}",
                who);
        EXPECT_EQ(shell.sent.size(), before + 1);
        if (shell.sent.size() != before + 1) return SIZE_MAX;
        reply(before, R"({"jsonrpc":"2.0","id":1,"result":"0x1"})");
        return shell.sent[before].node;
    }
};

TEST_F(RpcSticky, AClientsReadsStayOnItsNodeWhileItIsAtTheHead) {
    nodes.views[1].latency_ewma_us = 5000;  // node 0 is the pick of a new client
    EXPECT_EQ(read("eth_blockNumber", "[]", alice), 0u);
    nodes.views[0].outstanding = 50;  // now node 1 would be the pick ...
    EXPECT_EQ(read("eth_blockNumber", "[]", alice), 0u) << "... but alice stays";
    EXPECT_EQ(read("eth_getBalance", R"(["0x02","0x10"])", alice), 0u);
    EXPECT_EQ(read("eth_blockNumber", "[]", Origin{}), 1u) << "anyone else: the usual pick";
    EXPECT_EQ(metrics.rpc.sticky_kept.load(), 2u);
}

TEST_F(RpcSticky, MovingOnlyToANodeAtOrPastTheNewestBlockServed) {
    EXPECT_LT(read("eth_blockNumber", "[]", alice), 2u);  // at 100, from node 0 or 1
    size_t first = shell.sent.back().node;
    nodes.views[first].health = Health::dead;
    // Another node at 100 takes it; never node 2 (at 90), even for an old block it has.
    EXPECT_EQ(read("eth_getBalance", R"(["0x03","0x10"])", alice), 1 - first);
    EXPECT_EQ(metrics.rpc.sticky_moved.load(), 1u);
    head(1 - first, 99, 90);  // the other went back (a reorg): it is behind alice now
    size_t before = shell.sent.size();
    request(R"({"jsonrpc":"2.0","id":5,"method":"eth_getBalance","params":["0x04","0x10"]})",
            alice);
    EXPECT_EQ(shell.sent.size(), before) << "no node has reached block 100";
    ASSERT_FALSE(shell.answers.empty());
    EXPECT_NE(shell.answers.back().second.find("none usable has reached block 100, the newest "
                                               "this client was served ([rpc] sticky)"),
              std::string::npos)
        << shell.answers.back().second;
    EXPECT_EQ(metrics.rpc.sticky_no_node.load(), 1u);
    // Without stickiness the same read may go to node 2, which has block 16.
    nodes.views[1 - first].latency_ewma_us = 50'000;
    EXPECT_EQ(read("eth_getBalance", R"(["0x05","0x10"])", Origin{}), 2u);
}

TEST_F(RpcSticky, AReadOfAnOldBlockRaisesTheFloorOnlyToThatBlock) {
    nodes.views[0].latency_ewma_us = 5000;
    nodes.views[1].latency_ewma_us = 5000;  // node 2 is the pick when it qualifies
    EXPECT_EQ(read("eth_getBalance", R"(["0x06","0x50"])", alice), 2u);  // block 80
    nodes.views[2].health = Health::dead;
    EXPECT_LT(read("eth_getBalance", R"(["0x07","0x50"])", alice), 2u);
    nodes.views[2].health = Health::synced;
    // Alice was served block 100 (the head) by that node: node 2 (at 90) is behind her now.
    EXPECT_LT(read("eth_getBalance", R"(["0x08","0x50"])", alice), 2u);
}

TEST_F(RpcSticky, OffByDefault) {
    remake(rpc::PolicyConfig{});
    nodes.views[1].latency_ewma_us = 5000;
    EXPECT_EQ(read("eth_blockNumber", "[]", alice), 0u);
    nodes.views[0].outstanding = 50;
    EXPECT_EQ(read("eth_blockNumber", "[]", alice), 1u);
    EXPECT_EQ(metrics.rpc.sticky_kept.load() + metrics.rpc.sticky_moved.load(), 0u);
}

// [rpc.agree]: a read asked of N nodes of different clients, answered only when they agree.
struct RpcAgree : RpcCore {
    void SetUp() override {
        RpcCore::SetUp();
        head(2, 100, 90);  // every node at the head
        client(0, "geth");
        client(1, "geth");
        client(2, "reth");
        rpc::PolicyConfig c;
        c.agree.emplace_back("eth_getBlockByNumber", 2);
        remake(c);
    }
    void client(size_t i, const char* name) {
        std::snprintf(nodes.views[i].client, sizeof nodes.views[i].client, "%s", name);
    }
    void get_block() {
        request(
            R"({"jsonrpc":"2.0","id":"b","method":"eth_getBlockByNumber","params":["latest",false]})");
    }
};

TEST_F(RpcAgree, TwoClientsThatAgreeUpToMemberOrderAnswerTheResult) {
    get_block();
    ASSERT_EQ(shell.sent.size(), 2u) << "one node per client";
    EXPECT_NE(shell.sent[0].node, shell.sent[1].node);
    EXPECT_TRUE(shell.sent[0].node == 2 || shell.sent[1].node == 2) << "reth is asked";
    reply(0, R"({"jsonrpc":"2.0","id":"b","result":{"number":"0x64","hash":"0xaa"}})");
    EXPECT_TRUE(shell.answers.empty()) << "no answer before every client's";
    reply(1, R"({"jsonrpc":"2.0","id":"b","result":{"hash":"0xaa","number":"0x64"}})");
    ASSERT_EQ(shell.answers.size(), 1u);
    EXPECT_EQ(shell.answers[0].second,
              R"({"jsonrpc":"2.0","id":"b","result":{"number":"0x64","hash":"0xaa"}})");
    EXPECT_EQ(metrics.rpc.agree_calls.load(), 1u);
    EXPECT_EQ(metrics.rpc.agree_agreed.load(), 1u);
    EXPECT_EQ(core->busy(), 0u);
}

TEST_F(RpcAgree, ADifferenceIsAnErrorNamingBothNodesTheirClientsAndWhere) {
    get_block();
    ASSERT_EQ(shell.sent.size(), 2u);
    reply(0, R"({"jsonrpc":"2.0","id":"b","result":{"number":"0x64","hash":"0xaa"}})");
    reply(1, R"({"jsonrpc":"2.0","id":"b","result":{"number":"0x64","hash":"0xbb"}})");
    ASSERT_EQ(shell.answers.size(), 1u);
    const std::string& a = shell.answers[0].second;
    EXPECT_NE(a.find(R"("id":"b","error":{"code":-32000)"), std::string::npos) << a;
    EXPECT_NE(a.find("eth_getBlockByNumber: the execution clients disagree"), std::string::npos)
        << a;
    EXPECT_NE(a.find("(reth)"), std::string::npos) << a;
    EXPECT_NE(a.find("(geth)"), std::string::npos) << a;
    EXPECT_NE(a.find("differ at result.hash"), std::string::npos) << a;
    EXPECT_EQ(metrics.rpc.agree_disagreed.load(), 1u);
}

TEST_F(RpcAgree, AnErrorOrAFailedNodeIsNoAgreement) {
    get_block();
    ASSERT_EQ(shell.sent.size(), 2u);
    reply(0, R"({"jsonrpc":"2.0","id":"b","result":{"number":"0x64"}})");
    core->on_reply(shell.sent[1].call, store.failure(shell.sent[1].node, Errc::io, "reset"), 1);
    ASSERT_EQ(shell.answers.size(), 1u);
    EXPECT_NE(shell.answers[0].second.find("no agreement ([rpc.agree]): node el"),
              std::string::npos)
        << shell.answers[0].second;
    EXPECT_NE(shell.answers[0].second.find("did not answer"), std::string::npos);
}

TEST_F(RpcAgree, FewerClientsThanAskedIsRefusedNamingTheUsableOnes) {
    client(2, "geth");
    get_block();
    EXPECT_TRUE(shell.sent.empty()) << "no node is asked";
    ASSERT_EQ(shell.answers.size(), 1u);
    const std::string& a = shell.answers[0].second;
    EXPECT_NE(a.find("eth_getBlockByNumber needs 2 execution clients of different "
                     "implementations to agree ([rpc.agree]); usable now: el"),
              std::string::npos)
        << a;
    EXPECT_NE(a.find("(geth)"), std::string::npos) << a;
    EXPECT_EQ(metrics.rpc.agree_short.load(), 1u);
}

TEST_F(RpcAgree, UnknownClientsNeverCountAndOtherMethodsAreNotAgreed) {
    client(2, "");
    get_block();
    EXPECT_TRUE(shell.sent.empty());
    ASSERT_EQ(shell.answers.size(), 1u);
    request(R"({"jsonrpc":"2.0","id":2,"method":"eth_blockNumber","params":[]})");
    EXPECT_EQ(shell.sent.size(), 1u) << "a read not in [rpc.agree] goes to one node";
}

// shadow_ratio: a sample of reads also goes to a second node (another implementation first);
// the client gets the read's node's answer at once, the two results are compared afterwards.
struct RpcShadow : RpcAgree {
    void SetUp() override {
        RpcAgree::SetUp();
        rpc::PolicyConfig c;
        c.shadow_ratio = 0.5;
        remake(c);
    }
    void balance(int id) {
        request(R"({"jsonrpc":"2.0","id":)" + std::to_string(id) +
                R"(,"method":"eth_getBalance","params":["0x01","latest"]})");
    }
};

TEST_F(RpcShadow, HalfTheReadsGoToASecondImplementationAndTheClientNeverWaitsForIt) {
    balance(1);
    ASSERT_EQ(shell.sent.size(), 1u) << "the first read is not in the sample";
    reply(0, R"({"jsonrpc":"2.0","id":1,"result":"0x1"})");
    balance(2);
    ASSERT_EQ(shell.sent.size(), 3u) << "the second is: two nodes";
    size_t read = shell.sent[1].node, shadow = shell.sent[2].node;
    EXPECT_NE(read, shadow);
    EXPECT_TRUE(read == 2 || shadow == 2) << "one of them is the reth";
    reply(1, R"({"jsonrpc":"2.0","id":2,"result":"0x5"})");
    ASSERT_EQ(shell.answers.size(), 2u) << "answered with the read's node alone";
    EXPECT_EQ(shell.answers[1].second, R"({"jsonrpc":"2.0","id":2,"result":"0x5"})");
    reply(2, R"({"jsonrpc":"2.0","id":2,"result":"0x6"})");
    EXPECT_EQ(shell.answers.size(), 2u) << "the shadow's answer is never shown";
    EXPECT_EQ(metrics.rpc.shadow_calls.load(), 1u);
    EXPECT_EQ(metrics.rpc.shadow_compared.load(), 1u);
    EXPECT_EQ(metrics.rpc.shadow_differences.load(), 1u);
    EXPECT_EQ(core->busy(), 0u);
}

TEST_F(RpcShadow, EqualAnswersAreCountedNotLoggedAndAFailedReadTakesTheShadowsAnswer) {
    balance(1);
    reply(0, R"({"jsonrpc":"2.0","id":1,"result":"0x1"})");
    balance(2);
    ASSERT_EQ(shell.sent.size(), 3u);
    reply(2, R"({"jsonrpc":"2.0","id":2,"result":"0x7"})");
    EXPECT_EQ(shell.answers.size(), 1u) << "the shadow answering first answers nobody";
    core->on_reply(shell.sent[1].call, store.failure(shell.sent[1].node, Errc::io, "reset"), 1);
    ASSERT_EQ(shell.answers.size(), 2u);
    EXPECT_EQ(shell.answers[1].second, R"({"jsonrpc":"2.0","id":2,"result":"0x7"})");
    EXPECT_EQ(metrics.rpc.shadow_compared.load(), 0u) << "one result: nothing to compare";
    balance(3);
    reply(3, R"({"jsonrpc":"2.0","id":3,"result":"0x1"})");
    balance(4);
    ASSERT_EQ(shell.sent.size(), 6u);
    reply(4, R"({"jsonrpc":"2.0","id":4,"result":"0x9"})");
    reply(5, R"({"jsonrpc":"2.0","id":4,"result":"0x9"})");
    EXPECT_EQ(metrics.rpc.shadow_compared.load(), 1u);
    EXPECT_EQ(metrics.rpc.shadow_differences.load(), 0u);
}

TEST_F(RpcShadow, TransactionsAndFiltersAreNeverShadowed) {
    for (int k = 0; k < 4; k++)
        request(
            R"({"jsonrpc":"2.0","id":"t","method":"eth_sendRawTransaction","params":["0x00"]})");
    EXPECT_EQ(metrics.rpc.shadow_calls.load(), 0u);
    for (int k = 0; k < 4; k++)
        request(R"({"jsonrpc":"2.0","id":"f","method":"eth_newBlockFilter","params":[]})");
    EXPECT_EQ(metrics.rpc.shadow_calls.load(), 0u);
}

// Beside the mux or sync role: head reads go to the nodes at the CL's head (ClHead), whatever
// the probes say; without a CL head (none yet, or stale), the probes decide.
TEST_F(RpcPolicyTest, HeadReadsFollowTheClsHeadWhenThereIsOne) {
    ClHead cl(36'000'000'000ull);
    policy->set_cl_head(&cl);
    head(2, 100, 90);  // by the probes, every node is at the head
    GateDecision d = admit("eth_blockNumber", "[]");
    EXPECT_EQ(d.route.head_nodes, 0u) << "no CL head yet: the probes'";
    engine::Hash32 h{};
    h.fill(7);
    cl.new_payload(h, 101, 0b100);  // only node 2 took the CL's block
    cl.forkchoice(h, 0b111, 1);
    d = admit("eth_blockNumber", "[]");
    EXPECT_EQ(d.route.head_nodes, 0b100u);
    EXPECT_EQ(policy->pick_route(nodes, 0, d.route), 2);
    EXPECT_EQ(policy->pick_route(nodes, 1u << 2, d.route), -1) << "no other node is at it";
    d = admit("eth_getBlockByNumber", R"(["0x10",false])");
    EXPECT_EQ(d.route.head_nodes, 0u) << "a read of an old block is not a head read";
    EXPECT_EQ(metrics.rpc.cl_head_reads.load(), 1u);
}

}  // namespace
}  // namespace em::pipeline::test
