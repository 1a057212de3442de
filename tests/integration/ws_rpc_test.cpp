// JSON-RPC over WebSocket on the rpc listener (issue 17 items 2 and 5), end to end: the real
// daemon in the rpc role in front of three enginemux-mock-el processes, driven by a small client
// built on the codec (http/websocket.h, client role) over a blocking socket on 127.0.0.1.
//  - calls and batches come back with their ids intact, in any order; ping is answered pong;
//    a close is echoed with its code;
//  - the API key is asked before the upgrade (401), a bad handshake is 400/426 naming why, the
//    CL's engine listener never upgrades;
//  - each bad frame closes its own connection with the right code, another connection keeps
//    working and the daemon lives;
//  - a client that never reads is closed with 1008 once its queue is full, and its queue never
//    held more than send_queue_bytes (the gauges, not timing, say so);
//  - past [rpc.ws] connections_max an upgrade is 503 naming the limit (counted as refused) and
//    the connections already open keep working; one closing makes room again;
//  - on SIGTERM an open WebSocket is sent close 1001 before its socket ends.
// No assertion depends on timing: waits poll for a state with a generous limit.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"
#include "http/websocket.h"
#include "ws_client.h"

namespace em::test {
namespace {

using namespace std::chrono_literals;

int status_of_head(const std::string& head) {
    return head.size() > 12 ? std::atoi(head.c_str() + 9) : 0;
}

struct WsFixture : ::testing::Test {
    TempDir dir;
    std::vector<std::unique_ptr<MockEl>> els;
    std::unique_ptr<Daemon> daemon;
    uint16_t rpc_port = 0;

