// FanOut: the part every call sent to several nodes at once shares (votes, best-of, merges):
// one slot per node with the node's own request (if it differs), its answer bytes, what the
// answer parsed to, and why it failed; the sends; and the bookkeeping of a reply (latency and
// error metrics, the node's health report, engine suspicion).
//
// Threads: the owning shard's thread. Memory: slot buffers are allocated with the call and keep
// their grown size between requests (bounded by the body limit). No I/O.
#pragma once

#include <simdjson.h>

#include <array>
#include <cstdint>
#include <string_view>

#include "base/buffer.h"
#include "engine/methods.h"
#include "engine/payload_id_map.h"
#include "engine/types.h"
#include "engine/vote.h"
#include "eth/verify.h"
#include "jsonrpc/response.h"
#include "pipeline/actions.h"
#include "pipeline/metrics.h"
#include "pipeline/policy.h"

namespace em::pipeline {

/// A call's buffer that grew past this for one large request is shrunk when the call is
/// released (issue 19: memory of a large body is given back after use).
inline constexpr size_t call_buffer_keep_bytes = 1u << 20;

class BuilderBook;

/// What every call of one shard shares: its counters, policy, nodes, parsers and the state the
/// pipeline keeps about nodes between calls.
struct CallEnv {
    ShardMetrics& metrics;
    const Policy& policy;
    const NodeTable& nodes;
    jsonrpc::ResponseParser& responses;
    simdjson::ondemand::parser& answers;
    /// Nodes whose last engine call timed out: votes do not wait for them until they answer an
    /// engine call again (a node can pass health probes yet hang on engine calls).
    std::array<bool, nodes_max>& engine_suspect;
    engine::PayloadIdMap* payload_ids;  ///< mints forkchoiceUpdated's payloadIds (null: none)
    size_t body_bytes_max;
    /// The builder role: rebuilds builder blocks' hashes (the core's; null in other roles).
    eth::BlockHashVerifier* verifier = nullptr;
    /// The builder role: the forks' attributes by the local EL's payloadId (null: other roles).
    BuilderBook* builder_book = nullptr;
};

/// How a node's successful answer is read.
enum class AnswerShape : uint8_t {
    result,              ///< keep the result member as it is
    payload_status,      ///< newPayload: a PayloadStatus
    forkchoice_updated,  ///< {payloadStatus, payloadId}
};

class FanOut {
  public:
    struct Slot {
        bool in_call = false;  ///< the node got this call
        bool voter = false;
        bool dead_at_start = false;  ///< dead or suspect when the call went out: not waited for
        /// pending until the reply; then answered (a result or a JSON-RPC error object) or
        /// no_answer (error, timeout, HTTP error, malformed, wrong id, unparsable result).
        engine::SlotState state = engine::SlotState::pending;
        bool is_error = false;  ///< answered with a JSON-RPC error (error_code)
        int error_code = 0;
        std::string_view name;
        ByteBuffer body{64u << 20, 256};    ///< this node's own request (empty: the shared one)
        ByteBuffer answer{64u << 20, 256};  ///< the node's whole JSON-RPC response
        std::string_view result;            ///< view of answer: the result member
        engine::PayloadStatus status;       ///< AnswerShape payload_status / forkchoice_updated
        bool has_payload_id = false;
        engine::PayloadId payload_id;
        uint64_t sent_ns = 0;
        char failure[Error::message_bytes_max + 48] = {};

        bool answered_result() const { return state == engine::SlotState::answered && !is_error; }
    };

    FanOut(CallEnv& env, size_t body_bytes_max);

    /// A new call of `method` (nullptr: not an engine method) answering to id `id`; every slot
    /// leaves the call. `own_id`: the answer is written under `id` anyway (the rpc role), so an id
    /// some EL refuses (jsonrpc::id_needs_replacing; a view into `body`) is sent to the nodes as
    /// jsonrpc::upstream_id.
    void reset(const engine::MethodInfo* method, std::string_view id, std::string_view body,
               bool own_id = false);
    /// Puts node i in the call (its name from the table).
    Slot& join(size_t i, const NodeView& n, bool voter, bool dead_at_start);
    /// Sends to every slot in the call (ordered: through the engine lanes).
    void send_all(bool ordered, uint64_t now_ns, Actions& out);
    /// Records a reply: metrics, health reports and suspicion, the parsed answer.
    Slot& record(const NodeReply& reply, AnswerShape shape, uint64_t now_ns, Actions& out);

    uint32_t pending() const { return pending_; }
    std::span<Slot> slots() { return slots_; }
    std::span<const Slot> slots() const { return slots_; }
    std::string_view id() const { return id_.view(); }
    const engine::MethodInfo* method() const { return method_; }
    size_t method_slot() const { return method_ ? method_->index : method_slot_other; }
    /// The window spent waiting for nodes so far: first call on the wire to the last answer.
    uint64_t waited_ns() const;
    /// Between calls: buffers that grew past call_buffer_keep_bytes go back to a small size.
    void release_grown_buffers();
    /// A simdjson view of part of slot i's answer (its buffer is padded).
    simdjson::padded_string_view padded(const Slot& slot, std::string_view part) const;

    // The client's answer (each records enginemux's own time for the request, received at
    // received_ns: the time from then to now minus the time spent waiting for nodes).
    /// {"jsonrpc":"2.0","id":<id>,"result":<result_json>}
    void answer_result(std::string_view result_json, uint64_t received_ns, uint64_t now_ns,
                       Actions& out);
    /// A node's whole response, relayed as it was.
    void answer_raw(std::string_view response_json, uint64_t received_ns, uint64_t now_ns,
                    Actions& out);
    /// A JSON-RPC error (counted as a request error).
    void answer_error(int code, std::string_view message, uint64_t received_ns, uint64_t now_ns,
                      Actions& out);
    /// -32000 "<what>: <node>: <why>; <node>: <why>..." naming every node in the call that gave
    /// no result and why (an operator reads which EL failed how), or "<what> (<none>)" when no
    /// node was in the call. Nodes that did answer a result are listed with `result_unusable`
    /// when it is not empty (the caller found their results unusable).
    void answer_node_failures(std::string_view what, std::string_view none,
                              std::string_view result_unusable, uint64_t received_ns,
                              uint64_t now_ns, Actions& out);

  private:
    void fail(Slot& slot, const char* format, ...) __attribute__((format(printf, 3, 4)));
    void parse_result(Slot& slot, AnswerShape shape);
    void record_own_time(uint64_t received_ns, uint64_t now_ns);

    CallEnv& env_;
    const engine::MethodInfo* method_ = nullptr;
    ByteBuffer id_;
    ByteBuffer body_;
    bool own_id_ = false;                 ///< the nodes were sent jsonrpc::upstream_id, not id_
    ByteBuffer answer_{64u << 20, 1024};  ///< the client's answer, when we build it
    ByteBuffer message_{64u << 10, 256};  ///< an error message being built
    std::array<Slot, nodes_max> slots_;
    uint32_t pending_ = 0;
    uint64_t first_sent_ns_ = 0;
    uint64_t last_answer_ns_ = 0;
};

/// Text without surrounding JSON whitespace.
std::string_view trim_json(std::string_view s);

}  // namespace em::pipeline
