// PeerLease, transition by transition, against a scripted peer: the test plays the other guard
// (it verifies our requests and signs its answers with the shared secret), the record store
// and the clock. Covers the two rules the chaos run broke:
//  - a release is sent only once the record that says "I hold nothing" is durable, and that
//    write is retried until it succeeds (else the peer takes the next epoch while our record
//    still says we hold it, and both hosts end passive for good);
//  - a stale holder back from a stall does not fence the holder of a higher epoch.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "validator/auth.h"
#include "validator/json.h"
#include "validator/messages.h"
#include "validator/peer_lease.h"

namespace em::validator {
namespace {

constexpr uint64_t MS = 1'000'000;
const std::vector<uint8_t> secret(32, 9);

/// Our host: clock, the guard core's side of the lease, the transport and the record store.
struct World final : GuardClock, LeaseHost, PeerLink, ReplySink, RecordStore {
    uint64_t mono = 5'000 * MS;
    std::vector<std::string> sent;  ///< paths of our requests, in order
    std::string last_body, last_token;
    bool request_open = false;
    std::vector<GuardRecord> writes;  ///< record writes asked for (completed by the test)
    int conflicts = 0, acquired = 0;
    PeerAuth peer_auth{secret, "host-b", "host-a", 5'000, 64};  ///< the other guard's side
    JsonParser parser{16 * 1024};

    uint64_t mono_ns() override { return mono; }
    int64_t wall_ns() override { return 1'700'000'000'000'000'000 + static_cast<int64_t>(mono); }
    uint64_t random_u64() override { return ++nonce; }
    void on_lease_acquired() override { acquired++; }
    void on_lease_refused(const Error&) override {}
    void on_holder_state(const SignState&) override {}
    void on_conflict(const Error&) override { conflicts++; }
    PeerStatus local_status() const override {
        PeerStatus s;
        s.role = Role::passive;
        s.fenced = true;
        s.healthy = true;
        s.eligible = true;
        return s;
    }
    void send(std::string_view path, std::string_view body, std::string_view token,
              uint64_t) override {
        sent.emplace_back(path);
        last_body = body;
        last_token = token;
        request_open = true;
    }
    void reply(uint64_t, int, std::string_view, std::string_view) override {}
    void write_record(const GuardRecord& r) override { writes.push_back(r); }

    /// Answers our open request as the other guard would, with `r` as the body.
    void answer(PeerLease& lease, const PeerReply& r) {
        ASSERT_TRUE(request_open);
        request_open = false;
        int64_t wall_ms = wall_ns() / 1'000'000;
        auto token = peer_auth.verify_request("POST", sent.back(), last_body, last_token, wall_ms);
        ASSERT_TRUE(token) << token.error().c_str();
        ByteBuffer body(16 * 1024, 1024);
        write_reply(r, body);
        char signed_token[PeerAuth::token_chars_max];
        size_t n = peer_auth.sign_response(200, sent.back(), body.view(), r.epoch, token->nonce,
                                           wall_ms, ++nonce, signed_token);
        lease.on_reply(200, body.view(), {signed_token, n}, nullptr);
    }
    uint64_t nonce = 100;
};

PeerLeaseConfig config() {
    PeerLeaseConfig c;
    c.self_name = "host-a";
    c.peer_name = "host-b";
    c.ttl_ms = 5'000;
    c.renew_interval_ms = 1'000;
    c.fence_margin_ms = 2'000;
    c.request_timeout_ms = 500;
    c.takeover_margin_ms = 1'000;
    c.replay_window_ms = 4'000;
    return c;
}

PeerReply reply(uint64_t epoch, HolderView holder, bool granted, bool peer_holding) {
    PeerReply r;
    r.ok = true;
    r.epoch = epoch;
    r.holder = holder;
    r.granted = granted;
    r.ttl_ms = granted ? 5'000 : 0;
    r.status.role = peer_holding ? Role::active : Role::passive;
    r.status.fenced = !peer_holding;
    r.status.holding = peer_holding;
    r.status.bounded = peer_holding;
    r.status.healthy = true;
    return r;
}

struct PeerLeaseTest : ::testing::Test {
    World w;
    PeerLease lease{config(), secret, w, w, w, w, w, GuardRecord{6, Holder::none}};

