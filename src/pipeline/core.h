// PipelineCore: one shard's request pipeline without I/O. A client's JSON-RPC body comes in;
// the role's policy (pipeline/policy.h) turns each request into a call (vote, best-of, merge,
// forward, or a batch of them: pipeline/*_call.h); the calls' actions go out through the Shell
// (send to a node, answer the client, report a node); the nodes' replies come back in. The path
// of an engine_newPayloadV4: on_request -> parse the envelope -> policy: vote -> decode the
// payload (a bad one is answered -32602 and never sent) -> VoteCall::start: one send per node
// (ordered) -> Shell::flush -> hash the block while the nodes work -> VoteCall::on_hash -> each
// on_reply -> VoteCall decides as soon as the vote is final -> Shell::answer.
//
// The listener (listener/engine_listener.h) is one Shell: nodes are upstream::Nodes and answers
// go to HTTP connections. The simulator (tests/pipeline/sim.*) is another: simulated nodes,
// a simulated clock, no sockets; it runs this very core and policy.
//
// Completion rule: no callback runs inside the call that started it. The Shell never calls
// on_reply() from inside send(); every reply comes from the loop (asserted). The same holds
// for the gate's asynchronous step (Gate::look_up, e.g. the rpc role's Redis cache): the core
// parks the request (a bounded pool, like the calls) and resume() comes later from the loop.
//
// Threads: one core per shard, used only on that shard's thread. Memory: calls come from one
// bounded pool type (CallPool), at most in_flight_max at a time, reused with their buffers, so
// steady-state traffic allocates nothing. Time is passed in (now_ns): no clock is read here.
#pragma once

#include <simdjson.h>

#include <array>
#include <memory>
#include <vector>

#include "base/assert.h"
#include "engine/json_kernel.h"
#include "engine/payload_id_map.h"
#include "eth/verify.h"
#include "jsonrpc/request.h"
#include "jsonrpc/response.h"
#include "pipeline/batch_call.h"
#include "pipeline/builder_call.h"
#include "pipeline/cl_head.h"
#include "pipeline/forward_call.h"
#include "pipeline/gate.h"
#include "pipeline/gather_call.h"
#include "pipeline/logs_call.h"
#include "pipeline/vote_call.h"

