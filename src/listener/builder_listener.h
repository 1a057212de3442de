// BuilderListener: the builder role's engine listener (issue 15: an OP Stack sequencer's
// sidecar). It is the mux's EngineListener (listener/engine_listener.h: the same sockets, nodes,
// pipeline and calls) with a Role that puts the builder policy (pipeline/builder_policy.h: the
// local EL answers, builders get copies and forks, getPayload picks a block) in place of the
// mux's. op-node signs with one secret (the L2's, unless --jwt-secret names another): a request
// whose token fails is answered 401 and reaches no node. GET /healthz is answered without a
// JWT (listener/builder_health.h), as rollup-boost answers it on its rpc port, for
// op-conductor. Every good answer of a node (HTTP 200) is noted in the BuilderShared for it.
//
// Threads: one per shard, on that shard's loop thread.
#pragma once

#include <memory>

#include "listener/engine_listener.h"
#include "pipeline/builder_policy.h"

namespace em::listener {

struct BuilderListenerConfig {
    pipeline::BuilderSettings settings;
    uint32_t eth_timeout_ms = 1'000;  ///< a forwarded non-engine call's deadline
};

class BuilderListener final : private Role {
  public:
    BuilderListener(io::Loop& loop, const ListenerConfig& config,
                    const BuilderListenerConfig& builder, upstream::Registry& registry,
                    upstream::HealthBoard& board, pipeline::ShardMetrics& metrics);
    ~BuilderListener() override;

    /// The listener that serves op-node (the http::Handler) and owns the nodes.
    EngineListener& engine() { return *engine_; }
    /// A reload's secret (shard thread): it checks the next request.
    void apply(const http::JwtSecret& cl_secret);

  private:
    // Role
    pipeline::Policy& policy() override { return policy_; }
    pipeline::Gate* gate() override { return nullptr; }
    Result<pipeline::Origin> admit(const http::ServerConn& conn,
                                   const http::Request& request) override;
    void admitted(std::string_view body, size_t capacity) override {
        (void)body;
        (void)capacity;
    }
    bool serve_plain(http::ServerConn& conn, const http::Request& request) override;
    void node_replied(const pipeline::NodeReply& reply) override;

    pipeline::BuilderPolicy policy_;
    upstream::HealthBoard& board_;
    http::JwtSecret cl_secret_;
    std::unique_ptr<http::JwtVerifier> jwt_;
    std::unique_ptr<EngineListener> engine_;  ///< last: it uses the policy from its start
};

}  // namespace em::listener
