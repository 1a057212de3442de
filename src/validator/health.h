// Health of the local CometBFT node as the guard judges it from /status and /net_info, one probe
// round at a time: responsive, not catching up, height rising, latest block time fresh, enough
// peers, and the validator key where it belongs (on the active's node, and never on the
// passive's: that would mean the passive is signing).
//
// Owned by the guard (one thread). Pure: the caller passes both clocks in, so tests and the
// scenario simulator drive it with simulated time.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"
#include "validator/rpc.h"

namespace em::validator {

enum class HealthReason : uint8_t {
    unknown,  ///< no probe round yet
    ok,
    unreachable,               ///< /status or /net_info failed or timed out
    bad_response,              ///< an answer that does not parse
    catching_up,               ///< sync_info.catching_up
    height_stalled,            ///< latest_block_height did not rise within the stale window
    block_stale,               ///< latest_block_time older than the stale window
    too_few_peers,             ///< n_peers below min_peers
    wrong_pub_key,             ///< the active's node does not show the validator key
    validator_key_on_passive,  ///< the passive's node shows the validator key: it may sign
};

/// "ok", "catching_up", ... (metrics labels and the status API).
const char* health_reason_name(HealthReason reason);

struct HealthPolicy {
    uint32_t min_peers = 1;
    uint64_t block_time_ms = 6'000;  ///< expected block interval of the chain
    uint32_t stale_blocks = 5;       ///< height/time older than this many block times: unhealthy
    std::string validator_pub_key;   ///< base64 validator_info.pub_key.value of the validator key
};

class HealthTracker {
  public:
    explicit HealthTracker(const HealthPolicy& policy) : policy_(policy) {}

    /// One probe round: status and peers when both answered, else `error`. `active` says which
    /// key rule applies. Returns the verdict (also kept in reason()).
    HealthReason observe(const NodeStatus* status, int64_t peers, const Error* error, bool active,
                         uint64_t mono_ns, int64_t wall_ns);
    /// Forget the height history (after the node was restarted as validator or follower).
    void reset_progress(uint64_t mono_ns);

    HealthReason reason() const { return reason_; }
    bool healthy() const { return reason_ == HealthReason::ok; }
    /// Unhealthy rounds in a row (0 when the last round was healthy).
    uint32_t consecutive_failures() const { return failures_; }
    /// Monotonic time since which every round was healthy (0 when unhealthy).
    uint64_t healthy_since_ns() const { return healthy_since_ns_; }
    /// Latest block height seen and when (monotonic) it was observed; 0/0 before any.
    int64_t chain_height() const { return height_; }
    uint64_t chain_height_seen_ns() const { return height_seen_ns_; }
    /// Details of the last bad round ("" when healthy), e.g. "n_peers 0 < min_peers 2".
    std::string_view detail() const { return {detail_, detail_chars_}; }
    const NodeStatus& last_status() const { return last_status_; }
    int64_t last_peers() const { return last_peers_; }

  private:
    HealthReason judge(const NodeStatus& status, int64_t peers, bool active, uint64_t mono_ns,
                       int64_t wall_ns);
    void set_detail(const char* format, ...) __attribute__((format(printf, 2, 3)));

    HealthPolicy policy_;
    HealthReason reason_ = HealthReason::unknown;
    uint32_t failures_ = 0;
    uint64_t healthy_since_ns_ = 0;
    int64_t height_ = 0;
    uint64_t height_seen_ns_ = 0;
    int64_t progress_height_ = -1;
    uint64_t progress_ns_ = 0;
    NodeStatus last_status_;
    int64_t last_peers_ = 0;
    uint8_t detail_chars_ = 0;
    char detail_[120] = {};
};

}  // namespace em::validator
