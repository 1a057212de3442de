#include "validator/daemon.h"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "base/assert.h"
#include "base/clock.h"
#include "base/log.h"
#include "http/bearer.h"
#include "http/writer.h"
#include "io/file.h"
#include "io/file_watch.h"
#include "net/client.h"
#include "net/server.h"
#include "validator/etcd_lease.h"
#include "validator/peer_lease.h"
#include "validator/permit.h"
#include "validator/process.h"
#include "validator/rpc.h"

namespace em::validator {

namespace {

constexpr size_t record_bytes_max = 4096;
constexpr size_t rpc_body_bytes_max = 512 * 1024;  ///< /net_info with a few hundred peers
constexpr size_t control_body_bytes_max = 4096;
constexpr uint32_t pending_replies_max = 16;  ///< peer requests awaiting a record write
constexpr uint32_t shutdown_wait_ms = 5'000;  ///< bound on the graceful hand-over at exit

/// "http://host:port[/prefix]" into an endpoint and a path prefix ("" for none).
Result<void> parse_http_url(const std::string& url, http::Endpoint& endpoint, std::string& prefix) {
    std::string_view rest = std::string_view(url).substr(7);
    size_t slash = rest.find('/');
    std::string_view authority = rest.substr(0, slash);
    prefix = slash == std::string_view::npos ? "" : std::string(rest.substr(slash));
    if (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
    auto address = io::resolve(authority);
    if (!address) return Unexpected(address.error().prefix(url));
    endpoint.address = *address;
    endpoint.host_header = std::string(authority);
    return {};
}

Result<http::Endpoint> endpoint_of(const std::string& host_port) {
    http::Endpoint e;
    auto address = io::resolve(host_port);
    if (!address) return Unexpected(address.error().prefix(host_port));
    e.address = *address;
    e.host_header = host_port;
    return e;
}

uint64_t seed_u64() {
    uint64_t v = 0;
    if (getrandom(&v, sizeof v, 0) != static_cast<ssize_t>(sizeof v)) v = mono_ns() ^ wall_ns();
    return v;
}

/// The bearer token of an Authorization header ("" if none).
std::string_view bearer(std::string_view authorization) {
    constexpr std::string_view prefix = "Bearer ";
    if (authorization.size() > prefix.size() && http::iequals(authorization.substr(0, 7), prefix)) {
        return authorization.substr(prefix.size());
    }
    return {};
}

}  // namespace

class ValidatorGuard::Impl final : public GuardIo,
                                   public GuardClock,
                                   public RecordStore,
                                   public PeerLink,
                                   public ReplySink,
                                   public EtcdLink,
                                   public ProcessEvents {
  public:
    Impl(io::Loop& loop, const ValidatorConfig& config);
    Result<void> open();
    void start();
    void shutdown();
    bool done();
    void write_status_json(ByteBuffer& out);
    void write_metrics(ByteBuffer& out);

    // GuardClock: boot time, so that a suspend counts against the lease and the permit.
    uint64_t mono_ns() override { return em::boot_ns(); }
    int64_t wall_ns() override { return static_cast<int64_t>(em::wall_ns()) + wall_offset_ns_; }
    uint64_t random_u64() override {
        uint64_t z = (rng_ += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    // GuardIo
    void start_validator() override { process_->start(); }
    void stop_validator() override { process_->stop(); }
    void write_state(const SignState& state) override;
    void read_state() override;
    void set_permit(uint64_t deadline_ns, uint64_t epoch) override;
    // RecordStore
    void write_record(const GuardRecord& record) override;
    // PeerLink / ReplySink
    void send(std::string_view path, std::string_view body, std::string_view token,
              uint64_t deadline_ns) override;
    void reply(uint64_t id, int status, std::string_view body, std::string_view token) override;
    // EtcdLink
    void post(std::string_view path, std::string_view body, uint64_t deadline_ns) override;
    // ProcessEvents
    void on_validator_started(const Error* error) override { core_.on_validator_started(error); }
    void on_validator_stopped(const Error* error) override;
    void on_validator_exited(int status) override;

    /// A GuardClock time as a deadline on the loop's clock (CLOCK_MONOTONIC).
    uint64_t loop_deadline(uint64_t guard_ns) {
        uint64_t now = em::boot_ns();
        return em::mono_ns() + (guard_ns > now ? guard_ns - now : 0);
    }

    io::Loop& loop_;
    ValidatorConfig config_;
    GuardCore core_;
    PermitWriter permit_;
    std::unique_ptr<PeerLease> peer_;
    std::unique_ptr<EtcdLease> etcd_;
    std::unique_ptr<ProcessControl> process_;
    int64_t wall_offset_ns_ = 0;
    uint64_t rng_ = seed_u64();
    GuardRecord record_;
    bool started_ = false;
    bool shutting_down_ = false;
    uint64_t shutdown_deadline_ns_ = 0;

    // Files.
    io::AtomicFileWriter state_writer_;
    io::AtomicFileWriter record_writer_;
    io::FileReader state_reader_;
    io::FileReader watch_reader_;
    JsonParser state_parser_{64 * 1024};
    JsonParser watch_parser_{64 * 1024};
    ByteBuffer state_out_{64 * 1024, 1024};
    ByteBuffer record_out_{record_bytes_max, 256};
    io::FileWatch state_watch_;  ///< the validator's state file, written whole by CometBFT
    bool watch_again_ = false;

    // Health probes.
    struct ProbeCallback : http::ClientCallback {
        Impl* self;
        void on_response(http::ClientConn&, const http::Response* r, const Error* e) override {
            self->on_probe_answer(r, e);
        }
    } probe_cb_;
    http::Endpoint rpc_endpoint_;
    std::string rpc_prefix_;
    std::string status_target_, net_info_target_;
    std::unique_ptr<http::ClientConn> probe_conn_;
    JsonParser rpc_parser_{rpc_body_bytes_max};
    bool probing_net_info_ = false;
    uint64_t probe_deadline_ns_ = 0;
    NodeStatus probed_status_;
    io::Timer probe_timer_{};
    io::Timer tick_timer_{};

    // Peer channel.
    struct PeerCallback : http::ClientCallback {
        Impl* self;
        void on_response(http::ClientConn&, const http::Response* r, const Error* e) override {
            self->on_peer_answer(r, e);
        }
    } peer_cb_;
    struct PeerHandler : http::Handler {
        Impl* self;
        void on_request(http::ServerConn& c, const http::Request& r) override {
            self->on_peer_request(c, r);
        }
    } peer_handler_;
    http::Endpoint peer_endpoint_;
    std::unique_ptr<http::ClientConn> peer_conn_;
    http::Server peer_server_;
    struct Pending {
        http::ConnRef ref;
        uint64_t id = 0;
    };
    Pending pending_[pending_replies_max];
    uint64_t next_reply_id_ = 1;

    // etcd.
    struct EtcdCallback : http::ClientCallback {
        Impl* self;
        void on_response(http::ClientConn&, const http::Response* r, const Error* e) override {
            self->on_etcd_answer(r, e);
        }
    } etcd_cb_;
    http::Endpoint etcd_endpoint_;
    std::unique_ptr<http::ClientConn> etcd_conn_;

    // Control endpoint.
    struct ControlHandler : http::Handler {
        Impl* self;
        void on_request(http::ServerConn& c, const http::Request& r) override {
            self->on_control(c, r);
        }
    } control_handler_;
    http::Server control_server_;
    std::string control_token_;  ///< [validator] control_token_file; "" = writes refused
    ByteBuffer scratch_{256 * 1024, 4096};

    Result<void> open_files();
    Result<void> open_network();
    Result<void> open_lease();
    void start_watch_read();
    void start_probe();
    void on_probe_answer(const http::Response* r, const Error* e);
    void on_peer_answer(const http::Response* r, const Error* e);
    void on_etcd_answer(const http::Response* r, const Error* e);
    void on_peer_request(http::ServerConn& conn, const http::Request& r);
    void on_control(http::ServerConn& conn, const http::Request& r);
    /// POST /promote and /demote need the control token; answers 403/401 and says false.
    bool control_allowed(http::ServerConn& conn, const http::Request& r);
    Lease& lease() { return peer_ ? static_cast<Lease&>(*peer_) : static_cast<Lease&>(*etcd_); }
};

// ---------------------------------------------------------------------------------------------
// Construction

namespace {

GuardPolicy policy_of(const ValidatorConfig& c) {
    GuardPolicy p;
    p.name = c.name;
    p.preferred = c.preferred;
    p.failures_before_failover = c.failures_before_failover;
    p.hwm_margin_heights = c.hwm_margin_heights;
    p.retry_ms = c.retry_ms;
    p.chain_fresh_ms = c.health_interval_ms * 3 + c.health_timeout_ms;
    p.start_grace_ms = c.start_grace_ms;
    return p;
}

HealthPolicy health_of(const ValidatorConfig& c) {
    HealthPolicy h;
    h.min_peers = c.min_peers;
    h.block_time_ms = c.block_time_ms;
    h.stale_blocks = c.stale_blocks;
    h.validator_pub_key = c.validator_pub_key;
    return h;
}

}  // namespace

ValidatorGuard::Impl::Impl(io::Loop& loop, const ValidatorConfig& config)
    : loop_(loop), config_(config), core_(policy_of(config_), health_of(config_), *this, *this) {
    probe_cb_.self = this;
    peer_cb_.self = this;
    peer_handler_.self = this;
    etcd_cb_.self = this;
    control_handler_.self = this;
    core_.set_lease(nullptr);
}

Result<void> ValidatorGuard::Impl::open_files() {
    if (::mkdir(config_.data_dir.c_str(), 0700) != 0 && errno != EEXIST) {
        return Unexpected(Error::sys(errno, "create data_dir " + config_.data_dir));
    }
    std::string record_path = config_.data_dir + "/guard_state.json";
    int fd = ::open(record_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        char text[record_bytes_max];
        ssize_t n = ::read(fd, text, sizeof text);
        ::close(fd);
        JsonParser parser(record_bytes_max);
        auto record = parse_record({text, n > 0 ? static_cast<size_t>(n) : 0}, parser);
        if (!record) return Unexpected(record.error().prefix(record_path));
        record_ = *record;
    } else if (errno != ENOENT) {
        return Unexpected(Error::sys(errno, "open " + record_path));
    }
    EM_TRY_VOID(record_writer_.open(loop_, record_path, record_bytes_max));
    EM_TRY_VOID(state_writer_.open(loop_, config_.state_file, config_.state_file_bytes_max));
    EM_TRY_VOID(state_reader_.open(loop_, config_.state_file, config_.state_file_bytes_max));
    EM_TRY_VOID(watch_reader_.open(loop_, config_.state_file, config_.state_file_bytes_max));
    return state_watch_.open(
        loop_, config_.state_file,
        [](void* ctx) {
            auto* self = static_cast<Impl*>(ctx);
            if (!self->shutting_down_) self->start_watch_read();
        },
        this);
}

Result<void> ValidatorGuard::Impl::open_network() {
    EM_TRY_VOID(parse_http_url(config_.rpc_url, rpc_endpoint_, rpc_prefix_));
    status_target_ = rpc_prefix_ + "/status";
    net_info_target_ = rpc_prefix_ + "/net_info";
    http::Limits rpc_limits;
    rpc_limits.body_bytes_max = rpc_body_bytes_max;
    probe_conn_ = std::make_unique<http::ClientConn>(loop_, rpc_endpoint_, rpc_limits,
                                                     config_.health_timeout_ms);
    if (!config_.control_token_file.empty()) {
        auto token = http::read_token_file(config_.control_token_file, true);
        if (!token) return Unexpected(token.error().prefix("validator.control_token_file"));
        control_token_ = std::move(*token);
    }
    http::ServerConfig control;
    control.limits.body_bytes_max = control_body_bytes_max;
    control.connections_max = 8;
    control.name = "validator-control";
    auto control_address = io::resolve(config_.control_listen);
    if (!control_address) return Unexpected(control_address.error().prefix("control_listen"));
    auto listening = control_server_.listen(loop_, *control_address, control_handler_, control);
    if (!listening)
        return Unexpected(listening.error().prefix("control_listen " + config_.control_listen));
    return {};
}

Result<void> ValidatorGuard::Impl::open_lease() {
    LeaseTimings timings;
    timings.ttl_ms = config_.ttl_ms;
    timings.renew_interval_ms = config_.renew_interval_ms;
    timings.fence_margin_ms = config_.fence_margin_ms;
    timings.request_timeout_ms = config_.request_timeout_ms;
    timings.failback_grace_ms = config_.failback_grace_ms;
    timings.acquire_defer_ms = config_.acquire_defer_ms;
    if (config_.backend == "etcd") {
        EtcdLeaseConfig ec;
        static_cast<LeaseTimings&>(ec) = timings;
        ec.self_name = config_.name;
        ec.prefix = config_.etcd_prefix;
        etcd_endpoint_ = EM_TRY(endpoint_of(config_.etcd_endpoint));
        http::Limits limits;
        limits.body_bytes_max = ec.body_bytes_max;
        etcd_conn_ = std::make_unique<http::ClientConn>(loop_, etcd_endpoint_, limits,
                                                        config_.request_timeout_ms);
        etcd_ = std::make_unique<EtcdLease>(ec, *this, core_, *this);
        core_.set_lease(etcd_.get());
        return {};
    }
    std::vector<uint8_t> secret = EM_TRY(load_peer_secret(config_.secret_file));
    PeerLeaseConfig pc;
    static_cast<LeaseTimings&>(pc) = timings;
    pc.self_name = config_.name;
    pc.peer_name = config_.peer_name;
    pc.takeover_margin_ms = config_.takeover_margin_ms;
    pc.takeover_on_silence = config_.takeover_on_silence;
    pc.replay_window_ms = config_.replay_window_ms;
    pc.body_bytes_max = config_.peer_body_bytes_max;
    peer_endpoint_ = EM_TRY(endpoint_of(config_.peer_address));
    http::Limits limits;
    limits.body_bytes_max = config_.peer_body_bytes_max;
    peer_conn_ = std::make_unique<http::ClientConn>(loop_, peer_endpoint_, limits,
                                                    config_.request_timeout_ms);
    http::ServerConfig sc;
    sc.limits.body_bytes_max = config_.peer_body_bytes_max;
    // A stalled guard finds a backlog of the other's requests (one per request timeout) when it
    // runs again; room for a minute of them, so they are answered (and dropped by the sender)
    // rather than refused with a log line each.
    sc.connections_max = 64;
    sc.header_timeout_ms = config_.request_timeout_ms * 4;
    sc.body_timeout_ms = config_.request_timeout_ms * 4;
    sc.name = "validator-peer";
    auto address = io::resolve(config_.peer_listen);
    if (!address) return Unexpected(address.error().prefix("peer.listen"));
    auto listening = peer_server_.listen(loop_, *address, peer_handler_, sc);
    if (!listening)
        return Unexpected(listening.error().prefix("peer.listen " + config_.peer_listen));
    peer_ = std::make_unique<PeerLease>(pc, secret, *this, core_, *this, *this, *this, record_);
    std::fill(secret.begin(), secret.end(), 0);
    core_.set_lease(peer_.get());
    return {};
}

Result<void> ValidatorGuard::Impl::open() {
    // The permit first, revoked: a validator left running by an earlier guard loses it now.
    bool child_mode = config_.process_mode == "child";
    if (child_mode) {
        permit_ = EM_TRY(PermitWriter::create_anonymous());
    } else {
        permit_ = EM_TRY(PermitWriter::open_file(config_.permit_file));
    }
    EM_TRY_VOID(open_files());
    EM_TRY_VOID(open_network());
    EM_TRY_VOID(open_lease());
    ProcessConfig pc;
    pc.child_mode = child_mode;
    // The supervisor is this very binary (`validator-run`), also after a package upgrade
    // replaced the file on disk.
    pc.supervisor_path = "/proc/self/exe";
    pc.permit_fd = child_mode ? permit_.fd() : -1;
    pc.start_command = config_.start_command;
    pc.stop_command = config_.stop_command;
    pc.status_command = config_.status_command;
    pc.run_command = config_.run_command;
    pc.follower_command = config_.follower_command;
    pc.stop_timeout_ms = config_.stop_timeout_ms;
    pc.command_timeout_ms = config_.command_timeout_ms;
    process_ = std::make_unique<ProcessControl>(loop_, pc, *this);
    probe_timer_.fn = [](io::Timer* t) { static_cast<Impl*>(t->owner)->start_probe(); };
    probe_timer_.owner = this;
    tick_timer_.fn = [](io::Timer* t) {
        auto* self = static_cast<Impl*>(t->owner);
        self->core_.tick();
        self->loop_.timer_start(t, self->loop_.now_ns() + ms_to_ns(self->config_.tick_ms));
    };
    tick_timer_.owner = this;
    return {};
}

void ValidatorGuard::Impl::start() {
    started_ = true;
    state_watch_.arm();
    core_.start();
    loop_.timer_start(&tick_timer_, loop_.now_ns() + ms_to_ns(config_.tick_ms));
    loop_.timer_start(&probe_timer_, loop_.now_ns());
    EM_LOG_FIELDS(LogLevel::info,
                  (log_field("validator", config_.name), log_field("backend", config_.backend),
                   log_field("mode", config_.process_mode), log_field("epoch", lease().epoch()),
                   log_field("control", config_.control_listen)),
                  "validator %s: guard started (%s back-end, %s mode, epoch %llu)",
                  config_.name.c_str(), config_.backend.c_str(), config_.process_mode.c_str(),
                  static_cast<unsigned long long>(lease().epoch()));
}

void ValidatorGuard::Impl::shutdown() {
    if (shutting_down_) return;
    shutting_down_ = true;
    shutdown_deadline_ns_ = em::mono_ns() + ms_to_ns(shutdown_wait_ms);
    state_watch_.cancel();
    core_.shutdown();
}

bool ValidatorGuard::Impl::done() {
    if (!shutting_down_) return false;
    bool quiet = (!peer_conn_ || !peer_conn_->busy()) && (!etcd_conn_ || !etcd_conn_->busy()) &&
                 !state_writer_.busy() && !record_writer_.busy() && !state_reader_.busy() &&
                 !watch_reader_.busy() && !state_watch_.armed();
    if (core_.done() && quiet) return true;
    // A validator that cannot be stopped keeps us here: leaving would release nothing, but the
    // operator must see it. Everything else is bounded.
    return core_.fenced() && quiet && em::mono_ns() > shutdown_deadline_ns_;
}

// ---------------------------------------------------------------------------------------------
// Files

void ValidatorGuard::Impl::write_state(const SignState& state) {
    state_out_.clear();
    write_sign_state(state, state_out_);
    state_out_.push_back('\n');
    auto started = state_writer_.write(
        state_out_.view(),
        [](void* ctx, const Error* error) {
            static_cast<Impl*>(ctx)->core_.on_state_written(error);
        },
        this);
    if (!started) {
        Error e = started.error();
        core_.on_state_written(&e);  // busy/too large: cannot happen with one write at a time
    }
}

void ValidatorGuard::Impl::read_state() {
    auto started = state_reader_.read(
        [](void* ctx, std::string_view data, const Error* error) {
            auto* self = static_cast<Impl*>(ctx);
            if (error) {
                Error e = *error;
                self->core_.on_state_read(nullptr, &e.prefix("priv_validator_state.json"));
                return;
            }
            auto state = parse_sign_state(data, self->state_parser_);
            if (!state) {
                Error e = state.error();
                self->core_.on_state_read(nullptr, &e.prefix("priv_validator_state.json"));
                return;
            }
            self->core_.on_state_read(&*state, nullptr);
        },
        this);
    if (!started) {
        Error e = started.error();
        core_.on_state_read(nullptr, &e);
    }
}

void ValidatorGuard::Impl::set_permit(uint64_t deadline_ns, uint64_t epoch) {
    if (deadline_ns == 0) {
        permit_.revoke();
    } else {
        permit_.grant_until(deadline_ns, epoch);
    }
}

void ValidatorGuard::Impl::write_record(const GuardRecord& record) {
    record_out_.clear();
    validator::write_record(record, record_out_);
    auto started = record_writer_.write(
        record_out_.view(),
        [](void* ctx, const Error* error) {
            auto* self = static_cast<Impl*>(ctx);
            if (self->peer_) self->peer_->on_record_written(error);
        },
        this);
    if (!started && peer_) {
        Error e = started.error();
        peer_->on_record_written(&e);
    }
}

void ValidatorGuard::Impl::start_watch_read() {
    if (watch_reader_.busy()) {
        watch_again_ = true;
        return;
    }
    auto started = watch_reader_.read(
        [](void* ctx, std::string_view data, const Error* error) {
            auto* self = static_cast<Impl*>(ctx);
            if (!error) {
                auto state = parse_sign_state(data, self->watch_parser_);
                if (state) self->core_.on_local_state(*state);
            }
            if (self->watch_again_) {
                self->watch_again_ = false;
                self->start_watch_read();
            }
        },
        this);
    (void)started;
}

// ---------------------------------------------------------------------------------------------
// Validator process

void ValidatorGuard::Impl::on_validator_stopped(const Error* error) {
    core_.on_validator_stopped(error);
    if (!error && !shutting_down_) process_->run_follower(true);
}

void ValidatorGuard::Impl::on_validator_exited(int status) {
    EM_LOG_FIELDS(
        LogLevel::warn, (log_field("validator", config_.name), log_field("exit_status", status)),
        "validator %s: the validator process exited (status %d)", config_.name.c_str(), status);
    core_.on_validator_exited();
}

// ---------------------------------------------------------------------------------------------
// Health probes

void ValidatorGuard::Impl::start_probe() {
    loop_.timer_start(&probe_timer_, loop_.now_ns() + ms_to_ns(config_.health_interval_ms));
    if (probe_conn_->busy()) return;  // the previous round is still running into its deadline
    probing_net_info_ = false;
    probe_deadline_ns_ = loop_.now_ns() + ms_to_ns(config_.health_timeout_ms);
    size_t mark = http::begin_request(probe_conn_->request(), "GET", rpc_endpoint_.host_header,
                                      status_target_, "", "");
    http::end_request(probe_conn_->request(), mark);
    probe_conn_->start(&probe_cb_, probe_deadline_ns_);
}

void ValidatorGuard::Impl::on_probe_answer(const http::Response* r, const Error* e) {
    if (!e && r->status != 200) {
        Error bad = Error::fmt(Errc::io, "GET %s: HTTP %d",
                               probing_net_info_ ? "/net_info" : "/status", r->status);
        core_.on_probe(nullptr, 0, &bad);
        return;
    }
    if (e) {
        Error err = *e;
        core_.on_probe(nullptr, 0,
                       &err.prefix(probing_net_info_ ? "GET /net_info" : "GET /status"));
        return;
    }
    if (!probing_net_info_) {
        auto status = parse_status(r->body, rpc_parser_);
        if (!status) {
            Error err = status.error();
            core_.on_probe(nullptr, 0, &err.prefix("/status"));
            return;
        }
        probed_status_ = *status;
        probing_net_info_ = true;
        size_t mark = http::begin_request(probe_conn_->request(), "GET", rpc_endpoint_.host_header,
                                          net_info_target_, "", "");
        http::end_request(probe_conn_->request(), mark);
        probe_conn_->start(&probe_cb_, probe_deadline_ns_);
        return;
    }
    auto peers = parse_net_info(r->body, rpc_parser_);
    if (!peers) {
        Error err = peers.error();
        core_.on_probe(nullptr, 0, &err.prefix("/net_info"));
        return;
    }
    core_.on_probe(&probed_status_, *peers, nullptr);
}

// ---------------------------------------------------------------------------------------------
// Peer channel

void ValidatorGuard::Impl::send(std::string_view path, std::string_view body,
                                std::string_view token, uint64_t deadline_ns) {
    ByteBuffer& out = peer_conn_->request();
    size_t mark = http::begin_request(out, "POST", peer_endpoint_.host_header, path, token,
                                      "application/json");
    out.append(body);
    http::end_request(out, mark);
    peer_conn_->start(&peer_cb_, loop_deadline(deadline_ns));
}

void ValidatorGuard::Impl::on_peer_answer(const http::Response* r, const Error* e) {
    if (e) {
        Error err = *e;
        peer_->on_reply(0, {}, {}, &err);
        return;
    }
    peer_->on_reply(r->status, r->body, http::find_header(r->headers, "X-Em-Auth"), nullptr);
}

void ValidatorGuard::Impl::on_peer_request(http::ServerConn& conn, const http::Request& r) {
    if (r.method != http::Method::post) {
        conn.respond(405, "application/json", "{\"ok\":false,\"reason\":\"POST only\"}");
        return;
    }
    Pending* slot = nullptr;
    for (Pending& p : pending_) {
        if (p.id == 0 || !p.ref.valid()) slot = &p;
    }
    if (!slot) {
        conn.respond(503, "application/json", "{\"ok\":false,\"reason\":\"busy\"}");
        return;
    }
    slot->ref = conn.ref();
    slot->id = next_reply_id_++;
    peer_->on_request(r.target, r.body, bearer(r.authorization), slot->id);
}

void ValidatorGuard::Impl::reply(uint64_t id, int status, std::string_view body,
                                 std::string_view token) {
    for (Pending& p : pending_) {
        if (p.id != id) continue;
        p.id = 0;
        if (!p.ref.valid()) return;
        http::ServerConn& conn = *p.ref.conn;
        ByteBuffer& out = conn.out();
        out.clear();
        out.append("HTTP/1.1 ");
        out.append_u64(static_cast<uint64_t>(status));
        out.push_back(' ');
        out.append(http::status_reason(status));
        out.append("\r\nContent-Type: application/json\r\n");
        if (!token.empty()) {
            out.append("X-Em-Auth: ");
            out.append(token);
            out.append("\r\n");
        }
        if (!conn.keep_alive()) out.append("Connection: close\r\n");
        out.append("Content-Length: ");
        out.append_u64(body.size());
        out.append("\r\n\r\n");
        out.append(body);
        conn.send();
        return;
    }
}

// ---------------------------------------------------------------------------------------------
// etcd

void ValidatorGuard::Impl::post(std::string_view path, std::string_view body,
                                uint64_t deadline_ns) {
    ByteBuffer& out = etcd_conn_->request();
    size_t mark =
        http::begin_request(out, "POST", etcd_endpoint_.host_header, path, "", "application/json");
    out.append(body);
    http::end_request(out, mark);
    etcd_conn_->start(&etcd_cb_, loop_deadline(deadline_ns));
}

void ValidatorGuard::Impl::on_etcd_answer(const http::Response* r, const Error* e) {
    if (e) {
        Error err = *e;
        etcd_->on_response(0, {}, &err);
        return;
    }
    etcd_->on_response(r->status, r->body, nullptr);
}

// ---------------------------------------------------------------------------------------------
// Control endpoint, status and metrics

void ValidatorGuard::Impl::on_control(http::ServerConn& conn, const http::Request& r) {
    std::string_view target = r.target;
    std::string_view path = target.substr(0, target.find('?'));
    bool force = target.find("force=1") != std::string_view::npos;
    if (r.method == http::Method::get && path == "/status") {
        scratch_.clear();
        write_status_json(scratch_);
        conn.respond(200, "application/json", scratch_.view());
    } else if (r.method == http::Method::get && path == "/metrics") {
        scratch_.clear();
        write_metrics(scratch_);
        conn.respond(200, "text/plain; version=0.0.4", scratch_.view());
    } else if (r.method == http::Method::get && path == "/healthz") {
        conn.respond(200, "text/plain", "ok\n");
    } else if (r.method == http::Method::post && (path == "/promote" || path == "/demote") &&
               !control_allowed(conn, r)) {
        return;
    } else if (r.method == http::Method::post && path == "/promote") {
        auto ok = core_.promote(force);
        scratch_.clear();
        JsonWriter w(scratch_);
        w.begin_object().key("ok").boolean(static_cast<bool>(ok));
        if (!ok) w.key("error").string(ok.error().message());
        w.end_object();
        conn.respond(ok ? 200 : 409, "application/json", scratch_.view());
    } else if (r.method == http::Method::post && path == "/demote") {
        core_.demote();
        conn.respond(200, "application/json", "{\"ok\":true}");
    } else if (path == "/status" || path == "/metrics" || path == "/healthz" ||
               path == "/promote" || path == "/demote") {
        conn.respond(405, "application/json", "{\"ok\":false,\"error\":\"method not allowed\"}");
    } else {
        conn.respond(404, "application/json", "{\"ok\":false,\"error\":\"not found\"}");
    }
}

bool ValidatorGuard::Impl::control_allowed(http::ServerConn& conn, const http::Request& r) {
    // Promote and demote decide which host signs: nothing on the box may use them without the
    // operator's token (a loopback address alone lets every local user and process in).
    if (control_token_.empty()) {
        conn.respond(403, "application/json",
                     "{\"ok\":false,\"error\":\"promote and demote are refused while no control "
                     "token is configured: set [validator] control_token_file (a file of mode "
                     "0600 holding e.g. openssl rand -hex 32)\"}");
        return false;
    }
    if (!http::bearer_matches(r.authorization, control_token_)) {
        conn.respond(401, "application/json",
                     "{\"ok\":false,\"error\":\"missing or wrong bearer token (the one in "
                     "[validator] control_token_file)\"}");
        return false;
    }
    return true;
}

void ValidatorGuard::Impl::write_status_json(ByteBuffer& out) {
    JsonWriter w(out);
    const HealthTracker& h = core_.health();
    PeerStatus s = core_.local_status();
    w.begin_object();
    w.key("name").string(config_.name);
    w.key("role").string(role_name(core_.role()));
    w.key("fenced").boolean(core_.fenced());
    w.key("preferred").boolean(config_.preferred);
    w.key("hold").boolean(s.hold);
    w.key("promote").boolean(s.promote);
    w.key("eligible").boolean(s.eligible);
    w.key("epoch").unsigned_string(lease().epoch());
    w.key("health").begin_object();
    w.key("healthy").boolean(h.healthy());
    w.key("reason").string(health_reason_name(h.reason()));
    w.key("detail").string(h.detail());
    w.key("consecutive_failures").number(h.consecutive_failures());
    w.key("healthy_for_ms").unsigned_string(s.healthy_for_ms);
    w.key("chain_height").number_string(h.chain_height());
    w.key("peers").number(h.last_peers());
    w.end_object();
    w.key("last_fence_reason").string(fence_reason_name(core_.last_fence_reason()));
    uint64_t permit = permit_.deadline_ns(), now = em::boot_ns();
    w.key("permit_ms").number(permit > now ? static_cast<int64_t>((permit - now) / 1'000'000) : 0);
    w.key("last_error").string(core_.last_error());
    if (core_.has_local_state()) {
        w.key("state");
        write_sign_state(core_.local_state(), out);
        w.raw("");
    }
    w.key("lease").begin_object();
    lease().write_status(w);
    w.key("problem").string(lease().problem());
    w.end_object();
    const GuardCore::Stats& st = core_.stats();
    w.key("stats").begin_object();
    w.key("activations").number(static_cast<int64_t>(st.activations));
    w.key("fences").number(static_cast<int64_t>(st.fences));
    w.key("activation_failures").number(static_cast<int64_t>(st.activation_failures));
    w.key("state_writes").number(static_cast<int64_t>(st.state_writes));
    w.key("state_write_errors").number(static_cast<int64_t>(st.state_write_errors));
    w.key("synced_states").number(static_cast<int64_t>(st.synced_states));
    w.key("conflicts").number(static_cast<int64_t>(st.conflicts));
    w.end_object();
    w.end_object();
}

void ValidatorGuard::Impl::write_metrics(ByteBuffer& out) {
    auto gauge = [&](const char* name, int64_t v) {
        out.append("enginemux_validator_");
        out.append(name);
        out.push_back(' ');
        out.append_i64(v);
        out.push_back('\n');
    };
    for (int i = 0; i <= static_cast<int>(Role::releasing); i++) {
        out.append("enginemux_validator_role{role=\"");
        out.append(role_name(static_cast<Role>(i)));
        out.append("\"} ");
        out.append(static_cast<int>(core_.role()) == i ? "1\n" : "0\n");
    }
    const HealthTracker& h = core_.health();
    for (int i = 0; i <= static_cast<int>(HealthReason::validator_key_on_passive); i++) {
        out.append("enginemux_validator_health_reason{reason=\"");
        out.append(health_reason_name(static_cast<HealthReason>(i)));
        out.append("\"} ");
        out.append(static_cast<int>(h.reason()) == i ? "1\n" : "0\n");
    }
    // The reason of the last fence (1 for it; "none" before any), for alerts that tell a safety
    // fence from a handover.
    for (int i = 0; i <= static_cast<int>(FenceReason::shutdown); i++) {
        out.append("enginemux_validator_last_fence_reason{reason=\"");
        out.append(fence_reason_name(static_cast<FenceReason>(i)));
        out.append("\"} ");
        out.append(static_cast<int>(core_.last_fence_reason()) == i ? "1\n" : "0\n");
    }
    const GuardCore::Stats& st = core_.stats();
    gauge("fenced", core_.fenced());
    gauge("healthy", h.healthy());
    gauge("epoch", static_cast<int64_t>(lease().epoch()));
    gauge("lease_held", lease().held());
    gauge("lease_valid", lease().valid());
    gauge("chain_height", h.chain_height());
    gauge("state_height", core_.has_local_state() ? core_.local_state().hrs.height : 0);
    gauge("activations_total", static_cast<int64_t>(st.activations));
    gauge("fences_total", static_cast<int64_t>(st.fences));
    gauge("activation_failures_total", static_cast<int64_t>(st.activation_failures));
    gauge("state_write_errors_total", static_cast<int64_t>(st.state_write_errors));
    gauge("conflicts_total", static_cast<int64_t>(st.conflicts));
    uint64_t permit = permit_.deadline_ns(), now = em::boot_ns();
    gauge("permit_remaining_ms",
          permit > now ? static_cast<int64_t>((permit - now) / 1'000'000) : 0);
    gauge("log_lines_dropped_total", static_cast<int64_t>(log_dropped_total()));
    if (peer_) {
        const PeerLease::Stats& ps = peer_->stats();
        gauge("peer_auth_failures_total", static_cast<int64_t>(ps.auth_failures));
        gauge("peer_skew_rejects_total", static_cast<int64_t>(ps.skew_rejects));
        gauge("peer_send_errors_total", static_cast<int64_t>(ps.send_errors));
        gauge("peer_takeovers_on_silence_total", static_cast<int64_t>(ps.takeovers_on_silence));
    }
}

// ---------------------------------------------------------------------------------------------
// ValidatorGuard

ValidatorGuard::ValidatorGuard(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ValidatorGuard::~ValidatorGuard() {
    Impl& i = *impl_;
    i.loop_.timer_cancel(&i.tick_timer_);
    i.loop_.timer_cancel(&i.probe_timer_);
    // shutdown() + done() cancelled the state file watch; without them the loop must be
    // destroyed right after this object (its ring is torn down without delivering completions).
    if (i.process_) i.process_->kill_all();
}

Result<std::unique_ptr<ValidatorGuard>> ValidatorGuard::create(io::Loop& loop,
                                                               const ValidatorConfig& config) {
    auto impl = std::make_unique<Impl>(loop, config);
    EM_TRY_VOID(impl->open());
    return std::unique_ptr<ValidatorGuard>(new ValidatorGuard(std::move(impl)));
}

void ValidatorGuard::start() {
    impl_->start();
}
void ValidatorGuard::shutdown() {
    impl_->shutdown();
}
bool ValidatorGuard::done() {
    return impl_->done();
}
void ValidatorGuard::write_status_json(ByteBuffer& out) {
    impl_->write_status_json(out);
}
void ValidatorGuard::write_metrics(ByteBuffer& out) {
    impl_->write_metrics(out);
}
const GuardCore& ValidatorGuard::core() const {
    return impl_->core_;
}
const io::Address& ValidatorGuard::control_address() const {
    return impl_->control_server_.address();
}
void ValidatorGuard::set_wall_offset_ms(int64_t offset_ms) {
    impl_->wall_offset_ns_ = offset_ms * 1'000'000;
}

}  // namespace em::validator
