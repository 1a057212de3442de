#include "pipeline/mux_policy.h"

namespace em::pipeline {

CallKind MuxPolicy::route(const engine::MethodInfo* method) const {
    if (!method) return CallKind::forward;
    switch (method->strategy) {
        case engine::Strategy::vote:
            return CallKind::vote;
        case engine::Strategy::best_of:
            return CallKind::best_of;
        case engine::Strategy::merge_flat:
            return CallKind::merge;
        case engine::Strategy::intersect:
            return CallKind::intersect;
        case engine::Strategy::primary:
            return CallKind::forward;
    }
    return CallKind::forward;
}

bool MuxPolicy::takes_part(CallKind kind, const NodeView& n) const {
    if (!n.present) return false;
    switch (kind) {
        case CallKind::vote:
            return true;  // mirrors too: they must follow the chain
        case CallKind::merge:
        case CallKind::intersect:
        case CallKind::best_of:  // the builders are named by the payload id, not by the policy
        case CallKind::forward:
        case CallKind::broadcast:
            return n.voter;
        case CallKind::builder:  // the builder role's calls only
            return false;
    }
    return false;
}

bool MuxPolicy::verify_block_hash(const engine::MethodInfo& method) const {
    return config_.verify_block_hash && method.kind == engine::MethodKind::new_payload;
}

uint64_t MuxPolicy::deadline_ns(const engine::MethodInfo* method, const NodeView& n,
                                uint64_t now_ns) const {
    uint64_t ms = method && method->timeout_ms ? method->timeout_ms : config_.eth_timeout_ms;
    if (n.timeout_ms && n.timeout_ms < ms) ms = n.timeout_ms;
    if (config_.timeout_cap_ms && config_.timeout_cap_ms < ms) ms = config_.timeout_cap_ms;
    return now_ns + ms * 1'000'000ull;
}

int MuxPolicy::pick(const NodeTable& nodes, uint32_t skip_mask) const {
    NodeView views[nodes_max];
    auto usable = [&](int i) {
        return i >= 0 && !(skip_mask & (1u << i)) && views[i].present && views[i].voter;
    };
    for (size_t i = 0; i < nodes_max; i++) views[i] = nodes.node(i);
    int primary = nodes.primary();
    if (primary >= 0 && static_cast<size_t>(primary) < nodes_max && usable(primary) &&
        views[primary].health != Health::dead) {
        return primary;
    }
    // Failover order: synced voters by latency, then syncing, then unknown, then anything.
    for (Health want : {Health::synced, Health::syncing, Health::unknown, Health::dead}) {
        int best = -1;
        for (size_t i = 0; i < nodes_max; i++) {
            int k = static_cast<int>(i);
            if (!usable(k) || views[i].health != want) continue;
            if (best < 0 || views[i].latency_ewma_us < views[best].latency_ewma_us) best = k;
        }
        if (best >= 0) return best;
    }
    return -1;
}

}  // namespace em::pipeline