    void start(const std::string& table, std::vector<std::string> args = {"--role", "rpc"}) {
        for (int i = 1; i <= 3; i++)
            els.push_back(std::make_unique<MockEl>(dir, "el" + std::to_string(i),
                                                   std::vector<std::string>{"--head", "100"}));
        std::string config = dir.write(
            "ws.toml", "[limits]\nbody_bytes_max = 1048576\nbatch_entries_max = 5000\n" + table);
        args.insert(args.end(), {"--config", config});
        daemon = std::make_unique<Daemon>(
            dir, std::vector<MockEl*>{els[0].get(), els[1].get(), els[2].get()}, args);
        std::string line = daemon->process->wait_for_line("rpc listener on");
        rpc_port = rpc_port_in(line);
        ASSERT_NE(rpc_port, 0) << line;
        for (int k = 0; k < 400; k++) {
            std::string s = daemon->admin("GET", "/status").body;
            if (json_at(s, "/rpc/highest_head") == "100" &&
                json_at(s, "/rpc/nodes/2/head") == "100")
                return;
            std::this_thread::sleep_for(50ms);
        }
        FAIL() << "the ELs' heads never showed in /status";
    }
    std::string ws_status(const std::string& field) {
        return json_at(daemon->admin("GET", "/status").body, "/rpc/websocket/" + field);
    }
    /// Polls /status until rpc.websocket.<field> reads `want` (generous limit).
    bool wait_status(const std::string& field, const std::string& want) {
        for (int k = 0; k < 600; k++) {
            if (ws_status(field) == want) return true;
            std::this_thread::sleep_for(50ms);
        }
        return false;
    }
    /// A connection that completed the handshake.
    std::unique_ptr<WsClient> open(const std::string& target = "/", const std::string& extra = "") {
        auto c = std::make_unique<WsClient>(rpc_port);
        EXPECT_TRUE(c->ok());
        std::string head = c->handshake(target, extra);
        EXPECT_EQ(status_of_head(head), 101) << head;
        return c;
    }
};

TEST_F(WsFixture, CallsAndBatchesComeBackWithTheirIdsOverOneConnection) {
    start("");
    auto c = open();
    ASSERT_TRUE(c->send_text(rpc_request("1", "eth_blockNumber")));
    WsRead r = c->read();
    ASSERT_EQ(r.kind, WsRead::message) << r.text;
    EXPECT_EQ(r.text, R"({"jsonrpc":"2.0","id":1,"result":"0x64"})");
    // A batch, ids of every kind byte for byte; one entry outside the allow-list.
    ASSERT_TRUE(c->send_text("[" + rpc_request(R"("a")", "eth_blockNumber") + "," +
                             rpc_request("18446744073709551617", "eth_chainId") + "," +
                             rpc_request("null", "admin_peers") + "]"));
    r = c->read();
    ASSERT_EQ(r.kind, WsRead::message) << r.text;
    EXPECT_EQ(r.text, R"([{"jsonrpc":"2.0","id":"a","result":"0x64"},)"
                      R"({"jsonrpc":"2.0","id":18446744073709551617,"result":"0x1"},)"
                      R"({"jsonrpc":"2.0","id":null,"error":{"code":-32601,"message":"the method )"
                      R"x(admin_peers is not available on this endpoint (allow_methods)"}}])x");
    // Many calls in flight at once: every id comes back once, in whatever order.
    std::set<std::string> want;
    for (int i = 0; i < 50; i++) {
        std::string id = std::to_string(1000 + i);
        want.insert(id);
        ASSERT_TRUE(c->send_text(rpc_request(id, i % 2 ? "eth_blockNumber" : "eth_chainId")));
    }
    std::set<std::string> got;
    for (int i = 0; i < 50; i++) {
        r = c->read();
        ASSERT_EQ(r.kind, WsRead::message) << r.text;
        got.insert(json_at(r.text, "/id"));
    }
    EXPECT_EQ(got, want);
    // A binary message is JSON-RPC too; ping is answered pong with its payload.
    ASSERT_TRUE(c->send_frame(http::WsOpcode::binary, rpc_request("7", "eth_blockNumber")));
    ASSERT_TRUE(c->send_frame(http::WsOpcode::ping, "are you there"));
    std::set<std::string> seen;
    for (int i = 0; i < 2; i++) {
        r = c->read();
        if (r.kind == WsRead::pong) seen.insert("pong:" + r.text);
        if (r.kind == WsRead::message) seen.insert(json_at(r.text, "/id"));
    }
    EXPECT_EQ(seen, (std::set<std::string>{"pong:are you there", "7"}));
    // Not JSON: a JSON-RPC parse error, and the connection stays.
    ASSERT_TRUE(c->send_text("{nope"));
    r = c->read();
    EXPECT_EQ(json_at(r.text, "/error/code"), "-32700") << r.text;
    // The close handshake: our code comes back, then the server closes.
    ASSERT_TRUE(c->send_frame(http::WsOpcode::close, std::string("\x0f\xa0", 2) + "bye"));
    r = c->read();
    EXPECT_EQ(r.kind, WsRead::close);
    EXPECT_EQ(r.code, 4000);
    EXPECT_EQ(c->read().kind, WsRead::eof);
    EXPECT_TRUE(wait_status("open", "0"));
    std::string metrics = daemon->admin("GET", "/metrics").body;
    EXPECT_GE(metric_value(metrics, "enginemux_ws_messages_in_total"), 54) << metrics;
    EXPECT_GE(metric_value(metrics, "enginemux_ws_messages_out_total"), 54) << metrics;
}

TEST_F(WsFixture, AnAnswerReadyFirstLeavesFirstWhateverTheOrderOfTheRequests) {
    start("[rpc.method_timeouts_ms]\neth_getBalance = 1000\n");
    for (auto& el : els) el->set_rules("eth_getBalance: hang");
    auto c = open();
    // The first request waits on an EL that never answers; the second is answered meanwhile.
    ASSERT_TRUE(c->send_text(rpc_request(
        "1", "eth_getBalance", R"(["0x0000000000000000000000000000000000000001","latest"])")));
    ASSERT_TRUE(c->send_text(rpc_request("2", "eth_blockNumber")));
    WsRead first = c->read();
    ASSERT_EQ(first.kind, WsRead::message) << first.text;
    EXPECT_EQ(first.text, R"({"jsonrpc":"2.0","id":2,"result":"0x64"})");
    WsRead second = c->read();
    ASSERT_EQ(second.kind, WsRead::message) << second.text;
    EXPECT_EQ(json_at(second.text, "/id"), "1") << second.text;
    EXPECT_NE(json_at(second.text, "/error"), "<missing>") << second.text;
}

