#include "base/histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

namespace em {
namespace {

TEST(LatencyHistogram, BucketsCoverEveryValueContiguously) {
    for (size_t i = 0; i + 1 < LatencyHistogram::bucket_count; i++) {
        ASSERT_EQ(LatencyHistogram::upper_bound_of(i) + 1, LatencyHistogram::lower_bound_of(i + 1))
            << i;
        ASSERT_EQ(LatencyHistogram::index_of(LatencyHistogram::lower_bound_of(i)), i);
        ASSERT_EQ(LatencyHistogram::index_of(LatencyHistogram::upper_bound_of(i)), i);
    }
    EXPECT_EQ(LatencyHistogram::index_of(LatencyHistogram::value_max),
              LatencyHistogram::bucket_count - 1);
}

TEST(LatencyHistogram, PercentilesWithinOnePercentOfExact) {
    std::mt19937_64 rng(42);
    std::lognormal_distribution<double> dist(11.0, 1.5);  // ~60 us median, long tail
    std::vector<uint64_t> values;
    LatencyHistogram h;
    for (int i = 0; i < 200000; i++) {
        uint64_t v = static_cast<uint64_t>(dist(rng));
        values.push_back(v);
        h.record(v);
    }
    std::sort(values.begin(), values.end());
    for (double q : {0.5, 0.9, 0.99, 0.999}) {
        uint64_t exact = values[static_cast<size_t>(q * values.size() + 0.999999) - 1];
        double got = static_cast<double>(h.percentile(q));
        EXPECT_NEAR(got, static_cast<double>(exact), exact * 0.01 + 1) << q;
    }
    EXPECT_EQ(h.max(), values.back());
    EXPECT_EQ(h.min(), values.front());
    EXPECT_EQ(h.count(), values.size());
}

TEST(LatencyHistogram, MergeAndClamp) {
    LatencyHistogram a, b;
    a.record(10);
    b.record(1000);
    b.record(LatencyHistogram::value_max + 5);
    a.merge(b);
    EXPECT_EQ(a.count(), 3u);
    EXPECT_EQ(a.clamped(), 1u);
    EXPECT_EQ(a.min(), 10u);
    EXPECT_EQ(a.max(), LatencyHistogram::value_max);
    EXPECT_EQ(a.count_at_or_below(10), 1u);
}

}  // namespace
}  // namespace em
