#include "base/version.h"
#include "app/daemon.h"

#include <cstdio>

#include "app/runtime_secret.h"
#include "base/clock.h"
#include "base/log.h"
#include "http/server.h"
#include "http/tls.h"
#include "io/signals.h"
#include "listener/engine_listener.h"
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

}  // namespace

Result<upstream::NodeInfo> make_node_info(const NodeConfig& node, const Config& config,
                                          const http::JwtSecret* default_secret) {
    upstream::NodeInfo info;
    info.name = node.name;
    info.url = node.url;
    info.role = node.role == NodeRole::voter ? upstream::NodeRole::voter : upstream::NodeRole::mirror;
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

struct Daemon::Shard {
    explicit Shard(Daemon& d) : daemon(d) {}
    Daemon& daemon;
    io::Loop* loop = nullptr;
    std::unique_ptr<listener::EngineListener> listener;
    std::unique_ptr<http::Server> server;
    uint64_t drain_deadline_ns = UINT64_MAX;

    static Result<void> setup(io::Loop& loop, void* ctx) {
        Shard* self = static_cast<Shard*>(ctx);
        Daemon& d = self->daemon;
        self->loop = &loop;
        const Config& c = d.config_;
        listener::ListenerConfig lc;
        lc.cl_secret = d.cl_secret_;
        lc.policy.quorum = *engine::Quorum::from_fraction(c.engine.fcu_majority);
        lc.policy.timeout_cap_ms = c.engine.timeout_ms;
        lc.policy.verify_block_hash = c.engine.verify_block_hash;
        lc.policy.eth_timeout_ms = c.engine.eth_timeout_ms;
        lc.core.strict_payload_fields = c.engine.strict_payload_fields;
        lc.core.payload_id_lifetime_s = c.engine.payload_id_lifetime_s;
        lc.core.payload_ids_max = c.engine.payload_ids_max;
        lc.core.in_flight_max = c.limits.in_flight_max;
        lc.core.body_bytes_max = c.limits.body_bytes_max;
        lc.core.batch_entries_max = c.limits.batch_entries_max;
        self->listener = std::make_unique<listener::EngineListener>(loop, lc, d.registry_,
                                                                    d.board_, *d.metrics_[0]);
        http::ServerConfig sc;
        sc.limits.body_bytes_max = c.limits.body_bytes_max;
        sc.limits.header_bytes_max = c.limits.header_bytes_max;
        sc.connections_max = c.limits.connections_max;
        sc.header_timeout_ms = c.limits.header_timeout_ms;
        sc.body_timeout_ms = c.limits.body_timeout_ms;
        sc.body_rate_min_bytes_s = c.limits.body_rate_min_bytes_s;
        sc.idle_timeout_ms = c.limits.idle_timeout_ms;
        sc.name = "engine";
        sc.stats = &d.metrics_[0]->http;
        sc.body_budget = &d.body_budget_;
        auto address = io::resolve(c.listen_addr, c.port);
        if (!address) return Unexpected(address.error().prefix("--listen-addr"));
        self->server = std::make_unique<http::Server>();
        EM_TRY_VOID(self->server->listen(loop, *address, *self->listener, sc));
        d.listen_address_ = self->server->address();
        d.listen_bound_.store(true, std::memory_order_release);  // the admin thread reads it
        loop.set_drain_check(drained, self);
        self->go_live();
        return {};
    }

    /// Lets the control thread post to this shard from now on. The admin API may have changed
    /// the registry since the listener read it: read it again under the same lock as the posts
    /// (refresh_node does nothing for a slot that did not change), so no change is missed.
    void go_live() {
        std::lock_guard lock(daemon.shard_mutex_);
        daemon.shard_live_ = this;
        for (size_t i = 0; i < upstream::nodes_max; i++) listener->refresh_node(i);
        if (daemon.shutdown_requested_) loop->request_stop();
    }

    static bool drained(void* ctx) {
        Shard* self = static_cast<Shard*>(ctx);
        if (self->drain_deadline_ns == UINT64_MAX) self->begin_shutdown();
        bool idle = self->server->connections() == 0 && self->listener->busy() == 0;
        if (!idle && self->loop->now_ns() >= self->drain_deadline_ns) {
            EM_LOG_WARN("shutdown: %u requests still in flight after the drain limit; stopping",
                        self->server->requests_in_flight());
            return true;
        }
        return idle;
    }

    void begin_shutdown() {
        drain_deadline_ns = loop->now_ns() + uint64_t{daemon.config_.limits.shutdown_drain_ms} * 1'000'000ull;
        EM_LOG_INFO("shutdown: no new connections; draining %u in-flight requests",
                    server->requests_in_flight());
        server->shutdown();
    }

    static void teardown(io::Loop&, void* ctx) {
        Shard* self = static_cast<Shard*>(ctx);
        self->server.reset();
        self->listener.reset();
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
    io::SignalWatcher signals;
    uint64_t started_ns = mono_ns();

    static Result<void> setup(io::Loop& loop, void* ctx) {
        Control* self = static_cast<Control*>(ctx);
        Daemon& d = self->daemon;
        const Config& c = d.config_;
        self->loop = &loop;
        upstream::ProberConfig pc;
        pc.interval_ms = c.health.interval_ms;
        pc.timeout_ms = c.health.timeout_ms;
        pc.block_age_max_s = c.health.block_age_max_s;
        pc.failback_hold_ms = c.health.failback_hold_ms;
        pc.log_timings = c.node_timings;
        self->prober = std::make_unique<upstream::Prober>(loop, d.registry_, d.board_, pc);
        if (!c.admin.listen.empty()) {
            admin::AdminContext ac;
            ac.version = em::version();
            ac.role = "mux";
            ac.quorum = c.engine.fcu_majority;
            ac.started_ns = self->started_ns;
            ac.registry = &d.registry_;
            ac.board = &d.board_;
            ac.shards = d.metrics_view_;
            ac.actions = &d;
            ac.body_budget = &d.body_budget_;
            if (!c.admin.token_file.empty()) {
                FILE* f = std::fopen(c.admin.token_file.c_str(), "r");
                if (!f) return failf(Errc::invalid_input, "admin token file %s cannot be read", c.admin.token_file.c_str());
                char token[256] = {};
                size_t n = std::fread(token, 1, sizeof token - 1, f);
                std::fclose(f);
                while (n > 0 && (token[n - 1] == '\n' || token[n - 1] == '\r' || token[n - 1] == ' ')) n--;
                if (n < 16) return failf(Errc::invalid_input, "admin token in %s is shorter than 16 characters", c.admin.token_file.c_str());
                ac.token.assign(token, n);
            }
            ac.protect_reads = c.admin.protect_reads;
            self->admin_handler = std::make_unique<admin::AdminHandler>(std::move(ac));
            auto address = io::resolve(c.admin.listen);
            if (!address) return Unexpected(address.error().prefix("--admin-listen"));
            http::ServerConfig sc;
            sc.connections_max = 64;
            sc.limits.body_bytes_max = 1u << 20;
            sc.name = "admin";
            sc.body_budget = &d.body_budget_;
            self->admin_server = std::make_unique<http::Server>();
            EM_TRY_VOID(self->admin_server->listen(loop, *address, *self->admin_handler, sc));
        }
        EM_TRY_VOID(self->signals.start(loop, on_signal, self));
        // Last: once probes are on the wire, their connections must be torn down by teardown
        // after run(), which a failed setup never reaches.
        self->prober->start();
        return {};
    }

    static void on_signal(int signal_number, void* ctx) {
        Control* self = static_cast<Control*>(ctx);
        if (signal_number == SIGHUP) {
            EM_LOG_INFO("SIGHUP: re-checking every node");
            self->prober->recheck();
            return;
        }
        const char* name = signal_number == SIGINT ? "SIGINT" : "SIGTERM";
        EM_LOG_FIELDS(LogLevel::info, (log_field("signal", name)), "%s: shutting down", name);
        self->daemon.request_shutdown();
    }

    static void teardown(io::Loop&, void* ctx) {
        Control* self = static_cast<Control*>(ctx);
        self->admin_server.reset();
        self->admin_handler.reset();
        self->prober.reset();
    }
};

Daemon::Daemon(Config config)
    : config_(std::move(config)), body_budget_(config_.limits.buffered_body_bytes_max) {}

Daemon::~Daemon() {
    shard_thread_.reset();
    control_thread_.reset();
}

Result<void> Daemon::start() {
    log_set_level(config_.log_level);
    log_set_format(config_.log_format);
    auto cl_secret = http::load_jwt_secret_file(config_.jwt_secret_path.c_str());
    if (!cl_secret) return Unexpected(cl_secret.error().prefix("--jwt-secret"));
    cl_secret_ = *cl_secret;
    for (const NodeConfig& node : config_.nodes) {
        upstream::NodeInfo info = EM_TRY(make_node_info(node, config_, &cl_secret_));
        EM_TRY_VOID(check_node_endpoint(info));
        EM_TRY(registry_.add(std::move(info)));
    }
    metrics_.push_back(std::make_unique<pipeline::ShardMetrics>());
    metrics_view_.push_back(metrics_.back().get());
    auto features = io::Loop::probe();
    if (!features) return Unexpected(features.error());

    int cpus = io::usable_cpu_count();
    int shards = config_.shards > 0 ? config_.shards : (cpus > 1 ? cpus - 1 : 1);
    // The mux role runs its engine pipeline on one shard (see docs/ARCHITECTURE.md); the
    // control thread takes the next core when there is one.
    int shard_cpu = io::nth_usable_cpu(0);
    int control_cpu = cpus > 1 ? io::nth_usable_cpu(shards < cpus ? shards : cpus - 1) : -1;

    control_ = std::make_unique<Control>(*this);
    io::LoopConfig control_config;
    control_config.name = "control";
    control_config.buffer_count = 256;
    control_thread_ = EM_TRY(io::LoopThread::start(control_config, control_cpu, Control::setup,
                                                   Control::teardown, control_.get()));
    shard_ = std::make_unique<Shard>(*this);
    io::LoopConfig shard_config;
    shard_config.name = "shard0";
    shard_config.buffer_count = 1024;
    shard_config.spin_ns = uint64_t{config_.spin_us} * 1000;
    shard_thread_ = EM_TRY(io::LoopThread::start(shard_config, shard_cpu, Shard::setup, Shard::teardown,
                                                 shard_.get()));
    char address[80], admin[80] = "off";
    if (control_->admin_server) control_->admin_server->address().format(admin, sizeof admin);
    // Tests and scripts read these two lines to find ports chosen with port 0.
    EM_LOG_FIELDS(LogLevel::info,
                  (log_field("version", em::version()), log_field("role", "mux"),
                   log_field("nodes", registry_.count()), log_field("shard_cpu", shard_cpu),
                   log_field("control_cpu", control_cpu)),
                  "enginemux %s: mux role, %zu nodes, quorum %g, engine shard on cpu %d%s, control on cpu %d",
                  em::version(), registry_.count(), config_.engine.fcu_majority, shard_cpu,
                  config_.spin_us ? " (spinning)" : "", control_cpu);
    listen_address_.format(address, sizeof address);
    EM_LOG_FIELDS(LogLevel::info, (log_field("listen", address), log_field("admin", admin)),
                  "listening on %s, admin API on %s", address, admin);
    if (control_->admin_server) EM_LOG_INFO("admin API: %s", admin_access_text(config_.admin));
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
    shard_thread_->join();
    control_thread_->request_stop();
    control_thread_->join();
    EM_LOG_INFO("enginemux stopped");
    return {};
}

void Daemon::request_shutdown() {
    std::lock_guard lock(shard_mutex_);
    shutdown_requested_ = true;
    if (shard_live_) shard_live_->loop->request_stop();
}

void Daemon::broadcast_node_change(size_t index) {
    std::lock_guard lock(shard_mutex_);
    if (!shard_live_) return;  // not started: its setup reads the registry under this lock
    bool posted = shard_live_->loop->post(io::Task{
        [](void* shard, uint64_t i) { static_cast<Shard*>(shard)->listener->refresh_node(i); },
        shard_live_, index});
    // Full only when the shard has not drained 8,192 posts: it is stuck, and says so elsewhere.
    if (!posted) EM_LOG_ERROR("node change for slot %zu lost: the engine shard's queue is full", index);
}

Result<void> Daemon::check_node_endpoint(const upstream::NodeInfo& info) const {
    const http::Endpoint& want = info.options.endpoint;
    char text[80];
    for (size_t i = 0; i < upstream::nodes_max; i++) {
        const upstream::NodeInfo* other = registry_.get(i);
        if (!other || !io::same_endpoint(other->options.endpoint.address, want.address) ||
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
    } own[2];
    size_t owns = 0;
    if (listen_bound_.load(std::memory_order_acquire)) {
        own[owns++] = {"CL listener", listen_address_};
    } else if (auto a = io::resolve(config_.listen_addr, config_.port)) {
        own[owns++] = {"CL listener", *a};
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

Result<std::string> Daemon::add_node(std::string_view spec) {
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
    int index = registry_.find(name);
    if (index < 0)
        return failf(Errc::not_found, "no node named '%.*s'", static_cast<int>(name.size()), name.data());
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

}  // namespace em::app
