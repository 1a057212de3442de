// EtcdLease: the `etcd` lease back-end (three or more hosts, or two hosts and an etcd witness),
// through etcd's v3 JSON gateway (POST /v3/lease/grant|keepalive|revoke, /v3/kv/txn|range|put).
// Sans-IO: requests go out through an EtcdLink (HTTP client in the daemon, a simulated etcd in
// the scenario runner).
//
// Keys under the configured prefix P (keys and values are base64 on the wire):
//   P/leader        {"name":"host-a"}, attached to the holder's etcd lease; its create_revision
//                   is the epoch (etcd revisions only grow).
//   P/state         {"epoch":"17","state":{...}}: the holder's latest sign state, written only
//                   by a transaction that checks P/leader's create_revision == epoch.
//   P/hosts/<name>  {"name":..,"status":{...}} under each host's own short lease: who is
//                   alive, healthy, preferred, promoted.
// Acquire: grant a lease, then a transaction "create P/leader if absent" (so exactly one host
// wins), then read P/state for the high watermark. Renew: keepalive; the holder's local expiry
// is (send time of the last answered keepalive) + TTL, which is never later than etcd's, and it
// fences at expiry - fence margin. Release (after fencing): put the final state, revoke.
//
// Threads: the guard's loop thread only. Memory: buffers allocated at construction.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/buffer.h"
#include "validator/lease.h"
#include "validator/messages.h"

namespace em::validator {

/// Posts one JSON request to the etcd gateway; exactly one EtcdLease::on_response() follows,
/// later, never from inside post().
class EtcdLink {
  public:
    virtual ~EtcdLink() = default;
    virtual void post(std::string_view path, std::string_view body, uint64_t deadline_ns) = 0;
};

struct EtcdLeaseConfig : LeaseTimings {
    std::string self_name;
    std::string prefix = "/enginemux/validator";  ///< keys live under prefix + "/"
    uint32_t body_bytes_max = 64 * 1024;          ///< etcd answers (a range over all host keys)
    uint32_t hosts_max = 16;                      ///< host status keys kept from a poll
};

class EtcdLease final : public Lease {
  public:
    EtcdLease(const EtcdLeaseConfig& config, GuardClock& clock, LeaseHost& host, EtcdLink& link);

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

    /// The answer to the last post(): HTTP status and body, or error when there was none.
    void on_response(int status, std::string_view body, const Error* error);

    struct Stats {
        uint64_t requests = 0, errors = 0, acquired = 0, lost = 0, conflicts = 0;
    };
    const Stats& stats() const { return stats_; }

  private:
    enum class Op : uint8_t {
        none,
        force_delete,
        grant,
        create,
        read_state,
        renew,
        release_put,
        revoke,
        publish,
        status_grant,
        status_keepalive,
        status_put,
        poll,
        revoke_orphan
    };
    struct HostInfo {
        std::string name;
        PeerStatus status;
    };

    uint64_t now() { return clock_.mono_ns(); }
    void set_problem(const char* format, ...) __attribute__((format(printf, 2, 3)));
    void pump();
    void post(Op op);
    void write_key(JsonWriter& w, std::string_view suffix);
    void write_value(JsonWriter& w, std::string_view json);
    void build(Op op);
    void write_compare_leader(JsonWriter& w, uint64_t create_revision);
    void build_create(JsonWriter& w);
    void build_state_put(JsonWriter& w, const SignState& state);
    void build_status_put(JsonWriter& w);
    void build_poll(JsonWriter& w);
    Result<void> handle(Op op, JsonObject root);
    Result<void> handle_grant(Op op, JsonObject root);
    Result<void> handle_create(JsonObject root);
    Result<void> handle_keepalive(Op op, JsonObject root);
    Result<void> handle_poll(JsonObject root, bool full);
    void apply_kv(std::string_view key, std::string_view value_b64, uint64_t create_revision);
    void acquire_failed(const Error& e);
    void lose_lease(const char* why, bool conflict);
    const HostInfo* best_candidate() const;

    EtcdLeaseConfig config_;
    GuardClock& clock_;
    LeaseHost& host_;
    EtcdLink& link_;
    JsonParser parser_;
    JsonParser value_parser_;
    ByteBuffer body_;
    ByteBuffer scratch_;
    ByteBuffer value_;
    ByteBuffer doc_;  ///< a value document (leader, state, host status) before base64
    uint32_t ttl_s_;

    Op in_flight_ = Op::none;
    Op next_op_ = Op::none;  ///< set by handle(): the next step of a multi-request operation
    uint64_t sent_ns_ = 0;

    // Holder.
    bool holding_ = false;
    bool acquiring_ = false;
    bool acquire_start_ = false;
    bool forcing_ = false;
    uint64_t epoch_ = 0;
    int64_t lease_id_ = 0;  ///< leader lease (while acquiring/holding/releasing)
    uint64_t grant_sent_ns_ = 0;
    uint64_t expiry_ns_ = 0;
    uint64_t next_renew_ns_ = 0;
    bool release_wanted_ = false;
    bool release_has_state_ = false;
    SignState release_state_;
    bool state_wanted_ = false;
    SignState state_out_;
    int64_t orphan_lease_id_ = 0;  ///< a lease to revoke (failed acquire)

    // Our status key.
    int64_t status_lease_id_ = 0;
    uint64_t next_status_ns_ = 0;

    // Cluster view from the last poll.
    uint64_t next_poll_ns_ = 0;
    uint64_t polled_ns_ = 0;
    uint64_t first_poll_ns_ = 0;
    bool leader_present_ = false;
    std::string leader_name_;
    uint64_t leader_epoch_ = 0;
    uint64_t leader_absent_since_ns_ = 0;
    std::vector<HostInfo> hosts_;
    bool has_holder_state_ = false;
    SignState holder_state_;
    uint64_t holder_state_epoch_ = 0;

    Stats stats_;
    uint8_t problem_chars_ = 0;
    char problem_[120] = {};
};

}  // namespace em::validator
