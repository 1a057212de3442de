// Two guards (peer back-end) and fake CometBFT validators as real processes on 127.0.0.1, with
// the faults of issue 6: the active's CometBFT dies, the active's guard is killed -9, the peer
// link is black-holed (partition) and healed, clock skew beyond and within the replay window.
// Every test checks the invariants at the end: no height/round/step signed by both hosts, no
// state file torn or lower than before.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "harness.h"
#include "validator/json.h"
#include "validator/sign_state.h"

namespace em::validator::test {
namespace {

class TwoHosts : public ::testing::Test {
  protected:
    TempDir tmp;
    std::string sign_log = tmp.path() + "/signs.log";
    int64_t genesis_ms = now_ms() - 10'000;
    std::unique_ptr<Host> a, b;
    std::unique_ptr<TcpProxy> to_a, to_b;  // each guard reaches the other through a proxy
    std::unique_ptr<StateSampler> sampler;

    void SetUp() override {
        HostSpec sa;
        sa.name = "host-a";
        sa.preferred = true;
        sa.peer_name = "host-b";
        HostSpec sb;
        sb.name = "host-b";
        sb.peer_name = "host-a";
        a = std::make_unique<Host>(tmp.path(), sa, genesis_ms, sign_log);
        b = std::make_unique<Host>(tmp.path(), sb, genesis_ms, sign_log);
        to_a = std::make_unique<TcpProxy>(a->peer_port());
        to_b = std::make_unique<TcpProxy>(b->peer_port());
        a->spec().peer_address_port = to_b->port();
        b->spec().peer_address_port = to_a->port();
        sampler = std::make_unique<StateSampler>(
            std::vector<std::string>{a->state_file(), b->state_file()});
    }

    void TearDown() override {
        sampler.reset();
        if (HasFailure()) print_guard_logs(*a, *b);
    }

    void start_both() {
        a->start_guard();
        b->start_guard();
    }

    /// Waits until `h` is active and has signed at least once more.
    void expect_active(Host& h, int timeout_ms) {
        ASSERT_TRUE(wait_for([&] { return h.is("active"); }, timeout_ms))
            << h.name() << " is " << h.view().role;
        uint64_t before = check_sign_log(sign_log).per_host[h.name()];
        ASSERT_TRUE(
            wait_for([&] { return check_sign_log(sign_log).per_host[h.name()] > before; }, 3000))
            << h.name() << " is active but does not sign";
    }

