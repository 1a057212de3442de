#include "validator/guard.h"

#include <cstdio>

#include "base/assert.h"
#include "base/log.h"

namespace em::validator {

namespace {
constexpr uint64_t ms(uint64_t v) {
    return v * 1'000'000ull;
}
}  // namespace

const char* fence_reason_name(FenceReason reason) {
    switch (reason) {
        case FenceReason::none:
            return "none";
        case FenceReason::startup:
            return "startup";
        case FenceReason::lease_invalid:
            return "lease_invalid";
        case FenceReason::unhealthy:
            return "unhealthy";
        case FenceReason::handover:
            return "handover";
        case FenceReason::demoted:
            return "demoted";
        case FenceReason::conflict:
            return "conflict";
        case FenceReason::exited:
            return "exited";
        case FenceReason::start_failed:
            return "start_failed";
        case FenceReason::key_on_passive:
            return "key_on_passive";
        case FenceReason::shutdown:
            return "shutdown";
    }
    return "?";
}

GuardCore::GuardCore(const GuardPolicy& policy, const HealthPolicy& health, GuardClock& clock,
                     GuardIo& io)
    : policy_(policy), clock_(clock), io_(io), health_(health) {}

void GuardCore::note_error(const Error& e, const char* context) {
    int n = std::snprintf(last_error_, sizeof last_error_, "%s: %s", context, e.c_str());
    last_error_chars_ = static_cast<uint8_t>(
        n < 0 ? 0 : (n >= static_cast<int>(sizeof last_error_) ? sizeof last_error_ - 1 : n));
}

void GuardCore::log_error() const {
    EM_LOG_LIMITED(LogLevel::warn, 2, "validator %.*s: %.*s", static_cast<int>(policy_.name.size()),
                   policy_.name.data(), static_cast<int>(last_error_chars_), last_error_);
}

void GuardCore::set_error(const Error& e, const char* context) {
    note_error(e, context);
    log_error();
}

void GuardCore::update_permit() {
    bool may_run = role_ == Role::starting || role_ == Role::active ||
                   (role_ == Role::fencing && !hard_fence_);
    uint64_t until = may_run ? lease_->valid_until_ns() : 0;
    if (until == permit_ns_) return;
    permit_ns_ = until;
    io_.set_permit(until, lease_->epoch());
}

bool GuardCore::eligible() const {
    return role_ == Role::passive && fenced_ && health_.healthy() && !hold_ && !shutting_down_ &&
           clock_.mono_ns() >= retry_at_ns_;
}

PeerStatus GuardCore::local_status() const {
    PeerStatus s;
    s.role = role_;
    s.fenced = fenced_;
    s.healthy = health_.healthy();
    s.eligible = eligible();
    s.preferred = policy_.preferred;
    s.hold = hold_;
    s.promote = promote_;
    // Counted from the later of "healthy again" and the end of a failure's back-off, so a host
    // whose validator just failed does not look like a good failback target.
    uint64_t since = health_.healthy_since_ns();
    if (retry_at_ns_ > since) since = retry_at_ns_;
    uint64_t now_ns = clock_.mono_ns();
    s.healthy_for_ms = s.healthy && since && now_ns > since ? (now_ns - since) / 1'000'000 : 0;
    s.chain_height = health_.chain_height();
    return s;
}

// ---------------------------------------------------------------------------------------------
// Driving

void GuardCore::start() {
    EM_ASSERT(lease_ != nullptr && role_ == Role::init);
    fence_reason_ = FenceReason::startup;
    io_.set_permit(0, 0);  // whatever an earlier run granted
    stop_in_flight_ = true;
    io_.stop_validator();
}

void GuardCore::tick() {
    lease_->tick();
    switch (role_) {
        case Role::passive:
            maybe_acquire();
            break;
        case Role::active:
            check_active();
            break;
        case Role::preparing:
            if (shutting_down_) {
                fail_activation(Error(Errc::closed, "shutting down"), "activation");
            } else if (!lease_->valid()) {
                fail_activation(Error(Errc::timeout, "lease no longer valid"), "activation");
            }
            break;
        case Role::init:
        case Role::fencing:
            if (stop_failed_ && !stop_in_flight_ && now() >= retry_at_ns_) {
                stop_failed_ = false;
                stop_in_flight_ = true;
                io_.stop_validator();
            }
            break;
        default:
            break;
    }
    flush_sync();
    update_permit();
}

void GuardCore::shutdown() {
    shutting_down_ = true;
    hold_ = true;
    promote_ = false;
    if (role_ == Role::active) begin_fence(FenceReason::shutdown);
}

void GuardCore::on_probe(const NodeStatus* status, int64_t peers, const Error* error) {
    bool active = role_ == Role::starting || role_ == Role::active;
    HealthReason r = health_.observe(status, peers, error, active, now(), clock_.wall_ns());
    if (r == HealthReason::validator_key_on_passive && role_ == Role::passive &&
        now() - fenced_ns_ > ms(policy_.start_grace_ms)) {
        begin_fence(FenceReason::key_on_passive);
        set_error(Error(Errc::internal, "the passive node shows the validator key"), "health");
    }
}

void GuardCore::maybe_acquire() {
    if (!eligible() || !lease_->may_acquire()) return;
    role_ = Role::acquiring;
    lease_->acquire();
}

void GuardCore::check_active() {
    if (!lease_->valid()) {
        begin_fence(FenceReason::lease_invalid);
        set_error(Error(Errc::timeout, lease_->problem().empty() ? std::string_view("not renewed")
                                                                 : lease_->problem()),
                  "lease");
    } else if (shutting_down_) {
        begin_fence(FenceReason::shutdown);
    } else if (hold_) {
        begin_fence(FenceReason::demoted);
    } else if (health_.consecutive_failures() >= policy_.failures_before_failover &&
               now() - started_ns_ >= ms(policy_.start_grace_ms) && lease_->successor_ready()) {
        begin_fence(FenceReason::unhealthy);
        set_error(Error(Errc::unsupported, health_reason_name(health_.reason())), "unhealthy");
    } else if (lease_->handover_requested()) {
        begin_fence(FenceReason::handover);
    }
}

// ---------------------------------------------------------------------------------------------
// Activation: lease -> high watermark -> read back -> start

void GuardCore::on_lease_acquired() {
    if (role_ != Role::acquiring || hold_ || shutting_down_) {
        if (role_ == Role::acquiring) role_ = Role::passive;
        lease_->release(has_local_state_ ? &local_state_ : nullptr);
        return;
    }
    role_ = Role::preparing;
    continue_prepare();
}

void GuardCore::on_lease_refused(const Error& reason) {
    if (role_ != Role::acquiring) return;
    role_ = Role::passive;
    // Back off with jitter so two hosts that collided do not collide again.
    uint64_t jitter = clock_.random_u64() % (ms(policy_.retry_ms) / 2 + 1);
    retry_at_ns_ = now() + ms(policy_.retry_ms) / 4 + jitter;
    EM_LOG_LIMITED(LogLevel::info, 1, "validator %.*s: lease not acquired: %s",
                   static_cast<int>(policy_.name.size()), policy_.name.data(), reason.c_str());
}

void GuardCore::continue_prepare() {
    if (write_ != Write::none || read_ != Read::none) return;  // resumed when that completes
    sync_pending_ = false;  // the high watermark includes the holder's latest state
    read_ = Read::prepare;
    io_.read_state();
}

void GuardCore::prepare_with_local(const SignState& local) {
    uint64_t seen = health_.chain_height_seen_ns();
    if (seen == 0 || now() - seen > ms(policy_.chain_fresh_ms)) {
        fail_activation(Error(Errc::unsupported, "no recent chain height from the local node"),
                        "high watermark");
        return;
    }
    hwm_state_ = high_watermark(local, lease_->holder_state(), health_.chain_height(),
                                policy_.hwm_margin_heights);
    write_ = Write::hwm;
    writing_ = hwm_state_;
    stats_.hwm_writes++;
    io_.write_state(writing_);
}

void GuardCore::fail_activation(const Error& e, const char* context) {
    stats_.activation_failures++;
    note_error(e, context);
    retry_at_ns_ = now() + ms(policy_.retry_ms);
    if (role_ == Role::starting) {
        begin_fence(FenceReason::start_failed);
    } else {
        // The validator was not started in this attempt: give the lease back at once.
        role_ = Role::releasing;
        finish_release(has_local_state_ ? &local_state_ : nullptr);
    }
    log_error();
}

void GuardCore::on_state_read(const SignState* state, const Error* error) {
    Read purpose = read_;
    read_ = Read::none;
    switch (purpose) {
        case Read::prepare:
            if (role_ != Role::preparing) break;
            if (error && error->code() != Errc::not_found) {
                fail_activation(*error, "read state file");
                break;
            }
            if (state) {
                local_state_ = *state;
                has_local_state_ = true;
            }
            prepare_with_local(state ? *state : SignState());
            break;
        case Read::verify:
            if (role_ != Role::preparing) break;
            if (error) {
                fail_activation(*error, "read back state file");
            } else if (!state->same_as(hwm_state_)) {
                fail_activation(Error(Errc::io, "content differs from what was written"),
                                "read back state file");
            } else if (!lease_->valid()) {
                fail_activation(Error(Errc::timeout, "lease no longer valid"), "activation");
            } else {
                role_ = Role::starting;
                fenced_ = false;
                update_permit();  // the supervisor checks it before it starts the validator
                start_in_flight_ = true;
                io_.start_validator();
            }
            break;
        case Read::final_state:
            if (error) set_error(*error, "read final state");
            finish_release(state ? state : (has_local_state_ ? &local_state_ : nullptr));
            break;
        case Read::none:
            break;
    }
    flush_sync();
}

void GuardCore::on_state_written(const Error* error) {
    Write purpose = write_;
    write_ = Write::none;
    if (error) {
        stats_.state_write_errors++;
        set_error(*error,
                  purpose == Write::hwm ? "write high-watermark state" : "write synced state");
    } else {
        // Whatever the role is now, this is what the disk holds.
        stats_.state_writes++;
        local_state_ = writing_;
        has_local_state_ = true;
    }
    if (purpose == Write::hwm && role_ == Role::preparing) {
        if (error) {
            fail_activation(*error, "write high-watermark state");
        } else {
            read_ = Read::verify;
            io_.read_state();
        }
    } else if (purpose == Write::sync && role_ == Role::preparing) {
        continue_prepare();
    }
    flush_sync();
}

void GuardCore::on_validator_started(const Error* error) {
    start_in_flight_ = false;
    if (role_ == Role::fencing) {
        // A fence was asked for while the start was in flight: stop now.
        stop_in_flight_ = true;
        io_.stop_validator();
        return;
    }
    if (role_ != Role::starting) return;
    if (error) {
        fail_activation(*error, "start validator");
        return;
    }
    role_ = Role::active;
    started_ns_ = now();
    promote_ = false;
    stats_.activations++;
    health_.reset_progress(now());
    EM_LOG_INFO("validator %.*s: active at epoch %llu, state %lld/%d/%d",
                static_cast<int>(policy_.name.size()), policy_.name.data(),
                static_cast<unsigned long long>(lease_->epoch()),
                static_cast<long long>(local_state_.hrs.height), local_state_.hrs.round,
                local_state_.hrs.step);
    lease_->publish_state(local_state_);
}

// ---------------------------------------------------------------------------------------------
// Fencing and release

void GuardCore::begin_fence(FenceReason reason) {
    if (role_ == Role::fencing || role_ == Role::releasing) return;
    fence_reason_ = reason;
    stats_.fences++;
    role_ = Role::fencing;
    bool graceful = reason == FenceReason::handover || reason == FenceReason::demoted ||
                    reason == FenceReason::shutdown;
    // A safety reason revokes the permit now (the supervisor kills the validator); a graceful
    // stop keeps it while the lease lasts. Failover for health is graceful too: the other host
    // takes over only through the lease, after we released it.
    hard_fence_ = !graceful && reason != FenceReason::unhealthy;
    // Something went wrong here: let the other host take over before we try again.
    if (!graceful) retry_at_ns_ = now() + ms(policy_.retry_ms);
    stop_failed_ = false;
    update_permit();
    if (!start_in_flight_ && !stop_in_flight_) {  // else on_validator_started/stopped continue
        stop_in_flight_ = true;
        io_.stop_validator();
    }
    EM_LOG_WARN("validator %.*s: fencing (%s)", static_cast<int>(policy_.name.size()),
                policy_.name.data(), fence_reason_name(reason));
}

void GuardCore::on_validator_stopped(const Error* error) {
    stop_in_flight_ = false;
    if (error) {
        // Not confirmed gone: keep the lease (the back-end keeps renewing it) and retry.
        stop_failed_ = true;
        set_error(*error, "stop validator");
        retry_at_ns_ = now() + ms(policy_.retry_ms) / 5;
        return;
    }
    fenced_ = true;
    fenced_ns_ = now();
    role_ = Role::releasing;
    update_permit();
    if (read_ != Read::none) {
        finish_release(has_local_state_ ? &local_state_ : nullptr);
        return;
    }
    read_ = Read::final_state;
    io_.read_state();
}

void GuardCore::finish_release(const SignState* final_state) {
    if (final_state && (!has_local_state_ || final_state->hrs >= local_state_.hrs)) {
        local_state_ = *final_state;
        has_local_state_ = true;
    }
    lease_->release(final_state);
    role_ = Role::passive;
}

void GuardCore::on_validator_exited() {
    if (role_ != Role::active && role_ != Role::starting) return;
    // The validator leaves on its own when its permit runs out, which is when the lease does:
    // the exit can be seen before the tick that finds the lease invalid. Name the cause.
    if (!lease_->valid()) return check_active();
    begin_fence(FenceReason::exited);
    set_error(Error(Errc::closed, "the validator process exited"), "validator");
}

void GuardCore::on_conflict(const Error& reason) {
    stats_.conflicts++;
    retry_at_ns_ = now() + ms(policy_.retry_ms);
    if (role_ == Role::preparing) {
        fail_activation(reason, "conflict");
        return;
    }
    if (role_ == Role::starting || role_ == Role::active) {
        begin_fence(FenceReason::conflict);
    } else if (role_ == Role::fencing && !hard_fence_) {
        hard_fence_ = true;  // a graceful stop in progress: stop waiting for it
        update_permit();
    }
    set_error(reason, "conflict");
}

// ---------------------------------------------------------------------------------------------
// State sync (passive) and publication (active)

void GuardCore::on_holder_state(const SignState& state) {
    if (!sync_pending_ || state.hrs > sync_state_.hrs) sync_state_ = state;
    sync_pending_ = true;
    flush_sync();
}

void GuardCore::flush_sync() {
    if (!sync_pending_ || write_ != Write::none) return;
    if (role_ != Role::passive || !fenced_) return;  // kept until we are passive again
    sync_pending_ = false;
    if (has_local_state_ && sync_state_.hrs <= local_state_.hrs) return;
    write_ = Write::sync;
    writing_ = sync_state_;
    stats_.synced_states++;
    io_.write_state(writing_);
}

void GuardCore::on_local_state(const SignState& state) {
    if (has_local_state_ && state.hrs < local_state_.hrs) return;
    local_state_ = state;
    has_local_state_ = true;
    if (role_ == Role::active) lease_->publish_state(state);
}

// ---------------------------------------------------------------------------------------------
// Operator commands

Result<void> GuardCore::promote(bool force) {
    if (shutting_down_) return fail(Errc::closed, "the guard is shutting down");
    hold_ = false;
    promote_ = true;
    if (!force) return {};
    if (role_ != Role::passive || !fenced_) {
        return failf(Errc::busy, "cannot force: role is %s", role_name(role_));
    }
    if (lease_->held()) return {};
    EM_LOG_WARN("validator %.*s: forced promotion by the operator",
                static_cast<int>(policy_.name.size()), policy_.name.data());
    role_ = Role::acquiring;
    lease_->force_acquire();
    return {};
}

void GuardCore::demote() {
    hold_ = true;
    promote_ = false;
}

}  // namespace em::validator
