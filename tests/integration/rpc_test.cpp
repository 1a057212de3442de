// The rpc role end to end (issue 16): the real daemon with `--role rpc` in front of three
// enginemux-mock-el processes with different heads (el1 and el2 at block 100, el3 lagging at
// 90), driven with plain HTTP as a public client would. What reaches each EL is read from its
// /mock/stats (calls per method).
//  - a read of the head never reaches the lagging EL; a killed EL costs a reading client no error;
//  - batches keep their order and every id byte for byte (string, number, null, 1e0,
//    18446744073709551617); methods outside the allow-list are -32601 per entry;
//  - over a budget: 429 with Retry-After and a JSON-RPC error under each id; an unknown API key
//    is 401 naming the problem;
//  - a finalized block and eth_chainId are answered from the cache without touching an EL;
//  - bad input is answered as on the engine listener (413, 431, -32700, -32600);
//  - an EL answering 5xx opens its circuit breaker ([rpc] breaker_*): no more reads go to it
//    but the probes after each cooldown; healed, the next probe closes it; a node added in its
//    slot starts closed;
//  - a slow EL's reads are hedged to a fast one after the method's p95, within hedge_max_ratio;
//  - eth_getLogs over max_logs_block_range is split across the ELs (each piece within the
//    limit, which the ELs enforce too) and merged into exactly what one EL answers for the
//    whole range; a piece no EL can answer fails the call naming its blocks; with logs_split
//    off the range is refused -32602 naming the limit, no EL asked;
//  - [rpc] sticky: a client's reads stay on its EL while a faster one serves others, and move
//    only to an EL at its newest block;
//  - beside the mux (--rpc-listen) the same nodes serve both, the CL's listener unchanged.
// No assertion depends on timing: waits poll for a state with a generous limit.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"

namespace em::test {
namespace {

using namespace std::chrono_literals;

struct RpcFixture : ::testing::Test {
    TempDir dir;
    std::vector<std::unique_ptr<MockEl>> els;
    std::unique_ptr<Daemon> daemon;

    uint16_t rpc_port = 0;  ///< the rpc listener's (the daemon's port in the rpc role)
    /// Each EL's head (and finalized) block; a test may change them before start().
    std::vector<std::string> heads = {"100", "100", "90"};
    std::vector<std::string> el_args;  ///< more arguments for every EL (before start())
    std::vector<std::vector<std::string>> el_own_args{{}, {}, {}};  ///< ... for EL i only

