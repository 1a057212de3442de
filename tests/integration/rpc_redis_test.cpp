// The rpc role's Redis scale-out end to end (issue 16, [rpc.redis]): a real Debian
// `redis-server`, started by the test on a free loopback port without persistence, and two
// enginemux `--role rpc` instances on it and on the same three enginemux-mock-el processes
// (heads 100, 100, 90), driven with plain HTTP as public clients would. What reaches the ELs is
// read from their /mock/stats.
//  - a finalized-block read cached through instance A is answered by instance B without an EL;
//  - a key limited to N requests is N across both instances together;
//  - redis-server killed (SIGKILL): both instances keep answering reads without an error (from
//    the ELs); restarted on the same port, Redis is re-admitted (both /status say so) and shared
//    again.
// No assertion depends on timing: waits poll for a state with a generous limit.
// Exits 77 (skip) without redis-server or io_uring.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "../common/local_process.h"
#include "../io/uring_skip.h"
#include "harness.h"

namespace em::test {
namespace {

using namespace std::chrono_literals;

std::string redis_binary;

/// One enginemux --role rpc instance and the port of its rpc listener.
struct Instance {
    std::unique_ptr<Daemon> daemon;
    uint16_t rpc_port = 0;
    HttpReply post(const std::string& body, const std::string& bearer = "") {
        return http_request(rpc_port, "POST", "/", body, bearer);
    }
    std::string status() { return daemon->admin("GET", "/status").body; }
    double metric(const std::string& sample) {
        return metric_value(daemon->admin("GET", "/metrics").body, sample);
    }
};

struct RpcRedisFixture : ::testing::Test {
    TempDir dir;
    std::vector<std::unique_ptr<MockEl>> els;
    uint16_t redis_port = free_port();
    std::unique_ptr<Process> redis;
    Instance a, b;

