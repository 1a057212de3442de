#include "sim.h"

#include <algorithm>
#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <queue>
#include <vector>

#include "validator/base64.h"
#include "validator/etcd_lease.h"
#include "validator/guard.h"
#include "validator/json.h"
#include "validator/peer_lease.h"

namespace em::validator::sim {

namespace {

constexpr uint64_t MS = 1'000'000ull;
constexpr int64_t wall_base_ns = 1'700'000'000'000'000'000ll;
const char* const validator_key = "VALIDATORKEYVALIDATORKEYVALIDATORKEYVALIDA=";
const char* const follower_keys[] = {
    "FOLLOWERAFOLLOWERAFOLLOWERAFOLLOWERAFOLLOW=", "FOLLOWERBFOLLOWERBFOLLOWERBFOLLOWERBFOLLOW=",
    "FOLLOWERCFOLLOWERCFOLLOWERCFOLLOWERCFOLLOW="};

/// SplitMix64: small, fast, deterministic.
struct Rng {
    uint64_t s;
    uint64_t next() {
        uint64_t z = (s += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    uint64_t below(uint64_t n) { return n ? next() % n : 0; }
    uint64_t range(uint64_t lo, uint64_t hi) { return lo + below(hi - lo + 1); }
    bool chance(double p) { return static_cast<double>(next() >> 11) * 0x1.0p-53 < p; }
};

/// Timing shared by every host (production-like proportions, shorter).
struct Timing {
    uint64_t block_ms = 1000;
    uint64_t tick_ms = 50;
    uint64_t probe_ms = 500;
    uint32_t ttl_ms = 5000;
    uint32_t renew_ms = 1000;
    uint32_t fence_margin_ms = 2000;
    uint32_t takeover_margin_ms = 1000;
    uint32_t request_timeout_ms = 500;
    uint32_t replay_window_ms = 5000;
    uint32_t stop_ms_max = 800;  ///< a stop always completes within this (< fence margin)
    uint32_t start_ms_max = 1000;
};

/// A model of etcd's v3 JSON gateway: the subset the guard uses (lease grant/keepalive/revoke,
/// put, deleterange, range, txn with CREATE-revision compares), with leases that expire on
/// etcd's own clock and a global revision that only grows.
class SimEtcd {
  public:
    struct Kv {
        std::string value;
        int64_t create_revision = 0;
        int64_t mod_revision = 0;
        int64_t version = 0;
        int64_t lease = 0;
    };
    struct LeaseEntry {
        int64_t ttl_s = 0;
        uint64_t expiry_t = 0;
    };

    /// Handles one request at true time t; returns the HTTP status and fills body.
    int handle(uint64_t t, const std::string& path, const std::string& body, std::string& out) {
        expire(t);
        auto root = parser_.parse(body);
        if (!root) return error(400, "malformed request", out);
        JsonObject o;
        if (root->get(o)) return error(400, "not an object", out);
        if (path == "/v3/lease/grant") return grant(t, o, out);
        if (path == "/v3/lease/keepalive") return keepalive(t, o, out);
        if (path == "/v3/lease/revoke") return revoke(o, out);
        if (path == "/v3/kv/put") return put_request(o, out);
        if (path == "/v3/kv/deleterange") return delete_request(o, out);
        if (path == "/v3/kv/range") return range_request(o, out);
        if (path == "/v3/kv/txn") return txn(o, out);
        return error(404, "unknown path", out);
    }

  private:
    static std::string b64(std::string_view s) {
        ByteBuffer out(1 << 16, 256);
        base64_encode({reinterpret_cast<const uint8_t*>(s.data()), s.size()}, out);
        return std::string(out.view());
    }
    static std::string unb64(std::string_view s) {
        std::string raw(s.size(), '\0');
        auto n = base64_decode(s, reinterpret_cast<uint8_t*>(raw.data()));
        raw.resize(n ? *n : 0);
        return raw;
    }
    static int64_t num(JsonObject o, std::string_view key) {
        JsonValue v;
        if (o.at_key(key).get(v)) return 0;
        int64_t x = 0;
        std::string_view s;
        if (!v.get(s)) return std::strtoll(std::string(s).c_str(), nullptr, 10);
        if (!v.get(x)) return x;
        return 0;
    }
    static std::string str(JsonObject o, std::string_view key) {
        std::string_view s;
        if (o.at_key(key).get(s)) return {};
        return std::string(s);
    }
    std::string header() const {
        return "{\"cluster_id\":\"1\",\"member_id\":\"2\",\"revision\":\"" +
               std::to_string(revision_) + "\",\"raft_term\":\"2\"}";
    }
    int error(int status, const char* message, std::string& out) {
        out = std::string("{\"error\":\"") + message + "\",\"code\":5,\"message\":\"" + message +
              "\"}";
        return status;
    }
    void expire(uint64_t t) {
        bool changed = false;
        for (auto it = leases_.begin(); it != leases_.end();) {
            if (it->second.expiry_t <= t) {
                drop_keys(it->first);
                it = leases_.erase(it);
                changed = true;
            } else {
                ++it;
            }
        }
        if (changed) revision_++;
    }
    void drop_keys(int64_t lease) {
        for (auto it = kv_.begin(); it != kv_.end();) {
            if (it->second.lease == lease)
                it = kv_.erase(it);
            else
                ++it;
        }
    }
    int grant(uint64_t t, JsonObject o, std::string& out) {
        int64_t ttl = std::max<int64_t>(num(o, "TTL"), 2);
        int64_t id = next_lease_++;
        leases_[id] = LeaseEntry{ttl, t + static_cast<uint64_t>(ttl) * 1'000'000'000ull};
        out = "{\"header\":" + header() + ",\"ID\":\"" + std::to_string(id) + "\",\"TTL\":\"" +
              std::to_string(ttl) + "\"}";
        return 200;
    }
    int keepalive(uint64_t t, JsonObject o, std::string& out) {
        int64_t id = num(o, "ID");
        auto it = leases_.find(id);
        std::string ttl;
        if (it != leases_.end()) {
            it->second.expiry_t = t + static_cast<uint64_t>(it->second.ttl_s) * 1'000'000'000ull;
            ttl = ",\"TTL\":\"" + std::to_string(it->second.ttl_s) + "\"";
        }
        out = "{\"result\":{\"header\":" + header() + ",\"ID\":\"" + std::to_string(id) + "\"" +
              ttl + "}}\n";
        return 200;
    }
    int revoke(JsonObject o, std::string& out) {
        auto it = leases_.find(num(o, "ID"));
        if (it == leases_.end()) return error(404, "etcdserver: requested lease not found", out);
        drop_keys(it->first);
        leases_.erase(it);
        revision_++;
        out = "{\"header\":" + header() + "}";
        return 200;
    }
    bool put(JsonObject o, std::string& err) {
        int64_t lease = num(o, "lease");
        if (lease != 0 && !leases_.count(lease)) {
            err = "etcdserver: requested lease not found";
            return false;
        }
        std::string key = unb64(str(o, "key"));
        revision_++;
        Kv& kv = kv_[key];
        if (kv.create_revision == 0) kv.create_revision = revision_;
        kv.mod_revision = revision_;
        kv.version++;
        kv.value = unb64(str(o, "value"));
        kv.lease = lease;
        return true;
    }
    int put_request(JsonObject o, std::string& out) {
        std::string err;
        if (!put(o, err)) return error(404, err.c_str(), out);
        out = "{\"header\":" + header() + "}";
        return 200;
    }
    int delete_request(JsonObject o, std::string& out) {
        if (kv_.erase(unb64(str(o, "key")))) revision_++;
        out = "{\"header\":" + header() + "}";
        return 200;
    }
    std::string range(JsonObject o) {
        std::string key = unb64(str(o, "key"));
        std::string end = unb64(str(o, "range_end"));
        std::string kvs;
        int count = 0;
        for (auto& [k, v] : kv_) {
            bool in = end.empty() ? k == key : (k >= key && k < end);
            if (!in) continue;
            if (count++) kvs += ",";
            kvs += "{\"key\":\"" + b64(k) + "\",\"create_revision\":\"" +
                   std::to_string(v.create_revision) + "\",\"mod_revision\":\"" +
                   std::to_string(v.mod_revision) + "\",\"version\":\"" +
                   std::to_string(v.version) + "\",\"value\":\"" + b64(v.value) + "\"" +
                   (v.lease ? ",\"lease\":\"" + std::to_string(v.lease) + "\"" : std::string()) +
                   "}";
        }
        if (count == 0) return "{\"header\":" + header() + "}";
        return "{\"header\":" + header() + ",\"kvs\":[" + kvs + "],\"count\":\"" +
               std::to_string(count) + "\"}";
    }
    int range_request(JsonObject o, std::string& out) {
        out = range(o);
        return 200;
    }
    int txn(JsonObject o, std::string& out) {
        bool ok = true;
        simdjson::dom::array compares;
        if (!o.at_key("compare").get(compares)) {
            for (JsonValue c : compares) {
                JsonObject co;
                if (c.get(co)) return error(400, "compare", out);
                auto it = kv_.find(unb64(str(co, "key")));
                int64_t have = it == kv_.end() ? 0 : it->second.create_revision;
                if (str(co, "target") != "CREATE" || have != num(co, "create_revision")) ok = false;
            }
        }
        simdjson::dom::array ops;
        std::string responses;
        if (!o.at_key(ok ? "success" : "failure").get(ops)) {
            for (JsonValue op : ops) {
                JsonObject oo, inner;
                if (op.get(oo)) return error(400, "op", out);
                if (!oo.at_key("request_put").get(inner)) {
                    std::string err;
                    if (!put(inner, err)) return error(404, err.c_str(), out);
                    responses += std::string(responses.empty() ? "" : ",") +
                                 "{\"response_put\":{\"header\":{\"revision\":\"" +
                                 std::to_string(revision_) + "\"}}}";
                } else if (!oo.at_key("request_range").get(inner)) {
                    responses += std::string(responses.empty() ? "" : ",") +
                                 "{\"response_range\":" + range(inner) + "}";
                }
            }
        }
        out = "{\"header\":" + header() + (ok ? ",\"succeeded\":true" : "") + ",\"responses\":[" +
              responses + "]}";
        return 200;
    }

    JsonParser parser_{1 << 16};
    std::map<std::string, Kv> kv_;
    std::map<int64_t, LeaseEntry> leases_;
    int64_t revision_ = 1;
    int64_t next_lease_ = 7587000000000000001ll;
};

class World;

enum class NodeMode : uint8_t { ok, rpc_down, stalled, catching_up, no_peers };

constexpr int etcd_node = 3;  ///< network index of the simulated etcd

struct Host final : GuardClock, GuardIo, RecordStore, PeerLink, ReplySink, EtcdLink {
    World& w;
    int id;
    std::string name;
    Rng rng;
    // Clocks: mono = mono_base + (T - boot_T) * rate; wall = base + T + skew.
    double rate = 1.0;
    uint64_t mono_base = 0;
    uint64_t boot_t = 0;
    int64_t wall_skew_ns = 0;
    int64_t base_wall_skew_ns = 0;  ///< what a clock-skew fault returns to
    // Durable disk.
    bool state_exists = true;
    SignState state_file;
    GuardRecord record_file;
    bool disk_full = false;
    uint64_t disk_latency_ms = 2;
    uint64_t record_readonly_until_t = 0;  ///< data_dir read-only (record writes fail) until
    // CometBFT node and validator process.
    NodeMode node = NodeMode::ok;
    int64_t stalled_height = 0;
    bool validator_running = false;
    bool stop_pending = false;  ///< a stop_validator() has not completed
    Hrs last_signed;
    bool stop_error_once = false;
    // The permit (host mono time) and its supervisor, a process of its own: no stall reaches it.
    uint64_t permit_ns = 0;
    bool supervisor_check_pending = false;
    uint64_t supervisor_check_t = 0;
    // Guard process. A stalled guard (SIGSTOP, a blocked write) runs nothing until it resumes.
    bool guard_alive = false;
    uint64_t stalled_until_t = 0;
    uint64_t stall_at_next_fence_ns = 0;  ///< armed "blocked log": the next stop stalls this long
    uint64_t gen = 0;
    bool preferred = false;
    bool held_by_operator = false;
    std::unique_ptr<GuardCore> core;
    std::unique_ptr<PeerLease> lease;
    std::unique_ptr<EtcdLease> etcd;
    // Our request in flight (PeerLink).
    bool request_pending = false;
    uint64_t request_seq = 0;

    Host(World& world, int index, uint64_t seed);
    uint64_t now_t() const;
    void boot_guard();
    void crash_guard(bool reboot);
    bool stalled() const;
    /// The true time at which this host's mono clock reads mono.
    uint64_t true_time_of(uint64_t mono);
    void arm_supervisor();
    void supervisor_check();

    // GuardClock
    uint64_t mono_ns() override {
        return mono_base + static_cast<uint64_t>((now_t() - boot_t) * rate);
    }
    int64_t wall_ns() override {
        return wall_base_ns + static_cast<int64_t>(now_t()) + wall_skew_ns;
    }
    uint64_t random_u64() override { return rng.next(); }
    // GuardIo
    void start_validator() override;
    void stop_validator() override;
    void write_state(const SignState& s) override;
    void read_state() override;
    void set_permit(uint64_t deadline_ns, uint64_t epoch) override;
    // RecordStore
    void write_record(const GuardRecord& r) override;
    // PeerLink
    void send(std::string_view path, std::string_view body, std::string_view token,
              uint64_t deadline_ns) override;
    // ReplySink
    void reply(uint64_t id, int status, std::string_view body, std::string_view token) override;
    // EtcdLink
    void post(std::string_view path, std::string_view body, uint64_t deadline_ns) override;
    void arm_deadline(uint64_t seq, uint64_t deadline_ns);
    void fail_request(uint64_t seq, uint64_t my_gen, const Error& e);
};

struct Event {
    uint64_t t;
    uint64_t seq;
    std::function<void()> fn;
    bool operator>(const Event& o) const { return t != o.t ? t > o.t : seq > o.seq; }
};

class World {
  public:
    World(const SimOptions& options);
    SimResult run();

    uint64_t t = 0;
    Rng rng;
    Timing timing;
    SimOptions options;
    SimResult result;
    std::vector<std::unique_ptr<Host>> hosts;
    // Network: loss/cut[a][b] apply to messages from a to b (index 3 is etcd).
    double loss[4][4] = {};
    bool cut[4][4] = {};
    SimEtcd etcd_server;
    bool etcd_down = false;
    std::map<Hrs, int> ledger;
    uint64_t max_epoch_started = 0;
    int64_t last_height_signed = -1;
    uint64_t last_sign_t = 0;
    struct Inbound {
        int from;
        uint64_t seq;
        uint64_t gen;
        std::string path;
    };
    std::map<uint64_t, Inbound> inbound;
    uint64_t next_inbound_id = 1;
    std::deque<std::string> trace;

    void at(uint64_t delay_ns, std::function<void()> fn) {
        queue_.push(Event{t + delay_ns, seq_++, std::move(fn)});
    }
    /// Runs fn later on the host's guard, only if its generation is still `gen`; while the
    /// guard is stalled the event waits (as a completion waits in a stopped process's ring).
    void at_gen(Host& h, uint64_t delay_ns, std::function<void()> fn) {
        uint64_t gen = h.gen;
        Host* hp = &h;
        at(delay_ns, [this, hp, gen, fn = std::move(fn)]() mutable {
            if (!hp->guard_alive || hp->gen != gen) return;
            if (hp->stalled()) {
                at_gen(*hp, hp->stalled_until_t - t, std::move(fn));
                return;
            }
            fn();
        });
    }
    /// Runs fn on the host's guard now, or when it resumes if it is stalled.
    void on_guard(Host& h, std::function<void()> fn) {
        if (h.stalled()) {
            at_gen(h, 0, std::move(fn));
        } else {
            fn();
        }
    }
    int64_t chain_height() const { return static_cast<int64_t>(t / (timing.block_ms * MS)); }
    void violate(const char* format, ...) __attribute__((format(printf, 2, 3)));
    void log(const char* format, ...) __attribute__((format(printf, 2, 3)));
    bool delivered(int from, int to) { return !cut[from][to] && !rng.chance(loss[from][to]); }
    uint64_t net_delay() { return rng.range(200, 5000) * 1000; }

  private:
    void schedule_ticks(Host& h);
    void schedule_probes(Host& h);
    void probe(Host& h);
    void schedule_block(int64_t height);
    void sign(Host& h, Hrs hrs);
    void schedule_faults();
    void fault(uint64_t kind);
    void demote_for(Host& h, uint64_t dur);
    Host& running_or(Host& h);
    void check_host(Host& h);

    std::priority_queue<Event, std::vector<Event>, std::greater<Event>> queue_;
    uint64_t seq_ = 0;
};

// ---------------------------------------------------------------------------------------------

Host::Host(World& world, int index, uint64_t seed) : w(world), id(index), rng{seed} {
    name = std::string("host-") + static_cast<char>('a' + index);
    rate = 1.0 + (static_cast<double>(rng.below(2001)) - 1000.0) * 1e-6;  // +-1000 ppm
    mono_base = rng.range(1, 1'000'000) * MS;
    wall_skew_ns = static_cast<int64_t>(rng.below(401)) * static_cast<int64_t>(MS) -
                   200 * static_cast<int64_t>(MS);
    base_wall_skew_ns = wall_skew_ns;
    state_file = SignState(Hrs{0, 0, 0});
}

uint64_t Host::now_t() const {
    return w.t;
}

bool Host::stalled() const {
    return guard_alive && w.t < stalled_until_t;
}

uint64_t Host::true_time_of(uint64_t mono) {
    uint64_t now = mono_ns();
    return mono > now ? w.t + static_cast<uint64_t>(static_cast<double>(mono - now) / rate) + 1
                      : w.t;
}

void Host::set_permit(uint64_t deadline_ns, uint64_t) {
    permit_ns = deadline_ns;
    arm_supervisor();
}

void Host::arm_supervisor() {
    if (!w.options.dead_man || !validator_running) return;
    // The supervisor sees a revoke within its check period, a lapse when its timer fires.
    uint64_t at = permit_ns == 0 ? w.t + w.rng.range(1, 10) * MS : true_time_of(permit_ns);
    if (supervisor_check_pending && supervisor_check_t <= at) return;
    supervisor_check_pending = true;
    supervisor_check_t = at;
    w.at(at - w.t, [this, at] {
        if (supervisor_check_t != at) return;  // superseded by an earlier check
        supervisor_check_pending = false;
        supervisor_check();
    });
}

void Host::supervisor_check() {
    if (!validator_running) return;
    if (permit_ns > mono_ns()) {
        arm_supervisor();  // renewed meanwhile
        return;
    }
    w.log("%s supervisor: permit %s, validator killed", name.c_str(),
          permit_ns == 0 ? "revoked" : "lapsed");
    validator_running = false;
    w.result.permit_kills++;
    // The guard's process poll sees its child go (when the guard runs again).
    if (!stop_pending) w.at_gen(*this, 50 * MS, [this] { core->on_validator_exited(); });
}

void Host::boot_guard() {
    gen++;
    guard_alive = true;
    request_pending = false;
    GuardPolicy policy;
    policy.name = name;
    policy.preferred = preferred;
    policy.failures_before_failover = 3;
    policy.hwm_margin_heights = 2;
    policy.retry_ms = 2000;
    policy.chain_fresh_ms = 3000;
    policy.start_grace_ms = 3000;
    HealthPolicy health;
    health.min_peers = 1;
    health.block_time_ms = w.timing.block_ms;
    health.stale_blocks = 4;
    health.validator_pub_key = validator_key;
    core = std::make_unique<GuardCore>(policy, health, *this, *this);
    LeaseTimings timings;
    timings.ttl_ms = w.timing.ttl_ms;
    timings.renew_interval_ms = w.timing.renew_ms;
    timings.fence_margin_ms = w.timing.fence_margin_ms;
    timings.request_timeout_ms = w.timing.request_timeout_ms;
    timings.failback_grace_ms = 20'000;
    timings.acquire_defer_ms = 2'000;
    if (w.options.etcd) {
        EtcdLeaseConfig ec;
        static_cast<LeaseTimings&>(ec) = timings;
        ec.self_name = name;
        ec.prefix = "/sim/validator";
        etcd = std::make_unique<EtcdLease>(ec, *this, *core, *this);
        core->set_lease(etcd.get());
        if (held_by_operator) core->demote();
        core->start();
        w.log("%s guard boots (etcd)", name.c_str());
        return;
    }
    PeerLeaseConfig pc;
    static_cast<LeaseTimings&>(pc) = timings;
    pc.self_name = name;
    pc.peer_name = w.hosts[1 - id]->name;
    pc.takeover_margin_ms = w.timing.takeover_margin_ms;
    pc.replay_window_ms = w.timing.replay_window_ms;
    static const uint8_t secret[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
                                       12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
                                       23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
    lease = std::make_unique<PeerLease>(pc, secret, *this, *core, *this, *this, *this, record_file);
    core->set_lease(lease.get());
    if (held_by_operator) core->demote();
    core->start();
    w.log("%s guard boots (record epoch %" PRIu64 " holder %s)", name.c_str(), record_file.epoch,
          holder_name(record_file.holder));
}

void Host::crash_guard(bool reboot) {
    if (!guard_alive) return;
    w.log("%s guard crashes%s; validator %s", name.c_str(), reboot ? " (host reboot)" : "",
          validator_running ? "dies with it" : "was not running");
    guard_alive = false;
    gen++;
    validator_running = false;  // PDEATHSIG / systemd BindsTo
    stop_pending = false;
    stalled_until_t = 0;
    stall_at_next_fence_ns = 0;
    request_pending = false;
    lease.reset();
    etcd.reset();
    core.reset();
    if (reboot) {
        mono_base = rng.range(1, 1'000'000) * MS;
        boot_t = w.t;
    }
    w.result.guard_crashes++;
}

void Host::start_validator() {
    w.at_gen(*this, rng.range(10, w.timing.start_ms_max) * MS, [this] {
        if (!state_exists) {
            Error e(Errc::not_found, "priv_validator_state.json missing");
            core->on_validator_started(&e);
            return;
        }
        if (w.options.dead_man && permit_ns <= mono_ns()) {
            // The supervisor starts, finds no valid permit and exits at once.
            w.log("%s supervisor refuses to start the validator: no valid permit", name.c_str());
            core->on_validator_started(nullptr);
            w.at_gen(*this, 50 * MS, [this] { core->on_validator_exited(); });
            return;
        }
        for (auto& other : w.hosts) {
            if (other.get() != this && other->validator_running) {
                w.violate("%s starts its validator while %s's runs", name.c_str(),
                          other->name.c_str());
            }
        }
        uint64_t epoch = core->lease()->epoch();
        if (epoch <= w.max_epoch_started) {
            w.violate("%s starts at epoch %" PRIu64 " <= an earlier activation's %" PRIu64,
                      name.c_str(), epoch, w.max_epoch_started);
        }
        w.max_epoch_started = epoch;
        validator_running = true;
        last_signed = state_file.hrs;  // FilePV loads its state at start
        w.result.activations++;
        w.log("%s validator starts, epoch %" PRIu64 ", state %" PRId64 "/%d/%d", name.c_str(),
              epoch, last_signed.height, last_signed.round, last_signed.step);
        arm_supervisor();
        core->on_validator_started(nullptr);
    });
}

void Host::stop_validator() {
    if (stall_at_next_fence_ns != 0) {
        // A log line written right before this stop blocked (stderr nobody reads): the guard
        // makes no progress, the stop has not been issued, the validator runs on.
        w.log("%s guard blocks on a log write before the stop (%.1fs)", name.c_str(),
              stall_at_next_fence_ns / 1e9);
        stalled_until_t = w.t + stall_at_next_fence_ns;
        stall_at_next_fence_ns = 0;
        w.result.stalls++;
    }
    stop_pending = true;
    w.at_gen(*this, rng.range(1, w.timing.stop_ms_max) * MS, [this] {
        stop_pending = false;
        if (validator_running) w.log("%s validator stopped", name.c_str());
        validator_running = false;
        if (stop_error_once) {
            stop_error_once = false;
            Error e(Errc::io, "stop command exited with status 1");
            core->on_validator_stopped(&e);
            return;
        }
        core->on_validator_stopped(nullptr);
    });
}

void Host::write_state(const SignState& s) {
    SignState copy = s;
    w.at_gen(*this, disk_latency_ms * MS, [this, copy] {
        if (disk_full) {
            w.result.write_errors++;
            w.log("%s state write fails (ENOSPC) role %s", name.c_str(), role_name(core->role()));
            Error e = Error::sys(28, "write priv_validator_state.json");
            core->on_state_written(&e);
            return;
        }
        if (validator_running) {
            w.violate("%s guard wrote the state file while its validator runs", name.c_str());
        }
        if (state_exists && copy.hrs < state_file.hrs) {
            w.violate("%s state file regresses from %" PRId64 "/%d/%d to %" PRId64 "/%d/%d",
                      name.c_str(), state_file.hrs.height, state_file.hrs.round,
                      state_file.hrs.step, copy.hrs.height, copy.hrs.round, copy.hrs.step);
        }
        state_file = copy;
        state_exists = true;
        core->on_state_written(nullptr);
    });
}

void Host::read_state() {
    w.at_gen(*this, disk_latency_ms * MS, [this] {
        if (!state_exists) {
            Error e(Errc::not_found, "no such file");
            core->on_state_read(nullptr, &e);
            return;
        }
        SignState copy = state_file;
        core->on_state_read(&copy, nullptr);
    });
}

void Host::write_record(const GuardRecord& r) {
    w.at_gen(*this, disk_latency_ms * MS, [this, r] {
        if (w.t < record_readonly_until_t) {
            w.result.write_errors++;
            w.log("%s record write {%" PRIu64 ", %s} fails (EROFS)", name.c_str(), r.epoch,
                  holder_name(r.holder));
            Error e = Error::sys(30, "write guard_state.json");
            lease->on_record_written(&e);
            return;
        }
        if (disk_full) {
            w.result.write_errors++;
            w.log("%s record write fails (ENOSPC)", name.c_str());
            Error e = Error::sys(28, "write guard_state.json");
            lease->on_record_written(&e);
            return;
        }
        record_file = r;
        lease->on_record_written(nullptr);
    });
}

void Host::arm_deadline(uint64_t seq, uint64_t deadline_ns) {
    // Deadline on our own clock, converted to true time.
    uint64_t now = mono_ns();
    uint64_t wait_ns = deadline_ns > now ? static_cast<uint64_t>((deadline_ns - now) / rate) : 0;
    w.at_gen(*this, wait_ns, [this, seq] {
        if (!request_pending || request_seq != seq) return;
        fail_request(seq, gen, Error(Errc::timeout, "request timed out"));
    });
}

void Host::fail_request(uint64_t seq, uint64_t my_gen, const Error& e) {
    if (!guard_alive || gen != my_gen || !request_pending || request_seq != seq) return;
    request_pending = false;
    if (etcd)
        etcd->on_response(0, {}, &e);
    else
        lease->on_reply(0, {}, {}, &e);
}

void Host::send(std::string_view path, std::string_view body, std::string_view token,
                uint64_t deadline_ns) {
    request_pending = true;
    uint64_t seq = ++request_seq;
    uint64_t my_gen = gen;
    arm_deadline(seq, deadline_ns);
    Host& to = *w.hosts[1 - id];
    if (!w.delivered(id, to.id)) return;
    std::string p(path), b(body), k(token);
    w.at(w.net_delay(), [this, &to, seq, my_gen, p, b, k] {
        if (!to.guard_alive) {
            // Connection refused comes back quickly.
            w.at(w.net_delay(), [this, seq, my_gen] {
                fail_request(seq, my_gen, Error(Errc::io, "connect: Connection refused"));
            });
            return;
        }
        uint64_t id_in = w.next_inbound_id++;
        w.inbound[id_in] = World::Inbound{id, seq, my_gen, p};
        w.on_guard(to, [&to, p, b, k, id_in] { to.lease->on_request(p, b, k, id_in); });
    });
}

void Host::post(std::string_view path, std::string_view body, uint64_t deadline_ns) {
    request_pending = true;
    uint64_t seq = ++request_seq;
    uint64_t my_gen = gen;
    arm_deadline(seq, deadline_ns);
    if (!w.delivered(id, etcd_node)) return;
    std::string p(path), b(body);
    w.at(w.net_delay(), [this, seq, my_gen, p, b] {
        if (w.etcd_down) {
            w.at(w.net_delay(), [this, seq, my_gen] {
                fail_request(seq, my_gen, Error(Errc::io, "connect: Connection refused"));
            });
            return;
        }
        std::string out;
        int status = w.etcd_server.handle(w.t, p, b, out);
        if (!w.delivered(etcd_node, id)) return;
        w.at(w.net_delay(), [this, seq, my_gen, status, out] {
            w.on_guard(*this, [this, seq, my_gen, status, out] {
                if (!guard_alive || gen != my_gen || !request_pending || request_seq != seq) return;
                request_pending = false;
                etcd->on_response(status, out, nullptr);
            });
        });
    });
}

void Host::reply(uint64_t id_in, int status, std::string_view body, std::string_view token) {
    auto it = w.inbound.find(id_in);
    if (it == w.inbound.end()) return;
    World::Inbound in = it->second;
    w.inbound.erase(it);
    Host& from = *w.hosts[in.from];
    if (!w.delivered(id, from.id)) return;
    std::string b(body), k(token);
    World& world = w;
    w.at(w.net_delay(), [&world, &from, in, status, b, k] {
        world.on_guard(from, [&from, in, status, b, k] {
            if (!from.guard_alive || from.gen != in.gen || !from.request_pending ||
                from.request_seq != in.seq) {
                return;
            }
            from.request_pending = false;
            from.lease->on_reply(status, b, k, nullptr);
        });
    });
}

// ---------------------------------------------------------------------------------------------

World::World(const SimOptions& o) : rng{o.seed * 0x9e3779b97f4a7c15ull + 7}, options(o) {
    int n = o.etcd ? 3 : 2;
    for (int i = 0; i < n; i++) hosts.push_back(std::make_unique<Host>(*this, i, rng.next()));
    hosts[0]->preferred = true;
}

void World::log(const char* format, ...) {
    if (!options.trace) return;
    char line[400];
    int n = std::snprintf(line, sizeof line, "%9.3f ", static_cast<double>(t) / 1e9);
    va_list args;
    va_start(args, format);
    std::vsnprintf(line + n, sizeof line - static_cast<size_t>(n), format, args);
    va_end(args);
    trace.emplace_back(line);
    if (trace.size() > 400) trace.pop_front();
}

void World::violate(const char* format, ...) {
    if (!result.ok) return;
    char line[400];
    int n = std::snprintf(line, sizeof line, "seed %" PRIu64 " t=%.3fs: ", options.seed,
                          static_cast<double>(t) / 1e9);
    va_list args;
    va_start(args, format);
    std::vsnprintf(line + n, sizeof line - static_cast<size_t>(n), format, args);
    va_end(args);
    result.ok = false;
    result.violation = line;
    log("VIOLATION %s", line);
}

void World::schedule_ticks(Host& h) {
    at(timing.tick_ms * MS, [this, &h] {
        if (h.guard_alive && !h.stalled()) h.core->tick();
        schedule_ticks(h);
    });
}

void World::schedule_probes(Host& h) {
    at(timing.probe_ms * MS, [this, &h] {
        if (h.guard_alive && !h.stalled()) probe(h);
        schedule_probes(h);
    });
}

void World::probe(Host& h) {
    int64_t height = chain_height();
    NodeStatus s;
    s.latest_block_height = h.node == NodeMode::stalled ? h.stalled_height : height;
    s.latest_block_time_ns =
        wall_base_ns + s.latest_block_height * static_cast<int64_t>(timing.block_ms * MS);
    s.catching_up = h.node == NodeMode::catching_up;
    std::string_view key = h.validator_running ? validator_key : follower_keys[h.id];
    std::memcpy(s.pub_key, key.data(), key.size());
    s.pub_key_chars = static_cast<uint8_t>(key.size());
    int64_t peers = h.node == NodeMode::no_peers ? 0 : 5;
    bool down = h.node == NodeMode::rpc_down;
    at_gen(h, rng.range(1, 20) * MS, [&h, s, peers, down] {
        if (down) {
            Error e(Errc::timeout, "GET /status: deadline passed");
            h.core->on_probe(nullptr, 0, &e);
        } else {
            h.core->on_probe(&s, peers, nullptr);
        }
    });
}

void World::sign(Host& h, Hrs hrs) {
    if (!h.validator_running || h.node == NodeMode::stalled || h.node == NodeMode::catching_up)
        return;
    if (hrs <= h.last_signed) return;  // FilePV refuses
    SignState s(hrs);
    char sig[89];
    std::snprintf(sig, sizeof sig, "%c%087d", 'A' + h.id, 0);
    sig[86] = '=';
    sig[87] = '=';
    sig[88] = 0;
    (void)s.set_signature(std::string_view(sig, 88));
    char bytes[40];
    int n = std::snprintf(bytes, sizeof bytes, "%02X%016llX%02X%02X", h.id,
                          static_cast<unsigned long long>(hrs.height), hrs.round & 0xff, hrs.step);
    (void)s.set_signbytes(std::string_view(bytes, static_cast<size_t>(n)));
    if (h.state_exists && hrs < h.state_file.hrs) {
        violate("%s validator's own state file is ahead of its memory", h.name.c_str());
    }
    h.state_file = s;  // FilePV saves before it returns the signature
    h.state_exists = true;
    h.last_signed = hrs;
    auto [it, fresh] = ledger.emplace(hrs, h.id);
    if (!fresh && it->second != h.id) {
        violate("DOUBLE SIGN at %" PRId64 "/%d/%d by %s and %s", hrs.height, hrs.round, hrs.step,
                hosts[it->second]->name.c_str(), h.name.c_str());
    }
    result.signatures++;
    last_sign_t = t;
    if (hrs.height > last_height_signed) {
        last_height_signed = hrs.height;
        result.heights_signed++;
    }
    at_gen(h, 5 * MS, [&h, s] { h.core->on_local_state(s); });
}

void World::schedule_block(int64_t height) {
    // Block `height` is committed now; validators vote on height + 1.
    result.heights++;
    bool second_round = rng.chance(0.1);
    for (auto& hp : hosts) {
        Host* h = hp.get();
        at(200 * MS, [this, h, height] { sign(*h, Hrs{height + 1, 0, 2}); });
        at(400 * MS, [this, h, height] { sign(*h, Hrs{height + 1, 0, 3}); });
        if (second_round) {
            at(600 * MS, [this, h, height] { sign(*h, Hrs{height + 1, 1, 2}); });
            at(800 * MS, [this, h, height] { sign(*h, Hrs{height + 1, 1, 3}); });
        }
    }
    at(timing.block_ms * MS, [this, height] { schedule_block(height + 1); });
}

void World::fault(uint64_t kind) {
    Host& h = *hosts[rng.below(hosts.size())];
    // The other end of a network fault: the peer guard, or etcd.
    int other = options.etcd ? etcd_node : 1 - h.id;
    uint64_t dur = rng.range(1'000, 30'000) * MS;
    result.faults++;
    switch (kind) {
        case 0:
        case 1: {  // node trouble
            NodeMode modes[] = {NodeMode::rpc_down, NodeMode::stalled, NodeMode::catching_up,
                                NodeMode::no_peers};
            NodeMode m = modes[rng.below(4)];
            log("fault: %s node mode %d for %.1fs", h.name.c_str(), static_cast<int>(m), dur / 1e9);
            h.node = m;
            h.stalled_height = chain_height();
            at(dur, [&h] { h.node = NodeMode::ok; });
            break;
        }
        case 2:  // validator process crashes
            if (h.validator_running && h.guard_alive) {
                log("fault: %s validator crashes", h.name.c_str());
                h.validator_running = false;
                at_gen(h, 50 * MS, [&h] { h.core->on_validator_exited(); });
            }
            break;
        case 3: {  // guard killed -9 (and maybe the host reboots)
            bool reboot = rng.chance(0.3);
            uint64_t down = rng.range(200, 15'000) * MS;
            log("fault: %s guard killed for %.1fs", h.name.c_str(), down / 1e9);
            at(0, [&h, reboot] { h.crash_guard(reboot); });
            at(down, [&h] {
                if (!h.guard_alive) h.boot_guard();
            });
            break;
        }
        case 4: {  // partition (from the peer, or from etcd)
            int mode = static_cast<int>(rng.below(3));
            log("fault: %s partitioned from %s %s for %.1fs", h.name.c_str(),
                options.etcd ? "etcd" : "its peer", mode == 0 ? "both ways" : "one way", dur / 1e9);
            if (mode != 2) cut[h.id][other] = true;
            if (mode != 1) cut[other][h.id] = true;
            int a = h.id;
            at(dur, [this, a, other] { cut[a][other] = cut[other][a] = false; });
            break;
        }
        case 5: {  // lossy network
            double p = 0.1 + rng.below(50) / 100.0;
            log("fault: %.0f%% loss at %s for %.1fs", p * 100, h.name.c_str(), dur / 1e9);
            loss[h.id][other] = loss[other][h.id] = p;
            int a = h.id;
            at(dur, [this, a, other] { loss[a][other] = loss[other][a] = 0; });
            if (options.etcd && rng.chance(0.3)) {
                log("fault: etcd down for %.1fs", dur / 1e9);
                etcd_down = true;
                at(dur, [this] { etcd_down = false; });
            }
            break;
        }
        case 6:  // disk full
            log("fault: %s disk full for %.1fs", h.name.c_str(), dur / 1e9);
            h.disk_full = true;
            at(dur, [&h] { h.disk_full = false; });
            break;
        case 7: {  // slow disk
            uint64_t latency = rng.range(50, 1500);
            log("fault: %s disk latency %" PRIu64 "ms for %.1fs", h.name.c_str(), latency,
                dur / 1e9);
            h.disk_latency_ms = latency;
            at(dur, [&h] { h.disk_latency_ms = 2; });
            break;
        }
        case 8: {  // clock skew (sometimes beyond the replay window)
            int64_t skew =
                (static_cast<int64_t>(rng.below(16'001)) - 8'000) * static_cast<int64_t>(MS);
            log("fault: %s wall clock skew %+.1fs for %.1fs", h.name.c_str(), skew / 1e9,
                dur / 1e9);
            h.wall_skew_ns = skew;
            at(dur, [&h] { h.wall_skew_ns = h.base_wall_skew_ns; });  // also after overlaps
            break;
        }
        case 9:  // operator demote, later promote
            if (h.guard_alive) demote_for(h, dur);
            break;
        case 10:  // operator promote
            if (h.guard_alive) {
                log("operator: promote %s", h.name.c_str());
                h.held_by_operator = false;
                on_guard(h, [&h] { (void)h.core->promote(false); });
            }
            break;
        case 11:  // the stop command reports an error once (the process still stops)
            h.stop_error_once = true;
            break;
        case 12: {  // the guard is stopped (SIGSTOP, a cgroup freezer); its validator runs on
            Host& victim = running_or(h);
            if (!victim.guard_alive || victim.stalled()) break;
            uint64_t pause = rng.range(500, 20'000) * MS;
            log("fault: %s guard stopped for %.1fs%s", victim.name.c_str(), pause / 1e9,
                victim.validator_running ? " (its validator runs on)" : "");
            victim.stalled_until_t = t + pause;
            result.stalls++;
            break;
        }
        case 13: {  // stderr blocks: the next fence decision stalls on its log line
            Host& victim = running_or(h);
            if (!victim.guard_alive) break;
            victim.stall_at_next_fence_ns = rng.range(500, 20'000) * MS;
            log("fault: %s stderr blocked (next fence stalls %.1fs)", victim.name.c_str(),
                victim.stall_at_next_fence_ns / 1e9);
            if (rng.chance(0.5)) demote_for(victim, dur);
            break;
        }
        default: {  // the data directory turns read-only while the holder releases
            Host& victim = running_or(h);
            if (!victim.guard_alive) break;
            log("fault: %s data_dir read-only for %.1fs, operator demotes it", victim.name.c_str(),
                dur / 1e9);
            victim.record_readonly_until_t = t + dur;
            demote_for(victim, dur + 5'000 * MS);
            break;
        }
    }
}

void World::demote_for(Host& h, uint64_t dur) {
    log("operator: demote %s for %.1fs", h.name.c_str(), dur / 1e9);
    h.held_by_operator = true;
    on_guard(h, [&h] { h.core->demote(); });
    at(dur, [this, &h] {
        h.held_by_operator = false;
        if (h.guard_alive) on_guard(h, [&h] { (void)h.core->promote(false); });
    });
}

Host& World::running_or(Host& h) {
    // Faults aimed at the active host are the ones that can hurt: prefer it.
    for (auto& other : hosts) {
        if (other->validator_running && rng.chance(0.7)) return *other;
    }
    return h;
}

void World::schedule_faults() {
    uint64_t when = rng.range(2'000, 12'000) * MS;
    if (t + when + options.quiet_tail_ms * MS >= options.duration_ms * MS) return;
    at(when, [this] {
        fault(rng.below(15));
        schedule_faults();
    });
}

SimResult World::run() {
    for (auto& h : hosts) {
        h->boot_guard();
        schedule_ticks(*h);
        schedule_probes(*h);
    }
    schedule_block(0);
    if (options.faults) schedule_faults();
    uint64_t end = options.duration_ms * MS;
    while (!queue_.empty() && result.ok) {
        Event e = queue_.top();
        if (e.t > end) break;
        queue_.pop();
        t = e.t;
        e.fn();
    }
    for (auto& h : hosts) {
        if (h->lease) result.takeovers_on_silence += h->lease->stats().takeovers_on_silence;
    }
    // Liveness: after the quiet tail every fault has healed; somebody must be signing again.
    constexpr uint64_t signing_gap_max_ns = 10'000 * MS;
    if (result.ok && options.duration_ms > options.quiet_tail_ms &&
        end - last_sign_t > signing_gap_max_ns) {
        violate("nobody signed in the last %.1fs after a quiet tail of %.0fs (deadlock?)",
                static_cast<double>(end - last_sign_t) / 1e9,
                static_cast<double>(options.quiet_tail_ms) / 1e3);
    }
    if (options.trace) {
        for (auto& h : hosts) {
            if (!h->guard_alive) {
                log("end: %s guard down", h->name.c_str());
                continue;
            }
            PeerStatus st = h->core->local_status();
            log("end: %s role %s fenced %d healthy %d hold %d eligible %d epoch %" PRIu64
                " error '%.*s' lease problem '%.*s'",
                h->name.c_str(), role_name(st.role), st.fenced, st.healthy, st.hold, st.eligible,
                h->core->lease()->epoch(), static_cast<int>(h->core->last_error().size()),
                h->core->last_error().data(), static_cast<int>(h->core->lease()->problem().size()),
                h->core->lease()->problem().data());
            if (h->lease) {
                const GuardRecord& r = h->lease->record();
                log("end: %s record {%" PRIu64 ", %s} peer fresh %d", h->name.c_str(), r.epoch,
                    holder_name(r.holder), h->lease->peer_fresh());
            }
        }
        for (auto& line : trace) {
            result.trace += line;
            result.trace += '\n';
        }
    }
    return result;
}

}  // namespace

SimResult run_schedule(const SimOptions& options) {
    World world(options);
    return world.run();
}

}  // namespace em::validator::sim
