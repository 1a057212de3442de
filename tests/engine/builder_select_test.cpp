// engine/builder_select.h: which block a builder-role getPayload answers.
#include "engine/builder_select.h"

#include <gtest/gtest.h>

#include <vector>

namespace em::engine {
namespace {

BuiltBlock local_block(uint64_t gas, uint64_t value) {
    return BuiltBlock{true, Fallback::none, gas, U256::from_u64(value)};
}
BuiltBlock valid(uint64_t gas, uint64_t value) {
    return BuiltBlock{true, Fallback::none, gas, U256::from_u64(value)};
}
BuiltBlock failed(Fallback why) {
    return BuiltBlock{false, why, 0, U256{}};
}

Selection pick(BlockSelection policy, const BuiltBlock& local, std::vector<BuiltBlock> builders,
               ExecutionMode mode = ExecutionMode::enabled, bool no_tx_pool = false) {
    return select_block(policy, mode, no_tx_pool, local, builders);
}

TEST(BuilderSelect, GasUsedTakesTheMostGasUnlessUnderATenthOfTheLocalBlocks) {
    auto local = local_block(1'000'000, 5);
    auto s = pick(BlockSelection::gas_used, local, {valid(900'000, 1), valid(2'000'000, 0)});
    EXPECT_EQ(s.winner, 1);
    EXPECT_EQ(s.fallback, Fallback::none);
    // A tie goes to the earlier builder in configured order.
    EXPECT_EQ(
        pick(BlockSelection::gas_used, local, {valid(700, 0), valid(700'000, 0), valid(700'000, 9)})
            .winner,
        1);
    // Under 10% of the local block's gas: the local block (rollup-boost's rule).
    auto low = pick(BlockSelection::gas_used, local, {valid(99'999, 100)});
    EXPECT_EQ(low.winner, -1);
    EXPECT_EQ(low.fallback, Fallback::low_gas);
    EXPECT_EQ(pick(BlockSelection::gas_used, local, {valid(100'000, 0)}).winner, 0);
    // An empty local block never beats a valid builder block.
    EXPECT_EQ(pick(BlockSelection::gas_used, local_block(0, 0), {valid(0, 0)}).winner, 0);
}

TEST(BuilderSelect, BlockValueLetsTheLocalBlockCompete) {
    auto local = local_block(1'000'000, 50);
    EXPECT_EQ(pick(BlockSelection::block_value, local, {valid(1, 40), valid(1, 60)}).winner, 1);
    auto lower = pick(BlockSelection::block_value, local, {valid(5'000'000, 40)});
    EXPECT_EQ(lower.winner, -1);
    EXPECT_EQ(lower.fallback, Fallback::lower_value);
    // Equal value: the local block.
    EXPECT_EQ(pick(BlockSelection::block_value, local, {valid(1, 50)}).winner, -1);
    // 256-bit values compare exactly.
    BuiltBlock big = valid(1, 0);
    big.block_value.be[0] = 1;
    EXPECT_EQ(pick(BlockSelection::block_value, local, {valid(1, 60), big}).winner, 1);
}

TEST(BuilderSelect, PriorityTakesTheFirstValidInConfiguredOrder) {
    auto local = local_block(1'000'000, 50);
    EXPECT_EQ(pick(BlockSelection::priority, local,
                   {failed(Fallback::late), valid(10, 1), valid(9'000'000, 99)})
                  .winner,
              1);
    // Priority keeps no gas floor: the operator ordered the builders.
    EXPECT_EQ(pick(BlockSelection::priority, local, {valid(1, 0)}).winner, 0);
}

TEST(BuilderSelect, NoValidBuilderMeansTheLocalBlockForTheFirstBuildersReason) {
    auto local = local_block(1'000'000, 50);
    for (Fallback why : {Fallback::invalid, Fallback::late, Fallback::hash_mismatch,
                         Fallback::no_payload_id, Fallback::breaker_open}) {
        for (auto policy :
             {BlockSelection::gas_used, BlockSelection::block_value, BlockSelection::priority}) {
            auto s = pick(policy, local, {failed(why), failed(Fallback::late)});
            EXPECT_EQ(s.winner, -1);
            EXPECT_EQ(s.fallback, why) << fallback_name(why);
        }
    }
    EXPECT_EQ(pick(BlockSelection::gas_used, local, {}).fallback, Fallback::no_payload_id);
}

TEST(BuilderSelect, ModesAndNoTxPool) {
    auto local = local_block(1'000'000, 50);
    auto dry = pick(BlockSelection::gas_used, local, {valid(1, 0), valid(2'000'000, 0)},
                    ExecutionMode::dry_run);
    EXPECT_EQ(dry.winner, -1);
    EXPECT_EQ(dry.would_pick, 1);
    EXPECT_EQ(dry.fallback, Fallback::dry_run);
    // Dry-run with nothing valid says why, as enabled would.
    auto dry_late =
        pick(BlockSelection::gas_used, local, {failed(Fallback::late)}, ExecutionMode::dry_run);
    EXPECT_EQ(dry_late.fallback, Fallback::late);
    auto off =
        pick(BlockSelection::gas_used, local, {valid(2'000'000, 0)}, ExecutionMode::disabled);
    EXPECT_EQ(off.winner, -1);
    EXPECT_EQ(off.fallback, Fallback::none);
    auto no_pool =
        pick(BlockSelection::priority, local, {valid(2'000'000, 99)}, ExecutionMode::enabled, true);
    EXPECT_EQ(no_pool.winner, -1);
    EXPECT_EQ(no_pool.fallback, Fallback::no_tx_pool);
}

TEST(BuilderFlow, LocalAlwaysAnswersBuildersGetCopiesOrForksByMode) {
    using enum BuilderFlow;
    auto on = ExecutionMode::enabled;
    EXPECT_EQ(builder_flow(MethodKind::new_payload, false, false, on), boost_sync);
    EXPECT_EQ(builder_flow(MethodKind::forkchoice_updated, false, false, on), boost_sync);
    EXPECT_EQ(builder_flow(MethodKind::forkchoice_updated, true, false, on), fork);
    EXPECT_EQ(builder_flow(MethodKind::forkchoice_updated, true, true, on), boost_sync);
    EXPECT_EQ(builder_flow(MethodKind::get_payload, false, false, on), get_payload);
    for (auto kind : {MethodKind::get_blobs, MethodKind::bodies, MethodKind::capabilities,
                      MethodKind::client_version, MethodKind::other})
        EXPECT_EQ(builder_flow(kind, false, false, on), local_only);
    // Dry-run: builders get every call, as enabled.
    EXPECT_EQ(builder_flow(MethodKind::forkchoice_updated, true, false, ExecutionMode::dry_run),
              fork);
    EXPECT_EQ(builder_flow(MethodKind::get_payload, false, false, ExecutionMode::dry_run),
              get_payload);
    // Disabled: no builder gets anything.
    for (auto kind :
         {MethodKind::new_payload, MethodKind::forkchoice_updated, MethodKind::get_payload}) {
        EXPECT_EQ(builder_flow(kind, true, false, ExecutionMode::disabled), local_only);
        EXPECT_EQ(builder_flow(kind, false, false, ExecutionMode::disabled), local_only);
    }
}

TEST(BuilderSelect, FallbackLabels) {
    EXPECT_EQ(fallback_name(Fallback::hash_mismatch), "hash_mismatch");
    EXPECT_EQ(fallback_name(Fallback::no_tx_pool), "no_tx_pool");
    EXPECT_EQ(fallback_name(Fallback::dry_run), "dry_run");
    for (size_t i = 1; i < static_cast<size_t>(Fallback::count); i++)
        EXPECT_NE(fallback_name(static_cast<Fallback>(i)), "none") << i;
}

}  // namespace
}  // namespace em::engine
