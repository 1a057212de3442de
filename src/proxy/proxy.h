// proxy::Proxy: the per-shard pipeline of the mux role — accept → parse → route → fan out →
// vote → reply — as an http::Handler on the consensus client's listener.
//
//  - Every request must carry the CL's JWT (401 with a JSON body otherwise) and a JSON-RPC body
//    (errors are JSON-RPC error objects with HTTP 200, as geth answers them).
//  - engine_* methods follow the method table's strategy (engine/methods.h): vote (newPayload,
//    forkchoiceUpdated: fanned out to every node through its ordered engine lane, voters vote,
//    mirrors only listen; newPayload's block hash is verified before the answers count),
//    best_of (getPayload through our own payloadIds), primary with failover (getBlobs, bodies,
//    unknown engine methods), merge_flat (getClientVersionV1), intersect (exchangeCapabilities).
//  - Anything else (eth_*, batches without engine calls) is forwarded unchanged to the primary,
//    and to the next usable node if the primary fails before answering.
//  - The CL is answered as soon as the vote can no longer change; the remaining nodes still get
//    (and finish) the call, so syncing and mirror nodes follow the chain.
//
// Threads: one Proxy per shard, used only on that shard's loop thread. Memory: request contexts
// come from pools bounded by in_flight_max and are reused; buffers keep their grown size.
//
// Nodes: the Proxy owns one upstream::Node per registry slot. When the control thread changes a
// slot (admin DELETE/POST /nodes), sync_node() moves the old Node out of the slot at once — new
// requests never see it, and a node added to the same slot gets a fresh Node — and retires it
// (upstream/node.h): its queued calls fail (a vote counts them as no answer, eth_* calls fail
// over), its calls on the wire finish, its connections are closed. A timer frees it once
// retired() (outside any of its callbacks). Contexts keep the NodeInfo of each call they made
// (never freed) and use Call::node to tell an old node's answer from the slot's current node,
// so a removed node's late failure never marks its successor dead.
#pragma once

#include <simdjson.h>

#include <array>
#include <memory>
#include <vector>

#include "engine/methods.h"
#include "engine/payload_id_map.h"
#include "engine/vote.h"
#include "eth/verify.h"
#include "http/jwt.h"
#include "http/server.h"
#include "jsonrpc/request.h"
#include "jsonrpc/response.h"
#include "proxy/metrics.h"
#include "upstream/health.h"
#include "upstream/node.h"
#include "upstream/registry.h"

namespace em::proxy {

struct ProxyConfig {
    http::JwtSecret cl_secret;
    double fcu_majority = 0.6;
    uint32_t timeout_ms = 0;            ///< global per-node deadline cap (0 = spec timeouts)
    bool verify_block_hash = true;
    bool strict_payload_fields = false;
    uint32_t payload_id_lifetime_s = 36;
    uint32_t payload_ids_max = 64;
    uint32_t in_flight_max = 4096;
    uint64_t body_bytes_max = 32u << 20;
    uint32_t batch_entries_max = 1000;
    uint32_t failback_hold_ms = 30'000;
    bool is_engine_shard = true;        ///< owns payload ids (the mux listener lives here)
};

class Proxy final : public http::Handler {
public:
    Proxy(io::Loop& loop, const ProxyConfig& config, upstream::Registry& registry,
          upstream::HealthBoard& board, ShardMetrics& metrics);
    ~Proxy() override;

    void on_request(http::ServerConn& conn, const http::Request& request) override;

    /// Builds (or retires) this shard's connection pool and lane for registry slot i. Called on
    /// the shard thread at start and whenever the control thread posts a change.
    void sync_node(size_t i);
    /// Requests and upstream calls still in progress (the shutdown drain waits for zero).
    size_t busy() const { return contexts_in_use_; }
    upstream::Node* node(size_t i) { return nodes_[i].get(); }

    class EngineContext;
    class ForwardContext;
    class BatchContext;