    /// Three ELs (heads 100, 100, 90) and the daemon in the rpc role with `table` in its file
    /// (`args`: in place of --role rpc).
    void start(const std::string& table, std::vector<std::string> args = {"--role", "rpc"}) {
        for (int i = 1; i <= 3; i++) {
            std::string head = heads[static_cast<size_t>(i - 1)];
            std::vector<std::string> args = {"--head", head};
            args.insert(args.end(), el_args.begin(), el_args.end());
            const std::vector<std::string>& own = el_own_args[static_cast<size_t>(i - 1)];
            args.insert(args.end(), own.begin(), own.end());
            els.push_back(std::make_unique<MockEl>(dir, "el" + std::to_string(i), args));
        }
        std::string config = dir.write(
            "rpc.toml", "[limits]\nbody_bytes_max = 65536\nheader_bytes_max = 4096\n" + table);
        args.insert(args.end(), {"--config", config});
        daemon = std::make_unique<Daemon>(
            dir, std::vector<MockEl*>{els[0].get(), els[1].get(), els[2].get()}, args);
        // "rpc listener on 127.0.0.1:PORT (...)"
        std::string line = daemon->process->wait_for_line("rpc listener on");
        rpc_port = rpc_port_in(line);
        ASSERT_NE(rpc_port, 0) << line;
        wait_for_heads();
    }
    /// Until /status shows every EL's probed head (and finalized block): the routing rule
    /// needs them. Polls; the limit is generous.
    void wait_for_heads() {
        for (int k = 0; k < 400; k++) {
            std::string s = daemon->admin("GET", "/status").body;
            bool all = true;
            for (size_t i = 0; i < 3; i++) {
                std::string at = "/rpc/nodes/" + std::to_string(i);
                all = all && json_at(s, at + "/head") == heads[i] &&
                      json_at(s, at + "/finalized") == heads[i] &&
                      json_at(s, "/nodes/" + std::to_string(i) + "/state") == "\"synced\"";
            }
            if (all) return;
            std::this_thread::sleep_for(50ms);
        }
        FAIL() << "the ELs' heads never showed in /status: "
               << daemon->admin("GET", "/status").body;
    }
    HttpReply post(const std::string& body, const std::string& target = "/",
                   const std::string& bearer = "") {
        return http_request(rpc_port, "POST", target, body, bearer);
    }
    /// Second copies of `method` sent (hedging: a read slower than the method's p95 goes to a
    /// second node too, so on a loaded machine the ELs may count a few more calls than reads).
    int64_t hedges(const std::string& method) {
        std::string metrics = daemon->admin("GET", "/metrics").body;
        double n = metric_value(metrics, "enginemux_rpc_hedges_total{method=\"" + method + "\"}");
        return n < 0 ? 0 : static_cast<int64_t>(n);
    }
};

// [rpc.agree]: el1 and el2 say they are geth, el3 reth (web3_clientVersion, probed); el3 is a
// block ahead. An agreed eth_chainId asks one geth and the reth and answers; an agreed
// eth_blockNumber gets 0x64 and 0x65 and is refused naming both nodes and their clients.
TEST_F(RpcFixture, AgreedReadsAskDifferentClientsAndADifferenceIsAnErrorNamingThem) {
    heads = {"100", "100", "101"};
    el_own_args = {{"--client-version", "Geth/v1.14.0-stable/linux-amd64/go1.22"},
                   {"--client-version", "Geth/v1.14.0-stable/linux-amd64/go1.22"},
                   {"--client-version", "reth/v1.0.0-abcdef/x86_64-unknown-linux-gnu"}};
    start("[rpc.agree]\neth_blockNumber = 2\neth_chainId = 2\n");
    for (int k = 0; k < 400; k++) {
        std::string s = daemon->admin("GET", "/status").body;
        if (json_at(s, "/rpc/nodes/0/client") == "\"geth\"" &&
            json_at(s, "/rpc/nodes/2/client") == "\"reth\"")
            break;
        std::this_thread::sleep_for(50ms);
    }
    std::string s = daemon->admin("GET", "/status").body;
    ASSERT_EQ(json_at(s, "/rpc/nodes/1/client"), "\"geth\"") << s;
    ASSERT_EQ(json_at(s, "/rpc/nodes/2/client"), "\"reth\"") << s;

    HttpReply chain = post(rpc_request("\"c\"", "eth_chainId"));
    EXPECT_EQ(json_at(chain.body, "/id"), "\"c\"") << chain.body;
    EXPECT_NE(json_at(chain.body, "/result"), "<missing>") << chain.body;
    EXPECT_EQ(el_calls(*els[2], "eth_chainId"), 1) << "the reth was asked";
    EXPECT_EQ(el_calls(*els[0], "eth_chainId") + el_calls(*els[1], "eth_chainId"), 1)
        << "and one geth, not both";

    HttpReply head = post(rpc_request("7", "eth_blockNumber"));
    EXPECT_EQ(json_at(head.body, "/error/code"), "-32000") << head.body;
    std::string message = json_at(head.body, "/error/message");
    EXPECT_NE(message.find("eth_blockNumber: the execution clients disagree ([rpc.agree])"),
              std::string::npos)
        << message;
    EXPECT_NE(message.find("node el3 (reth)"), std::string::npos) << message;
    EXPECT_NE(message.find("(geth)"), std::string::npos) << message;
    std::string metrics = daemon->admin("GET", "/metrics").body;
    EXPECT_EQ(metric_value(metrics, "enginemux_rpc_agree_agreed_total"), 1) << metrics;
    EXPECT_EQ(metric_value(metrics, "enginemux_rpc_agree_disagreed_total"), 1);
    EXPECT_NE(daemon->process->stderr_text().find("the execution clients disagree"),
              std::string::npos)
        << "the disagreement is logged";
}

// shadow_ratio = 1: every read also goes to a second EL; el3 (a block ahead, another client)
// answers eth_blockNumber differently: the clients get one answer each, never an error, and
// each difference is counted and logged.
TEST_F(RpcFixture, ShadowCompareCountsAndLogsDifferencesTheClientNeverSees) {
    heads = {"100", "100", "101"};
    el_own_args = {{"--client-version", "Geth/v1.14.0"},
                   {"--client-version", "Geth/v1.14.0"},
                   {"--client-version", "Nethermind/v1.25.4"}};
    start("[rpc]\nshadow_ratio = 1.0\n");
    for (int k = 0; k < 400; k++) {
        std::string s = daemon->admin("GET", "/status").body;
        if (json_at(s, "/rpc/nodes/2/client") == "\"nethermind\"" &&
            json_at(s, "/rpc/nodes/0/client") == "\"geth\"")
            break;
        std::this_thread::sleep_for(50ms);
    }
    for (int k = 0; k < 4; k++) {
        HttpReply r = post(rpc_request(std::to_string(k), "eth_blockNumber"));
        std::string result = json_at(r.body, "/result");
        EXPECT_TRUE(result == "\"0x64\"" || result == "\"0x65\"") << r.body;
    }
    EXPECT_EQ(el_calls(*els[2], "eth_blockNumber"), 4) << "the other implementation saw every read";
    double differences = 0;
    for (int k = 0; k < 200 && differences < 4; k++) {  // the shadow may answer after the client
        differences = metric_value(daemon->admin("GET", "/metrics").body,
                                   "enginemux_rpc_shadow_differences_total");
        if (differences < 4) std::this_thread::sleep_for(20ms);
    }
    EXPECT_EQ(differences, 4);
    EXPECT_NE(daemon->process->stderr_text().find(
                  "shadow compare: eth_blockNumber answered differently by node el"),
              std::string::npos);
}

TEST_F(RpcFixture, BesideTheMuxTheRpcListenerServesReadsWithoutAJwtOnTheSameNodes) {
    start("", {"--rpc-listen", "127.0.0.1:0"});
    ASSERT_NE(rpc_port, daemon->port);
    HttpReply read = post(rpc_request("1", "eth_blockNumber"));
    EXPECT_EQ(read.body, R"({"jsonrpc":"2.0","id":1,"result":"0x64"})");
    // The CL's side works as before (the mocks' heads move to the payload's block).
    EXPECT_EQ(status_of(daemon->call(payload_request(3, 2))), "\"VALID\"");
    HttpReply no_jwt =
        http_request(daemon->port, "POST", "/", rpc_request("2", "eth_blockNumber"), "", 15000);
    EXPECT_EQ(no_jwt.status, 401) << "the CL's listener still wants its JWT";
    std::string s = daemon->admin("GET", "/status").body;
    EXPECT_EQ(json_at(s, "/role"), "\"mux\"") << s;
    EXPECT_EQ(json_at(s, "/rpc/highest_head"), "100") << s;
    EXPECT_EQ(el_calls(*els[2], "eth_blockNumber"), 0);
}

// Beside the mux, "at the head" is what the CL's calls say (ClHead): el3 answers the CL's
// newPayload SYNCING, so after the forkchoiceUpdated to that block it is not at the head, even
// though its probed head is as high as the others': no head read reaches it.
TEST_F(RpcFixture, BesideTheMuxHeadReadsGoOnlyToNodesThatTookTheClsHead) {
    heads = {"100", "100", "100"};
    el_own_args[2] = {"--rule", "engine_newPayload*:status=SYNCING"};
    start("", {"--rpc-listen", "127.0.0.1:0"});
    std::string s = daemon->admin("GET", "/status").body;
    EXPECT_EQ(json_at(s, "/rpc/head_from"), "\"probe\"") << "no CL call yet";
    std::string payload = payload_request(3, 2);
    EXPECT_EQ(status_of(daemon->call(payload)), "\"VALID\"") << "two of three VALID";
    std::string hash = json_at(payload, "/params/0/blockHash");
    std::string number = json_at(payload, "/params/0/blockNumber");
    ASSERT_EQ(hash.size(), 68u) << payload.substr(0, 200);
    std::string fcu =
        R"({"jsonrpc":"2.0","id":"f","method":"engine_forkchoiceUpdatedV3","params":[{"headBlockHash":)" +
        hash + R"(,"safeBlockHash":)" + hash +
        R"(,"finalizedBlockHash":"0x0000000000000000000000000000000000000000000000000000000000000000"},null]})";
    EXPECT_EQ(json_at(daemon->call(fcu).body, "/result/payloadStatus/status"), "\"VALID\"");
    s = daemon->admin("GET", "/status").body;
    EXPECT_EQ(json_at(s, "/rpc/head_from"), "\"cl\"") << s;
    EXPECT_EQ(json_at(s, "/rpc/cl_head"),
              std::to_string(std::stoull(number.substr(1, number.size() - 2), nullptr, 16)));
    EXPECT_EQ(json_at(s, "/rpc/nodes/0/at_head"), "true") << s;
    EXPECT_EQ(json_at(s, "/rpc/nodes/2/at_head"), "false") << s;
    long before = el_calls(*els[2], "eth_blockNumber");
    for (int i = 0; i < 20; i++) {
        HttpReply r = post(rpc_request(std::to_string(i), "eth_blockNumber"));
        EXPECT_NE(json_at(r.body, "/result"), "<missing>") << r.body;
    }
    EXPECT_EQ(el_calls(*els[2], "eth_blockNumber"), before) << "el3 did not take the CL's head";
    EXPECT_GE(
        metric_value(daemon->admin("GET", "/metrics").body, "enginemux_rpc_cl_head_reads_total"),
        20);
}

TEST_F(RpcFixture, AReadOfTheHeadNeverReachesTheLaggingEl) {
    start("");
    std::string s = daemon->admin("GET", "/status").body;
    EXPECT_EQ(json_at(s, "/role"), "\"rpc\"") << s;
    EXPECT_EQ(json_at(s, "/rpc/nodes/2/lag"), "10") << s;
    EXPECT_EQ(json_at(s, "/rpc/nodes/2/at_head"), "false") << s;
    for (int i = 0; i < 40; i++) {
        HttpReply r = post(rpc_request(std::to_string(i), "eth_blockNumber"));
        ASSERT_EQ(r.status, 200);
        EXPECT_EQ(r.body, R"({"jsonrpc":"2.0","id":)" + std::to_string(i) + R"(,"result":"0x64"})");
        HttpReply call = post(rpc_request(std::to_string(i), "eth_call", R"([{},"latest"])"));
        EXPECT_EQ(json_at(call.body, "/result"), "\"0x\"") << call.body;
    }
    EXPECT_EQ(el_calls(*els[2], "eth_blockNumber"), 0);
    EXPECT_EQ(el_calls(*els[2], "eth_call"), 0);
    // Each read once, and a second copy of those hedged (a copy that lost may still be on its
    // way to its EL).
    int64_t at_head = el_calls(*els[0], "eth_blockNumber") + el_calls(*els[1], "eth_blockNumber");
    EXPECT_GE(at_head, 40);
    EXPECT_LE(at_head, 40 + hedges("eth_blockNumber"));
    std::string metrics = daemon->admin("GET", "/metrics").body;
    EXPECT_EQ(metric_value(metrics, "enginemux_rpc_requests_total{method=\"eth_blockNumber\"}"), 40)
        << metrics;
}

TEST_F(RpcFixture, AKilledElCostsAReadingClientNoError) {
    start("");
    for (int i = 0; i < 20; i++) {
        HttpReply r = post(rpc_request(std::to_string(i), "eth_blockNumber"));
        ASSERT_EQ(json_at(r.body, "/result"), "\"0x64\"") << r.body;
    }
    els[0]->process->signal(SIGKILL);
    els[0]->process->wait_exit();
    for (int i = 0; i < 40; i++) {
        HttpReply r = post(rpc_request(std::to_string(100 + i), "eth_blockNumber"));
        ASSERT_EQ(r.status, 200);
        EXPECT_EQ(json_at(r.body, "/result"), "\"0x64\"") << "request " << i << ": " << r.body;
    }
    EXPECT_EQ(el_calls(*els[2], "eth_blockNumber"), 0) << "the lagging EL still takes no head read";
}

TEST_F(RpcFixture, BatchesKeepOrderAndEveryIdByteForByte) {
    start("");
    std::string batch = "[" + rpc_request(R"("s\u0074r")", "eth_blockNumber") + "," +
                        rpc_request("1e0", "eth_chainId") + "," +
                        rpc_request("18446744073709551617", "net_version") + "," +
                        rpc_request("null", "debug_traceTransaction") + "," +
                        rpc_request("-0.5", "web3_clientVersion") + "]";
    HttpReply r = post(batch);
    ASSERT_EQ(r.status, 200);
    std::string expected =
        R"([{"jsonrpc":"2.0","id":"s\u0074r","result":"0x64"},)"
        R"({"jsonrpc":"2.0","id":1e0,"result":"0x1"},)"
        R"({"jsonrpc":"2.0","id":18446744073709551617,"result":"1"},)"
        R"({"jsonrpc":"2.0","id":null,"error":{"code":-32601,"message":"the method )"
        R"x(debug_traceTransaction is not available on this endpoint (allow_methods)"}},)x"
        R"({"jsonrpc":"2.0","id":-0.5,"result":)";
    EXPECT_EQ(r.body.substr(0, expected.size()), expected) << r.body;
    HttpReply single = post(rpc_request("1e0", "eth_blockNumber"));
    EXPECT_EQ(single.body, R"({"jsonrpc":"2.0","id":1e0,"result":"0x64"})");
    HttpReply engine = post(rpc_request("7", "engine_getPayloadV3", R"(["0x0000000000000001"])"));
    EXPECT_EQ(json_at(engine.body, "/error/code"), "-32601") << engine.body;
}

