// The rpc role's hedging decisions (issue 16 item 4), without the calls: when a read that has
// not been answered yet deserves a second copy to another node, and whether the traffic's hedge
// budget allows one.
//
//  - LatencyEstimate: a cheap running p95 of one method's answer times: 32 power-of-two buckets
//    of microseconds (the estimate is a bucket's upper bound, so at most 2x high, never low),
//    halved every `decay_samples` samples so that it follows the node's current speed. Before
//    `min_samples` samples it has no opinion.
//  - HedgePlanner: one estimate per rpc method slot (rpc_methods.h) and a token bucket that
//    bounds hedges to max_ratio of the requests: each request earns max_ratio of a token (up
//    to burst), each hedge spends one. So hedges <= max_ratio x requests + burst, however
//    slow the nodes get (a slow node must not double the traffic of every node).
//    delay_us(method): max(floor_us, the p95), or default_us before enough samples.
//
// Threads: one planner per shard, on its thread (no atomics; the estimate is per shard, which
// is enough for a p95). Memory: fixed arrays, no allocation. Time is passed in (microseconds).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "pipeline/rpc_methods.h"

namespace em::pipeline::rpc {

class LatencyEstimate {
  public:
    static constexpr size_t buckets = 32;  ///< bucket k: [2^k, 2^(k+1)) microseconds
    static constexpr uint32_t decay_samples = 1024;
    static constexpr uint32_t min_samples = 20;

    void record(uint64_t latency_us);
    /// The 95th percentile's bucket's upper bound in microseconds; 0 before min_samples.
    [[nodiscard]] uint64_t p95_us() const;
    [[nodiscard]] uint32_t samples() const { return total_; }

  private:
    std::array<uint32_t, buckets> counts_{};
    uint32_t total_ = 0;
    uint32_t since_decay_ = 0;
};

struct HedgeConfig {
    double max_ratio = 0.1;         ///< hedges per request at most; 0 = no hedging
    double burst = 1;               ///< hedges that may go at once before the ratio bites
    uint64_t floor_us = 2'000;      ///< never hedge sooner than this
    uint64_t default_us = 100'000;  ///< the delay before a method has min_samples answers
};

class HedgePlanner {
  public:
    explicit HedgePlanner(const HedgeConfig& config) : config_(config) {}
    [[nodiscard]] bool enabled() const { return config_.max_ratio > 0; }
    /// A request started: it earns max_ratio of a token (up to burst).
    void on_request();
    /// An answer of method `slot` came after `latency_us`.
    void record(size_t slot, uint64_t latency_us) { methods_[slot].record(latency_us); }
    /// How long a read of `slot` waits for its first node before a hedge.
    [[nodiscard]] uint64_t delay_us(size_t slot) const;
    /// Spends a token for one hedge: false (and nothing spent) when the budget is empty.
    [[nodiscard]] bool take();
    [[nodiscard]] const LatencyEstimate& estimate(size_t slot) const { return methods_[slot]; }

  private:
    HedgeConfig config_;
    double tokens_ = 0;
    std::array<LatencyEstimate, method_slots> methods_{};
};

}  // namespace em::pipeline::rpc
