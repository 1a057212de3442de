#include "validator/peer_lease.h"

#include <cstdarg>
#include <cstdio>

#include "base/assert.h"
#include "base/log.h"

namespace em::validator {

namespace {
constexpr uint64_t ms(uint64_t v) {
    return v * 1'000'000ull;
}
}  // namespace

PeerLease::PeerLease(const PeerLeaseConfig& config, std::span<const uint8_t> secret,
                     GuardClock& clock, LeaseHost& host, PeerLink& link, ReplySink& sink,
                     RecordStore& store, const GuardRecord& record)
    : config_(config),
      auth_(secret, config.self_name, config.peer_name, config.replay_window_ms,
            config.replay_nonces_max),
      clock_(clock),
      host_(host),
      link_(link),
      sink_(sink),
      store_(store),
      parser_(config.body_bytes_max),
      body_(config.body_bytes_max, 1024),
      reply_body_(config.body_bytes_max, 1024),
      record_(record),
      epoch_(record.epoch) {
    // A restart after holding: our validator is fenced at start-up, then the core calls
    // release(); until then we neither grant nor acquire (record_.holder == self).
    if (record_.holder == Holder::peer) {
        // We may have granted a lease just before the restart: keep the promise it carried.
        takeover_after_ns_ = now() + ms(config_.ttl_ms + config_.takeover_margin_ms);
        takeover_armed_ = false;
    }
}

void PeerLease::set_problem(const char* format, ...) {
    va_list args;
    va_start(args, format);
    int n = std::vsnprintf(problem_, sizeof problem_, format, args);
    va_end(args);
    problem_chars_ = static_cast<uint8_t>(
        n < 0 ? 0 : (n >= static_cast<int>(sizeof problem_) ? sizeof problem_ - 1 : n));
}

bool PeerLease::locally_fenced() const {
    PeerStatus s = host_.local_status();
    return s.fenced && (s.role == Role::passive || s.role == Role::acquiring);
}

bool PeerLease::can_persist() {
    return !persisting_ && now() >= persist_retry_ns_;
}

bool PeerLease::peer_fresh() {
    return peer_known_ && now() - peer_heard_ns_ <= ms(config_.ttl_ms);
}

bool PeerLease::valid() {
    return holding_ && (!bounded_ || now() + ms(config_.fence_margin_ms) < expiry_ns_);
}

uint64_t PeerLease::valid_until_ns() {
    if (!valid()) return 0;
    if (!bounded_) return now() + ms(config_.ttl_ms - config_.fence_margin_ms);
    return expiry_ns_ - ms(config_.fence_margin_ms);
}

// ---------------------------------------------------------------------------------------------
// Lease interface (our side)

void PeerLease::tick() {
    // Telling the peer is given up after a while (it may be gone for good); the record write
    // never is: until it is durable we still hold the epoch on disk.
    if (release_epoch_ != 0 && release_durable() && now() > release_deadline_ns_) {
        release_epoch_ = 0;
    }
    pump();
}

bool PeerLease::release_durable() const {
    return !(record_.holder == Holder::self && record_.epoch == release_epoch_);
}

bool PeerLease::silence_takeover_allowed() {
    uint64_t wait = ms(config_.ttl_ms + config_.takeover_margin_ms);
    return config_.takeover_on_silence && record_.holder == Holder::peer && takeover_armed_ &&
           now() >= takeover_after_ns_ && now() >= peer_mac_ns_ + wait;
}

bool PeerLease::released_to_us() const {
    return released_epoch_ != 0 && record_.holder == Holder::none &&
           record_.epoch == released_epoch_;
}

bool PeerLease::may_acquire() {
    if (holding_ || acquiring_ || persisting_ || record_.holder == Holder::self ||
        release_epoch_ != 0) {
        return false;
    }
    if (silence_takeover_allowed() || released_to_us()) return true;
    if (record_.holder == Holder::peer || !peer_fresh()) return false;
    const PeerStatus& p = peer_status_;
    if (p.holding || p.role != Role::passive) return false;
    if (outranks(host_.local_status(), config_.self_name, p, config_.peer_name)) return true;
    // The other host should go first; take the lease only if it has not been able to for a
    // while (it is unhealthy, held back, or still starting).
    return !p.eligible && now() - peer_ineligible_since_ns_ >= ms(config_.acquire_defer_ms);
}

void PeerLease::acquire() {
    EM_ASSERT(!holding_ && !acquiring_);
    acquiring_ = true;
    if (silence_takeover_allowed()) {
        takeover_wanted_ = true;
        stats_.takeovers_on_silence++;
        EM_LOG_WARN("validator: peer %s silent past its lease; taking a new epoch without it",
                    config_.peer_name.c_str());
    } else if (released_to_us()) {
        takeover_wanted_ = true;
    } else {
        acquire_wanted_ = true;
    }
    pump();
}

void PeerLease::force_acquire() {
    if (holding_ || acquiring_) return;
    acquiring_ = true;
    takeover_wanted_ = true;
    pump();
}

void PeerLease::release(const SignState* final_state) {
    if (!holding_ && record_.holder != Holder::self) {
        if (final_state) state_out_ = *final_state;
        return;
    }
    uint64_t epoch = record_.holder == Holder::self ? record_.epoch : epoch_;
    holding_ = false;
    bounded_ = false;
    state_wanted_ = false;
    release_epoch_ = epoch;
    release_has_state_ = final_state != nullptr;
    if (final_state) release_state_ = *final_state;
    release_deadline_ns_ = now() + 2 * ms(config_.ttl_ms);
    if (persisting_ || now() < persist_retry_ns_) return;  // pump() persists it later
    persist(GuardRecord{epoch, Holder::none}, After::released, nullptr);
}

void PeerLease::publish_state(const SignState& state) {
    if (!holding_) return;
    state_out_ = state;
    state_wanted_ = true;
    pump();
}

bool PeerLease::successor_ready() {
    return holding_ && peer_fresh() && peer_status_.role == Role::passive && peer_status_.eligible;
}

bool PeerLease::handover_requested() {
    if (!successor_ready()) return false;
    const PeerStatus& p = peer_status_;
    if (p.promote) return true;
    PeerStatus self = host_.local_status();
    if (self.promote) return false;
    return p.preferred && !self.preferred && p.healthy_for_ms >= config_.failback_grace_ms;
}

bool PeerLease::drop_lease(const char* why) {
    if (!holding_) return false;
    holding_ = false;  // valid() is false from here on
    set_problem("lease lost: %s", why);
    return true;
}

void PeerLease::log_lost(const char* why) const {
    EM_LOG_WARN("validator: lease epoch %llu lost: %s", static_cast<unsigned long long>(epoch_),
                why);
}

void PeerLease::lose_lease(const char* why) {
    if (drop_lease(why)) log_lost(why);
}

// ---------------------------------------------------------------------------------------------
// Record writes

void PeerLease::persist(const GuardRecord& record, After after, const Req* req) {
    EM_ASSERT(!persisting_);
    persisting_ = true;
    persist_target_ = record;
    after_ = after;
    if (req) after_req_ = *req;
    store_.write_record(record);
}

void PeerLease::on_record_written(const Error* error) {
    EM_ASSERT(persisting_);
    persisting_ = false;
    After after = after_;
    after_ = After::none;
    if (error) {
        set_problem("record write failed: %s", error->c_str());
        persist_retry_ns_ = now() + ms(config_.renew_interval_ms);
        if (after == After::grant || after == After::ack)
            refuse(after_req_, "cannot persist record");
        if (after == After::acquired || after == After::taken) {
            acquiring_ = false;
            if (after == After::acquired) {
                // The peer granted an epoch we cannot record: tell it we do not hold it.
                release_epoch_ = persist_target_.epoch;
                release_has_state_ = false;
                release_deadline_ns_ = now() + 2 * ms(config_.ttl_ms);
            }
            host_.on_lease_refused(*error);
        }
        pump();
        return;
    }
    if (persist_target_.epoch != record_.epoch || persist_target_.holder != record_.holder) {
        takeover_armed_ = false;
        takeover_after_ns_ = 0;
    }
    record_ = persist_target_;
    if (record_.epoch > epoch_) epoch_ = record_.epoch;
    switch (after) {
        case After::grant:
            grant(after_req_);
            break;
        case After::ack:
            if (after_req_.type == MessageType::release) released_epoch_ = record_.epoch;
            answer(after_req_, base_reply());
            break;
        case After::acquired:
        case After::taken:
            holding_ = true;
            if (after == After::taken) bounded_ = false;
            acquiring_ = false;
            problem_chars_ = 0;
            host_.on_lease_acquired();
            break;
        case After::released:
        case After::none:
            break;
    }
    pump();
}

// ---------------------------------------------------------------------------------------------
// Outgoing requests

void PeerLease::pump() {
    bool persist_ok = can_persist();
    if (persist_ok && takeover_wanted_) {
        takeover_wanted_ = false;
        uint64_t e = (epoch_ > peer_epoch_ ? epoch_ : peer_epoch_) + 1;
        bounded_ = false;
        persist(GuardRecord{e, Holder::self}, After::taken, nullptr);
        persist_ok = false;
    }
    if (persist_ok && release_epoch_ != 0 && record_.holder == Holder::self &&
        record_.epoch == release_epoch_) {
        persist(GuardRecord{release_epoch_, Holder::none}, After::released, nullptr);
    }
    if (in_flight_ != Out::none) return;
    if (release_epoch_ != 0 && release_durable() && !persisting_ && now() >= release_retry_ns_) {
        send(Out::release, MessageType::release, release_epoch_,
             release_has_state_ ? &release_state_ : nullptr);
    } else if (acquire_wanted_) {
        acquire_wanted_ = false;
        uint64_t e = (epoch_ > peer_epoch_ ? epoch_ : peer_epoch_) + 1;
        send(Out::acquire, MessageType::acquire, e, nullptr);
    } else if (state_wanted_ && holding_) {
        state_wanted_ = false;
        send(Out::state, MessageType::state, epoch_, &state_out_);
    } else if (now() >= next_beat_ns_) {
        next_beat_ns_ = now() + ms(config_.renew_interval_ms);
        send(Out::beat, MessageType::beat, epoch_, nullptr);
    }
}

void PeerLease::send(Out kind, MessageType type, uint64_t epoch, const SignState* state) {
    PeerMessage m;
    m.type = type;
    m.set_from(config_.self_name);
    m.epoch = epoch;
    m.status = host_.local_status();
    m.status.holding = holding_;
    m.status.bounded = holding_ && bounded_;
    // An acquire commits us to a bounded lease: we fence at send time + ttl unless renewed.
    if (type == MessageType::acquire) m.status.bounded = true;
    if (state) {
        m.has_state = true;
        m.state = *state;
    }
    body_.clear();
    write_message(m, body_);
    EM_ASSERT(!body_.overflowed());
    in_flight_ = kind;
    in_flight_nonce_ = clock_.random_u64();
    in_flight_sent_ns_ = now();
    in_flight_epoch_ = epoch;
    in_flight_path_ = message_path(type);
    char token[PeerAuth::token_chars_max];
    size_t n = auth_.sign_request("POST", in_flight_path_, body_.view(), epoch_, wall_ms(),
                                  in_flight_nonce_, token);
    stats_.sent++;
    link_.send(in_flight_path_, body_.view(), {token, n}, now() + ms(config_.request_timeout_ms));
}

void PeerLease::note_peer(const PeerStatus& status, uint64_t epoch) {
    if (status.eligible) {
        peer_ineligible_since_ns_ = 0;
    } else if (peer_ineligible_since_ns_ == 0) {
        peer_ineligible_since_ns_ = now();
    }
    peer_known_ = true;
    peer_status_ = status;
    peer_epoch_ = epoch;
    peer_heard_ns_ = now();
    peer_mac_ns_ = peer_heard_ns_;
    if (epoch > epoch_) {
        if (holding_) lose_lease("the peer knows a newer epoch");
        epoch_ = epoch;
    }
}

void PeerLease::on_reply(int status, std::string_view body, std::string_view token,
                         const Error* error) {
    Out kind = in_flight_;
    EM_ASSERT(kind != Out::none);
    in_flight_ = Out::none;
    Error problem;
    Result<PeerReply> reply = Unexpected(Error(Errc::internal, "no reply"));
    if (error) {
        problem = *error;
    } else {
        AuthToken t;
        auto verified = auth_.verify_response(status, in_flight_path_, body, token,
                                              in_flight_nonce_, wall_ms());
        if (!verified) {
            problem = verified.error();
            if (problem.code() != Errc::unauthorized) {
                peer_mac_ns_ = now();
                stats_.skew_rejects++;
            } else {
                stats_.auth_failures++;
            }
        } else if (status != 200) {
            problem = Error::fmt(Errc::invalid_input, "peer answered HTTP %d", status);
        } else {
            reply = parse_reply(body, parser_);
            if (!reply) problem = reply.error();
        }
        (void)t;
    }
    if (!reply) {
        stats_.send_errors++;
        set_problem("peer %s: %s", config_.peer_name.c_str(), problem.c_str());
        if (kind == Out::acquire) on_acquire_reply(nullptr, &problem);
        if (kind == Out::state) state_wanted_ = holding_;  // resend the latest later
        if (kind == Out::release) release_retry_ns_ = now() + ms(config_.renew_interval_ms);
        pump();
        return;
    }
    note_peer(reply->status, reply->epoch);
    switch (kind) {
        case Out::beat:
            on_beat_reply(*reply);
            break;
        case Out::acquire:
            on_acquire_reply(&*reply, nullptr);
            break;
        case Out::release:
            if (reply->ok)
                release_epoch_ = 0;
            else
                release_retry_ns_ = now() + ms(config_.renew_interval_ms);
            break;
        case Out::state:
            if (!reply->ok && reply->reason_text().starts_with("stale")) lose_lease(reply->reason);
            break;
        case Out::none:
            break;
    }
    pump();
}

void PeerLease::on_beat_reply(const PeerReply& r) {
    if (holding_) {
        // note_peer() already gave the lease up if the peer knows a newer epoch. A claim for an
        // older one is a stale holder back from a stall: the higher epoch wins, and the stale
        // one learns of it from this very beat.
        if ((r.holder == HolderView::me || r.status.holding) && r.epoch >= epoch_) {
            stats_.conflicts++;
            bool held = drop_lease("the peer holds the lease too");
            host_.on_conflict(Error(Errc::internal, "the peer claims the lease while we hold it"));
            if (held) log_lost("the peer holds the lease too");  // after acting
            return;
        }
        if (!r.ok) {
            std::string_view why = r.reason_text();
            if (why.starts_with("stale") || why.starts_with("conflict")) {
                bool held = drop_lease(r.reason);
                if (why.starts_with("conflict")) {
                    host_.on_conflict(Error(Errc::internal, "the peer reports a conflict"));
                }
                if (held) log_lost(r.reason);
            } else {
                set_problem("renewal refused: %s", r.reason);
            }
            return;
        }
        if (r.granted && r.epoch == epoch_) {
            uint64_t expiry = in_flight_sent_ns_ + ms(r.ttl_ms);
            if (!bounded_ || expiry > expiry_ns_) expiry_ns_ = expiry;
            bounded_ = true;
            problem_chars_ = 0;
        }
        return;
    }
    // Not holding: if the peer thinks we hold an epoch, tell it we do not (we are fenced).
    if (r.holder == HolderView::you && record_.holder != Holder::self && release_epoch_ == 0 &&
        !acquiring_ && locally_fenced()) {
        release_epoch_ = r.epoch;
        release_has_state_ = false;
        release_deadline_ns_ = now() + 2 * ms(config_.ttl_ms);
    }
}

void PeerLease::on_acquire_reply(const PeerReply* r, const Error* error) {
    if (!acquiring_) {
        // Nobody waits any more (e.g. a conflict fenced us): hand a granted epoch straight back.
        if (r && r->granted) {
            release_epoch_ = in_flight_epoch_;
            release_has_state_ = false;
            release_deadline_ns_ = now() + 2 * ms(config_.ttl_ms);
        }
        return;
    }
    if (error || !r->ok || !r->granted) {
        acquiring_ = false;
        stats_.refusals++;
        Error reason = error ? *error : Error(Errc::busy, r->reason_text());
        host_.on_lease_refused(reason);
        return;
    }
    bounded_ = true;
    expiry_ns_ = in_flight_sent_ns_ + ms(r->ttl_ms);
    if (persisting_) {
        // Cannot happen (acquire is not sent while persisting, and nothing else persists while
        // acquiring except a release); refuse rather than wait.
        acquiring_ = false;
        release_epoch_ = in_flight_epoch_;
        release_deadline_ns_ = now() + 2 * ms(config_.ttl_ms);
        host_.on_lease_refused(Error(Errc::busy, "record write in flight"));
        return;
    }
    persist(GuardRecord{in_flight_epoch_, Holder::self}, After::acquired, nullptr);
}

// ---------------------------------------------------------------------------------------------
// Incoming requests (grantor side)

PeerReply PeerLease::base_reply() {
    PeerReply r;
    r.ok = true;
    r.epoch = epoch_;
    if ((holding_ || record_.holder == Holder::self) && record_.epoch == epoch_) {
        r.holder = HolderView::me;
    } else if (record_.holder == Holder::peer && record_.epoch == epoch_) {
        r.holder = HolderView::you;
    }
    r.status = host_.local_status();
    r.status.holding = holding_;
    r.status.bounded = holding_ && bounded_;
    return r;
}

void PeerLease::answer(const Req& req, const PeerReply& reply) {
    reply_body_.clear();
    write_reply(reply, reply_body_);
    EM_ASSERT(!reply_body_.overflowed());
    char token[PeerAuth::token_chars_max];
    size_t n = auth_.sign_response(200, message_path(req.type), reply_body_.view(), epoch_,
                                   req.nonce, wall_ms(), clock_.random_u64(), token);
    sink_.reply(req.id, 200, reply_body_.view(), {token, n});
}

void PeerLease::refuse(const Req& req, const char* reason) {
    PeerReply r = base_reply();
    r.ok = false;
    r.set_reason(reason);
    stats_.refusals++;
    answer(req, r);
}

void PeerLease::grant(const Req& req) {
    PeerReply r = base_reply();
    uint64_t until = now() + ms(config_.ttl_ms + config_.takeover_margin_ms);
    if (until > takeover_after_ns_) takeover_after_ns_ = until;
    if (req.bounded) takeover_armed_ = true;
    r.granted = true;
    r.ttl_ms = config_.ttl_ms;
    r.holder = HolderView::you;
    stats_.grants++;
    answer(req, r);
}

void PeerLease::on_request(std::string_view path, std::string_view body, std::string_view token,
                           uint64_t id) {
    stats_.received++;
    auto type = parse_message_path(path);
    if (!type) {
        sink_.reply(id, 404, "{\"ok\":false,\"reason\":\"unknown path\"}", {});
        return;
    }
    AuthToken authentic;
    authentic.nonce = 0;
    bool mac_ok = false;
    auto verified = auth_.verify_request("POST", path, body, token, wall_ms(), &authentic);
    if (verified || verified.error().code() != Errc::unauthorized) mac_ok = true;
    Req req{id, authentic.nonce, *type, false};
    if (!verified) {
        if (!mac_ok) {
            stats_.auth_failures++;
            set_problem("request from %s refused: %s", config_.peer_name.c_str(),
                        verified.error().c_str());
            sink_.reply(id, 401, "{\"ok\":false,\"reason\":\"authentication failed\"}", {});
            return;
        }
        // Authentic but refused (clock skew, replay): evidence that the peer is alive.
        peer_mac_ns_ = now();
        stats_.skew_rejects++;
        set_problem("peer message refused: %s", verified.error().c_str());
        refuse(req, verified.error().c_str());
        return;
    }
    auto m = parse_message(body, parser_);
    if (!m) {
        refuse(req, m.error().c_str());
        return;
    }
    if (m->from_name() != config_.peer_name || m->type != *type) {
        refuse(req, "sender or type does not match");
        return;
    }
    note_peer(m->status, m->type == MessageType::beat ? m->epoch : peer_epoch_);
    req.bounded = m->type == MessageType::acquire || m->status.bounded;
    switch (m->type) {
        case MessageType::beat:
            handle_beat(*m, req);
            break;
        case MessageType::acquire:
            handle_acquire(*m, req);
            break;
        case MessageType::release:
            handle_release(*m, req);
            break;
        case MessageType::state:
            handle_state(*m, req);
            break;
    }
}

void PeerLease::handle_beat(const PeerMessage& m, const Req& req) {
    if (!m.status.holding) {
        answer(req, base_reply());
        return;
    }
    if (m.epoch < epoch_) return refuse(req, "stale epoch");
    if ((holding_ || record_.holder == Holder::self) && m.epoch <= record_.epoch) {
        stats_.conflicts++;
        bool held = drop_lease("the peer claims the lease too");
        host_.on_conflict(Error(Errc::internal, "the peer claims the lease while we hold it"));
        refuse(req, "conflict: I hold the lease too");
        if (held) log_lost("the peer claims the lease too");
        return;
    }
    if (!locally_fenced()) return refuse(req, "not fenced yet");
    if (m.epoch > record_.epoch || record_.holder != Holder::peer) {
        if (!can_persist()) return refuse(req, "busy: record not writable now");
        persist(GuardRecord{m.epoch, Holder::peer}, After::grant, &req);
        return;
    }
    grant(req);
}

void PeerLease::handle_acquire(const PeerMessage& m, const Req& req) {
    if (m.epoch <= epoch_) return refuse(req, "stale epoch");
    if (holding_ || record_.holder == Holder::self) return refuse(req, "I hold the lease");
    if (acquiring_ || in_flight_ == Out::acquire) return refuse(req, "acquiring myself");
    if (!locally_fenced()) return refuse(req, "not fenced yet");
    if (!can_persist()) return refuse(req, "busy: record not writable now");
    persist(GuardRecord{m.epoch, Holder::peer}, After::grant, &req);
}

void PeerLease::keep_holder_state(const SignState& state) {
    if (has_holder_state_ && state.hrs < holder_state_.hrs) return;
    holder_state_ = state;
    has_holder_state_ = true;
    host_.on_holder_state(state);
}

void PeerLease::handle_release(const PeerMessage& m, const Req& req) {
    if (m.has_state) keep_holder_state(m.state);
    if (record_.holder == Holder::peer && m.epoch == record_.epoch) {
        if (!can_persist()) return refuse(req, "busy: record not writable now");
        persist(GuardRecord{record_.epoch, Holder::none}, After::ack, &req);
        return;
    }
    answer(req, base_reply());  // an old or unknown epoch: nothing to change
}

void PeerLease::handle_state(const PeerMessage& m, const Req& req) {
    if (m.epoch < record_.epoch || (m.epoch == record_.epoch && record_.holder != Holder::peer)) {
        return refuse(req, "stale epoch");
    }
    // A newer epoch than recorded (taken after a release or on silence; its holder's beat will
    // be recorded next) is fine: a higher state only makes our validator refuse more.
    if (has_holder_state_ && m.state.hrs < holder_state_.hrs) return refuse(req, "lower HRS");
    keep_holder_state(m.state);
    answer(req, base_reply());
}

// ---------------------------------------------------------------------------------------------

void PeerLease::write_status(JsonWriter& w) {
    uint64_t t = now();
    w.key("backend").string("peer");
    w.key("epoch").unsigned_string(epoch_);
    w.key("record_epoch").unsigned_string(record_.epoch);
    w.key("record_holder").string(holder_name(record_.holder));
    w.key("holding").boolean(holding_);
    w.key("bounded").boolean(holding_ && bounded_);
    w.key("valid").boolean(valid());
    if (holding_ && bounded_) {
        w.key("expires_in_ms").number(static_cast<int64_t>(expiry_ns_ - t) / 1'000'000);
    }
    w.key("takeover_armed").boolean(takeover_armed_);
    w.key("peer_name").string(config_.peer_name);
    w.key("peer_fresh").boolean(peer_fresh());
    if (peer_known_) {
        w.key("peer_heard_ms_ago").number(static_cast<int64_t>((t - peer_heard_ns_) / 1'000'000));
        w.key("peer_epoch").unsigned_string(peer_epoch_);
        w.key("peer_clock_skew_ms").number(auth_.last_skew_ms());
        w.key("peer_status");
        validator::write_status(w, peer_status_);
    }
}

}  // namespace em::validator
