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
//  - a circuit breaker per node (pipeline/breaker.h, [rpc] breaker_*, one board shared by the
//    shards): every call's outcome is reported to it, and a node it holds open gets no calls.
//  - with [rpc.redis] url, this shard's Redis client (redis/client.h) and shared tier
//    (redis/shared_tier.h): an embedded cache miss for a cacheable read is asked of Redis (the
//    core parks the request, pipeline::Gate::look_up, for at most timeout_ms) before it goes to
//    a node; a Redis hit is answered and fills the embedded cache; a cacheable answer from a
//    node goes to both. Unavailable or benched Redis: the node is asked at once. Rates: a
//    request the embedded budgets allowed (they also hold the concurrency counts, which stay
//    per instance) also takes a token from Redis's shared bucket of its address and of its
//    key (stored under a hash of the key); it waits for Redis (timeout_ms at most) with a
//    copy of its body, and is answered 429 if a shared bucket is empty. Redis unavailable or
//    benched: the embedded budgets' verdict stands, at once.
//
// Threads: one per shard, on that shard's loop thread; the cache, the budgets, the breakers and
// the sticky and filter tables it is given are shared with the other shards (RpcShared) and lock
// their own stripes or use atomics.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "io/ip.h"
#include "jsonrpc/request.h"
#include "listener/engine_listener.h"
#include "listener/rpc_ws.h"
#include "pipeline/breaker.h"
#include "pipeline/rate_limit.h"
#include "pipeline/rpc_policy.h"
#include "redis/client.h"
#include "redis/shared_tier.h"

namespace em::listener {

struct RpcListenerConfig {
    pipeline::rpc::PolicyConfig policy;
    std::vector<io::IpNetwork> trusted_proxies;
    bool keys_required = false;     ///< an api_keys_file was given
    std::vector<std::string> keys;  ///< the keys it holds
    RpcWsConfig ws;                 ///< [rpc.ws] (listener/rpc_ws.h)
};

/// What the rpc listeners of every shard share (made once, outliving them).
struct RpcShared {
    pipeline::rpc::AnswerCache* cache = nullptr;       ///< null: no cache
    pipeline::rpc::Budgets* client_budgets = nullptr;  ///< null: no per-address limit
    pipeline::rpc::Budgets* key_budgets = nullptr;     ///< null: no per-key limit
    const redis::ClientConfig* redis = nullptr;        ///< null: no Redis ([rpc.redis] url)
    redis::SharedTierConfig tier;                      ///< with redis: the key prefix
    pipeline::rpc::BreakerBoard* breakers = nullptr;   ///< null: no circuit breaker
    const pipeline::ClHead* cl_head = nullptr;  ///< beside the mux or sync role: the CL's head
    HeadsFeed* heads = nullptr;                 ///< null: no eth_subscribe (no node has a ws_url)
    pipeline::rpc::SharedTables tables;  ///< the sticky and filter tables (null: the policy's own)
    /// The key of the clients' sticky hashes: the same on every shard, so a client is one entry
    /// of the shared sticky table (all zero: this listener draws its own).
    std::array<uint8_t, 16> sticky_key{};
};

/// 16 random bytes for RpcShared::sticky_key (getrandom; the clocks if it fails).
[[nodiscard]] std::array<uint8_t, 16> random_sticky_key();

/// The API key a request carries: "Bearer KEY" (scheme in any case), else the target's path
/// "/KEY" (without a query); "" when it carries none.
[[nodiscard]] std::string_view api_key_of(std::string_view authorization, std::string_view target);

class RpcListener final : public http::Handler,
                          private Role,
                          private pipeline::rpc::SharedAnswers,
                          private redis::CacheDone,
                          private redis::RateDone {
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
    bool node_blocked(size_t i) const override;
    void node_sending(size_t i) override;
    void node_replied(const pipeline::NodeReply& reply) override;

    // pipeline::rpc::SharedAnswers (Redis)
    bool get(uint64_t ticket, std::string_view key) override;
    void put(std::string_view key, std::string_view result) override;
    // redis::RateDone
    void on_rate(redis::RateCheck& check, redis::RateOutcome outcome,
                 uint32_t retry_after_ms) override;
    /// A request the embedded budgets allowed, as ticket t: true when it now waits for Redis's
    /// buckets (ask_redis_rates), false when Redis has no say (benched, no rate): run it now.
    bool ask_redis_rates(http::ServerConn& conn, const http::Request& request, uint32_t t);
    // redis::CacheDone
    void on_cache(redis::CacheGet& get, redis::CacheOutcome outcome,
                  std::string_view value) override;
    /// Copies the Redis client's state and counts into the metrics (admin thread reads them).
    void publish_redis();
    static void on_redis_timer(io::Timer* timer);

    void reply_unauthorized(http::ServerConn& conn, std::string_view message);
    /// 429 with Retry-After and one JSON-RPC error per entry that wants an answer.
    /// `body`: the request's, with `capacity` readable bytes from its start (padding).
    void reply_over_budget(http::ServerConn& conn, std::string_view body, size_t capacity,
                           std::string_view message, uint32_t retry_after_ms);
    uint32_t take_ticket();
    /// Ticket t's client as [rpc] sticky sees it: a keyed hash of its API key or address (0
    /// when sticky is off).
    uint64_t sticky_of(uint32_t t) const;

    pipeline::rpc::RpcPolicy policy_;
    RpcListenerConfig config_;
    RpcShared shared_;
    std::array<uint8_t, 16> sticky_key_{};  ///< random: clients cannot aim at another's hash
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
    ByteBuffer body_;  ///< a 429's body
    /// A Redis cache lookup in flight for a parked request (reused; key kept to fill the
    /// embedded cache on a hit).
    struct Lookup {
        redis::CacheGet get;  ///< owner: this Lookup; tag: the core's ticket
        std::string key;
        uint32_t index = 0;  ///< in lookups_
    };
    std::vector<std::unique_ptr<Lookup>> lookups_;
    /// A request waiting for Redis's token buckets (reused with its body buffer).
    struct Deferred {
        Deferred(size_t body_bytes_max, uint32_t i) : body(body_bytes_max + 1024, 4096), index(i) {}
        http::ConnRef conn;
        uint32_t ticket = 0;
        ByteBuffer body;
        redis::RateCheck client_check;
        redis::RateCheck key_check;
        uint8_t waiting = 0;  ///< checks not yet answered
        bool client_over = false;
        bool key_over = false;
        uint32_t retry_after_ms = 0;
        uint32_t index;  ///< in deferred_
    };
    void finish_deferred(Deferred& d);
    std::vector<std::unique_ptr<Deferred>> deferred_;
    std::vector<uint32_t> free_deferred_;
    size_t body_bytes_max_;
    std::vector<uint32_t> free_lookups_;
    io::Loop& loop_;
    RpcWebSocket ws_;                       ///< upgrades on this port, and their messages
    std::unique_ptr<redis::Client> redis_;  ///< null: no [rpc.redis]
    std::unique_ptr<redis::SharedTier> tier_;
    io::Timer redis_timer_{};                 ///< publishes the client's state
    std::unique_ptr<EngineListener> engine_;  ///< last: it uses the policy from its start
};

}  // namespace em::listener
