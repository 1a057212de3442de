#include "base/log.h"

#include <gtest/gtest.h>

namespace em {
namespace {

TEST(Log, ParsesLevelsAndNamesBadOnes) {
    EXPECT_EQ(*parse_log_level("WARN"), LogLevel::warn);
    EXPECT_EQ(*parse_log_level("debug"), LogLevel::debug);
    auto bad = parse_log_level("loud");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().message(), "log level 'loud' is not one of error, warn, info, debug");
}

TEST(Log, RateLimitAllowsBurstThenSuppresses) {
    LogRateLimit limit(1, 3);
    int allowed = 0;
    for (int i = 0; i < 10; i++) allowed += limit.allow() ? 1 : 0;
    EXPECT_EQ(allowed, 3);
    EXPECT_EQ(limit.take_suppressed(), 7u);
}

}  // namespace
}  // namespace em
