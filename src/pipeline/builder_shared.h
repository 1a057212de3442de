// BuilderShared: the builder role's state that outlives one call and is shared by the shards'
// builder calls, the listener and the control thread (debug server, admin API, /healthz):
//  - the execution mode (issue 15 item 4), switched at run time by debug_setExecutionMode, the
//    admin API's POST /execution-mode or `enginemux builder set-execution-mode`; each call
//    reads it once when it starts (a switch applies from the next call);
//  - each builder's circuit breaker (item 5): pipeline/breaker.h's, reused. A failure is a
//    block that was invalid, late or hash-mismatched; breaker_failures of them within
//    breaker_window_s (counted from the run's first) bench the builder: it still gets the
//    boost-sync copies (newPayload, fcU without attributes) but no attributes, so it builds
//    nothing. After breaker_cooldown_s the next fork goes to it (half-open): a valid block
//    closes the breaker, a bad one opens it again. A valid block while closed does not end the
//    run (the window does): three bad blocks in a minute bench a builder whatever came between;
//  - when each node last answered a call well (HTTP 200, no transport error), for /healthz
//    (item 6; the probes' part is upstream::NodeHealth::ok_ns).
//
// Threads: any. Made once by the daemon before the shards start, outliving them; every member
// is an atomic (the mode, the breakers, the times): the shards read it without locks.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string_view>

#include "engine/builder_select.h"
#include "pipeline/breaker.h"
#include "pipeline/nodes.h"

namespace em::pipeline {

struct BuilderSharedConfig {
    size_t local = 0;                                             ///< the local EL's node slot
    engine::ExecutionMode mode = engine::ExecutionMode::enabled;  ///< the mode at start
    rpc::BreakerConfig breaker{3, 60'000, 30'000};  ///< breaker_failures, window, cooldown
    uint32_t max_unsafe_interval_s = 10;  ///< /healthz: the local EL's answers older: stale
};

class BuilderShared {
  public:
    explicit BuilderShared(const BuilderSharedConfig& config)
        : config_(config), mode_(config.mode), breakers_(config.breaker) {}
    BuilderShared(const BuilderShared&) = delete;
    BuilderShared& operator=(const BuilderShared&) = delete;

    /// The mode now.
    [[nodiscard]] engine::ExecutionMode mode() const {
        return mode_.load(std::memory_order_acquire);
    }
    /// Switches the mode and logs the change with `who` asked for it (the debug port, the admin
    /// API, and the peer); returns the one before.
    engine::ExecutionMode switch_mode(engine::ExecutionMode mode, std::string_view who);

    /// Whether builder `node` may get a fork's attributes now (closed, or the cooldown passed:
    /// then this fork is the probe, and the breaker turns half-open).
    [[nodiscard]] bool admit_fork(size_t node, uint64_t now_ns);
    /// Whether builder `node` is benched (open: no attributes until its cooldown passed).
    [[nodiscard]] bool benched(size_t node) const {
        return breakers_.state(node) == rpc::BreakerState::open;
    }
    /// Its block was invalid, late or mismatched: true when that benched it.
    bool block_failed(size_t node, uint64_t now_ns) { return breakers_.failed(node, now_ns); }
    /// Its block was valid: true when that closed a half-open breaker.
    bool block_valid(size_t node);
    [[nodiscard]] const rpc::BreakerBoard& breakers() const { return breakers_; }

    /// Node `node` answered a call well at now_ns.
    void answered(size_t node, uint64_t now_ns) {
        answered_ns_[node].store(now_ns, std::memory_order_relaxed);
    }
    /// When it last did (0: never).
    [[nodiscard]] uint64_t answered_ns(size_t node) const {
        return answered_ns_[node].load(std::memory_order_relaxed);
    }

    [[nodiscard]] const BuilderSharedConfig& config() const { return config_; }

  private:
    BuilderSharedConfig config_;
    std::atomic<engine::ExecutionMode> mode_;
    rpc::BreakerBoard breakers_;
    std::array<std::atomic<uint64_t>, nodes_max> answered_ns_{};
};

}  // namespace em::pipeline
