// The enginemux daemon (mux, sync, rpc or builder role): turns a Config into running threads —
//   - shard 0: the consensus client's listener and the request pipeline (upstream pools,
//     engine lanes, payload ids, block-hash verification), and an rpc listener when one runs;
//   - with an rpc listener, shards 1..N-1 ([shards], default cores - 1): each another rpc
//     listener on the same port (SO_REUSEPORT) with its own connections and upstream pools;
//   - the control thread: health probes, the admin API, signals (SIGINT/SIGTERM: graceful
//     shutdown that drains in-flight requests; SIGHUP: a reload, app/reload.h).
// Why the engine pipeline runs on shard 0 only: see docs/ARCHITECTURE.md ("Threads").
//
// Threads: run() is called by main(); it blocks until shutdown. add_node/remove_node/recheck
// (admin::Actions) run on the control thread, which starts before the shards: what the control
// thread may post to a shard is published under shard_mutex_ by the shard's own setup
// (ThreadSanitizer found the control thread reading shard_thread_ while main still assigned
// it), and node changes, settings, heartbeats and stops go to every shard published so far.
// add_node takes only nodes with their own secret, from a file under [admin] secrets_dir
// (app/runtime_secret.h): a node added at run time is never signed for with the CL's secret.
#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "admin/admin.h"
#include "app/config.h"
#include "base/budget.h"
#include "base/result.h"
#include "http/jwt.h"
#include "io/thread.h"
#include "listener/builder_listener.h"
#include "listener/heads_feed.h"
#include "listener/rpc_listener.h"
#include "listener/sync_listener.h"
#include "pipeline/metrics.h"
#include "upstream/health.h"
#include "upstream/registry.h"

namespace em::app {

/// Builds a registry entry from a node config: resolves the address, loads the secret file.
/// A node without a secret file signs with `default_secret` (the CL's, for start-up nodes, as
/// executionbackup does); with none (nodes added at run time) it is refused.
Result<upstream::NodeInfo> make_node_info(const NodeConfig& node, const Config& config,
                                          const http::JwtSecret* default_secret);

class Daemon final : public admin::Actions {
  public:
    explicit Daemon(Config config);
    ~Daemon() override;
    /// Starts everything, blocks until a shutdown signal has been handled. Start-up errors
    /// (io_uring missing, port in use, bad secret file) are returned before anything runs.
    Result<void> run();
    /// Asks the daemon to shut down gracefully (any thread; what SIGTERM does).
    void request_shutdown();
    /// The CL listener's bound address (after start; for tests using port 0).
    const io::Address& listen_address() const { return listen_address_; }

    /// The command line reload() parses again (main's argv; without it reload() re-reads only
    /// the --config file).
    void set_reload_args(std::vector<std::string> args) { reload_args_ = std::move(args); }

    Result<std::string> add_node(std::string_view spec) override;
    Result<void> remove_node(std::string_view name) override;
    void recheck() override;
    /// SIGHUP and POST /reload (control thread): see app/reload.h. Logs what changed, or why the
    /// reload was refused.
    Result<std::string> reload() override;

    struct Shard;
    struct Control;

  private:
    Result<void> start();
    void broadcast_node_change(size_t index);
    /// Refuses a node whose endpoint another node has already (same IP, port and path: one EL
    /// would get two votes) or that would reach enginemux's own CL listener or admin API (every
    /// call would loop back into the daemon).
    Result<void> check_node_endpoint(const upstream::NodeInfo& info) const;
    /// Same, against `others` in place of the registry (a reload checks its next node set).
    Result<void> check_node_endpoint(const upstream::NodeInfo& info,
                                     std::span<const upstream::NodeInfo* const> others) const;
    Result<std::string> reload_from(Config next);
    /// The sync role's listener settings: its policy, trusted proxies, listed clients' secrets
    /// and the proxies (load_sync_proxies).
    Result<void> load_sync();
    /// [sync] proxies as nodes to mirror to (their secrets read, their addresses resolved).
    Result<void> load_sync_proxies();
    /// The builder role's nodes: [l2] (the local EL) then [[builders]] in the registry, their
    /// secrets read; op-node's secret is the L2's unless --jwt-secret names one.
    Result<void> load_builder_nodes(bool have_cl_secret);
    /// [rpc]: the API keys file read, the cache and the budgets made.
    Result<void> load_rpc();
    /// The start-up line naming the rpc listener's address (tests read it).
    void log_rpc_listener() const;
    Result<void> load_heads_feed();
    /// Posts a reload's live settings to every shard.
    Result<void> post_shard_settings(const Config& next, const http::JwtSecret& cl_secret);
    /// Asks every shard to stamp its heartbeat (the systemd watchdog's evidence that its loop
    /// runs).
    void post_heartbeat();
    /// The oldest of the shards' last heartbeats (0 while a shard has none yet).
    uint64_t oldest_heartbeat_ns();
    /// Starts shard threads 0..count-1 in order (shard 0 binds the listeners' ports first).
    Result<void> start_shards(int count, uint64_t spin_ns);
    /// Stops and joins the shard threads started (a failed start).
    void stop_shards();

