// The builder role's decisions as pure functions (issue 15): its execution modes, its block
// selection policies, and which getPayload answer reaches the sequencer's op-node.
//
// Any thread; no I/O, no clock, no allocation. The names parse as rollup-boost spells them
// (`dry-run` or `dry_run`, `gas-used` ...), so its users' flags and debug calls keep working.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "base/result.h"
#include "base/u256.h"
#include "engine/methods.h"

namespace em::engine {

/// What the builders get: everything (enabled), everything but their blocks are only validated
/// and counted (dry_run), or nothing (disabled).
enum class ExecutionMode : uint8_t { enabled, dry_run, disabled };

/// Which valid builder block wins (the local block is the fallback of each).
enum class BlockSelection : uint8_t {
    gas_used,     ///< most gas, unless under 10% of the local block's (rollup-boost's default)
    block_value,  ///< highest blockValue, the local block competing
    priority,     ///< the first valid builder in configured order
};

/// `enabled`, `dry-run` / `dry_run`, `disabled`; the error names the value and the choices.
[[nodiscard]] Result<ExecutionMode> parse_execution_mode(std::string_view text);
/// `gas-used`, `block-value`, `priority` (`_` for `-` too); the error names the choices.
[[nodiscard]] Result<BlockSelection> parse_block_selection(std::string_view text);
/// The canonical spelling (`dry-run`, `gas-used`, ...).
std::string_view execution_mode_name(ExecutionMode mode);
std::string_view block_selection_name(BlockSelection selection);

/// How the builder role carries out one engine call from op-node. The local EL answers every
/// call, and its answer is never held for a builder's.
enum class BuilderFlow : uint8_t {
    local_only,   ///< the local EL alone (eth_*, getBlobs, capabilities...; everything when
                  ///< disabled)
    boost_sync,   ///< the local EL answers; every synced builder gets a copy whose answer
                  ///< nobody waits for (fcU without attributes, newPayload, fcU with noTxPool)
    fork,         ///< fcU with attributes: the local EL and every healthy builder in parallel,
                  ///< the local answer (its payloadId) returned at once, builders' ids mapped
                  ///< to it as they come (engine::PayloadIdMap::adopt / attach)
    get_payload,  ///< the local EL and the builders mapped to its id under one deadline, each
                  ///< builder block hash-checked and newPayload'ed on the local EL, then
                  ///< select_block
};

/// The flow of an engine call of `kind` (`has_attributes`, `no_tx_pool`: a forkchoiceUpdated's
/// payloadAttributes and its OP noTxPool) in `mode`. Dry-run routes as enabled (its builders
/// get every call); select_block keeps its blocks from op-node.
BuilderFlow builder_flow(MethodKind kind, bool has_attributes, bool no_tx_pool, ExecutionMode mode);

/// Why a getPayload answered the local block although builders were asked; one label of
/// `enginemux_builder_fallbacks_total{reason}` each (builder_fallback_name). Per builder
/// (BuiltBlock::failure) or for the whole answer (Selection::fallback).
enum class Fallback : uint8_t {
    none,           ///< a builder block was used, or no builder was asked (disabled)
    invalid,        ///< garbage, a wrong id, or the local EL did not say VALID
    late,           ///< not answered and validated within the getPayload deadline
    hash_mismatch,  ///< its block hash does not match its contents (our own check)
    no_payload_id,  ///< the builder never gave an id for these attributes
    breaker_open,   ///< the builder is benched (its circuit breaker)
    dry_run,        ///< the mode returns the local block always
    no_tx_pool,     ///< the attributes said noTxPool: only the local block may be used
    low_gas,        ///< gas-used: the best builder block used < 10% of the local block's gas
    lower_value,    ///< block-value: no builder block was worth more than the local one
    wrong_parent,   ///< its block is not the child of the fork's head at its timestamp
    count
};

/// The metric label of a fallback reason ("hash_mismatch", ...).
std::string_view fallback_name(Fallback reason);

/// One block a getPayload may answer: the local EL's or a builder's, as the caller found it.
struct BuiltBlock {
    /// A builder's block: answered in time, its hash checked, VALID on the local EL.
    /// (The local block is always usable.)
    bool valid = false;
    Fallback failure = Fallback::none;  ///< why a builder's block is not valid
    uint64_t gas_used = 0;
    U256 block_value;
};

/// What a getPayload answers.
struct Selection {
    int winner = -1;  ///< index into the builders, or -1: the local block
    /// The builder enabled mode would have picked (dry-run counts it; -1: the local block).
    int would_pick = -1;
    Fallback fallback = Fallback::none;  ///< why the local block, when winner is -1
};

/// The block to answer: `builders` in configured order (priority's order, and the tie-break
/// of the others: the earliest). Disabled: the local block, no fallback (nobody was asked).
/// noTxPool: the local block (no_tx_pool). No valid builder: the local block, for the first
/// builder's failure (no_payload_id without builders). Otherwise the policy's pick among the
/// valid ones (gas-used: the most gas unless under 10% of the local block's: low_gas;
/// block-value: the highest, strictly above the local block's: lower_value; priority: the
/// first valid); dry-run then answers the local block (dry_run) and reports the pick.
Selection select_block(BlockSelection policy, ExecutionMode mode, bool no_tx_pool,
                       const BuiltBlock& local, std::span<const BuiltBlock> builders);

}  // namespace em::engine
