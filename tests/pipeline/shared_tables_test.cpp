// The rpc role's tables shared by every shard (issue 16 item 2): the filter table (filter id ->
// the node that made it) and the sticky table (a client's node and floor), alone and under
// concurrent use from several threads as the shards use them. Run under ThreadSanitizer
// (tools/tsan.sh) this also checks they are free of data races.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "pipeline/rpc_filters.h"
#include "pipeline/sticky.h"

namespace em::pipeline {
namespace {

using rpc::FilterTable;
using rpc::StickyEntry;
using rpc::StickyTable;

std::string filter_id(int thread, int k) {
    return "0x" + std::to_string(thread) + "f" + std::to_string(k);
}

TEST(RpcFilterTable, RemembersTheMakerForgetsTheOldestAndIgnoresHugeIds) {
    FilterTable t(16);  // one id per stripe at least: 16 in all
    EXPECT_EQ(t.node_of("0x1"), -1);
    t.remember("0x1", 2);
    EXPECT_EQ(t.node_of("0x1"), 2);
    t.remember("0x1", 3);
    EXPECT_EQ(t.node_of("0x1"), 3) << "a later creation of the same id moves it";
    for (int k = 0; k < 1000; k++) t.remember(filter_id(0, k), 1);
    EXPECT_LE(t.size(), 16u) << "bounded";
    EXPECT_EQ(t.node_of(filter_id(0, 999)), 1) << "the newest stays";
    EXPECT_EQ(t.node_of(filter_id(0, 0)), -1) << "the oldest went";
    t.remember(std::string(FilterTable::id_bytes_max + 1, 'a'), 1);
    EXPECT_EQ(t.node_of(std::string(FilterTable::id_bytes_max + 1, 'a')), -1);
    t.remember("", 1);
    EXPECT_EQ(t.node_of(""), -1);
}

TEST(RpcFilterTable, FiltersMadeOnEveryThreadAreFoundOnEveryOther) {
    FilterTable t(4096);
    constexpr int threads = 4, per_thread = 500;
    std::vector<std::thread> workers;
    std::atomic<int> wrong{0};
    for (int w = 0; w < threads; w++) {
        workers.emplace_back([&, w] {
            for (int k = 0; k < per_thread; k++) {
                t.remember(filter_id(w, k), static_cast<size_t>(w));
                // Another thread's filters, made or not yet: never another node than its maker.
                int other = (w + 1) % threads;
                int node = t.node_of(filter_id(other, k));
                if (node != -1 && node != other) wrong++;
            }
        });
    }
    for (std::thread& worker : workers) worker.join();
    EXPECT_EQ(wrong.load(), 0);
    EXPECT_EQ(t.size(), static_cast<size_t>(threads * per_thread));
    for (int w = 0; w < threads; w++)
        for (int k = 0; k < per_thread; k++) ASSERT_EQ(t.node_of(filter_id(w, k)), w);
}

TEST(RpcStickyTable, AClientsFloorNeverGoesDownWhateverThreadServesIt) {
    StickyTable t(1024);
    constexpr int threads = 4, rounds = 2000;
    constexpr uint64_t clients = 64;
    std::vector<std::thread> workers;
    std::atomic<int> backwards{0};
    for (int w = 0; w < threads; w++) {
        workers.emplace_back([&, w] {
            std::vector<int64_t> seen(clients + 1, -1);
            for (int r = 0; r < rounds; r++) {
                uint64_t client = 1 + static_cast<uint64_t>(r) % clients;
                // Each thread serves blocks that go up and down; the floor must only rise.
                int64_t block = (r * 7 + w * 13) % 500;
                (void)t.served(client, w, block);
                StickyEntry e;
                if (!t.find(client, e)) continue;  // 64 clients in 1,024 entries: never evicted
                if (e.floor < seen[client] || e.floor < block) backwards++;
                seen[client] = e.floor;
            }
        });
    }
    for (std::thread& worker : workers) worker.join();
    EXPECT_EQ(backwards.load(), 0);
    for (uint64_t c = 1; c <= clients; c++) {
        StickyEntry e;
        ASSERT_TRUE(t.find(c, e)) << c;
        EXPECT_GE(e.node, 0);
        EXPECT_LT(e.node, threads);
    }
}

}  // namespace
}  // namespace em::pipeline
