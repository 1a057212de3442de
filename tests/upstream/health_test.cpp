// HealthBoard (seqlock slots, data-path failure reports) and choose_primary (lowest-latency
// synced voter with failback hold and hysteresis).
#include "upstream/health.h"

#include <gtest/gtest.h>

#include <string>

#include <atomic>
#include <cstdio>
#include <thread>

namespace em::upstream {
namespace {

constexpr uint64_t second = 1'000'000'000ull;

NodeHealth node(NodeState state, uint32_t latency_us, NodeRole role = NodeRole::voter,
                uint64_t synced_since_ns = 1) {
    NodeHealth h;
    h.present = true;
    h.role = role;
    h.state = state;
    h.latency_ewma_us = latency_us;
    h.synced_since_ns = state == NodeState::synced ? synced_since_ns : 0;
    return h;
}

TEST(ChoosePrimary, LowestLatencySyncedVoterAndNeverAMirror) {
    NodeHealth h[4] = {node(NodeState::synced, 9000), node(NodeState::synced, 3000),
                       node(NodeState::synced, 100, NodeRole::mirror),
                       node(NodeState::syncing, 50)};
    EXPECT_EQ(choose_primary(h, 4, -1, 100 * second, 0), 1);
}

TEST(ChoosePrimary, HysteresisKeepsAHealthyPrimaryUnlessClearlyFaster) {
    NodeHealth h[2] = {node(NodeState::synced, 5000), node(NodeState::synced, 4000)};
    EXPECT_EQ(choose_primary(h, 2, 0, 100 * second, 0), 0);  // 20% faster: not enough
    h[1].latency_ewma_us = 3000;                             // 40% and 2 ms faster
    EXPECT_EQ(choose_primary(h, 2, 0, 100 * second, 0), 1);
    NodeHealth local[2] = {node(NodeState::synced, 900), node(NodeState::synced, 200)};
    EXPECT_EQ(choose_primary(local, 2, 0, 100 * second, 0), 0);  // < 2 ms apart: noise
}

TEST(ChoosePrimary, FailoverAtOnceFailbackOnlyAfterTheHold) {
    NodeHealth h[2] = {node(NodeState::dead, 100), node(NodeState::synced, 9000)};
    EXPECT_EQ(choose_primary(h, 2, 0, 100 * second, 30 * second), 1);
    // Node 0 recovers and is much faster, but has been synced for 5 s only.
    h[0] = node(NodeState::synced, 100, NodeRole::voter, 95 * second);
    EXPECT_EQ(choose_primary(h, 2, 1, 100 * second, 30 * second), 1);
    EXPECT_EQ(choose_primary(h, 2, 1, 126 * second, 30 * second), 0);
}

TEST(ChoosePrimary, FallsBackToSyncingThenNone) {
    NodeHealth h[2] = {node(NodeState::dead, 1), node(NodeState::syncing, 9)};
    EXPECT_EQ(choose_primary(h, 2, -1, second, 0), 1);
    h[1].state = NodeState::dead;
    EXPECT_EQ(choose_primary(h, 2, -1, second, 0), -1);
}

TEST(SetClient, TheImplementationIsTheTextBeforeTheFirstSlashLowercased) {
    NodeHealth h;
    set_client(h, "Geth/v1.14.0-stable-abc/linux-amd64/go1.22.1");
    EXPECT_EQ(h.client_text(), "geth");
    set_client(h, "Nethermind/v1.25.4+20b10b35/linux-x64/dotnet8.0.2");
    EXPECT_EQ(h.client_text(), "nethermind");
    set_client(h, "reth");
    EXPECT_EQ(h.client_text(), "reth");
    set_client(h, "Odd Name/1");  // a space ends it
    EXPECT_EQ(h.client_text(), "odd");
    set_client(h, std::string(100, 'a'));  // cut to fit, terminated
    EXPECT_EQ(h.client_text().size(), sizeof h.client - 1);
    set_client(h, "/nothing-before");
    EXPECT_EQ(h.client_text(), "");
}

TEST(HealthBoard, ASlotNeverPublishedReadsAsTheDefault) {
    HealthBoard board;
    NodeHealth h = board.read(nodes_max - 1);
    EXPECT_FALSE(h.present);
    EXPECT_EQ(h.state, NodeState::unknown);
    EXPECT_EQ(h.head_number, -1);
    EXPECT_EQ(h.head_age_s, -1);
    EXPECT_EQ(board.version(), 0u);
}

TEST(HealthBoard, ReportFailureMarksDeadAtOnceWithReason) {
    HealthBoard board;
    board.publish(2, node(NodeState::synced, 100));
    board.report_failure(2, "timeout in engine_newPayloadV4", 42);
    NodeHealth h = board.read(2);
    EXPECT_EQ(h.state, NodeState::dead);
    EXPECT_EQ(h.reason_text(), "timeout in engine_newPayloadV4");
    EXPECT_EQ(h.changed_ns, 42u);
    EXPECT_EQ(board.take_failure_reports(2), 1u);
    EXPECT_EQ(board.take_failure_reports(2), 0u);
}

TEST(HealthBoard, FailoversCountThePrimaryMovingOffANode) {
    HealthBoard board;
    board.set_primary(0);  // the first primary: no node was left
    board.set_primary(0);  // unchanged
    EXPECT_EQ(board.failovers(), 0u);
    board.set_primary(1);
    board.set_primary(-1);  // no usable voter: the primary left node 1
    board.set_primary(2);   // from none: nothing was left
    EXPECT_EQ(board.failovers(), 2u);
    EXPECT_EQ(board.primary(), 2);
}

TEST(HealthBoard, ReadersNeverSeeATornSlot) {
    HealthBoard board;
    std::atomic<bool> stop{false};
    std::thread writer([&] {
        for (uint32_t i = 1; !stop; i++) {
            NodeHealth h = node(NodeState::synced, i);
            h.last_latency_us = i;  // both fields always equal in a consistent snapshot
            h.head_number = i;
            board.publish(0, h);
        }
    });
    for (int k = 0; k < 200000; k++) {
        NodeHealth h = board.read(0);
        ASSERT_EQ(h.latency_ewma_us, h.last_latency_us);
        ASSERT_EQ(static_cast<int64_t>(h.latency_ewma_us), h.head_number == -1 ? 0 : h.head_number);
    }
    stop = true;
    writer.join();
}

// The prober publishes while shards report failures into the same slot (issue 19 soak and
// ThreadSanitizer work): both are writers, and both must take the slot's write lock. Before,
// publish() wrote over a report in progress (it stored an even sequence while the report held
// the slot), so readers could take a half-written publish for a consistent one, and the two
// writers' copies raced. Every published snapshot has latency_ewma_us == last_latency_us ==
// head_number == probes; a report changes none of those four.
TEST(HealthBoard, ConcurrentWritersNeverTearASlot) {
    HealthBoard board;
    std::atomic<bool> stop{false};
    std::thread publisher([&] {
        for (uint32_t i = 1; !stop; i++) {
            NodeHealth h = node(NodeState::synced, i);
            h.last_latency_us = i;
            h.head_number = i;
            h.probes = i;
            std::snprintf(h.reason, sizeof h.reason, "published %u", i);
            board.publish(0, h);
        }
    });
    std::thread reporter([&] {
        for (uint64_t i = 1; !stop; i++) board.report_failure(0, "timeout in eth_call", i);
    });
    for (int k = 0; k < 300000; k++) {
        NodeHealth h = board.read(0);
        ASSERT_EQ(h.latency_ewma_us, h.last_latency_us) << "read " << k;
        ASSERT_EQ(static_cast<int64_t>(h.latency_ewma_us), h.head_number == -1 ? 0 : h.head_number);
        ASSERT_EQ(uint64_t{h.latency_ewma_us}, h.probes);
        ASSERT_TRUE(h.reason_text().starts_with("published") ||
                    h.reason_text() == "timeout in eth_call" || h.reason_text().empty())
            << h.reason_text();
    }
    stop = true;
    publisher.join();
    reporter.join();
    EXPECT_GT(board.take_failure_reports(0), 0u);
}

}  // namespace
}  // namespace em::upstream