TEST_F(RpcFixture, OverItsBudgetAClientGets429WithRetryAfterAndItsIds) {
    start("[rpc.limits]\nclient_rps = 0.01\nclient_burst = 2\n");
    EXPECT_EQ(json_at(post(rpc_request("1", "eth_blockNumber")).body, "/result"), "\"0x64\"");
    EXPECT_EQ(json_at(post(rpc_request("2", "eth_blockNumber")).body, "/result"), "\"0x64\"");
    ClientSocket socket(rpc_port);
    ASSERT_TRUE(socket.ok());
    std::string body = rpc_request(R"("third")", "eth_blockNumber");
    ASSERT_TRUE(
        socket.send_all("POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                        "Content-Length: " +
                        std::to_string(body.size()) + "\r\n\r\n" + body));
    std::string raw = socket.read_response();
    EXPECT_EQ(status_of_response(raw), 429) << raw;
    EXPECT_GE(std::atoi(header_of_response(raw, "Retry-After").c_str()), 1) << raw;
    std::string json = raw.substr(raw.find("\r\n\r\n") + 4);
    EXPECT_EQ(json_at(json, "/id"), "\"third\"") << json;
    EXPECT_EQ(json_at(json, "/error/code"), "-32005") << json;
    EXPECT_NE(json.find("client_rps"), std::string::npos) << json;
    HttpReply batch = post("[" + rpc_request("10", "eth_chainId") + "," +
                           rpc_request("\"b\"", "eth_blockNumber") + "]");
    EXPECT_EQ(batch.status, 429);
    EXPECT_EQ(json_at(batch.body, "/0/id"), "10") << batch.body;
    EXPECT_EQ(json_at(batch.body, "/1/id"), "\"b\"") << batch.body;
    EXPECT_EQ(json_at(batch.body, "/1/error/code"), "-32005") << batch.body;
    std::string metrics = daemon->admin("GET", "/metrics").body;
    EXPECT_EQ(metric_value(metrics, "enginemux_rpc_rate_limited_total{method=\"eth_blockNumber\"}"),
              2)
        << metrics;
}

