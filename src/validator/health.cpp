#include "validator/health.h"

#include <cstdarg>
#include <cstdio>

namespace em::validator {

const char* health_reason_name(HealthReason reason) {
    switch (reason) {
        case HealthReason::unknown:
            return "unknown";
        case HealthReason::ok:
            return "ok";
        case HealthReason::unreachable:
            return "unreachable";
        case HealthReason::bad_response:
            return "bad_response";
        case HealthReason::catching_up:
            return "catching_up";
        case HealthReason::height_stalled:
            return "height_stalled";
        case HealthReason::block_stale:
            return "block_stale";
        case HealthReason::too_few_peers:
            return "too_few_peers";
        case HealthReason::wrong_pub_key:
            return "wrong_pub_key";
        case HealthReason::validator_key_on_passive:
            return "validator_key_on_passive";
    }
    return "?";
}

void HealthTracker::set_detail(const char* format, ...) {
    va_list args;
    va_start(args, format);
    int n = std::vsnprintf(detail_, sizeof detail_, format, args);
    va_end(args);
    detail_chars_ = static_cast<uint8_t>(
        n < 0 ? 0 : (n >= static_cast<int>(sizeof detail_) ? sizeof detail_ - 1 : n));
}

void HealthTracker::reset_progress(uint64_t mono_ns) {
    progress_height_ = -1;
    progress_ns_ = mono_ns;
}

HealthReason HealthTracker::judge(const NodeStatus& s, int64_t peers, bool active, uint64_t mono_ns,
                                  int64_t wall_ns) {
    uint64_t stale_ns = policy_.block_time_ms * policy_.stale_blocks * 1'000'000ull;
    bool has_key =
        !policy_.validator_pub_key.empty() && s.pub_key_b64() == policy_.validator_pub_key;
    if (!active && has_key) {
        set_detail("the passive node runs with the validator key");
        return HealthReason::validator_key_on_passive;
    }
    if (s.catching_up) {
        set_detail("catching_up at height %lld", static_cast<long long>(s.latest_block_height));
        return HealthReason::catching_up;
    }
    if (s.latest_block_height > progress_height_) {
        progress_height_ = s.latest_block_height;
        progress_ns_ = mono_ns;
    } else if (mono_ns - progress_ns_ > stale_ns) {
        set_detail("height %lld for %llu ms", static_cast<long long>(s.latest_block_height),
                   static_cast<unsigned long long>((mono_ns - progress_ns_) / 1'000'000));
        return HealthReason::height_stalled;
    }
    if (wall_ns - s.latest_block_time_ns > static_cast<int64_t>(stale_ns)) {
        set_detail("latest block is %lld ms old",
                   static_cast<long long>((wall_ns - s.latest_block_time_ns) / 1'000'000));
        return HealthReason::block_stale;
    }
    if (peers < static_cast<int64_t>(policy_.min_peers)) {
        set_detail("n_peers %lld < min_peers %u", static_cast<long long>(peers), policy_.min_peers);
        return HealthReason::too_few_peers;
    }
    if (active && !policy_.validator_pub_key.empty() && !has_key) {
        set_detail("node pub_key is not the validator key");
        return HealthReason::wrong_pub_key;
    }
    detail_chars_ = 0;
    return HealthReason::ok;
}

HealthReason HealthTracker::observe(const NodeStatus* status, int64_t peers, const Error* error,
                                    bool active, uint64_t mono_ns, int64_t wall_ns) {
    HealthReason r;
    if (error || !status) {
        r = error && error->code() == Errc::invalid_input ? HealthReason::bad_response
                                                          : HealthReason::unreachable;
        std::string_view m = error ? error->message() : std::string_view("no answer");
        set_detail("%.*s", static_cast<int>(m.size()), m.data());
    } else {
        last_status_ = *status;
        last_peers_ = peers;
        r = judge(*status, peers, active, mono_ns, wall_ns);
        if (r != HealthReason::bad_response && status->latest_block_height >= height_) {
            height_ = status->latest_block_height;
            height_seen_ns_ = mono_ns;
        }
    }
    if (r == HealthReason::ok) {
        if (reason_ != HealthReason::ok) healthy_since_ns_ = mono_ns;
        failures_ = 0;
    } else {
        healthy_since_ns_ = 0;
        failures_++;
    }
    reason_ = r;
    return r;
}

}  // namespace em::validator
