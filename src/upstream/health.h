// HealthBoard: what the control thread knows about each execution client, published for the
// shards without locks.
//
// Threads: the control thread writes probe results (publish); shard threads read snapshots
// (read) and report failures they see on the data path at once (report_failure) so a node that
// times out or resets is treated as dead immediately, not at the next probe. Each slot is a
// seqlock: readers retry while a write is in progress; writers (the prober's publish and any
// shard's report_failure) take the slot by moving its sequence from even to odd, so they wait
// only for each other, for the few nanoseconds of a copy. The value is held as relaxed atomic
// words, so a reader racing a writer reads stale words, never a data race (ThreadSanitizer
// checks this), and the sequence tells it to retry.
//
// Primary choice (choose_primary) is a pure function of a snapshot plus the previous primary,
// so every thread computes the same answer: the lowest-latency synced voter, with hysteresis —
// a recovered node must stay synced for failback_hold_ns before it takes the role back, and a
// challenger must be at least 30% and 2 ms faster to displace a healthy primary.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <type_traits>

namespace em::upstream {

inline constexpr size_t nodes_max = 16;

enum class NodeState : uint8_t { unknown = 0, synced, syncing, dead };
enum class NodeRole : uint8_t { voter = 0, mirror };

/// "unknown" | "synced" | "syncing" | "dead".
const char* node_state_name(NodeState s);

/// One node's published health (a plain value).
struct NodeHealth {
    bool present = false;  ///< slot in use
    NodeRole role = NodeRole::voter;
    NodeState state = NodeState::unknown;
    uint32_t latency_ewma_us = 0;  ///< probe round-trip, exponentially weighted (alpha 0.3)
    uint32_t last_latency_us = 0;
    int64_t head_number = -1;       ///< from eth_getBlockByNumber("latest"); -1 unknown
    int64_t head_age_s = -1;        ///< now - head block timestamp; -1 unknown
    int64_t finalized_number = -1;  ///< the "finalized" block's number (probed for rpc); -1 unknown
    uint64_t synced_since_ns = 0;   ///< when it last became synced (0 = not synced)
    uint64_t changed_ns = 0;        ///< when state last changed
    uint64_t ok_ns = 0;             ///< when a probe last found it synced (0 = never)
    uint64_t probes = 0;
    uint64_t failures = 0;  ///< probe failures + data-path failures
    char reason[96] = {};   ///< why not synced ("eth_syncing says syncing", "timeout ...")
    char name[32] = {};
    /// The node's implementation as web3_clientVersion names it, lowercased ("geth", "reth",
    /// "nethermind", "besu", "erigon", "ethereumjs"); "" unknown (probed only for the rpc role).
    char client[24] = {};

    std::string_view reason_text() const { return {reason, strnlen(reason, sizeof reason)}; }
    std::string_view name_text() const { return {name, strnlen(name, sizeof name)}; }
    std::string_view client_text() const { return {client, strnlen(client, sizeof client)}; }
};

/// Sets health.client from a web3_clientVersion answer: the text before the first '/',
/// lowercased, cut to fit; characters outside [a-z0-9._-] end it.
void set_client(NodeHealth& health, std::string_view version);

class HealthBoard {
  public:
    /// Every slot holds a default NodeHealth (not present, head unknown).
    HealthBoard();
    /// Writes slot i (control thread).
    void publish(size_t i, const NodeHealth& health);
    /// A consistent copy of slot i (any thread).
    NodeHealth read(size_t i) const;
    /// Marks slot i dead at once with a reason (any thread): data-path timeouts and resets.
    /// The control thread re-probes it; the next successful probe restores it.
    void report_failure(size_t i, std::string_view reason, uint64_t now_ns);
    /// Data-path failures reported since the control thread last took them (control thread).
    uint64_t take_failure_reports(size_t i);
    /// Whether failures were reported and not taken yet (control thread; does not take them).
    bool failure_reports_pending(size_t i) const {
        return slots_[i].failure_reports.load(std::memory_order_acquire) > 0;
    }

    /// Current primary index (-1 = none); written by whoever recomputes it.
    int primary() const { return primary_.load(std::memory_order_acquire); }
    /// Sets the primary; moving it off a node (to another or to none) counts as a failover.
    void set_primary(int i) {
        int before = primary_.exchange(i, std::memory_order_acq_rel);
        if (before >= 0 && before != i) failovers_.fetch_add(1, std::memory_order_relaxed);
    }
    /// Times the primary moved off a node (enginemux_failovers_total).
    uint64_t failovers() const { return failovers_.load(std::memory_order_relaxed); }
    /// Bumped on every publish (for /status and tests to notice changes).
    uint64_t version() const { return version_.load(std::memory_order_acquire); }

  private:
    static constexpr size_t words = sizeof(NodeHealth) / sizeof(uint64_t);
    static_assert(sizeof(NodeHealth) % sizeof(uint64_t) == 0);
    static_assert(std::is_trivially_copyable_v<NodeHealth>);
    struct alignas(64) Slot {
        std::atomic<uint64_t> sequence{0};                 ///< odd while a writer holds the slot
        std::array<std::atomic<uint64_t>, words> value{};  ///< a NodeHealth, word by word
        std::atomic<uint64_t> failure_reports{0};
    };
    /// Takes the slot for writing (sequence even -> odd); returns the even value it had.
    static uint64_t lock(Slot& slot);
    /// Stores `health` and releases the slot (sequence -> locked + 2).
    void store_and_unlock(Slot& slot, uint64_t locked, const NodeHealth& health);
    static NodeHealth load_words(const Slot& slot);
    std::array<Slot, nodes_max> slots_{};
    std::atomic<int> primary_{-1};
    std::atomic<uint64_t> failovers_{0};
    std::atomic<uint64_t> version_{0};
};

/// The primary among `health[0..count)` given the previous one (see file comment). -1 if no
/// voter is usable; falls back to a syncing voter when no voter is synced.
int choose_primary(const NodeHealth* health, size_t count, int previous, uint64_t now_ns,
                   uint64_t failback_hold_ns);

}  // namespace em::upstream
