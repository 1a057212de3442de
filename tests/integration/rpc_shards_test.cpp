// The rpc role on two shards (issue 16 item 2): `--role rpc --shards 2`, two loop threads each
// with an rpc listener on the same port (SO_REUSEPORT), before three enginemux-mock-el
// processes at block 100. Every request below comes on a fresh connection (harness
// http_request), so the kernel spreads them over both shards; /status `rpc.shards` shows each
// shard's connections, requests and cache hits, and each EL's /mock/stats what reached it.
//  - many connections: both shards take some, and every answer is right;
//  - a filter made through one connection is polled through 20 others, whichever shard they
//    land on, and every poll reaches the EL that made it (the shared filter table);
//  - a client_rps budget is one budget: N requests over both shards give exactly the burst;
//  - a finalized block read through one shard is a cache hit on the other;
//  - a node removed through the admin API gets no more reads, and each shard closes its pool;
//  - a reload reaches both shards; SIGTERM stops both (each drains) and the process exits 0.
// No assertion depends on timing: waits poll for a state with a generous limit. That all 20
// polls (or all reads) land on one shard has odds of 2^-19 per test.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"

namespace em::test {
namespace {

using namespace std::chrono_literals;

struct RpcShards : ::testing::Test {
    TempDir dir;
    std::vector<std::unique_ptr<MockEl>> els;
    std::unique_ptr<Daemon> daemon;
    uint16_t rpc_port = 0;
    const std::string token = "rpc-shards-admin-token-0123456789";

    std::vector<std::string> heads = {"100", "100", "100"};  ///< each EL's (before start())
    std::vector<std::string> slow;  ///< ELs whose health probes answer in 100 ms (routing
                                    ///< prefers the others: latency x outstanding)