TEST_F(WsFixture, TheApiKeyIsAskedBeforeTheUpgradeAndBadHandshakesSayWhy) {
    TempDir keys_dir;
    std::string keys = keys_dir.write("keys", "k3y-one-two\n");
    start("[rpc]\napi_keys_file = \"" + keys + "\"\n");
    {
        WsClient c(rpc_port);
        std::string head = c.handshake("/");
        EXPECT_EQ(status_of_head(head), 401) << head;
    }
    {
        WsClient c(rpc_port);
        std::string head = c.handshake("/wrong");
        EXPECT_EQ(status_of_head(head), 401) << head;
    }
    {
        WsClient c(rpc_port);
        std::string head = c.handshake("/", "", "8");
        EXPECT_EQ(status_of_head(head), 401) << "the key comes first: " << head;
    }
    {
        WsClient c(rpc_port);
        std::string head = c.handshake("/k3y-one-two", "", "8");
        EXPECT_EQ(status_of_head(head), 426) << head;
        EXPECT_NE(head.find("Sec-WebSocket-Version: 13"), std::string::npos) << head;
    }
    auto by_path = open("/k3y-one-two");
    ASSERT_TRUE(by_path->send_text(rpc_request("1", "eth_blockNumber")));
    EXPECT_EQ(json_at(by_path->read().text, "/result"), "\"0x64\"");
    auto by_header = open("/", "Authorization: Bearer k3y-one-two\r\n");
    ASSERT_TRUE(by_header->send_text(rpc_request("2", "eth_blockNumber")));
    EXPECT_EQ(json_at(by_header->read().text, "/result"), "\"0x64\"");
}

TEST_F(WsFixture, AHandshakeWithoutASecWebSocketKeyIs400NamingIt) {
    start("");
    ClientSocket c(rpc_port);
    ASSERT_TRUE(
        c.send_all("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n"));
    std::string raw = c.read_response();
    EXPECT_EQ(status_of_response(raw), 400) << raw;
    EXPECT_NE(raw.find("Sec-WebSocket-Key"), std::string::npos) << raw;
    EXPECT_EQ(ws_status("open"), "0");
}

TEST_F(WsFixture, TheEngineListenerNeverUpgrades) {
    start("", {"--rpc-listen", "127.0.0.1:0"});
    WsClient c(daemon->port);
    std::string head = c.handshake("/");
    EXPECT_NE(status_of_head(head), 101) << head;
    EXPECT_EQ(status_of_head(head), 405) << head;
}

struct BadFrame {
    const char* name;
    std::string bytes;
    uint16_t code;
};

/// One masked frame (first byte b0) with a payload of at most 125 bytes.
std::string masked(uint8_t b0, const std::string& payload) {
    http::WsMask mask{{1, 2, 3, 4}};
    std::string f(1, static_cast<char>(b0));
    f += static_cast<char>(0x80 | payload.size());
    f.append(reinterpret_cast<const char*>(mask.key.data()), 4);
    for (size_t i = 0; i < payload.size(); i++)
        f += static_cast<char>(payload[i] ^ mask.key[i % 4]);
    return f;
}

