// The rpc role's answer cache and request budgets (pipeline/rpc_cache.h, rate_limit.h): which
// answers may be reused, the bounded LRU store shared by threads, and the token buckets.
#include "pipeline/rpc_cache.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "pipeline/rate_limit.h"

namespace em::pipeline::rpc {
namespace {

const std::string hash = "0x" + std::string(64, 'a');

TEST(Classify, ConstantsAndAnythingByHashAreImmutable) {
    EXPECT_EQ(classify("eth_chainId", "", -1), Reuse::immutable);
    EXPECT_EQ(classify("net_version", "[]", -1), Reuse::immutable);
    EXPECT_EQ(classify("eth_getBlockByHash", "[\"" + hash + "\",false]", -1), Reuse::immutable);
    EXPECT_EQ(classify("eth_getTransactionByBlockHashAndIndex", "[\"" + hash + "\",\"0x0\"]", -1),
              Reuse::immutable);
    // EIP-1898: a block parameter given by hash.
    EXPECT_EQ(classify("eth_getBalance",
                       "[\"0x8a8eafb1cf62bfbeb1741769dae1a9dd47996192\",{\"blockHash\":\"" + hash +
                           "\"}]",
                       -1),
              Reuse::immutable);
    EXPECT_EQ(classify("eth_getLogs", "[{\"blockHash\":\"" + hash + "\"}]", -1), Reuse::immutable);
}

TEST(Classify, NumbersOnlyAtOrBelowFinalized) {
    const char* addr = "\"0x8a8eafb1cf62bfbeb1741769dae1a9dd47996192\"";
    EXPECT_EQ(classify("eth_getBlockByNumber", "[\"0x64\",true]", 100), Reuse::immutable);
    EXPECT_EQ(classify("eth_getBlockByNumber", "[\"0x65\",true]", 100), Reuse::never);
    EXPECT_EQ(classify("eth_getBlockByNumber", "[\"0x64\",true]", -1), Reuse::never)
        << "nothing is final before the first finalized block is known";
    EXPECT_EQ(classify("eth_getBlockByNumber", "[\"earliest\",false]", -1), Reuse::immutable);
    EXPECT_EQ(classify("eth_getBalance", std::string("[") + addr + ",\"0x10\"]", 100),
              Reuse::immutable);
    EXPECT_EQ(classify("eth_getStorageAt", std::string("[") + addr + ",\"0x0\",\"0x10\"]", 100),
              Reuse::immutable);
    EXPECT_EQ(classify("eth_call",
                       "[{\"to\":" + std::string(addr) + "},{\"blockNumber\":\"0x10\"}]", 100),
              Reuse::immutable);
    EXPECT_EQ(classify("eth_getLogs", "[{\"fromBlock\":\"0x1\",\"toBlock\":\"0x64\"}]", 100),
              Reuse::immutable);
    EXPECT_EQ(classify("eth_getLogs", "[{\"fromBlock\":\"0x1\",\"toBlock\":\"0x65\"}]", 100),
              Reuse::never);
}

TEST(Classify, MovingTagsMissingBlocksAndEverythingElseAreNever) {
    const char* addr = "\"0x8a8eafb1cf62bfbeb1741769dae1a9dd47996192\"";
    for (const char* tag : {"latest", "pending", "safe", "finalized"}) {
        EXPECT_EQ(classify("eth_getBlockByNumber", std::string("[\"") + tag + "\",false]", 1000),
                  Reuse::never)
            << tag;
        EXPECT_EQ(classify("eth_getBalance", std::string("[") + addr + ",\"" + tag + "\"]", 1000),
                  Reuse::never)
            << tag;
    }
    EXPECT_EQ(classify("eth_getBalance", std::string("[") + addr + "]", 1000), Reuse::never)
        << "no block parameter means latest";
    EXPECT_EQ(classify("eth_getLogs", "[{\"fromBlock\":\"0x1\"}]", 1000), Reuse::never);
    EXPECT_EQ(classify("eth_blockNumber", "[]", 1000), Reuse::never);
    EXPECT_EQ(classify("eth_sendRawTransaction", "[\"0x02\"]", 1000), Reuse::never);
    EXPECT_EQ(classify("eth_getFilterChanges", "[\"0x1\"]", 1000), Reuse::never);
    EXPECT_EQ(classify("eth_getBlockByNumber", "[\"0x01\",false]", 1000), Reuse::never)
        << "a leading zero is no QUANTITY";
    EXPECT_EQ(classify("eth_getBlockByNumber", "not json", 1000), Reuse::never);
    EXPECT_EQ(classify("eth_getBlockByNumber", "", 1000), Reuse::never);
}

TEST(Classify, ByTransactionHashDependsOnTheAnswersBlock) {
    EXPECT_EQ(classify("eth_getTransactionReceipt", "[\"" + hash + "\"]", 100),
              Reuse::if_answer_final);
    EXPECT_EQ(classify("eth_getTransactionByHash", "[\"" + hash + "\"]", -1), Reuse::never);
    EXPECT_TRUE(answer_final("{\"blockNumber\":\"0x64\",\"status\":\"0x1\"}", 100));
    EXPECT_FALSE(answer_final("{\"blockNumber\":\"0x65\",\"status\":\"0x1\"}", 100));
    EXPECT_FALSE(answer_final("{\"blockNumber\":null}", 100)) << "pending: no block yet";
    EXPECT_FALSE(answer_final("null", 100));
    EXPECT_FALSE(answer_final("{\"blockNumber\":\"0x1\"}", -1));
    EXPECT_FALSE(answer_final("{", 100));
}

TEST(CacheKey, WhitespaceDoesNotMatterAndInvalidJsonHasNoKey) {
    std::string a, b;
    ASSERT_TRUE(cache_key("eth_getBlockByNumber", "[\"0x1\", false]", a));
    ASSERT_TRUE(cache_key("eth_getBlockByNumber", "[ \"0x1\",false ]", b));
    EXPECT_EQ(a, b);
    ASSERT_TRUE(cache_key("eth_getBlockByHash", "[\"0x1\",false]", b));
    EXPECT_NE(a, b) << "the method is part of the key";
    EXPECT_FALSE(cache_key("eth_getBlockByNumber", "[\"0x1\",", a));
}

TEST(AnswerCache, StoresLooksUpAndEvictsTheLeastRecentlyUsedWithinBudget) {
    AnswerCache cache(16 * 1000);  // 1,000 bytes per stripe
    ByteBuffer out;
    EXPECT_FALSE(cache.lookup("k", out));
    cache.insert("k", "\"0x1\"");
    ASSERT_TRUE(cache.lookup("k", out));
    EXPECT_EQ(out.view(), "\"0x1\"");
    cache.insert("k", "\"0x2\"");  // refreshed, not duplicated
    out.clear();
    ASSERT_TRUE(cache.lookup("k", out));
    EXPECT_EQ(out.view(), "\"0x2\"");
    EXPECT_EQ(cache.stats().entries, 1u);

    // Fill far past the budget: bytes stay bounded, and what was just used survives.
    std::string value(90, 'x');
    for (int i = 0; i < 2000; i++) {
        cache.insert("key" + std::to_string(i), value);
        out.clear();
        EXPECT_TRUE(cache.lookup("key" + std::to_string(i), out));
    }
    CacheStats s = cache.stats();
    EXPECT_LE(s.bytes, 16u * 1000u);
    EXPECT_GT(s.evictions, 1000u);
    out.clear();
    EXPECT_TRUE(cache.lookup("key1999", out));
    EXPECT_FALSE(cache.lookup("key0", out));
    cache.insert("huge", std::string(5000, 'y'));  // larger than a stripe: not stored
    EXPECT_FALSE(cache.lookup("huge", out));
}

TEST(AnswerCache, SharedByThreads) {
    AnswerCache cache(1 << 20);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; t++) {
        threads.emplace_back([&cache, t] {
            ByteBuffer out;
            for (int i = 0; i < 2000; i++) {
                std::string key = "k" + std::to_string(i % 100);
                if (!cache.lookup(key, out))
                    cache.insert(key, "\"v" + std::to_string(i % 100) + "\"");
                out.clear();
                (void)t;
            }
        });
    }
    for (auto& th : threads) th.join();
    ByteBuffer out;
    ASSERT_TRUE(cache.lookup("k7", out));
    EXPECT_EQ(out.view(), "\"v7\"");
    EXPECT_EQ(cache.stats().entries, 100u);
}

constexpr uint64_t ms = 1'000'000;

TEST(Budgets, TokenBucketAllowsTheBurstThenTheRateAndSaysWhenToRetry) {
    Budgets budgets(BudgetConfig{10, 5, 0, 1000});  // 10/s, burst 5
    uint32_t retry = 0;
    for (int i = 0; i < 5; i++) {
        ASSERT_EQ(budgets.admit("1.2.3.4", 0, &retry), Verdict::allowed) << i;
        budgets.done("1.2.3.4");
    }
    EXPECT_EQ(budgets.admit("1.2.3.4", 0, &retry), Verdict::over_rate);
    EXPECT_EQ(retry, 100u) << "one token every 100 ms";
    EXPECT_EQ(budgets.admit("5.6.7.8", 0, &retry), Verdict::allowed) << "keys are separate";
    EXPECT_EQ(budgets.admit("1.2.3.4", 50 * ms, &retry), Verdict::over_rate);
    EXPECT_EQ(retry, 50u);
    EXPECT_EQ(budgets.admit("1.2.3.4", 100 * ms, &retry), Verdict::allowed);
    // Over one second at 10/s: about 10 more, never the burst again at once.
    int allowed = 0;
    for (uint64_t t = 101; t <= 1100; t++) {
        if (budgets.admit("1.2.3.4", t * ms, &retry) == Verdict::allowed) {
            allowed++;
            budgets.done("1.2.3.4");
        }
    }
    EXPECT_GE(allowed, 9);
    EXPECT_LE(allowed, 11);
}

TEST(Budgets, ConcurrencyIsCountedUntilDone) {
    Budgets budgets(BudgetConfig{0, 0, 2, 1000});
    EXPECT_EQ(budgets.admit("key", 0, nullptr), Verdict::allowed);
    EXPECT_EQ(budgets.admit("key", 0, nullptr), Verdict::allowed);
    EXPECT_EQ(budgets.admit("key", 0, nullptr), Verdict::over_concurrency);
    budgets.done("key");
    EXPECT_EQ(budgets.admit("key", 0, nullptr), Verdict::allowed);
}

TEST(Budgets, RemembersAtMostKeysMaxIdleKeys) {
    Budgets budgets(BudgetConfig{1, 1, 0, 160});  // 10 per stripe
    for (int i = 0; i < 10'000; i++) {
        ASSERT_EQ(budgets.admit("client" + std::to_string(i), 0, nullptr), Verdict::allowed);
        budgets.done("client" + std::to_string(i));
    }
    EXPECT_LE(budgets.keys(), 160u);
    // A forgotten key comes back with a full bucket (as an idle one would have).
    EXPECT_EQ(budgets.admit("client0", 0, nullptr), Verdict::allowed);
}

}  // namespace
}  // namespace em::pipeline::rpc
