// GuardCore: the validator guard's decisions, sans-IO. It owns the role state machine
//   init -> passive -> acquiring -> preparing -> starting -> active -> fencing -> releasing ->
//   passive
// and asks its surroundings (GuardIo) to start/stop the validator and to read/write the state
// file; every request completes later through the matching on_*() call. Health comes in as
// probe results, the lease through the Lease interface. The daemon (daemon.h) drives it on an
// io::Loop; the scenario simulator drives the same code with simulated time and faults.
//
// Rules it enforces:
//  - The validator starts only under a valid lease, after a high-watermark state
//    (>= local, the holder's last state, chain height + 1 + margin) was written durably and read
//    back identical. Any failure (ENOSPC included) blocks activation and is reported.
//  - The validator is fenced (stopped and confirmed gone) before the lease is released; if the
//    stop cannot be confirmed the lease is kept (renewed if possible), never released.
//  - The validator's permit (the dead-man switch, permit.h) follows the lease: while the
//    validator may run, the permit ends when the lease's validity does (Lease::valid_until_ns),
//    so it moves forward only with renewals, and a loop that stops running loses it. A fence
//    for a safety reason (lease invalid, conflict, the key on the passive node) revokes it at
//    once; a graceful one (handover, demote, failover, shutdown) keeps it while the validator
//    stops.
//  - Every fence acts first (permit, stop) and logs afterwards.
//  - Failover: K unhealthy rounds while another host is ready; failback and manual promote only
//    through the lease (the active stops first, then releases).
//  - On a passive host, newer states from the holder are written to the local state file.
//
// Threads: one (the guard's loop). No allocation after construction.
#pragma once

#include <cstdint>
#include <string_view>

#include "base/result.h"
#include "validator/health.h"
#include "validator/lease.h"
#include "validator/sign_state.h"

namespace em::validator {

/// Side effects the core asks for. Each completes later with the matching GuardCore::on_*()
/// call, never from inside the request.
class GuardIo {
  public:
    virtual ~GuardIo() = default;
    /// Run the start command / spawn the validator -> on_validator_started.
    virtual void start_validator() = 0;
    /// Stop the validator and confirm the process is gone -> on_validator_stopped.
    virtual void stop_validator() = 0;
    /// Atomic durable write of the state file -> on_state_written.
    virtual void write_state(const SignState& state) = 0;
    /// Read and parse the state file -> on_state_read.
    virtual void read_state() = 0;
    /// The validator may run until deadline_ns (GuardClock time; 0: it must stop now). Takes
    /// effect at once, outside the guard's loop: the supervisor (supervisor.h) kills the
    /// validator when the deadline passes, whatever the loop is doing. No completion.
    virtual void set_permit(uint64_t deadline_ns, uint64_t epoch) = 0;
};

struct GuardPolicy {
    std::string_view name;                  ///< this host (for logs)
    bool preferred = false;                 ///< failback target
    uint32_t failures_before_failover = 3;  ///< K unhealthy rounds in a row
    uint32_t hwm_margin_heights = 2;        ///< extra heights above chain height + 1
    uint32_t retry_ms = 5'000;              ///< after a failed activation or stop
    uint32_t chain_fresh_ms = 10'000;       ///< the chain height used must be this recent
    uint32_t start_grace_ms = 30'000;       ///< health failures ignored after a start
};

/// Why the guard fenced its validator last (status API).
enum class FenceReason : uint8_t {
    none,
    startup,
    lease_invalid,
    unhealthy,
    handover,
    demoted,
    conflict,
    exited,
    start_failed,
    key_on_passive,
    shutdown
};
const char* fence_reason_name(FenceReason reason);

class GuardCore final : public LeaseHost {
  public:
    GuardCore(const GuardPolicy& policy, const HealthPolicy& health, GuardClock& clock,
              GuardIo& io);
    /// The lease back-end (set once, before start()).
    void set_lease(Lease* lease) { lease_ = lease; }

