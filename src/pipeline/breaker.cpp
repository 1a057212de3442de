#include "pipeline/breaker.h"

namespace em::pipeline::rpc {

namespace {

constexpr uint64_t ms_ns = 1'000'000;

/// now - since >= ms, for a `since` another thread may have stored after `now` was read.
bool passed(uint64_t since_ns, uint64_t now_ns, uint32_t ms) {
    return now_ns >= since_ns && now_ns - since_ns >= uint64_t{ms} * ms_ns;
}

}  // namespace

std::string_view breaker_state_name(BreakerState s) {
    switch (s) {
        case BreakerState::closed:
            return "closed";
        case BreakerState::open:
            return "open";
        case BreakerState::half_open:
            return "half_open";
    }
    return "closed";
}

bool is_breaker_failure(const NodeReply& reply) {
    if (reply.error) {
        Errc c = reply.error->code();
        return c == Errc::timeout || c == Errc::io || c == Errc::closed;
    }
    return reply.http_status >= 500;
}

bool Breaker::admits(const BreakerConfig& c, uint64_t now_ns) const {
    if (state() == BreakerState::closed) return true;
    return passed(since_ns_.load(std::memory_order_acquire), now_ns, c.cooldown_ms);
}

bool Breaker::on_send(const BreakerConfig& c, uint64_t now_ns) {
    if (state() == BreakerState::closed) return false;
    uint64_t since = since_ns_.load(std::memory_order_acquire);
    if (!passed(since, now_ns, c.cooldown_ms)) return false;
    // The timestamp is the arbiter: of several shards sending at once, one takes the probe.
    if (!since_ns_.compare_exchange_strong(since, now_ns, std::memory_order_acq_rel)) return false;
    state_.store(BreakerState::half_open, std::memory_order_release);
    return true;
}

bool Breaker::open(uint64_t now_ns, BreakerState from) {
    since_ns_.store(now_ns, std::memory_order_release);
    if (!state_.compare_exchange_strong(from, BreakerState::open, std::memory_order_acq_rel))
        return false;
    failures_.store(0, std::memory_order_relaxed);
    opens_.fetch_add(1, std::memory_order_relaxed);
    return true;
}

bool Breaker::on_failure(const BreakerConfig& c, uint64_t now_ns) {
    BreakerState s = state();
    if (s == BreakerState::half_open) return open(now_ns, s);  // the probe (or a late call) failed
    if (s == BreakerState::open) return false;                 // sent before it opened
    uint32_t n = failures_.load(std::memory_order_relaxed);
    if (n == 0 || passed(run_started_ns_.load(std::memory_order_relaxed), now_ns, c.window_ms)) {
        run_started_ns_.store(now_ns, std::memory_order_relaxed);  // a fresh run starts here
        failures_.store(1, std::memory_order_relaxed);
        n = 1;
    } else {
        n = failures_.fetch_add(1, std::memory_order_relaxed) + 1;
    }
    return n >= c.failures && open(now_ns, BreakerState::closed);
}

void Breaker::on_success() {
    BreakerState s = state();
    if (s == BreakerState::half_open) {
        failures_.store(0, std::memory_order_relaxed);
        state_.compare_exchange_strong(s, BreakerState::closed, std::memory_order_acq_rel);
    } else if (s == BreakerState::closed && failures_.load(std::memory_order_relaxed) != 0) {
        failures_.store(0, std::memory_order_relaxed);  // no write on the usual path
    }
}

void Breaker::reset() {
    failures_.store(0, std::memory_order_relaxed);
    run_started_ns_.store(0, std::memory_order_relaxed);
    since_ns_.store(0, std::memory_order_relaxed);
    opens_.store(0, std::memory_order_relaxed);
    state_.store(BreakerState::closed, std::memory_order_release);
}

bool BreakerBoard::admits(size_t node, uint64_t now_ns) const {
    return config_.failures == 0 || nodes_[node].admits(config_, now_ns);
}

void BreakerBoard::sending(size_t node, uint64_t now_ns) {
    if (config_.failures) nodes_[node].on_send(config_, now_ns);
}

void BreakerBoard::replied(const NodeReply& reply, uint64_t now_ns) {
    if (!config_.failures || !reply.current || reply.node >= nodes_max) return;
    if (is_breaker_failure(reply))
        (void)failed(reply.node, now_ns);
    else
        (void)succeeded(reply.node);
}

bool BreakerBoard::failed(size_t node, uint64_t now_ns) {
    return config_.failures && nodes_[node].on_failure(config_, now_ns);
}

bool BreakerBoard::succeeded(size_t node) {
    if (!config_.failures) return false;
    bool half_open = nodes_[node].state() == BreakerState::half_open;
    nodes_[node].on_success();
    return half_open && nodes_[node].state() == BreakerState::closed;
}

}  // namespace em::pipeline::rpc
