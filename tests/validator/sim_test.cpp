// Randomized scenario runner: hundreds of deterministic schedules of the real guard core and
// lease back-ends under simulated faults, each checked for the invariants in sim.h. Prints how
// many schedules ran. EM_SIM_SCHEDULES overrides the count, EM_SIM_SEED runs one seed traced.
#include <gtest/gtest.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "base/log.h"
#include "sim.h"

namespace em::validator::sim {
namespace {

uint64_t env_u64(const char* name, uint64_t fallback) {
    const char* v = std::getenv(name);
    return v && *v ? std::strtoull(v, nullptr, 10) : fallback;
}

void run_many(bool etcd, uint64_t schedules, uint64_t first_seed) {
    log_set_level(LogLevel::error);  // the guards log every transition; the counts say enough
    uint64_t ran = 0, activations = 0, signatures = 0, faults = 0, crashes = 0, takeovers = 0;
    uint64_t write_errors = 0, stalls = 0, permit_kills = 0;
    for (uint64_t i = 0; i < schedules; i++) {
        SimOptions o;
        o.seed = first_seed + i;
        o.etcd = etcd;
        SimResult r = run_schedule(o);
        ran++;
        activations += r.activations;
        signatures += r.signatures;
        faults += r.faults;
        crashes += r.guard_crashes;
        takeovers += r.takeovers_on_silence;
        write_errors += r.write_errors;
        stalls += r.stalls;
        permit_kills += r.permit_kills;
        if (!r.ok) {
            o.trace = true;
            SimResult traced = run_schedule(o);
            ADD_FAILURE() << r.violation << "\n--- trace of the last events ---\n" << traced.trace;
            break;
        }
    }
    std::printf("validator scenario runner (%s): %" PRIu64
                " schedules ran, invariant held in all; "
                "%" PRIu64 " faults, %" PRIu64 " guard crashes, %" PRIu64 " guard stalls, %" PRIu64
                " validators killed by the permit, %" PRIu64 " activations, %" PRIu64
                " silence takeovers, %" PRIu64 " failed disk writes, %" PRIu64 " signatures\n",
                etcd ? "etcd" : "peer", ran, faults, crashes, stalls, permit_kills, activations,
                takeovers, write_errors, signatures);
}

TEST(Scenarios, PeerBackendInvariantHoldsUnderRandomFaults) {
    if (std::getenv("EM_SIM_SEED")) {
        log_set_level(LogLevel::error);
        SimOptions o;
        o.seed = env_u64("EM_SIM_SEED", 1);
        o.etcd = std::getenv("EM_SIM_ETCD") != nullptr;
        o.trace = true;
        if (std::getenv("EM_SIM_QUIET")) o.faults = false;
        SimResult r = run_schedule(o);
        std::printf("%s\n", r.trace.c_str());
        EXPECT_TRUE(r.ok) << r.violation;
        return;
    }
    run_many(false, env_u64("EM_SIM_SCHEDULES", 1000), 1);
}

TEST(Scenarios, EtcdBackendInvariantHoldsUnderRandomFaults) {
    run_many(true, env_u64("EM_SIM_SCHEDULES", 500), 5001);
}

// The simulator can fail: without the dead-man switch (the validator stops only when its guard
// stops it or dies), stalled guards let both validators sign, and the checker must say so.
TEST(Scenarios, WithoutTheDeadManSwitchAStalledGuardDoubleSigns) {
    log_set_level(LogLevel::error);
    uint64_t schedules = 0, failed = 0;
    std::string first;
    for (uint64_t seed = 1; seed <= 200 && failed < 3; seed++) {
        SimOptions o;
        o.seed = seed;
        o.dead_man = false;
        SimResult r = run_schedule(o);
        schedules++;
        if (!r.ok) {
            failed++;
            if (first.empty()) first = r.violation;
        }
    }
    std::printf("without the dead-man switch: %" PRIu64 " of %" PRIu64
                " schedules broke an invariant; the first: %s\n",
                failed, schedules, first.c_str());
    EXPECT_GE(failed, 3u) << "stalled guards never led to two running validators";
    EXPECT_TRUE(first.find("DOUBLE SIGN") != std::string::npos ||
                first.find("while") != std::string::npos)
        << first;
}

TEST(Scenarios, QuietRunsAreLive) {
    // Without faults, one host becomes active quickly and signs nearly every height.
    log_set_level(LogLevel::error);
    for (uint64_t seed = 1000; seed < 1020; seed++) {
        SimOptions o;
        o.seed = seed;
        o.etcd = seed >= 1010;
        o.faults = false;
        o.duration_ms = 60'000;
        SimResult r = run_schedule(o);
        ASSERT_TRUE(r.ok) << r.violation;
        EXPECT_EQ(r.activations, 1u) << "seed " << seed;
        EXPECT_GT(r.heights_signed * 100, r.heights * 85)
            << "seed " << seed << ": signed " << r.heights_signed << " of " << r.heights;
    }
}

}  // namespace
}  // namespace em::validator::sim
