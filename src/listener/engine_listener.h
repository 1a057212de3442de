// EngineListener: the consensus client's listener (authrpc), binding the request pipeline
// (pipeline/core.h) to sockets and nodes: an http::Handler that checks each request's JWT and
// hands its JSON-RPC body to the core; a pipeline::Shell whose sends become upstream::Node calls
// and whose answers go back to the HTTP connection; a pipeline::NodeTable read from the node
// registry and the health board. What happens to a request (the calls, the vote, the answer) is
// the core's and its policy's business; this class only carries bytes and events.
//
//  - Every request must carry the CL's JWT (401 with a JSON body otherwise), be a POST (405)
//    with a JSON Content-Type (415); errors after that are JSON-RPC error objects with HTTP 200.
//  - Replies from nodes come from the loop, never from inside a send (upstream/node.h), which
//    is the core's completion rule.
//
// Nodes: one upstream::Node per registry slot. When the control thread changes a slot (admin
// DELETE/POST /nodes), refresh_node() moves the old Node out at once — new calls never see it,
// and a node added to the same slot gets a fresh Node — and retires it (upstream/node.h): its
// queued calls fail (a vote counts them as no answer, forwarded calls fail over), its calls on
// the wire finish, its connections close. A timer frees it once retired() (outside any of its
// callbacks). Replies say whether their call went to the slot's current node, so a removed
// node's late failure never marks its successor dead.
//
// Roles: the mux's listener checks the CL's JWT and runs MuxPolicy. Another role (the sync
// role's SyncListener, listener/sync_listener.h; the rpc role's RpcListener,
// listener/rpc_listener.h) hands in a Role: its policy and gate run in the pipeline in place of
// the mux's, it admits requests (credentials, who sent them) and hears when each is answered.
// The pipeline's NodeView carries each node's probed head and finalized block and the calls
// this listener has outstanding to it (for the rpc role's routing), and whether the Role keeps
// calls away from it (the rpc role's circuit breaker); the Role hears of every send and reply.
//
// Threads: one listener per shard, used only on that shard's loop thread. Memory: the calls in
// flight (pooled CallSlots) and client references are reused; steady state allocates nothing.
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <vector>

#include "http/jwt.h"
#include "net/server.h"
#include "pipeline/core.h"
#include "pipeline/mux_policy.h"
#include "upstream/health.h"
#include "upstream/node.h"
#include "upstream/registry.h"