TEST_F(RpcFixture, AClientsConcurrencySlotIsHeldWhileItsRequestRunsAndGivenBackAfter) {
    start("[rpc.limits]\nclient_concurrency = 1\n[rpc.method_timeouts_ms]\neth_call = 1500\n");
    // One at a time, as often as it likes: each answer gives the slot back.
    for (int i = 0; i < 5; i++)
        EXPECT_EQ(json_at(post(rpc_request(std::to_string(i), "eth_blockNumber")).body, "/result"),
                  "\"0x64\"");
    for (int i = 0; i < 2; i++) els[i]->set_rules("eth_call:hang");
    std::thread slow([&] { post(rpc_request("1", "eth_call", R"([{},"latest"])")); });
    // Once an EL holds the call, the client's one slot is taken.
    for (int k = 0; k < 400 && el_calls(*els[0], "eth_call") + el_calls(*els[1], "eth_call") == 0;
         k++)
        std::this_thread::sleep_for(25ms);
    HttpReply second = post(rpc_request("2", "eth_blockNumber"));
    EXPECT_EQ(second.status, 429) << second.body;
    EXPECT_NE(second.body.find("client_concurrency"), std::string::npos) << second.body;
    slow.join();  // the hung call fails over, then answers an error: the slot is free again
    EXPECT_EQ(json_at(post(rpc_request("3", "eth_blockNumber")).body, "/result"), "\"0x64\"");
}

TEST_F(RpcFixture, ApiKeysByHeaderOrPathAndAnUnknownKeyIs401) {
    std::string keys = dir.write("keys.txt", "# clients\nkey-alpha-0001\nkey-beta-00002\n");
    start("[rpc]\napi_keys_file = \"" + keys + "\"\n");
    EXPECT_EQ(post(rpc_request("1", "eth_blockNumber"), "/", "key-alpha-0001").status, 200);
    EXPECT_EQ(json_at(post(rpc_request("2", "eth_blockNumber"), "/key-beta-00002").body, "/result"),
              "\"0x64\"");
    HttpReply unknown = post(rpc_request("3", "eth_blockNumber"), "/", "key-gamma-0003");
    EXPECT_EQ(unknown.status, 401);
    EXPECT_NE(unknown.body.find("unknown API key"), std::string::npos) << unknown.body;
    HttpReply none = post(rpc_request("4", "eth_blockNumber"));
    EXPECT_EQ(none.status, 401);
    EXPECT_NE(none.body.find("an API key is required"), std::string::npos) << none.body;
    int64_t at_head = el_calls(*els[0], "eth_blockNumber") + el_calls(*els[1], "eth_blockNumber");
    EXPECT_GE(at_head, 2);
    EXPECT_LE(at_head, 2 + hedges("eth_blockNumber"));
}

