// eth_subscribe("newHeads") through the rpc listener's WebSocket (issue 17 items 3-4), end to
// end: the real daemon in the rpc role in front of three enginemux-mock-el processes with their
// WebSocket port (a chain that is a function of the wall clock, the same on all three), several
// clients subscribed.
//  - upstream, one subscription feeds every client (the mocks count them);
//  - SIGKILL of the EL holding that subscription mid-chain (stopped two blocks before, so the
//    new feed starts past a gap): every client keeps receiving, every
//    number once and in order, each head's parentHash the previous head's hash;
//  - a feed that goes silent (mock_chain stop) is moved and the gap filled the same way;
//  - eth_unsubscribe ends a subscription; the limit per connection is answered naming it.
// No assertion depends on timing: reads wait with generous limits.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"
#include "ws_client.h"

namespace em::test {
namespace {

using namespace std::chrono_literals;

constexpr int block_ms = 300;

std::string request(int id, const std::string& method, const std::string& params) {
    return R"({"jsonrpc":"2.0","id":)" + std::to_string(id) + R"(,"method":")" + method +
           R"(","params":)" + params + "}";
}

uint16_t port_after(const std::string& line, const std::string& what) {
    size_t at = line.find(what);
    if (at == std::string::npos) return 0;
    size_t colon = line.find(':', at + what.size());
    return colon == std::string::npos ? 0
                                      : static_cast<uint16_t>(std::atoi(line.c_str() + colon + 1));
}

/// A head as a client saw it.
struct Seen {
    uint64_t number = 0;
    std::string hash, parent;
};

/// A client subscribed to newHeads; collects what it receives.
struct Subscriber {
    std::unique_ptr<WsClient> ws;
    std::string id;
    std::vector<Seen> heads;

    /// Reads notifications until `count` heads came in all (false on anything else).
    bool read_until(size_t count, std::string* why) {
        while (heads.size() < count) {
            WsRead r = ws->read(20000);
            if (r.kind != WsRead::message) {
                *why = "read ended: kind " + std::to_string(r.kind) + " " + r.text;
                return false;
            }
            if (json_at(r.text, "/params/subscription") != "\"" + id + "\"") {
                *why = "not our notification: " + r.text;
                return false;
            }
            Seen s;
            s.number = std::stoull(json_at(r.text, "/params/result/number").substr(3), nullptr, 16);
            s.hash = json_at(r.text, "/params/result/hash");
            s.parent = json_at(r.text, "/params/result/parentHash");
            heads.push_back(s);
        }
        return true;
    }
    /// Every number once, consecutive, each linked to the one before.
    std::string gaps_or_repeats() const {
        for (size_t i = 1; i < heads.size(); i++) {
            const Seen &a = heads[i - 1], &b = heads[i];
            if (b.number != a.number + 1)
                return "number " + std::to_string(a.number) + " then " + std::to_string(b.number);
            if (b.parent != a.hash) return "head " + std::to_string(b.number) + " does not link";
        }
        return "";
    }
};

struct SubsFixture : ::testing::Test {
    TempDir dir;
    std::vector<std::unique_ptr<MockEl>> els;
    std::vector<uint16_t> ws_ports;
    std::unique_ptr<Daemon> daemon;
    uint16_t rpc_port = 0;

    void start(const std::string& table = "") {
        std::vector<std::string> options;
        for (int i = 1; i <= 3; i++) {
            els.push_back(
                std::make_unique<MockEl>(dir, "el" + std::to_string(i),
                                         std::vector<std::string>{"--ws-port", "0", "--block-ms",
                                                                  std::to_string(block_ms)}));
            std::string line = els.back()->process->wait_for_line("ws listening on");
            ws_ports.push_back(port_after(line, "ws listening on"));
            ASSERT_NE(ws_ports.back(), 0) << line;
            options.push_back("#ws=ws://127.0.0.1:" + std::to_string(ws_ports.back()));
        }
        std::string config = dir.write("subs.toml", table);
        daemon = std::make_unique<Daemon>(
            dir, std::vector<MockEl*>{els[0].get(), els[1].get(), els[2].get()},
            std::vector<std::string>{"--role", "rpc", "--config", config}, options);
        std::string line = daemon->process->wait_for_line("rpc listener on");
        rpc_port = rpc_port_in(line);
        ASSERT_NE(rpc_port, 0) << line;
    }
    /// A direct WebSocket to mock EL i (for its counters and controls).
    std::string ask_el(size_t i, const std::string& method, const std::string& params = "[]") {
        WsClient c(ws_ports[i]);
        EXPECT_TRUE(c.ok());
        c.handshake();
        c.send_text(request(1, method, params));
        WsRead r = c.read(10000);
        return r.text;
    }
    int live_upstream(size_t i) {
        std::string live = json_at(ask_el(i, "mock_subscriptions"), "/result/live");
        return live == "<missing>" ? -1 : std::atoi(live.c_str());
    }
    Subscriber subscribe() {
        Subscriber s;
        s.ws = std::make_unique<WsClient>(rpc_port);
        EXPECT_TRUE(s.ws->ok());
        std::string head = s.ws->handshake();
        EXPECT_NE(head.find(" 101 "), std::string::npos) << head;
        s.ws->send_text(request(1, "eth_subscribe", R"(["newHeads"])"));
        WsRead r = s.ws->read(10000);
        std::string id = json_at(r.text, "/result");
        EXPECT_EQ(id.size(), 36u) << r.text;  // "0x" + 32 hex digits, quoted
        s.id = id.size() > 2 ? id.substr(1, id.size() - 2) : "";
        return s;
    }
    /// The EL whose upstream subscription is open (-1 if not exactly one has one).
    int holder() {
        for (int k = 0; k < 200; k++) {
            int found = -1, count = 0;
            for (size_t i = 0; i < els.size(); i++) {
                if (!els[i]->process->running()) continue;
                int live = live_upstream(i);
                if (live > 0) {
                    found = static_cast<int>(i);
                    count += live;
                }
            }
            if (count == 1) return found;
            std::this_thread::sleep_for(50ms);
        }
        return -1;
    }
};

