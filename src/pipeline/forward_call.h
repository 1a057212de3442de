// ForwardCall: a request that one node answers: eth_* and other non-engine methods, batches
// without engine calls, and the engine methods routed to the primary (getBlobs, bodies, unknown
// engine_* methods). Sent to the policy's pick (the primary); if that node fails before
// answering (transport error, HTTP error, malformed answer, or null for getBlobs/bodies when
// another node may have the data), to the next usable node, until none is left or the client
// went away. A timeout is retried only for read-only calls (eth_* reads: their deadline is short,
// and asking another node is safe); otherwise it already spent the caller's patience.
//
// A Route (pipeline/policy.h; the rpc role's) narrows the nodes each attempt may go to (at the
// head, a filter's node), sets the attempt's deadline, answers under the client's id bytes and
// asks for a `learned` action with a good answer's result (to cache it, or a filter's node).
// Answering under the client's id, it sends the node jsonrpc::upstream_id in place of a
// client's id that some EL refuses (anvil and reth take no 1e0 or 18446744073709551617).
//
// Hedging (a Route with `hedge`, the rpc role's idempotent reads): with the first attempt the
// call asks to be woken after the policy's HedgePlanner delay (the method's p95); if no answer
// came by then and the planner's budget allows, a second copy goes to another node that
// qualifies. The first good answer wins; the other copy's reply is ignored when it comes (the
// call stays in its pool until then, and until the wake, so no stale event finds a reused
// call). A failure while the other copy is out waits for it before any retry.
//
// States: idle -> waiting (one or two attempts on the wire) -> answered (the client has its
// answer; a losing copy or the wake is still due) -> done.
//
// Threads: the owning shard's thread. No I/O: events in, actions out (pipeline/actions.h).
#pragma once

#include "base/buffer.h"
#include "pipeline/fanout.h"

namespace em::pipeline {

class ForwardCall {
  public:
    enum class State : uint8_t { idle, waiting, answered, done };

    ForwardCall(CallEnv& env, size_t body_bytes_max);

    /// `ids`: the raw ids expecting an answer, '\n'-separated (a batch: several; a
    /// notification: none). `method`: the engine method routed to the primary, if any.
    /// `read_only`: a node that does not answer in time is not the end (engine::read_only).
    void start(std::string_view body, std::string_view ids, bool batch, size_t method_slot,
               const engine::MethodInfo* method, bool read_only, uint64_t received_ns,
               uint64_t now_ns, Actions& out, const Route& route = {});
    /// `client_waiting`: false once the client went away (no more attempts).
    void on_reply(const NodeReply& reply, bool client_waiting, uint64_t now_ns, Actions& out);
    /// The wake it asked for (Actions::wake): time to hedge, if the first copy is still out.
    void on_wake(bool client_waiting, uint64_t now_ns, Actions& out);

    State state() const { return state_; }
    bool done() const { return state_ == State::done; }
    /// Between calls: buffers grown past call_buffer_keep_bytes go back to a small size.
    void release_grown_buffers() {
        for (ByteBuffer* b : {&body_, &ids_, &answer_, &last_error_, &key_}) {
            b->release_if_grown(call_buffer_keep_bytes, 1024);
        }
    }
    /// The node the (first) attempt on the wire went to (-1 none).
    int node() const { return node_; }

  private:
    void attempt(uint64_t now_ns, Actions& out);
    /// Sends the body to `node` (an attempt or a hedge's copy) with the route's deadline.
    void send_to(int node, uint64_t now_ns, Actions& out);
    /// True when the answer is relayed (good, or a notification's empty answer).
    bool relay(const NodeReply& reply, char* why, size_t why_size, bool* retry, uint64_t now_ns,
               Actions& out);
    void answer_failure(std::string_view message, uint64_t now_ns, Actions& out);
    void finish(uint64_t now_ns);
    /// A reply the call no longer needs (the loser of a hedge): done once nothing is due.
    void settle();
    /// After a failed attempt: the other copy is still out (wait for it), or retry / answer.
    void after_failure(bool retry, bool client_waiting, uint64_t now_ns, Actions& out);
    /// A good single answer: relayed as it is, or under the client's id; learned if asked.
    void answer_good(std::string_view body, const jsonrpc::Response& parsed, size_t node,
                     Actions& out);

    CallEnv& env_;
    State state_ = State::idle;
    ByteBuffer body_;
    ByteBuffer ids_;     ///< raw ids of the entries expecting an answer, '\n'-separated
    ByteBuffer answer_;  ///< error answers are built here
    ByteBuffer last_error_;
    ByteBuffer key_;  ///< route_.key's bytes
    Route route_;
    bool batch_ = false;
    bool own_id_ = false;  ///< the node was sent jsonrpc::upstream_id, not the client's id
    bool read_only_ = false;
    size_t method_slot_ = 0;
    const engine::MethodInfo* method_ = nullptr;
    uint32_t tried_mask_ = 0;
    int node_ = -1;
    int hedge_node_ = -1;    ///< the second copy's node while it is out (-1 none)
    uint8_t on_wire_ = 0;    ///< attempts sent and not yet replied to (at most 2)
    bool wake_due_ = false;  ///< an Actions::wake not yet delivered
    uint64_t received_ns_ = 0;
    uint64_t upstream_ns_ = 0;  ///< time spent waiting for nodes, over every attempt
};

}  // namespace em::pipeline
