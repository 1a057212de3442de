// Per-key request budgets for the rpc role (issue 16, [rpc.limits]): a token bucket per client
// address or API key (rate and burst), and a count of its requests in progress. Exact across
// shards: one table shared by all of them, in stripes with a mutex each (a lookup is a hash and
// a few arithmetic operations under a lock nobody holds for long, off the socket path).
//
// Bounded: at most keys_max keys are remembered (plus, at worst, keys whose requests are all
// still in progress, which the connection limits bound); when full, the least recently seen
// idle key is forgotten (it comes back with a full bucket, as an idle key would have anyway).
//
// Threads: any. Time is passed in (now_ns).
#pragma once

#include <array>
#include <cstdint>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace em::pipeline::rpc {

struct BudgetConfig {
    double rate_per_s = 0;     ///< tokens added per second; 0 = no rate limit
    double burst = 0;          ///< bucket size (at least 1 when rate_per_s > 0)
    uint32_t concurrency = 0;  ///< requests in progress per key; 0 = no limit
    size_t keys_max = 65'536;  ///< keys remembered at once
};

enum class Verdict : uint8_t { allowed, over_rate, over_concurrency };

class Budgets {
  public:
    explicit Budgets(const BudgetConfig& config);
    Budgets(const Budgets&) = delete;
    Budgets& operator=(const Budgets&) = delete;

    /// Takes a token and a concurrency slot for `key`. On over_rate, *retry_after_ms says when
    /// the next token is due (at least 1). An allowed request must be finished with done().
    Verdict admit(std::string_view key, uint64_t now_ns, uint32_t* retry_after_ms);
    /// The allowed request of `key` is answered: its concurrency slot is free again.
    void done(std::string_view key);
    /// Keys remembered now.
    size_t keys() const;
    /// The budgets' settings (a shared tier applies the same rate: listener/rpc_listener.h).
    const BudgetConfig& config() const { return config_; }

  private:
    static constexpr size_t stripes = 16;
    struct State {
        std::string key;
        double tokens = 0;
        uint64_t refilled_ns = 0;
        uint32_t in_progress = 0;
    };
    struct Hash {
        using is_transparent = void;
        size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };
    struct Stripe {
        mutable std::mutex mutex;
        std::list<State> lru;  ///< most recently seen first
        std::unordered_map<std::string_view, std::list<State>::iterator, Hash, std::equal_to<>>
            index;
    };
    Stripe& stripe_of(std::string_view key) { return stripes_[Hash{}(key) % stripes]; }

    BudgetConfig config_;
    size_t stripe_keys_max_;
    std::array<Stripe, stripes> stripes_;
};

}  // namespace em::pipeline::rpc