namespace em::pipeline {

/// What the core asks of the world around it.
class Shell {
  public:
    virtual ~Shell() = default;
    /// Puts `body` on node `node`'s wire (ordered: through its engine lane, after the ordered
    /// calls sent before). Exactly one PipelineCore::on_reply(call, ...) follows, by
    /// deadline_ns, and never from inside this call. `body` stays valid until then.
    virtual void send(uint64_t call, size_t node, std::string_view body, bool ordered,
                      uint64_t deadline_ns) = 0;
    /// PipelineCore::on_wake(call, ...) at `at_ns` or soon after, from the loop, exactly once
    /// (asked only for reads the gate's Route hedges: a Shell without hedging never is).
    virtual void wake(uint64_t call, uint64_t at_ns) {
        (void)call;
        (void)at_ns;
        EM_ASSERT(false && "this shell does not wake calls");
    }
    /// Pushes the sends made so far onto the wire now (before the core hashes a block).
    virtual void flush() = 0;
    /// The answer to the request from `client` (exactly one per request): an HTTP status and
    /// a JSON-RPC response (or batch) body, empty for a 204.
    virtual void answer(uint64_t client, int http_status, std::string_view body) = 0;
    /// False once the client went away (a forwarded call is then not retried).
    virtual bool client_waiting(uint64_t client) const = 0;
    /// A node failed a call in a way that says something about its health.
    virtual void node_failed(size_t node, const Error& error) = 0;
    /// The clock (for stamps taken after long work, e.g. the block hash).
    virtual uint64_t now_ns() const = 0;
    /// One element of a batch was decided (its answer is held until the whole batch is in):
    /// for observers (the simulator checks each vote when it is decided). No-op by default.
    virtual void element_decided(uint64_t client, std::string_view response) {
        (void)client;
        (void)response;
    }
};

struct CoreConfig {
    uint32_t in_flight_max = 4096;  ///< calls at once (a batch and each element count)
    size_t body_bytes_max = 32u << 20;
    uint32_t batch_entries_max = 1000;
    bool strict_payload_fields = false;  ///< unknown executionPayload fields: -32602
    /// Mint payloadIds for forkchoiceUpdated (the shard that owns the engine listener).
    bool mints_payload_ids = true;
    uint32_t payload_id_lifetime_s = 36;
    uint32_t payload_ids_max = 64;
    std::array<uint8_t, 16> payload_id_key{};  ///< SipHash key (random in production)
    /// Told which nodes took the CL's newPayloads and forkchoiceUpdateds (the engine shard,
    /// beside an rpc listener; null: nobody asks). Outlives the core.
    ClHead* cl_head = nullptr;
};

/// One bounded pool type for every kind of call: entries grow up to the core's limit and are
/// reused with their buffers.
template <typename T>
class CallPool {
  public:
    explicit CallPool(size_t max) { entries_.reserve(max); }
    /// A free entry (making one if none is free and fewer than max exist), or null.
    template <typename Make>
    uint32_t take(size_t max, Make make) {
        if (!free_.empty()) {
            uint32_t i = free_.back();
            free_.pop_back();
            return i;
        }
        if (entries_.size() >= max) return none;
        entries_.push_back(make());
        return static_cast<uint32_t>(entries_.size() - 1);
    }
    void release(uint32_t i) { free_.push_back(i); }
    T& operator[](uint32_t i) { return *entries_[i]; }
    size_t size() const { return entries_.size(); }
    static constexpr uint32_t none = UINT32_MAX;

  private:
    std::vector<std::unique_ptr<T>> entries_;
    std::vector<uint32_t> free_;
};

class PipelineCore {
  public:
    PipelineCore(const CoreConfig& config, const Policy& policy, const NodeTable& nodes,
                 Shell& shell, ShardMetrics& metrics);
    ~PipelineCore();
    PipelineCore(const PipelineCore&) = delete;
    PipelineCore& operator=(const PipelineCore&) = delete;

    /// A client's request body: data[0, len) with at least len + 64 readable bytes up to
    /// `capacity` (simdjson parses in place); complete since received_ns. `origin`: who sent it
    /// (for the gate; ignored without one).
    void on_request(uint64_t client, const char* data, size_t len, size_t capacity,
                    uint64_t received_ns, uint64_t now_ns, const Origin& origin = {});
    /// A role's gate (pipeline/gate.h; the sync role's policy), asked about every request from
    /// now on; null: none (the mux). It must outlive the core.
    void set_gate(Gate* gate) { gate_ = gate; }
    /// The reply to a Shell::send(call, ...).
    void on_reply(uint64_t call, const NodeReply& reply, uint64_t now_ns);
    /// The Shell::wake(call, ...) it asked for.
    void on_wake(uint64_t call, uint64_t now_ns);
    /// The outcome of Gate::look_up(ticket, ...), from the loop: `hit` answers the parked
    /// request with `result` (a JSON-RPC result member, under the client's id); otherwise it
    /// runs now with the route the gate gave it.
    void resume(uint64_t ticket, bool hit, std::string_view result, uint64_t now_ns);
    /// Slot i now holds another node (or none): forget what we knew of the old one.
    void forget_node(size_t i) {
        engine_suspect_[i] = false;
        if (config_.cl_head) config_.cl_head->forget_node(i);
    }
    /// Calls in progress (a shutdown drains until zero).
    size_t busy() const { return in_use_; }
    /// The payloadIds minted so far (null if this core does not mint).
    const engine::PayloadIdMap* payload_ids() const { return payload_ids_.get(); }
    /// Entries of the largest call pool (each is bounded by in_flight_max).
    size_t largest_pool() const;