    /// Start-up: fence first (the validator may be running from before), then go passive.
    void start();
    /// Periodic: lease work, role transitions, retries. Call every few tens of ms.
    void tick();
    /// Graceful shutdown: fence and release if needed; done() turns true when stopped.
    void shutdown();
    bool done() const { return shutting_down_ && role_ == Role::passive && fenced_ && !busy_io(); }

    /// One health probe round (status and peers when both answered, else error).
    void on_probe(const NodeStatus* status, int64_t peers, const Error* error);

    // Completions of GuardIo requests (error == nullptr on success).
    void on_validator_started(const Error* error);
    void on_validator_stopped(const Error* error);
    void on_state_written(const Error* error);
    void on_state_read(const SignState* state, const Error* error);
    /// The validator process ended by itself (child mode) while we expected it to run.
    void on_validator_exited();
    /// Active: the validator wrote a new state (the daemon watches the file).
    void on_local_state(const SignState& state);

    /// Operator commands. promote(force): ask for the lease (force: take it without the peer's
    /// consent; the operator guarantees no other validator runs). demote(): stop and hold off.
    Result<void> promote(bool force);
    void demote();

    // LeaseHost
    void on_lease_acquired() override;
    void on_lease_refused(const Error& reason) override;
    void on_holder_state(const SignState& state) override;
    void on_conflict(const Error& reason) override;
    PeerStatus local_status() const override;

    Role role() const { return role_; }
    bool fenced() const { return fenced_; }
    const HealthTracker& health() const { return health_; }
    FenceReason last_fence_reason() const { return fence_reason_; }
    /// The last error that blocked or undid an activation ("" if none).
    std::string_view last_error() const { return {last_error_, last_error_chars_}; }
    /// The latest state known to be on the local disk (read or written by us).
    const SignState& local_state() const { return local_state_; }
    bool has_local_state() const { return has_local_state_; }
    Lease* lease() const { return lease_; }

    struct Stats {
        uint64_t activations = 0, fences = 0, state_writes = 0, state_write_errors = 0;
        uint64_t hwm_writes = 0, activation_failures = 0, conflicts = 0, synced_states = 0;
    };
    const Stats& stats() const { return stats_; }

  private:
    enum class Write : uint8_t { none, sync, hwm };
    enum class Read : uint8_t { none, prepare, verify, final_state };

    uint64_t now() const { return clock_.mono_ns(); }
    bool busy_io() const { return write_ != Write::none || read_ != Read::none || stop_in_flight_; }
    bool eligible() const;
    void set_error(const Error& e, const char* context);
    void begin_fence(FenceReason reason);
    void check_active();
    void maybe_acquire();
    void continue_prepare();
    void prepare_with_local(const SignState& local);
    void fail_activation(const Error& e, const char* context);
    void finish_release(const SignState* final_state);
    void flush_sync();
    /// Sets the permit to what the role and the lease allow now (see the rules above).
    void update_permit();
    /// Records e as last_error without logging; log_error() logs it (after the action).
    void note_error(const Error& e, const char* context);
    void log_error() const;

    GuardPolicy policy_;
    GuardClock& clock_;
    GuardIo& io_;
    Lease* lease_ = nullptr;
    HealthTracker health_;

    Role role_ = Role::init;
    bool fenced_ = false;
    bool stop_in_flight_ = false;
    bool stop_failed_ = false;
    bool start_in_flight_ = false;
    bool hold_ = false;
    bool promote_ = false;
    bool shutting_down_ = false;
    bool hard_fence_ = false;  ///< the fence in progress revoked the permit
    uint64_t permit_ns_ = 0;   ///< the permit as last set
    FenceReason fence_reason_ = FenceReason::none;
    uint64_t retry_at_ns_ = 0;
    uint64_t started_ns_ = 0;
    uint64_t fenced_ns_ = 0;

    Write write_ = Write::none;
    Read read_ = Read::none;
    bool sync_pending_ = false;
    SignState sync_state_;
    SignState hwm_state_;
    SignState writing_;  ///< the state of the write in flight
    SignState local_state_;
    bool has_local_state_ = false;

    Stats stats_;
    uint8_t last_error_chars_ = 0;
    char last_error_[120] = {};
};

}  // namespace em::validator
