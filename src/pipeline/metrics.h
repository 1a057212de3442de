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
#include <cstring>
#include <iterator>

#include "base/seqlock.h"
#include "engine/builder_select.h"
#include "engine/methods.h"
#include "engine/types.h"
#include "engine/vote.h"
#include "net/server_stats.h"
#include "pipeline/nodes.h"
#include "pipeline/rpc_methods.h"
#include "pipeline/sync_board.h"

namespace em::pipeline {

/// Upper bounds (µs) of the latency histogram buckets; a final +Inf bucket follows. Every 5 µs
/// up to 50 µs, so that enginemux's own time per request (own_seconds, tens of µs) can be
/// read as percentiles, then 1-2.5-5 steps up to the longest Engine API deadline.
inline constexpr std::array<uint64_t, 26> latency_bucket_bounds_us = {
    5,      10,      15,      20,      25,        30,        35,        40,        45,
    50,     100,     250,     500,     1'000,     2'500,     5'000,     10'000,    25'000,
    50'000, 100'000, 250'000, 500'000, 1'000'000, 2'500'000, 5'000'000, 10'000'000};
inline constexpr size_t latency_buckets = latency_bucket_bounds_us.size() + 1;

/// Methods are counted by their dense engine index; every non-engine method shares `other`.
inline constexpr size_t method_slots = engine::method_count + 1;
inline constexpr size_t method_slot_other = engine::method_count;

using Counter = std::atomic<uint64_t>;

inline void bump(Counter& c, uint64_t n = 1) {
    c.fetch_add(n, std::memory_order_relaxed);
}

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
    void reset() {
        for (Counter& b : buckets) b.store(0, std::memory_order_relaxed);
        sum_us.store(0, std::memory_order_relaxed);
        count.store(0, std::memory_order_relaxed);
    }
};

/// One (node, method) pair's upstream calls.
struct UpstreamMetrics {
    Counter calls{0};
    Counter errors{0};  ///< transport errors, HTTP errors, malformed answers
    Counter timeouts{0};
    LatencyHistogram latency;
};

/// One finished vote as an operator reads it (`GET /status` "recent_votes", `enginemux top`).
struct VoteRecord {
    /// What a node's slot says about this vote: not in the call, no answer (error, timeout,
    /// reset, garbage), a JSON-RPC error, or a status (answered_valid + engine::Status value).
    enum Outcome : uint8_t { not_in_call = 0, no_answer = 1, rpc_error = 2, answered_valid = 3 };
    static constexpr uint8_t told_error = 0xff;         ///< `told`: the CL got a JSON-RPC error
    static constexpr uint8_t reason_block_hash = 0xfe;  ///< `reason`: the hash did not match
    static constexpr uint8_t reason_error = 0xfd;       ///< `reason`: an error was relayed

    uint64_t mono_ns = 0;  ///< when the last answer came in (the vote was complete)
    uint8_t method_slot = 0;
    uint8_t told = 0;                          ///< engine::Status the CL was told, or told_error
    uint8_t reason = 0;                        ///< engine::VoteReason of the decision
    bool early = false;                        ///< decided before every voter had answered
    uint8_t hash_check = 0;                    ///< 0 not checked, 1 match, 2 mismatch
    std::array<uint8_t, nodes_max> outcome{};  ///< Outcome, + engine::Status for answers
    uint32_t voters = 0;                       ///< bit i: node i voted
};

/// The last finished votes: written by the shard (one writer), read by the admin thread. Each
/// entry is a seqlock (base/seqlock.h): a reader retries (or skips) an entry being written.
class VoteLog {
  public:
    static constexpr size_t capacity = 32;
    /// Shard thread only.
    void add(const VoteRecord& r) {
        entries_[next_.load(std::memory_order_relaxed) % capacity].store(r);
        next_.fetch_add(1, std::memory_order_release);
    }
    /// Any thread: up to `max` records, newest first, into out; returns how many.
    size_t newest(VoteRecord* out, size_t max) const {
        uint64_t next = next_.load(std::memory_order_acquire);
        size_t n = 0;
        for (uint64_t k = 0; k < capacity && k < next && n < max; k++) {
            if (entries_[(next - 1 - k) % capacity].load(out[n])) n++;
        }
        return n;
    }