  private:
    struct Sink;
    struct Waiter;
    struct Parked;
    template <typename T>
    struct Entry;

    /// A vote call of the CL's newPayload or forkchoiceUpdated: what ClHead is told when it is
    /// done (config_.cl_head).
    template <typename T>
    void note_head(Entry<T>& e, const engine::MethodInfo& method, size_t entry, bool decoded);
    template <typename T>
    void report_head(const Entry<T>& e, uint64_t now_ns);
    /// An [rpc.agree] read or a shadow-compared one: a GatherCall to the nodes the gate chose
    /// (GateDecision::agree_on, shadow).
    void start_agree(const Sink& sink, const jsonrpc::Request& request, std::string_view raw,
                     const GateDecision& d, uint64_t received_ns, uint64_t now_ns);
    /// `raw`: the request's text as it is forwarded (a single request: the whole body).
    void route(const Sink& sink, const jsonrpc::Request& request, std::string_view raw,
               size_t entry, uint64_t received_ns, uint64_t now_ns);
    void start_vote(const Sink& sink, const jsonrpc::Request& request, std::string_view raw,
                    const engine::MethodInfo& method, size_t entry, uint64_t received_ns,
                    uint64_t now_ns);
    /// A vote call under the gate: facts, then run, join a running call, or answer at once.
    void start_gated_vote(const Sink& sink, const jsonrpc::Request& request, std::string_view raw,
                          const engine::MethodInfo& method, size_t entry, uint64_t received_ns,
                          uint64_t now_ns);
    /// Decodes a newPayload's params into the verifier; false when it answered -32602.
    bool decode_payload(const Sink& sink, const jsonrpc::Request& request,
                        const engine::MethodInfo& method, size_t entry, uint64_t now_ns);
    /// A vote entry for the request (none: it answered the in-flight limit).
    uint32_t take_vote(const Sink& sink, std::string_view id, const engine::MethodInfo& method,
                       uint64_t received_ns, uint64_t now_ns);
    /// A vote call answered: the same answer to every waiter (under its own id), and the gate.
    void answer_waiters(Entry<VoteCall>& e, uint32_t index, std::string_view answer,
                        uint64_t now_ns);
    void join_vote(uint32_t call, const Sink& sink, std::string_view id, size_t method_slot,
                   uint64_t received_ns);
    /// A request that is no vote call, for the gate's counts (no-op without a gate).
    void tell_gate(const engine::MethodInfo* method, size_t slot, uint64_t now_ns);
    void gate_notice(std::string_view notice);
    /// A request that is no vote call, under the gate: false when the gate refused it or
    /// answered it at once (a cached result); else `route` (and, for a broadcast, `kind`) says
    /// how to run it.
    bool admit_call(const Sink& sink, const jsonrpc::Request& request,
                    const engine::MethodInfo* method, size_t slot, uint64_t now_ns,
                    GateDecision& decision, CallKind& kind, bool& look_up);
    /// eth_getLogs the gate split: each piece forwarded (spread over the nodes that qualify),
    /// the answers merged by a LogsCall.
    void start_logs(const Sink& sink, const jsonrpc::Request& request, const GateDecision& d,
                    uint64_t received_ns, uint64_t now_ns);
    /// The route of piece `k` of a split: the read's route, for the piece's end, preferring the
    /// next node of `spread` (the nodes given pieces so far, updated).
    Route piece_route(const Route& read, uint64_t piece_to, uint32_t& spread) const;
    /// A request the gate wants looked up first: parked (true) until resume(), or, with no
    /// room or nothing started (false), to be run now.
    bool park(const Sink& sink, const jsonrpc::Request& request, std::string_view raw, size_t slot,
              uint64_t received_ns, const Route& route);
    void start_broadcast(const Sink& sink, const jsonrpc::Request& request, std::string_view raw,
                         const Route& route, uint64_t received_ns, uint64_t now_ns);
    /// The builder role's engine calls (Policy::builder() is set).
    void start_builder(const Sink& sink, const jsonrpc::Request& request, std::string_view raw,
                       const engine::MethodInfo& method, size_t entry, uint64_t received_ns,
                       uint64_t now_ns);
    void start_best_of(const Sink& sink, const jsonrpc::Request& request,
                       const engine::MethodInfo& method, size_t entry, uint64_t received_ns,
                       uint64_t now_ns);
    void start_gather(const Sink& sink, CallKind kind, const jsonrpc::Request& request,
                      std::string_view raw, const engine::MethodInfo& method, uint64_t received_ns,
                      uint64_t now_ns);
    void start_forward(const Sink& sink, std::string_view body, std::string_view ids, bool batch,
                       size_t method_slot, const engine::MethodInfo* method, bool read_only,
                       uint64_t received_ns, uint64_t now_ns, const Route& route = {});
    void start_batch(uint64_t client, std::span<const jsonrpc::Entry> entries, uint64_t received_ns,
                     uint64_t now_ns);
    void forward_batch(uint64_t client, std::span<const jsonrpc::Entry> entries,
                       std::string_view body, uint64_t received_ns, uint64_t now_ns);
    /// A free entry of `pool` for a new call, counted in flight and set up for `sink`, or
    /// CallPool<int>::none at in_flight_max (the caller answers at_limit()).
    template <typename T>
    uint32_t take_call(CallPool<Entry<T>>& pool, const Sink& sink, size_t method_slot,
                       uint64_t received_ns);
    /// Carries out a call's actions (tag: for its sends); releases it once done.
    template <typename T>
    void carry_out(CallPool<Entry<T>>& pool, uint32_t index, uint64_t kind, const Actions& actions,
                   uint64_t now_ns);
    void deliver(const Sink& sink, int http_status, std::string_view body, uint64_t now_ns);
    void finish_batch(uint32_t index, const Actions& actions, uint64_t now_ns);
    void deliver_error(const Sink& sink, std::string_view id, int code, std::string_view message,
                       size_t method_slot, uint64_t now_ns);
    void at_limit(const Sink& sink, std::string_view id, size_t method_slot, uint64_t now_ns);

