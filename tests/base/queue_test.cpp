#include "base/queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace em {
namespace {

TEST(SpscQueue, FullQueueRejectsAndKeepsOrder) {
    SpscQueue<int> q(4);
    for (int i = 0; i < 4; i++) ASSERT_TRUE(q.push(int{i}));
    EXPECT_FALSE(q.push(99));
    for (int i = 0; i < 4; i++) EXPECT_EQ(*q.pop(), i);
    EXPECT_FALSE(q.pop());
}

TEST(SpscQueue, TwoThreadsTransferEverythingInOrder) {
    SpscQueue<uint64_t> q(64);
    constexpr uint64_t n = 200000;
    std::thread producer([&] {
        for (uint64_t i = 0; i < n; i++)
            while (!q.push(uint64_t{i})) std::this_thread::yield();
    });
    uint64_t expected = 0;
    while (expected < n) {
        if (auto v = q.pop()) {
            ASSERT_EQ(*v, expected);
            expected++;
        }
    }
    producer.join();
}

TEST(MpscQueue, ManyProducersNoLossNoDuplicates) {
    MpscQueue<uint64_t> q(128);
    constexpr int producers = 4;
    constexpr uint64_t per = 50000;
    std::vector<std::thread> threads;
    for (int p = 0; p < producers; p++)
        threads.emplace_back([&, p] {
            for (uint64_t i = 0; i < per; i++)
                while (!q.push(uint64_t{p * per + i})) std::this_thread::yield();
        });
    std::vector<uint8_t> seen(producers * per, 0);
    std::vector<uint64_t> last(producers, 0);
    uint64_t got = 0;
    while (got < producers * per) {
        if (auto v = q.pop()) {
            ASSERT_EQ(seen[*v], 0) << "duplicate " << *v;
            seen[*v] = 1;
            uint64_t p = *v / per;
            ASSERT_GE(*v % per + 1, last[p]) << "per-producer order broken";
            last[p] = *v % per + 1;
            got++;
        }
    }
    for (auto& t : threads) t.join();
    EXPECT_FALSE(q.pop());
    MpscQueue<int> small(2);
    EXPECT_TRUE(small.push(1));
    EXPECT_TRUE(small.push(2));
    EXPECT_FALSE(small.push(3));
}

}  // namespace
}  // namespace em
