#include "app/daemon.h"
#include "base/version.h"

#include <cstdio>

#include "admin/builder_debug.h"
#include "app/reload.h"
#include "app/runtime_secret.h"
#include "base/clock.h"
#include "base/log.h"
#include "http/bearer.h"
#include "io/notify.h"
#include "io/signals.h"
#include "listener/engine_listener.h"
#include "listener/sync_listener.h"
#include "net/server.h"
#include "net/tls.h"
#include "upstream/prober.h"

namespace em::app {

namespace {

std::string host_header(const NodeConfig& node) {
    bool v6 = node.host.find(':') != std::string::npos;
    std::string host = v6 ? "[" + node.host + "]" : node.host;
    bool default_port = (node.tls && node.port == 443) || (!node.tls && node.port == 80);
    return default_port ? host : host + ":" + std::to_string(node.port);
}

/// One client context for every https node; `ca_file` empty = the system's CA store.
Result<http::TlsContext*> shared_tls_context(const std::string& ca_file) {
    static http::TlsContext* context = nullptr;
    if (!context) {
        auto created = http::tls_client_context(ca_file, true);
        if (!created) {
            return Unexpected(ca_file.empty() ? created.error()
                                              : created.error().prefix("tls_ca_file " + ca_file));
        }
        context = *created;
    }
    return context;
}

/// What the admin API lets through, for the start-up log (admin/access.h has the rules).
const char* admin_access_text(const AdminConfig& admin) {
    if (admin.token_file.empty())
        return "read-only: POST and DELETE are refused until [admin] token_file is set";
    return admin.protect_reads
               ? "every request needs the token"
               : "POST and DELETE need the token; GETs are open (protect_reads = false)";
}

/// What a reload does with a node of the next configuration.
enum class Plan : uint8_t { keep, replace, add };

/// A reload's nodes against the running ones, by name: kept, changed (replaced in its slot),
/// added, removed.
struct NodePlans {
    std::vector<std::pair<Plan, int>> plans;  // per next node: what, and its slot
    size_t adds = 0;
    std::vector<size_t> gone;  // the slots of running nodes the next configuration lacks
};

/// Plans the next configuration's nodes against the registry's; appends what changes, in
/// words, to `changes`.
NodePlans plan_nodes(const upstream::Registry& registry, std::span<const upstream::NodeInfo> infos,
                     std::vector<std::string>& changes) {
    NodePlans p;
    std::vector<std::string> added, changed, removed;
    for (const upstream::NodeInfo& info : infos) {
        int slot = registry.find(info.name);
        if (slot < 0) {
            p.plans.push_back({Plan::add, -1});
            added.push_back(info.name);
            p.adds++;
            continue;
        }
        const upstream::NodeInfo& now = *registry.get(static_cast<size_t>(slot));
        std::vector<std::string> what;
        if (now.url != info.url) what.push_back("url");
        if (now.role != info.role) what.push_back("role");
        if (now.timeout_ms != info.timeout_ms) what.push_back("timeout");
        if (now.options.secret.key != info.options.secret.key) what.push_back("secret");
        p.plans.push_back({what.empty() ? Plan::keep : Plan::replace, slot});
        if (!what.empty()) changed.push_back(info.name + " (" + join(what, ", ") + ")");
    }
    for (size_t i = 0; i < upstream::nodes_max; i++) {
        const upstream::NodeInfo* now = registry.get(i);
        if (!now) continue;
        bool kept = false;
        for (const upstream::NodeInfo& info : infos) kept = kept || info.name == now->name;
        if (!kept) {
            p.gone.push_back(i);
            removed.push_back(now->name);
        }
    }
    if (!added.empty()) changes.push_back("added " + join(added, ", "));
    if (!changed.empty()) changes.push_back("changed " + join(changed, ", "));
    if (!removed.empty()) changes.push_back("removed " + join(removed, ", "));
    return p;
}

}  // namespace

Result<upstream::NodeInfo> make_node_info(const NodeConfig& node, const Config& config,
                                          const http::JwtSecret* default_secret) {
    upstream::NodeInfo info;
    info.name = node.name;
    info.url = node.url;
    info.role =
        node.role == NodeRole::voter ? upstream::NodeRole::voter : upstream::NodeRole::mirror;
    info.timeout_ms = node.timeout_ms;
    upstream::NodeOptions& o = info.options;
    o.name = node.name;
    auto address = io::resolve(node.host, node.port);
    if (!address) return Unexpected(address.error().prefix("node " + node.name));
    o.endpoint.address = *address;
    o.endpoint.host_header = host_header(node);
    o.endpoint.target = node.path;
    if (node.tls) {
        o.endpoint.tls = EM_TRY(shared_tls_context(config.tls_ca_file));
        o.endpoint.server_name = node.host;
    }
    if (node.jwt_secret_path.empty()) {
        if (!default_secret)
            return failf(Errc::invalid_input, "node %s has no JWT secret: give #jwt-secret=PATH",
                         node.name.c_str());
        o.secret = *default_secret;
    } else {
        // The error names the file (which names the node) and says what is wrong, never what is
        // in it; no "node X:" prefix, so that a long path still fits the message.
        o.secret = EM_TRY(http::load_jwt_secret_file(node.jwt_secret_path.c_str()));
    }
    o.response_limits.body_bytes_max = config.limits.body_bytes_max;
    o.response_limits.header_bytes_max = config.limits.header_bytes_max;
    o.connections_max = config.limits.upstream_connections_max;
    o.connect_timeout_ms = config.limits.connect_timeout_ms;
    o.lane_queue_max = config.limits.lane_queue_max;
    return info;
}

// --- the engine shard --------------------------------------------------------------------------

/// What the engine shard takes from a reload (posted to it; it deletes it once applied).
struct ShardSettings {
    http::JwtSecret cl_secret;
    pipeline::MuxPolicyConfig policy;
    pipeline::SyncPolicyConfig sync;  ///< the sync role's (its mux part is `policy`)
    std::vector<io::IpNetwork> trusted_proxies;
    http::ServerConfig deadlines;
    uint32_t drain_ms = 0;
    uint32_t poll_us = 0;
};

pipeline::MuxPolicyConfig policy_config(const EngineConfig& e) {
    pipeline::MuxPolicyConfig p;
    p.quorum = *engine::Quorum::from_fraction(e.fcu_majority);
    p.timeout_cap_ms = e.timeout_ms;
    p.verify_block_hash = e.verify_block_hash;
    p.eth_timeout_ms = e.eth_timeout_ms;
    return p;
}

pipeline::SyncPolicyConfig sync_policy_config(const Config& c) {
    pipeline::SyncPolicyConfig p;
    p.mux = policy_config(c.engine);
    p.best_stale_ms = c.sync.best_stale_ms;
    p.future_slack_s = c.sync.future_slack_s;
    p.dedup_window_ms = c.sync.dedup_window_ms;
    return p;
}

/// [sync] trusted_proxies as networks (validate() has checked each).
std::vector<io::IpNetwork> trusted_proxies(const SyncConfig& s) {
    std::vector<io::IpNetwork> out;
    for (const std::string& text : s.trusted_proxies) out.push_back(*io::IpNetwork::parse(text));
    return out;
}

/// The client listener's connections_max and deadlines from [limits].
void set_client_deadlines(http::ServerConfig& sc, const LimitsConfig& l) {
    sc.connections_max = l.connections_max;
    sc.header_timeout_ms = l.header_timeout_ms;
    sc.body_timeout_ms = l.body_timeout_ms;
    sc.body_rate_min_bytes_s = l.body_rate_min_bytes_s;
    sc.idle_timeout_ms = l.idle_timeout_ms;
}

/// An rpc listener runs: the rpc role, or [rpc] listen beside another role.
bool rpc_enabled(const Config& c) {
    return c.role == "rpc" || !c.rpc.listen.empty();
}

/// Where the rpc listener listens: [rpc] listen, else (the rpc role) listen_addr:port.
Result<io::Address> rpc_listen_address(const Config& c) {
    if (!c.rpc.listen.empty()) {
        auto a = io::resolve(c.rpc.listen);
        if (!a) return Unexpected(a.error().prefix("[rpc] listen (--rpc-listen)"));
        return *a;
    }
    auto a = io::resolve(c.listen_addr, c.port);
    if (!a) return Unexpected(a.error().prefix("--listen-addr"));
    return *a;
}

/// The rpc policy's settings from [rpc].
pipeline::rpc::PolicyConfig rpc_policy_config(const RpcConfig& r) {
    pipeline::rpc::PolicyConfig p;
    p.allow_methods = r.allow_methods;
    p.max_head_lag_blocks = r.max_head_lag_blocks;
    p.default_timeout_ms = r.default_timeout_ms;
    p.hedge.max_ratio = r.hedge_max_ratio;
    p.shadow_ratio = r.shadow_ratio;
    p.max_logs_block_range = r.max_logs_block_range;
    p.logs_split = r.logs_split;
    p.logs_split_pieces_max = r.logs_split_pieces_max;
    p.response_bytes_max = r.response_bytes_max;
    p.sticky = r.sticky == "key"       ? pipeline::rpc::StickyBy::key
               : r.sticky == "address" ? pipeline::rpc::StickyBy::address
                                       : pipeline::rpc::StickyBy::off;
    p.sticky_clients_max = r.sticky_clients_max;
    for (const RpcMethodTimeout& t : r.method_timeouts)
        p.method_timeouts.emplace_back(t.method, t.timeout_ms);
    for (const RpcMethodAgree& a : r.agree) p.agree.emplace_back(a.method, a.nodes);
    return p;
}

upstream::ProberConfig prober_config(const Config& c) {
    upstream::ProberConfig pc;
    pc.probe_finalized = rpc_enabled(c);
    pc.probe_client = rpc_enabled(c);
    pc.interval_ms = c.health.interval_ms;
    pc.timeout_ms = c.health.timeout_ms;
    pc.block_age_max_s = c.health.block_age_max_s;
    pc.failback_hold_ms = c.health.failback_hold_ms;
    pc.log_timings = c.node_timings;
    return pc;
}

/// Shard `index`'s share of a connection limit over `shards` listeners: the total split evenly
/// (the first ones take the remainder), at least 1 each.
uint32_t connections_share(uint32_t total, size_t index, size_t shards) {
    if (shards <= 1) return total;
    uint32_t share = static_cast<uint32_t>(total / shards + (index < total % shards ? 1 : 0));
    return share ? share : 1;
}

struct Daemon::Shard {
    Shard(Daemon& d, size_t i) : daemon(d), index(i), name("shard" + std::to_string(i)) {}
    Daemon& daemon;
    const size_t index;      ///< 0: the engine listener's shard (and the first rpc listener)
    const std::string name;  ///< the loop's ("shard0", ...)
    io::Loop* loop = nullptr;
    std::atomic<uint64_t> heartbeat_ns{0};         ///< when this shard last ran a heartbeat task
    std::unique_ptr<listener::SyncListener> sync;  ///< the sync role's (owns its listener)
    std::unique_ptr<listener::BuilderListener> builder;  ///< the builder role's (owns its own)
    std::unique_ptr<listener::EngineListener> mux;
    listener::EngineListener* listener = nullptr;  ///< the role's engine listener (none: rpc)
    std::unique_ptr<http::Server> server;          ///< the engine listener's
    std::unique_ptr<listener::RpcListener> rpc;    ///< the rpc listener (none: not enabled)
    std::unique_ptr<http::Server> rpc_server;
    uint64_t drain_deadline_ns = UINT64_MAX;
    uint32_t drain_ms = 0;  ///< [limits] shutdown_drain_ms (a reload may change it)