namespace em::listener {

static_assert(upstream::nodes_max == pipeline::nodes_max);

/// What another role puts in place of the mux's policy and the CL's single JWT.
class Role {
  public:
    virtual ~Role() = default;
    virtual pipeline::Policy& policy() = 0;
    virtual pipeline::Gate* gate() = 0;
    /// Checks a request's credentials and says who sent it; an error (its message says what
    /// was wrong) is answered 401.
    [[nodiscard]] virtual Result<pipeline::Origin> admit(const http::ServerConn& conn,
                                                         const http::Request& request) = 0;
    /// An admitted request's body (capacity: readable bytes from body.data(), padding
    /// included), just before the pipeline gets it.
    virtual void admitted(std::string_view body, size_t capacity) = 0;
    /// The request admit() said came from `origin` has been answered (or its client left and
    /// the pipeline finished it). No-op by default.
    virtual void answered(const pipeline::Origin& origin) { (void)origin; }
    /// Whether calls are kept away from node `i` now (NodeView::breaker_open). No by default.
    [[nodiscard]] virtual bool node_blocked(size_t i) const {
        (void)i;
        return false;
    }
    /// Answers a request that is not the role's JSON-RPC (the builder role's GET /healthz,
    /// without a JWT) and returns true; false (the default): on_request goes on as usual.
    virtual bool serve_plain(http::ServerConn& conn, const http::Request& request) {
        (void)conn;
        (void)request;
        return false;
    }
    /// A call is being sent to node `i`. No-op by default.
    virtual void node_sending(size_t i) { (void)i; }
    /// A call to node `reply.node` answered or failed (before the pipeline sees it). No-op by
    /// default.
    virtual void node_replied(const pipeline::NodeReply& reply) { (void)reply; }
};

struct ListenerConfig {
    http::JwtSecret cl_secret;
    pipeline::MuxPolicyConfig policy;
    pipeline::CoreConfig core;
    /// The loop polls while an engine (ordered) call is in flight, at most this long after the
    /// last one was sent (0 = never): the answers are due within microseconds to milliseconds.
    uint32_t poll_us = 0;
    /// A node's answer larger than this fails the call (0: the node's own limit, [limits]).
    uint64_t response_bytes_max = 0;
};

class EngineListener final : public http::Handler,
                             private pipeline::Shell,
                             private pipeline::NodeTable {
  public:
    /// `role`: another role's policy and admission (outlives the listener); null: the mux.
    EngineListener(io::Loop& loop, const ListenerConfig& config, upstream::Registry& registry,
                   upstream::HealthBoard& board, pipeline::ShardMetrics& metrics,
                   Role* role = nullptr);
    ~EngineListener() override;

    void on_request(http::ServerConn& conn, const http::Request& request) override;

    /// Builds (or retires) this shard's Node for registry slot i. Called on the shard thread at
    /// start and whenever the control thread posts a change.
    void refresh_node(size_t i);
    /// A reload's settings (shard thread): the CL's secret checks the next request, the policy
    /// routes the next call and counts the next vote.
    void apply(const http::JwtSecret& cl_secret, const pipeline::MuxPolicyConfig& policy);
    /// A reload's [engine] poll_us (shard thread): from the next engine call on.
    void set_poll_us(uint32_t poll_us) { poll_ns_ = uint64_t{poll_us} * 1000; }
    /// Requests and node calls still in progress (the shutdown drain waits for zero).
    size_t busy() const { return core_.busy(); }
    /// Whether on_request would hand `request` to the pipeline (POST with a JSON body): a Role
    /// that defers a request (the rpc listener waiting for Redis's buckets) checks it first.
    static bool runnable(const http::Request& request);
    /// A runnable request a Role deferred after on_request: admitted as `origin` (Role::admit
    /// is not asked again; answered(origin) follows as for any admitted request), its body a
    /// copy with capacity - body.size() readable bytes past it (simdjson's padding).
    void run_deferred(http::ServerConn& conn, const pipeline::Origin& origin, std::string_view body,
                      size_t capacity);
    /// The outcome of the gate's lookup `ticket` (pipeline::Gate::look_up), from the loop.
    void resume(uint64_t ticket, bool hit, std::string_view result) {
        core_.resume(ticket, hit, result, now_ns());
    }
    upstream::Node* upstream_node(size_t i) { return nodes_[i].get(); }
    /// The nodes as the pipeline sees them (health, head, calls outstanding).
    const pipeline::NodeTable& node_table() const { return *this; }

  private:
    class CallSlot;

    // pipeline::Shell
    void send(uint64_t call, size_t node, std::string_view body, bool ordered,
              uint64_t deadline_ns) override;
    void wake(uint64_t call, uint64_t at_ns) override;
    void flush() override { loop_.flush(); }
    void answer(uint64_t client, int http_status, std::string_view body) override;
    bool client_waiting(uint64_t client) const override;
    void node_failed(size_t node, const Error& error) override;
    uint64_t now_ns() const override;
    // pipeline::NodeTable
    pipeline::NodeView node(size_t i) const override;
    int primary() const override { return board_.primary(); }

    void on_call_done(CallSlot& slot, const http::Response* response, const Error* error);
    void reply_http_error(http::ServerConn& conn, int status, std::string_view message);
    uint64_t remember(http::ServerConn& conn, const pipeline::Origin& origin);
    void retire_node(std::unique_ptr<upstream::Node> node);
    static void on_reap_timer(io::Timer* timer);
    /// A call's wake (Shell::wake: a read's hedge), pooled and reused.
    struct Wake {
        io::Timer timer;
        uint64_t call = 0;
        EngineListener* self = nullptr;
    };
    static void on_wake_timer(io::Timer* timer);
    void reap_retired();

    io::Loop& loop_;
    upstream::Registry& registry_;
    upstream::HealthBoard& board_;
    pipeline::ShardMetrics& metrics_;
    Role* role_;
    http::JwtSecret cl_secret_;
    std::optional<http::JwtVerifier> jwt_;  ///< always set; optional so a reload can renew it
    pipeline::MuxPolicy policy_;
    pipeline::PipelineCore core_;
    uint64_t poll_ns_ = 0;             ///< ListenerConfig::poll_us
    uint64_t response_bytes_max_ = 0;  ///< ListenerConfig::response_bytes_max
    std::array<uint32_t, upstream::nodes_max> outstanding_{};  ///< calls sent, not yet done
    uint32_t engine_in_flight_ = 0;  ///< ordered calls sent and not yet replied to
    std::array<std::unique_ptr<upstream::Node>, upstream::nodes_max> nodes_{};
    std::array<const upstream::NodeInfo*, upstream::nodes_max> infos_{};
    /// Removed nodes until retired(); at most one per removal, each gone by its calls' deadlines.
    std::vector<std::unique_ptr<upstream::Node>> retiring_;
    io::Timer reap_timer_{};
    std::vector<std::unique_ptr<CallSlot>> calls_;  ///< every CallSlot ever made
    std::vector<std::unique_ptr<Wake>> wakes_;      ///< every Wake ever made
    std::vector<Wake*> free_wakes_;
    std::vector<CallSlot*> free_calls_;
    std::vector<http::ConnRef> clients_;     ///< a request's connection until it is answered
    std::vector<pipeline::Origin> origins_;  ///< who sent each (for Role::answered)
    std::vector<uint32_t> free_clients_;
};

}  // namespace em::listener
