// The lease that decides which host may run the validator, as the guard core sees it: one
// interface, two back-ends (peer_lease.h: two guards granting each other bounded leases over an
// authenticated channel; etcd_lease.h: an etcd v3 lease and a create-if-absent transaction).
// A lease has an epoch that only grows; every state the holder publishes carries it.
//
// Contract every back-end keeps (the safety argument rests on it):
//  - on_lease_acquired() is called only when no other host may run its validator: the previous
//    holder released explicitly after confirming its validator stopped, or its bounded lease
//    expired (+ margin) without renewal, so it has fenced itself.
//  - while held and bounded, valid() turns false at expiry - fence margin; the guard then fences
//    before anyone else can be granted the lease.
//
// Clock: GuardClock::mono_ns() is CLOCK_BOOTTIME in the daemon (it counts across a suspend, so a
// host that wakes up from one finds its lease expired, as the other host does).
//
// Threads: everything here runs on the guard's loop thread (or the simulator's single thread).
#pragma once

#include <cstdint>
#include <string_view>

#include "base/result.h"
#include "validator/json.h"
#include "validator/sign_state.h"

namespace em::validator {

/// The guard's role (the same names appear in the status API and the peer messages).
enum class Role : uint8_t {
    init,       ///< start-up: fencing the local validator before anything else
    passive,    ///< validator confirmed stopped; following the holder's state
    acquiring,  ///< asking the lease back-end for the lease
    preparing,  ///< lease held: writing the high-watermark state and reading it back
    starting,   ///< start command issued
    active,     ///< the validator runs here under a valid lease
    fencing,    ///< stop command issued, waiting until the validator is confirmed gone
    releasing,  ///< validator gone: reading its final state and giving the lease up
};

const char* role_name(Role role);
/// Inverse of role_name; errors name the text.
Result<Role> parse_role(std::string_view text);

/// What a guard tells the others about itself in every message.
struct PeerStatus {
    Role role = Role::init;
    bool fenced = false;     ///< its validator is confirmed stopped
    bool holding = false;    ///< it holds the lease at the message's epoch
    bool bounded = false;    ///< its lease is bounded: it fences itself unless renewed
    bool healthy = false;    ///< its CometBFT node passes every health check
    bool eligible = false;   ///< passive, fenced, healthy, not held back: it may take over
    bool preferred = false;  ///< configured as the preferred host (failback target)
    bool hold = false;       ///< demoted by the operator: it will not take the lease
    bool promote = false;    ///< the operator asked to make it active
    uint64_t healthy_for_ms = 0;
    int64_t chain_height = 0;
};

/// True if `a` should become active rather than `b` when both are eligible: a manual promote
/// first, then the preferred host, then the lower name.
bool outranks(const PeerStatus& a, std::string_view a_name, const PeerStatus& b,
              std::string_view b_name);

/// Clocks and randomness for the core and the back-ends (real ones in the daemon, simulated
/// ones in the scenario runner).
class GuardClock {
  public:
    virtual ~GuardClock() = default;
    /// A clock that never goes back and keeps counting while the host is suspended.
    virtual uint64_t mono_ns() = 0;
    virtual int64_t wall_ns() = 0;
    virtual uint64_t random_u64() = 0;
};

/// What a lease back-end needs from the guard core.
class LeaseHost {
  public:
    virtual ~LeaseHost() = default;
    /// acquire() succeeded: the lease (epoch()) is ours.
    virtual void on_lease_acquired() = 0;
    /// acquire() did not get the lease.
    virtual void on_lease_refused(const Error& reason) = 0;
    /// Passive side: a newer sign state from the holder (already checked: current epoch, HRS
    /// not lower than the last one).
    virtual void on_holder_state(const SignState& state) = 0;
    /// Evidence that another host runs (or may run) its validator while we may: fence now.
    virtual void on_conflict(const Error& reason) = 0;
    /// Our status as the other hosts should see it.
    virtual PeerStatus local_status() const = 0;
};

/// The timings both lease back-ends share (the guard's [validator.lease] settings).
struct LeaseTimings {
    uint32_t ttl_ms = 10'000;              ///< lease length (etcd counts whole seconds, min 2 s)
    uint32_t renew_interval_ms = 2'000;    ///< renewal period (etcd: also status and poll)
    uint32_t fence_margin_ms = 4'000;      ///< the holder fences this long before expiry
    uint32_t request_timeout_ms = 1'000;   ///< deadline of one request to the peer or etcd
    uint32_t failback_grace_ms = 300'000;  ///< a preferred host must be healthy this long
    uint32_t acquire_defer_ms = 3'000;     ///< a lower-ranked host waits this long for a better one
};

/// The lease back-ends: EtcdLease (validator/etcd_lease.h) and PeerLease (validator/peer_lease.h).
/// Their declarations and acquire paths look alike (the same overrides, acquiring flags, then
/// pump()), which `duplicates` lists; the states they drive do not (an etcd lease and its
/// revisions; a two-guard record with epochs, stored durably). They stay apart on purpose:
/// a shared base would couple two protocols for the sake of a few lines of flags.
class Lease {
  public:
    virtual ~Lease() = default;
    /// Periodic work: heartbeats, renewals, polls, retries. Called by the core's tick.
    virtual void tick() = 0;
    /// Worth calling acquire() now (nobody holds it, we are the best candidate, or the holder's
    /// lease ran out)? The core checks its own eligibility first.
    virtual bool may_acquire() = 0;
    /// Starts acquiring; the result arrives later through LeaseHost (never from inside).
    virtual void acquire() = 0;
    /// Operator override (promote --force): take a new epoch without the others' consent. Only
    /// when the operator has made sure no other validator runs.
    virtual void force_acquire() = 0;
    /// Held, and (if bounded) not within the fence margin of expiry.
    virtual bool valid() = 0;
    /// While valid(): when valid() turns false unless the lease is renewed meanwhile (a bounded
    /// lease: the last renewal's send time + ttl - fence margin); an unbounded lease answers
    /// now + ttl - fence margin, so a guard that stops asking still loses its permit. 0 when not
    /// valid. The validator's permit (permit.h) is set to this, so it moves only with renewals.
    virtual uint64_t valid_until_ns() = 0;
    virtual bool held() const = 0;
    virtual uint64_t epoch() const = 0;
    /// After the validator is confirmed stopped: give the lease up (no-op if not held), passing
    /// the final state on to the successor (may be null).
    virtual void release(const SignState* final_state) = 0;
    /// Holder only: the validator's state changed; push it to the passive host(s).
    virtual void publish_state(const SignState& state) = 0;
    /// The last state received from a holder (for the high watermark), or null.
    virtual const SignState* holder_state() const = 0;
    /// Holder: is another host ready to take over (eligible and fresh)?
    virtual bool successor_ready() = 0;
    /// Holder: does another host ask for the lease (manual promote, or failback to a preferred
    /// host that has been healthy for the grace period)?
    virtual bool handover_requested() = 0;
    /// Appends the back-end's view as JSON object members (status API).
    virtual void write_status(JsonWriter& w) = 0;
    /// Human-readable reason why the lease is not usable right now ("" if it is or none known).
    virtual std::string_view problem() const = 0;
};

}  // namespace em::validator
