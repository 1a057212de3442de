// RpcListener: the rpc role's public eth_* listener (issue 16). It is the mux's EngineListener
// (listener/engine_listener.h: the same sockets, nodes, pipeline and calls, with this shard's
// own upstream connections) with a Role that puts the rpc policy (pipeline/rpc_policy.h:
// allow-list, cache, head-aware routing, broadcast, filters) in place of the mux's, and in front
// of it what a public endpoint needs before any JSON-RPC is read:
//  - no JWT from clients (each EL call is signed with that EL's secret, as in every role);
//  - API keys ([rpc] api_keys_file): `Authorization: Bearer KEY` or a `/KEY` target; with no
//    keys file no key is needed and an Authorization header is ignored; a missing or unknown
//    key is answered 401 naming which;
//  - budgets ([rpc.limits], pipeline/rate_limit.h, shared by every shard): per client address
//    (X-Forwarded-For / X-Real-IP from [rpc] trusted_proxies, else the connection's) and per
//    key, requests per second and (per address) in progress. Over budget: HTTP 429 with
//    Retry-After and a JSON-RPC error under the request's id (a batch: one per entry). A batch
//    is one request to the budgets; its entries are bounded by [limits] batch_entries_max.
//
// Threads: one per shard, on that shard's loop thread; the cache and the budgets it is given are
// shared with the other shards and lock their own stripes.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "io/ip.h"
#include "jsonrpc/request.h"
#include "listener/engine_listener.h"
#include "pipeline/rate_limit.h"
#include "pipeline/rpc_policy.h"

namespace em::listener {

struct RpcListenerConfig {
    pipeline::rpc::PolicyConfig policy;
    std::vector<io::IpNetwork> trusted_proxies;
    bool keys_required = false;     ///< an api_keys_file was given
    std::vector<std::string> keys;  ///< the keys it holds
};

/// What the rpc listeners of every shard share (made once, outliving them).
struct RpcShared {
    pipeline::rpc::AnswerCache* cache = nullptr;       ///< null: no cache
    pipeline::rpc::Budgets* client_budgets = nullptr;  ///< null: no per-address limit
    pipeline::rpc::Budgets* key_budgets = nullptr;     ///< null: no per-key limit
};

/// The API key a request carries: "Bearer KEY" (scheme in any case), else the target's path
/// "/KEY" (without a query); "" when it carries none.
[[nodiscard]] std::string_view api_key_of(std::string_view authorization, std::string_view target);

class RpcListener final : public http::Handler, private Role {
  public:
    RpcListener(io::Loop& loop, const ListenerConfig& config, const RpcListenerConfig& rpc,
                const RpcShared& shared, upstream::Registry& registry, upstream::HealthBoard& board,
                pipeline::ShardMetrics& metrics);
    ~RpcListener() override;

    void on_request(http::ServerConn& conn, const http::Request& request) override;
    /// The listener that owns the nodes and runs the pipeline.
    EngineListener& engine() { return *engine_; }
    const pipeline::rpc::RpcPolicy& policy() const { return policy_; }

  private:
    /// Who a request in progress was admitted as: what the budgets must be given back.
    struct Ticket {
        std::string address;
        std::string key;
        bool client_counted = false;
        bool key_counted = false;
    };
    // Role
    pipeline::Policy& policy() override { return policy_; }
    pipeline::Gate* gate() override { return &policy_; }
    Result<pipeline::Origin> admit(const http::ServerConn& conn,
                                   const http::Request& request) override;
    void admitted(std::string_view, size_t) override {}
    void answered(const pipeline::Origin& origin) override;

    void reply_unauthorized(http::ServerConn& conn, std::string_view message);
    /// 429 with Retry-After and one JSON-RPC error per entry that wants an answer.
    void reply_over_budget(http::ServerConn& conn, const http::Request& request,
                           std::string_view message, uint32_t retry_after_ms);
    uint32_t take_ticket();

    pipeline::rpc::RpcPolicy policy_;
    RpcListenerConfig config_;
    RpcShared shared_;
    pipeline::ShardMetrics& metrics_;
    struct KeyHash {
        using is_transparent = void;
        size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };
    std::unordered_set<std::string, KeyHash, std::equal_to<>> keys_;  ///< looked up by view
    jsonrpc::RequestParser parser_;  ///< reads the ids of a request over budget
    std::vector<Ticket> tickets_;
    std::vector<uint32_t> free_tickets_;
    /// The ticket of the request being handed to the engine listener (UINT32_MAX once admitted).
    uint32_t admitting_ = UINT32_MAX;
    ByteBuffer body_;                         ///< a 429's body
    std::unique_ptr<EngineListener> engine_;  ///< last: it uses the policy from its start
};

}  // namespace em::listener