  private:
    std::array<Seqlocked<VoteRecord>, capacity> entries_{};
    std::atomic<uint64_t> next_{0};
};

/// The rpc role's counters for one method (rpc::method_names).
struct RpcMethodMetrics {
    Counter requests{0};      ///< entries received (a batch: each element)
    Counter errors{0};        ///< answered with a JSON-RPC error (refused, failed, the node's)
    Counter retries{0};       ///< attempts on another node after one failed
    Counter cache_hits{0};    ///< answered from the answer cache, no node asked
    Counter rate_limited{0};  ///< answered 429 (client or key over its budget)
    Counter hedges{0};        ///< second copies sent to another node (the first was slow)
    Counter hedges_won{0};    ///< of those, answered first
};

/// The rpc listener's counters (unused when there is none).
struct RpcMetrics {
    std::array<RpcMethodMetrics, rpc::method_slots> methods{};
    Counter unauthorized{0};        ///< 401: unknown API key
    Counter not_allowed{0};         ///< entries answered -32601 (not in allow_methods)
    Counter cache_stores{0};        ///< answers put in the cache
    Counter broadcasts{0};          ///< eth_sendRawTransaction sent to every node
    Counter already_known{0};       ///< a node's "already known" taken as success
    Counter agree_calls{0};         ///< [rpc.agree] reads asked of several clients
    Counter agree_agreed{0};        ///< ... answered: every client gave the same value
    Counter agree_disagreed{0};     ///< ... refused: a difference, an error or no answer
    Counter agree_short{0};         ///< ... refused: fewer different clients usable than asked
    Counter cl_head_reads{0};       ///< head reads routed to the nodes at the CL's head (ClHead)
    Counter shadow_calls{0};        ///< reads sampled by shadow_ratio (sent to a second node)
    Counter shadow_compared{0};     ///< ... whose two results were compared
    Counter shadow_differences{0};  ///< ... that differed (each logged)
    // eth_getLogs over max_logs_block_range (pipeline/logs_call.h).
    Counter logs_splits{0};          ///< requests run as pieces
    Counter logs_pieces{0};          ///< pieces sent (each a read, retried like one)
    Counter logs_split_failures{0};  ///< split requests answered an error (a piece failed)
    Counter logs_refused{0};         ///< over the limit and not split: refused -32602
    // [rpc] sticky (per-client stickiness, pipeline/sticky.h).
    Counter sticky_kept{0};     ///< reads sent to the client's last node
    Counter sticky_moved{0};    ///< reads moved to another node at or past the client's floor
    Counter sticky_evicted{0};  ///< clients forgotten to make room for another
    Counter sticky_no_node{0};  ///< reads no node at the client's floor could take (-32000)
    std::atomic<int64_t> finalized{-1};  ///< gauge: the finalized block the cache trusts
    // [rpc.redis] (the listener fills these; zero without Redis).
    std::atomic<int> redis_state{-1};  ///< gauge: -1 not configured, 0 benched, 1 admitted
    Counter redis_lookups{0};          ///< embedded misses asked of Redis
    Counter redis_hits{0};             ///< of those, answered from Redis
    Counter redis_misses{0};           ///< of those, Redis had nothing: sent to a node
    Counter redis_cache_fallbacks{0};  ///< Redis unavailable (benched, timeout): to a node
    Counter redis_stores{0};           ///< answers put in Redis too
    Counter redis_rate_checks{0};      ///< token buckets taken from Redis
    Counter redis_rate_fallbacks{0};   ///< Redis unavailable: the embedded budget decided
    Counter redis_timeouts{0};         ///< Redis commands past [rpc.redis] timeout_ms
    Counter redis_errors{0};           ///< Redis connection failures and error replies
    Counter redis_benched{0};          ///< admitted -> benched transitions
};