    void start_redis() {
        redis = std::make_unique<Process>(
            std::vector<std::string>{redis_binary, "--port", std::to_string(redis_port), "--bind",
                                     "127.0.0.1", "--save", "", "--appendonly", "no", "--dir",
                                     dir.path},
            "redis");
        redis->wait_for_line("Ready to accept connections");
    }
    void kill_redis() {
        redis->signal(SIGKILL);
        redis->wait_exit();
    }
    /// Three ELs, Redis, and two instances with `table` in their file.
    void start(const std::string& table) {
        start_redis();
        for (int i = 1; i <= 3; i++) {
            std::string head = i == 3 ? "90" : "100";
            els.push_back(std::make_unique<MockEl>(dir, "el" + std::to_string(i),
                                                   std::vector<std::string>{"--head", head}));
        }
        // Probes only at start: every eth_getBlockByNumber an EL counts after that is ours.
        std::string config =
            dir.write("rpc.toml",
                      "[health]\ninterval_ms = 3600000\n[rpc.redis]\nurl = "
                      "\"redis://127.0.0.1:" +
                          std::to_string(redis_port) + "\"\ntimeout_ms = 200\n" + table);
        for (Instance* i : {&a, &b}) {
            i->daemon = std::make_unique<Daemon>(
                dir, std::vector<MockEl*>{els[0].get(), els[1].get(), els[2].get()},
                std::vector<std::string>{"--role", "rpc", "--config", config});
            std::string line = i->daemon->process->wait_for_line("rpc listener on");
            EXPECT_NE(line.find("redis on"), std::string::npos) << line;
            i->rpc_port = rpc_port_in(line);
            ASSERT_NE(i->rpc_port, 0) << line;
        }
        wait_for(a, "heads", [](const std::string& s) {
            return json_at(s, "/rpc/highest_head") == "100" &&
                   json_at(s, "/rpc/nodes/2/finalized") == "90" &&
                   json_at(s, "/rpc/nodes/0/finalized") == "100" &&
                   json_at(s, "/rpc/nodes/1/finalized") == "100";
        });
        wait_for(b, "heads", [](const std::string& s) {
            return json_at(s, "/rpc/highest_head") == "100" &&
                   json_at(s, "/rpc/nodes/2/finalized") == "90" &&
                   json_at(s, "/rpc/nodes/0/finalized") == "100" &&
                   json_at(s, "/rpc/nodes/1/finalized") == "100";
        });
        wait_for_redis("admitted");
    }
    /// Polls `i`'s /status until `ok` (the limit is generous: no timing is asserted).
    template <typename Ok>
    void wait_for(Instance& i, const char* what, Ok ok) {
        for (int k = 0; k < 600; k++) {
            if (ok(i.status())) return;
            std::this_thread::sleep_for(50ms);
        }
        FAIL() << what << " never showed in /status: " << i.status();
    }
    void wait_for_redis(const std::string& state) {
        for (Instance* i : {&a, &b}) {
            wait_for(*i, state.c_str(), [&](const std::string& s) {
                return json_at(s, "/rpc/redis/state") == "\"" + state + "\"";
            });
        }
    }
    long total(const std::string& method) {
        return el_calls(*els[0], method) + el_calls(*els[1], method) + el_calls(*els[2], method);
    }
};

TEST_F(RpcRedisFixture, AReadCachedThroughOneInstanceIsAnsweredByTheOtherWithoutAnEl) {
    start("");
    long blocks = total("eth_getBlockByNumber");
    HttpReply first = a.post(rpc_request("1", "eth_getBlockByNumber", R"(["0x10",false])"));
    ASSERT_EQ(json_at(first.body, "/result/number"), "\"0x10\"") << first.body;
    EXPECT_EQ(total("eth_getBlockByNumber"), blocks + 1);
    EXPECT_EQ(a.metric("enginemux_rpc_redis_stores_total"), 1);
    HttpReply second =
        b.post(rpc_request(R"("from-b")", "eth_getBlockByNumber", R"(["0x10",false])"));
    EXPECT_EQ(json_at(second.body, "/id"), "\"from-b\"") << second.body;
    EXPECT_EQ(json_at(second.body, "/result"), json_at(first.body, "/result"));
    EXPECT_EQ(total("eth_getBlockByNumber"), blocks + 1) << "B answered from Redis";
    EXPECT_EQ(b.metric("enginemux_rpc_redis_cache_hits_total"), 1);
    // B's embedded cache holds it now: a third read asks neither Redis nor an EL.
    b.post(rpc_request("3", "eth_getBlockByNumber", R"(["0x10",false])"));
    EXPECT_EQ(b.metric("enginemux_rpc_redis_lookups_total"), 1);
    EXPECT_EQ(total("eth_getBlockByNumber"), blocks + 1);
    EXPECT_EQ(json_at(b.status(), "/rpc/redis/hits"), "1");
}

TEST_F(RpcRedisFixture, AKeysLimitIsSharedByBothInstances) {
    std::string keys = dir.write("keys.txt", "key-alpha-0001\n");
    // 4 requests, and a refill too slow to matter while the test runs.
    start("[rpc]\napi_keys_file = \"" + keys +
          "\"\n[rpc.limits]\nkey_rps = 0.001\nkey_burst = 4\n");
    int allowed = 0, limited = 0;
    for (int k = 0; k < 4; k++) {
        for (Instance* i : {&a, &b}) {
            HttpReply r =
                i->post(rpc_request(std::to_string(k), "eth_blockNumber"), "key-alpha-0001");
            if (r.status == 200) allowed++;
            if (r.status == 429) {
                limited++;
                EXPECT_NE(r.body.find("key_rps"), std::string::npos) << r.body;
            }
        }
    }
    EXPECT_EQ(allowed, 4) << "the burst of 4 is for both instances together";
    EXPECT_EQ(limited, 4);
    EXPECT_EQ(a.metric("enginemux_rpc_redis_rate_checks_total") +
                  b.metric("enginemux_rpc_redis_rate_checks_total"),
              8);
}

TEST_F(RpcRedisFixture, ARedisKillLeavesBothServingAndARestartIsReadmitted) {
    start("");
    HttpReply cached = a.post(rpc_request("1", "eth_getBlockByNumber", R"(["0x10",false])"));
    ASSERT_EQ(json_at(cached.body, "/result/number"), "\"0x10\"") << cached.body;
    kill_redis();
    for (int k = 0; k < 20; k++) {
        for (Instance* i : {&a, &b}) {
            std::string id = std::to_string(k);
            HttpReply head = i->post(rpc_request(id, "eth_blockNumber"));
            EXPECT_EQ(head.body, R"({"jsonrpc":"2.0","id":)" + id + R"(,"result":"0x64"})");
            std::string block = "\"0x" + std::to_string(20 + k) + "\"";
            HttpReply r = i->post(rpc_request(id, "eth_getBlockByNumber", "[" + block + ",false]"));
            EXPECT_EQ(r.status, 200);
            EXPECT_EQ(json_at(r.body, "/result/number"), block) << r.body;
            HttpReply again = i->post(rpc_request(id, "eth_getBlockByNumber", R"(["0x10",false])"));
            EXPECT_EQ(json_at(again.body, "/result/number"), "\"0x10\"") << again.body;
        }
    }
    wait_for_redis("benched");
    EXPECT_GE(b.metric("enginemux_rpc_redis_benched_total"), 1);
    EXPECT_EQ(b.metric("enginemux_rpc_redis_admitted"), 0);
    start_redis();
    wait_for_redis("admitted");
    EXPECT_EQ(a.metric("enginemux_rpc_redis_admitted"), 1);
    // Shared again: cached through B, answered by A without an EL.
    long blocks = total("eth_getBlockByNumber");
    b.post(rpc_request("1", "eth_getBlockByNumber", R"(["0x40",false])"));
    HttpReply from_a = a.post(rpc_request("2", "eth_getBlockByNumber", R"(["0x40",false])"));
    EXPECT_EQ(json_at(from_a.body, "/result/number"), "\"0x40\"") << from_a.body;
    EXPECT_EQ(total("eth_getBlockByNumber"), blocks + 1);
}

}  // namespace
}  // namespace em::test

int main(int argc, char** argv) {
    em::test::redis_binary = em::test::find_in_path("redis-server");
    if (em::test::redis_binary.empty()) {
        std::fprintf(stderr,
                     "SKIP: redis-server is not installed (apt-get install redis-server)\n");
        return 77;
    }
    return em::test::run_io_uring_tests(argc, argv);
}