TEST_F(RpcFixture, AFinalizedBlockAndTheChainIdComeFromTheCacheWithoutAnEl) {
    // Probes only at start: every eth_getBlockByNumber an EL counts after that is ours.
    start("[health]\ninterval_ms = 3600000\n");
    auto total = [&](const std::string& method) {
        return el_calls(*els[0], method) + el_calls(*els[1], method) + el_calls(*els[2], method);
    };
    long blocks = total("eth_getBlockByNumber");
    HttpReply first = post(rpc_request("1", "eth_getBlockByNumber", R"(["0x10",false])"));
    EXPECT_EQ(json_at(first.body, "/result/number"), "\"0x10\"") << first.body;
    EXPECT_EQ(total("eth_getBlockByNumber"), blocks + 1);
    HttpReply second =
        post(rpc_request(R"("again")", "eth_getBlockByNumber", R"(["0x10", false])"));
    EXPECT_EQ(json_at(second.body, "/id"), "\"again\"") << second.body;
    EXPECT_EQ(json_at(second.body, "/result"), json_at(first.body, "/result"));
    EXPECT_EQ(total("eth_getBlockByNumber"), blocks + 1) << "answered from the cache";
    // The head moves: never cached.
    post(rpc_request("3", "eth_getBlockByNumber", R"(["latest",false])"));
    post(rpc_request("4", "eth_getBlockByNumber", R"(["latest",false])"));
    EXPECT_EQ(total("eth_getBlockByNumber"), blocks + 3);
    for (int i = 0; i < 3; i++) post(rpc_request(std::to_string(i), "eth_chainId"));
    EXPECT_EQ(total("eth_chainId"), 1);
    std::string metrics = daemon->admin("GET", "/metrics").body;
    EXPECT_EQ(
        metric_value(metrics, "enginemux_rpc_cache_hits_total{method=\"eth_getBlockByNumber\"}"), 1)
        << metrics;
    EXPECT_EQ(metric_value(metrics, "enginemux_rpc_cache_hits_total{method=\"eth_chainId\"}"), 2);
    EXPECT_EQ(json_at(daemon->admin("GET", "/status").body, "/rpc/finalized"), "90");
}

TEST_F(RpcFixture, BadInputIsAnsweredAsOnTheEngineListener) {
    start("");
    HttpReply big = post(std::string(70000, ' ') + rpc_request("1", "eth_blockNumber"));
    EXPECT_EQ(big.status, 413) << big.body;
    HttpReply head = http_request(rpc_port, "POST", "/", rpc_request("1", "eth_blockNumber"), "",
                                  15000, "X-Padding: " + std::string(5000, 'a') + "\r\n");
    EXPECT_EQ(head.status, 431) << head.body;
    HttpReply garbage = post(R"({"jsonrpc":"2.0","id":1,"method":)");
    EXPECT_EQ(garbage.status, 200);
    EXPECT_EQ(json_at(garbage.body, "/error/code"), "-32700") << garbage.body;
    EXPECT_EQ(json_at(garbage.body, "/id"), "null");
    HttpReply empty = post("[]");
    EXPECT_EQ(json_at(empty.body, "/error/code"), "-32600") << empty.body;
    HttpReply no_version = post(R"({"id":5,"method":"eth_blockNumber"})");
    EXPECT_EQ(json_at(no_version.body, "/error/code"), "-32600") << no_version.body;
    EXPECT_EQ(json_at(no_version.body, "/id"), "5");
    HttpReply get = http_request(rpc_port, "GET", "/", "");
    EXPECT_EQ(get.status, 405);
    // The daemon is unaffected.
    EXPECT_EQ(json_at(post(rpc_request("9", "eth_blockNumber")).body, "/result"), "\"0x64\"");
}

TEST_F(RpcFixture, TheBreakerOpensOnAFailingElKeepsItsTrafficAwayAndClosesOnceItHeals) {
    // Only el1 is at the head (el2 and el3 lag), so every head read is el1's to answer: the
    // counts below do not depend on how routing weighs latencies.
    heads = {"100", "90", "90"};
    start("[rpc]\nbreaker_failures = 3\nbreaker_cooldown_ms = 300\n");
    auto status = [&] { return daemon->admin("GET", "/status").body; };
    auto opens = [&] { return std::stol(json_at(status(), "/rpc/nodes/0/breaker_opens")); };
    std::string name = json_at(status(), "/rpc/nodes/0/name");
    ASSERT_EQ(json_at(status(), "/rpc/nodes/0/breaker"), "\"closed\"") << status();
    ASSERT_EQ(json_at(post(rpc_request("1", "eth_blockNumber")).body, "/result"), "\"0x64\"");
    long before = el_calls(*els[0], "eth_blockNumber");
    els[0]->set_rules("eth_blockNumber:http=503");
    for (int i = 0; i < 3; i++) {
        HttpReply r = post(rpc_request(std::to_string(10 + i), "eth_blockNumber"));
        EXPECT_NE(r.body.find("HTTP 503"), std::string::npos) << r.body;
    }
    // Three 5xx in a row: open, and it stays open until a call is sent after the cooldown.
    EXPECT_EQ(json_at(status(), "/rpc/nodes/0/breaker"), "\"open\"") << status();
    EXPECT_EQ(opens(), 1);
    EXPECT_EQ(json_at(status(), "/rpc/nodes/1/breaker"), "\"closed\"");
    EXPECT_EQ(el_calls(*els[0], "eth_blockNumber"), before + 3);
    for (int i = 0; i < 10; i++) {
        HttpReply r = post(rpc_request(std::to_string(20 + i), "eth_blockNumber"));
        EXPECT_EQ(json_at(r.body, "/error/code"), "-32000") << r.body;
    }
    // While open el1 got no read but the probes after each cooldown, each of which failed and
    // opened it again: exactly one call per further opening, however long the loop took.
    EXPECT_EQ(el_calls(*els[0], "eth_blockNumber"), before + 3 + (opens() - 1));
    EXPECT_EQ(el_calls(*els[1], "eth_blockNumber") + el_calls(*els[2], "eth_blockNumber"), 0)
        << "the lagging ELs still take no head read";
    // Healed: after the cooldown the probe succeeds and closes it.
    els[0]->set_rules("");
    std::string answer;
    for (int k = 0; k < 200 && answer != "\"0x64\""; k++) {
        answer =
            json_at(post(rpc_request(std::to_string(100 + k), "eth_blockNumber")).body, "/result");
        if (answer != "\"0x64\"") std::this_thread::sleep_for(50ms);
    }
    ASSERT_EQ(answer, "\"0x64\"") << "the breaker never let a probe through: " << status();
    EXPECT_EQ(json_at(status(), "/rpc/nodes/0/breaker"), "\"closed\"") << status();
    long opened = opens();
    for (int i = 0; i < 5; i++)
        EXPECT_EQ(
            json_at(post(rpc_request(std::to_string(300 + i), "eth_blockNumber")).body, "/result"),
            "\"0x64\"");
    EXPECT_EQ(opens(), opened);
    std::string metrics = daemon->admin("GET", "/metrics").body;
    std::string label = "{node=" + name + "}";
    EXPECT_EQ(metric_value(metrics, "enginemux_rpc_breaker_state" + label), 0) << metrics;
    EXPECT_EQ(metric_value(metrics, "enginemux_rpc_breaker_opens_total" + label), opened)
        << metrics;
}

