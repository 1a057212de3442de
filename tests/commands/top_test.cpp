// `enginemux top`'s model without a daemon or a terminal: /status and /metrics bodies in the
// admin API's shapes in, frames out. The end-to-end checks (a real daemon, tmux) are in
// tests/integration (ops_test.cpp, top_tmux_test.py).
#include "commands/top.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

namespace em::commands {
namespace {

std::string status_json(const std::string& el3_state, uint32_t el1_us, uint64_t el3_dis) {
    return R"({"version":"1.2.3","role":"mux","quorum":0.6,"uptime_s":3725,"primary":"el1",)"
           R"("alive":[],"syncing":[],"dead":[],"nodes":[)"
           R"({"name":"el1","url":"http://127.0.0.1:1","role":"voter","state":"synced","primary":true,)"
           R"("resp_time_us":)" +
           std::to_string(el1_us) +
           R"(,"last_resp_time_us":1,"head_number":19000123,"head_age_s":3,"probes":9,"failures":0,)"
           R"("state_age_s":9,"reason":"","calls":10,"errors":0,"disagreements":0},)"
           R"({"name":"el2","url":"http://127.0.0.1:2","role":"mirror","state":"synced","primary":false,)"
           R"("resp_time_us":4000,"last_resp_time_us":1,"head_number":19000123,"head_age_s":3,)"
           R"("probes":9,"failures":0,"state_age_s":9,"reason":"","calls":10,"errors":2,"disagreements":0},)"
           R"({"name":"el3","url":"http://127.0.0.1:3","role":"voter","state":")" +
           el3_state +
           R"(","primary":false,"resp_time_us":0,"last_resp_time_us":0,"head_number":-1,)"
           R"("head_age_s":0,"probes":9,"failures":3,"state_age_s":9,"reason":"connect: Connection refused",)"
           R"("calls":10,"errors":7,"disagreements":)" +
           std::to_string(el3_dis) + "}]}";
}

std::string metrics_text(uint64_t valid, uint64_t newpayload) {
    std::string v = std::to_string(valid), n = std::to_string(newpayload);
    return "# HELP enginemux_requests_total x\n"
           "enginemux_requests_total{method=\"engine_newPayloadV4\"} " +
           n +
           "\n"
           "enginemux_request_errors_total{method=\"engine_newPayloadV4\"} 1\n"
           "enginemux_request_seconds_bucket{method=\"engine_newPayloadV4\",le=\"0.001\"} 0\n"
           "enginemux_request_seconds_bucket{method=\"engine_newPayloadV4\",le=\"0.01\"} " +
           n +
           "\n"
           "enginemux_request_seconds_bucket{method=\"engine_newPayloadV4\",le=\"+Inf\"} " +
           n +
           "\n"
           "enginemux_upstream_timeouts_total{node=\"el3\",method=\"engine_newPayloadV4\"} 4\n"
           "enginemux_upstream_timeouts_total{node=\"el3\",method=\"eth_blockNumber\"} 1\n"
           "enginemux_lane_queue_depth{node=\"el1\"} 2\n"
           "enginemux_votes_total{reason=\"quorum_valid\"} " +
           v +
           "\n"
           "enginemux_votes_total{reason=\"no_answers\"} 0\n"
           "enginemux_vote_answers_total{status=\"VALID\"} " +
           v +
           "\n"
           "enginemux_vote_answers_total{status=\"INVALID\"} 0\n"
           "enginemux_votes_early_total 0\n"
           "enginemux_block_hash_checked_total " +
           n +
           "\n"
           "enginemux_block_hash_mismatch_total 0\n"
           "enginemux_failovers_total 3\n"
           "enginemux_retries_total 4\n";
}

TopSample sample(int64_t wall_ms, const std::string& el3_state, uint32_t el1_us, uint64_t el3_dis,
                 uint64_t valid, uint64_t newpayload) {
    TopSample s;
    EXPECT_TRUE(parse_top_status(status_json(el3_state, el1_us, el3_dis), s));
    parse_top_metrics(metrics_text(valid, newpayload), s);
    s.wall_ms = wall_ms;
    return s;
}

std::string joined(const std::vector<std::string>& lines) {
    std::string out;
    for (const std::string& l : lines) out += l + "\n";
    return out;
}

TEST(Top, ParsesStatusAndMetrics) {
    TopSample s = sample(0, "dead", 300, 1, 5, 6);
    EXPECT_EQ(s.version, "1.2.3");
    EXPECT_EQ(s.primary, "el1");
    ASSERT_EQ(s.nodes.size(), 3u);
    EXPECT_TRUE(s.nodes[0].primary);
    EXPECT_EQ(s.nodes[0].head, 19000123);
    EXPECT_EQ(s.nodes[0].lane_depth, 2u);
    EXPECT_EQ(s.nodes[1].role, "mirror");
    EXPECT_EQ(s.nodes[2].timeouts, 5u);  // summed over methods
    EXPECT_EQ(s.nodes[2].reason, "connect: Connection refused");
    EXPECT_EQ(s.requests["engine_newPayloadV4"], 6u);
    EXPECT_EQ(s.answers["VALID"], 5u);
    EXPECT_EQ(s.failovers, 3u);
    EXPECT_EQ(s.retries, 4u);
    // Six calls, all in (1 ms, 10 ms]: the median is interpolated to 5.5 ms.
    EXPECT_NEAR(s.latency["engine_newPayloadV4"].quantile(0.5), 0.0055, 1e-9);
}

TEST(Top, RejectsWhatIsNotTheAdminApi) {
    TopSample s;
    EXPECT_FALSE(parse_top_status("not json", s));
    auto no_nodes = parse_top_status(R"({"ok":true})", s);
    ASSERT_FALSE(no_nodes);
    EXPECT_NE(no_nodes.error().message().find("nodes"), std::string::npos);
}

TEST(Top, QuantileMatchesPrometheusInterpolation) {
    TopHistogram h;
    h.buckets = {{0.1, 0}, {1.0, 100}, {INFINITY, 100}};
    h.count = 100;
    EXPECT_NEAR(h.quantile(0.99), 0.1 + 0.9 * 0.99, 1e-9);
    h.buckets = {{0.1, 0}, {1.0, 0}, {INFINITY, 10}};
    h.count = 10;
    EXPECT_DOUBLE_EQ(h.quantile(0.99), 1.0);  // past the last bound: its lower edge
    EXPECT_EQ(TopHistogram{}.quantile(0.5), -1);
}

TEST(Top, FrameFitsEightyColumnsAndShowsNodesPrimaryAndChanges) {
    TopModel model;
    model.add(sample(1'000, "synced", 300, 1, 5, 6));
    model.add(sample(2'000, "dead", 3000, 3, 7, 8));
    TopStyle style;
    style.width = 80;
    style.unicode = true;
    std::vector<std::string> lines = model.render(style);
    std::string frame = joined(lines);
    for (const std::string& line : lines) EXPECT_LE(top_columns(line), 80u) << line;
    EXPECT_EQ(frame.find('\x1b'), std::string::npos) << "no escape codes without colour";
    EXPECT_NE(frame.find("primary el1"), std::string::npos) << frame;
    EXPECT_NE(frame.find("* el1"), std::string::npos) << frame;
    EXPECT_NE(frame.find("  el2        synced  mirror"), std::string::npos) << frame;
    EXPECT_NE(frame.find("  el3        dead    voter"), std::string::npos) << frame;
    EXPECT_NE(frame.find("connect: Connection refused"), std::string::npos) << frame;
    // One scale for all nodes (el2's 4 ms is the top): el1 went from 0.3 ms to 3 ms.
    EXPECT_NE(frame.find("\u2581\u2586 "), std::string::npos) << frame;
    EXPECT_NE(frame.find("\u2588\u2588 "), std::string::npos) << frame;
    // The refresh saw two VALID votes with el3 in the minority twice.
    EXPECT_NE(frame.find("  2: VALID+2 (quorum_valid+2) disagreed: el3+2"), std::string::npos)
        << frame;
    EXPECT_NE(frame.find("el3 disagreed +2 (total 3, now dead)"), std::string::npos) << frame;
    // Nothing cut at 80 columns: the table's header ends with DIS, el3's line with its value.
    for (const std::string& line : lines) {
        if (line.find("NODE") != std::string::npos) {
            EXPECT_EQ(line.substr(line.size() - 3), "DIS") << line;
        }
    }
    EXPECT_NE(frame.find("   7    5    3\n"), std::string::npos) << "el3: ERR 7, TMO 5, DIS 3\n"
                                                                 << frame;
    EXPECT_NE(frame.find("engine_newPayloadV4"), std::string::npos) << frame;
    EXPECT_NE(frame.find("2.0"), std::string::npos) << "2 requests in 1 s: " << frame;
}

// With /status "recent_votes" the frame lists each vote: age, method, what the CL was told and
// each node's answer, within 80 columns.
TEST(Top, RecentVotesShowEachNodesAnswer) {
    TopSample s;
    std::string status =
        R"({"version":"1","role":"mux","quorum":0.6,"uptime_s":5,"primary":"el1","nodes":[],)"
        R"("recent_votes":[{"age_ms":1500,"method":"engine_newPayloadV4","told":"SYNCING",)"
        R"("reason":"invalid_minority","early":false,"block_hash":"match","answers":)"
        R"J({"el1":"VALID","el2":"VALID","el3":"INVALID","mirror-with-a-long-name":"VALID (mirror)"}}]})J";
    ASSERT_TRUE(parse_top_status(status, s));
    ASSERT_TRUE(s.has_recent_votes);
    ASSERT_EQ(s.recent_votes.size(), 1u);
    EXPECT_EQ(s.recent_votes[0].answers.size(), 4u);
    TopModel model;
    model.add(s);
    TopStyle style;
    std::vector<std::string> lines = model.render(style);
    std::string frame = joined(lines);
    for (const std::string& line : lines) EXPECT_LE(top_columns(line), 80u) << line;
    EXPECT_NE(frame.find("  1.5s newPayloadV4: SYNCING | el1=VALID el2=VALID el3=INVALID"),
              std::string::npos)
        << frame;
}

TEST(Top, NarrowAndWideTerminalsAsciiAndColour) {
    TopModel model;
    model.add(sample(1'000, "synced", 300, 0, 5, 6));
    TopStyle style;
    style.unicode = false;
    style.color = true;
    style.width = 120;
    for (const std::string& line : model.render(style)) EXPECT_LE(top_columns(line), 120u) << line;
    std::string wide = joined(model.render(style));
    EXPECT_NE(wide.find("PROBE LATENCY (59s)"), std::string::npos) << wide;
    EXPECT_NE(wide.find("\x1b[32m"), std::string::npos) << "synced in green";
    EXPECT_EQ(wide.find("\u2581"), std::string::npos) << "ASCII only";
    style.width = 40;
    for (const std::string& line : model.render(style)) EXPECT_LE(top_columns(line), 40u) << line;
}

TEST(Top, KeepsTheLastDataWhenARefreshFails) {
    TopModel model;
    model.add(sample(1'000, "synced", 300, 0, 5, 6));
    model.set_error("cannot reach the admin API at 127.0.0.1:9551: Connection refused");
    std::string frame = joined(model.render(TopStyle{}));
    EXPECT_NE(frame.find("! cannot reach the admin API"), std::string::npos) << frame;
    EXPECT_NE(frame.find("* el1"), std::string::npos) << frame;
}

// The sync role: /status "sync" lists the consensus clients; the frame says which one the ELs
// follow, each client's calls and how old its last timestamp is (ahead: "future").
TEST(Top, SyncRoleShowsTheClientsAndWhichOneIsFollowed) {
    TopSample s;
    std::string status =
        R"({"version":"1","role":"sync","quorum":0.6,"uptime_s":5,"primary":"el1","nodes":[],)"
        R"("sync":{"best":"cl-a","clients":[)"
        R"({"name":"cl-a","address":"127.0.0.1","timestamp":995,"head":"0xaaaaaaaaaaaaaaaaaaaaaaaa","calls":12},)"
        R"({"name":"cl-b","address":"10.0.0.7","timestamp":1130,"head":"0xbbbb","calls":3},)"
        R"({"name":"cl-c","address":"10.0.0.8","timestamp":0,"head":"","calls":1}]}})";
    ASSERT_TRUE(parse_top_status(status, s));
    ASSERT_TRUE(s.has_sync);
    ASSERT_EQ(s.sync_clients.size(), 3u);
    s.wall_ms = 1'000'000;  // 1000 s
    TopModel model;
    model.add(s);
    TopStyle style;
    std::vector<std::string> lines = model.render(style);
    std::string frame = joined(lines);
    for (const std::string& line : lines) EXPECT_LE(top_columns(line), 80u) << line;
    EXPECT_NE(frame.find("CONSENSUS CLIENTS (sync role): following cl-a"), std::string::npos)
        << frame;
    EXPECT_NE(frame.find("> cl-a"), std::string::npos) << frame;
    EXPECT_NE(frame.find("timestamp 0m05s ago"), std::string::npos) << frame;
    EXPECT_NE(frame.find("timestamp 2m10s ahead (future)"), std::string::npos) << frame;
    EXPECT_NE(frame.find("no timestamp yet"), std::string::npos) << frame;

    TopSample mux;  // the mux role has no "sync" object: no section
    ASSERT_TRUE(parse_top_status(R"({"version":"1","role":"mux","nodes":[]})", mux));
    EXPECT_FALSE(mux.has_sync);
    TopModel plain;
    plain.add(mux);
    EXPECT_EQ(joined(plain.render(style)).find("CONSENSUS CLIENTS"), std::string::npos);
}

// An rpc listener: /status "rpc" has the head it routes by and each node's lag; /metrics its
// requests, cache hits, errors and 429s over every method. A lagging node is named as getting
// no reads of the head.
TEST(Top, RpcListenerShowsTheHeadEachNodesLagAndWhatItAnswered) {
    TopSample s;
    std::string status =
        R"({"version":"1","role":"rpc","quorum":0.6,"uptime_s":5,"primary":"el1","nodes":[],)"
        R"("rpc":{"highest_head":100,"finalized":90,"max_head_lag_blocks":2,"nodes":[)"
        R"({"name":"el1","state":"synced","head":100,"finalized":90,"lag":0,"at_head":true},)"
        R"({"name":"el2","state":"synced","head":90,"finalized":80,"lag":10,"at_head":false},)"
        R"({"name":"el3","state":"unknown","head":-1,"finalized":-1,"lag":-1,"at_head":false}]}})";
    ASSERT_TRUE(parse_top_status(status, s));
    ASSERT_TRUE(s.has_rpc);
    ASSERT_EQ(s.rpc_nodes.size(), 3u);
    parse_top_metrics(
        "enginemux_rpc_requests_total{method=\"eth_call\"} 150\n"
        "enginemux_rpc_requests_total{method=\"eth_chainId\"} 50\n"
        "enginemux_rpc_cache_hits_total{method=\"eth_chainId\"} 40\n"
        "enginemux_rpc_errors_total{method=\"eth_call\"} 2\n"
        "enginemux_rpc_rate_limited_total{method=\"eth_call\"} 7\n",
        s);
    EXPECT_EQ(s.rpc_requests, 200u);
    TopModel model;
    model.add(s);
    TopStyle style;
    std::vector<std::string> lines = model.render(style);
    std::string frame = joined(lines);
    for (const std::string& line : lines) EXPECT_LE(top_columns(line), 80u) << line;
    EXPECT_NE(frame.find("RPC LISTENER: head 100, finalized 90"), std::string::npos) << frame;
    EXPECT_NE(frame.find("from cache 40 (20%)"), std::string::npos) << frame;
    EXPECT_NE(frame.find("errors 2 (1%)"), std::string::npos) << frame;
    EXPECT_NE(frame.find("429 7"), std::string::npos) << frame;
    EXPECT_NE(frame.find("el1            head        100  at the head"), std::string::npos)
        << frame;
    EXPECT_NE(frame.find("10 behind: gets no reads of the head"), std::string::npos) << frame;
    EXPECT_NE(frame.find("head unknown"), std::string::npos) << frame;

    TopSample mux;  // no rpc listener: no section
    ASSERT_TRUE(parse_top_status(R"({"version":"1","role":"mux","nodes":[]})", mux));
    EXPECT_FALSE(mux.has_rpc);
    TopModel plain;
    plain.add(mux);
    EXPECT_EQ(joined(plain.render(style)).find("RPC LISTENER"), std::string::npos);
}

}  // namespace
}  // namespace em::commands