/// The builder role's counters (issue 15; unused in other roles). Node slots index the
/// per-node arrays: the local EL's slot counts the local blocks answered.
struct BuilderMetrics {
    /// getPayload answers that used the local block although builders were asked (or noTxPool
    /// said so), by engine::Fallback (enginemux_builder_fallbacks_total{reason}).
    std::array<Counter, static_cast<size_t>(engine::Fallback::count)> fallbacks{};
    /// getPayload answers by the node whose block was answered (local EL or a builder).
    std::array<Counter, nodes_max> blocks{};
    /// A builder's block not used, by node and engine::Fallback (late, invalid, hash_mismatch).
    std::array<std::array<Counter, static_cast<size_t>(engine::Fallback::count)>, nodes_max>
        rejected{};
    Counter forks{0};          ///< fcU with attributes sent to the builders
    Counter ids_attached{0};   ///< builder payloadIds that came after the local EL's answer
    Counter validations{0};    ///< builder blocks sent to the local EL's newPayload
    Counter dry_run_picks{0};  ///< dry-run: a builder block would have been answered
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
    Counter http_unauthorized{0};  ///< 401: missing/bad JWT
    Counter http_bad_requests{0};  ///< other 4xx answered by the listener
    Counter jsonrpc_parse_errors{0};
    http::ServerStats http;  ///< the client listener's connections (its http::Server counts here)

    std::array<std::array<UpstreamMetrics, method_slots>, nodes_max> upstream{};

    // Votes (newPayload / forkchoiceUpdated).
    std::array<Counter, engine::vote_reason_count> vote_reasons{};
    std::array<Counter, engine::status_count> vote_answers{};  ///< what the CL was told
    Counter disagreements{0};  ///< votes where some answered voter disagreed with the rest
    Counter votes_early{0};    ///< answered before every voter had answered
    /// The node's answer differed from the plurality of the voters' answers in that vote (the
    /// one that lies or lags; not every voter when the vote answered a made-up SYNCING).
    std::array<Counter, nodes_max> node_disagreements{};
    VoteLog recent_votes;  ///< the last finished votes, each node's answer

    std::array<Counter, nodes_max> lane_depth{};  ///< gauge: calls queued in each lane

    Counter block_hash_checked{0};
    Counter block_hash_mismatch{0};
    Counter payload_decode_errors{0};  ///< newPayload params rejected with -32602
    Counter payload_ids_minted{0};
    Counter payload_ids_unknown{0};  ///< getPayload with an id we do not know (-38001)
    Counter retries{0};              ///< a call retried on another node after the first failed

    SyncBoard sync;          ///< the sync role's consensus clients (unused in other roles)
    RpcMetrics rpc;          ///< the rpc listener's (unused without one)
    BuilderMetrics builder;  ///< the builder role's (unused in other roles)

    /// Another node took slot `node` (or none did): its per-node counters start from zero, so
    /// /status and /metrics never show the old node's calls and errors under the new one's
    /// name. The owning shard's thread (readers see each counter either before or after).
    void forget_node(size_t node) {
        for (UpstreamMetrics& m : upstream[node]) {
            m.calls.store(0, std::memory_order_relaxed);
            m.errors.store(0, std::memory_order_relaxed);
            m.timeouts.store(0, std::memory_order_relaxed);
            m.latency.reset();
        }
        node_disagreements[node].store(0, std::memory_order_relaxed);
        builder.blocks[node].store(0, std::memory_order_relaxed);
        for (Counter& c : builder.rejected[node]) c.store(0, std::memory_order_relaxed);
    }
};

}  // namespace em::pipeline