    static listener::ListenerConfig listener_config(const Daemon& d) {
        const Config& c = d.config_;
        listener::ListenerConfig lc;
        lc.cl_secret = d.cl_secret_;
        lc.policy = policy_config(c.engine);
        lc.poll_us = c.engine.poll_us;
        lc.core.strict_payload_fields = c.engine.strict_payload_fields;
        lc.core.payload_id_lifetime_s = c.engine.payload_id_lifetime_s;
        lc.core.payload_ids_max = c.engine.payload_ids_max;
        lc.core.in_flight_max = c.limits.in_flight_max;
        lc.core.body_bytes_max = c.limits.body_bytes_max;
        lc.core.batch_entries_max = c.limits.batch_entries_max;
        return lc;
    }

    static http::ServerConfig server_config(Daemon& d, const char* name,
                                            pipeline::ShardMetrics& metrics) {
        const Config& c = d.config_;
        http::ServerConfig sc;
        sc.limits.body_bytes_max = c.limits.body_bytes_max;
        sc.limits.header_bytes_max = c.limits.header_bytes_max;
        set_client_deadlines(sc, c.limits);
        sc.name = name;
        sc.stats = &metrics.http;
        sc.body_budget = &d.body_budget_;
        return sc;
    }

    Result<void> setup_engine(io::Loop& loop) {
        Daemon& d = daemon;
        const Config& c = d.config_;
        listener::ListenerConfig lc = listener_config(d);
        lc.core.cl_head = d.cl_head_.get();  // null unless an rpc listener runs beside
        if (c.role == "sync") {
            sync = std::make_unique<listener::SyncListener>(loop, lc, d.sync_config_, d.registry_,
                                                            d.board_, *d.metrics_[0]);
            listener = &sync->engine();
        } else if (c.role == "builder") {
            builder = std::make_unique<listener::BuilderListener>(
                loop, lc, d.builder_config_, d.registry_, d.board_, *d.metrics_[0]);
            listener = &builder->engine();
        } else {
            mux = std::make_unique<listener::EngineListener>(loop, lc, d.registry_, d.board_,
                                                             *d.metrics_[0]);
            listener = mux.get();
        }
        http::ServerConfig sc = server_config(d, "engine", *d.metrics_[0]);
        sc.record_peer = c.role == "sync";  // clients without an id claim are told apart by it
        auto address = io::resolve(c.listen_addr, c.port);
        if (!address) return Unexpected(address.error().prefix("--listen-addr"));
        server = std::make_unique<http::Server>();
        EM_TRY_VOID(server->listen(loop, *address, *listener, sc));
        d.listen_address_ = server->address();
        return {};
    }

