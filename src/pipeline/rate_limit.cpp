#include "pipeline/rate_limit.h"

#include <algorithm>
#include <cmath>

namespace em::pipeline::rpc {

Budgets::Budgets(const BudgetConfig& config)
    : config_(config), stripe_keys_max_(std::max<size_t>(1, config.keys_max / stripes)) {
    if (config_.rate_per_s > 0 && config_.burst < 1) config_.burst = 1;
}

Verdict Budgets::admit(std::string_view key, uint64_t now_ns, uint32_t* retry_after_ms) {
    Stripe& s = stripe_of(key);
    std::lock_guard lock(s.mutex);
    auto found = s.index.find(key);
    std::list<State>::iterator state;
    if (found != s.index.end()) {
        state = found->second;
        s.lru.splice(s.lru.begin(), s.lru, state);
    } else {
        // Forget the least recently seen key with nothing in progress (one whose slot is held
        // must stay, or its done() would free a slot it never took).
        if (s.lru.size() >= stripe_keys_max_) {
            for (auto it = s.lru.end(); it != s.lru.begin();) {
                --it;
                if (it->in_progress) continue;
                s.index.erase(it->key);
                s.lru.erase(it);
                break;
            }
        }
        s.lru.push_front(State{std::string(key), config_.burst, now_ns, 0});
        state = s.lru.begin();
        s.index.emplace(state->key, state);
    }
    if (config_.concurrency && state->in_progress >= config_.concurrency)
        return Verdict::over_concurrency;
    if (config_.rate_per_s > 0) {
        double elapsed_s = static_cast<double>(now_ns - std::min(now_ns, state->refilled_ns)) / 1e9;
        state->tokens = std::min(config_.burst, state->tokens + elapsed_s * config_.rate_per_s);
        state->refilled_ns = now_ns;
        if (state->tokens < 1) {
            double wait_s = (1 - state->tokens) / config_.rate_per_s;
            if (retry_after_ms)
                *retry_after_ms =
                    std::max<uint32_t>(1, static_cast<uint32_t>(std::ceil(wait_s * 1e3)));
            return Verdict::over_rate;
        }
        state->tokens -= 1;
    }
    state->in_progress++;
    return Verdict::allowed;
}

void Budgets::done(std::string_view key) {
    Stripe& s = stripe_of(key);
    std::lock_guard lock(s.mutex);
    auto found = s.index.find(key);
    if (found != s.index.end() && found->second->in_progress > 0) found->second->in_progress--;
}

size_t Budgets::keys() const {
    size_t n = 0;
    for (const Stripe& s : stripes_) {
        std::lock_guard lock(s.mutex);
        n += s.lru.size();
    }
    return n;
}

}  // namespace em::pipeline::rpc
