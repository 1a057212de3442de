// ClHead: the CL's head and the nodes at it, from the CL's own newPayload and forkchoiceUpdated.
#include "pipeline/cl_head.h"

#include <gtest/gtest.h>

namespace em::pipeline {
namespace {

constexpr uint64_t s = 1'000'000'000ull;

engine::Hash32 hash(uint8_t b) {
    engine::Hash32 h{};
    h.fill(b);
    return h;
}

TEST(ClHead, TheHeadIsTheForkchoicesBlockAndItsNodesTookBothCalls) {
    ClHead head(36 * s);
    EXPECT_EQ(head.read(1 * s).number, -1) << "nothing before the CL's first forkchoiceUpdated";
    head.new_payload(hash(1), 100, 0b011);  // node 2 answered SYNCING
    EXPECT_EQ(head.read(1 * s).number, -1) << "a newPayload alone makes no head";
    head.forkchoice(hash(1), 0b110, 2 * s);  // node 0 did not accept the head
    ClHead::View v = head.read(3 * s);
    EXPECT_EQ(v.number, 100);
    EXPECT_EQ(v.nodes, 0b010u);
}

TEST(ClHead, AnUnknownHeadChangesNothingAndAStaleOneIsNone) {
    ClHead head(36 * s);
    head.new_payload(hash(1), 100, 0b111);
    head.forkchoice(hash(1), 0b111, 10 * s);
    head.forkchoice(hash(9), 0b111, 11 * s);  // a block the CL never sent us
    EXPECT_EQ(head.read(12 * s).number, 100);
    EXPECT_EQ(head.read(46 * s).number, 100) << "36 s is not yet stale";
    EXPECT_EQ(head.read(47 * s).number, -1) << "the CL has been silent for three slots";
}

TEST(ClHead, ARepeatedPayloadAddsItsNodesAndAnOldOneIsForgottenPastTheRing) {
    ClHead head(36 * s);
    head.new_payload(hash(1), 100, 0b001);
    head.new_payload(hash(1), 100, 0b100);  // another CL's copy, or a retry
    head.forkchoice(hash(1), 0b111, 1 * s);
    EXPECT_EQ(head.read(1 * s).nodes, 0b101u);
    for (uint8_t k = 2; k < 2 + ClHead::payloads_kept; k++) head.new_payload(hash(k), k, 1);
    head.forkchoice(hash(1), 0b111, 2 * s);  // hash(1) left the ring: no new publication
    EXPECT_EQ(head.read(2 * s).nodes, 0b101u);
}

TEST(ClHead, ANodeThatLeavesItsSlotIsAtNoHead) {
    ClHead head(36 * s);
    head.new_payload(hash(1), 100, 0b111);
    head.forkchoice(hash(1), 0b111, 1 * s);
    head.forget_node(1);
    EXPECT_EQ(head.read(1 * s).nodes, 0b101u);
    head.forkchoice(hash(1), 0b111, 2 * s);  // its successor did not take that payload
    EXPECT_EQ(head.read(2 * s).nodes, 0b101u);
}

}  // namespace
}  // namespace em::pipeline
