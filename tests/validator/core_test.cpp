// Health verdicts, peer authentication, configuration rules, and the GuardCore's ordering
// contracts with a scripted lease and I/O: fence before anything at start-up, high watermark
// written and read back before start, failures block activation, stop confirmed before release,
// a failed stop keeps the lease; the permit (dead-man switch) granted before the start, moved
// only by renewals, revoked first on a safety fence, kept through a graceful one; a fence acts
// before it logs.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <deque>
#include <string>
#include <vector>

#include "harness.h"
#include "validator/auth.h"
#include "validator/config.h"
#include "validator/guard.h"
#include "validator/health.h"

namespace em::validator {
namespace {

constexpr uint64_t MS = 1'000'000;
const char* const key = "Z+8kntVegi1sQiWLYwFSVLNWqdAUGEy7lskL78gxLZI=";

NodeStatus status_at(int64_t height, int64_t wall_ns, const char* pub_key = key) {
    NodeStatus s;
    s.latest_block_height = height;
    s.latest_block_time_ns = wall_ns;
    std::string_view k = pub_key;
    std::memcpy(s.pub_key, k.data(), k.size());
    s.pub_key_chars = static_cast<uint8_t>(k.size());
    return s;
}

HealthPolicy policy() {
    HealthPolicy p;
    p.min_peers = 2;
    p.block_time_ms = 1000;
    p.stale_blocks = 3;
    p.validator_pub_key = key;
    return p;
}

TEST(Health, EachCheckHasItsReason) {
    HealthTracker h(policy());
    int64_t wall = 1'700'000'000'000'000'000;
    uint64_t mono = 1'000 * MS;
    NodeStatus s = status_at(10, wall);
    EXPECT_EQ(h.observe(&s, 5, nullptr, true, mono, wall), HealthReason::ok);
    EXPECT_EQ(h.healthy_since_ns(), mono);
    EXPECT_EQ(h.chain_height(), 10);
    EXPECT_EQ(h.observe(&s, 1, nullptr, true, mono + 10 * MS, wall), HealthReason::too_few_peers);
    EXPECT_EQ(h.consecutive_failures(), 1u);
    EXPECT_NE(std::string(h.detail()).find("n_peers 1 < min_peers 2"), std::string::npos);
    s.catching_up = true;
    EXPECT_EQ(h.observe(&s, 5, nullptr, true, mono, wall), HealthReason::catching_up);
    s.catching_up = false;
    // Height not rising for longer than stale_blocks block times.
    EXPECT_EQ(h.observe(&s, 5, nullptr, true, mono + 3'500 * MS, wall),
              HealthReason::height_stalled);
    NodeStatus old = status_at(11, wall - 4'000 * MS);
    EXPECT_EQ(h.observe(&old, 5, nullptr, true, mono + 3'600 * MS, wall),
              HealthReason::block_stale);
    NodeStatus other = status_at(12, wall, "AAAA");
    EXPECT_EQ(h.observe(&other, 5, nullptr, true, mono + 3'700 * MS, wall),
              HealthReason::wrong_pub_key);
    EXPECT_EQ(h.observe(&other, 5, nullptr, false, mono + 3'800 * MS, wall), HealthReason::ok);
    NodeStatus signing = status_at(13, wall);
    EXPECT_EQ(h.observe(&signing, 5, nullptr, false, mono + 3'900 * MS, wall),
              HealthReason::validator_key_on_passive);
    Error timeout(Errc::timeout, "GET /status: deadline passed");
    EXPECT_EQ(h.observe(nullptr, 0, &timeout, true, mono, wall), HealthReason::unreachable);
    Error bad(Errc::invalid_input, "result.n_peers: expected a decimal string");
    EXPECT_EQ(h.observe(nullptr, 0, &bad, true, mono, wall), HealthReason::bad_response);
    EXPECT_EQ(h.healthy_since_ns(), 0u);
}

struct AuthPair {
    std::vector<uint8_t> secret = std::vector<uint8_t>(32, 7);
    PeerAuth a{secret, "host-a", "host-b", 1000, 16};
    PeerAuth b{secret, "host-b", "host-a", 1000, 16};
};

TEST(Auth, SignedRequestsAndAnswersVerify) {
    AuthPair p;
    char token[PeerAuth::token_chars_max];
    size_t n = p.a.sign_request("POST", "/v1/peer/beat", "{}", 5, 1'000'000, 0xabc, token);
    auto t = p.b.verify_request("POST", "/v1/peer/beat", "{}", {token, n}, 1'000'100);
    ASSERT_TRUE(t) << t.error().c_str();
    EXPECT_EQ(t->epoch, 5u);
    EXPECT_EQ(t->nonce, 0xabcu);
    n = p.b.sign_response(200, "/v1/peer/beat", "{\"ok\":true}", 5, 0xabc, 1'000'200, 0x1, token);
    EXPECT_TRUE(
        p.a.verify_response(200, "/v1/peer/beat", "{\"ok\":true}", {token, n}, 0xabc, 1'000'300));
    // The same answer cannot be replayed onto another request, nor its status changed.
    EXPECT_FALSE(
        p.a.verify_response(200, "/v1/peer/beat", "{\"ok\":true}", {token, n}, 0xdef, 1'000'300));
    EXPECT_FALSE(
        p.a.verify_response(403, "/v1/peer/beat", "{\"ok\":true}", {token, n}, 0xabc, 1'000'300));
}

TEST(Auth, RefusalsSayWhy) {
    AuthPair p;
    char token[PeerAuth::token_chars_max];
    size_t n = p.a.sign_request("POST", "/v1/peer/beat", "{}", 5, 1'000'000, 0x1, token);
    std::string_view t(token, n);
    EXPECT_EQ(p.b.verify_request("POST", "/v1/peer/beat", "{ }", t, 1'000'000).error().code(),
              Errc::unauthorized);
    EXPECT_EQ(p.b.verify_request("POST", "/v1/peer/acquire", "{}", t, 1'000'000).error().code(),
              Errc::unauthorized);
    // Reflected back to its sender: the names in the MAC do not match.
    EXPECT_EQ(p.a.verify_request("POST", "/v1/peer/beat", "{}", t, 1'000'000).error().code(),
              Errc::unauthorized);
    PeerAuth stranger(std::vector<uint8_t>(32, 8), "host-b", "host-a", 1000, 16);
    EXPECT_EQ(stranger.verify_request("POST", "/v1/peer/beat", "{}", t, 1'000'000).error().code(),
              Errc::unauthorized);
    EXPECT_EQ(
        p.b.verify_request("POST", "/v1/peer/beat", "{}", "v1.garbage", 1'000'000).error().code(),
        Errc::unauthorized);
    EXPECT_EQ(p.b.verify_request("POST", "/v1/peer/beat", "{}", "", 1'000'000).error().code(),
              Errc::unauthorized);
    // Authentic but outside the replay window: clock skew.
    AuthToken authentic;
    auto skewed = p.b.verify_request("POST", "/v1/peer/beat", "{}", t, 1'002'000, &authentic);
    EXPECT_EQ(skewed.error().code(), Errc::timeout);
    EXPECT_EQ(authentic.nonce, 0x1u);
    EXPECT_EQ(p.b.last_skew_ms(), -2000);
    // Accepted once, then refused as a replay.
    EXPECT_TRUE(p.b.verify_request("POST", "/v1/peer/beat", "{}", t, 1'000'000));
    EXPECT_EQ(p.b.verify_request("POST", "/v1/peer/beat", "{}", t, 1'000'001).error().code(),
              Errc::invalid_input);
}

TEST(Auth, TheReplayTableIsBounded) {
    AuthPair p;
    char token[PeerAuth::token_chars_max];
    for (uint64_t i = 0; i < 16; i++) {
        size_t n = p.a.sign_request("POST", "/p", "", 1, 1'000'000, i + 1, token);
        ASSERT_TRUE(p.b.verify_request("POST", "/p", "", {token, n}, 1'000'000));
    }
    size_t n = p.a.sign_request("POST", "/p", "", 1, 1'000'000, 99, token);
    EXPECT_EQ(p.b.verify_request("POST", "/p", "", {token, n}, 1'000'000).error().code(),
              Errc::busy);
    // Entries leave the table with the window.
    n = p.a.sign_request("POST", "/p", "", 1, 1'002'000, 100, token);
    EXPECT_TRUE(p.b.verify_request("POST", "/p", "", {token, n}, 1'002'000));
}

// ---------------------------------------------------------------------------------------------

std::string base_config() {
    return R"([validator]
name = "host-a"
data_dir = "/var/lib/enginemux/validator"
state_file = "/home/story/.story/story/data/priv_validator_state.json"
validator_pub_key = "Z+8kntVegi1sQiWLYwFSVLNWqdAUGEy7lskL78gxLZI="
[validator.process]
start_command = "systemctl start story"
stop_command = "systemctl stop story"
status_command = "systemctl is-active --quiet story"
permit_file = "/run/enginemux/validator.permit"
[validator.peer]
name = "host-b"
listen = "10.0.0.1:9561"
address = "10.0.0.2:9561"
secret_file = "/etc/enginemux/validator-peer.secret"
)";
}

TEST(Config, DefaultsAreConsistent) {
    auto c = parse_validator_config(base_config(), "test.toml");
    ASSERT_TRUE(c) << c.error().c_str();
    EXPECT_EQ(c->backend, "peer");
    EXPECT_GT(c->fence_margin_ms, c->stop_timeout_ms);
    EXPECT_EQ(c->control_listen, "127.0.0.1:9560");
}

TEST(Config, RejectsUnknownKeysBadRangesAndUnsafeTimings) {
    auto err = [](const std::string& extra) {
        auto c = parse_validator_config(base_config() + extra, "test.toml");
        return c ? std::string("(accepted)") : std::string(c.error().message());
    };
    EXPECT_NE(err("[validator.lease]\nttl = 5\n").find("unknown setting 'validator.lease.ttl'"),
              std::string::npos);
    EXPECT_NE(err("[validator.health]\nmin_peers = -1\n").find("validator.health.min_peers"),
              std::string::npos);
    EXPECT_NE(err("[validator.lease]\nfence_margin_ms = 1000\n")
                  .find("must exceed validator.process.stop_timeout_ms"),
              std::string::npos);
    EXPECT_NE(err("[validator.lease]\nttl_ms = 26000\n").find("ttl_ms"), std::string::npos);
    EXPECT_NE(err("[validator.lease]\nbackend = \"zookeeper\"\n").find("backend"),
              std::string::npos);
    EXPECT_NE(err("[validator.other]\n").find("unknown table"), std::string::npos);
    auto c =
        parse_validator_config(base_config() + "[validator.health]\ninterval_ms = \"1s\"\n", "t");
    ASSERT_FALSE(c);
    EXPECT_NE(std::string(c.error().message()).find("expected an integer"), std::string::npos);
    // Commands mode without a permit file: nothing would stop the validator if the guard
    // stalled; the error names the fix.
    std::string no_permit = base_config();
    no_permit.erase(no_permit.find("permit_file"),
                    no_permit.find("[validator.peer]") - no_permit.find("permit_file"));
    c = parse_validator_config(no_permit, "t");
    ASSERT_FALSE(c);
    EXPECT_NE(std::string(c.error().message()).find("permit_file (absolute) is required"),
              std::string::npos);
    EXPECT_NE(std::string(c.error().message()).find("enginemux validator-run --permit"),
              std::string::npos);
    std::string remote = base_config();
    remote.replace(remote.find("[validator.process]"), 0, "control_listen = \"0.0.0.0:9560\"\n");
    c = parse_validator_config(remote, "t");
    ASSERT_FALSE(c);
    EXPECT_NE(std::string(c.error().message()).find("loopback"), std::string::npos);
}

TEST(Config, PeerSecretMustBePrivateAndLongEnough) {
    test::TempDir tmp;
    std::string path = tmp.path() + "/secret";
    test::write_text(path, std::string(40, 'k') + "\n", 0644);
    EXPECT_FALSE(load_peer_secret(path));
    ::chmod(path.c_str(), 0600);
    auto s = load_peer_secret(path);
    ASSERT_TRUE(s) << s.error().c_str();
    EXPECT_EQ(s->size(), 40u);  // the newline is not part of the key
    test::write_text(path, "short", 0600);
    EXPECT_FALSE(load_peer_secret(path));
}

// ---------------------------------------------------------------------------------------------
// GuardCore with a scripted lease and I/O.

struct Script final : GuardClock, GuardIo, Lease {
    uint64_t mono = 1'000 * MS;
    std::vector<std::string> calls;
    SignState disk{Hrs{50, 0, 3}};
    bool valid_lease = true;
    bool held_lease = false;
    bool successor = false;
    const SignState* holder = nullptr;
    GuardCore* core = nullptr;
    uint64_t lease_until = 0;  ///< valid_until_ns() while valid
    uint64_t permit = 0;       ///< as last set
    std::string order;         ///< permits, starts and stops in the order they were asked for
    int stderr_probe = -1;     ///< a pipe read end: bytes in it when the stop was asked for
    int logged_before_stop = -1;

    uint64_t mono_ns() override { return mono; }
    int64_t wall_ns() override { return 1'700'000'000'000'000'000 + static_cast<int64_t>(mono); }
    uint64_t random_u64() override { return 4; }
    void start_validator() override {
        calls.push_back("start");
        order += "start; ";
    }
    void stop_validator() override {
        calls.push_back("stop");
        order += "stop; ";
        if (stderr_probe >= 0) ioctl(stderr_probe, FIONREAD, &logged_before_stop);
    }
    void set_permit(uint64_t deadline_ns, uint64_t) override {
        permit = deadline_ns;
        order += deadline_ns == 0 ? "revoke; "
                                  : "permit +" + std::to_string((deadline_ns - mono) / MS) + "ms; ";
    }
    uint64_t valid_until_ns() override { return valid() ? lease_until : 0; }
    void write_state(const SignState& s) override {
        calls.push_back("write " + std::to_string(s.hrs.height) + "/" +
                        std::to_string(s.hrs.round));
    }
    void read_state() override { calls.push_back("read"); }
    void tick() override {}
    bool may_acquire() override { return !held_lease; }
    void acquire() override { calls.push_back("acquire"); }
    void force_acquire() override {}
    bool valid() override { return held_lease && valid_lease; }
    bool held() const override { return held_lease; }
    uint64_t epoch() const override { return 3; }
    void release(const SignState* s) override {
        held_lease = false;
        calls.push_back(std::string("release ") + (s ? std::to_string(s->hrs.height) : "none"));
    }
    void publish_state(const SignState&) override { calls.push_back("publish"); }
    const SignState* holder_state() const override { return holder; }
    bool successor_ready() override { return successor; }
    bool handover_requested() override { return false; }
    void write_status(JsonWriter&) override {}
    std::string_view problem() const override { return {}; }

    std::string take() {
        std::string all;
        for (auto& c : calls) all += (all.empty() ? "" : ", ") + c;
        calls.clear();
        return all;
    }
};

struct CoreTest : ::testing::Test {
    Script io;
    GuardPolicy gp;
    GuardCore core{make_policy(), policy(), io, io};

    GuardPolicy make_policy() {
        gp.name = "host-a";
        gp.failures_before_failover = 3;
        gp.hwm_margin_heights = 2;
        gp.retry_ms = 1000;
        gp.chain_fresh_ms = 5000;
        gp.start_grace_ms = 0;
        return gp;
    }
    void SetUp() override {
        core.set_lease(&io);
        io.core = &core;
    }
    void healthy(int64_t height) {
        NodeStatus s = status_at(height, io.wall_ns(), core.role() == Role::active ? key : "AAAA");
        core.on_probe(&s, 5, nullptr);
    }
    void to_passive() {
        core.start();
        EXPECT_EQ(io.take(), "stop");
        core.on_validator_stopped(nullptr);
        EXPECT_EQ(io.take(), "read");
        core.on_state_read(&io.disk, nullptr);
        EXPECT_EQ(io.take(), "release 50");
        EXPECT_EQ(core.role(), Role::passive);
    }
    void to_active() {
        to_passive();
        healthy(100);
        core.tick();
        EXPECT_EQ(io.take(), "acquire");
        io.held_lease = true;
        core.on_lease_acquired();
        EXPECT_EQ(io.take(), "read");
        core.on_state_read(&io.disk, nullptr);
        EXPECT_EQ(io.take(), "write 103/2147483647");
        core.on_state_written(nullptr);
        EXPECT_EQ(io.take(), "read");
        SignState written(Hrs{103, round_max, step_max});
        core.on_state_read(&written, nullptr);
        EXPECT_EQ(io.take(), "start");
        core.on_validator_started(nullptr);
        EXPECT_EQ(io.take(), "publish");
        EXPECT_EQ(core.role(), Role::active);
    }
};

TEST_F(CoreTest, StartsByFencingAndActivatesOnlyAfterTheHighWatermarkIsReadBack) {
    to_active();
}

TEST_F(CoreTest, AReadBackThatDiffersBlocksTheStart) {
    to_passive();
    healthy(100);
    core.tick();
    io.take();
    io.held_lease = true;
    core.on_lease_acquired();
    core.on_state_read(&io.disk, nullptr);
    core.on_state_written(nullptr);
    io.take();
    SignState other(Hrs{99, 0, 0});
    core.on_state_read(&other, nullptr);
    EXPECT_EQ(io.take(), "release 103");  // never "start"
    EXPECT_EQ(core.role(), Role::passive);
    EXPECT_NE(std::string(core.last_error()).find("differs"), std::string::npos);
}

TEST_F(CoreTest, AFailedHighWatermarkWriteBlocksActivationAndIsReported) {
    to_passive();
    healthy(100);
    core.tick();
    io.take();
    io.held_lease = true;
    core.on_lease_acquired();
    core.on_state_read(&io.disk, nullptr);
    io.take();
    Error enospc = Error::sys(28, "write .priv_validator_state.json.tmp.1");
    core.on_state_written(&enospc);
    EXPECT_EQ(io.take(), "release 50");
    EXPECT_NE(std::string(core.last_error()).find("No space left on device"), std::string::npos);
    // Not eligible until the retry time has passed.
    healthy(101);
    core.tick();
    EXPECT_EQ(io.take(), "");
    io.mono += 1'001 * MS;
    healthy(102);
    core.tick();
    EXPECT_EQ(io.take(), "acquire");
}

TEST_F(CoreTest, NoActivationWithoutAFreshChainHeight) {
    to_passive();
    healthy(100);
    core.tick();
    io.take();
    io.mono += 6'000 * MS;  // the last probe is now older than chain_fresh_ms
    io.held_lease = true;
    core.on_lease_acquired();
    core.on_state_read(&io.disk, nullptr);
    EXPECT_EQ(io.take(), "read, release 50");
}

TEST_F(CoreTest, TheLeaseIsReleasedOnlyAfterTheStopIsConfirmed) {
    to_active();
    io.valid_lease = false;
    core.tick();
    EXPECT_EQ(io.take(), "stop");
    EXPECT_EQ(core.role(), Role::fencing);
    Error e(Errc::timeout, "status_command still reports the validator running");
    core.on_validator_stopped(&e);
    EXPECT_EQ(io.take(), "");  // no release: the validator may still run
    EXPECT_TRUE(io.held_lease);
    core.tick();
    EXPECT_EQ(io.take(), "");  // retried after a back-off, not at once
    io.mono += 1'000 * MS;
    core.tick();
    EXPECT_EQ(io.take(), "stop");
    core.on_validator_stopped(nullptr);
    EXPECT_EQ(io.take(), "read");
    SignState final_state(Hrs{110, 0, 2});
    core.on_state_read(&final_state, nullptr);
    EXPECT_EQ(io.take(), "release 110");
    EXPECT_EQ(core.last_fence_reason(), FenceReason::lease_invalid);
}

TEST_F(CoreTest, UnhealthyActiveHandsOverOnlyWhenASuccessorIsReady) {
    to_active();
    Error down(Errc::timeout, "GET /status: deadline passed");
    for (int i = 0; i < 5; i++) core.on_probe(nullptr, 0, &down);
    core.tick();
    EXPECT_EQ(io.take(), "");  // nobody could take over: keep signing if it still can
    io.successor = true;
    core.tick();
    EXPECT_EQ(io.take(), "stop");
    EXPECT_EQ(core.last_fence_reason(), FenceReason::unhealthy);
}

TEST_F(CoreTest, PassiveWritesOnlyNewerHolderStates) {
    to_passive();
    SignState older(Hrs{40, 0, 0});
    core.on_holder_state(older);
    EXPECT_EQ(io.take(), "");
    SignState newer(Hrs{60, 1, 2});
    core.on_holder_state(newer);
    EXPECT_EQ(io.take(), "write 60/1");
    SignState newest(Hrs{61, 0, 1});
    core.on_holder_state(newest);
    EXPECT_EQ(io.take(), "");  // one write at a time; this one follows
    core.on_state_written(nullptr);
    EXPECT_EQ(io.take(), "write 61/0");
}

TEST_F(CoreTest, ConflictEvidenceFencesAtOnce) {
    io.lease_until = io.mono + 4'000 * MS;
    to_active();
    io.order.clear();
    core.on_conflict(Error(Errc::internal, "the peer claims the lease while we hold it"));
    EXPECT_EQ(io.take(), "stop");
    EXPECT_EQ(io.order, "revoke; stop; ");
    EXPECT_EQ(core.last_fence_reason(), FenceReason::conflict);
}

TEST_F(CoreTest, ThePermitIsGrantedBeforeTheStartAndMovesOnlyWithTheLease) {
    core.start();
    EXPECT_EQ(io.order, "revoke; stop; ");  // whatever an earlier guard granted
    io.order.clear();
    io.take();
    core.on_validator_stopped(nullptr);
    core.on_state_read(&io.disk, nullptr);
    healthy(100);
    core.tick();
    io.held_lease = true;
    io.lease_until = io.mono + 4'000 * MS;
    core.on_lease_acquired();
    core.on_state_read(&io.disk, nullptr);
    core.on_state_written(nullptr);
    EXPECT_EQ(io.order, "");  // preparing: the validator may not run yet
    SignState written(Hrs{103, round_max, step_max});
    core.on_state_read(&written, nullptr);
    EXPECT_EQ(io.order, "permit +4000ms; start; ");
    core.on_validator_started(nullptr);
    io.order.clear();
    // Time passes without a renewal: the permit stays where the lease ends.
    io.mono += 1'000 * MS;
    core.tick();
    EXPECT_EQ(io.order, "");
    // A renewal moves the lease's end, and the permit follows on the next tick.
    io.lease_until = io.mono + 4'000 * MS;
    core.tick();
    EXPECT_EQ(io.order, "permit +4000ms; ");
    EXPECT_EQ(io.permit, io.lease_until);
}

TEST_F(CoreTest, ASafetyFenceRevokesThePermitBeforeTheStopAndLogsAfterwards) {
    io.lease_until = io.mono + 4'000 * MS;
    to_active();
    io.order.clear();
    // stderr into a pipe: at the moment the stop is asked for, nothing may have been logged.
    int fds[2];
    ASSERT_EQ(pipe2(fds, O_CLOEXEC | O_NONBLOCK), 0);
    int saved = dup(STDERR_FILENO);
    dup2(fds[1], STDERR_FILENO);
    io.stderr_probe = fds[0];
    io.valid_lease = false;
    core.tick();
    int logged_after = 0;
    ioctl(fds[0], FIONREAD, &logged_after);
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(fds[0]);
    close(fds[1]);
    EXPECT_EQ(io.order, "revoke; stop; ");
    EXPECT_EQ(io.logged_before_stop, 0) << "a log line was written before the fence acted";
    EXPECT_GT(logged_after, 0) << "the fence was not logged at all";
    EXPECT_EQ(core.last_fence_reason(), FenceReason::lease_invalid);
}

// The permit ends with the lease, so a loaded host can see the validator leave (its dead-man)
// before the tick that finds the lease invalid: the fence still names the lease.
TEST_F(CoreTest, AnExitWhenThePermitRanOutIsALeaseFence) {
    io.lease_until = io.mono + 4'000 * MS;
    to_active();
    io.order.clear();
    io.mono += 4'000 * MS;
    io.valid_lease = false;
    core.on_validator_exited();
    EXPECT_EQ(core.last_fence_reason(), FenceReason::lease_invalid);
    EXPECT_EQ(io.permit, 0u);
    EXPECT_EQ(core.role(), Role::fencing);
}

TEST_F(CoreTest, AnExitWithAValidLeaseIsAnExit) {
    io.lease_until = io.mono + 4'000 * MS;
    to_active();
    core.on_validator_exited();
    EXPECT_EQ(core.last_fence_reason(), FenceReason::exited);
    EXPECT_EQ(io.permit, 0u);
}

TEST_F(CoreTest, AGracefulFenceKeepsThePermitWhileTheValidatorStops) {
    io.lease_until = io.mono + 4'000 * MS;
    to_active();
    io.order.clear();
    core.demote();
    core.tick();
    EXPECT_EQ(io.order, "stop; ");  // SIGTERM and its grace, not the supervisor's SIGKILL
    EXPECT_EQ(io.permit, io.lease_until);
    // Renewals still move it while the validator stops.
    io.lease_until = io.mono + 5'000 * MS;
    core.tick();
    EXPECT_EQ(io.order, "stop; permit +5000ms; ");
    // Evidence of a conflict meanwhile: revoke at once.
    core.on_conflict(Error(Errc::internal, "the peer claims the lease while we hold it"));
    EXPECT_EQ(io.order, "stop; permit +5000ms; revoke; ");
    core.on_validator_stopped(nullptr);
    EXPECT_EQ(io.permit, 0u);
}

TEST_F(CoreTest, AGracefulStopEndsWithThePermitRevoked) {
    io.lease_until = io.mono + 4'000 * MS;
    to_active();
    io.order.clear();
    core.demote();
    core.tick();
    core.on_validator_stopped(nullptr);
    EXPECT_EQ(io.order, "stop; revoke; ");
    EXPECT_EQ(core.last_fence_reason(), FenceReason::demoted);
}

}  // namespace
}  // namespace em::validator