    /// What this shard's rpc listener shares with the other shards' (Daemon::load_rpc made it).
    static listener::RpcShared rpc_shared(const Daemon& d) {
        listener::RpcShared shared;
        shared.cache = d.rpc_cache_.get();
        shared.client_budgets = d.rpc_client_budgets_.get();
        shared.key_budgets = d.rpc_key_budgets_.get();
        shared.redis = d.rpc_redis_.get();
        shared.tier.key_prefix = d.config_.rpc.redis.key_prefix;
        shared.breakers = d.rpc_breakers_.get();
        shared.tables = {d.rpc_sticky_.get(), d.rpc_filters_.get()};
        shared.sticky_key = d.rpc_sticky_key_;
        shared.cl_head = d.cl_head_.get();
        shared.heads = d.heads_feed_.get();
        return shared;
    }

    /// This shard's rpc listener. Shard 0 binds [rpc] listen (port 0: the kernel's choice);
    /// the others bind the address shard 0 got, with SO_REUSEPORT, so the kernel spreads new
    /// connections over them. Connection limits are split over the shards.
    Result<void> setup_rpc(io::Loop& loop) {
        Daemon& d = daemon;
        const Config& c = d.config_;
        auto shards = static_cast<size_t>(d.rpc_shards_);
        pipeline::ShardMetrics& metrics = *d.metrics_[d.rpc_metrics_first_ + index];
        listener::ListenerConfig lc = listener_config(d);
        lc.response_bytes_max = c.rpc.response_bytes_max;
        lc.core.mints_payload_ids = false;  // no forkchoiceUpdated is voted here
        listener::RpcListenerConfig rc = d.rpc_config_;
        rc.ws.connections_max = connections_share(rc.ws.connections_max, index, shards);
        rpc = std::make_unique<listener::RpcListener>(loop, lc, rc, rpc_shared(d), d.registry_,
                                                      d.board_, metrics);
        http::ServerConfig sc = server_config(d, "rpc", metrics);
        sc.record_peer = true;  // per-address budgets
        sc.connections_max = connections_share(sc.connections_max, index, shards);
        io::Address address = d.rpc_address_;  // shard 0's, set before this shard started
        if (index == 0) address = EM_TRY(rpc_listen_address(c));
        rpc_server = std::make_unique<http::Server>();
        EM_TRY_VOID(rpc_server->listen(loop, address, *rpc, sc));
        if (index > 0) return {};
        d.rpc_address_ = rpc_server->address();
        if (c.role == "rpc") d.listen_address_ = d.rpc_address_;
        return {};
    }

    static Result<void> setup(io::Loop& loop, void* ctx) {
        Shard* self = static_cast<Shard*>(ctx);
        Daemon& d = self->daemon;
        self->loop = &loop;
        const Config& c = d.config_;
        if (self->index == 0 && c.role != "rpc") {  // the engine pipeline: shard 0's alone
            EM_TRY_VOID(self->setup_engine(loop));
        }
        if (rpc_enabled(c)) {
            EM_TRY_VOID(self->setup_rpc(loop));
        }
        self->drain_ms = c.limits.shutdown_drain_ms;
        // Shard 0 bound both listeners' ports; the admin thread reads them.
        if (self->index == 0) d.listen_bound_.store(true, std::memory_order_release);
        loop.set_drain_check(drained, self);
        self->go_live();
        return {};
    }

    /// Every listener's slot i follows the registry.
    void refresh_node(size_t i) {
        if (listener) listener->refresh_node(i);
        if (rpc) rpc->engine().refresh_node(i);
    }

    /// Lets the control thread post to this shard from now on. The admin API may have changed
    /// the registry since the listener read it: read it again under the same lock as the posts
    /// (refresh_node does nothing for a slot that did not change), so no change is missed.
    void go_live() {
        std::lock_guard lock(daemon.shard_mutex_);
        daemon.shards_live_.push_back(this);
        for (size_t i = 0; i < upstream::nodes_max; i++) refresh_node(i);
        if (daemon.shutdown_requested_) loop->request_stop();
    }

    static void apply_settings(void* ctx, uint64_t settings) {
        Shard* self = static_cast<Shard*>(ctx);
        std::unique_ptr<ShardSettings> s(reinterpret_cast<ShardSettings*>(settings));
        if (self->sync) {
            self->sync->apply(s->cl_secret, s->sync, s->trusted_proxies);
        } else if (self->builder) {
            self->builder->apply(s->cl_secret);
        } else if (self->listener) {
            self->listener->apply(s->cl_secret, s->policy);
        }
        if (self->listener) self->listener->set_poll_us(s->poll_us);
        if (self->server) self->server->set_deadlines(s->deadlines);
        if (self->rpc_server) {
            http::ServerConfig deadlines = s->deadlines;
            deadlines.connections_max =
                connections_share(deadlines.connections_max, self->index,
                                  static_cast<size_t>(self->daemon.rpc_shards_));
            self->rpc_server->set_deadlines(deadlines);
        }
        self->drain_ms = s->drain_ms;
    }

    static bool drained(void* ctx) {
        Shard* self = static_cast<Shard*>(ctx);
        if (self->drain_deadline_ns == UINT64_MAX) self->begin_shutdown();
        bool idle = self->connections() == 0 && self->busy() == 0;
        if (!idle && self->loop->now_ns() >= self->drain_deadline_ns) {
            EM_LOG_WARN("shutdown: %u requests still in flight after the drain limit; stopping",
                        self->requests_in_flight());
            return true;
        }
        return idle;
    }

    size_t connections() const {
        return (server ? server->connections() : 0) + (rpc_server ? rpc_server->connections() : 0);
    }
    size_t busy() const {
        return (listener ? listener->busy() : 0) + (rpc ? rpc->engine().busy() : 0);
    }
    uint32_t requests_in_flight() const {
        return (server ? server->requests_in_flight() : 0) +
               (rpc_server ? rpc_server->requests_in_flight() : 0);
    }

    void begin_shutdown() {
        drain_deadline_ns = loop->now_ns() + uint64_t{drain_ms} * 1'000'000ull;
        EM_LOG_INFO("shutdown: no new connections; draining %u in-flight requests",
                    requests_in_flight());
        if (server) server->shutdown();
        if (rpc_server) rpc_server->shutdown();
    }

    static void teardown(io::Loop&, void* ctx) {
        Shard* self = static_cast<Shard*>(ctx);
        self->server.reset();
        self->rpc_server.reset();
        self->listener = nullptr;
        self->sync.reset();
        self->builder.reset();
        self->mux.reset();
        self->rpc.reset();
    }
};

// --- the control thread ------------------------------------------------------------------------

struct Daemon::Control {
    explicit Control(Daemon& d) : daemon(d) {}
    Daemon& daemon;
    io::Loop* loop = nullptr;
    std::unique_ptr<upstream::Prober> prober;
    std::unique_ptr<admin::AdminHandler> admin_handler;
    std::unique_ptr<http::Server> admin_server;
    std::unique_ptr<admin::BuilderDebugHandler> debug_handler;  ///< the builder role's
    std::unique_ptr<http::Server> debug_server;                 ///< on [builder] debug_listen
    io::SignalWatcher signals;
    uint64_t started_ns = mono_ns();
    io::Timer watchdog_timer{};
    uint64_t watchdog_ns = 0;  ///< systemd's WatchdogSec (0 = no watchdog)

