// Deterministic scenario simulator for the validator guard: two (or, with etcd, three) hosts run
// the real GuardCore and lease back-ends against simulated time, a simulated network (delay,
// loss, one-way and two-way partitions), simulated disks (latency, ENOSPC), simulated CometBFT
// nodes and validators (which sign prevotes/precommits and keep their own state file, as
// FilePV does), clock skew and drift, guard crashes (the validator dies with its guard, as with
// PDEATHSIG) and operator commands. A schedule is one seed; the checker asserts after every step:
//   - never two validators running at once, and every activation has a new, higher epoch;
//   - never the same height/round/step signed by two hosts (a double sign);
//   - never an HRS regression of any host's state file on disk.
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
};

/// Runs one schedule.
SimResult run_schedule(const SimOptions& options);

}  // namespace em::validator::sim
