// The builder role's policy (issue 15: an OP Stack sequencer's sidecar). Node slot
// BuilderSettings::local is the local EL (op-geth / op-reth, [l2]); every other present slot is
// an external builder ([[builders]]). newPayload, forkchoiceUpdated and getPayload become
// builder calls (pipeline/builder_call.h) unless the execution mode (BuilderShared::mode(),
// read per request: it is switched at run time) is disabled; every other
// request, and all of them when disabled, is forwarded to the local EL alone: a builder never
// answers op-node for anything but a block it built. Deadlines: the method's spec timeout capped
// by the node's own (the getPayload deadline is the builder call's).
//
// Threads: the owning shard's thread; immutable after construction. No I/O.
#pragma once

#include "base/assert.h"
#include "pipeline/builder_call.h"
#include "pipeline/policy.h"

namespace em::pipeline {

class BuilderPolicy final : public Policy {
  public:
    /// `eth_timeout_ms`: the deadline of a forwarded non-engine call (eth_*).
    /// `settings.shared` must not be null.
    BuilderPolicy(const BuilderSettings& settings, uint32_t eth_timeout_ms)
        : settings_(settings), eth_timeout_ms_(eth_timeout_ms) {
        EM_ASSERT(settings_.shared);
    }
    CallKind route(const engine::MethodInfo* method) const override;
    bool takes_part(CallKind kind, const NodeView& n) const override;
    /// Only the local EL's answers count (a builder never votes).
    bool votes(const NodeView& n) const override { return n.present; }
    /// The local EL, whatever its health (no builder takes its place).
    int pick(const NodeTable& nodes, uint32_t skip_mask) const override;
    engine::Quorum quorum() const override { return {}; }
    /// op-node's newPayloads are the local EL's to judge (builder blocks are checked by the
    /// builder call itself).
    bool verify_block_hash(const engine::MethodInfo& method) const override {
        (void)method;
        return false;
    }
    uint64_t deadline_ns(const engine::MethodInfo* method, const NodeView& n,
                         uint64_t now_ns) const override;
    const BuilderSettings* builder() const override { return &settings_; }

  private:
    BuilderSettings settings_;
    uint32_t eth_timeout_ms_;
};

}  // namespace em::pipeline
