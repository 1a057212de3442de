// The newHeads hub without I/O: plan_gap, block_as_head, and NewHeadsHub event by event
// (subscribe sharing, unsubscribe, failover on close, lag, silence, gap fill, no duplicate).
#include "pipeline/heads_hub.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

namespace em::pipeline::subs {
namespace {

constexpr uint64_t ms = 1'000'000;

/// A deterministic hash for block `n` on branch `b`, as 64 hex digits.
std::string hash_hex(uint64_t n, int b) {
    char text[67];
    std::snprintf(text, sizeof text, "0x%016llx%016llx%016llx%016llx",
                  static_cast<unsigned long long>(n), static_cast<unsigned long long>(b), 0ull,
                  0xabcdull);
    return text;
}

std::string header(uint64_t n, int b = 0, int parent_b = -1) {
    if (parent_b < 0) parent_b = b;
    char text[400];
    std::snprintf(
        text, sizeof text,
        "{\"parentHash\":\"%s\",\"number\":\"0x%llx\",\"hash\":\"%s\",\"gasLimit\":\"0x1\"}",
        hash_hex(n ? n - 1 : 0, parent_b).c_str(), static_cast<unsigned long long>(n),
        hash_hex(n, b).c_str());
    return text;
}

std::string notification(uint64_t n, int b = 0) {
    return "{\"jsonrpc\":\"2.0\",\"method\":\"eth_subscription\",\"params\":{\"subscription\":"
           "\"0x9\",\"result\":" +
           header(n, b) + "}}";
}

/// A block as eth_getBlockByNumber answers it: the header plus body members.
std::string block_answer(uint64_t n) {
    std::string h = header(n);
    h.pop_back();
    h += ",\"size\":\"0x10\",\"transactions\":[],\"uncles\":[],\"withdrawals\":[]}";
    return "{\"jsonrpc\":\"2.0\",\"id\":" + std::to_string(NewHeadsHub::fetch_id_base + n) +
           ",\"result\":" + h + "}";
}

HeadId id_of(uint64_t n, int b = 0) {
    Result<HeadId> id = parse_head_id(header(n, b));
    EXPECT_TRUE(id);
    return *id;
}

TEST(HeadFeed, ParseHeadId) {
    HeadId id = id_of(5);
    EXPECT_EQ(id.number, 5u);
    EXPECT_EQ(id.parent, id_of(4).hash);
    EXPECT_FALSE(parse_head_id("{\"number\":\"0x1\"}"));
    Result<HeadId> bad =
        parse_head_id("{\"number\":\"0x1\",\"hash\":\"0x12\",\"parentHash\":\"0x\"}");
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message().find("hash"), std::string::npos);
    EXPECT_FALSE(parse_head_id("[1]"));
}

TEST(HeadFeed, BlockAsHeadKeepsHeaderFieldsInOrder) {
    std::string out;
    ASSERT_TRUE(
        block_as_head("{\"a\":\"0x1\", \"transactions\":[\"0x2\"],\"size\":\"0x3\","
                      "\"b\":{\"c\":1},\"uncles\":[],\"totalDifficulty\":\"0x0\","
                      "\"withdrawals\":[],\"d\":null}",
                      out));
    EXPECT_EQ(out, "{\"a\":\"0x1\",\"b\":{\"c\":1},\"d\":null}");
    EXPECT_FALSE(block_as_head("[]", out));
}

TEST(HeadFeed, PlanGap) {
    DeliveredHeads d;
    EXPECT_EQ(plan_gap(d, id_of(7), 256).kind, GapPlan::Kind::deliver);  // the first head
    for (uint64_t n = 1; n <= 10; n++) d.push(n, id_of(n).hash);
    EXPECT_EQ(plan_gap(d, id_of(11), 256).kind, GapPlan::Kind::deliver);
    EXPECT_EQ(plan_gap(d, id_of(10), 256).kind, GapPlan::Kind::drop);
    EXPECT_EQ(plan_gap(d, id_of(8), 256).kind, GapPlan::Kind::drop);
    EXPECT_EQ(plan_gap(d, id_of(10, 1), 256).kind, GapPlan::Kind::deliver);  // a reorg
    GapPlan fill = plan_gap(d, id_of(15), 256);
    EXPECT_EQ(fill.kind, GapPlan::Kind::fill);
    EXPECT_EQ(fill.fetch_from, 11u);
    EXPECT_EQ(fill.fetch_to, 14u);
    EXPECT_EQ(fill.skipped, 0u);
    GapPlan wide = plan_gap(d, id_of(115), 10);
    EXPECT_EQ(wide.fetch_from, 105u);  // the last 10 of 11..114
    EXPECT_EQ(wide.fetch_to, 114u);
    EXPECT_EQ(wide.skipped, 94u);
}

TEST(HeadFeed, DeliveredHeadsRingForgetsTheOldest) {
    DeliveredHeads d;
    for (uint64_t n = 0; n < DeliveredHeads::capacity + 5; n++) d.push(n, id_of(n).hash);
    EXPECT_FALSE(d.seen(0, id_of(0).hash));
    EXPECT_TRUE(d.seen(5, id_of(5).hash));
    EXPECT_EQ(d.last_number(), DeliveredHeads::capacity + 4);
}

/// Runs a hub and records what it asks for.
struct HubRun {
    explicit HubRun(size_t nodes, HubConfig config = {}) : hub(config, nodes) {
        for (size_t i = 0; i < nodes; i++) hub.set_node(i, true, true);
    }
    NewHeadsHub hub;
    uint64_t now = 1'000 * ms;
    std::vector<std::string> delivered;  ///< numbers of delivered heads, as hex
    std::vector<std::string> log;        ///< "connect 0", "send 1 eth_subscribe", "close 0"