    Config config_;  ///< after start, read and written by the control thread only
    std::vector<std::string> reload_args_;
    /// Request bodies buffered by the engine listener and the admin API together
    /// ([limits] buffered_body_bytes_max); outlives both threads.
    ByteBudget body_budget_;
    http::JwtSecret cl_secret_{};
    /// The sync role's settings for its listener: listed clients' secrets loaded at start.
    listener::SyncListenerConfig sync_config_;
    std::vector<std::string> sync_proxy_names_;  ///< [sync] proxies' names, for /metrics
    /// The builder role's settings for its listener (the local EL's slot, the deadline...).
    listener::BuilderListenerConfig builder_config_;
    /// The builder role's execution mode, builder breakers and answer times (null: other roles).
    std::unique_ptr<pipeline::BuilderShared> builder_shared_;
    /// The rpc listener's settings ([rpc]; keys read at start) and what its shards share.
    listener::RpcListenerConfig rpc_config_;
    std::unique_ptr<pipeline::rpc::AnswerCache> rpc_cache_;
    std::unique_ptr<pipeline::rpc::Budgets> rpc_client_budgets_;
    std::unique_ptr<pipeline::rpc::Budgets> rpc_key_budgets_;
    std::unique_ptr<pipeline::rpc::BreakerBoard> rpc_breakers_;  ///< every node's breaker
    /// Beside the mux or sync role: the CL's head, written by the engine core, read by rpc.
    std::unique_ptr<pipeline::ClHead> cl_head_;
    /// The process-wide newHeads feed (null: no node has a ws_url); the shards register.
    std::unique_ptr<listener::HeadsFeed> heads_feed_;
    /// [rpc] sticky's table and the filter ids' nodes, shared by every rpc shard.
    std::unique_ptr<pipeline::rpc::StickyTable> rpc_sticky_;
    std::unique_ptr<pipeline::rpc::FilterTable> rpc_filters_;
    std::array<uint8_t, 16> rpc_sticky_key_{};  ///< the clients' sticky hashes' key
    int rpc_shards_ = 0;                        ///< rpc listeners (one per shard; 0: none)
    size_t rpc_metrics_first_ = 0;  ///< shard 0's rpc listener's ShardMetrics in metrics_
    /// What idle WebSocket connections keep of grown buffers ([rpc.ws] grown_buffers_bytes_max)
    std::unique_ptr<ByteBudget> ws_grown_budget_;
    std::unique_ptr<redis::ClientConfig> rpc_redis_;  ///< [rpc.redis] url resolved (null: none)
    io::Address rpc_address_;  ///< the rpc listener's bound address (after start)
    upstream::Registry registry_;
    upstream::HealthBoard board_;
    std::vector<std::unique_ptr<pipeline::ShardMetrics>> metrics_;
    std::vector<pipeline::ShardMetrics*> metrics_view_;
    std::vector<std::unique_ptr<Shard>> shards_;  ///< shard 0 first (main thread's)
    size_t shard_count_ = 0;  ///< shards that start (set before the control thread starts)
    std::unique_ptr<Control> control_;
    std::vector<std::unique_ptr<io::LoopThread>> shard_threads_;  ///< shards_'s, in order
    std::unique_ptr<io::LoopThread> control_thread_;
    io::Address listen_address_;
    std::atomic<bool> listen_bound_{false};  ///< listen_address_ is set (by the shard's setup)
    /// Orders each shard's start against node changes and shutdown requests from the control
    /// thread: a shard's setup publishes itself and builds its nodes from the registry under
    /// it, and the control thread posts a change (or asks for shutdown) to every published
    /// shard under it, so a change is either seen by that first read of the registry or posted
    /// to the running shard.
    std::mutex shard_mutex_;
    std::vector<Shard*> shards_live_;  ///< guarded by shard_mutex_: appended by each setup
    bool shutdown_requested_ = false;  ///< guarded by shard_mutex_: asked before a shard ran
};

}  // namespace em::app