    void expect_invariants() {
        SignReport r = check_sign_log(sign_log);
        for (const std::string& d : r.double_signs) ADD_FAILURE() << "double sign: " << d;
        for (const std::string& p : sampler->problems()) ADD_FAILURE() << "state file: " << p;
        EXPECT_GT(sampler->samples(), 10u);
    }
};

TEST_F(TwoHosts, PreferredHostBecomesActiveAndPassiveFollowsState) {
    start_both();
    expect_active(*a, 8000);
    EXPECT_TRUE(b->is("passive"));
    // The passive host's state file follows the active's (pushed on change, not polled).
    SignReport r = check_sign_log(sign_log);
    int64_t signed_height = r.last_height["host-a"];
    EXPECT_TRUE(wait_for(
        [&] {
            JsonParser parser(65536);
            auto s = parse_sign_state(read_text(b->state_file()), parser);
            return s && s->hrs.height >= signed_height;
        },
        2000))
        << "passive state file did not follow the active's";
    EXPECT_EQ(check_sign_log(sign_log).per_host["host-b"], 0u);
    expect_invariants();
}

TEST_F(TwoHosts, FailoverWhenTheActivesCometBftDiesAndFailbackAfterGrace) {
    start_both();
    expect_active(*a, 8000);
    pid_t victim = a->validator_pid();
    ASSERT_GT(victim, 0);
    int64_t a_last_before = check_sign_log(sign_log).last_height["host-a"];
    ::kill(victim, SIGKILL);
    expect_active(*b, 8000);
    int64_t b_active_ms = now_ms();
    GuardView va = a->view();
    EXPECT_EQ(va.last_fence_reason, "exited");
    // B never signs at or below what A signed: its high watermark covered A's last state.
    SignReport r = check_sign_log(sign_log);
    EXPECT_GT(r.last_height["host-b"], a_last_before);
    // A (preferred, healthy again with its follower node) takes the lease back after the grace
    // period, through the lease: B stops first.
    expect_active(*a, 15000);
    EXPECT_GE(now_ms() - b_active_ms, 2500) << "failback before the 3 s grace period";
    EXPECT_EQ(b->view().last_fence_reason, "handover");
    expect_invariants();
}

TEST_F(TwoHosts, ActiveGuardKilledWithSignal9) {
    start_both();
    expect_active(*a, 8000);
    pid_t validator = a->validator_pid();
    a->kill_guard(SIGKILL);
    // The validator dies with its guard (PDEATHSIG), then B takes over once A's lease is over.
    EXPECT_TRUE(wait_for([&] { return !process_alive(validator); }, 2000));
    expect_active(*b, 8000);
    // A comes back: it fences first and stays passive while B is active and healthy...
    a->start_guard();
    ASSERT_TRUE(wait_for([&] { return a->view().reachable; }, 3000));
    EXPECT_NE(a->view().role, "active");
    // ...until the failback grace has passed.
    expect_active(*a, 15000);
    expect_invariants();
}

TEST_F(TwoHosts, PartitionBetweenGuardsFencesTheActiveBeforeThePassiveTakesOver) {
    start_both();
    expect_active(*a, 8000);
    to_a->cut(true);
    to_b->cut(true);
    // A cannot renew: it fences itself at expiry - margin; B takes over after expiry + margin.
    ASSERT_TRUE(wait_for([&] { return a->view().role == "passive"; }, 5000)) << a->view().raw;
    EXPECT_EQ(a->view().last_fence_reason, "lease_invalid");
    expect_active(*b, 8000);
    EXPECT_TRUE(a->is("passive"));  // A must not come back while the link is down
    to_a->cut(false);
    to_b->cut(false);
    // Healed: failback to A only through the lease, after the grace period.
    expect_active(*a, 15000);
    expect_invariants();
}

TEST_F(TwoHosts, ClockSkewBeyondTheReplayWindowKeepsBothPassive) {
    a->spec().extra_env = "EM_VALIDATOR_WALL_OFFSET_MS=5000";
    start_both();
    // Authentic but out-of-window messages are refused: in doubt, nobody signs.
    usleep(4'000'000);
    EXPECT_FALSE(a->is("active"));
    EXPECT_FALSE(b->is("active"));
    EXPECT_EQ(check_sign_log(sign_log).per_host.size(), 0u);
    GuardView vb = b->view();
    EXPECT_NE(vb.lease_problem.find("clock"), std::string::npos) << vb.raw;
    expect_invariants();
}

TEST_F(TwoHosts, ClockSkewWithinTheReplayWindowIsTolerated) {
    b->spec().extra_env = "EM_VALIDATOR_WALL_OFFSET_MS=-600";
    start_both();
    expect_active(*a, 8000);
    expect_invariants();
}

TEST_F(TwoHosts, SigtermHandsOverAndExitsCleanly) {
    start_both();
    expect_active(*a, 8000);
    pid_t validator = a->validator_pid();
    int64_t start = now_ms();
    EXPECT_EQ(a->stop_guard(), 0);  // fences, releases with its final state, exits 0
    EXPECT_FALSE(process_alive(validator));
    // B takes over through the release, well before A's lease could have expired.
    expect_active(*b, 8000);
    EXPECT_LT(now_ms() - start, 2000 + 3000) << "took as long as a lease expiry";
    expect_invariants();
}

TEST_F(TwoHosts, DemoteAndPromoteGoThroughTheLease) {
    start_both();
    expect_active(*a, 8000);
    ASSERT_EQ(a->control("POST", "/demote"), 200);
    expect_active(*b, 8000);
    EXPECT_EQ(a->view().last_fence_reason, "demoted");
    ASSERT_EQ(a->control("POST", "/promote"), 200);
    expect_active(*a, 8000);
    expect_invariants();
}

}  // namespace
}  // namespace em::validator::test