    void take() {
        for (HubAction& a : hub.actions()) {
            switch (a.kind) {
                case HubAction::Kind::deliver: {
                    Result<HeadId> id = parse_head_id(a.bytes);
                    ASSERT_TRUE(id) << a.bytes;
                    delivered.push_back(std::to_string(id->number));
                    EXPECT_EQ(a.bytes.find("transactions"), std::string::npos);
                    break;
                }
                case HubAction::Kind::connect:
                    log.push_back("connect " + std::to_string(a.node));
                    break;
                case HubAction::Kind::close:
                    log.push_back("close " + std::to_string(a.node));
                    break;
                case HubAction::Kind::send: {
                    bool sub = a.bytes.find("eth_subscribe") != std::string::npos;
                    log.push_back("send " + std::to_string(a.node) + (sub ? " sub" : " fetch"));
                    break;
                }
            }
        }
        hub.actions().clear();
    }
    /// Connects and subscribes the feed on `node`.
    void go_live(size_t node) {
        hub.on_open(node, now);
        hub.on_message(node, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"0x9\"}", now);
        take();
        ASSERT_EQ(hub.state(), NewHeadsHub::State::live);
    }
    void head(size_t node, uint64_t n, int b = 0) {
        now += 100 * ms;
        hub.on_message(node, notification(n, b), now);
        take();
    }
    std::string joined(const std::vector<std::string>& v) {
        std::string s;
        for (const std::string& x : v) s += (s.empty() ? "" : ",") + x;
        return s;
    }
};

TEST(NewHeadsHub, OneUpstreamSubscriptionForAllSubscribersAndCloseAtZero) {
    HubRun r(3);
    r.hub.subscribers(1, r.now);
    r.hub.subscribers(5, r.now);
    r.take();
    EXPECT_EQ(r.joined(r.log), "connect 0");
    r.go_live(0);
    r.hub.subscribers(9, r.now);
    r.head(0, 10);
    r.head(0, 11);
    EXPECT_EQ(r.hub.counters().subscribes, 1u);
    EXPECT_EQ(r.joined(r.delivered), "10,11");
    r.hub.subscribers(0, r.now);
    r.take();
    EXPECT_EQ(r.joined(r.log), "connect 0,send 0 sub,close 0");
    EXPECT_EQ(r.hub.state(), NewHeadsHub::State::idle);
}

TEST(NewHeadsHub, FailoverOnCloseFillsTheGapInOrderWithoutDuplicates) {
    HubRun r(3);
    r.hub.subscribers(2, r.now);
    r.take();
    r.go_live(0);
    for (uint64_t n = 10; n <= 12; n++) r.head(0, n);
    r.hub.on_closed(0, r.now);
    r.take();
    EXPECT_EQ(r.hub.feed_node(), 1);
    r.go_live(1);
    r.head(1, 16);  // 13..15 missed
    EXPECT_EQ(r.hub.state(), NewHeadsHub::State::filling);
    r.head(1, 17);  // queued behind the fill
    r.log.clear();
    // Answers come out of order; the heads go out in order.
    r.hub.on_message(1, block_answer(15), r.now);
    r.hub.on_message(1, block_answer(13), r.now);
    r.take();
    EXPECT_EQ(r.joined(r.delivered), "10,11,12,13");
    r.hub.on_message(1, block_answer(14), r.now);
    r.hub.on_message(1, block_answer(14), r.now);  // a repeated answer changes nothing
    r.take();
    r.head(1, 17);  // the EL repeats itself
    r.head(1, 18);
    EXPECT_EQ(r.joined(r.delivered), "10,11,12,13,14,15,16,17,18");
    EXPECT_EQ(r.hub.counters().filled, 3u);
    EXPECT_EQ(r.hub.counters().duplicates, 1u);
    EXPECT_EQ(r.hub.counters().failovers, 1u);
}

TEST(NewHeadsHub, NewFeedBehindTheLastDeliveredDropsWhatWasSeen) {
    HubRun r(2);
    r.hub.subscribers(1, r.now);
    r.take();
    r.go_live(0);
    for (uint64_t n = 10; n <= 12; n++) r.head(0, n);
    r.hub.on_closed(0, r.now);
    r.take();
    r.go_live(1);
    r.head(1, 11);
    r.head(1, 12);
    r.head(1, 13);
    EXPECT_EQ(r.joined(r.delivered), "10,11,12,13");
    EXPECT_EQ(r.hub.counters().duplicates, 2u);
}

TEST(NewHeadsHub, ReorgIsPassedOn) {
    HubRun r(1);
    r.hub.subscribers(1, r.now);
    r.take();
    r.go_live(0);
    r.head(0, 10);
    r.head(0, 11);
    r.head(0, 11, 1);  // another block 11
    r.head(0, 12, 1);
    EXPECT_EQ(r.joined(r.delivered), "10,11,11,12");
    EXPECT_EQ(r.hub.counters().reorgs, 1u);
}

TEST(NewHeadsHub, LaggingFeedMoves) {
    HubRun r(2);
    r.hub.subscribers(1, r.now);
    r.take();
    r.go_live(0);
    r.head(0, 10);
    r.hub.best_head(12, r.now);
    EXPECT_EQ(r.hub.feed_node(), 0);  // 2 behind: within max_head_lag_blocks
    r.hub.best_head(13, r.now);
    r.take();
    EXPECT_EQ(r.hub.feed_node(), 1);
    EXPECT_EQ(r.joined(r.log), "connect 0,send 0 sub,close 0,connect 1");
}

TEST(NewHeadsHub, SilentFeedMovesAfterTwiceTheBlockInterval) {
    HubConfig config;
    config.silence_min_ms = 50;
    HubRun r(2, config);
    r.hub.subscribers(1, r.now);
    r.take();
    r.go_live(0);
    for (uint64_t n = 1; n <= 4; n++) r.head(0, n);  // every 100 ms
    EXPECT_EQ(r.hub.interval_ns(), 100 * ms);
    r.hub.tick(r.now + 150 * ms);
    EXPECT_EQ(r.hub.feed_node(), 0);
    r.hub.tick(r.now + 201 * ms);
    EXPECT_EQ(r.hub.feed_node(), 1);
}

TEST(NewHeadsHub, WaitsWhenNoNodeAndRetriesAfterTheBench) {
    HubConfig config;
    config.bench_ms = 1000;
    HubRun r(1, config);
    r.hub.subscribers(1, r.now);
    r.take();
    r.hub.on_closed(0, r.now);  // the connect failed
    r.take();
    EXPECT_EQ(r.hub.state(), NewHeadsHub::State::waiting);
    r.hub.tick(r.now + 500 * ms);
    EXPECT_EQ(r.hub.state(), NewHeadsHub::State::waiting);
    r.hub.tick(r.now + 1001 * ms);
    r.take();
    EXPECT_EQ(r.hub.state(), NewHeadsHub::State::connecting);
    EXPECT_EQ(r.joined(r.log), "connect 0,close 0,connect 0");
}

TEST(NewHeadsHub, NodesWithoutWsAreNeverPicked) {
    HubRun r(3);
    r.hub.set_node(0, false, true);
    r.hub.set_node(1, true, false);
    r.hub.subscribers(1, r.now);
    EXPECT_EQ(r.hub.feed_node(), 2);
}

TEST(NewHeadsHub, FetchTimeoutMovesTheFeedAndTheNextFeedRefills) {
    HubRun r(2);
    r.hub.subscribers(1, r.now);
    r.take();
    r.go_live(0);
    r.head(0, 10);
    r.head(0, 13);  // 11, 12 fetched from node 0, which never answers
    r.hub.tick(r.now + 5001 * ms);
    r.take();
    EXPECT_EQ(r.hub.feed_node(), 1);
    r.go_live(1);
    r.head(1, 13);
    r.hub.on_message(1, block_answer(11), r.now);
    r.hub.on_message(1, block_answer(12), r.now);
    r.take();
    EXPECT_EQ(r.joined(r.delivered), "10,11,12,13");
}

}  // namespace
}  // namespace em::pipeline::subs