TEST_F(RpcFixture, EveryMetricsLineIsWellFormedAndNoneIsCut) {
    start("");
    ASSERT_EQ(json_at(post(rpc_request("1", "eth_blockNumber")).body, "/result"), "\"0x64\"");
    std::string metrics = daemon->admin("GET", "/metrics").body;
    // A help or type line, or a sample: name, optional labels, a value.
    const std::regex line(
        R"((# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .+)|([a-zA-Z_:][a-zA-Z0-9_:]*(\{[^{}]*\})? )"
        R"((-?[0-9.]+(e[+-]?[0-9]+)?|NaN|\+Inf)))");
    size_t begin = 0, lines = 0;
    while (begin < metrics.size()) {
        size_t end = metrics.find('\n', begin);
        if (end == std::string::npos) end = metrics.size();
        std::string text = metrics.substr(begin, end - begin);
        if (!text.empty()) {
            lines++;
            EXPECT_TRUE(std::regex_match(text, line)) << "line " << lines << ": " << text;
        }
        begin = end + 1;
    }
    EXPECT_GT(lines, 100u);
    // These came last in a block formatted through a 512-byte line, which cut them off.
    EXPECT_GE(metric_value(metrics, "enginemux_rpc_broadcasts_total"), 0) << metrics;
    EXPECT_GE(metric_value(metrics, "enginemux_rpc_already_known_total"), 0);
}

TEST_F(RpcFixture, ANodeThatTakesTheSlotOfOneWithAnOpenBreakerStartsClosed) {
    heads = {"100", "90", "90"};  // el1 alone at the head: every head read is its to answer
    const std::string token = "rpc-test-admin-token-0123456789ab";
    start("[rpc]\nbreaker_failures = 3\nbreaker_cooldown_ms = 600000\n",
          {"--role", "rpc", "--admin-token-file", dir.write("admin.token", token),
           "--admin-secrets-dir", dir.path});
    daemon->admin_token = token;
    auto status = [&] { return daemon->admin("GET", "/status").body; };
    els[0]->set_rules("eth_blockNumber:http=503");
    for (int i = 0; i < 3; i++) post(rpc_request(std::to_string(10 + i), "eth_blockNumber"));
    ASSERT_EQ(json_at(status(), "/rpc/nodes/0/breaker"), "\"open\"") << status();
    // el1 goes; el4 is added and takes its slot (the first free one).
    MockEl el4(dir, "el4", {"--head", "100"});
    ASSERT_EQ(daemon->admin("DELETE", "/nodes/el1").status, 200);
    HttpReply added = daemon->admin("POST", "/nodes",
                                    el4.url() + "#jwt-secret=" + el4.secret + "#name=" + el4.name);
    ASSERT_EQ(added.status, 201) << added.body;
    ASSERT_EQ(json_at(status(), "/rpc/nodes/0/name"), "\"el4\"") << status();
    EXPECT_EQ(json_at(status(), "/rpc/nodes/0/breaker"), "\"closed\"")
        << "el1's open breaker (a 10-minute cooldown) must not bench el4: " << status();
    EXPECT_EQ(json_at(status(), "/rpc/nodes/0/breaker_opens"), "0");
    // The shard forgets the slot's counters when it takes the change (posted to it): poll.
    for (int k = 0; k < 100 && json_at(status(), "/nodes/0/errors") != "0"; k++)
        std::this_thread::sleep_for(50ms);
    EXPECT_EQ(json_at(status(), "/nodes/0/errors"), "0") << "el1's errors are not el4's";
}

TEST_F(RpcFixture, ASlowElsReadsAreHedgedToAFastOneWithinTheHedgeRatio) {
    heads = {"100", "100", "100"};
    start("[health]\ninterval_ms = 100\n[rpc]\nhedge_max_ratio = 0.5\n");
    // el1 answers reads in 300 ms; el2's and el3's health probes are slow, so routing (least
    // outstanding x probe latency) sends every read to el1 first.
    els[0]->set_rules("eth_blockNumber:delay=300");
    els[1]->set_rules("eth_syncing:delay=100");
    els[2]->set_rules("eth_syncing:delay=100");
    auto latency = [&](const std::string& s, int i) {
        return std::stol(json_at(s, "/nodes/" + std::to_string(i) + "/resp_time_us"));
    };
    std::string s;
    for (int k = 0; k < 400; k++) {
        s = daemon->admin("GET", "/status").body;
        long fast = latency(s, 0);
        if (latency(s, 1) > 5 * fast && latency(s, 2) > 5 * fast) break;
        std::this_thread::sleep_for(50ms);
    }
    ASSERT_GT(latency(s, 1), 5 * latency(s, 0)) << s;
    ASSERT_GT(latency(s, 2), 5 * latency(s, 0)) << s;
    const int reads = 20;
    for (int i = 0; i < reads; i++) {
        HttpReply r = post(rpc_request(std::to_string(i), "eth_blockNumber"));
        EXPECT_EQ(r.body, R"({"jsonrpc":"2.0","id":)" + std::to_string(i) + R"(,"result":"0x64"})");
    }
    std::string metrics = daemon->admin("GET", "/metrics").body;
    double hedges = metric_value(metrics, "enginemux_rpc_hedges_total{method=\"eth_blockNumber\"}");
    double won =
        metric_value(metrics, "enginemux_rpc_hedges_won_total{method=\"eth_blockNumber\"}");
    // Every read went to el1 first; the copies are the hedges, each to a fast EL, and the fast
    // EL's answer came first; at most hedge_max_ratio of the reads (plus a burst of one).
    EXPECT_EQ(el_calls(*els[0], "eth_blockNumber"), reads);
    EXPECT_GE(won, 1) << metrics;
    EXPECT_LE(won, hedges);
    EXPECT_LE(hedges, 0.5 * reads + 1);
    EXPECT_EQ(el_calls(*els[1], "eth_blockNumber") + el_calls(*els[2], "eth_blockNumber"), hedges);
    // The losers' late answers were dropped safely: the daemon answers as before.
    EXPECT_EQ(json_at(post(rpc_request("99", "eth_chainId")).body, "/result"), "\"0x1\"");
}

