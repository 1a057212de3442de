// upstream::Prober against a real http::Server on 127.0.0.1 playing an execution client that
// answers health checks (eth_syncing false, a fresh head block), optionally holding its answers.
#include "upstream/prober.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include "http/jwt.h"
#include "net/server.h"
#include "net_test_util.h"

namespace em::upstream {
namespace {

using test::run_until;

/// A synced EL. While `hold` is set, requests are kept unanswered until release().
struct HealthyEl : http::Handler {
    bool hold = false;
    bool finalized_fails = false;  ///< answer eth_getBlockByNumber("finalized") with an error
    int requests = 0;
    std::vector<std::pair<http::ConnRef, std::string>> held;

    std::string answer(std::string_view body) const {
        if (body.find("eth_syncing") != std::string_view::npos)
            return R"({"jsonrpc":"2.0","id":1,"result":false})";
        if (body.find("finalized") != std::string_view::npos) {
            return finalized_fails
                       ? R"({"jsonrpc":"2.0","id":3,"error":{"code":-39001,"message":"Unknown block"}})"
                       : R"({"jsonrpc":"2.0","id":3,"result":{"number":"0xc","timestamp":"0x1"}})";
        }
        char block[160];
        std::snprintf(block, sizeof block,
                      R"({"jsonrpc":"2.0","id":2,"result":{"number":"0x10","timestamp":"0x%llx"}})",
                      static_cast<unsigned long long>(wall_s()));
        return block;
    }
    void on_request(http::ServerConn& conn, const http::Request& request) override {
        requests++;
        std::string body = answer(request.body);
        if (hold) {
            held.emplace_back(conn.ref(), std::move(body));
            return;
        }
        conn.respond(200, "application/json", body);
    }
    void release() {
        hold = false;
        for (auto& [ref, body] : held)
            if (ref.valid()) ref.conn->respond(200, "application/json", body);
        held.clear();
    }
};

struct ProberFixture : ::testing::Test {
    std::unique_ptr<io::Loop> loop = test::make_loop();
    http::JwtSecret secret = *http::parse_jwt_secret(std::string(64, 'b'));
    HealthyEl el;
    http::Server server;
    Registry registry;
    HealthBoard board;

    void SetUp() override {
        ASSERT_TRUE(server.listen(*loop, *io::resolve("127.0.0.1:0"), el, http::ServerConfig{}));
        NodeInfo info;
        info.name = "el1";
        info.url = "http://127.0.0.1/";
        info.options.name = "el1";
        info.options.endpoint.address = server.address();
        info.options.endpoint.host_header = "127.0.0.1";
        info.options.secret = secret;
        ASSERT_TRUE(registry.add(std::move(info)));
    }
};

TEST_F(ProberFixture, AFailureReportedWhileAProbeIsOutIsNotOverwrittenByItsAnswer) {
    ProberConfig config;
    config.interval_ms = 60'000;  // no periodic probe during the test: only the ones it causes
    config.failback_hold_ms = 0;
    Prober prober(*loop, registry, board, config);
    prober.start();
    ASSERT_TRUE(run_until(
        *loop, [&] { return board.read(0).state == NodeState::synced; }, 5000));

    // A probe goes out (recheck) and the EL holds its answer; meanwhile a shard sees a call to
    // the node time out and reports it: the board says dead at once.
    el.hold = true;
    int before = el.requests;
    prober.recheck();
    ASSERT_TRUE(run_until(
        *loop, [&] { return el.requests > before; }, 5000));
    board.report_failure(0, "engine_newPayloadV4 timed out after 8000 ms", mono_ns());
    ASSERT_EQ(board.read(0).state, NodeState::dead);

    // The held answer (from before the failure, as far as anyone can tell) arrives: it must not
    // make the node synced again by itself.
    uint64_t rounds = prober.rounds();
    el.release();
    ASSERT_TRUE(run_until(
        *loop, [&] { return prober.rounds() > rounds; }, 5000));
    NodeHealth after = board.read(0);
    EXPECT_EQ(after.state, NodeState::dead) << "a probe that was out when the failure came in "
                                               "overwrote the shard's report";
    EXPECT_NE(after.reason_text().find("timed out"), std::string_view::npos) << after.reason;

    // The report is taken and the node probed again at once; a probe sent after the failure
    // may restore it.
    ASSERT_TRUE(run_until(
        *loop, [&] { return board.read(0).state == NodeState::synced; }, 5000));
    EXPECT_GE(el.requests, before + 4) << "two full probes (eth_syncing + head each)";

    // Teardown after the loop ended (the probe's connection may still be open: upstream rules).
    loop->request_stop();
    loop->run();
}

TEST_F(ProberFixture, WithAnRpcListenerTheFinalizedBlockIsProbedAndItsFailureChangesNoVerdict) {
    ProberConfig config;
    config.interval_ms = 60'000;
    config.probe_finalized = true;
    Prober prober(*loop, registry, board, config);
    prober.start();
    ASSERT_TRUE(run_until(
        *loop, [&] { return board.read(0).state == NodeState::synced; }, 5000));
    NodeHealth h = board.read(0);
    EXPECT_EQ(h.head_number, 16);
    EXPECT_EQ(h.finalized_number, 12);
    EXPECT_EQ(el.requests, 3) << "eth_syncing, the head, the finalized block";

    // A node that cannot say which block is final (pre-merge, or pruned) stays synced.
    el.finalized_fails = true;
    uint64_t rounds = prober.rounds();
    prober.recheck();
    ASSERT_TRUE(run_until(
        *loop, [&] { return prober.rounds() > rounds; }, 5000));
    h = board.read(0);
    EXPECT_EQ(h.state, NodeState::synced) << h.reason;
    EXPECT_EQ(h.finalized_number, -1);
    EXPECT_EQ(h.head_number, 16);

    loop->request_stop();
    loop->run();
}

}  // namespace
}  // namespace em::upstream
