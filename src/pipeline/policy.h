// A role's policy: how the pipeline carries out each request. The calls (pipeline/*_call.h) and
// the core (pipeline/core.h) are the same for every role; a role differs only in its policy
// (which call a method becomes, which nodes take part and vote, where a forwarded call goes)
// and its listener. MuxPolicy (pipeline/mux_policy.h) is the mux role's.
//
// Threads: the owning shard's thread; a policy is immutable after construction. No I/O.
#pragma once

#include <cstdint>
#include <string_view>

#include "engine/methods.h"
#include "engine/vote.h"
#include "pipeline/hedge.h"
#include "pipeline/nodes.h"

namespace em::pipeline {

/// The kinds of call the core runs.
enum class CallKind : uint8_t {
    vote,       ///< every node that takes part gets it (in order); the voters' answers are voted
    best_of,    ///< the nodes that built the payload, each with its own payloadId; best answer wins
    merge,      ///< the voters; one flat array of all their entries
    intersect,  ///< the voters; the intersection of their lists
    forward,    ///< one node at a time: the primary, then the next usable node if it fails
    broadcast,  ///< every node that takes part; the first success answers (rpc: transactions)
    builder,    ///< the builder role's engine calls (pipeline/builder_call.h)
};

struct BuilderSettings;

/// What the core learns from a forwarded call's good answer, for its gate (the rpc role).
enum class Learn : uint8_t {
    nothing,
    cache,           ///< store the result under Route::key (a non-null result)
    cache_if_final,  ///< the same once the block the result names is final
    filter_node,     ///< the result is a filter id the answering node created
};

/// How one forwarded request is routed beyond the policy's default pick (the rpc role's reads;
/// a default Route is the mux's behaviour).
struct Route {
    /// Only nodes at the head (the policy says how far behind the highest head that is).
    bool at_head = false;
    /// at_head: only these node slots (bit i: slot i), the ones at the head the CL chose
    /// (pipeline/cl_head.h); 0: judged by the probes' heads.
    uint32_t head_nodes = 0;
    /// Only nodes whose head is unknown or at least this block (-1: any node).
    int64_t min_head = -1;
    int sticky = -1;  ///< only this node (a filter's), -1: any
    /// This node first when it qualifies for the rest of the route (a sticky client's last
    /// node, a split eth_getLogs piece's share), else the usual pick; -1: none.
    int prefer = -1;
    /// Only nodes whose head is known and at least this block, strictly (unlike min_head, not
    /// relaxed when it is past every head): a sticky client's newest block served. -1: none.
    int64_t floor_head = -1;
    /// The client a sticky read is for (Origin::sticky; 0: none): a good answer is reported
    /// to the gate (Gate::served) with the node that gave it.
    uint64_t sticky_client = 0;
    uint32_t timeout_ms = 0;   ///< the attempt's deadline (0: the policy's deadline_ns)
    bool rewrite_id = false;   ///< answer under the client's id bytes, not the node's echo
    uint8_t metrics_slot = 0;  ///< the rpc method's counters (ShardMetrics::rpc)
    bool counted = false;      ///< count errors and retries in ShardMetrics::rpc
    Learn learn = Learn::nothing;
    std::string_view key;      ///< learn: the cache key (valid during the call's start)
    std::string_view tx_hash;  ///< broadcast: the transaction's hash ("already known" answers)
    /// An idempotent read: a second copy may go to another node when the first is slow
    /// (Policy::hedges() decides when and how often).
    bool hedge = false;
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
    /// The node a forwarded call with `route` goes to, not in skip_mask; -1 when none is left.
    /// By default the route is ignored (pick).
    virtual int pick_route(const NodeTable& nodes, uint32_t skip_mask, const Route& route) const {
        (void)route;
        return pick(nodes, skip_mask);
    }
    /// Whether a batch without engine calls is carried out element by element (each routed on
    /// its own, the answers put back in order) rather than sent whole to one node.
    virtual bool split_batches() const { return false; }
    /// The hedging planner of this shard (a Route with `hedge` asks it); null: no hedging.
    virtual rpc::HedgePlanner* hedges() const { return nullptr; }
    /// The builder role's settings (CallKind::builder calls read them); null in other roles.
    virtual const BuilderSettings* builder() const { return nullptr; }
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
    int pick_route(const NodeTable& nodes, uint32_t skip_mask, const Route& route) const override {
        return inner_.pick_route(nodes, skip_mask, route);
    }
    bool split_batches() const override { return inner_.split_batches(); }
    rpc::HedgePlanner* hedges() const override { return inner_.hedges(); }
    const BuilderSettings* builder() const override { return inner_.builder(); }

  private:
    const Policy& inner_;
};

}  // namespace em::pipeline
