#include "pipeline/builder_policy.h"

namespace em::pipeline {

CallKind BuilderPolicy::route(const engine::MethodInfo* method) const {
    if (!method || settings_.shared->mode() == engine::ExecutionMode::disabled)
        return CallKind::forward;
    switch (method->kind) {
        case engine::MethodKind::new_payload:
        case engine::MethodKind::forkchoice_updated:
        case engine::MethodKind::get_payload:
            return CallKind::builder;
        default:
            return CallKind::forward;
    }
}

bool BuilderPolicy::takes_part(CallKind kind, const NodeView& n) const {
    (void)kind;
    return n.present;
}

int BuilderPolicy::pick(const NodeTable& nodes, uint32_t skip_mask) const {
    int local = static_cast<int>(settings_.local);
    if (skip_mask & (1u << local) || !nodes.node(settings_.local).present) return -1;
    return local;
}

uint64_t BuilderPolicy::deadline_ns(const engine::MethodInfo* method, const NodeView& n,
                                    uint64_t now_ns) const {
    uint64_t ms = method && method->timeout_ms ? method->timeout_ms : eth_timeout_ms_;
    if (n.timeout_ms && n.timeout_ms < ms) ms = n.timeout_ms;
    return now_ns + ms * 1'000'000ull;
}

}  // namespace em::pipeline
