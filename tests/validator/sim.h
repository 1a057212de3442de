// Deterministic scenario simulator for the validator guard: two (or, with etcd, three) hosts run
// the real GuardCore and lease back-ends against simulated time, a simulated network (delay,
// loss, one-way and two-way partitions), simulated disks (latency, ENOSPC), simulated CometBFT
// nodes and validators (which sign prevotes/precommits and keep their own state file, as
// FilePV does), clock skew and drift, guard crashes (the validator dies with its guard, as with
// PDEATHSIG), stalled guards (SIGSTOP, or a log write that blocks right before a fence: the loop
// makes no progress while the validator runs on), a data directory that turns read-only while
// the holder releases, and operator commands. The validator runs under the permit supervisor
// (supervisor.h), modelled as a process of its own that no stall reaches. A schedule is one
// seed; the checker asserts after every step:
//   - never two validators running at once, and every activation has a new, higher epoch;
//   - never the same height/round/step signed by two hosts (a double sign);
//   - never an HRS regression of any host's state file on disk;
// and at the end, after a quiet tail without new faults, that some host signs again (no
// permanent deadlock).
// Test code: one thread, allocation is fine.
#pragma once

#include <cstdint>
#include <string>

namespace em::validator::sim {

struct SimOptions {
    uint64_t seed = 1;
    uint64_t duration_ms = 180'000;
    bool etcd = false;   ///< etcd back-end (three hosts and a simulated etcd)
    bool faults = true;  ///< random faults; false: a quiet run (liveness check)
    bool trace = false;  ///< keep a trace of events (printed on failure)
    /// The permit supervisor kills a validator whose permit lapsed. false: the validator only
    /// stops when its guard stops it or dies (what the guard did before the dead-man switch).
    bool dead_man = true;
    uint64_t quiet_tail_ms = 60'000;  ///< no new faults this close to the end
};

struct SimResult {
    bool ok = true;
    std::string violation;  ///< what broke, with the simulated time
    std::string trace;      ///< last events (when SimOptions::trace)
    uint64_t activations = 0;
    uint64_t signatures = 0;
    uint64_t heights = 0;  ///< heights the chain produced during the run
    uint64_t heights_signed = 0;
    uint64_t faults = 0;
    uint64_t guard_crashes = 0;
    uint64_t takeovers_on_silence = 0;
    uint64_t write_errors = 0;
    uint64_t stalls = 0;        ///< guard stalls (either kind)
    uint64_t permit_kills = 0;  ///< validators killed by their supervisor
};

/// Runs one schedule.
SimResult run_schedule(const SimOptions& options);

}  // namespace em::validator::sim