    /// Three ELs and the daemon in the rpc role on two shards, `table` in its file.
    void start(const std::string& table) {
        for (size_t i = 0; i < 3; i++) {
            std::string name = "el" + std::to_string(i + 1);
            std::vector<std::string> args = {"--head", heads[i]};
            for (const std::string& s : slow)
                if (s == name) args.insert(args.end(), {"--rule", "eth_syncing:delay=100"});
            els.push_back(std::make_unique<MockEl>(dir, name, args));
        }
        std::string config = dir.write("rpc.toml", table);
        daemon = std::make_unique<Daemon>(
            dir, std::vector<MockEl*>{els[0].get(), els[1].get(), els[2].get()},
            std::vector<std::string>{"--role", "rpc", "--shards", "2", "--config", config,
                                     "--admin-token-file", dir.write("admin.token", token),
                                     "--admin-secrets-dir", dir.path});
        daemon->admin_token = token;
        std::string line = daemon->process->wait_for_line("rpc listener on");
        rpc_port = rpc_port_in(line);
        ASSERT_NE(rpc_port, 0) << line;
        EXPECT_NE(line.find("2 shards"), std::string::npos) << line;
        wait_for_heads();
    }
    /// Until /status shows every EL's head, synced (the routing rule needs the heads).
    void wait_for_heads() {
        for (int k = 0; k < 400; k++) {
            std::string s = status();
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
        FAIL() << "the ELs' heads never showed in /status: " << status();
    }
    std::string status() { return daemon->admin("GET", "/status").body; }
    HttpReply post(const std::string& body) { return http_request(rpc_port, "POST", "/", body); }
    /// Shard k's counter `what` in /status rpc.shards.
    long shard(const std::string& s, int k, const std::string& what) {
        std::string n = json_at(s, "/rpc/shards/" + std::to_string(k) + "/" + what);
        return n == "<missing>" ? -1 : std::stol(n);
    }
    /// Times `needle` appears in the daemon's output so far.
    size_t in_log(const std::string& needle) {
        std::string log = daemon->process->stderr_text() + daemon->process->stdout_text();
        size_t n = 0;
        for (size_t at = log.find(needle); at != std::string::npos; at = log.find(needle, at + 1))
            n++;
        return n;
    }
    long total(const std::string& method) {
        return el_calls(*els[0], method) + el_calls(*els[1], method) + el_calls(*els[2], method);
    }
};

TEST_F(RpcShards, ManyConnectionsAreSpreadOverBothShardsAndEveryAnswerIsRight) {
    start("");
    const int n = 200;
    for (int i = 0; i < n; i++) {
        HttpReply r = post(rpc_request(std::to_string(i), "eth_blockNumber"));
        ASSERT_EQ(r.status, 200);
        ASSERT_EQ(r.body, R"({"jsonrpc":"2.0","id":)" + std::to_string(i) + R"(,"result":"0x64"})");
    }
    std::string s = status();
    ASSERT_EQ(json_at(s, "/rpc/shards/2"), "<missing>") << "two shards: " << s;
    long a = shard(s, 0, "connections_accepted"), b = shard(s, 1, "connections_accepted");
    EXPECT_GT(a, 0) << s;
    EXPECT_GT(b, 0) << s;
    EXPECT_EQ(a + b, n) << s;
    EXPECT_EQ(shard(s, 0, "requests") + shard(s, 1, "requests"), n) << s;
    EXPECT_EQ(total("eth_blockNumber"), n) << "every read reached an EL once";
    // /metrics sums the shards.
    std::string metrics = daemon->admin("GET", "/metrics").body;
    EXPECT_EQ(metric_value(metrics, "enginemux_http_connections_accepted_total"), n) << metrics;
}

TEST_F(RpcShards, AFiltersPollsReachTheElThatMadeItWhicheverShardTheyLandOn) {
    // el1 alone at the head makes the filter (eth_newFilter is a read of the head), and is the
    // slowest: a poll whose filter a shard did not know would go to el2 or el3.
    heads = {"100", "90", "90"};
    slow = {"el1"};
    start("");
    HttpReply made = post(rpc_request("1", "eth_newFilter", R"([{"fromBlock":"latest"}])"));
    std::string id = json_at(made.body, "/result");
    ASSERT_EQ(id.front(), '"') << made.body;
    const int maker = 0;
    ASSERT_EQ(el_calls(*els[0], "eth_newFilter"), 1) << "el1 made the filter";
    std::string before = status();
    for (int i = 0; i < 20; i++) {
        HttpReply poll =
            post(rpc_request(std::to_string(i), "eth_getFilterChanges", "[" + id + "]"));
        ASSERT_EQ(poll.body, R"({"jsonrpc":"2.0","id":)" + std::to_string(i) + R"(,"result":[]})");
    }
    std::string after = status();
    EXPECT_GT(shard(after, 0, "requests"), shard(before, 0, "requests")) << after;
    EXPECT_GT(shard(after, 1, "requests"), shard(before, 1, "requests")) << after;
    for (int i = 0; i < 3; i++)
        EXPECT_EQ(el_calls(*els[static_cast<size_t>(i)], "eth_getFilterChanges"),
                  i == maker ? 20 : 0)
            << "el" << i + 1;
}

TEST_F(RpcShards, AClientBudgetIsOneBudgetOverBothShards) {
    // A burst of 10 and a refill of one token per 1,000 s: the burst is all there is.
    start("[rpc.limits]\nclient_rps = 0.001\nclient_burst = 10\n");
    int allowed = 0, limited = 0;
    for (int i = 0; i < 30; i++) {
        HttpReply r = post(rpc_request(std::to_string(i), "eth_blockNumber"));
        if (r.status == 200 && json_at(r.body, "/result") == "\"0x64\"") allowed++;
        if (r.status == 429) limited++;
    }
    EXPECT_EQ(allowed, 10);
    EXPECT_EQ(limited, 20);
    std::string s = status();
    EXPECT_GT(shard(s, 0, "requests"), 0) << "both shards took requests: " << s;
    EXPECT_GT(shard(s, 1, "requests"), 0) << s;
    EXPECT_EQ(total("eth_blockNumber"), 10);
}

TEST_F(RpcShards, AFinalizedReadCachedThroughOneShardIsAHitOnTheOther) {
    // Probes only at start: every eth_getBlockByNumber an EL counts after that is ours.
    start("[health]\ninterval_ms = 3600000\n");
    long blocks = total("eth_getBlockByNumber");
    HttpReply first = post(rpc_request("1", "eth_getBlockByNumber", R"(["0x10",false])"));
    ASSERT_EQ(json_at(first.body, "/result/number"), "\"0x10\"") << first.body;
    std::string s = status();
    int missed = shard(s, 0, "requests") == 1 ? 0 : 1;  // the shard that asked an EL
    for (int i = 0; i < 20; i++) {
        HttpReply again =
            post(rpc_request(std::to_string(i), "eth_getBlockByNumber", R"(["0x10",false])"));
        ASSERT_EQ(json_at(again.body, "/result"), json_at(first.body, "/result")) << again.body;
    }
    EXPECT_EQ(total("eth_getBlockByNumber"), blocks + 1) << "one EL call, then the cache";
    s = status();
    EXPECT_GT(shard(s, 1 - missed, "cache_hits"), 0) << "the other shard's hits: " << s;
    EXPECT_EQ(shard(s, 0, "cache_hits") + shard(s, 1, "cache_hits"), 20) << s;
}

TEST_F(RpcShards, ANodeRemovedThroughTheAdminApiIsGoneFromBothShards) {
    slow = {"el2", "el3"};  // el1 is every shard's first choice while it is there
    start("");
    for (int i = 0; i < 40; i++)
        post(rpc_request(std::to_string(i), "eth_call", R"([{},"latest"])"));
    ASSERT_EQ(total("eth_call"), 40);
    ASSERT_GT(el_calls(*els[0], "eth_call"), 20) << "el1 took most reads";
    ASSERT_EQ(daemon->admin("DELETE", "/nodes/el1").status, 200);
    long el1 = el_calls(*els[0], "eth_call");
    std::string before = status();
    for (int i = 0; i < 40; i++) {
        HttpReply r = post(rpc_request(std::to_string(i), "eth_call", R"([{},"latest"])"));
        ASSERT_EQ(json_at(r.body, "/result"), "\"0x\"") << r.body;
    }
    std::string after = status();
    EXPECT_GT(shard(after, 0, "requests"), shard(before, 0, "requests")) << after;
    EXPECT_GT(shard(after, 1, "requests"), shard(before, 1, "requests")) << after;
    EXPECT_EQ(el_calls(*els[0], "eth_call"), el1) << "el1 was removed on every shard";
    EXPECT_EQ(total("eth_call"), 80);
    // Each shard let go of its own connections to el1 (logged once each); poll for both.
    const std::string gone = "removed node el1: its calls are done and its connections closed";
    for (int k = 0; k < 200 && in_log(gone) < 2; k++) std::this_thread::sleep_for(50ms);
    EXPECT_EQ(in_log(gone), 2u) << "each shard dropped el1's pool";
}

TEST_F(RpcShards, AReloadAndSigtermReachBothShardsAndTheProcessExitsZero) {
    start("");
    // Idle keep-alive connections (on either shard) do not hold the shutdown.
    std::vector<std::unique_ptr<ClientSocket>> idle;
    for (int i = 0; i < 6; i++) {
        idle.push_back(std::make_unique<ClientSocket>(rpc_port));
        std::string body = rpc_request(std::to_string(i), "eth_blockNumber");
        ASSERT_TRUE(
            idle.back()->send_all("POST / HTTP/1.1\r\nHost: x\r\nContent-Type: "
                                  "application/json\r\nContent-Length: " +
                                  std::to_string(body.size()) + "\r\n\r\n" + body));
        ASSERT_EQ(status_of_response(idle.back()->read_response()), 200);
    }
    // A reload's settings go to both shards (nothing changed: the same file and flags).
    HttpReply reload = daemon->admin("POST", "/reload");
    EXPECT_EQ(reload.status, 200) << reload.body;
    EXPECT_NE(reload.body.find("nothing changed"), std::string::npos) << reload.body;
    daemon->process->signal(SIGTERM);
    EXPECT_EQ(daemon->process->wait_exit(), 0);
    EXPECT_EQ(in_log("shutdown: no new connections"), 2u) << "each shard drained";
    EXPECT_EQ(in_log("enginemux stopped"), 1u);
}

}  // namespace
}  // namespace em::test