    /// Acquires epoch 7 through the other guard's grant and the durable record.
    void hold_epoch_7() {
        lease.acquire();
        ASSERT_EQ(w.sent.back(), "/v1/peer/acquire");
        w.answer(lease, reply(6, HolderView::you, true, false));
        ASSERT_EQ(w.writes.size(), 1u);
        EXPECT_EQ(w.writes[0], (GuardRecord{7, Holder::self}));
        lease.on_record_written(nullptr);
        ASSERT_EQ(w.acquired, 1);
        ASSERT_TRUE(lease.held());
        ASSERT_TRUE(lease.valid());
    }
};

TEST_F(PeerLeaseTest, ValidUntilIsTheLastRenewalPlusTtlMinusTheFenceMargin) {
    uint64_t sent_at = w.mono;
    hold_epoch_7();
    EXPECT_EQ(lease.valid_until_ns(), sent_at + (5'000 - 2'000) * MS);
    // The first beat went out at once; its grant was asked for at the same time: no change.
    ASSERT_EQ(w.sent.back(), "/v1/peer/beat");
    w.answer(lease, reply(7, HolderView::you, true, false));
    EXPECT_EQ(lease.valid_until_ns(), sent_at + 3'000 * MS);
    w.mono += 1'500 * MS;
    lease.tick();  // a renewal (beat), granted
    ASSERT_EQ(w.sent.back(), "/v1/peer/beat");
    uint64_t beat_at = w.mono;
    w.mono += 100 * MS;
    w.answer(lease, reply(7, HolderView::you, true, false));
    EXPECT_EQ(lease.problem(), "");
    EXPECT_EQ(lease.valid_until_ns(), beat_at + 3'000 * MS);
    w.mono = beat_at + 3'000 * MS;
    EXPECT_FALSE(lease.valid());
    EXPECT_EQ(lease.valid_until_ns(), 0u);
}

TEST_F(PeerLeaseTest, TheReleaseIsSentOnlyOnceTheRecordIsDurableAndTheWriteIsRetried) {
    hold_epoch_7();
    SignState final_state(Hrs{80, 0, 3});
    lease.release(&final_state);
    ASSERT_EQ(w.writes.size(), 2u);
    EXPECT_EQ(w.writes[1], (GuardRecord{7, Holder::none}));
    Error erofs = Error::sys(30, "write guard_state.json");
    lease.on_record_written(&erofs);  // the data directory went read-only
    // Not a word to the peer while the record still says we hold epoch 7, however long it takes.
    size_t completed = 2;
    for (int i = 0; i < 40; i++) {
        w.mono += 500 * MS;
        lease.tick();
        if (w.request_open) {
            ASSERT_NE(w.sent.back(), "/v1/peer/release") << "release sent before it was durable";
            w.answer(lease, reply(7, HolderView::none, false, false));
        }
        if (w.writes.size() > completed && i < 30) {
            ASSERT_EQ(w.writes.back(), (GuardRecord{7, Holder::none}));
            completed = w.writes.size();
            lease.on_record_written(&erofs);  // still read-only: retried again later
        }
    }
    size_t retries = w.writes.size() - 2;
    EXPECT_GE(retries, 5u) << "the record write was not retried";
    // The disk is writable again: the record, then the release.
    ASSERT_EQ(w.writes.back(), (GuardRecord{7, Holder::none}));
    lease.on_record_written(nullptr);
    for (int i = 0; i < 4 && (w.sent.empty() || w.sent.back() != "/v1/peer/release"); i++) {
        w.mono += 500 * MS;
        lease.tick();
        if (w.request_open && w.sent.back() != "/v1/peer/release") {
            w.answer(lease, reply(7, HolderView::none, false, false));
        }
    }
    ASSERT_EQ(w.sent.back(), "/v1/peer/release");
    EXPECT_EQ(lease.record(), (GuardRecord{7, Holder::none}));
}

TEST_F(PeerLeaseTest, AStaleHolderBackFromAStallDoesNotFenceTheHigherEpoch) {
    hold_epoch_7();
    w.mono += 1'500 * MS;
    lease.tick();
    ASSERT_EQ(w.sent.back(), "/v1/peer/beat");
    // The other guard resumed after a stall still believing it holds epoch 6.
    PeerReply stale = reply(6, HolderView::me, false, true);
    w.answer(lease, stale);
    EXPECT_EQ(w.conflicts, 0) << "the higher epoch fenced for a stale claim";
    EXPECT_TRUE(lease.held());
    // A claim on our own epoch is a real conflict.
    w.mono += 1'000 * MS;
    lease.tick();
    ASSERT_EQ(w.sent.back(), "/v1/peer/beat");
    w.answer(lease, reply(7, HolderView::me, false, true));
    EXPECT_EQ(w.conflicts, 1);
    EXPECT_FALSE(lease.held());
}

}  // namespace
}  // namespace em::validator
