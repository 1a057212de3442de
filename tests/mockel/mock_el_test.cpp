// Integration tests of enginemux-mock-el: the real binary on 127.0.0.1, real sockets.
#include <gtest/gtest.h>

#include <cstdio>
#include <ctime>
#include <fstream>

#include "common/hex_case.h"
#include "eth/keccak/keccak.h"
#include "http/jwt.h"
#include "mock_el_common.h"

namespace em::test {
namespace {

using simdjson::dom::element;

void keccak(const uint8_t* data, size_t size, uint8_t* out) {
    eth::keccak256(std::span<const uint8_t>(data, size), out);
}

// ---------------------------------------------------------------- default answers

TEST_F(MockElTest, EthMethodsAnswerDefaults) {
    start({"--name", "node-a", "--head", "250"});
    auto j = call_json(rpc("eth_blockNumber", "[]", "\"abc\""));
    EXPECT_EQ(str(j->root["id"]), "abc");
    EXPECT_EQ(str(j->root["jsonrpc"]), "2.0");
    EXPECT_EQ(str(j->root["result"]), "0xfa");
    EXPECT_EQ(str(call_json(rpc("eth_chainId"))->root["result"]), "0x1");
    EXPECT_EQ(str(call_json(rpc("net_version"))->root["result"]), "1");
    EXPECT_EQ(str(call_json(rpc("eth_call", "[{},\"latest\"]"))->root["result"]), "0x");
    auto syncing = call_json(rpc("eth_syncing"));
    EXPECT_TRUE(syncing->root["result"].is_bool());
    EXPECT_FALSE(bool(syncing->root["result"]));
    EXPECT_NE(str(call_json(rpc("web3_clientVersion"))->root["result"]).find("node-a"),
              std::string::npos);
}

TEST_F(MockElTest, GetBlockByNumberIsFreshAndChained) {
    start({"--head", "7"});
    auto latest = call_json(rpc("eth_getBlockByNumber", "[\"latest\",false]", "5"));
    EXPECT_EQ(int64_t(latest->root["id"]), 5);
    element block = latest->root["result"];
    EXPECT_EQ(str(block["number"]), "0x7");
    uint64_t ts = std::stoull(str(block["timestamp"]), nullptr, 16);
    uint64_t now = static_cast<uint64_t>(std::time(nullptr));
    EXPECT_LE(ts, now + 1);
    EXPECT_GE(ts + 5, now) << "timestamp must be now so health checks see a fresh head";
    std::string hash7 = str(block["hash"]);
    EXPECT_EQ(hash7.size(), 66u);
    auto six = call_json(rpc("eth_getBlockByNumber", "[\"0x6\",false]"));
    EXPECT_EQ(str(six->root["result"]["hash"]), str(block["parentHash"]));
    EXPECT_NE(str(six->root["result"]["hash"]), hash7);
    auto future = call_json(rpc("eth_getBlockByNumber", "[\"0x8\",false]"));
    EXPECT_TRUE(future->root["result"].is_null());
    auto bad = call_json(rpc("eth_getBlockByNumber", "[\"soon\",false]"));
    EXPECT_EQ(int64_t(bad->root["error"]["code"]), -32602);
}

TEST_F(MockElTest, UnknownMethodIsMethodNotFound) {
    start();
    auto j = call_json(rpc("eth_getStorageAt", "[]", "42"));
    EXPECT_EQ(int64_t(j->root["id"]), 42);
    EXPECT_EQ(int64_t(j->root["error"]["code"]), -32601);
    EXPECT_EQ(str(j->root["error"]["message"]),
              "the method eth_getStorageAt does not exist/is not available");
}

TEST_F(MockElTest, GetLogsAnswersTheSameLogsPerBlockUpToTheHeadWithinItsLimit) {
    start({"--head", "10", "--logs-blocks-max", "8"});
    // Block n has n % 3 logs: blocks 4 (1 log) and 5 (2 logs).
    auto j = call_json(rpc("eth_getLogs", R"([{"fromBlock":"0x4","toBlock":"0x5"}])", "1"));
    simdjson::dom::array logs = j->root["result"];
    ASSERT_EQ(logs.size(), 3u);
    EXPECT_EQ(str(logs.at(0)["blockNumber"]), "0x4");
    EXPECT_EQ(str(logs.at(2)["blockNumber"]), "0x5");
    EXPECT_EQ(str(logs.at(2)["logIndex"]), "0x1");
    // Tags are the head (10); past the head: up to it.
    auto tail = call_json(rpc("eth_getLogs", R"([{"fromBlock":"0x9","toBlock":"0xff"}])", "2"));
    EXPECT_EQ(simdjson::dom::array(tail->root["result"]).size(), 1u) << "block 10: 1 log, 9: none";
    auto latest = call_json(rpc("eth_getLogs", R"([{"fromBlock":"0x9"}])", "3"));
    EXPECT_EQ(simdjson::dom::array(latest->root["result"]).size(), 1u);
    auto wide = call_json(rpc("eth_getLogs", R"([{"fromBlock":"0x0","toBlock":"0x8"}])", "4"));
    EXPECT_EQ(int64_t(wide->root["error"]["code"]), -32005);
    EXPECT_EQ(str(wide->root["error"]["message"]),
              "query exceeds the limit of 8 blocks (--logs-blocks-max)");
    auto backwards = call_json(rpc("eth_getLogs", R"([{"fromBlock":"0x5","toBlock":"0x4"}])", "5"));
    EXPECT_EQ(int64_t(backwards->root["error"]["code"]), -32602);
}

TEST_F(MockElTest, NewPayloadValidWithBlockHashAndAdvancesHead) {
    start({"--head", "100"});
    std::string block = hash_of('a'), parent = hash_of('b');
    auto j =
        call_json(rpc("engine_newPayloadV1", "[" + payload_v1(block, parent, "0x2000") + "]", "9"));
    EXPECT_EQ(int64_t(j->root["id"]), 9);
    element result = j->root["result"];
    EXPECT_EQ(str(result["status"]), "VALID");
    EXPECT_EQ(str(result["latestValidHash"]), block);
    EXPECT_TRUE(result["validationError"].is_null());
    EXPECT_EQ(str(call_json(rpc("eth_blockNumber"))->root["result"]), "0x2000");
    // A lower block does not move the head back.
    call_json(rpc("engine_newPayloadV2", "[" + payload_v1(hash_of('c'), block, "0x10") + "]"));
    EXPECT_EQ(str(call_json(rpc("eth_blockNumber"))->root["result"]), "0x2000");
}

// Upper-case hex is read (as ELs do); what the mock writes is lower case.
TEST_F(MockElTest, UpperCaseHexIsReadAndAnswersAreLowerCase) {
    start({"--head", "1"});
    std::string block = "0x" + std::string(64, 'A'), parent = "0x" + std::string(64, 'B');
    auto j = call_json(rpc("engine_newPayloadV1", "[" + payload_v1(block, parent, "0x2A") + "]"));
    EXPECT_EQ(str(j->root["result"]["status"]), "VALID");
    EXPECT_EQ(str(j->root["result"]["latestValidHash"]), hash_of('a'));
    EXPECT_EQ(str(call_json(rpc("eth_blockNumber"))->root["result"]), "0x2a");
    auto bad =
        call_json(rpc("engine_newPayloadV1", "[" + payload_v1(block, parent, "0x02A") + "]"));
    EXPECT_EQ(int64_t(bad->root["error"]["code"]), -32602);
    EXPECT_NE(str(bad->root["error"]["message"]).find("blockNumber"), std::string::npos);
}

TEST_F(MockElTest, NewPayloadWithoutBlockHashIsInvalidParams) {
    start();
    auto j = call_json(rpc("engine_newPayloadV1", "[{\"blockNumber\":\"0x1\"}]"));
    EXPECT_EQ(int64_t(j->root["error"]["code"]), -32602);
    EXPECT_NE(str(j->root["error"]["message"]).find("blockHash"), std::string::npos);
}

TEST_F(MockElTest, ForkchoiceIssuesUniquePayloadIdsOnlyWithAttributes) {
    start();
    std::string head = hash_of('d');
    auto without = call_json(rpc("engine_forkchoiceUpdatedV3", fcu_params(head, false)));
    EXPECT_EQ(str(without->root["result"]["payloadStatus"]["status"]), "VALID");
    EXPECT_EQ(str(without->root["result"]["payloadStatus"]["latestValidHash"]), head);
    EXPECT_TRUE(without->root["result"]["payloadId"].is_null());
    auto a = call_json(rpc("engine_forkchoiceUpdatedV3", fcu_params(head, true)));
    auto b = call_json(rpc("engine_forkchoiceUpdatedV3", fcu_params(head, true)));
    std::string id_a = str(a->root["result"]["payloadId"]);
    std::string id_b = str(b->root["result"]["payloadId"]);
    EXPECT_EQ(id_a.size(), 18u);
    EXPECT_EQ(id_b.size(), 18u);
    EXPECT_NE(id_a, id_b);
}

TEST_F(MockElTest, PayloadIdsDifferBetweenNodeNames) {
    start({"--name", "first"});
    MockProcess other;
    ASSERT_TRUE(other.start({"--port", "0", "--name", "second"})) << other.error();
    Client c(other.port());
    auto mine = call_json(rpc("engine_forkchoiceUpdatedV1", fcu_params(hash_of('1'), true)));
    auto theirs =
        parse_json(c.call(rpc("engine_forkchoiceUpdatedV1", fcu_params(hash_of('1'), true))).body);
    EXPECT_NE(str(mine->root["result"]["payloadId"]), str(theirs->root["result"]["payloadId"]));
    // An id of the other node is unknown here.
    auto unknown = call_json(
        rpc("engine_getPayloadV1", "[\"" + str(theirs->root["result"]["payloadId"]) + "\"]"));
    EXPECT_EQ(int64_t(unknown->root["error"]["code"]), -38001);
    EXPECT_EQ(other.stop(), 0);
}

TEST_F(MockElTest, GetPayloadShapesPerVersion) {
    start({"--block-value", "1000000000000000000"});
    auto fcu = call_json(rpc("engine_forkchoiceUpdatedV2", fcu_params(hash_of('e'), true)));
    std::string id = str(fcu->root["result"]["payloadId"]);
    for (int v = 1; v <= 6; v++) {
        SCOPED_TRACE("getPayloadV" + std::to_string(v));
        auto j = call_json(
            rpc("engine_getPayloadV" + std::to_string(v), "[\"" + id + "\"]", std::to_string(v)));
        EXPECT_EQ(int64_t(j->root["id"]), v);
        element result = j->root["result"];
        element payload = v == 1 ? result : result["executionPayload"];
        EXPECT_EQ(str(payload["blockHash"]).size(), 66u);
        EXPECT_TRUE(payload["transactions"].is_array());
        EXPECT_EQ(payload["withdrawals"].error() == simdjson::SUCCESS, v >= 2);
        EXPECT_EQ(payload["blobGasUsed"].error() == simdjson::SUCCESS, v >= 3);
        EXPECT_EQ(payload["blockAccessList"].error() == simdjson::SUCCESS, v >= 6);
        if (v == 1) continue;
        EXPECT_EQ(str(result["blockValue"]), "0xde0b6b3a7640000");
        EXPECT_EQ(result["blobsBundle"].error() == simdjson::SUCCESS, v >= 3);
        if (v >= 3) {
            EXPECT_EQ(simdjson::minify(result["blobsBundle"]),
                      "{\"commitments\":[],\"proofs\":[],\"blobs\":[]}");
            EXPECT_FALSE(bool(result["shouldOverrideBuilder"]));
        }
        EXPECT_EQ(result["executionRequests"].error() == simdjson::SUCCESS, v >= 4);
    }
    auto unknown = call_json(rpc("engine_getPayloadV3", "[\"0x0000000000000001\"]"));
    EXPECT_EQ(int64_t(unknown->root["error"]["code"]), -38001);
    auto malformed = call_json(rpc("engine_getPayloadV3", "[\"0x01\"]"));
    EXPECT_EQ(int64_t(malformed->root["error"]["code"]), -32602);
}

TEST_F(MockElTest, CapabilitiesClientVersionBlobsAndBodies) {
    start({"--name", "node \"q\""});
    auto caps = call_json(rpc("engine_exchangeCapabilities", "[[\"engine_newPayloadV3\"]]"));
    std::vector<std::string> names;
    for (element e : caps->root["result"].get_array()) names.push_back(str(e));
    EXPECT_NE(std::find(names.begin(), names.end(), "engine_newPayloadV4"), names.end());
    EXPECT_NE(std::find(names.begin(), names.end(), "engine_getPayloadV6"), names.end());
    EXPECT_EQ(std::find(names.begin(), names.end(), "engine_exchangeCapabilities"), names.end());
    auto version = call_json(
        rpc("engine_getClientVersionV1",
            "[{\"code\":\"LH\",\"name\":\"x\",\"version\":\"1\",\"commit\":\"0x01020304\"}]"));
    element v0 = version->root["result"].at(0);
    EXPECT_EQ(str(v0["code"]), "EM");
    EXPECT_EQ(str(v0["name"]), "node \"q\"");
    EXPECT_EQ(str(v0["commit"]), "0x00000000");
    std::string two = "[[\"" + hash_of('1') + "\",\"" + hash_of('2') + "\"]]";
    EXPECT_EQ(simdjson::minify(call_json(rpc("engine_getBlobsV1", two))->root["result"]),
              "[null,null]");
    EXPECT_TRUE(call_json(rpc("engine_getBlobsV2", two))->root["result"].is_null());
    EXPECT_EQ(simdjson::minify(call_json(rpc("engine_getBlobsV3", two))->root["result"]),
              "[null,null]");
    EXPECT_EQ(
        simdjson::minify(call_json(rpc("engine_getPayloadBodiesByHashV1", two))->root["result"]),
        "[null,null]");
    EXPECT_EQ(
        simdjson::minify(call_json(rpc("engine_getPayloadBodiesByRangeV1", "[\"0x1\",\"0x2\"]"))
                             ->root["result"]),
        "[]");
}

TEST_F(MockElTest, BatchesAreAnsweredAsBatches) {
    start();
    std::string batch =
        "[" + rpc("eth_chainId", "[]", "1") + "," +
        "{\"jsonrpc\":\"2.0\",\"method\":\"eth_blockNumber\"}," +  // notification
        "{\"jsonrpc\":\"1.0\",\"id\":3,\"method\":\"x\"}," +       // invalid entry
        rpc("engine_forkchoiceUpdatedV1", fcu_params(hash_of('f'), false), "\"four\"") + "]";
    auto j = call_json(batch);
    ASSERT_TRUE(j->root.is_array());
    simdjson::dom::array answers = j->root.get_array();
    ASSERT_EQ(answers.size(), 3u) << "a notification gets no answer";
    EXPECT_EQ(int64_t(answers.at(0)["id"]), 1);
    EXPECT_EQ(str(answers.at(0)["result"]), "0x1");
    EXPECT_EQ(int64_t(answers.at(1)["id"]), 3);
    EXPECT_EQ(int64_t(answers.at(1)["error"]["code"]), -32600);
    EXPECT_EQ(str(answers.at(2)["id"]), "four");
    EXPECT_EQ(str(answers.at(2)["result"]["payloadStatus"]["status"]), "VALID");
}

TEST_F(MockElTest, ParseErrorHasNullId) {
    start();
    auto j = call_json("{\"jsonrpc\":\"2.0\",\"id\":1,");
    EXPECT_TRUE(j->root["id"].is_null());
    EXPECT_EQ(int64_t(j->root["error"]["code"]), -32700);
}

TEST_F(MockElTest, KeepAliveAndPipelining) {
    start();
    Client c(port());
    ASSERT_TRUE(c.send_raw("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                           std::to_string(rpc("eth_chainId", "[]", "1").size()) + "\r\n\r\n" +
                           rpc("eth_chainId", "[]", "1") +
                           "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                           std::to_string(rpc("eth_blockNumber", "[]", "2").size()) + "\r\n\r\n" +
                           rpc("eth_blockNumber", "[]", "2")));
    Reply first = c.read_reply();
    Reply second = c.read_reply();
    ASSERT_EQ(first.kind, Reply::Kind::response);
    ASSERT_EQ(second.kind, Reply::Kind::response);
    EXPECT_EQ(int64_t(parse_json(first.body)->root["id"]), 1);
    EXPECT_EQ(int64_t(parse_json(second.body)->root["id"]), 2);
    EXPECT_EQ(c.call(rpc("eth_chainId")).status, 200);
}

// ---------------------------------------------------------------- rules

TEST_F(MockElTest, RuleStatusValidationErrorAndLvh) {
    start({"--rule",
           "engine_newPayload*:status=INVALID,validation_error=bad tx\\, really,lvh=parent"});
    std::string block = hash_of('a'), parent = hash_of('b');
    auto j = call_json(rpc("engine_newPayloadV3", "[" + payload_v1(block, parent, "0x5") +
                                                      ",[],\"" + hash_of('0') + "\"]"));
    element r = j->root["result"];
    EXPECT_EQ(str(r["status"]), "INVALID");
    EXPECT_EQ(str(r["validationError"]), "bad tx, really");
    EXPECT_EQ(str(r["latestValidHash"]), parent);
    // The rule does not touch forkchoiceUpdated; an INVALID payload does not move the head.
    auto f = call_json(rpc("engine_forkchoiceUpdatedV1", fcu_params(block, false)));
    EXPECT_EQ(str(f->root["result"]["payloadStatus"]["status"]), "VALID");
    EXPECT_EQ(str(call_json(rpc("eth_blockNumber"))->root["result"]), "0x64");
}

TEST_F(MockElTest, RuleSyncingForkchoiceHasNullLvhAndNoPayloadId) {
    start({"--rule", "engine_forkchoiceUpdated*:status=SYNCING"});
    auto j = call_json(rpc("engine_forkchoiceUpdatedV3", fcu_params(hash_of('1'), true)));
    EXPECT_EQ(str(j->root["result"]["payloadStatus"]["status"]), "SYNCING");
    EXPECT_TRUE(j->root["result"]["payloadStatus"]["latestValidHash"].is_null());
    EXPECT_TRUE(j->root["result"]["payloadId"].is_null());
}

TEST_F(MockElTest, RuleErrorWithAndWithoutMessage) {
    start({"--rule", "engine_forkchoiceUpdatedV1:error=-38002:bad state", "--rule",
           "engine_forkchoiceUpdatedV2:error=-32000"});
    auto a = call_json(rpc("engine_forkchoiceUpdatedV1", fcu_params(hash_of('1'), false), "11"));
    EXPECT_EQ(int64_t(a->root["id"]), 11);
    EXPECT_EQ(int64_t(a->root["error"]["code"]), -38002);
    EXPECT_EQ(str(a->root["error"]["message"]), "bad state");
    auto b = call_json(rpc("engine_forkchoiceUpdatedV2", fcu_params(hash_of('1'), false)));
    EXPECT_EQ(int64_t(b->root["error"]["code"]), -32000);
    EXPECT_EQ(str(b->root["error"]["message"]), "Server error");
}

TEST_F(MockElTest, RuleDelay) {
    start({"--rule", "eth_chainId:delay=1000"});
    uint64_t t0 = now_ms();
    auto j = call_json(rpc("eth_chainId"));
    uint64_t elapsed = now_ms() - t0;
    EXPECT_EQ(str(j->root["result"]), "0x1");
    EXPECT_GE(elapsed, 1000u) << "a timer never fires early";
    t0 = now_ms();
    call_json(rpc("eth_blockNumber"));
    EXPECT_LT(now_ms() - t0, 1000u) << "other methods are not delayed";
}

TEST_F(MockElTest, RuleHangKeepsTheConnectionOpen) {
    start({"--rule", "engine_getPayload*:hang"});
    Client c(port());
    Reply r = c.call(rpc("engine_getPayloadV3", "[\"0x0000000000000001\"]"), "/", "POST", "", 400);
    EXPECT_EQ(r.kind, Reply::Kind::timeout) << "a hung call never answers";
    // Still open: nothing more arrives, no close.
    Reply again = c.read_reply(200);
    EXPECT_EQ(again.kind, Reply::Kind::timeout);
    // Other connections are served meanwhile.
    EXPECT_EQ(str(call_json(rpc("eth_chainId"))->root["result"]), "0x1");
}

TEST_F(MockElTest, RuleCloseAndReset) {
    start({"--rule", "eth_chainId:close", "--rule", "eth_blockNumber:reset"});
    Client a(port());
    EXPECT_EQ(a.call(rpc("eth_chainId")).kind, Reply::Kind::closed);
    Client b(port());
    EXPECT_EQ(b.call(rpc("eth_blockNumber")).kind, Reply::Kind::reset);
    EXPECT_EQ(str(call_json(rpc("net_version"))->root["result"]), "1");
}

TEST_F(MockElTest, RuleGarbageHttpHugeWrongId) {
    start({"--rule", "eth_chainId:garbage", "--rule", "eth_blockNumber:http=503", "--rule",
           "net_version:huge=1000000", "--rule", "eth_call:wrong_id"});
    Client c(port());
    Reply g = c.call(rpc("eth_chainId"));
    EXPECT_EQ(g.status, 200);
    EXPECT_FALSE(parse_json(g.body)->ok) << "garbage must not be JSON: " << g.body;
    Reply h = c.call(rpc("eth_blockNumber", "[]", "7"));
    EXPECT_EQ(h.status, 503);
    auto hj = parse_json(h.body);
    ASSERT_TRUE(hj->ok) << h.body;
    EXPECT_EQ(int64_t(hj->root["id"]), 7);
    Reply huge = c.call(rpc("net_version"));
    EXPECT_EQ(huge.status, 200);
    EXPECT_EQ(huge.body.size(), 1000000u);
    auto hugej = parse_json(huge.body);
    ASSERT_TRUE(hugej->ok);
    EXPECT_EQ(str(hugej->root["result"]), "1");
    Reply w = c.call(rpc("eth_call", "[]", "5"));
    auto wj = parse_json(w.body);
    ASSERT_TRUE(wj->ok);
    EXPECT_NE(simdjson::minify(wj->root["id"]), "5");
    EXPECT_EQ(str(wj->root["result"]), "0x");
}

TEST_F(MockElTest, RuleNoPayloadIdSyncingBlockValue) {
    start({"--rule", "engine_forkchoiceUpdatedV3:no_payload_id", "--rule", "eth_syncing:syncing",
           "--rule", "engine_getPayloadV2:block_value=0x3e8"});
    auto f3 = call_json(rpc("engine_forkchoiceUpdatedV3", fcu_params(hash_of('1'), true)));
    EXPECT_EQ(str(f3->root["result"]["payloadStatus"]["status"]), "VALID");
    EXPECT_TRUE(f3->root["result"]["payloadId"].is_null());
    auto s = call_json(rpc("eth_syncing"));
    EXPECT_TRUE(s->root["result"].is_object());
    EXPECT_EQ(str(s->root["result"]["currentBlock"]), "0x64");
    auto f2 = call_json(rpc("engine_forkchoiceUpdatedV2", fcu_params(hash_of('1'), true)));
    std::string id = str(f2->root["result"]["payloadId"]);
    auto g = call_json(rpc("engine_getPayloadV2", "[\"" + id + "\"]"));
    EXPECT_EQ(str(g->root["result"]["blockValue"]), "0x3e8");
    auto g3 = call_json(rpc("engine_getPayloadV3", "[\"" + id + "\"]"));
    EXPECT_EQ(str(g3->root["result"]["blockValue"]), "0x1") << "default --block-value";
}

TEST_F(MockElTest, RuleTimesAndAfter) {
    start({"--rule", "engine_newPayload*:status=SYNCING,times=2", "--rule",
           "engine_forkchoiceUpdated*:after=1,times=1,status=INVALID"});
    std::string np =
        rpc("engine_newPayloadV1", "[" + payload_v1(hash_of('a'), hash_of('b'), "0x1") + "]");
    EXPECT_EQ(str(call_json(np)->root["result"]["status"]), "SYNCING");
    EXPECT_EQ(str(call_json(np)->root["result"]["status"]), "SYNCING");
    EXPECT_EQ(str(call_json(np)->root["result"]["status"]), "VALID");
    std::string fcu = rpc("engine_forkchoiceUpdatedV1", fcu_params(hash_of('c'), false));
    EXPECT_EQ(str(call_json(fcu)->root["result"]["payloadStatus"]["status"]), "VALID");
    EXPECT_EQ(str(call_json(fcu)->root["result"]["payloadStatus"]["status"]), "INVALID");
    EXPECT_EQ(str(call_json(fcu)->root["result"]["payloadStatus"]["status"]), "VALID");
}

// ---------------------------------------------------------------- runtime control

TEST_F(MockElTest, RuntimeRulesReplaceAndReset) {
    start({"--rule", "eth_chainId:error=-32603"});
    EXPECT_EQ(int64_t(call_json(rpc("eth_chainId"))->root["error"]["code"]), -32603);
    std::string body;
    EXPECT_EQ(set_rules("# flapping node\n\neth_blockNumber:error=-32000:down\n", &body), 200)
        << body;
    EXPECT_EQ(str(call_json(rpc("eth_chainId"))->root["result"]), "0x1") << "old rules replaced";
    EXPECT_EQ(str(call_json(rpc("eth_blockNumber"))->root["error"]["message"]), "down");
    EXPECT_EQ(set_rules("eth_chainId:close\nengine_*:status=BOGUS\n", &body), 400);
    EXPECT_NE(body.find("line 2"), std::string::npos) << body;
    EXPECT_NE(body.find("BOGUS"), std::string::npos) << body;
    EXPECT_EQ(str(call_json(rpc("eth_blockNumber"))->root["error"]["message"]), "down")
        << "a rejected rules text changes nothing";
    Client c(port());
    EXPECT_EQ(c.call("", "/mock/reset").status, 200);
    EXPECT_EQ(str(call_json(rpc("eth_blockNumber"))->root["result"]), "0x64");
}

TEST_F(MockElTest, LogRecordsEngineCallsInOrder) {
    start({"--rule", "engine_newPayloadV2:status=INVALID,times=1"});
    std::string a = hash_of('a'), b = hash_of('b'), h = hash_of('c');
    call_json(rpc("engine_newPayloadV2", "[" + payload_v1(a, b, "0x1") + "]", "1"));
    call_json(rpc("eth_chainId", "[]", "2"));  // not engine_*: not logged
    call_json(rpc("engine_forkchoiceUpdatedV2", fcu_params(h, false), "\"three\""));
    call_json(rpc("engine_getPayloadV2", "[\"0x0000000000000009\"]", "4"));
    call_json(rpc("engine_newPayloadV2", "[" + payload_v1(b, a, "0x2") + "]", "5"));
    Client c(port());
    Reply r = c.call("", "/mock/log", "GET");
    ASSERT_EQ(r.status, 200);
    auto j = parse_json(r.body);
    ASSERT_TRUE(j->ok) << r.body;
    simdjson::dom::array calls = j->root["calls"].get_array();
    ASSERT_EQ(calls.size(), 4u) << r.body;
    EXPECT_EQ(str(calls.at(0)["method"]), "engine_newPayloadV2");
    EXPECT_EQ(int64_t(calls.at(0)["id"]), 1);
    EXPECT_EQ(str(calls.at(0)["blockHash"]), a);
    EXPECT_EQ(str(calls.at(0)["status"]), "INVALID");
    EXPECT_EQ(str(calls.at(1)["method"]), "engine_forkchoiceUpdatedV2");
    EXPECT_EQ(str(calls.at(1)["id"]), "three");
    EXPECT_EQ(str(calls.at(1)["headBlockHash"]), h);
    EXPECT_EQ(str(calls.at(1)["status"]), "VALID");
    EXPECT_EQ(str(calls.at(2)["status"]), "error");
    EXPECT_EQ(int64_t(calls.at(2)["error"]), -38001);
    EXPECT_EQ(str(calls.at(3)["blockHash"]), b);
    EXPECT_EQ(str(calls.at(3)["status"]), "VALID");
    uint64_t prev = 0;
    for (element e : calls) {
        uint64_t t = uint64_t(e["t_us"]);
        EXPECT_GE(t, prev);
        prev = t;
    }
    EXPECT_EQ(c.call("", "/mock/reset").status, 200);
    auto empty = parse_json(c.call("", "/mock/log", "GET").body);
    EXPECT_EQ(empty->root["calls"].get_array().size(), 0u);
}

TEST_F(MockElTest, StatsCountMethods) {
    start();
    call_json(rpc("eth_chainId"));
    call_json(rpc("eth_chainId"));
    call_json(rpc("engine_forkchoiceUpdatedV3", fcu_params(hash_of('1'), false)));
    call_json(rpc("nope"));
    Client c(port());
    auto j = parse_json(c.call("", "/mock/stats", "GET").body);
    ASSERT_TRUE(j->ok);
    EXPECT_EQ(uint64_t(j->root["methods"]["eth_chainId"]), 2u);
    EXPECT_EQ(uint64_t(j->root["methods"]["engine_forkchoiceUpdatedV3"]), 1u);
    EXPECT_EQ(uint64_t(j->root["unknown_methods"]), 1u);
    EXPECT_EQ(c.call("", "/mock/nothing", "GET").status, 404);
    EXPECT_EQ(c.call("", "/mock/log", "POST").status, 405);
    EXPECT_EQ(c.call("", "/", "GET").status, 405);
}

// ---------------------------------------------------------------- JWT

class MockElJwtTest : public MockElTest {
  protected:
    void SetUp() override {
        char dir[] = "/tmp/mockel-jwt-XXXXXX";
        ASSERT_NE(::mkdtemp(dir), nullptr);
        dir_ = dir;
        path_ = dir_ + "/jwt.hex";
        std::ofstream(path_) << "0x" << std::string(62, '7') << "ab\n";
    }
    void TearDown() override {
        MockElTest::TearDown();
        std::remove(path_.c_str());
        ::rmdir(dir_.c_str());
    }
    std::string dir_, path_;
};

TEST_F(MockElJwtTest, AcceptsValidTokensAndRejectsOthers) {
    start({"--jwt-secret", path_});
    auto secret = http::load_jwt_secret_file(path_.c_str());
    ASSERT_TRUE(secret);
    http::JwtSigner signer(*secret, 0);
    std::string token(signer.bearer_token(std::time(nullptr)));
    Client c(port());
    Reply ok = c.call(rpc("eth_chainId"), "/", "POST", "Authorization: Bearer " + token + "\r\n");
    EXPECT_EQ(ok.status, 200);
    EXPECT_EQ(str(parse_json(ok.body)->root["result"]), "0x1");
    Reply missing = c.call(rpc("eth_chainId"));
    EXPECT_EQ(missing.status, 401);
    EXPECT_TRUE(parse_json(missing.body)->ok) << "401 carries a JSON body";
    http::JwtSecret wrong = *secret;
    wrong.key[0] ^= 1;
    http::JwtSigner forger(wrong, 0);
    Client d(port());
    Reply forged = d.call(
        rpc("eth_chainId"), "/", "POST",
        "Authorization: Bearer " + std::string(forger.bearer_token(std::time(nullptr))) + "\r\n");
    EXPECT_EQ(forged.status, 401);
    Client e(port());
    Reply old = e.call(rpc("eth_chainId"), "/", "POST",
                       "Authorization: Bearer " +
                           std::string(signer.bearer_token(std::time(nullptr) - 600)) + "\r\n");
    EXPECT_EQ(old.status, 401);
    // /mock needs no token, and counts the rejections.
    Client f(port());
    Reply stats = f.call("", "/mock/stats", "GET");
    EXPECT_EQ(stats.status, 200);
    EXPECT_EQ(uint64_t(parse_json(stats.body)->root["jwt_rejections"]), 3u);
}

// ---------------------------------------------------------------- block-hash verification

TEST_F(MockElTest, VerifyBlockHashOnRoundTripAndTamperedPayloads) {
    start({"--verify-block-hash"});
    auto fcu = call_json(rpc("engine_forkchoiceUpdatedV1", fcu_params(hash_of('1'), true)));
    std::string id = str(fcu->root["result"]["payloadId"]);
    for (int v : {1, 2}) {
        SCOPED_TRACE("version " + std::to_string(v));
        auto got = call_json(rpc("engine_getPayloadV" + std::to_string(v), "[\"" + id + "\"]"));
        element p = v == 1 ? got->root["result"] : got->root["result"]["executionPayload"];
        std::string payload = simdjson::minify(p);
        std::string method = "engine_newPayloadV" + std::to_string(v);
        auto good = call_json(rpc(method, "[" + payload + "]"));
        EXPECT_EQ(str(good->root["result"]["status"]), "VALID");
        EXPECT_EQ(str(good->root["result"]["latestValidHash"]), str(p["blockHash"]));
        std::string tampered = payload;
        size_t at = tampered.find("\"gasUsed\":\"0x0\"");
        ASSERT_NE(at, std::string::npos);
        tampered.replace(at, 15, "\"gasUsed\":\"0x1\"");
        auto bad = call_json(rpc(method, "[" + tampered + "]"));
        EXPECT_EQ(str(bad->root["result"]["status"]), v == 1 ? "INVALID_BLOCK_HASH" : "INVALID");
        EXPECT_TRUE(bad->root["result"]["latestValidHash"].is_null());
        EXPECT_NE(str(bad->root["result"]["validationError"]).find("mismatch"), std::string::npos);
        std::string malformed = payload;
        malformed.replace(at, 15, "\"gasUsed\":\"0x00\"");
        auto err = call_json(rpc(method, "[" + malformed + "]"));
        EXPECT_EQ(int64_t(err->root["error"]["code"]), -32602);
        EXPECT_NE(str(err->root["error"]["message"]).find("gasUsed"), std::string::npos)
            << str(err->root["error"]["message"]);
        // Issue 13: checksummed addresses and upper-case hex are the same block (ELs accept them).
        std::string shouted = em::test::checksummed_and_upper(payload, keccak);
        ASSERT_NE(shouted, payload);
        auto loud = call_json(rpc(method, "[" + shouted + "]"));
        ASSERT_FALSE(loud->root["result"].error()) << simdjson::minify(loud->root);
        EXPECT_EQ(str(loud->root["result"]["status"]), "VALID");
        EXPECT_EQ(str(loud->root["result"]["latestValidHash"]), str(p["blockHash"]));
        std::string zero = em::test::upper_hex(payload);
        zero.replace(zero.find("\"gasLimit\":\"0x") + 14, 0, "0");
        auto lead = call_json(rpc(method, "[" + zero + "]"));
        EXPECT_EQ(int64_t(lead->root["error"]["code"]), -32602);
        EXPECT_NE(str(lead->root["error"]["message"]).find("gasLimit"), std::string::npos)
            << str(lead->root["error"]["message"]);
    }
}

// ---------------------------------------------------------------- process

TEST_F(MockElTest, SeveralThreadsShareThePort) {
    start({"--threads", "2"});
    for (int i = 0; i < 16; i++) {
        Client c(port());
        ASSERT_TRUE(c.connected());
        EXPECT_EQ(c.call(rpc("eth_chainId")).status, 200);
    }
    call_json(rpc("engine_forkchoiceUpdatedV1", fcu_params(hash_of('1'), false)));
    Client c(port());
    auto stats = parse_json(c.call("", "/mock/stats", "GET").body);
    EXPECT_EQ(uint64_t(stats->root["methods"]["eth_chainId"]), 16u)
        << "counters summed over threads";
}

TEST_F(MockElTest, PayloadFileIsServed) {
    char path[] = "/tmp/mockel-payload-XXXXXX";
    int fd = ::mkstemp(path);
    ASSERT_GE(fd, 0);
    ::close(fd);
    std::string payload = payload_v1(hash_of('9'), hash_of('8'), "0x77");
    std::ofstream(path) << rpc("engine_newPayloadV1", "[" + payload + "]");
    start({"--payload-file", path});
    std::remove(path);
    auto fcu = call_json(rpc("engine_forkchoiceUpdatedV1", fcu_params(hash_of('1'), true)));
    std::string id = str(fcu->root["result"]["payloadId"]);
    auto got = call_json(rpc("engine_getPayloadV1", "[\"" + id + "\"]"));
    EXPECT_EQ(str(got->root["result"]["blockHash"]), hash_of('9'));
    EXPECT_EQ(str(got->root["result"]["blockNumber"]), "0x77");
}

struct BadCommandLine {
    std::vector<std::string> args;
    std::string must_mention;
};

TEST(MockElCommandLine, BadInputExitsTwoNamingTheProblem) {
    const BadCommandLine cases[] = {
        {{"--port", "0", "--bogus"}, "--bogus"},
        {{"--head", "1"}, "--port"},
        {{"--port", "70000"}, "--port"},
        {{"--port", "0", "--rule", "engine_newPayloadV1:status=MAYBE"}, "status=MAYBE"},
        {{"--port", "0", "--rule", "eth_chainId:hang,delay=5"}, "hang"},
        {{"--port", "0", "--rule", "eth_chainId"}, "':'"},
        {{"--port", "0", "--rule", "eth_chainId:frobnicate"}, "frobnicate"},
        {{"--port", "0", "--jwt-secret", "/nonexistent/jwt.hex"}, "/nonexistent/jwt.hex"},
        {{"--port", "0", "--rules-file", "/nonexistent/rules"}, "/nonexistent/rules"},
        {{"--port", "0", "--payload-file", "/nonexistent/p.json"}, "/nonexistent/p.json"},
        {{"--port", "0", "--threads", "0"}, "--threads"},
        {{"--port", "0", "--block-value", "12abc"}, "--block-value"},
    };
    for (const auto& c : cases) {
        MockProcess p;
        std::string err;
        int status = p.run_to_exit(c.args, &err);
        EXPECT_EQ(status, 2) << c.must_mention << ": " << err;
        EXPECT_NE(err.find(c.must_mention), std::string::npos) << "stderr: " << err;
    }
}

TEST(MockElCommandLine, HelpExitsZero) {
    MockProcess p;
    std::string err;
    EXPECT_EQ(p.run_to_exit({"--help"}, &err), 0);
}

}  // namespace
}  // namespace em::test
