// Per-shard counters for /metrics: client requests, per (node, method) upstream calls with
// latency histograms, vote outcomes, disagreements, block-hash checks (written by the
// pipeline's calls: plain memory, so the calls stay free of I/O), and the client listener's
// connections (deadline cuts, evictions: written by its http::Server; a header-only struct).
//
// Threads: each shard writes its own ShardMetrics (relaxed atomic increments: no locks, no
// shared cache lines between shards); the control thread reads all shards' counters when
// rendering /metrics. Fixed size, allocated at start.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "engine/methods.h"
#include "engine/types.h"
#include "engine/vote.h"
#include "http/server_stats.h"
#include "pipeline/nodes.h"

namespace em::pipeline {

/// Upper bounds (µs) of the latency histogram buckets; a final +Inf bucket follows.
inline constexpr std::array<uint64_t, 19> latency_bucket_bounds_us = {
    10,     25,     50,      100,     250,     500,       1'000,     2'500,     5'000,     10'000,
    25'000, 50'000, 100'000, 250'000, 500'000, 1'000'000, 2'500'000, 5'000'000, 10'000'000};
inline constexpr size_t latency_buckets = latency_bucket_bounds_us.size() + 1;

/// Methods are counted by their dense engine index; every non-engine method shares `other`.
inline constexpr size_t method_slots = engine::method_count + 1;
inline constexpr size_t method_slot_other = engine::method_count;

using Counter = std::atomic<uint64_t>;

inline void bump(Counter& c, uint64_t n = 1) { c.fetch_add(n, std::memory_order_relaxed); }

struct LatencyHistogram {
    std::array<Counter, latency_buckets> buckets{};
    Counter sum_us{0};
    Counter count{0};
    void record_us(uint64_t us) {
        size_t i = 0;
        while (i < latency_bucket_bounds_us.size() && us > latency_bucket_bounds_us[i]) i++;
        bump(buckets[i]);
        bump(sum_us, us);
        bump(count);
    }
};

/// One (node, method) pair's upstream calls.
struct UpstreamMetrics {
    Counter calls{0};
    Counter errors{0};    ///< transport errors, HTTP errors, malformed answers
    Counter timeouts{0};
    LatencyHistogram latency;
};

struct ShardMetrics {
    // Requests from clients on this shard, by method slot.
    std::array<Counter, method_slots> requests{};
    std::array<Counter, method_slots> request_errors{};  ///< answered with a JSON-RPC error
    std::array<LatencyHistogram, method_slots> request_latency{};
    /// Time a request spent in enginemux not waiting for a node: from the complete request to
    /// its answer, minus the window from the first call on the wire to the last answer the
    /// decision used. What enginemux itself adds (parsing, hashing, voting, queueing, wake-ups).
    std::array<LatencyHistogram, method_slots> own_latency{};
    Counter http_unauthorized{0};   ///< 401: missing/bad JWT
    Counter http_bad_requests{0};   ///< other 4xx answered by the listener
    Counter jsonrpc_parse_errors{0};
    http::ServerStats http;  ///< the client listener's connections (its http::Server counts here)

    std::array<std::array<UpstreamMetrics, method_slots>, nodes_max> upstream{};

    // Votes (newPayload / forkchoiceUpdated).
    std::array<Counter, engine::vote_reason_count> vote_reasons{};
    std::array<Counter, engine::status_count> vote_answers{};  ///< what the CL was told
    Counter disagreements{0};       ///< votes where some answered voter disagreed with the rest
    Counter votes_early{0};         ///< answered before every voter had answered
    std::array<Counter, nodes_max> node_disagreements{};  ///< node was in a minority

    std::array<Counter, nodes_max> lane_depth{};  ///< gauge: calls queued in each lane

    Counter block_hash_checked{0};
    Counter block_hash_mismatch{0};
    Counter payload_decode_errors{0};  ///< newPayload params rejected with -32602
    Counter payload_ids_minted{0};
    Counter payload_ids_unknown{0};    ///< getPayload with an id we do not know (-38001)
    Counter failovers{0};              ///< a call retried on another node after the first failed
};

}  // namespace em::pipeline
