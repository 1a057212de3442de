// The pipeline's calls, transition by transition: events in (replies, the block-hash verdict),
// actions out (sends, the answer, health reports, disagreement lines), named states in between.
// No I/O: the tests are the shell.
#include <gtest/gtest.h>

#include "fixture.h"
#include "pipeline/batch_call.h"
#include "pipeline/forward_call.h"
#include "pipeline/gather_call.h"
#include "pipeline/vote_call.h"

namespace em::pipeline::test {
namespace {

constexpr uint64_t ms = 1'000'000;
const char* const body = R"({"jsonrpc":"2.0","id":7,"method":"engine_newPayloadV4","params":[]})";

eth::Verdict verdict(bool match) {
    eth::Verdict v;
    v.match = match;
    v.claimed.fill(0x11);
    v.computed.fill(match ? 0x11 : 0x22);
    return v;
}

struct Votes : PipelineFixture {
    VoteCall call{env, 1 << 20};
    void start(const char* name = "engine_newPayloadV4", bool check = false) {
        out.clear();
        call.start(method(name), "7", body, check, 0, 10 * ms, out);
    }
    void reply(const NodeReply& r) {
        out.clear();
        call.on_reply(r, 20 * ms, out);
    }
};

TEST_F(Votes, SendsToEveryNodeInOrderMirrorsIncludedAndWaits) {
    nodes.set(0, true);
    nodes.set(1, true);
    nodes.set(3, false);  // a mirror: gets the call, never votes
    start();
    EXPECT_EQ(described(), "send 0 ordered, send 1 ordered, send 3 ordered");
    EXPECT_EQ(call.state(), VoteCall::State::collecting);
    EXPECT_EQ(metrics.upstream[3][method("engine_newPayloadV4").index].calls.load(), 1u);
}

TEST_F(Votes, ValidOnlyWhenNoVoterCanStillVeto) {
    for (size_t i = 0; i < 3; i++) nodes.set(i, true);
    start();
    reply(store.answer(0, status_result("7", "VALID", hash_a())));
    EXPECT_EQ(described(), "");  // a late INVALID could still veto
    reply(store.answer(1, status_result("7", "VALID", hash_a())));
    EXPECT_EQ(described(), "");
    reply(store.answer(2, status_result("7", "VALID", hash_a())));
    EXPECT_NE(answer().find("\"status\":\"VALID\""), std::string::npos) << described();
    EXPECT_TRUE(call.done());
    EXPECT_EQ(call.final_vote().reason, engine::VoteReason::quorum_valid);
}

TEST_F(Votes, AnInvalidMinorityAnswersSyncingAndIsLoggedAsADisagreement) {
    for (size_t i = 0; i < 3; i++) nodes.set(i, true);
    start();
    reply(store.answer(0, status_result("7", "VALID", hash_a())));
    reply(store.answer(1, status_result("7", "INVALID", hash_a())));
    reply(store.answer(2, status_result("7", "VALID", hash_a())));
    EXPECT_NE(answer().find("\"status\":\"SYNCING\""), std::string::npos) << described();
    EXPECT_NE(described().find("disagreement"), std::string::npos);
    // Only the node that left the plurality is counted, not every voter that the made-up
    // SYNCING differs from.
    EXPECT_EQ(metrics.node_disagreements[0].load(), 0u);
    EXPECT_EQ(metrics.node_disagreements[1].load(), 1u);
    EXPECT_EQ(metrics.node_disagreements[2].load(), 0u);
    // The operator's record of the vote: what the CL was told, why, each node's answer.
    VoteRecord r;
    ASSERT_EQ(metrics.recent_votes.newest(&r, 1), 1u);
    EXPECT_EQ(r.told, static_cast<uint8_t>(engine::Status::syncing));
    EXPECT_EQ(r.reason, static_cast<uint8_t>(engine::VoteReason::invalid_minority));
    EXPECT_EQ(r.outcome[0],
              VoteRecord::answered_valid + static_cast<uint8_t>(engine::Status::valid));
    EXPECT_EQ(r.outcome[1],
              VoteRecord::answered_valid + static_cast<uint8_t>(engine::Status::invalid));
    EXPECT_EQ(r.outcome[3], VoteRecord::not_in_call);
    EXPECT_EQ(r.voters, 0b111u);
}

TEST_F(Votes, AFinalInvalidQuorumAnswersEarlyThenCollectsTheRest) {
    for (size_t i = 0; i < 3; i++) nodes.set(i, true);
    start();
    reply(store.answer(0, status_result("7", "INVALID", hash_a())));
    EXPECT_EQ(answer(), "");
    reply(store.answer(1, status_result("7", "INVALID", hash_a())));
    EXPECT_NE(answer().find("\"status\":\"INVALID\""), std::string::npos);
    EXPECT_EQ(call.state(), VoteCall::State::answered);
    EXPECT_EQ(metrics.votes_early.load(), 1u);
    reply(store.answer(2, status_result("7", "VALID", hash_a())));
    EXPECT_EQ(answer(), "");  // already answered: tallied, logged
    EXPECT_NE(described().find("disagreement"), std::string::npos);
    EXPECT_TRUE(call.done());
}

TEST_F(Votes, NothingIsDecidedBeforeTheBlockHashVerdict) {
    for (size_t i = 0; i < 2; i++) nodes.set(i, true);
    start("engine_newPayloadV4", /*check=*/true);
    EXPECT_EQ(call.hash_check(), VoteCall::HashCheck::pending);
    reply(store.answer(0, status_result("7", "VALID", hash_a())));
    reply(store.answer(1, status_result("7", "VALID", hash_a())));
    EXPECT_EQ(answer(), "") << "decided before the block hash was checked";
    EXPECT_FALSE(call.done());
    out.clear();
    call.on_hash(verdict(true), 30 * ms, out);
    EXPECT_NE(answer().find("\"status\":\"VALID\""), std::string::npos);
    EXPECT_TRUE(call.done());
}

TEST_F(Votes, AMismatchedBlockHashIsInvalidAtOnceWhateverTheNodesSay) {
    for (size_t i = 0; i < 2; i++) nodes.set(i, true);
    start("engine_newPayloadV1", /*check=*/true);
    out.clear();
    call.on_hash(verdict(false), 11 * ms, out);
    EXPECT_NE(answer().find("\"status\":\"INVALID_BLOCK_HASH\""), std::string::npos) << described();
    EXPECT_NE(answer().find("does not match the payload"), std::string::npos);
    EXPECT_EQ(call.state(), VoteCall::State::answered);
    reply(store.answer(0, status_result("7", "VALID", hash_a())));
    reply(store.answer(1, status_result("7", "VALID", hash_a())));
    EXPECT_EQ(answer(), "");
    // The nodes said VALID to a payload that does not hash to its blockHash: logged.
    EXPECT_NE(described().find("disagreement"), std::string::npos);
    EXPECT_EQ(metrics.block_hash_mismatch.load(), 1u);
}

TEST_F(Votes, ANodeDeadAtTheStartIsNotWaitedFor) {
    nodes.set(0, true);
    nodes.set(1, true);
    nodes.set(2, true, Health::dead);
    start();
    reply(store.answer(0, status_result("7", "VALID", hash_a())));
    reply(store.answer(1, status_result("7", "VALID", hash_a())));
    EXPECT_NE(answer().find("\"status\":\"VALID\""), std::string::npos) << described();
    EXPECT_EQ(call.state(), VoteCall::State::answered);
}

TEST_F(Votes, ATimeoutReportsTheNodeAndMakesItSuspect) {
    nodes.set(0, true);
    nodes.set(1, true);
    start();
    reply(store.failure(1, Errc::timeout, "el1 did not answer in time"));
    EXPECT_EQ(described(), "node_failed 1");
    EXPECT_TRUE(suspect[1]);
    reply(store.answer(0, status_result("7", "VALID", hash_a())));
    EXPECT_NE(answer().find("VALID"), std::string::npos);
    // The next vote does not wait for the suspect node.
    start();
    reply(store.answer(0, status_result("7", "VALID", hash_a())));
    EXPECT_NE(answer().find("\"status\":\"VALID\""), std::string::npos);
}

TEST_F(Votes, AReplyFromARemovedNodeDoesNotReportItsSuccessor) {
    nodes.set(0, true);
    start();
    NodeReply r = store.failure(0, Errc::io, "connection reset");
    r.current = false;
    reply(r);
    EXPECT_EQ(described().find("node_failed"), std::string::npos);
}

TEST_F(Votes, WhenEveryVoterRejectsTheCallItsErrorIsRelayed) {
    nodes.set(0, true);
    nodes.set(1, true);
    start();
    const char* err =
        R"({"jsonrpc":"2.0","id":7,"error":{"code":-38005,"message":"Unsupported fork"}})";
    reply(store.answer(0, err));
    reply(store.answer(1, err));
    EXPECT_NE(answer().find("-38005"), std::string::npos) << described();
}

TEST_F(Votes, ForkchoiceUpdatedValidMintsOurPayloadId) {
    nodes.set(0, true);
    nodes.set(1, true);
    out.clear();
    call.start(method("engine_forkchoiceUpdatedV3"), "9", "{}", false, 0, 10 * ms, out);
    auto fcu = [](const char* pid) {
        return std::string(R"({"jsonrpc":"2.0","id":9,"result":{"payloadStatus":{"status":"VALID",)"
                           R"("latestValidHash":")") +
               hash_a() + R"(","validationError":null},"payloadId":")" + pid + "\"}}";
    };
    reply(store.answer(0, fcu("0x0000000000000001")));
    reply(store.answer(1, fcu("0x0000000000000002")));
    std::string a = answer();
    ASSERT_NE(a.find("\"payloadId\":\"0x"), std::string::npos) << described();
    EXPECT_EQ(a.find("0x0000000000000001"), std::string::npos) << "an EL's own id leaked";
    EXPECT_EQ(metrics.payload_ids_minted.load(), 1u);
}

TEST_F(Votes, NoNodesAnswersSyncingAtOnce) {
    start();
    EXPECT_NE(answer().find("\"status\":\"SYNCING\""), std::string::npos) << described();
    EXPECT_TRUE(call.done());
}

// ---------------------------------------------------------------------------------------------

struct Forwards : PipelineFixture {
    ForwardCall call{env, 1 << 20};
    const char* request = R"({"jsonrpc":"2.0","id":3,"method":"eth_blockNumber","params":[]})";
    void start(const engine::MethodInfo* m = nullptr, std::string_view ids = "3",
               bool read_only = false) {
        out.clear();
        call.start(request, ids, false, m ? m->index : method_slot_other, m, read_only, 0, 10 * ms,
                   out);
    }
    void reply(const NodeReply& r, bool waiting = true) {
        out.clear();
        call.on_reply(r, waiting, 20 * ms, out);
    }
};

TEST_F(Forwards, GoesToThePrimaryAndRelaysItsAnswerUnchanged) {
    nodes.set(0, true);
    nodes.set(1, true);
    nodes.primary_index = 1;
    start();
    EXPECT_EQ(described(), "send 1");
    std::string a = R"({"jsonrpc":"2.0","id":3,"result":"0x10"})";
    reply(store.answer(1, a));
    EXPECT_EQ(described(), "answer 200 " + a);
    EXPECT_TRUE(call.done());
}

TEST_F(Forwards, FailsOverOnErrorsButNotOnATimeout) {
    nodes.set(0, true);
    nodes.set(1, true);
    start();
    reply(store.answer(0, "oops", 502));
    EXPECT_EQ(described(), "send 1");
    EXPECT_EQ(metrics.retries.load(), 1u);
    reply(store.failure(1, Errc::timeout, "el1 did not answer in time"));
    EXPECT_NE(described().find("node_failed 1, answer 200"), std::string::npos) << described();
    EXPECT_NE(answer().find("el1: el1 did not answer in time"), std::string::npos) << answer();
}

// Issue 19: the -32000 an operator reads names every node that was asked and why it failed.
TEST_F(Forwards, TheErrorNamesEveryNodeAndWhy) {
    nodes.set(0, true);
    nodes.set(1, true);
    nodes.set(2, true);
    start();
    reply(store.answer(0, "oops", 502));
    EXPECT_EQ(described(), "send 1");
    reply(store.failure(1, Errc::io, "connection refused"));
    EXPECT_NE(described().find("send 2"), std::string::npos) << described();
    reply(store.answer(2, "not json"));
    std::string a = answer();
    EXPECT_NE(a.find("\"code\":-32000"), std::string::npos) << a;
    EXPECT_NE(a.find("el0 answered HTTP 502; el1: connection refused; el2 sent a malformed "
                     "JSON-RPC answer"),
              std::string::npos)
        << a;
}

TEST_F(Forwards, AWriteThatTimedOutSaysWhyTheOthersWereNotAsked) {
    nodes.set(0, true);
    nodes.set(1, true);
    start();
    reply(store.failure(0, Errc::timeout, "el0 did not answer in time"));
    std::string a = answer();
    EXPECT_NE(a.find("el0: el0 did not answer in time (not retried on another node: the call may "
                     "change state)"),
              std::string::npos)
        << a;
}

// Issue 19: a frozen primary. A read-only call (eth_* reads) whose node does not answer within
// its short deadline is asked of the next node; the timeout also reports the node.
TEST_F(Forwards, AReadOnlyCallIsAskedOfTheNextNodeWhenOneTimesOut) {
    nodes.set(0, true);
    nodes.set(1, true);
    start(nullptr, "3", /*read_only=*/true);
    EXPECT_EQ(described(), "send 0");
    reply(store.failure(0, Errc::timeout, "el0 did not answer in time"));
    EXPECT_EQ(described(), "node_failed 0, send 1");
    std::string a = R"({"jsonrpc":"2.0","id":3,"result":"0x10"})";
    reply(store.answer(1, a));
    EXPECT_EQ(answer(), a);
}

TEST(ReadOnly, ReadsYesWritesAndNodeLocalStateNo) {
    for (const char* m : {"eth_blockNumber", "eth_getBalance", "eth_call", "eth_getLogs",
                          "net_version", "web3_clientVersion", "txpool_status"}) {
        EXPECT_TRUE(engine::read_only(m)) << m;
    }
    for (const char* m : {"eth_sendRawTransaction", "eth_sendTransaction", "eth_sign",
                          "eth_newFilter", "eth_getFilterChanges", "eth_subscribe",
                          "engine_newPayloadV4", "admin_addPeer", "debug_setHead"}) {
        EXPECT_FALSE(engine::read_only(m)) << m;
    }
}

TEST_F(Forwards, NoRetryWhenTheClientWentAway) {
    nodes.set(0, true);
    nodes.set(1, true);
    start();
    reply(store.failure(0, Errc::io, "connection reset"), /*waiting=*/false);
    EXPECT_EQ(described().find("send"), std::string::npos) << described();
    EXPECT_TRUE(call.done());
}

TEST_F(Forwards, NullFromOneNodeIsAskedOfTheNext) {
    nodes.set(0, true);
    nodes.set(1, true);
    start(&method("engine_getBlobsV1"));
    reply(store.answer(0, R"({"jsonrpc":"2.0","id":3,"result":null})"));
    EXPECT_EQ(described(), "send 1");
}

TEST_F(Forwards, ANotificationsEmptyAnswerIsRelayed) {
    nodes.set(0, true);
    start(nullptr, "");
    reply(store.answer(0, "", 204));
    EXPECT_EQ(described(), "answer 204 ");
}

TEST_F(Forwards, NobodyToAskAnswersAnErrorNamingWhy) {
    start();
    EXPECT_NE(answer().find("no execution client is available"), std::string::npos);
    EXPECT_TRUE(call.done());
}

// ---------------------------------------------------------------------------------------------

struct Gathers : PipelineFixture {
    GatherCall call{env, 1 << 20};
    void reply(const NodeReply& r) {
        out.clear();
        call.on_reply(r, 20 * ms, out);
    }
};

TEST_F(Gathers, BestOfAsksEachBuilderWithItsOwnPayloadIdAndRelaysAnError) {
    nodes.set(0, true);
    nodes.set(2, true);
    engine::NodePayloadId builders[2] = {{0, {}}, {2, {}}};
    builders[0].id.bytes[7] = 1;
    builders[1].id.bytes[7] = 2;
    call.start_best_of(method("engine_getPayloadV4"), "5", builders, 0, 10 * ms, out);
    EXPECT_EQ(described(), "send 0, send 2");
    EXPECT_NE(std::string(out.view()[0].bytes).find("0x0000000000000001"), std::string::npos);
    EXPECT_NE(std::string(out.view()[1].bytes).find("0x0000000000000002"), std::string::npos);
    const char* err =
        R"({"jsonrpc":"2.0","id":5,"error":{"code":-38001,"message":"Unknown payload"}})";
    reply(store.answer(0, err));
    EXPECT_EQ(answer(), "");
    reply(store.answer(2, err));
    EXPECT_EQ(answer(), err);
    EXPECT_TRUE(call.done());
}

TEST_F(Gathers, BestOfWithoutAPayloadNamesEachBuilderAndWhy) {
    nodes.set(0, true);
    nodes.set(1, true);
    nodes.set(2, true);
    engine::NodePayloadId builders[3] = {{0, {}}, {1, {}}, {2, {}}};
    call.start_best_of(method("engine_getPayloadV4"), "5", builders, 0, 10 * ms, out);
    reply(store.failure(0, Errc::timeout, "no answer within 1000 ms"));
    reply(store.answer(1, "busy", 503));
    reply(store.answer(2, R"({"jsonrpc":"2.0","id":5,"result":{"blockValue":"0x1"}})"));
    std::string a = answer();
    EXPECT_NE(a.find("\"code\":-32000"), std::string::npos) << a;
    EXPECT_NE(a.find("no execution client returned the payload: el0: no answer within 1000 ms; "
                     "el1: HTTP 503; el2: not a well-formed payload"),
              std::string::npos)
        << a;
}

TEST_F(Gathers, BestOfWithNoBuilderSaysSo) {
    call.start_best_of(method("engine_getPayloadV4"), "5", {}, 0, 10 * ms, out);
    EXPECT_NE(answer().find("no execution client returned the payload (no node holds this "
                            "payloadId)"),
              std::string::npos)
        << answer();
}

TEST_F(Gathers, IntersectGoesToVotersOnlyAndAnswersTheCommonMethods) {
    nodes.set(0, true);
    nodes.set(1, false);  // a mirror takes no part
    nodes.set(2, true);
    call.start_merge(CallKind::intersect, method("engine_exchangeCapabilities"), "1", "{}", 0,
                     10 * ms, out);
    EXPECT_EQ(described(), "send 0, send 2");
    reply(store.answer(0, R"({"jsonrpc":"2.0","id":1,"result":["a","b"]})"));
    reply(store.answer(2, R"({"jsonrpc":"2.0","id":1,"result":["b","c"]})"));
    EXPECT_NE(answer().find("[\"b\"]"), std::string::npos) << answer();
}

// ---------------------------------------------------------------------------------------------

TEST(Batch, AnswersInElementOrderOnceStartedAndEveryElementIsIn) {
    BatchCall batch;
    Actions out;
    batch.start(3);
    for (size_t i = 0; i < 3; i++) batch.want(i, i != 1);  // element 1: a notification
    batch.set(2, R"({"id":2})", out);  // answered while the batch is still starting
    EXPECT_EQ(out.size(), 0u);
    batch.started(out);
    EXPECT_EQ(out.size(), 0u);
    EXPECT_EQ(batch.state(), BatchCall::State::collecting);
    batch.set(1, "", out);
    batch.set(0, R"({"id":0})", out);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out.view()[0].bytes, R"([{"id":0},{"id":2}])");
    EXPECT_TRUE(batch.done());
}

TEST(Batch, OnlyNotificationsAnswer204) {
    BatchCall batch;
    Actions out;
    batch.start(1);
    batch.set(0, "", out);
    batch.started(out);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out.view()[0].http_status, 204);
}

}  // namespace
}  // namespace em::pipeline::test
