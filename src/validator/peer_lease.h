// PeerLease: the `peer` lease back-end for two hosts. Each guard is both a client (it sends its
// heartbeats, acquire/release requests and, as holder, its sign states) and a grantor (it
// answers the other's requests). Sans-IO: the transport (PeerLink, ReplySink), the durable record
// (RecordStore) and the clocks are interfaces, so the daemon runs it over HTTP on io_uring and
// the scenario simulator over a simulated network with simulated time.
//
// Protocol (epoch e only grows; every grant and every hold is written to the durable record
// before it is used):
//  - A passive host that should become active sends acquire(e+1). The other grants only if it
//    does not hold the lease, is not acquiring itself, and its own validator is confirmed
//    stopped; it then promises not to take the lease until reply time + ttl + takeover margin.
//  - The holder's heartbeats are renewals. A bounded holder's request commits it to fence at
//    (send time of the last granted request) + ttl - fence margin unless renewed, so the grantor
//    may count on that once it has seen the holder say "bounded".
//  - Handover: the holder stops its validator, confirms it gone, persists that it holds
//    nothing (retried until the write succeeds: a record that still says "self" would make the
//    peer see two holders), and only then sends release(e, final state). The receiver may then take
//    e+1 on its own (the releaser will not start again without a grant), also when the releaser is
//    gone (a graceful shutdown); that lease is unbounded until the other grants it.
//  - Silence: if the holder was bounded and nothing authentic came from it for ttl + margin
//    after the last grant, the grantor takes e+1 without it (option takeover_on_silence). Such
//    a lease is unbounded until the other host is back and grants it. A host that has not
//    granted a bounded lease never takes over on silence: when in doubt, nobody signs.
//  - Any sign that both may run (the other claims to hold our epoch while we hold it) fences
//    us at once. A claim for an older epoch is a stale holder back from a stall: the higher
//    epoch wins and the stale one learns of it from our messages.
//
// Threads: the guard's loop thread only. Memory: fixed-size state; buffers allocated at
// construction.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "base/buffer.h"
#include "validator/auth.h"
#include "validator/lease.h"
#include "validator/messages.h"

namespace em::validator {

/// Sends our requests to the other guard (HTTP client in the daemon, simulated network in the
/// tests). Exactly one PeerLease::on_reply() follows each send(), later, never from inside it.
class PeerLink {
  public:
    virtual ~PeerLink() = default;
    virtual void send(std::string_view path, std::string_view body, std::string_view token,
                      uint64_t deadline_ns) = 0;
};

/// Where PeerLease answers the other guard's requests (identified by the id given with them).
class ReplySink {
  public:
    virtual ~ReplySink() = default;
    virtual void reply(uint64_t id, int status, std::string_view body, std::string_view token) = 0;
};

/// Durable record writes; each completes with PeerLease::on_record_written(), later.
class RecordStore {
  public:
    virtual ~RecordStore() = default;
    virtual void write_record(const GuardRecord& record) = 0;
};

struct PeerLeaseConfig : LeaseTimings {
    std::string self_name;
    std::string peer_name;
    uint32_t takeover_margin_ms = 2'000;  ///< extra wait after expiry (clock drift, in-flight)
    bool takeover_on_silence = true;
    uint32_t replay_window_ms = 30'000;
    uint32_t replay_nonces_max = 4096;
    uint32_t body_bytes_max = 16 * 1024;  ///< limit of a message body
};

class PeerLease final : public Lease {
  public:
    /// `secret`: the shared key. `record`: what the durable record said at start-up.
    PeerLease(const PeerLeaseConfig& config, std::span<const uint8_t> secret, GuardClock& clock,
              LeaseHost& host, PeerLink& link, ReplySink& sink, RecordStore& store,
              const GuardRecord& record);

    // Lease
    void tick() override;
    bool may_acquire() override;
    void acquire() override;
    void force_acquire() override;
    bool valid() override;
    uint64_t valid_until_ns() override;
    bool held() const override { return holding_; }
    uint64_t epoch() const override { return epoch_; }
    void release(const SignState* final_state) override;
    void publish_state(const SignState& state) override;
    const SignState* holder_state() const override {
        return has_holder_state_ ? &holder_state_ : nullptr;
    }
    bool successor_ready() override;
    bool handover_requested() override;
    void write_status(JsonWriter& w) override;
    std::string_view problem() const override { return {problem_, problem_chars_}; }

    /// A request from the other guard (already read whole). The answer goes to sink.reply(id)
    /// now or later (after a record write).
    void on_request(std::string_view path, std::string_view body, std::string_view token,
                    uint64_t id);
    /// The answer to our last send() (status/body/token), or error when there was none.
    void on_reply(int status, std::string_view body, std::string_view token, const Error* error);
    /// Completion of RecordStore::write_record.
    void on_record_written(const Error* error);

