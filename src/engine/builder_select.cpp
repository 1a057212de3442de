#include "engine/builder_select.h"

namespace em::engine {

namespace {

/// `text` equals `name` with '_' accepted for each '-'.
bool same_name(std::string_view text, std::string_view name) {
    if (text.size() != name.size()) return false;
    for (size_t i = 0; i < text.size(); i++) {
        char t = text[i] == '_' ? '-' : text[i];
        if (t != name[i]) return false;
    }
    return true;
}

}  // namespace

Result<ExecutionMode> parse_execution_mode(std::string_view text) {
    for (auto mode : {ExecutionMode::enabled, ExecutionMode::dry_run, ExecutionMode::disabled}) {
        if (same_name(text, execution_mode_name(mode))) return mode;
    }
    return failf(Errc::invalid_input,
                 "execution mode '%.*s' is not one of enabled, dry-run (or dry_run), disabled",
                 static_cast<int>(text.size()), text.data());
}

Result<BlockSelection> parse_block_selection(std::string_view text) {
    for (auto s :
         {BlockSelection::gas_used, BlockSelection::block_value, BlockSelection::priority}) {
        if (same_name(text, block_selection_name(s))) return s;
    }
    return failf(Errc::invalid_input,
                 "block selection policy '%.*s' is not one of gas-used, block-value, priority",
                 static_cast<int>(text.size()), text.data());
}

std::string_view execution_mode_name(ExecutionMode mode) {
    switch (mode) {
        case ExecutionMode::enabled:
            return "enabled";
        case ExecutionMode::dry_run:
            return "dry-run";
        case ExecutionMode::disabled:
            return "disabled";
    }
    return "enabled";
}

std::string_view block_selection_name(BlockSelection selection) {
    switch (selection) {
        case BlockSelection::gas_used:
            return "gas-used";
        case BlockSelection::block_value:
            return "block-value";
        case BlockSelection::priority:
            return "priority";
    }
    return "gas-used";
}

BuilderFlow builder_flow(MethodKind kind, bool has_attributes, bool no_tx_pool,
                         ExecutionMode mode) {
    if (mode == ExecutionMode::disabled) return BuilderFlow::local_only;
    switch (kind) {
        case MethodKind::new_payload:
            return BuilderFlow::boost_sync;
        case MethodKind::forkchoice_updated:
            // noTxPool: the local block is the only one op-node may get, so no builder builds;
            // the builders still follow the chain.
            return has_attributes && !no_tx_pool ? BuilderFlow::fork : BuilderFlow::boost_sync;
        case MethodKind::get_payload:
            return BuilderFlow::get_payload;
        case MethodKind::get_blobs:
        case MethodKind::bodies:
        case MethodKind::capabilities:
        case MethodKind::client_version:
        case MethodKind::other:
            return BuilderFlow::local_only;
    }
    return BuilderFlow::local_only;
}

std::string_view fallback_name(Fallback reason) {
    switch (reason) {
        case Fallback::none:
            return "none";
        case Fallback::invalid:
            return "invalid";
        case Fallback::late:
            return "late";
        case Fallback::hash_mismatch:
            return "hash_mismatch";
        case Fallback::no_payload_id:
            return "no_payload_id";
        case Fallback::breaker_open:
            return "breaker_open";
        case Fallback::dry_run:
            return "dry_run";
        case Fallback::no_tx_pool:
            return "no_tx_pool";
        case Fallback::low_gas:
            return "low_gas";
        case Fallback::wrong_parent:
            return "wrong_parent";
        case Fallback::lower_value:
            return "lower_value";
        case Fallback::count:
            break;
    }
    return "none";
}

namespace {

/// The policy's pick among the valid builder blocks (-1 with a reason: the local block).
Selection pick(BlockSelection policy, const BuiltBlock& local,
               std::span<const BuiltBlock> builders) {
    Selection s;
    int best = -1;
    for (size_t i = 0; i < builders.size(); i++) {
        const BuiltBlock& b = builders[i];
        if (!b.valid) continue;
        if (best < 0) {
            best = static_cast<int>(i);
            if (policy == BlockSelection::priority) break;
            continue;
        }
        const BuiltBlock& held = builders[static_cast<size_t>(best)];
        bool better = policy == BlockSelection::gas_used ? b.gas_used > held.gas_used
                                                         : b.block_value > held.block_value;
        if (better) best = static_cast<int>(i);
    }
    if (best < 0) {
        s.fallback = builders.empty() ? Fallback::no_payload_id : builders[0].failure;
        if (s.fallback == Fallback::none) s.fallback = Fallback::invalid;
        return s;
    }
    const BuiltBlock& chosen = builders[static_cast<size_t>(best)];
    // rollup-boost's rule: a builder block with under 10% of the local block's gas is not used.
    if (policy == BlockSelection::gas_used && chosen.gas_used < local.gas_used / 10) {
        s.fallback = Fallback::low_gas;
        return s;
    }
    if (policy == BlockSelection::block_value && !(chosen.block_value > local.block_value)) {
        s.fallback = Fallback::lower_value;
        return s;
    }
    s.winner = best;
    return s;
}

}  // namespace

Selection select_block(BlockSelection policy, ExecutionMode mode, bool no_tx_pool,
                       const BuiltBlock& local, std::span<const BuiltBlock> builders) {
    Selection s;
    if (mode == ExecutionMode::disabled) return s;
    if (no_tx_pool) {
        s.fallback = Fallback::no_tx_pool;
        return s;
    }
    s = pick(policy, local, builders);
    s.would_pick = s.winner;
    if (mode == ExecutionMode::dry_run && s.winner >= 0) {
        s.winner = -1;
        s.fallback = Fallback::dry_run;
    }
    return s;
}

}  // namespace em::engine
