// The mux simulator in the unit suite: 10,000 seeded schedules of the real pipeline against
// simulated nodes (EM_MUX_SIM_SEEDS overrides the count), a deliberately broken vote rule that
// the checker must catch, and exact replay of a seed. `tests/pipeline/mux_sim --seed N` replays
// one schedule with its trace; `--seeds N --long` runs long ones.
#include <gtest/gtest.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>

#include "base/log.h"
#include "sim.h"

namespace em::pipeline::sim {
namespace {

uint64_t env_u64(const char* name, uint64_t fallback) {
    const char* v = std::getenv(name);
    return v && *v ? std::strtoull(v, nullptr, 10) : fallback;
}

const Corpus& corpus() {
    static const Corpus c = [] {
        const char* dir = std::getenv("EM_TESTDATA");
        return build_corpus(dir ? dir : "");
    }();
    return c;
}

TEST(MuxSimulator, EverySeedKeepsEveryInvariant) {
    log_set_level(LogLevel::error);
    uint64_t seeds = env_u64("EM_MUX_SIM_SEEDS", 10'000);
    SimResult total;
    for (uint64_t seed = 1; seed <= seeds; seed++) {
        SimOptions o;
        o.seed = seed;
        SimResult r = run_schedule(corpus(), o);
        total.requests += r.requests;
        total.sends += r.sends;
        total.valid += r.valid;
        total.invalid += r.invalid;
        total.syncing += r.syncing;
        total.tampered += r.tampered;
        total.timeouts += r.timeouts;
        total.node_changes += r.node_changes;
        total.faults += r.faults;
        if (!r.ok) {
            o.trace = true;
            SimResult traced = run_schedule(corpus(), o);
            FAIL() << r.violation << "\nreplay: tests/pipeline/mux_sim --seed " << seed
                   << "\n--- the last events ---\n"
                   << traced.trace;
        }
    }
    std::printf("mux simulator: %" PRIu64 " seeds, invariants held in all; %" PRIu64
                " CL requests (%" PRIu64 " tampered payloads), %" PRIu64 " node calls (%" PRIu64
                " timed out), answers VALID %" PRIu64 " / INVALID %" PRIu64 " / SYNCING %" PRIu64
                ", %" PRIu64 " faults (%" PRIu64
                " node removals/additions); %zu test-data "
                "payloads\n",
                seeds, total.requests, total.tampered, total.sends, total.timeouts, total.valid,
                total.invalid, total.syncing, total.faults, total.node_changes,
                corpus().from_testdata);
    EXPECT_GT(total.valid, 0u);
    EXPECT_GT(total.invalid, 0u);
}

// The checker can fail: a policy that ignores node 0's vote (a voter) must be caught.
TEST(MuxSimulator, ABrokenVoteRuleIsCaught) {
    log_set_level(LogLevel::error);
    for (uint64_t seed = 1; seed <= 10'000; seed++) {
        SimOptions o;
        o.seed = seed;
        o.broken_vote = true;
        SimResult r = run_schedule(corpus(), o);
        if (!r.ok) {
            std::printf("broken vote rule caught at seed %" PRIu64 ": %s\n", seed,
                        r.violation.c_str());
            // Ignoring a voter lets VALID through an INVALID, or INVALID through without a
            // quorum (the quorum shrinks): either is a broken vote rule.
            EXPECT_NE(r.violation.find("VALID"), std::string::npos) << r.violation;
            return;
        }
    }
    FAIL() << "10,000 seeds did not catch a vote rule that ignores a voter";
}

TEST(MuxSimulator, ASeedReplaysExactly) {
    log_set_level(LogLevel::error);
    SimOptions o;
    o.seed = 4242;
    o.trace = true;
    SimResult a = run_schedule(corpus(), o);
    SimResult b = run_schedule(corpus(), o);
    EXPECT_EQ(a.trace, b.trace);
    EXPECT_EQ(a.sends, b.sends);
    EXPECT_GT(a.requests, 0u);
}

}  // namespace
}  // namespace em::pipeline::sim