TEST_F(RpcFixture, AnEthGetLogsRangeOverTheLimitIsRefusedNamingItWhenSplittingIsOff) {
    start("[rpc]\nmax_logs_block_range = 50\nlogs_split = false\n");
    for (auto& el : els) el->set_rules("eth_getLogs:error=-32099:logs from the mock");
    auto asked = [&] {
        long n = 0;
        for (auto& el : els) n += el_calls(*el, "eth_getLogs");
        return n;
    };
    HttpReply wide =
        post(rpc_request(R"("w")", "eth_getLogs", R"([{"fromBlock":"0x1","toBlock":"0x64"}])"));
    EXPECT_EQ(wide.status, 200);
    EXPECT_EQ(json_at(wide.body, "/id"), "\"w\"") << wide.body;
    EXPECT_EQ(json_at(wide.body, "/error/code"), "-32602") << wide.body;
    EXPECT_NE(wide.body.find("blocks 1..100 are 100 blocks"), std::string::npos) << wide.body;
    EXPECT_NE(wide.body.find("max_logs_block_range"), std::string::npos) << wide.body;
    EXPECT_EQ(asked(), 0) << "no EL saw it";
    HttpReply fits =
        post(rpc_request("2", "eth_getLogs", R"([{"fromBlock":"0x1","toBlock":"0x32"}])"));
    EXPECT_EQ(json_at(fits.body, "/error/code"), "-32099") << "an EL answered: " << fits.body;
    EXPECT_EQ(asked(), 1);
}

