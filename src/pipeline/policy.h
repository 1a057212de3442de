// A role's policy: how the pipeline carries out each request. The calls (pipeline/*_call.h) and
// the core (pipeline/core.h) are the same for every role; a role differs only in its policy
// (which call a method becomes, which nodes take part and vote, where a forwarded call goes)
// and its listener. MuxPolicy (pipeline/mux_policy.h) is the mux role's.
//
// Threads: the owning shard's thread; a policy is immutable after construction. No I/O.
#pragma once

#include <cstdint>

#include "engine/methods.h"
#include "engine/vote.h"
#include "pipeline/nodes.h"

namespace em::pipeline {

/// The kinds of call the core runs.
enum class CallKind : uint8_t {
    vote,       ///< every node that takes part gets it (in order); the voters' answers are voted
    best_of,    ///< the nodes that built the payload, each with its own payloadId; best answer wins
    merge,      ///< the voters; one flat array of all their entries
    intersect,  ///< the voters; the intersection of their lists
    forward,    ///< one node at a time: the primary, then the next usable node if it fails
};

class Policy {
  public:
    virtual ~Policy() = default;
    /// The call for an engine method (nullptr: any other method or a plain batch).
    virtual CallKind route(const engine::MethodInfo* method) const = 0;
    /// Whether node `n` gets a call of this kind.
    virtual bool takes_part(CallKind kind, const NodeView& n) const = 0;
    /// Whether node `n`'s answer counts in a vote.
    virtual bool votes(const NodeView& n) const = 0;
    /// The node a forwarded call goes to, not in skip_mask; -1 when none is left.
    virtual int pick(const NodeTable& nodes, uint32_t skip_mask) const = 0;
    virtual engine::Quorum quorum() const = 0;
    /// Whether the block hash of this newPayload is rebuilt and checked before answers count.
    virtual bool verify_block_hash(const engine::MethodInfo& method) const = 0;
    /// Deadline of a call of `method` (nullptr: non-engine) to node `n`, from `now_ns`.
    virtual uint64_t deadline_ns(const engine::MethodInfo* method, const NodeView& n,
                                 uint64_t now_ns) const = 0;
};

/// A policy that does what another does, for a role (or a test) that changes only part of it:
/// override the members that differ. `inner` must outlive it (it may be a member of the derived
/// class: it is not used during construction).
class ForwardingPolicy : public Policy {
  public:
    explicit ForwardingPolicy(const Policy& inner) : inner_(inner) {}
    CallKind route(const engine::MethodInfo* method) const override { return inner_.route(method); }
    bool takes_part(CallKind kind, const NodeView& n) const override {
        return inner_.takes_part(kind, n);
    }
    bool votes(const NodeView& n) const override { return inner_.votes(n); }
    int pick(const NodeTable& nodes, uint32_t skip_mask) const override {
        return inner_.pick(nodes, skip_mask);
    }
    engine::Quorum quorum() const override { return inner_.quorum(); }
    bool verify_block_hash(const engine::MethodInfo& method) const override {
        return inner_.verify_block_hash(method);
    }
    uint64_t deadline_ns(const engine::MethodInfo* method, const NodeView& n,
                         uint64_t now_ns) const override {
        return inner_.deadline_ns(method, n, now_ns);
    }

  private:
    const Policy& inner_;
};

}  // namespace em::pipeline
