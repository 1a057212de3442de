// The rpc role's circuit breaker (pipeline/breaker.h) transition by transition, with an
// injected clock: what counts as a failure, the run of failures that opens it, the window that
// restarts the run, the cooldown, the one probe of half-open, and how it closes or opens again.
#include <gtest/gtest.h>

#include "pipeline/breaker.h"

namespace em::pipeline::test {
namespace {

using rpc::BreakerBoard;
using rpc::BreakerConfig;
using rpc::BreakerState;

constexpr uint64_t ms = 1'000'000;

BreakerConfig config(uint32_t failures = 3, uint32_t window_ms = 1000, uint32_t cooldown_ms = 500) {
    BreakerConfig c;
    c.failures = failures;
    c.window_ms = window_ms;
    c.cooldown_ms = cooldown_ms;
    return c;
}

NodeReply http(size_t node, int status) {
    NodeReply r;
    r.node = node;
    r.http_status = status;
    return r;
}

NodeReply failed(size_t node, const Error& e) {
    NodeReply r;
    r.node = node;
    r.error = &e;
    return r;
}

TEST(Breaker, TransportErrorsTimeoutsAnd5xxAreFailuresJsonRpcErrorsAndOther4xxAreNot) {
    Error timeout(Errc::timeout, "deadline");
    Error reset(Errc::io, "connection reset");
    Error closed(Errc::closed, "closed");
    Error too_large(Errc::too_large, "answer over response_bytes_max");
    EXPECT_TRUE(rpc::is_breaker_failure(failed(0, timeout)));
    EXPECT_TRUE(rpc::is_breaker_failure(failed(0, reset)));
    EXPECT_TRUE(rpc::is_breaker_failure(failed(0, closed)));
    EXPECT_FALSE(rpc::is_breaker_failure(failed(0, too_large))) << "the answer, not the node";
    EXPECT_TRUE(rpc::is_breaker_failure(http(0, 500)));
    EXPECT_TRUE(rpc::is_breaker_failure(http(0, 503)));
    EXPECT_FALSE(rpc::is_breaker_failure(http(0, 200))) << "a JSON-RPC error comes in a 200";
    EXPECT_FALSE(rpc::is_breaker_failure(http(0, 401)));
    EXPECT_FALSE(rpc::is_breaker_failure(http(0, 429)));
}

TEST(Breaker, OpensAfterTheRunOfFailuresAndASuccessEndsTheRun) {
    BreakerBoard b(config());
    uint64_t t = 1000 * ms;
    b.replied(http(1, 503), t);
    b.replied(http(1, 503), t + 1 * ms);
    b.replied(http(1, 200), t + 2 * ms);  // the run ends
    b.replied(http(1, 503), t + 3 * ms);
    b.replied(http(1, 503), t + 4 * ms);
    EXPECT_EQ(b.state(1), BreakerState::closed);
    EXPECT_TRUE(b.admits(1, t + 4 * ms));
    b.replied(http(1, 503), t + 5 * ms);
    EXPECT_EQ(b.state(1), BreakerState::open);
    EXPECT_EQ(b.opens(1), 1u);
    EXPECT_FALSE(b.admits(1, t + 5 * ms));
    EXPECT_FALSE(b.admits(1, t + 504 * ms)) << "inside the cooldown";
    EXPECT_TRUE(b.admits(0, t + 5 * ms)) << "another node's breaker is its own";
    EXPECT_EQ(b.state(0), BreakerState::closed);
}

TEST(Breaker, ARunOlderThanTheWindowStartsAgain) {
    BreakerBoard b(config(3, 1000, 500));
    uint64_t t = 1000 * ms;
    b.replied(http(0, 500), t);
    b.replied(http(0, 500), t + 10 * ms);
    b.replied(http(0, 500), t + 1011 * ms);  // the run began over a window ago: a fresh one
    EXPECT_EQ(b.state(0), BreakerState::closed);
    b.replied(http(0, 500), t + 1012 * ms);
    b.replied(http(0, 500), t + 1013 * ms);
    EXPECT_EQ(b.state(0), BreakerState::open);
}

TEST(Breaker, AfterTheCooldownOneProbeGoesAndItsSuccessCloses) {
    BreakerBoard b(config());
    uint64_t t = 1000 * ms;
    for (int i = 0; i < 3; i++) b.replied(http(2, 503), t);
    ASSERT_EQ(b.state(2), BreakerState::open);
    uint64_t later = t + 500 * ms;
    EXPECT_TRUE(b.admits(2, later)) << "the probe may go";
    b.sending(2, later);
    EXPECT_EQ(b.state(2), BreakerState::half_open);
    EXPECT_FALSE(b.admits(2, later + 1 * ms)) << "only one probe at a time";
    b.sending(2, later + 1 * ms);  // a call picked before the probe left: not a second probe
    EXPECT_EQ(b.state(2), BreakerState::half_open);
    b.replied(http(2, 200), later + 2 * ms);
    EXPECT_EQ(b.state(2), BreakerState::closed);
    EXPECT_TRUE(b.admits(2, later + 2 * ms));
    EXPECT_EQ(b.opens(2), 1u);
    // Closed again with a fresh run: it takes the whole run to open it again.
    b.replied(http(2, 503), later + 3 * ms);
    b.replied(http(2, 503), later + 4 * ms);
    EXPECT_EQ(b.state(2), BreakerState::closed);
}

TEST(Breaker, AFailedProbeOpensItForAnotherCooldown) {
    BreakerBoard b(config());
    uint64_t t = 1000 * ms;
    Error reset(Errc::io, "connection reset");
    for (int i = 0; i < 3; i++) b.replied(failed(0, reset), t);
    b.sending(0, t + 600 * ms);
    ASSERT_EQ(b.state(0), BreakerState::half_open);
    b.replied(failed(0, reset), t + 601 * ms);
    EXPECT_EQ(b.state(0), BreakerState::open);
    EXPECT_EQ(b.opens(0), 2u);
    EXPECT_FALSE(b.admits(0, t + 1100 * ms)) << "the cooldown starts at the failed probe";
    EXPECT_TRUE(b.admits(0, t + 1101 * ms));
}

TEST(Breaker, AProbeThatNeverAnswersLetsAnotherGoACooldownLater) {
    BreakerBoard b(config());
    uint64_t t = 1000 * ms;
    for (int i = 0; i < 3; i++) b.replied(http(0, 502), t);
    b.sending(0, t + 500 * ms);
    EXPECT_FALSE(b.admits(0, t + 999 * ms));
    EXPECT_TRUE(b.admits(0, t + 1000 * ms)) << "the probe is presumed lost";
    b.sending(0, t + 1000 * ms);
    EXPECT_FALSE(b.admits(0, t + 1001 * ms));
    b.replied(http(0, 200), t + 1002 * ms);
    EXPECT_EQ(b.state(0), BreakerState::closed);
}

TEST(Breaker, WhileOpenLateAnswersOfCallsSentBeforeChangeNothing) {
    BreakerBoard b(config());
    uint64_t t = 1000 * ms;
    for (int i = 0; i < 3; i++) b.replied(http(0, 500), t);
    b.replied(http(0, 200), t + 1 * ms);
    b.replied(http(0, 500), t + 2 * ms);
    EXPECT_EQ(b.state(0), BreakerState::open);
    EXPECT_EQ(b.opens(0), 1u);
    EXPECT_FALSE(b.admits(0, t + 400 * ms)) << "the cooldown still counts from the opening";
}

TEST(Breaker, RepliesOfARemovedNodeAndAZeroThresholdCountNothing) {
    BreakerBoard b(config());
    NodeReply old = http(0, 503);
    old.current = false;
    for (int i = 0; i < 5; i++) b.replied(old, 1000 * ms);
    EXPECT_EQ(b.state(0), BreakerState::closed);
    BreakerBoard off(config(0));
    for (int i = 0; i < 50; i++) off.replied(http(0, 503), 1000 * ms);
    EXPECT_EQ(off.state(0), BreakerState::closed);
    EXPECT_TRUE(off.admits(0, 1000 * ms));
}

TEST(Breaker, AResetSlotStartsClosedWithNoFailuresOrOpensCounted) {
    BreakerBoard b(config());
    uint64_t t = 1000 * ms;
    for (int i = 0; i < 3; i++) b.replied(http(2, 503), t);
    ASSERT_EQ(b.state(2), BreakerState::open);
    b.replied(http(1, 503), t);
    b.replied(http(1, 503), t);  // slot 1: two failures of a run
    b.reset(2);
    b.reset(1);
    EXPECT_EQ(b.state(2), BreakerState::closed);
    EXPECT_EQ(b.opens(2), 0u);
    EXPECT_TRUE(b.admits(2, t + 1 * ms)) << "no cooldown left over from the old node";
    b.replied(http(1, 503), t + 2 * ms);
    b.replied(http(1, 503), t + 3 * ms);
    EXPECT_EQ(b.state(1), BreakerState::closed) << "the old node's run does not carry over";
    b.replied(http(1, 503), t + 4 * ms);
    EXPECT_EQ(b.state(1), BreakerState::open);
}

}  // namespace
}  // namespace em::pipeline::test