    /// Where a context's answer goes: the client connection, or one element of a batch answer
    /// being assembled (engine calls inside a batch are answered one by one, then together).
    struct Sink {
        http::ConnRef conn;
        BatchContext* batch = nullptr;
        uint32_t index = 0;
    };

private:
    friend class EngineContext;
    friend class ForwardContext;
    friend class BatchContext;

    void handle_body(http::ServerConn& conn, const http::Request& request);
    void reply_error(http::ServerConn& conn, std::string_view id, int code, std::string_view message,
                     size_t method_slot);
    /// Delivers one JSON-RPC response object (or a batch array) to where `sink` points.
    void deliver(const Sink& sink, std::string_view response_json);
    /// Delivers a JSON-RPC error object for `id` to `sink`.
    void deliver_error(const Sink& sink, std::string_view id, int code, std::string_view message,
                       size_t method_slot);
    void handle_batch(http::ServerConn& conn, std::span<const jsonrpc::Entry> entries);
    void reply_envelope_error(http::ServerConn& conn, const Error& error);
    /// Starts an engine call per its strategy; `body` is the request object's text and
    /// `entry` its index in the envelope (for rewinding to its params).
    void route_engine(const Sink& sink, http::ServerConn& conn, const jsonrpc::Request& request,
                      const engine::MethodInfo& method, std::string_view body, size_t entry);
    void forward(const Sink& sink, http::ServerConn& conn, std::string_view body, std::string_view id,
                 bool batch, size_t method_slot, std::span<const jsonrpc::Entry> entries = {});
    /// Index of the node to send a primary-routed call to, skipping `skip_mask` nodes; -1 none.
    int pick_node(uint32_t skip_mask) const;
    /// Deadline for a call of `method` to node i (min of spec, node and global caps).
    uint64_t deadline_ns(size_t i, uint32_t method_timeout_ms) const;
    /// True if `call` went to the node that slot i holds now (not to one removed since).
    bool current_node(size_t i, const upstream::Call& call) const {
        return nodes_[i].get() == call.node;
    }
    void retire_node(std::unique_ptr<upstream::Node> node);
    static void on_reap_timer(io::Timer* timer);
    void reap_retired();
    EngineContext* take_engine_context();
    ForwardContext* take_forward_context();
    BatchContext* take_batch_context();
    void release(EngineContext* c);
    void release(ForwardContext* c);
    void release(BatchContext* c);

    io::Loop& loop_;
    ProxyConfig config_;
    upstream::Registry& registry_;
    upstream::HealthBoard& board_;
    ShardMetrics& metrics_;
    engine::Quorum quorum_;
    http::JwtVerifier jwt_;
    jsonrpc::RequestParser parser_;
    jsonrpc::ResponseParser response_parser_;
    simdjson::ondemand::parser answer_parser_;
    eth::BlockHashVerifier verifier_;
    std::unique_ptr<engine::PayloadIdMap> payload_ids_;
    std::array<std::unique_ptr<upstream::Node>, upstream::nodes_max> nodes_{};
    std::array<const upstream::NodeInfo*, upstream::nodes_max> infos_{};
    /// Removed nodes until retired(); at most one per removal, each gone by its calls' deadlines.
    std::vector<std::unique_ptr<upstream::Node>> retiring_;
    io::Timer reap_timer_{};
    std::vector<std::unique_ptr<EngineContext>> engine_pool_;
    std::vector<EngineContext*> engine_free_;
    std::vector<std::unique_ptr<ForwardContext>> forward_pool_;
    std::vector<ForwardContext*> forward_free_;
    std::vector<std::unique_ptr<BatchContext>> batch_pool_;
    std::vector<BatchContext*> batch_free_;
    size_t contexts_in_use_ = 0;
    /// Nodes whose last engine call timed out: later votes do not wait for them until they
    /// answer an engine call again (a node can pass health probes yet hang on engine calls).
    std::array<bool, upstream::nodes_max> engine_suspect_{};
    ByteBuffer scratch_;
    ByteBuffer error_scratch_;
};

}  // namespace em::proxy
