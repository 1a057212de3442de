// The rpc role's hedging decisions (pipeline/hedge.h): the running p95 per method (its buckets,
// the samples it needs, its decay towards the present), the delay's floor and default, and the
// token bucket that bounds hedges to a fraction of the requests.
#include <gtest/gtest.h>

#include "pipeline/hedge.h"

namespace em::pipeline::test {
namespace {

using rpc::HedgeConfig;
using rpc::HedgePlanner;
using rpc::LatencyEstimate;

TEST(LatencyEstimate, NoOpinionBeforeEnoughSamplesThenTheP95BucketsUpperBound) {
    LatencyEstimate e;
    for (uint32_t i = 0; i + 1 < LatencyEstimate::min_samples; i++) e.record(1000);
    EXPECT_EQ(e.p95_us(), 0u);
    e.record(1000);
    EXPECT_EQ(e.p95_us(), 1024u) << "1000 us is in [512, 1024)";
    // 90 fast and 10 slow answers: the 95th percentile is a slow one.
    LatencyEstimate mixed;
    for (int i = 0; i < 90; i++) mixed.record(300);
    for (int i = 0; i < 10; i++) mixed.record(300'000);
    EXPECT_EQ(mixed.p95_us(), 524'288u);
    // 97 fast and 3 slow: the p95 is fast.
    LatencyEstimate mostly;
    for (int i = 0; i < 97; i++) mostly.record(300);
    for (int i = 0; i < 3; i++) mostly.record(300'000);
    EXPECT_EQ(mostly.p95_us(), 512u);
    LatencyEstimate zero;
    for (int i = 0; i < 30; i++) zero.record(0);
    EXPECT_EQ(zero.p95_us(), 2u);
}

TEST(LatencyEstimate, OldSamplesFadeSoTheEstimateFollowsTheNodesNow) {
    LatencyEstimate e;
    for (int i = 0; i < 1000; i++) e.record(200'000);
    EXPECT_EQ(e.p95_us(), 262'144u);
    for (int i = 0; i < 5000; i++) e.record(500);
    EXPECT_EQ(e.p95_us(), 512u) << "halved every 1024 samples: the slow past is gone";
    EXPECT_LT(e.samples(), 2048u);
}

TEST(HedgePlanner, TheDelayIsTheP95WithAFloorAndADefaultBeforeSamples) {
    HedgeConfig c;
    c.floor_us = 2000;
    c.default_us = 100'000;
    HedgePlanner p(c);
    size_t call = rpc::method_slot("eth_call");
    size_t number = rpc::method_slot("eth_blockNumber");
    EXPECT_EQ(p.delay_us(call), 100'000u);
    for (int i = 0; i < 50; i++) p.record(call, 30'000);
    EXPECT_EQ(p.delay_us(call), 32'768u);
    EXPECT_EQ(p.delay_us(number), 100'000u) << "each method its own estimate";
    for (int i = 0; i < 50; i++) p.record(number, 100);
    EXPECT_EQ(p.delay_us(number), 2000u) << "never below the floor";
}

TEST(HedgePlanner, HedgesStayWithinTheRatioOfRequestsPlusTheBurst) {
    HedgeConfig c;
    c.max_ratio = 0.1;
    c.burst = 2;
    HedgePlanner p(c);
    EXPECT_FALSE(p.take()) << "no request yet: no token";
    int hedges = 0;
    for (int i = 0; i < 1000; i++) {
        p.on_request();
        if (p.take()) hedges++;  // every request would like a hedge: the bucket says no
    }
    EXPECT_GE(hedges, 99);
    EXPECT_LE(hedges, 100);
    // Quiet requests fill the bucket only up to the burst.
    for (int i = 0; i < 1000; i++) p.on_request();
    int at_once = 0;
    while (p.take()) at_once++;
    EXPECT_EQ(at_once, 2);
    HedgeConfig off;
    off.max_ratio = 0;
    HedgePlanner none(off);
    for (int i = 0; i < 100; i++) none.on_request();
    EXPECT_FALSE(none.enabled());
    EXPECT_FALSE(none.take());
}

}  // namespace
}  // namespace em::pipeline::test
