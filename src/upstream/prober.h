// Prober: health checks of every execution client, on the control thread's loop.
//
// Every interval (and at once after a shard reported a failure, or on recheck()), each node
// gets `eth_syncing` and then `eth_getBlockByNumber("latest", false)`, signed with its JWT:
//   - no answer / HTTP error / malformed answer  → dead (the reason says which; a 401 names the
//     JWT secret);
//   - eth_syncing not false, or a head block older than block_age_max_s → syncing;
//   - otherwise synced.
// The round trip of eth_syncing feeds the latency EWMA that picks the primary (choose_primary,
// with failback hysteresis). State and primary changes are logged once, with the reason.
// A shard's failure report marks the node dead at once; only a probe sent after the report
// restores it (a probe already out may carry an answer from before the failure).
//
// Threads: owned by the control loop's thread. It publishes to the HealthBoard that shards read.
//
// Ownership: one Probe (with its own connection) per registry slot. When a slot's node changes
// (admin DELETE/POST /nodes), the old Probe is retired at once — it publishes nothing more, a
// probe in flight ends with its answer or timeout, and its connection is closed — and a new
// Probe takes the slot. The retired Probe is freed by a later tick once its connection is
// quiescent (net/client.h): freeing it earlier would leave its socket open inside io_uring and
// let its last completions reach freed memory.
#pragma once

#include <array>
#include <memory>
#include <vector>

#include "http/jwt.h"
#include "io/loop.h"
#include "net/client.h"
#include "upstream/health.h"
#include "upstream/registry.h"

namespace em::upstream {

struct ProberConfig {
    uint32_t interval_ms = 5'000;
    uint32_t timeout_ms = 2'000;
    uint32_t block_age_max_s = 120;  ///< 0 = not checked
    uint32_t failback_hold_ms = 30'000;
    bool log_timings = false;  ///< --node-timings: log every probe's latency
    /// Also ask for the "finalized" block (NodeHealth::finalized_number; the rpc role's cache).
    /// A node that cannot answer it keeps its verdict, with the finalized block unknown.
    bool probe_finalized = false;
    /// Also ask each node web3_clientVersion until it answers (NodeHealth::client; the rpc
    /// role's `agree`, which wants answers from different implementations).
    bool probe_client = false;
};

class Prober {
  public:
    Prober(io::Loop& loop, Registry& registry, HealthBoard& board, const ProberConfig& config);
    ~Prober();
    /// Starts the periodic checks (first round at once).
    void start();
    /// Probes every node now (admin POST /recheck).
    void recheck();
    /// A reload's settings: probes started from now on use them.
    void set_config(const ProberConfig& config) { config_ = config; }
    /// Probe rounds completed (for tests and /status).
    uint64_t rounds() const { return rounds_; }

  private:
    class Probe;
    static void on_tick(io::Timer* t);
    void tick();
    void sync_nodes();
    void reap_retired();
    void completed(Probe& probe);
    void recompute_primary(const char* why);

    io::Loop& loop_;
    Registry& registry_;
    HealthBoard& board_;
    ProberConfig config_;
    std::array<std::unique_ptr<Probe>, nodes_max> probes_;
    std::vector<std::unique_ptr<Probe>> retiring_;  ///< removed nodes' probes, until quiescent
    io::Timer tick_{};
    uint64_t rounds_ = 0;
};

}  // namespace em::upstream
