// ByteBudget (base/budget.h): reservations within the bound, refusals beyond it, and no
// overshoot when several threads reserve and release at once.
#include "base/budget.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace em {
namespace {

TEST(ByteBudget, ReservesWithinTheBoundAndRefusesBeyond) {
    ByteBudget budget(100);
    EXPECT_TRUE(budget.try_reserve(60));
    EXPECT_TRUE(budget.try_reserve(40));
    EXPECT_EQ(budget.reserved_bytes(), 100u);
    EXPECT_FALSE(budget.try_reserve(1));
    EXPECT_EQ(budget.reserved_bytes(), 100u);  // a refusal reserves nothing
    budget.release(60);
    EXPECT_FALSE(budget.try_reserve(61));
    EXPECT_TRUE(budget.try_reserve(60));
    EXPECT_TRUE(budget.try_reserve(0));
    EXPECT_FALSE(budget.try_reserve(UINT64_MAX));
    budget.release(100);
    EXPECT_EQ(budget.reserved_bytes(), 0u);
}

TEST(ByteBudget, ConcurrentHoldersNeverTakeItOverTheBound) {
    constexpr uint64_t bytes_max = 1000;
    ByteBudget budget(bytes_max);
    std::atomic<uint64_t> held{0};  // what the holders believe they hold, summed
    std::atomic<bool> over{false};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; t++) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 20000; i++) {
                uint64_t bytes = 1 + static_cast<uint64_t>((i * 7 + t * 13) % 300);
                if (!budget.try_reserve(bytes)) continue;
                if (held.fetch_add(bytes) + bytes > bytes_max) over = true;
                held.fetch_sub(bytes);
                budget.release(bytes);
            }
        });
    }
    for (auto& thread : threads) thread.join();
    EXPECT_FALSE(over.load());
    EXPECT_EQ(budget.reserved_bytes(), 0u);
}

}  // namespace
}  // namespace em