    static Result<void> setup(io::Loop& loop, void* ctx) {
        Control* self = static_cast<Control*>(ctx);
        Daemon& d = self->daemon;
        const Config& c = d.config_;
        self->loop = &loop;
        self->prober =
            std::make_unique<upstream::Prober>(loop, d.registry_, d.board_, prober_config(c));
        if (!c.admin.listen.empty()) {
            admin::AdminContext ac;
            ac.version = em::version();
            ac.quorum = c.engine.fcu_majority;
            ac.started_ns = self->started_ns;
            ac.registry = &d.registry_;
            ac.board = &d.board_;
            ac.shards = d.metrics_view_;
            ac.actions = &d;
            ac.body_budget = &d.body_budget_;
            ac.sync_proxies = d.sync_proxy_names_;
            ac.role = c.role == "sync"      ? "sync"
                      : c.role == "rpc"     ? "rpc"
                      : c.role == "builder" ? "builder"
                                            : "mux";
            if (c.role == "builder") {
                ac.builder.enabled = true;
                ac.builder.local = d.builder_config_.settings.local;
                ac.builder.shared = d.builder_shared_.get();
                ac.builder.block_selection =
                    engine::block_selection_name(c.builder.block_selection);
                ac.builder.get_payload_deadline_ms = c.builder.get_payload_deadline_ms;
            }
            ac.rpc = rpc_enabled(c);
            ac.rpc_shards = std::span<pipeline::ShardMetrics* const>(d.metrics_view_)
                                .subspan(d.rpc_metrics_first_, static_cast<size_t>(d.rpc_shards_));
            ac.rpc_max_head_lag_blocks = c.rpc.max_head_lag_blocks;
            ac.rpc_cache = d.rpc_cache_.get();
            ac.rpc_breakers = d.rpc_breakers_.get();
            ac.cl_head = d.cl_head_.get();
            ac.heads_feed = d.heads_feed_ ? &d.heads_feed_->counters() : nullptr;
            if (!c.admin.token_file.empty()) {
                auto token = http::read_token_file(c.admin.token_file, false);
                if (!token) return Unexpected(token.error().prefix("[admin] token_file"));
                ac.token = std::move(*token);
            }
            ac.protect_reads = c.admin.protect_reads;
            self->admin_handler = std::make_unique<admin::AdminHandler>(std::move(ac));
            auto address = io::resolve(c.admin.listen);
            if (!address) return Unexpected(address.error().prefix("--admin-listen"));
            http::ServerConfig sc;
            sc.connections_max = 64;
            sc.limits.body_bytes_max = 1u << 20;
            sc.name = "admin";
            sc.record_peer = true;  // a builder mode switch is logged with who asked
            sc.body_budget = &d.body_budget_;
            self->admin_server = std::make_unique<http::Server>();
            EM_TRY_VOID(self->admin_server->listen(loop, *address, *self->admin_handler, sc));
        }
        EM_TRY_VOID(self->setup_debug(loop));
        EM_TRY_VOID(self->signals.start(loop, on_signal, self));
        self->watchdog_ns = io::watchdog_period_us() * 1000;
        if (self->watchdog_ns) {
            self->watchdog_timer.fn = on_watchdog;
            self->watchdog_timer.owner = self;
            loop.timer_start(&self->watchdog_timer, loop.now_ns() + self->watchdog_ns / 4);
        }
        // Last: once probes are on the wire, their connections must be torn down by teardown
        // after run(), which a failed setup never reaches.
        self->prober->start();
        return {};
    }

    /// The builder role's debug server (admin/builder_debug.h), unless debug_listen is off.
    Result<void> setup_debug(io::Loop& loop) {
        Daemon& d = daemon;
        const std::string& listen = d.config_.builder.debug_listen;
        if (d.config_.role != "builder" || listen.empty()) return {};
        auto address = io::resolve(listen);
        if (!address) return Unexpected(address.error().prefix("--debug-host/--debug-server-port"));
        debug_handler = std::make_unique<admin::BuilderDebugHandler>(*d.builder_shared_);
        http::ServerConfig sc;
        sc.connections_max = 16;
        sc.limits.body_bytes_max = 64u << 10;
        sc.name = "debug";
        sc.record_peer = true;  // a switch is logged with who asked
        debug_server = std::make_unique<http::Server>();
        auto bound = debug_server->listen(loop, *address, *debug_handler, sc);
        if (!bound)
            return Unexpected(bound.error().prefix(
                "builder debug server ([builder] debug_listen, --debug-server-port; \"\" turns it "
                "off)"));
        return {};
    }

    /// systemd's watchdog (WatchdogSec in the unit): pinged only while every shard runs its
    /// loop, shown by a heartbeat task each ran within half a period. A shard stuck in a loop
    /// or a blocking call stops the pings, and systemd restarts enginemux (a CL then sees one
    /// short outage instead of calls that hang forever).
    static void on_watchdog(io::Timer* timer) {
        Control* self = static_cast<Control*>(timer->owner);
        Daemon& d = self->daemon;
        uint64_t now = self->loop->now_ns();
        uint64_t beat = d.oldest_heartbeat_ns();
        if (beat && now - beat < self->watchdog_ns / 2) {
            io::notify_service_manager("WATCHDOG=1");
        } else if (beat) {
            EM_LOG_LIMITED(LogLevel::error, 1,
                           "watchdog: a shard has not run its loop for %llu ms; systemd "
                           "restarts enginemux if it stays so",
                           static_cast<unsigned long long>((now - beat) / 1'000'000));
        }
        d.post_heartbeat();
        self->loop->timer_start(timer, now + self->watchdog_ns / 4);
    }

    static void on_signal(int signal_number, void* ctx) {
        Control* self = static_cast<Control*>(ctx);
        if (signal_number == SIGHUP) {
            EM_LOG_INFO("SIGHUP: reloading the configuration");
            (void)self->daemon.reload();  // logs what changed, or why it was refused
            return;
        }
        const char* name = signal_number == SIGINT ? "SIGINT" : "SIGTERM";
        EM_LOG_FIELDS(LogLevel::info, (log_field("signal", name)), "%s: shutting down", name);
        self->daemon.request_shutdown();
    }

