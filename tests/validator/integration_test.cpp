// Two guards (peer back-end) and fake CometBFT validators as real processes on 127.0.0.1, with
// the faults of issue 6: the active's CometBFT dies, the active's guard is killed -9, the peer
// link is black-holed (partition) and healed, clock skew beyond and within the replay window;
// and of issue 21: the active's guard SIGSTOPped for longer than the lease while its validator
// runs on, and its stderr a pipe nobody reads when the operator demotes it. Every test checks
// the invariants at the end: no height/round/step signed by both hosts, no state file torn or
// lower than before.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
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

    /// `old_validator` (watched by `death`) was gone before `next` started its validator, and
    /// its last signature precedes the new one's first (timestamps from both processes).
    void expect_handover_without_overlap(pid_t old_validator, const DeathWatch& death, Host& next) {
        pid_t fresh = next.validator_pid();
        int64_t started_ms = next.validator_start_ms();
        ASSERT_GT(death.died_ms(), 0) << "the old validator still runs";
        EXPECT_LE(death.died_ms(), started_ms)
            << "the old validator was still running when " << next.name() << "'s started";
        SignReport r = check_sign_log(sign_log);
        ASSERT_TRUE(r.span_ms.count(old_validator) && r.span_ms.count(fresh));
        EXPECT_LT(r.span_ms[old_validator].second, r.span_ms[fresh].first);
        std::printf(
            "old validator gone %lld ms before the new one started; last old signature "
            "%lld ms before the first new one\n",
            static_cast<long long>(started_ms - death.died_ms()),
            static_cast<long long>(r.span_ms[fresh].first - r.span_ms[old_validator].second));
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
    // The problem names the clock (polled: on a loaded machine a request that timed out can
    // have the last word for a moment; the skewed beats keep coming every 250 ms).
    GuardView vb;
    EXPECT_TRUE(wait_for(
        [&] {
            vb = b->view();
            return vb.lease_problem.find("clock") != std::string::npos;
        },
        3000))
        << vb.raw;
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

// Promote and demote decide which host signs: the control endpoint refuses them without the
// operator's token (401), or altogether while none is configured (403, naming the key); reads
// stay open on loopback. The CLI takes the token from the guard's config file.
TEST_F(TwoHosts, PromoteAndDemoteNeedTheControlToken) {
    b->spec().control_token = false;
    start_both();
    expect_active(*a, 8000);
    std::string body;
    EXPECT_EQ(a->control_as("POST", "/demote", "", body), 401) << body;
    EXPECT_NE(body.find("control_token_file"), std::string::npos) << body;
    EXPECT_EQ(a->control_as("POST", "/promote?force=1", "Bearer " + std::string(32, 'x'), body),
              401);
    EXPECT_EQ(a->control_as("POST", "/demote", "Bearer " + b->control_token(), body), 401);
    EXPECT_EQ(b->control_as("POST", "/promote?force=1", "", body), 403) << body;
    EXPECT_NE(body.find("set [validator] control_token_file"), std::string::npos) << body;
    EXPECT_EQ(a->control_as("GET", "/status", "", body), 200);
    EXPECT_TRUE(a->is("active")) << "a refused request changed the roles";
    EXPECT_TRUE(b->is("passive"));

    // The CLI reads control_token_file from the config it is given.
    std::string cli = built("tests/validator/validator_guard");
    std::string demote = cli + " demote --config " + a->config_path() + " >/dev/null";
    ASSERT_EQ(std::system(demote.c_str()), 0);
    expect_active(*b, 8000);
    std::string promote = cli + " promote --config " + a->config_path() + " >/dev/null";
    ASSERT_EQ(std::system(promote.c_str()), 0);
    expect_active(*a, 8000);
    expect_invariants();
}

// Issue 21: a guard stopped by SIGSTOP (a debugger, a cgroup freezer) cannot fence, but its
// validator runs in the supervisor, which kills it when the permit lapses: strictly before the
// other host may take over. When the stopped guard resumes, the new holder keeps its higher
// epoch (no fence for a stale claim).
TEST_F(TwoHosts, AStoppedActiveGuardLosesItsValidatorBeforeThePeerTakesOver) {
    start_both();
    expect_active(*a, 8000);
    pid_t validator = a->validator_pid();
    DeathWatch death(validator);
    ::kill(a->guard_pid(), SIGSTOP);
    // ttl 2 s + takeover margin 0.3 s; the permit lapses at ttl - fence margin (1.3 s).
    expect_active(*b, 10'000);
    expect_handover_without_overlap(validator, death, *b);
    ::kill(a->guard_pid(), SIGCONT);
    // A finds its lease gone and stays passive; B keeps signing through A's return.
    ASSERT_TRUE(wait_for([&] { return a->is("passive"); }, 5000)) << a->view().raw;
    uint64_t before = check_sign_log(sign_log).per_host["host-b"];
    usleep(1'500'000);
    EXPECT_TRUE(b->is("active")) << b->view().raw;
    EXPECT_NE(b->view().last_fence_reason, "conflict");
    EXPECT_GT(check_sign_log(sign_log).per_host["host-b"], before + 3);
    expect_invariants();
}

// Issue 21: the active guard's stderr is a pipe nobody reads (journald stalled) when the
// operator demotes it. Its loop must not wait on the log: it stops its validator, releases the
// lease and B takes over through the release, with no double sign.
TEST_F(TwoHosts, ABlockedStderrDoesNotStopTheGuardFromFencing) {
    int pipe_fds[2];
    ASSERT_EQ(pipe2(pipe_fds, O_CLOEXEC), 0);
    a->spec().stdio_fd = pipe_fds[1];
    start_both();
    // Drain A's log until it is active, then stop reading and fill the pipe to the brim.
    ASSERT_EQ(fcntl(pipe_fds[0], F_SETFL, O_NONBLOCK), 0);
    char buffer[65536];
    ASSERT_TRUE(wait_for(
        [&] {
            while (read(pipe_fds[0], buffer, sizeof buffer) > 0) {
            }
            return a->is("active");
        },
        8000));
    expect_active(*a, 8000);  // and signing
    while (read(pipe_fds[0], buffer, sizeof buffer) > 0) {
    }
    // Filled through a description of our own: O_NONBLOCK on the guard's would let it drop.
    std::string write_end = "/proc/self/fd/" + std::to_string(pipe_fds[1]);
    int filler = ::open(write_end.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    ASSERT_GE(filler, 0);
    while (write(filler, buffer, sizeof buffer) > 0) {
    }
    close(filler);
    pid_t validator = a->validator_pid();
    DeathWatch death(validator);
    int64_t demoted_ms = now_ms();
    ASSERT_EQ(a->control("POST", "/demote"), 200);
    expect_active(*b, 10'000);
    expect_handover_without_overlap(validator, death, *b);
    // A handed over through the lease (a release), not by losing it: its loop kept running.
    GuardView va = a->view();
    EXPECT_TRUE(va.reachable) << "the guard's loop is stuck";
    EXPECT_EQ(va.last_fence_reason, "demoted");
    EXPECT_NE(va.raw.find("\"role\":\"passive\""), std::string::npos) << va.raw;
    std::printf("demote to B active: %lld ms\n", static_cast<long long>(now_ms() - demoted_ms));
    expect_invariants();
    a->stop_guard();
    close(pipe_fds[0]);
    close(pipe_fds[1]);
}

}  // namespace
}  // namespace em::validator::test
