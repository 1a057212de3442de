// The rpc role's circuit breaker, one per node (issue 16 item 4): a node that keeps failing is
// skipped by rpc routing for a while instead of costing every read a failed attempt first. The
// builder role benches builders with the same breaker (pipeline/builder_shared.h): there a
// failure is a bad or late block (BreakerBoard::failed), a success a valid one (succeeded).
//
//   closed --(failures in a row, the run younger than window_ms)--> open
//   open --(cooldown_ms passed; the next call sent is the probe)--> half_open
//   half_open --(a success)--> closed        half_open --(a failure)--> open (cooldown again)
//
// A failure is what says the node is unwell: a transport error, a timeout, an HTTP 5xx
// (is_breaker_failure). A JSON-RPC error answer is the EL working and counts as a success, as
// does any other HTTP answer. A success in the closed state ends the run of failures; one that
// arrives while open (a call sent before it opened) is ignored. A probe that never answers does
// not wedge it: cooldown_ms after the probe left, the next call is a probe again.
//
// Threads: any. One BreakerBoard is shared by every shard's rpc listener; each Breaker is a
// few atomics (no lock). Races between shards cost at most an extra probe or a failure counted
// into a fresh run, never a stuck state. Time is passed in (now_ns, a monotonic clock), so the
// state machine is tested with an injected clock.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string_view>

#include "pipeline/actions.h"
#include "pipeline/nodes.h"

namespace em::pipeline::rpc {

struct BreakerConfig {
    uint32_t failures = 5;         ///< failures in a row that open it; 0 = no breaker
    uint32_t window_ms = 10'000;   ///< the run counts only while younger than this
    uint32_t cooldown_ms = 5'000;  ///< open this long before a probe is let through
};

enum class BreakerState : uint8_t { closed, open, half_open };
/// "closed", "open", "half_open".
[[nodiscard]] std::string_view breaker_state_name(BreakerState s);

/// Whether `reply` counts against the node: transport error, timeout or HTTP 5xx.
[[nodiscard]] bool is_breaker_failure(const NodeReply& reply);

class Breaker {
  public:
    /// Whether a call may go to the node now: closed, or open (or a probe out) for at least
    /// cooldown_ms, so that the next call is the probe.
    [[nodiscard]] bool admits(const BreakerConfig& c, uint64_t now_ns) const;
    /// A call is being sent: true when it is the probe (open -> half_open).
    bool on_send(const BreakerConfig& c, uint64_t now_ns);
    /// A failed call: true when it opened the breaker (closed or half_open -> open).
    bool on_failure(const BreakerConfig& c, uint64_t now_ns);
    /// A successful call: ends the run of failures; closes a half-open breaker.
    void on_success();
    /// A new node took the slot: closed, no failures, no opens counted.
    void reset();
    [[nodiscard]] BreakerState state() const { return state_.load(std::memory_order_acquire); }
    /// closed/half_open -> open transitions so far.
    [[nodiscard]] uint64_t opens() const { return opens_.load(std::memory_order_relaxed); }

  private:
    bool open(uint64_t now_ns, BreakerState from);

    std::atomic<BreakerState> state_{BreakerState::closed};
    std::atomic<uint32_t> failures_{0};        ///< the run of failures (closed)
    std::atomic<uint64_t> run_started_ns_{0};  ///< its first failure
    std::atomic<uint64_t> since_ns_{0};        ///< opened, or the probe left (half_open)
    std::atomic<uint64_t> opens_{0};
};

/// Every node's breaker and their settings; made once, shared by the shards, outliving them.
class BreakerBoard {
  public:
    explicit BreakerBoard(const BreakerConfig& config) : config_(config) {}
    BreakerBoard(const BreakerBoard&) = delete;
    BreakerBoard& operator=(const BreakerBoard&) = delete;

    /// Whether rpc routing may send to `node` now (always, with failures == 0).
    [[nodiscard]] bool admits(size_t node, uint64_t now_ns) const;
    /// A call to `node` is being sent (it may be the probe).
    void sending(size_t node, uint64_t now_ns);
    /// The answer (or failure) of a call to the node that holds the slot now.
    void replied(const NodeReply& reply, uint64_t now_ns);
    /// A failure of `node` judged by the caller (the builder role: a bad or late block): true
    /// when it opened the breaker.
    bool failed(size_t node, uint64_t now_ns);
    /// A success of `node` judged by the caller: ends its run of failures, closes it when
    /// half-open; true when it closed it.
    bool succeeded(size_t node);
    /// The slot's node was added, replaced or removed: the next one starts closed (what the old
    /// node did says nothing about it). Any thread; a late answer of the old node is not
    /// counted (NodeReply::current).
    void reset(size_t node) { nodes_[node].reset(); }
    [[nodiscard]] BreakerState state(size_t node) const { return nodes_[node].state(); }
    [[nodiscard]] uint64_t opens(size_t node) const { return nodes_[node].opens(); }
    [[nodiscard]] const BreakerConfig& config() const { return config_; }

  private:
    BreakerConfig config_;
    std::array<Breaker, nodes_max> nodes_;
};

}  // namespace em::pipeline::rpc
