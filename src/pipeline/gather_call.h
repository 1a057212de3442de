// GatherCall: the engine calls whose answer is built from every node's answer once all are in:
//  - best_of (engine_getPayload*): sent to the nodes that built the payload, each with its own
//    payloadId (our id maps to theirs, engine/payload_id_map.h); the best payload wins
//    (engine/best_of.h), else a node's JSON-RPC error is relayed;
//  - merge (engine_getClientVersionV1): the voters' lists, merged into one flat array;
//  - intersect (engine_exchangeCapabilities): the methods every voter supports;
//  - broadcast (the rpc role's eth_sendRawTransaction): to every node that takes part; the first
//    success is answered at once (a node's "already known" counts as one, answered with the
//    transaction's hash), the other nodes' answers only counted; if none succeeds, the first
//    JSON-RPC error that came (under the client's id), else every node's failure;
//  - agree (the rpc role's [rpc.agree] reads): the request to the nodes the gate chose, each a
//    different client; once all answered, the result if every one is the same JSON value
//    (jsonrpc/json_equal.h), else -32000 naming the two nodes that differ and where, and a
//    disagreement logged. A node that fails or answers an error means no agreement either;
//  - shadow (the rpc role's shadow_ratio sample): the same to two nodes, the first the read's
//    own; the client gets the first node's answer as soon as it comes (the second's only if
//    the first fails), and once both results are in they are compared: a difference is
//    counted and logged, never shown to the client.
//
// States: idle -> collecting -> done (answered when the last answer arrives); a broadcast
// answered early waits in `answered` for the rest: idle -> collecting -> answered -> done.
//
// Threads: the owning shard's thread. No I/O: events in, actions out (pipeline/actions.h).
#pragma once

#include <span>

#include "engine/payload_id_map.h"
#include "pipeline/fanout.h"

namespace em::pipeline {

class GatherCall {
  public:
    enum class State : uint8_t { idle, collecting, answered, done };

    GatherCall(CallEnv& env, size_t body_bytes_max);

    /// best_of: one call per builder, each carrying that node's payloadId.
    void start_best_of(const engine::MethodInfo& method, std::string_view id,
                       std::span<const engine::NodePayloadId> builders, uint64_t received_ns,
                       uint64_t now_ns, Actions& out);
    /// merge / intersect: `body` to every node that takes part in `kind`.
    void start_merge(CallKind kind, const engine::MethodInfo& method, std::string_view id,
                     std::string_view body, uint64_t received_ns, uint64_t now_ns, Actions& out);
    /// broadcast: `body` (a request with the client's id) to every node that takes part in a
    /// broadcast; route.tx_hash answers a node's "already known".
    void start_broadcast(std::string_view id, std::string_view body, const Route& route,
                         uint64_t received_ns, uint64_t now_ns, Actions& out);
    /// agree: `body` (with the client's id) to each node of `nodes`; `method` names it in
    /// the answers.
    void start_agree(std::string_view method, std::string_view id, std::string_view body,
                     const Route& route, std::span<const uint8_t> nodes, uint64_t received_ns,
                     uint64_t now_ns, Actions& out);
    /// shadow: `body` to nodes[0] (the read's) and nodes[1] (the shadow).
    void start_shadow(std::string_view method, std::string_view id, std::string_view body,
                      const Route& route, std::span<const uint8_t> nodes, uint64_t received_ns,
                      uint64_t now_ns, Actions& out);
    void on_reply(const NodeReply& reply, uint64_t now_ns, Actions& out);

    State state() const { return state_; }
    bool done() const { return state_ == State::done; }
    /// Between calls: buffers grown past call_buffer_keep_bytes go back to a small size.
    void release_grown_buffers() {
        fan_.release_grown_buffers();
        result_.release_if_grown(call_buffer_keep_bytes, 1024);
    }

  private:
    /// The slots that answered, in node order: those with a result, and the first error.
    struct Answered {
        size_t results[nodes_max];
        size_t count = 0;
        int first_error = -1;
    };
    Answered answered() const;
    void finish(uint64_t now_ns, Actions& out);
    void answer_best_of(uint64_t now_ns, Actions& out);
    void answer_merge(uint64_t now_ns, Actions& out);
    void on_broadcast_reply(const FanOut::Slot& slot, size_t node, uint64_t now_ns, Actions& out);
    void answer_broadcast_failure(uint64_t now_ns, Actions& out);
    void answer_agree(uint64_t now_ns, Actions& out);
    /// agree and shadow's start: the method's name kept, the nodes joined and sent to.
    void start_compared(std::string_view method, std::string_view id, std::string_view body,
                        const Route& route, std::span<const uint8_t> nodes, uint64_t received_ns,
                        uint64_t now_ns, Actions& out);
    void on_shadow_reply(const FanOut::Slot& slot, size_t node, uint64_t now_ns, Actions& out);
    /// shadow: the client's answer from `slot` (its result, or its JSON-RPC error); false when
    /// the node gave neither.
    bool answer_shadowed(const FanOut::Slot& slot, uint64_t now_ns, Actions& out);
    /// shadow: both results in: counted, and a difference logged.
    void compare_shadow(Actions& out);
    /// agree: the disagreement's answer (-32000 `message`), counted and logged.
    void disagree(std::string_view message, uint64_t now_ns, Actions& out);
    void answer_result(std::string_view result_json, uint64_t now_ns, Actions& out);
    void answer_raw(std::string_view response_json, uint64_t now_ns, Actions& out);
    void answer_error(int code, std::string_view message, uint64_t now_ns, Actions& out);

    CallEnv& env_;
    FanOut fan_;
    CallKind kind_ = CallKind::merge;
    const engine::MethodInfo* method_ = nullptr;
    State state_ = State::idle;
    uint64_t received_ns_ = 0;
    ByteBuffer result_;
    int first_error_ = -1;       ///< broadcast: the node whose JSON-RPC error came first
    bool notification_ = false;  ///< broadcast: the request had no id (no answer at all)
    bool agree_ = false;         ///< kind_ merge with agree's answer
    bool shadow_ = false;        ///< shadow: the read's node and a shadow, compared
    uint8_t shadow_nodes_[2] = {};
    char agree_method_[64] = {};
    char agree_message_[512] = {};  ///< agree: the disagreement (the logged line's bytes)
    char tx_hash_[72] = {};         ///< broadcast: "0x" + 64 hex digits ("" unknown)
    size_t tx_hash_bytes_ = 0;
};

}  // namespace em::pipeline
