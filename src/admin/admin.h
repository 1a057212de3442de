// Admin API (DESIGN.md "Contracts"): an http::Handler on the control thread's loop, bound to
// 127.0.0.1:9551 by default.
//
//   GET  /status        JSON: nodes with health, latency, role, primary (executionbackup's fields
//                       plus ours); in the sync role also "sync" (best client, every client);
//                       in the builder role "builder" (local EL, builders, fallbacks); with an
//                       rpc listener "rpc" (nodes' heads, cache, Redis, each shard's counts)
//   GET  /metrics       Prometheus text, names prefixed enginemux_
//   GET  /healthz       200 while the process runs; in the builder role op-conductor's verdict
//                       (listener/builder_health.h: 200, 206 or 503 with a JSON body saying why)
//   GET  /execution-mode, POST /execution-mode  the builder role's execution mode (body
//                       {"execution_mode": "dry-run"}; admin/builder_debug.h)
//   GET  /readyz        200 when a primary exists (some voter is usable), else 503
//   POST /recheck       probe every node now
//   POST /nodes         body: one node in --nodes syntax
//   (URL#jwt-secret=..#timeout=..#do-not-use#name=..) DELETE /nodes/NAME  remove a node (in-flight
//   calls finish first); NAME is percent-decoded
//                       strictly (a bad escape is 400) and must follow base/name.h's rule
//   POST /reload        re-read the configuration (what SIGHUP does): 200 with what changed,
//                       or 400 with why it was refused (the running configuration stays)
//
// Secure by default (access.h): the writes (POST, DELETE) need `Authorization: Bearer <token>`
// and are refused with 403 while no token is configured; the reads are open unless
// protect_reads. What a write may do is the Actions implementation's business (the daemon
// refuses run-time nodes without their own secret under secrets_dir).
//
// Threads: the control thread only. Shard counters are read with relaxed atomic loads.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "admin/builder_metrics.h"
#include "base/budget.h"
#include "base/buffer.h"
#include "base/result.h"
#include "listener/heads_feed.h"
#include "net/server.h"
#include "pipeline/breaker.h"
#include "pipeline/cl_head.h"
#include "pipeline/metrics.h"
#include "pipeline/rpc_cache.h"
#include "upstream/health.h"
#include "upstream/registry.h"

namespace em::admin {

/// What the admin API may change; implemented by the daemon (app layer).
class Actions {
  public:
    virtual ~Actions() = default;
    /// Adds a node from a --nodes element; returns its name.
    virtual Result<std::string> add_node(std::string_view spec) = 0;
    virtual Result<void> remove_node(std::string_view name) = 0;
    virtual void recheck() = 0;
    /// Re-reads the configuration and applies it; returns what changed ("nothing changed" when
    /// nothing did), or why it was refused (then nothing was applied).
    virtual Result<std::string> reload() = 0;
};

struct AdminContext {
    const char* version = "";
    const char* role = "mux";
    double quorum = 0.6;
    uint64_t started_ns = 0;
    upstream::Registry* registry = nullptr;
    upstream::HealthBoard* board = nullptr;
    std::span<pipeline::ShardMetrics* const> shards;
    Actions* actions = nullptr;
    const ByteBudget* body_budget = nullptr;  ///< for the buffered-body gauge; nullptr: none
    std::string token;                        ///< "" = none configured: writes are refused (403)
    bool protect_reads = false;               ///< reads need the token too
    std::vector<std::string> sync_proxies;    ///< the sync role's [sync] proxies, by name
    bool rpc = false;                         ///< an rpc listener runs ([rpc])
    /// Each shard's rpc listener's counters (also in `shards`), for /status's per-shard view.
    std::span<pipeline::ShardMetrics* const> rpc_shards;
    uint32_t rpc_max_head_lag_blocks = 2;  ///< [rpc] max_head_lag_blocks, for /status
    const pipeline::rpc::AnswerCache* rpc_cache = nullptr;  ///< for its gauges; null: none
    /// Each node's circuit breaker (rpc role), for /status and /metrics; null: none.
    const pipeline::rpc::BreakerBoard* rpc_breakers = nullptr;
    const pipeline::ClHead* cl_head = nullptr;  ///< beside mux/sync: the CL's head (rpc routing)
    /// The process-wide newHeads feed's counters (null: no node has a ws_url).
    const listener::FeedCounters* heads_feed = nullptr;
    BuilderContext builder;  ///< the builder role's settings (enabled: /status and /metrics)
};

class AdminHandler final : public http::Handler {
  public:
    explicit AdminHandler(AdminContext context);
    void on_request(http::ServerConn& conn, const http::Request& request) override;

    /// The bodies, for tests and for `enginemux status`-like tools.
    void render_status(ByteBuffer& out) const;
    void render_metrics(ByteBuffer& out) const;
    /// `recent_votes` of /status: the last finished votes, each node's answer by name.
    void render_recent_votes(ByteBuffer& out, uint64_t now_ns) const;
    /// `sync` of /status in the sync role: the best client and every client heard from.
    void render_sync(ByteBuffer& out, uint64_t now_ns) const;
    /// enginemux_sync_best{client} and enginemux_sync_client_calls_total{client,method}.
    void render_sync_metrics(ByteBuffer& out) const;
    /// `rpc` of /status: the highest head, the finalized block the cache trusts, each node's
    /// head and lag, and whether reads of the head go to it.
    void render_rpc(ByteBuffer& out) const;
    /// enginemux_rpc_*: per method requests, errors, retries, cache hits, rate-limited; the cache.
    void render_rpc_metrics(ByteBuffer& out) const;
    /// `redis` of /status `rpc` (null without [rpc.redis]), with a trailing comma.
    void render_rpc_redis(ByteBuffer& out) const;
    /// "websocket":{...}, of the rpc listener's WebSocket connections (a trailing comma).
    void render_rpc_websocket(ByteBuffer& out) const;
    /// "shards":[...], each rpc shard's connections accepted, requests and cache hits (a
    /// trailing comma).
    void render_rpc_shards(ByteBuffer& out) const;
    /// enginemux_rpc_redis_*: admitted or benched, lookups, hits, fallbacks, timeouts, errors.
    void render_rpc_redis_metrics(ByteBuffer& out) const;
    /// enginemux_rpc_logs_* (eth_getLogs splits) and enginemux_rpc_sticky_* ([rpc] sticky).
    void render_rpc_split_sticky_metrics(ByteBuffer& out) const;
    void render_heads_feed_metrics(ByteBuffer& out) const;
    /// enginemux_rpc_breaker_state / _opens_total per node (with a breaker board).
    void render_rpc_breaker_metrics(ByteBuffer& out) const;
    /// The quorum /status shows (a reload changed it).
    void set_quorum(double quorum) { ctx_.quorum = quorum; }

  private:
    void reply_json(http::ServerConn& conn, int status, std::string_view body);
    /// The roles' own objects of /status (`sync`, `rpc`), each with its leading comma.
    void render_role_sections(ByteBuffer& out, uint64_t now) const;
    /// {"error":"<message>"} with the status.
    void reply_error(http::ServerConn& conn, int status, const Error& error);
    /// The builder role's GET and POST /execution-mode (admin/builder_debug.h).
    void execution_mode(http::ServerConn& conn, const http::Request& request, bool post);
    /// Answers 401/403 and returns false when the request may not go on (access.h).
    bool admit(http::ServerConn& conn, const http::Request& request);
    AdminContext ctx_;
    ByteBuffer body_;
};

}  // namespace em::admin
