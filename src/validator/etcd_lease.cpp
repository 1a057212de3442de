#include "validator/etcd_lease.h"

#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "base/assert.h"
#include "base/log.h"
#include "validator/base64.h"

namespace em::validator {

namespace {

constexpr uint64_t ms(uint64_t v) {
    return v * 1'000'000ull;
}

const char* op_path(int op) {
    // Indexed by EtcdLease::Op.
    static constexpr const char* paths[] = {"",
                                            "/v3/kv/deleterange",
                                            "/v3/lease/grant",
                                            "/v3/kv/txn",
                                            "/v3/kv/range",
                                            "/v3/lease/keepalive",
                                            "/v3/kv/txn",
                                            "/v3/lease/revoke",
                                            "/v3/kv/txn",
                                            "/v3/lease/grant",
                                            "/v3/lease/keepalive",
                                            "/v3/kv/put",
                                            "/v3/kv/range",
                                            "/v3/lease/revoke"};
    return paths[op];
}

/// An etcd error answer: {"error":"...","code":N,"message":"..."}.
Error etcd_error(int status, JsonValue root) {
    JsonObject o;
    std::string_view message;
    if (!root.get(o) && !o.at_key("message").get(message)) {
        return Error::fmt(Errc::io, "etcd HTTP %d: %.*s", status,
                          static_cast<int>(message.size() > 80 ? 80 : message.size()),
                          message.data());
    }
    return Error::fmt(Errc::io, "etcd answered HTTP %d", status);
}

/// A required member of an object.
Result<JsonValue> member(JsonObject o, std::string_view key) {
    JsonValue v;
    if (o.at_key(key).get(v)) {
        return failf(Errc::invalid_input, "missing field '%.*s'", static_cast<int>(key.size()),
                     key.data());
    }
    return v;
}

/// Optional int64-as-string field of an object (etcd omits zero values).
Result<int64_t> opt_int(JsonObject o, std::string_view key, std::string_view what) {
    JsonValue v;
    if (o.at_key(key).get(v)) return 0;
    return json_int_string(v, what, INT64_MIN + 1, INT64_MAX);
}

}  // namespace

EtcdLease::EtcdLease(const EtcdLeaseConfig& config, GuardClock& clock, LeaseHost& host,
                     EtcdLink& link)
    : config_(config),
      clock_(clock),
      host_(host),
      link_(link),
      parser_(config.body_bytes_max),
      value_parser_(16 * 1024),
      body_(16 * 1024, 1024),
      scratch_(16 * 1024, 1024),
      value_(16 * 1024, 1024),
      doc_(12 * 1024, 1024),
      ttl_s_((config.ttl_ms + 999) / 1000 < 2 ? 2 : (config.ttl_ms + 999) / 1000) {
    hosts_.reserve(config.hosts_max);
}

void EtcdLease::set_problem(const char* format, ...) {
    va_list args;
    va_start(args, format);
    int n = std::vsnprintf(problem_, sizeof problem_, format, args);
    va_end(args);
    problem_chars_ = static_cast<uint8_t>(
        n < 0 ? 0 : (n >= static_cast<int>(sizeof problem_) ? sizeof problem_ - 1 : n));
}

bool EtcdLease::valid() {
    return holding_ && now() + ms(config_.fence_margin_ms) < expiry_ns_;
}

uint64_t EtcdLease::valid_until_ns() {
    return valid() ? expiry_ns_ - ms(config_.fence_margin_ms) : 0;
}

// ---------------------------------------------------------------------------------------------
// Lease interface

void EtcdLease::tick() {
    pump();
}

const EtcdLease::HostInfo* EtcdLease::best_candidate() const {
    const HostInfo* best = nullptr;
    for (const HostInfo& h : hosts_) {
        if (h.name == config_.self_name || !h.status.eligible) continue;
        if (!best || outranks(h.status, h.name, best->status, best->name)) best = &h;
    }
    return best;
}

bool EtcdLease::may_acquire() {
    if (holding_ || acquiring_ || release_wanted_ || lease_id_ != 0 || orphan_lease_id_ != 0) {
        return false;
    }
    if (polled_ns_ == 0 || now() - polled_ns_ > 2 * ms(config_.renew_interval_ms)) return false;
    if (leader_present_) return false;
    // The lease is open once it has been free for a while and, after start-up, every host had
    // time to publish its status. The best-ranked eligible host goes first; the others wait one
    // more defer period in case it does not.
    uint64_t defer = ms(config_.acquire_defer_ms);
    uint64_t open_ns = first_poll_ns_ + defer;
    if (leader_absent_since_ns_ > open_ns) open_ns = leader_absent_since_ns_;
    if (now() < open_ns) return false;
    const HostInfo* other = best_candidate();
    if (!other || outranks(host_.local_status(), config_.self_name, other->status, other->name)) {
        return true;
    }
    return now() - open_ns > defer;
}

void EtcdLease::acquire() {
    EM_ASSERT(!holding_ && !acquiring_);
    acquiring_ = true;
    acquire_start_ = true;
    forcing_ = false;
    pump();
}

void EtcdLease::force_acquire() {
    if (holding_ || acquiring_) return;
    acquiring_ = true;
    acquire_start_ = true;
    forcing_ = true;
    pump();
}

void EtcdLease::release(const SignState* final_state) {
    if (!holding_ && lease_id_ == 0) return;
    holding_ = false;
    state_wanted_ = false;
    release_wanted_ = true;
    release_has_state_ = final_state != nullptr && epoch_ != 0;
    if (final_state) release_state_ = *final_state;
    pump();
}

void EtcdLease::publish_state(const SignState& state) {
    if (!holding_) return;
    state_out_ = state;
    state_wanted_ = true;
    pump();
}

bool EtcdLease::successor_ready() {
    if (!holding_ || now() - polled_ns_ > 2 * ms(config_.renew_interval_ms)) return false;
    for (const HostInfo& h : hosts_) {
        if (h.name != config_.self_name && h.status.eligible && h.status.role == Role::passive) {
            return true;
        }
    }
    return false;
}

bool EtcdLease::handover_requested() {
    if (!successor_ready()) return false;
    PeerStatus self = host_.local_status();
    for (const HostInfo& h : hosts_) {
        if (h.name == config_.self_name || !h.status.eligible || h.status.role != Role::passive) {
            continue;
        }
        if (h.status.promote) return true;
        if (!self.promote && h.status.preferred && !self.preferred &&
            h.status.healthy_for_ms >= config_.failback_grace_ms) {
            return true;
        }
    }
    return false;
}

void EtcdLease::lose_lease(const char* why, bool conflict) {
    if (!holding_) return;
    EM_LOG_FIELDS(LogLevel::warn, (log_field("epoch", epoch_), log_field("reason", why)),
                  "validator: etcd lease epoch %llu lost: %s",
                  static_cast<unsigned long long>(epoch_), why);
    set_problem("lease lost: %s", why);
    holding_ = false;
    stats_.lost++;
    // Keep lease_id_: release() (after fencing) revokes it.
    if (conflict) {
        stats_.conflicts++;
        host_.on_conflict(Error(Errc::internal, why));
    }
}

void EtcdLease::acquire_failed(const Error& e) {
    acquiring_ = false;
    forcing_ = false;
    if (lease_id_ != 0) {
        orphan_lease_id_ = lease_id_;
        lease_id_ = 0;
    }
    set_problem("acquire: %s", e.c_str());
    host_.on_lease_refused(e);
}

// ---------------------------------------------------------------------------------------------
// Requests

void EtcdLease::pump() {
    if (in_flight_ != Op::none) return;
    uint64_t t = now();
    if (release_wanted_) {
        release_wanted_ = false;
        post(release_has_state_ ? Op::release_put : Op::revoke);
    } else if (orphan_lease_id_ != 0) {
        post(Op::revoke_orphan);
    } else if (acquire_start_) {
        acquire_start_ = false;
        post(forcing_ ? Op::force_delete : Op::grant);
    } else if (holding_ && t >= next_renew_ns_) {
        next_renew_ns_ = t + ms(config_.renew_interval_ms);
        post(Op::renew);
    } else if (holding_ && state_wanted_) {
        state_wanted_ = false;
        post(Op::publish);
    } else if (t >= next_status_ns_) {
        next_status_ns_ = t + ms(config_.renew_interval_ms);
        post(status_lease_id_ ? Op::status_keepalive : Op::status_grant);
    } else if (t >= next_poll_ns_) {
        next_poll_ns_ = t + ms(config_.renew_interval_ms);
        post(Op::poll);
    }
}

void EtcdLease::write_key(JsonWriter& w, std::string_view suffix) {
    scratch_.clear();
    scratch_.append(config_.prefix);
    scratch_.push_back('/');
    scratch_.append(suffix);
    value_.clear();
    base64_encode(scratch_.bytes(), value_);
    w.string(value_.view());
}

void EtcdLease::write_value(JsonWriter& w, std::string_view json) {
    value_.clear();
    base64_encode({reinterpret_cast<const uint8_t*>(json.data()), json.size()}, value_);
    w.string(value_.view());
}

void EtcdLease::write_compare_leader(JsonWriter& w, uint64_t create_revision) {
    w.key("compare").begin_array().begin_object();
    w.key("key");
    write_key(w, "leader");
    w.key("target").string("CREATE").key("result").string("EQUAL");
    w.key("create_revision").unsigned_string(create_revision).end_object().end_array();
}

void EtcdLease::build_create(JsonWriter& w) {
    write_compare_leader(w, 0);
    w.key("success").begin_array().begin_object().key("request_put").begin_object();
    w.key("key");
    write_key(w, "leader");
    doc_.clear();
    JsonWriter(doc_).begin_object().key("name").string(config_.self_name).end_object();
    w.key("value");
    write_value(w, doc_.view());
    w.key("lease").number_string(lease_id_);
    w.end_object().end_object().end_array();
}

void EtcdLease::build_state_put(JsonWriter& w, const SignState& state) {
    write_compare_leader(w, epoch_);
    w.key("success").begin_array().begin_object().key("request_put").begin_object();
    w.key("key");
    write_key(w, "state");
    doc_.clear();
    JsonWriter sw(doc_);
    sw.begin_object().key("epoch").unsigned_string(epoch_).key("state");
    write_sign_state(state, doc_);
    sw.raw("").end_object();
    w.key("value");
    write_value(w, doc_.view());
    w.end_object().end_object().end_array();
}

void EtcdLease::build_status_put(JsonWriter& w) {
    scratch_.clear();
    scratch_.append("hosts/");
    scratch_.append(config_.self_name);
    char suffix[80];
    size_t n = scratch_.size() < sizeof suffix ? scratch_.size() : sizeof suffix;
    std::memcpy(suffix, scratch_.data(), n);
    w.key("key");
    write_key(w, {suffix, n});
    doc_.clear();
    JsonWriter hw(doc_);
    hw.begin_object().key("name").string(config_.self_name).key("status");
    PeerStatus s = host_.local_status();
    s.holding = holding_;
    s.bounded = holding_;
    validator::write_status(hw, s);
    hw.end_object();
    w.key("value");
    write_value(w, doc_.view());
    w.key("lease").number_string(status_lease_id_);
}

void EtcdLease::build_poll(JsonWriter& w) {
    w.key("key");
    write_key(w, "");
    // range_end = prefix + "0": every key that starts with prefix + "/".
    scratch_.clear();
    scratch_.append(config_.prefix);
    scratch_.push_back('0');
    value_.clear();
    base64_encode(scratch_.bytes(), value_);
    w.key("range_end").string(value_.view());
}

void EtcdLease::build(Op op) {
    body_.clear();
    JsonWriter w(body_);
    w.begin_object();
    switch (op) {
        case Op::grant:
        case Op::status_grant:
            w.key("TTL").number(ttl_s_);
            break;
        case Op::renew:
        case Op::revoke:
            w.key("ID").number_string(lease_id_);
            break;
        case Op::status_keepalive:
            w.key("ID").number_string(status_lease_id_);
            break;
        case Op::revoke_orphan:
            w.key("ID").number_string(orphan_lease_id_);
            break;
        case Op::force_delete:
            w.key("key");
            write_key(w, "leader");
            break;
        case Op::read_state:
            w.key("key");
            write_key(w, "state");
            break;
        case Op::poll:
            build_poll(w);
            break;
        case Op::create:
            build_create(w);
            break;
        case Op::publish:
            build_state_put(w, state_out_);
            break;
        case Op::release_put:
            build_state_put(w, release_state_);
            break;
        case Op::status_put:
            build_status_put(w);
            break;
        case Op::none:
            EM_ASSERT(false);
    }
    w.end_object();
}

void EtcdLease::post(Op op) {
    build(op);
    EM_ASSERT(!body_.overflowed());
    in_flight_ = op;
    sent_ns_ = now();
    if (op == Op::grant) grant_sent_ns_ = sent_ns_;
    stats_.requests++;
    link_.post(op_path(static_cast<int>(op)), body_.view(),
               sent_ns_ + ms(config_.request_timeout_ms));
}

void EtcdLease::on_response(int status, std::string_view body, const Error* error) {
    Op op = in_flight_;
    EM_ASSERT(op != Op::none);
    in_flight_ = Op::none;
    next_op_ = Op::none;
    Result<void> handled;
    if (error) {
        handled = Unexpected(*error);
    } else {
        auto root = parser_.parse(body);
        if (!root) {
            handled = Unexpected(root.error());
        } else if (status != 200) {
            handled = Unexpected(etcd_error(status, *root));
        } else {
            auto object = json_object(*root, "etcd answer");
            handled = object ? handle(op, *object) : Unexpected(object.error());
        }
    }
    if (!handled) {
        stats_.errors++;
        set_problem("etcd: %s", handled.error().c_str());
        switch (op) {
            case Op::force_delete:
            case Op::grant:
            case Op::create:
            case Op::read_state:
                acquire_failed(handled.error());
                break;
            case Op::release_put:
                next_op_ = Op::revoke;
                break;
            case Op::revoke:
                lease_id_ = 0;
                break;  // it expires by itself
            case Op::revoke_orphan:
                orphan_lease_id_ = 0;
                break;
            case Op::status_keepalive:
                status_lease_id_ = 0;
                break;
            case Op::publish:
                state_wanted_ = holding_;
                break;
            default:
                break;
        }
    }
    if (next_op_ != Op::none) {
        post(next_op_);
        return;
    }
    pump();
}

Result<void> EtcdLease::handle_grant(Op op, JsonObject root) {
    int64_t id = EM_TRY(opt_int(root, "ID", "ID"));
    int64_t ttl = EM_TRY(opt_int(root, "TTL", "TTL"));
    if (id == 0 || ttl <= 0) return fail(Errc::invalid_input, "lease grant without ID or TTL");
    if (op == Op::status_grant) {
        status_lease_id_ = id;
        next_op_ = Op::status_put;
        return {};
    }
    lease_id_ = id;
    expiry_ns_ = grant_sent_ns_ + ms(static_cast<uint64_t>(ttl) * 1000);
    next_op_ = Op::create;
    return {};
}

Result<void> EtcdLease::handle_create(JsonObject root) {
    JsonValue v;
    bool succeeded = !root.at_key("succeeded").get(v) && EM_TRY(json_bool(v, "succeeded"));
    JsonObject header = EM_TRY(json_object(EM_TRY(member(root, "header")), "header"));
    int64_t revision = EM_TRY(opt_int(header, "revision", "header.revision"));
    if (!succeeded) return fail(Errc::busy, "another host holds the lease");
    if (revision <= 0) return fail(Errc::invalid_input, "header.revision missing");
    epoch_ = static_cast<uint64_t>(revision);
    next_op_ = Op::read_state;
    return {};
}

Result<void> EtcdLease::handle_keepalive(Op op, JsonObject root) {
    JsonObject result = EM_TRY(json_object(EM_TRY(member(root, "result")), "result"));
    int64_t ttl = EM_TRY(opt_int(result, "TTL", "result.TTL"));
    if (op == Op::status_keepalive) {
        if (ttl <= 0) status_lease_id_ = 0;
        next_op_ = ttl <= 0 ? Op::status_grant : Op::status_put;
        return {};
    }
    if (ttl <= 0) {
        lose_lease("the etcd lease expired", false);
        return {};
    }
    uint64_t expiry = sent_ns_ + ms(static_cast<uint64_t>(ttl) * 1000);
    if (expiry > expiry_ns_) expiry_ns_ = expiry;
    return {};
}

Result<void> EtcdLease::handle(Op op, JsonObject root) {
    switch (op) {
        case Op::force_delete:
            next_op_ = Op::grant;
            return {};
        case Op::grant:
        case Op::status_grant:
            return handle_grant(op, root);
        case Op::create:
            return handle_create(root);
        case Op::read_state:
        case Op::poll:
            EM_TRY_VOID(handle_poll(root, op == Op::poll));
            if (op == Op::read_state) {
                acquiring_ = false;
                forcing_ = false;
                holding_ = true;
                next_renew_ns_ = now() + ms(config_.renew_interval_ms);
                stats_.acquired++;
                problem_chars_ = 0;
                host_.on_lease_acquired();
            }
            return {};
        case Op::renew:
        case Op::status_keepalive:
            return handle_keepalive(op, root);
        case Op::publish:
        case Op::release_put: {
            JsonValue v;
            bool succeeded = !root.at_key("succeeded").get(v) && EM_TRY(json_bool(v, "succeeded"));
            if (op == Op::release_put) {
                next_op_ = Op::revoke;
            } else if (!succeeded) {
                lose_lease("P/leader changed: another host holds the lease", true);
            }
            return {};
        }
        case Op::revoke:
            lease_id_ = 0;
            return {};
        case Op::revoke_orphan:
            orphan_lease_id_ = 0;
            return {};
        case Op::status_put:
        case Op::none:
            return {};
    }
    return {};
}

void EtcdLease::apply_kv(std::string_view key, std::string_view value_b64,
                         uint64_t create_revision) {
    // The caller checked that key starts with prefix + "/".
    std::string_view suffix = key.substr(config_.prefix.size() + 1);
    uint8_t raw[16 * 1024];
    if (value_b64.size() > base64_encoded_chars(sizeof raw)) return;
    auto n = base64_decode(value_b64, raw);
    if (!n) return;
    std::string_view value(reinterpret_cast<const char*>(raw), *n);
    auto root = value_parser_.parse(value);
    if (!root) return;
    JsonObject o;
    if (root->get(o)) return;
    if (suffix == "leader") {
        std::string_view name;
        leader_present_ = true;
        leader_epoch_ = create_revision;
        leader_name_ = o.at_key("name").get(name) ? std::string() : std::string(name);
    } else if (suffix == "state") {
        JsonValue e, s;
        if (o.at_key("epoch").get(e) || o.at_key("state").get(s)) return;
        auto epoch = json_int_string(e, "epoch", 0, INT64_MAX);
        auto state = sign_state_from_json(s);
        if (!epoch || !state) return;
        if (!has_holder_state_ || state->hrs > holder_state_.hrs) {
            holder_state_ = *state;
            has_holder_state_ = true;
            holder_state_epoch_ = static_cast<uint64_t>(*epoch);
            if (!holding_) host_.on_holder_state(holder_state_);
        }
    } else if (suffix.starts_with("hosts/") && hosts_.size() < config_.hosts_max) {
        std::string_view name;
        JsonValue s;
        if (o.at_key("name").get(name) || o.at_key("status").get(s)) return;
        auto status = parse_status_object(s);
        if (!status || !check_name(name)) return;
        hosts_.push_back(HostInfo{std::string(name), *status});
    }
}

Result<void> EtcdLease::handle_poll(JsonObject root, bool full) {
    bool was_present = leader_present_;
    if (full) {
        leader_present_ = false;
        hosts_.clear();
    }
    JsonValue kvs_value;
    if (!root.at_key("kvs").get(kvs_value)) {
        simdjson::dom::array kvs;
        if (kvs_value.get(kvs)) return fail(Errc::invalid_input, "kvs: expected an array");
        for (JsonValue kv : kvs) {
            JsonObject o = EM_TRY(json_object(kv, "kvs[]"));
            std::string_view key_b64 = EM_TRY(json_string(EM_TRY(member(o, "key")), "kvs[].key"));
            JsonValue value;
            std::string_view value_b64;
            if (!o.at_key("value").get(value))
                value_b64 = EM_TRY(json_string(value, "kvs[].value"));
            int64_t created = EM_TRY(opt_int(o, "create_revision", "kvs[].create_revision"));
            uint8_t key[512];
            if (key_b64.size() > base64_encoded_chars(sizeof key)) continue;
            size_t n = EM_TRY(base64_decode(key_b64, key));
            std::string_view k(reinterpret_cast<const char*>(key), n);
            if (k.size() <= config_.prefix.size() ||
                k.substr(0, config_.prefix.size()) != config_.prefix ||
                k[config_.prefix.size()] != '/') {
                continue;
            }
            apply_kv(k, value_b64, static_cast<uint64_t>(created));
        }
    }
    if (!full) return {};
    polled_ns_ = now();
    if (first_poll_ns_ == 0) first_poll_ns_ = polled_ns_;
    if (!leader_present_ && (was_present || leader_absent_since_ns_ == 0)) {
        leader_absent_since_ns_ = polled_ns_;
    }
    if (!holding_ && leader_present_ && leader_epoch_ > epoch_) epoch_ = leader_epoch_;
    if (holding_ && in_flight_ == Op::none) {
        if (!leader_present_) {
            lose_lease("P/leader is gone", false);
        } else if (leader_epoch_ != epoch_ || leader_name_ != config_.self_name) {
            lose_lease("P/leader belongs to another host", true);
        }
    }
    return {};
}

void EtcdLease::write_status(JsonWriter& w) {
    uint64_t t = now();
    w.key("backend").string("etcd");
    w.key("epoch").unsigned_string(epoch_);
    w.key("holding").boolean(holding_);
    w.key("valid").boolean(valid());
    if (holding_) w.key("expires_in_ms").number(static_cast<int64_t>(expiry_ns_ - t) / 1'000'000);
    w.key("leader_present").boolean(leader_present_);
    if (leader_present_) {
        w.key("leader").string(leader_name_);
        w.key("leader_epoch").unsigned_string(leader_epoch_);
    }
    w.key("hosts").begin_array();
    for (const HostInfo& h : hosts_) {
        w.begin_object().key("name").string(h.name).key("status");
        validator::write_status(w, h.status);
        w.end_object();
    }
    w.end_array();
}

}  // namespace em::validator
