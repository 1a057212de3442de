#include "pipeline/builder_shared.h"

#include "base/log.h"

namespace em::pipeline {

engine::ExecutionMode BuilderShared::switch_mode(engine::ExecutionMode mode, std::string_view who) {
    engine::ExecutionMode before = mode_.exchange(mode, std::memory_order_acq_rel);
    std::string_view from = engine::execution_mode_name(before);
    std::string_view to = engine::execution_mode_name(mode);
    EM_LOG_FIELDS(LogLevel::info,
                  (log_field("execution_mode", to), log_field("was", from), log_field("by", who)),
                  "builder execution mode %.*s -> %.*s (by %.*s)", static_cast<int>(from.size()),
                  from.data(), static_cast<int>(to.size()), to.data(), static_cast<int>(who.size()),
                  who.data());
    return before;
}

bool BuilderShared::admit_fork(size_t node, uint64_t now_ns) {
    if (!breakers_.admits(node, now_ns)) return false;
    breakers_.sending(node, now_ns);  // open past its cooldown: this fork is the probe
    return true;
}

bool BuilderShared::block_valid(size_t node) {
    // Closed: a good block does not end the run (the window does), see the header.
    if (breakers_.state(node) != rpc::BreakerState::half_open) return false;
    return breakers_.succeeded(node);
}

}  // namespace em::pipeline
