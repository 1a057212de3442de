// The mux role's policy (one CL, N ELs): engine methods follow the method table's strategy
// (engine/methods.h); vote calls go to every node (mirrors listen, voters vote), merges to the
// voters only; anything else goes to the primary and fails over to the next usable voter
// (synced by latency, then syncing, then unknown, then dead). Deadlines: the method's spec
// timeout (eth_timeout_ms for non-engine calls), capped by the node's own and the global cap;
// a read-only call (engine::read_only) whose node does not answer in time is asked of the next
// node (the timeout reports the node, so later calls skip it at once).
//
// Threads: the owning shard's thread; changed only by a reload, between events. No I/O.
#pragma once

#include "pipeline/policy.h"

namespace em::pipeline {

struct MuxPolicyConfig {
    engine::Quorum quorum;
    bool verify_block_hash = true;
    uint32_t timeout_cap_ms = 0;  ///< global per-call cap (0 = the spec's timeouts)
    /// Deadline of one attempt of a non-engine call (eth_*); a read-only one is then asked of
    /// the next node.
    uint32_t eth_timeout_ms = 1'000;
};

class MuxPolicy final : public Policy {
  public:
    explicit MuxPolicy(const MuxPolicyConfig& config) : config_(config) {}
    /// A reload's settings: calls routed and votes counted from now on use them.
    void set_config(const MuxPolicyConfig& config) { config_ = config; }
    CallKind route(const engine::MethodInfo* method) const override;
    bool takes_part(CallKind kind, const NodeView& n) const override;
    bool votes(const NodeView& n) const override { return n.present && n.voter; }
    int pick(const NodeTable& nodes, uint32_t skip_mask) const override;
    engine::Quorum quorum() const override { return config_.quorum; }
    bool verify_block_hash(const engine::MethodInfo& method) const override;
    uint64_t deadline_ns(const engine::MethodInfo* method, const NodeView& n,
                         uint64_t now_ns) const override;

  private:
    MuxPolicyConfig config_;
};

}  // namespace em::pipeline