TEST_F(SubsFixture, KillingTheFeedingElLosesNoHeadAndRepeatsNone) {
    start();
    std::vector<Subscriber> subs;
    for (int i = 0; i < 4; i++) subs.push_back(subscribe());
    std::string why;
    for (Subscriber& s : subs) ASSERT_TRUE(s.read_until(4, &why)) << why;
    int feeding = holder();
    ASSERT_GE(feeding, 0) << "not exactly one upstream subscription for four clients";
    // So that the kill leaves a gap to fill (not only a reconnect between two blocks): the
    // feeding EL stops announcing, and is killed once another EL is two blocks past it.
    auto f = static_cast<size_t>(feeding);
    ASSERT_EQ(json_at(ask_el(f, "mock_chain", R"(["stop"])"), "/result"), "true");
    uint64_t frozen =
        std::stoull(json_at(ask_el(f, "eth_blockNumber"), "/result").substr(3), nullptr, 16);
    size_t other = (f + 1) % els.size();
    for (int k = 0; k < 400; k++) {
        std::string n = json_at(ask_el(other, "eth_blockNumber"), "/result");
        if (std::stoull(n.substr(3), nullptr, 16) >= frozen + 2) break;
        std::this_thread::sleep_for(20ms);
    }
    els[static_cast<size_t>(feeding)]->process->signal(SIGKILL);
    els[static_cast<size_t>(feeding)]->process->wait_exit();
    for (Subscriber& s : subs) {
        ASSERT_TRUE(s.read_until(s.heads.size() + 12, &why)) << why;
        EXPECT_EQ(s.gaps_or_repeats(), "") << "client " << s.id;
    }
    int next = holder();
    EXPECT_GE(next, 0) << "after the failover, not exactly one upstream subscription";
    EXPECT_NE(next, feeding);
    // The clients saw the same heads from where they started.
    for (size_t i = 1; i < subs.size(); i++) {
        EXPECT_EQ(subs[i].heads.back().number >= subs[0].heads.front().number, true);
    }
}

TEST_F(SubsFixture, ASilentFeedIsMovedAndItsGapFilled) {
    start();
    Subscriber s = subscribe();
    std::string why;
    ASSERT_TRUE(s.read_until(3, &why)) << why;
    int feeding = holder();
    ASSERT_GE(feeding, 0);
    // The EL stops announcing (its head freezes): after twice the block interval (at least
    // silence_min_ms), the feed moves, and the blocks it missed are fetched.
    std::string stopped = ask_el(static_cast<size_t>(feeding), "mock_chain", R"(["stop"])");
    ASSERT_EQ(json_at(stopped, "/result"), "true") << stopped;
    ASSERT_TRUE(s.read_until(s.heads.size() + 15, &why)) << why;
    EXPECT_EQ(s.gaps_or_repeats(), "");
    int next = holder();
    EXPECT_GE(next, 0);
    EXPECT_NE(next, feeding);
    // What an operator sees of it: a move, heads filled in, none skipped.
    std::string metrics = daemon->admin("GET", "/metrics").body;
    EXPECT_GE(metric_value(metrics, "enginemux_ws_heads_failovers_total"), 1) << metrics;
    EXPECT_GE(metric_value(metrics, "enginemux_ws_heads_filled_total"), 1);
    EXPECT_EQ(metric_value(metrics, "enginemux_ws_heads_skipped_total"), 0);
    EXPECT_GE(metric_value(metrics, "enginemux_ws_heads_delivered_total"),
              static_cast<double>(s.heads.size()));
}

TEST_F(SubsFixture, UnsubscribeAndTheLimitPerConnection) {
    start("[rpc.ws]\nsubscriptions_per_connection_max = 2\n");
    Subscriber s = subscribe();
    s.ws->send_text(request(2, "eth_subscribe", R"(["newHeads"])"));
    s.ws->send_text(request(3, "eth_subscribe", R"(["newHeads"])"));
    s.ws->send_text(request(4, "eth_subscribe", R"(["logs"])"));
    std::string third, logs;
    for (int k = 0; k < 40 && (third.empty() || logs.empty()); k++) {
        WsRead r = s.ws->read(10000);
        ASSERT_EQ(r.kind, WsRead::message);
        if (json_at(r.text, "/id") == "3") third = r.text;
        if (json_at(r.text, "/id") == "4") logs = r.text;
    }
    EXPECT_NE(third.find("subscriptions_per_connection_max (2)"), std::string::npos) << third;
    EXPECT_EQ(json_at(third, "/error/code"), "-32005");
    EXPECT_NE(logs.find("only newHeads"), std::string::npos) << logs;
    s.ws->send_text(request(5, "eth_unsubscribe", "[\"" + s.id + "\"]"));
    s.ws->send_text(request(6, "eth_unsubscribe", "[\"" + s.id + "\"]"));
    std::string first, again;
    for (int k = 0; k < 40 && (first.empty() || again.empty()); k++) {
        WsRead r = s.ws->read(10000);
        ASSERT_EQ(r.kind, WsRead::message);
        if (json_at(r.text, "/id") == "5") first = json_at(r.text, "/result");
        if (json_at(r.text, "/id") == "6") again = json_at(r.text, "/result");
    }
    EXPECT_EQ(first, "true");
    EXPECT_EQ(again, "false");
}

}  // namespace
}  // namespace em::test