    /// Counters for metrics.
    struct Stats {
        uint64_t sent = 0, send_errors = 0, received = 0, auth_failures = 0, skew_rejects = 0;
        uint64_t grants = 0, refusals = 0, takeovers_on_silence = 0, conflicts = 0;
    };
    const Stats& stats() const { return stats_; }
    /// True while the other guard was heard (authentic, in window) within the lease ttl.
    bool peer_fresh();
    const PeerStatus& peer_status() const { return peer_status_; }
    const GuardRecord& record() const { return record_; }

  private:
    enum class Out : uint8_t { none, beat, acquire, release, state };
    /// What to do once the record write in flight is durable.
    enum class After : uint8_t { none, grant, ack, acquired, taken, released };
    /// An incoming request waiting for its answer.
    struct Req {
        uint64_t id = 0;
        uint64_t nonce = 0;
        MessageType type = MessageType::beat;
        bool bounded = false;  ///< beat/acquire: the requester commits to a bounded lease
    };

    uint64_t now() { return clock_.mono_ns(); }
    int64_t wall_ms() { return clock_.wall_ns() / 1'000'000; }
    void set_problem(const char* format, ...) __attribute__((format(printf, 2, 3)));
    void pump();
    void send(Out kind, MessageType type, uint64_t epoch, const SignState* state);
    void persist(const GuardRecord& record, After after, const Req* req);
    void answer(const Req& req, const PeerReply& reply);
    void refuse(const Req& req, const char* reason);
    void grant(const Req& req);
    PeerReply base_reply();
    void handle_beat(const PeerMessage& m, const Req& req);
    void handle_acquire(const PeerMessage& m, const Req& req);
    void handle_release(const PeerMessage& m, const Req& req);
    void handle_state(const PeerMessage& m, const Req& req);
    void on_beat_reply(const PeerReply& r);
    void on_acquire_reply(const PeerReply* r, const Error* error);
    void note_peer(const PeerStatus& status, uint64_t epoch);
    void keep_holder_state(const SignState& state);
    void lose_lease(const char* why);
    /// lose_lease() in two steps, so that a fence can come between the act and the log.
    bool drop_lease(const char* why);
    void log_lost(const char* why) const;
    bool silence_takeover_allowed();
    bool released_to_us() const;
    /// The record no longer says we hold release_epoch_ (so the release may be sent).
    bool release_durable() const;
    bool can_persist();
    bool locally_fenced() const;

    PeerLeaseConfig config_;
    PeerAuth auth_;
    GuardClock& clock_;
    LeaseHost& host_;
    PeerLink& link_;
    ReplySink& sink_;
    RecordStore& store_;
    JsonParser parser_;
    ByteBuffer body_;
    ByteBuffer reply_body_;

    // Durable record and what we act on.
    GuardRecord record_;
    uint64_t epoch_ = 0;  ///< highest epoch known (record_.epoch or learned from the peer)
    bool persisting_ = false;
    uint64_t persist_retry_ns_ = 0;  ///< after a failed record write, retry no earlier
    GuardRecord persist_target_;
    After after_ = After::none;
    Req after_req_;

    // As holder.
    bool holding_ = false;
    bool bounded_ = false;
    uint64_t expiry_ns_ = 0;
    uint64_t release_epoch_ = 0;  ///< an epoch we must still tell the peer we released (0 none)
    bool release_has_state_ = false;
    SignState release_state_;
    uint64_t release_deadline_ns_ = 0;
    uint64_t release_retry_ns_ = 0;
    bool state_wanted_ = false;
    SignState state_out_;

    // As grantor.
    uint64_t takeover_after_ns_ = 0;
    bool takeover_armed_ = false;
    uint64_t released_epoch_ = 0;  ///< the holder released this epoch to us (its validator stopped)

    // The other guard as last heard.
    bool peer_known_ = false;
    PeerStatus peer_status_;
    uint64_t peer_epoch_ = 0;
    uint64_t peer_heard_ns_ = 0;  ///< authentic and in window
    uint64_t peer_mac_ns_ = 0;    ///< authentic at all (even if refused for time or replay)
    uint64_t peer_ineligible_since_ns_ = 0;  ///< 0 while the peer reports itself eligible
    bool has_holder_state_ = false;
    SignState holder_state_;

    // Our outgoing request.
    Out in_flight_ = Out::none;
    uint64_t in_flight_nonce_ = 0;
    uint64_t in_flight_sent_ns_ = 0;
    uint64_t in_flight_epoch_ = 0;
    const char* in_flight_path_ = "";
    uint64_t next_beat_ns_ = 0;
    bool acquire_wanted_ = false;
    bool takeover_wanted_ = false;  ///< take a new epoch without the peer (silence or force)
    bool acquiring_ = false;        ///< between acquire() and the host's callback

    Stats stats_;
    uint8_t problem_chars_ = 0;
    char problem_[120] = {};
};

}  // namespace em::validator