TEST_F(WsFixture, EachBadFrameClosesItsConnectionWithTheRightCodeAndOnlyIt) {
    start("");
    std::string long_len = "\x81\xff";  // masked text, 64-bit length with the top bit set
    long_len += std::string("\x80\x00\x00\x00\x00\x00\x00\x00", 8) + "\x01\x02\x03\x04";
    // A masked ping with a 126-byte payload (16-bit length form).
    std::string control_126 = std::string("\x89\xfe\x00\x7e", 4) + "\x01\x02\x03\x04";
    control_126 += std::string(126, 'p');
    std::vector<BadFrame> cases = {
        {"unmasked", "\x81\x02hi", http::ws_close::protocol_error},
        {"2^63 length", long_len, http::ws_close::protocol_error},
        {"control over 125 bytes", control_126, http::ws_close::protocol_error},
        {"fragmented ping", masked(0x09, "ping"), http::ws_close::protocol_error},
        {"invalid UTF-8", masked(0x81, "\xc3\x28"), http::ws_close::invalid_payload},
        {"reserved close code", masked(0x88, std::string("\x03\xed", 2)),
         http::ws_close::protocol_error},
    };
    auto keeper = open();
    int protocol_closes = 0;
    for (const BadFrame& bad : cases) {
        SCOPED_TRACE(bad.name);
        auto c = open();
        ASSERT_TRUE(c->send_raw(bad.bytes));
        WsRead r = c->read_until_close();
        ASSERT_EQ(r.kind, WsRead::close) << r.text;
        EXPECT_EQ(r.code, bad.code) << r.text;
        EXPECT_FALSE(r.text.empty()) << "the reason names what was wrong";
        protocol_closes++;
        // The other connection is unaffected.
        ASSERT_TRUE(
            keeper->send_text(rpc_request(std::to_string(protocol_closes), "eth_blockNumber")));
        WsRead k = keeper->read();
        EXPECT_EQ(json_at(k.text, "/result"), "\"0x64\"") << k.text;
    }
    EXPECT_TRUE(daemon->process->running());
    EXPECT_EQ(ws_status("closed_protocol"), std::to_string(protocol_closes));
    EXPECT_TRUE(wait_status("open", "1"));
}

TEST_F(WsFixture, AClientThatNeverReadsIsClosedWith1008AndItsQueueStaysBounded) {
    const size_t queue = 256 * 1024;
    start("[rpc.ws]\nsend_queue_bytes = " + std::to_string(queue) + "\nclose_linger_ms = 60000\n");
    auto reader = open();
    auto slow_client = std::make_unique<WsClient>(rpc_port, 4096);
    WsClient& slow = *slow_client;
    ASSERT_EQ(status_of_head(slow.handshake("/")), 101);
    // Batches of 2000 eth_chainId (answered from the cache): ~80 KB of answer each.
    std::string batch = "[";
    for (int i = 0; i < 2000; i++) {
        if (i) batch += ",";
        batch += rpc_request(std::to_string(i), "eth_chainId");
    }
    batch += "]";
    bool closed = false;
    for (int round = 0; round < 400 && !closed; round++) {
        ASSERT_TRUE(slow.send_text(batch));
        if (round % 10 == 9) closed = ws_status("closed_1008") == "1";
        // Another client is answered meanwhile.
        if (round % 50 == 0) {
            ASSERT_TRUE(reader->send_text(rpc_request("9", "eth_blockNumber")));
            EXPECT_EQ(json_at(reader->read().text, "/result"), "\"0x64\"");
        }
    }
    ASSERT_TRUE(closed || wait_status("closed_1008", "1"));
    std::string peak = ws_status("queue_peak_bytes");
    EXPECT_LE(std::stoull(peak), queue + 512)  // WsSendQueue::headroom_bytes
        << "the slow client's queue grew past send_queue_bytes";
    EXPECT_GT(std::stoull(peak), queue / 2) << "the queue never filled: the test proves nothing";
    // It resumes reading: the answers that were queued, then the close with 1008 and a reason.
    WsRead r = slow.read_until_close(30000);
    ASSERT_EQ(r.kind, WsRead::close) << r.text;
    EXPECT_EQ(r.code, http::ws_close::policy_violation);
    EXPECT_NE(r.text.find("send_queue_bytes"), std::string::npos) << r.text;
    slow_client.reset();  // it hangs up: the server closes its side too
    ASSERT_TRUE(reader->send_text(rpc_request("10", "eth_blockNumber")));
    EXPECT_EQ(json_at(reader->read().text, "/result"), "\"0x64\"");
    EXPECT_TRUE(wait_status("open", "1"));
    EXPECT_TRUE(wait_status("queue_bytes", "0"));
}