TEST_F(RpcFixture, AWideEthGetLogsIsSplitAcrossTheElsAndMergedAsOneElAnswersIt) {
    // The ELs refuse more than 10 blocks at once, as enginemux's limit says: a piece over it
    // would fail the call. The reference EL (not behind enginemux) answers any range.
    el_args = {"--logs-blocks-max", "10"};
    start("[rpc]\nmax_logs_block_range = 10\nhedge_max_ratio = 0\n");
    MockEl reference(dir, "reference", {"--head", "100"});
    struct Case {
        std::string params;
        long pieces;
    };
    const Case cases[] = {
        {R"([{"fromBlock":"0x1","toBlock":"0x5f","address":"0xaa"}])", 10},  // 1..95
        {R"([{"fromBlock":"earliest","toBlock":"latest"}])", 11},            // 0..100
        {R"([{"fromBlock":"0x50"}])", 3},                                    // 80..100
    };
    long total = 0;
    for (const Case& c : cases) {
        std::string body = rpc_request(R"("logs\u0021")", "eth_getLogs", c.params);
        HttpReply merged = post(body);
        HttpReply direct =
            http_request(reference.port, "POST", "/", body, jwt_for(reference.secret));
        ASSERT_EQ(merged.status, 200);
        EXPECT_NE(direct.body.find(R"("blockNumber":"0x5)"), std::string::npos) << direct.body;
        EXPECT_EQ(merged.body, direct.body) << c.params;
        total += c.pieces;
    }
    long asked[3];
    for (size_t i = 0; i < 3; i++) asked[i] = el_calls(*els[i], "eth_getLogs");
    EXPECT_EQ(asked[0] + asked[1] + asked[2], total);
    for (size_t i = 0; i < 3; i++) EXPECT_GE(asked[i], 1) << "el" << i + 1 << " got no piece";
    std::string metrics = daemon->admin("GET", "/metrics").body;
    EXPECT_EQ(metric_value(metrics, "enginemux_rpc_logs_splits_total"), 3) << metrics;
    EXPECT_EQ(metric_value(metrics, "enginemux_rpc_logs_pieces_total"), total) << metrics;
    // A range within the limit goes whole to one EL, as before.
    HttpReply small =
        post(rpc_request("1", "eth_getLogs", R"([{"fromBlock":"0x1","toBlock":"0xa"}])"));
    EXPECT_EQ(small.body, http_request(reference.port, "POST", "/",
                                       rpc_request("1", "eth_getLogs",
                                                   R"([{"fromBlock":"0x1","toBlock":"0xa"}])"),
                                       jwt_for(reference.secret))
                              .body);
    // Too many pieces: refused naming the limit, no EL asked.
    HttpReply huge =
        post(rpc_request("2", "eth_getLogs", R"([{"fromBlock":"0x0","toBlock":"0xfff"}])"));
    EXPECT_EQ(json_at(huge.body, "/error/code"), "-32602") << huge.body;
    EXPECT_NE(huge.body.find("logs_split_pieces_max"), std::string::npos) << huge.body;
    long after = 0;
    for (size_t i = 0; i < 3; i++) after += el_calls(*els[i], "eth_getLogs");
    EXPECT_EQ(after, total + 1);
}

TEST_F(RpcFixture, AnEthGetLogsPieceNoElCanAnswerFailsTheCallNamingItsBlocks) {
    start("[rpc]\nmax_logs_block_range = 10\nhedge_max_ratio = 0\nbreaker_failures = 0\n");
    for (auto& el : els) el->set_rules("eth_getLogs:http=503");
    HttpReply r =
        post(rpc_request("9", "eth_getLogs", R"([{"fromBlock":"0x1","toBlock":"0x19"}])"));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(json_at(r.body, "/id"), "9") << r.body;
    EXPECT_EQ(json_at(r.body, "/result"), "<missing>") << "never a partial array: " << r.body;
    EXPECT_NE(r.body.find("eth_getLogs: blocks "), std::string::npos) << r.body;
    EXPECT_NE(r.body.find("of 3) failed, so no answer is given for the whole range"),
              std::string::npos)
        << r.body;
    EXPECT_NE(r.body.find("HTTP 503"), std::string::npos) << r.body;
    // Each piece was tried on every EL that has its blocks (retried like any read).
    long asked = 0;
    for (auto& el : els) asked += el_calls(*el, "eth_getLogs");
    EXPECT_GE(asked, 3 * 2);
    for (auto& el : els) el->set_rules("");
    HttpReply healed =
        post(rpc_request("10", "eth_getLogs", R"([{"fromBlock":"0x1","toBlock":"0x19"}])"));
    EXPECT_NE(healed.body.find(R"("result":[)"), std::string::npos) << healed.body;
}

TEST_F(RpcFixture, AStickyClientStaysOnItsElAndMovesOnlyToOneAtItsNewestBlock) {
    std::string keys = dir.write("keys.txt", "alice-key-0001\nbob-key-00002\ncarol-key-0003\n");
    heads = {"100", "100", "90"};
    start("[health]\ninterval_ms = 100\n[rpc]\napi_keys_file = \"" + keys +
          "\"\nsticky = \"key\"\nhedge_max_ratio = 0\n");
    auto read = [&](const std::string& key, const std::string& method, const std::string& params) {
        HttpReply r = post(rpc_request("1", method, params), "/", key);
        EXPECT_NE(r.body.find("\"result\""), std::string::npos) << r.body;
    };
    read("alice-key-0001", "eth_blockNumber", "[]");
    size_t a = el_calls(*els[0], "eth_blockNumber") == 1 ? 0 : 1;  // alice's EL
    size_t b = 1 - a;
    ASSERT_EQ(el_calls(*els[a], "eth_blockNumber"), 1);
    // Alice's EL turns slow to probe: everyone else's reads go to the other one now.
    els[a]->set_rules("eth_syncing:delay=100");
    auto latency = [&](const std::string& s, size_t i) {
        return std::stol(json_at(s, "/nodes/" + std::to_string(i) + "/resp_time_us"));
    };
    std::string s;
    for (int k = 0; k < 400; k++) {
        s = daemon->admin("GET", "/status").body;
        if (latency(s, a) > 5 * latency(s, b)) break;
        std::this_thread::sleep_for(50ms);
    }
    ASSERT_GT(latency(s, a), 5 * latency(s, b)) << s;
    for (int i = 0; i < 5; i++) read("bob-key-00002", "eth_blockNumber", "[]");
    EXPECT_EQ(el_calls(*els[b], "eth_blockNumber"), 5) << "bob: the usual pick";
    for (int i = 0; i < 5; i++) read("alice-key-0001", "eth_blockNumber", "[]");
    EXPECT_EQ(el_calls(*els[a], "eth_blockNumber"), 6) << "alice stays on her EL";
    EXPECT_EQ(el_calls(*els[b], "eth_blockNumber"), 5);
    // Her EL dies: she moves to the other at the head, never to el3 (at 90, behind her block
    // 100), even for an old block el3 has.
    els[a]->process->signal(SIGKILL);
    els[a]->process->wait_exit();
    for (int k = 0; k < 400; k++) {
        s = daemon->admin("GET", "/status").body;
        if (json_at(s, "/nodes/" + std::to_string(a) + "/state") == "\"dead\"") break;
        std::this_thread::sleep_for(50ms);
    }
    ASSERT_EQ(json_at(s, "/nodes/" + std::to_string(a) + "/state"), "\"dead\"") << s;
    // el3 is made the usual pick of a read it can answer (a call at block 16, which it has):
    // only alice's floor keeps her away from it.
    els[b]->set_rules("eth_syncing:delay=100");
    for (int k = 0; k < 400; k++) {
        s = daemon->admin("GET", "/status").body;
        if (latency(s, b) > 5 * latency(s, 2)) break;
        std::this_thread::sleep_for(50ms);
    }
    ASSERT_GT(latency(s, b), 5 * latency(s, 2)) << s;
    // (Another account each time: a call at a final block read again is a cache hit.)
    auto old_call = [&](const std::string& key, int i) {
        read(key, "eth_call",
             R"([{"to":"0x00000000000000000000000000000000000000)" + std::to_string(10 + i) +
                 R"("},"0x10"])");
    };
    for (int i = 0; i < 5; i++) old_call("alice-key-0001", i);
    EXPECT_EQ(el_calls(*els[2], "eth_call"), 0) << "alice's reads never go to el3, behind her";
    EXPECT_EQ(el_calls(*els[b], "eth_call"), 5) << "alice moved to el" << b + 1;
    old_call("carol-key-0003", 9);
    EXPECT_EQ(el_calls(*els[2], "eth_call"), 1)
        << "carol, new, has no floor: el3 is her usual pick";
    std::string metrics = daemon->admin("GET", "/metrics").body;
    EXPECT_GE(metric_value(metrics, "enginemux_rpc_sticky_kept_total"), 5) << metrics;
    EXPECT_GE(metric_value(metrics, "enginemux_rpc_sticky_moved_total"), 1) << metrics;
}

}  // namespace
}  // namespace em::test