    static void teardown(io::Loop&, void* ctx) {
        Control* self = static_cast<Control*>(ctx);
        self->loop->timer_cancel(&self->watchdog_timer);
        self->admin_server.reset();
        self->admin_handler.reset();
        self->debug_server.reset();
        self->debug_handler.reset();
        self->prober.reset();
    }
};

Daemon::Daemon(Config config)
    : config_(std::move(config)), body_budget_(config_.limits.buffered_body_bytes_max) {}

Daemon::~Daemon() {
    shard_threads_.clear();
    control_thread_.reset();
}

Result<void> Daemon::start() {
    log_set_level(config_.log_level);
    log_set_format(config_.log_format);
    // The rpc role alone has no consensus client; its nodes bring their own secrets.
    bool have_cl_secret = !config_.jwt_secret_path.empty();
    if (have_cl_secret) {
        auto cl_secret = http::load_jwt_secret_file(config_.jwt_secret_path.c_str());
        if (!cl_secret) return Unexpected(cl_secret.error().prefix("--jwt-secret"));
        cl_secret_ = *cl_secret;
    }
    if (config_.role == "sync") EM_TRY_VOID(load_sync());
    if (config_.role == "builder") EM_TRY_VOID(load_builder_nodes(have_cl_secret));
    for (const NodeConfig& node : config_.nodes) {
        upstream::NodeInfo info =
            EM_TRY(make_node_info(node, config_, have_cl_secret ? &cl_secret_ : nullptr));
        EM_TRY_VOID(check_node_endpoint(info));
        EM_TRY(registry_.add(std::move(info)));
    }
    int cpus = io::usable_cpu_count();
    int shards = config_.shards > 0 ? config_.shards : (cpus > 1 ? cpus - 1 : 1);
    // The engine pipeline runs on shard 0 alone (see docs/ARCHITECTURE.md); more shards run
    // only rpc listeners, so without one a single shard runs. Shard k is pinned to the k-th
    // usable core; the control thread takes the core after the last shard when there is one,
    // else shares the last core.
    bool rpc_on = rpc_enabled(config_);
    if (!rpc_on) shards = 1;
    rpc_shards_ = rpc_on ? shards : 0;
    shard_count_ = static_cast<size_t>(shards);
    int shard_cpu = io::nth_usable_cpu(0);
    int control_cpu = cpus > 1 ? io::nth_usable_cpu(shards < cpus ? shards : cpus - 1) : -1;
    // One ShardMetrics per listener: the engine listener's, then each shard's rpc listener's.
    rpc_metrics_first_ = config_.role != "rpc" ? 1 : 0;
    size_t listeners = rpc_metrics_first_ + static_cast<size_t>(rpc_shards_);
    for (size_t k = 0; k < listeners; k++)
        metrics_.push_back(std::make_unique<pipeline::ShardMetrics>());
    for (auto& m : metrics_) metrics_view_.push_back(m.get());
    if (rpc_on) EM_TRY_VOID(load_rpc());
    auto features = io::Loop::probe();
    if (!features) return Unexpected(features.error());

    // Read before the threads start: from then on config_ is the control thread's (reload).
    double quorum = config_.engine.fcu_majority;
    std::string role = config_.role;
    uint64_t spin_ns = uint64_t{config_.spin_us} * 1000;
    bool rpc = rpc_on;
    std::string access = admin_access_text(config_.admin);
    control_ = std::make_unique<Control>(*this);
    io::LoopConfig control_config;
    control_config.name = "control";
    control_config.buffer_count = 256;
    control_thread_ = EM_TRY(io::LoopThread::start(control_config, control_cpu, Control::setup,
                                                   Control::teardown, control_.get()));
    EM_TRY_VOID(start_shards(shards, spin_ns));
    char address[80], admin[80] = "off";
    if (control_->admin_server) control_->admin_server->address().format(admin, sizeof admin);
    // Tests and scripts read these two lines to find ports chosen with port 0.
    EM_LOG_FIELDS(
        LogLevel::info,
        (log_field("version", em::version()), log_field("role", std::string_view(role)),
         log_field("nodes", registry_.count()), log_field("shards", shards),
         log_field("shard_cpu", shard_cpu), log_field("control_cpu", control_cpu)),
        "enginemux %s: %s role, %zu nodes, quorum %g, %d shard%s from cpu %d%s, control on cpu %d",
        em::version(), role.c_str(), registry_.count(), quorum, shards, shards > 1 ? "s" : "",
        shard_cpu, spin_ns > 0 ? " (spinning)" : "", control_cpu);
    listen_address_.format(address, sizeof address);
    EM_LOG_FIELDS(LogLevel::info, (log_field("listen", address), log_field("admin", admin)),
                  "listening on %s, admin API on %s", address, admin);
    if (control_->admin_server) EM_LOG_INFO("admin API: %s", access.c_str());
    if (control_->debug_server) {  // tests read the port chosen with port 0 here
        char debug[80];
        control_->debug_server->address().format(debug, sizeof debug);
        EM_LOG_INFO("builder debug server (debug_setExecutionMode) on %s", debug);
    }
    if (rpc) log_rpc_listener();
    return {};
}

Result<void> Daemon::start_shards(int count, uint64_t spin_ns) {
    for (int k = 0; k < count; k++) {
        shards_.push_back(std::make_unique<Shard>(*this, static_cast<size_t>(k)));
        io::LoopConfig shard_config;
        shard_config.name = shards_.back()->name.c_str();
        shard_config.buffer_count = 1024;
        shard_config.spin_ns = spin_ns;
        // In order: shard k > 0 binds the port shard 0's setup chose (LoopThread::start returns
        // once setup has run).
        auto thread = io::LoopThread::start(shard_config, io::nth_usable_cpu(k), Shard::setup,
                                            Shard::teardown, shards_.back().get());
        if (!thread) {
            stop_shards();
            return Unexpected(thread.error().prefix(shards_.back()->name));
        }
        shard_threads_.push_back(std::move(*thread));
    }
    return {};
}

void Daemon::stop_shards() {
    for (auto& thread : shard_threads_) thread->request_stop();
    for (auto& thread : shard_threads_) thread->join();
}

void Daemon::log_rpc_listener() const {
    char rpc[80];
    rpc_address_.format(rpc, sizeof rpc);
    EM_LOG_FIELDS(LogLevel::info, (log_field("rpc_listen", rpc), log_field("shards", rpc_shards_)),
                  "rpc listener on %s (keys %s, cache %s, redis %s, %d shard%s)", rpc,
                  rpc_config_.keys_required ? "required" : "not required",
                  rpc_cache_ ? "on" : "off", rpc_redis_ ? "on" : "off", rpc_shards_,
                  rpc_shards_ > 1 ? "s" : "");
}

namespace {

/// A JWT secret given as a file or inline as hex (`what` names the setting in errors).
Result<http::JwtSecret> builder_secret(const std::string& path, const std::string& hex,
                                       const std::string& what) {
    if (!path.empty()) {
        auto secret = http::load_jwt_secret_file(path.c_str());
        if (!secret) return Unexpected(secret.error().prefix(what));
        return *secret;
    }
    auto secret = http::parse_jwt_secret(hex);
    if (!secret) return Unexpected(secret.error().prefix(what + " (inline token)"));
    return *secret;
}

/// A node of the builder role: the URL parsed, its secret and deadline.
Result<upstream::NodeInfo> builder_node(const std::string& name, const std::string& url,
                                        uint32_t timeout_ms, bool local,
                                        const http::JwtSecret& secret, const Config& config) {
    NodeConfig node;
    EM_TRY_VOID(parse_node_url(url, node));
    node.name = name;
    node.url = url;
    node.timeout_ms = timeout_ms;
    // The local EL is the one voter (the health board's primary); builders are mirrors.
    node.role = local ? NodeRole::voter : NodeRole::mirror;
    return make_node_info(node, config, &secret);
}

}  // namespace

Result<void> Daemon::load_builder_nodes(bool have_cl_secret) {
    const BuilderRoleConfig& b = config_.builder;
    http::JwtSecret l2_secret =
        EM_TRY(builder_secret(b.l2.jwt_secret_path, b.l2.jwt_secret_hex, "[l2] jwt secret"));
    if (!have_cl_secret) cl_secret_ = l2_secret;  // op-node keeps signing with the L2's secret
    // "local" is the name no builder may take (validate_builder), and the metrics' source label.
    upstream::NodeInfo local =
        EM_TRY(builder_node("local", b.l2.url, b.l2.timeout_ms, true, l2_secret, config_));
    EM_TRY_VOID(check_node_endpoint(local));
    size_t slot = EM_TRY(registry_.add(std::move(local)));
    for (const BuilderEndpointConfig& e : b.builders) {
        http::JwtSecret secret = EM_TRY(
            builder_secret(e.jwt_secret_path, e.jwt_secret_hex, "builder " + e.name + " jwt"));
        upstream::NodeInfo info =
            EM_TRY(builder_node(e.name, e.url, e.timeout_ms, false, secret, config_));
        EM_TRY_VOID(check_node_endpoint(info));
        EM_TRY(registry_.add(std::move(info)));
    }
    pipeline::BuilderSharedConfig shared;
    shared.local = slot;
    shared.mode = b.execution_mode;
    shared.breaker = {b.breaker_failures, b.breaker_window_s * 1000, b.breaker_cooldown_s * 1000};
    shared.max_unsafe_interval_s = b.max_unsafe_interval_s;
    builder_shared_ = std::make_unique<pipeline::BuilderShared>(shared);
    pipeline::BuilderSettings& s = builder_config_.settings;
    s.local = slot;
    s.get_payload_deadline_ms = b.get_payload_deadline_ms;
    s.selection = b.block_selection;
    s.shared = builder_shared_.get();
    builder_config_.eth_timeout_ms = config_.engine.eth_timeout_ms;
    return {};
}

Result<void> Daemon::load_rpc() {
    const RpcConfig& r = config_.rpc;
    rpc_config_.policy = rpc_policy_config(r);
    for (const std::string& text : r.trusted_proxies)
        rpc_config_.trusted_proxies.push_back(*io::IpNetwork::parse(text));  // validate() checked
    listener::RpcWsConfig& ws = rpc_config_.ws;
    ws.ws.send_queue_bytes = r.ws.send_queue_bytes;
    ws.ws.close_linger_ms = r.ws.close_linger_ms;
    uint64_t message_max =
        r.ws.message_bytes_max ? r.ws.message_bytes_max : config_.limits.body_bytes_max;
    ws.ws.limits.message_bytes_max = ws.ws.limits.frame_bytes_max = message_max;
    ws.connections_max = r.ws.connections_max;
    ws.subscriptions_per_connection_max = r.ws.subscriptions_per_connection_max;
    ws_grown_budget_ = std::make_unique<ByteBudget>(r.ws.grown_buffers_bytes_max);
    ws.ws.grown_budget = ws_grown_budget_.get();
    if (!r.api_keys_file.empty()) {
        rpc_config_.keys_required = true;
        rpc_config_.keys = EM_TRY(read_api_keys(r.api_keys_file));
    }
    pipeline::rpc::BreakerConfig breaker;
    breaker.failures = r.breaker_failures;
    breaker.window_ms = r.breaker_window_ms;
    breaker.cooldown_ms = r.breaker_cooldown_ms;
    rpc_breakers_ = std::make_unique<pipeline::rpc::BreakerBoard>(breaker);
    // Three 12-s slots without a forkchoiceUpdated: the CL is gone, the probes know better.
    constexpr uint64_t cl_head_stale_ns = 36'000'000'000ull;
    if (config_.role == "mux" || config_.role == "sync")
        cl_head_ = std::make_unique<pipeline::ClHead>(cl_head_stale_ns);
    // One sticky table and one filter table for every shard: a client's floor and its filters
    // hold whichever shard its next connection lands on (docs/ARCHITECTURE.md, "Sharding").
    const pipeline::rpc::PolicyConfig& policy = rpc_config_.policy;
    rpc_sticky_ =
        std::make_unique<pipeline::rpc::StickyTable>(pipeline::rpc::sticky_table_size(policy));
    rpc_filters_ = std::make_unique<pipeline::rpc::FilterTable>(policy.filters_max);
    rpc_sticky_key_ = listener::random_sticky_key();
    if (r.cache_bytes_max)
        rpc_cache_ = std::make_unique<pipeline::rpc::AnswerCache>(r.cache_bytes_max);
    const RpcLimitsConfig& l = r.limits;
    if (l.client_rps > 0 || l.client_concurrency > 0) {
        pipeline::rpc::BudgetConfig b;
        b.rate_per_s = l.client_rps;
        b.burst = l.client_burst > 0 ? l.client_burst : (l.client_rps > 1 ? l.client_rps : 1);
        b.concurrency = l.client_concurrency;
        rpc_client_budgets_ = std::make_unique<pipeline::rpc::Budgets>(b);
    }
    if (l.key_rps > 0) {
        pipeline::rpc::BudgetConfig b;
        b.rate_per_s = l.key_rps;
        b.burst = l.key_burst > 0 ? l.key_burst : (l.key_rps > 1 ? l.key_rps : 1);
        rpc_key_budgets_ = std::make_unique<pipeline::rpc::Budgets>(b);
    }
    if (!r.redis.url.empty()) {
        // Resolved once, here (blocking); the shard's client connects (and reconnects) to it.
        redis::ClientConfig base;
        base.timeout_ms = r.redis.timeout_ms;
        auto redis = redis::client_config(r.redis.url, base);
        if (!redis) return Unexpected(redis.error().prefix("[rpc.redis] url"));
        rpc_redis_ = std::make_unique<redis::ClientConfig>(std::move(*redis));
    }
    return load_heads_feed();
}

Result<void> Daemon::load_heads_feed() {
    std::vector<listener::FeedNode> nodes;
    bool any = false;
    for (const NodeConfig& node : config_.nodes) {
        listener::FeedNode& f = nodes.emplace_back();
        f.name = node.name;
        if (node.ws_url.empty()) continue;
        auto address = io::resolve(node.ws_host, node.ws_port);
        if (!address) return Unexpected(address.error().prefix("node " + node.name + " ws_url"));
        f.has_ws = any = true;
        f.address = *address;
        f.host = node.ws_host + ":" + std::to_string(node.ws_port);
        f.target = node.ws_path;
    }
    if (!any) return {};
    pipeline::subs::HubConfig hub;
    hub.max_head_lag_blocks = config_.rpc.max_head_lag_blocks;
    heads_feed_ = std::make_unique<listener::HeadsFeed>(hub, std::move(nodes));
    heads_feed_->set_health(&board_);
    heads_feed_->start();
    return {};
}

Result<void> Daemon::run() {
    auto started = start();
    if (!started) {
        if (control_thread_) {
            control_thread_->request_stop();
            control_thread_->join();
        }
        return started;
    }
    io::notify_service_manager("READY=1");
    for (auto& thread : shard_threads_) thread->join();
    if (heads_feed_) heads_feed_->stop();
    control_thread_->request_stop();
    control_thread_->join();
    EM_LOG_INFO("enginemux stopped");
    return {};
}

void Daemon::request_shutdown() {
    io::notify_service_manager("STOPPING=1");
    std::lock_guard lock(shard_mutex_);
    shutdown_requested_ = true;
    for (Shard* shard : shards_live_) shard->loop->request_stop();
}

void Daemon::post_heartbeat() {
    std::lock_guard lock(shard_mutex_);
    for (Shard* shard : shards_live_) {
        // A full queue means the shard is not draining it: no stamp, and the watchdog says so.
        (void)shard->loop->post(io::Task{[](void* s, uint64_t) {
                                             static_cast<Shard*>(s)->heartbeat_ns.store(
                                                 mono_ns(), std::memory_order_release);
                                         },
                                         shard, 0});
    }
}

uint64_t Daemon::oldest_heartbeat_ns() {
    std::lock_guard lock(shard_mutex_);
    if (shards_live_.size() < shard_count_) return 0;  // still starting
    uint64_t oldest = UINT64_MAX;
    for (Shard* shard : shards_live_)
        oldest = std::min(oldest, shard->heartbeat_ns.load(std::memory_order_acquire));
    return oldest == UINT64_MAX ? 0 : oldest;
}

void Daemon::broadcast_node_change(size_t index) {
    if (rpc_breakers_) rpc_breakers_->reset(index);  // a new node starts with a closed breaker
    // A shard not live yet reads the registry in its setup, under this lock.
    std::lock_guard lock(shard_mutex_);
    for (Shard* shard : shards_live_) {
        bool posted = shard->loop->post(io::Task{
            [](void* s, uint64_t i) { static_cast<Shard*>(s)->refresh_node(i); }, shard, index});
        // Full only when the shard has not drained 8,192 posts: it is stuck, and says so
        // elsewhere.
        if (!posted)
            EM_LOG_ERROR("node change for slot %zu lost: %s's queue is full", index,
                         shard->name.c_str());
    }
}

Result<void> Daemon::load_sync() {
    sync_config_.policy = sync_policy_config(config_);
    sync_config_.trusted_proxies = trusted_proxies(config_.sync);
    for (const SyncClientConfig& client : config_.sync.clients) {
        auto secret = http::load_jwt_secret_file(client.jwt_secret_path.c_str());
        if (!secret) return Unexpected(secret.error().prefix("[[sync.clients]] " + client.name));
        sync_config_.clients.push_back({client.name, *secret});
    }
    return load_sync_proxies();
}

Result<void> Daemon::load_sync_proxies() {
    sync_config_.proxy_request_timeout_ms = config_.sync.proxy_request_timeout_ms;
    for (size_t i = 0; i < config_.sync.proxies.size(); i++) {
        NodeConfig proxy = EM_TRY(parse_node_spec(config_.sync.proxies[i]));
        if (proxy.name.empty()) proxy.name = "proxy" + std::to_string(i + 1);
        upstream::NodeInfo info = EM_TRY(make_node_info(proxy, config_, &cl_secret_));
        // Not enginemux's own listener: every mirrored call would come back as a new one.
        EM_TRY_VOID(check_node_endpoint(info, {}));
        sync_proxy_names_.push_back(proxy.name);
        sync_config_.proxies.push_back(info.options);
    }
    return {};
}

Result<void> Daemon::check_node_endpoint(const upstream::NodeInfo& info) const {
    const upstream::NodeInfo* others[upstream::nodes_max];
    size_t count = 0;
    for (size_t i = 0; i < upstream::nodes_max; i++)
        if (const upstream::NodeInfo* other = registry_.get(i)) others[count++] = other;
    return check_node_endpoint(info, std::span(others, count));
}

Result<void> Daemon::check_node_endpoint(const upstream::NodeInfo& info,
                                         std::span<const upstream::NodeInfo* const> others) const {
    const http::Endpoint& want = info.options.endpoint;
    char text[80];
    for (const upstream::NodeInfo* other : others) {
        if (!io::same_endpoint(other->options.endpoint.address, want.address) ||
            other->options.endpoint.target != want.target)
            continue;
        return failf(Errc::invalid_input,
                     "node %s is the same endpoint as node %s (%s%s): one execution client would "
                     "count twice in every vote",
                     info.name.c_str(), other->name.c_str(), want.address.format(text, sizeof text),
                     want.target.c_str());
    }
    // Before start the listeners are not bound yet: compare with what they will bind.
    struct Own {
        const char* what;
        io::Address address;
    } own[3];
    size_t owns = 0;
    bool bound = listen_bound_.load(std::memory_order_acquire);  // both listeners' addresses set
    if (bound) {
        own[owns++] = {"CL listener", listen_address_};
    } else if (auto a = io::resolve(config_.listen_addr, config_.port)) {
        own[owns++] = {"CL listener", *a};
    }
    if (rpc_enabled(config_) && bound) {
        own[owns++] = {"rpc listener", rpc_address_};
    } else if (rpc_enabled(config_)) {
        if (auto a = rpc_listen_address(config_)) own[owns++] = {"rpc listener", *a};
    }
    if (control_ && control_->admin_server) {
        own[owns++] = {"admin API", control_->admin_server->address()};
    } else if (!config_.admin.listen.empty()) {
        if (auto a = io::resolve(config_.admin.listen)) own[owns++] = {"admin API", *a};
    }
    for (size_t k = 0; k < owns; k++) {
        if (!io::reaches_listener(want.address, own[k].address)) continue;
        return failf(Errc::invalid_input,
                     "node %s (%s) is enginemux's own %s: give the execution client's Engine API "
                     "address",
                     info.name.c_str(), want.address.format(text, sizeof text), own[k].what);
    }
    return {};
}

namespace {

/// The builder role's nodes are [l2] and [[builders]]: not changed through the admin API.
Result<void> nodes_fixed(const Config& config) {
    if (config.role != "builder") return {};
    return fail(Errc::unsupported,
                "role builder: the local EL and the builders come from [l2] and [[builders]] "
                "(--l2-url, --builder-url); restart enginemux to change them");
}

}  // namespace

Result<std::string> Daemon::add_node(std::string_view spec) {
    EM_TRY_VOID(nodes_fixed(config_));
    NodeConfig node = EM_TRY(parse_node_spec(spec));
    if (node.name.empty()) node.name = "node" + std::to_string(registry_.count() + 1);
    if (registry_.find(node.name) >= 0)
        return failf(Errc::invalid_input, "a node named '%s' exists already", node.name.c_str());
    // Never the CL's secret for a node added at run time: whoever added it would collect tokens
    // the CL's side accepts (issue 19). Its own secret, from where the operator keeps them.
    if (node.jwt_secret_path.empty())
        return failf(Errc::invalid_input,
                     "nodes added at run time need their own #jwt-secret=PATH, a file under "
                     "[admin] secrets_dir %s",
                     config_.admin.secrets_dir.c_str());
    node.jwt_secret_path =
        EM_TRY(resolve_runtime_secret(node.jwt_secret_path, config_.admin.secrets_dir));
    upstream::NodeInfo info = EM_TRY(make_node_info(node, config_, nullptr));
    EM_TRY_VOID(check_node_endpoint(info));
    size_t index = EM_TRY(registry_.add(std::move(info)));
    broadcast_node_change(index);
    if (control_ && control_->prober) control_->prober->recheck();
    EM_LOG_FIELDS(LogLevel::info, (log_field("node", node.name), log_field("url", node.url)),
                  "admin: added node %s (%s)", node.name.c_str(), node.url.c_str());
    return node.name;
}

Result<void> Daemon::remove_node(std::string_view name) {
    EM_TRY_VOID(nodes_fixed(config_));
    int index = registry_.find(name);
    if (index < 0)
        return failf(Errc::not_found, "no node named '%.*s'", static_cast<int>(name.size()),
                     name.data());
    size_t voters = 0;
    for (size_t i = 0; i < upstream::nodes_max; i++) {
        const upstream::NodeInfo* info = registry_.get(i);
        if (info && info->role == upstream::NodeRole::voter) voters++;
    }
    if (registry_.get(static_cast<size_t>(index))->role == upstream::NodeRole::voter && voters <= 1)
        return fail(Errc::invalid_input, "cannot remove the last voting node");
    registry_.remove(static_cast<size_t>(index));
    broadcast_node_change(static_cast<size_t>(index));
    if (control_ && control_->prober) control_->prober->recheck();
    EM_LOG_FIELDS(LogLevel::info, (log_field("node", name)), "admin: removed node %.*s",
                  static_cast<int>(name.size()), name.data());
    return {};
}

void Daemon::recheck() {
    if (control_ && control_->prober) control_->prober->recheck();
}

Result<std::string> Daemon::reload() {
    Result<std::string> done = [&]() -> Result<std::string> {
        {
            std::lock_guard lock(shard_mutex_);
            if (shards_live_.empty() || shards_live_.size() < shard_count_)
                return fail(Errc::busy, "enginemux is still starting; reload once it listens");
        }
        Config next;
        if (reload_args_.empty()) {
            if (config_.config_path.empty())
                return fail(Errc::invalid_input, "no --config file to re-read");
            next = EM_TRY(load_file(config_.config_path));
            next.config_path = config_.config_path;
        } else {
            std::vector<const char*> argv;
            for (const std::string& a : reload_args_) argv.push_back(a.c_str());
            LoadOutcome outcome =
                EM_TRY(load(static_cast<int>(argv.size()), argv.data(), next, environment));
            if (outcome != LoadOutcome::run)
                return fail(Errc::invalid_input, "the command line asks for help or the version");
        }
        return reload_from(std::move(next));
    }();
    if (done)
        EM_LOG_FIELDS(LogLevel::info, (log_field("changes", *done)), "reload: %s", done->c_str());
    else
        EM_LOG_FIELDS(LogLevel::warn, (log_field("reason", done.error().message())),
                      "reload refused, the running configuration stays: %s", done.error().c_str());
    return done;
}

Result<std::string> Daemon::reload_from(Config next) {
    // The builder role's nodes come from [l2] and [[builders]], which a reload does not re-read
    // yet (a node plan from [[nodes]] would remove them all).
    if (config_.role == "builder")
        return fail(Errc::unsupported,
                    "role builder: a reload is not supported yet; restart enginemux to apply "
                    "changes");
    SettingsDiff diff = diff_settings(config_, next);
    if (!diff.restart_only.empty())
        return failf(Errc::invalid_input, "these settings take effect only at a restart: %s",
                     join(diff.restart_only).c_str());
    // The CL's secret file is read again even when its path is the same (a rotated secret).
    // The rpc role alone may have none.
    http::JwtSecret cl_secret{};
    bool have_cl_secret = !next.jwt_secret_path.empty();
    if (have_cl_secret) {
        auto loaded = http::load_jwt_secret_file(next.jwt_secret_path.c_str());
        if (!loaded) return Unexpected(loaded.error().prefix("jwt_secret"));
        cl_secret = *loaded;
    }
    std::vector<std::string> changes = std::move(diff.live);
    if (cl_secret.key != cl_secret_.key) changes.push_back("the CL's JWT secret");

    // Every node of the next configuration, built and checked before anything is applied.
    std::vector<upstream::NodeInfo> infos;
    infos.reserve(next.nodes.size());
    const upstream::NodeInfo* checked[upstream::nodes_max];
    for (const NodeConfig& node : next.nodes) {
        infos.push_back(EM_TRY(make_node_info(node, next, have_cl_secret ? &cl_secret : nullptr)));
        for (size_t k = 0; k + 1 < infos.size(); k++) checked[k] = &infos[k];
        EM_TRY_VOID(check_node_endpoint(infos.back(), std::span(checked, infos.size() - 1)));
    }
    NodePlans plan = plan_nodes(registry_, infos, changes);

    // Apply. Nodes: additions first while slots are free, so a CL never sees fewer voters than
    // either configuration has; a full registry frees the removed slots first.
    EM_TRY_VOID(post_shard_settings(next, cl_secret));
    bool room = registry_.count() + plan.adds <= upstream::nodes_max;
    auto remove_gone = [&] {
        for (size_t i : plan.gone) {
            registry_.remove(i);
            broadcast_node_change(i);
        }
    };
    if (!room) remove_gone();
    for (size_t k = 0; k < infos.size(); k++) {
        auto [step, slot] = plan.plans[k];
        if (step == Plan::keep) continue;
        if (step == Plan::replace) {
            EM_TRY_VOID(registry_.replace(static_cast<size_t>(slot), std::move(infos[k])));
            broadcast_node_change(static_cast<size_t>(slot));
        } else {
            size_t index = EM_TRY(registry_.add(std::move(infos[k])));
            broadcast_node_change(index);
        }
    }
    if (room) remove_gone();
    cl_secret_ = cl_secret;
    log_set_level(next.log_level);
    if (control_) {
        if (control_->prober) {
            control_->prober->set_config(prober_config(next));
            control_->prober->recheck();  // new nodes now, and every node under the new rules
        }
        if (control_->admin_handler) control_->admin_handler->set_quorum(next.engine.fcu_majority);
    }
    config_ = std::move(next);
    return changes.empty() ? std::string("nothing changed") : join(changes);
}

Result<void> Daemon::post_shard_settings(const Config& next, const http::JwtSecret& cl_secret) {
    ShardSettings settings;
    settings.cl_secret = cl_secret;
    settings.policy = policy_config(next.engine);
    settings.sync = sync_policy_config(next);
    settings.trusted_proxies = trusted_proxies(next.sync);
    set_client_deadlines(settings.deadlines, next.limits);
    settings.drain_ms = next.limits.shutdown_drain_ms;
    settings.poll_us = next.engine.poll_us;
    std::lock_guard lock(shard_mutex_);
    if (shards_live_.empty()) return fail(Errc::busy, "the shards are not running");
    // Each shard gets its own copy. A full queue (a stuck shard) stops here: the shards before
    // it have the new settings, and the reload is refused so the operator tries again.
    for (Shard* shard : shards_live_) {
        auto copy = std::make_unique<ShardSettings>(settings);
        uint64_t arg = reinterpret_cast<uint64_t>(copy.get());
        if (!shard->loop->post(io::Task{Shard::apply_settings, shard, arg}))
            return failf(Errc::busy, "%s's queue is full; try again", shard->name.c_str());
        (void)copy.release();  // not lost: the posted task holds it, the shard owns it now
    }
    return {};
}

}  // namespace em::app