TEST_F(WsFixture, PastConnectionsMaxAnUpgradeIs503AndTheOpenConnectionsKeepWorking) {
    start("[rpc.ws]\nconnections_max = 2\n");
    auto first = open();
    auto second = open();
    ASSERT_TRUE(wait_status("open", "2"));
    std::string metrics = daemon->admin("GET", "/metrics").body;
    const double refused_before = metric_value(metrics, "enginemux_ws_refused_total");
    ASSERT_EQ(refused_before, 0) << metrics;
    // The third upgrade: a whole HTTP answer (head and body), never a 101.
    {
        ClientSocket third(rpc_port);
        ASSERT_TRUE(third.ok());
        ASSERT_TRUE(
            third.send_all("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                           "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n"));
        std::string raw = third.read_response();
        EXPECT_EQ(status_of_response(raw), 503) << raw;
        EXPECT_NE(raw.find("[rpc.ws] connections_max (2)"), std::string::npos)
            << "the refusal names the limit: " << raw;
    }
    metrics = daemon->admin("GET", "/metrics").body;
    EXPECT_EQ(metric_value(metrics, "enginemux_ws_refused_total"), refused_before + 1) << metrics;
    EXPECT_EQ(metric_value(metrics, "enginemux_ws_connections_open"), 2) << metrics;
    // The two open connections are untouched by the refusal.
    ASSERT_TRUE(first->send_text(rpc_request("1", "eth_blockNumber")));
    ASSERT_TRUE(second->send_text(rpc_request("2", "eth_chainId")));
    WsRead a = first->read();
    WsRead b = second->read();
    ASSERT_EQ(a.kind, WsRead::message) << a.text;
    ASSERT_EQ(b.kind, WsRead::message) << b.text;
    EXPECT_EQ(a.text, R"({"jsonrpc":"2.0","id":1,"result":"0x64"})");
    EXPECT_EQ(b.text, R"({"jsonrpc":"2.0","id":2,"result":"0x1"})");
    // One of them closes: there is room again (the limit counts open connections).
    ASSERT_TRUE(first->send_frame(http::WsOpcode::close, std::string("\x03\xe8", 2)));
    EXPECT_EQ(first->read_until_close().code, http::ws_close::normal);
    ASSERT_TRUE(wait_status("open", "1"));
    auto again = open();
    ASSERT_TRUE(again->send_text(rpc_request("3", "eth_blockNumber")));
    EXPECT_EQ(json_at(again->read().text, "/result"), "\"0x64\"");
}

TEST_F(WsFixture, OnShutdownAnOpenWebSocketIsSentClose1001BeforeItsSocketEnds) {
    start("");
    auto c = open();
    ASSERT_TRUE(c->send_text(rpc_request("1", "eth_blockNumber")));
    ASSERT_EQ(json_at(c->read().text, "/result"), "\"0x64\"");
    ASSERT_TRUE(wait_status("open", "1"));
    daemon->process->signal(SIGTERM);
    // The client does not answer the close: the daemon still ends the socket (after
    // close_linger_ms) and exits, but the close frame comes first.
    WsRead r = c->read_until_close(30000);
    ASSERT_EQ(r.kind, WsRead::close) << "no close frame before the socket ended: " << r.text;
    EXPECT_EQ(r.code, http::ws_close::going_away);
    EXPECT_NE(r.text.find("shutting down"), std::string::npos) << r.text;
    EXPECT_EQ(c->read(30000).kind, WsRead::eof);
    EXPECT_EQ(daemon->process->wait_exit(30000), 0) << daemon->process->stderr_text();
}

}  // namespace
}  // namespace em::test