    CoreConfig config_;
    const Policy& policy_;
    const NodeTable& nodes_;
    Shell& shell_;
    ShardMetrics& metrics_;
    std::unique_ptr<engine::RequestKernel> requests_;  ///< the JSON kernel chosen at start-up
    jsonrpc::ResponseParser responses_;
    simdjson::ondemand::parser answers_;
    eth::BlockHashVerifier verifier_;
    std::unique_ptr<engine::PayloadIdMap> payload_ids_;
    std::array<bool, nodes_max> engine_suspect_{};
    Gate* gate_ = nullptr;
    Origin origin_;  ///< the request being routed (set during on_request)
    CallEnv env_;
    std::unique_ptr<CallPool<Entry<VoteCall>>> votes_;
    std::unique_ptr<CallPool<Entry<GatherCall>>> gathers_;
    std::unique_ptr<CallPool<Entry<ForwardCall>>> forwards_;
    std::unique_ptr<CallPool<Entry<BatchCall>>> batches_;
    std::unique_ptr<CallPool<Entry<BuilderCall>>> builders_;
    std::unique_ptr<BuilderBook> builder_book_;        ///< the builder role's (null in others)
    std::unique_ptr<CallPool<Entry<LogsCall>>> logs_;  ///< split eth_getLogs (the rpc role)
    std::unique_ptr<CallPool<Parked>> parked_;         ///< requests waiting for Gate::look_up
    size_t in_use_ = 0;
    bool in_event_ = false;  ///< asserts the completion rule: no reply inside a send
    ByteBuffer scratch_;
    ByteBuffer error_;
    ByteBuffer rewrite_;  ///< a vote's answer, padded for the parser, while waiters get it
    ByteBuffer waiter_answer_;
};

}  // namespace em::pipeline
