// BuilderCall: the builder role's engine calls (issue 15), one request from op-node each. The
// local EL (BuilderSettings::local) answers every call and its answer is never held for a
// builder's; the flows are engine::builder_flow's:
//  - boost_sync (newPayload, fcU without attributes or with noTxPool): the request to the local
//    EL and a copy to every builder that is not dead, each in order on its lane; op-node gets the
//    local answer as soon as it comes, the copies' answers are only counted.
//  - fork (fcU with attributes): the same sends, but not to a builder its circuit breaker benched
//    (BuilderShared::admit_fork); the local answer goes back at once, and its
//    payloadId is adopted in the PayloadIdMap with the builders' own ids (engine::PayloadIdMap::
//    adopt), a builder answering after the local EL attached to it then (attach). The
//    attributes' parentBeaconBlockRoot and noTxPool are kept in the BuilderBook for getPayload.
//  - get_payload: the request to the local EL, and to every builder mapped to its id the same
//    call with that builder's id, under one deadline (get_payload_deadline_ms); a benched
//    builder is not asked and counts as breaker_open. A builder's
//    block is turned into the newPayload that imports it (engine/builder_payload.h), its block
//    hash rebuilt (eth/verify.h), and that newPayload sent to the local EL (in order, same
//    deadline): VALID makes it a candidate. Once the local EL and every builder are settled,
//    engine::select_block picks; anything invalid, late, mismatched or missing means the local
//    block. Every send's deadline is at most the call's, so the answer never waits past it (the
//    local EL's own getPayload excepted: without it there is no block to answer).
// A builder's bad or late block counts against its breaker; a failed call does not mark it dead
// (only the local EL's do: the probes judge builders). The execution mode is the one the call
// started with (Start::mode): a switch applies from the next call.
// The call stays in its pool until every send is replied to (state `answered` while copies are
// still out), so a late reply never reaches a call slot that serves another request.
//
// Sends carry a sub-tag (Action::sub) given back with the reply: the node's slot for its first
// call, validate_base + slot for the local newPayload of that builder's block.
//
// States: idle -> waiting -> answered (op-node has its answer; copies still out) -> done.
//
// Threads: the owning shard's thread. No I/O: events in, actions out (pipeline/actions.h).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "base/buffer.h"
#include "engine/builder_select.h"
#include "engine/json_kernel.h"
#include "engine/payload_id_map.h"
#include "pipeline/builder_shared.h"
#include "pipeline/fanout.h"

namespace em::pipeline {

/// The builder role's settings the calls read (through Policy::builder()).
struct BuilderSettings {
    size_t local = 0;  ///< the local EL's node slot; every other present slot is a builder
    uint32_t get_payload_deadline_ms = 500;
    engine::BlockSelection selection = engine::BlockSelection::gas_used;
    /// The mode, breakers and answer times every shard shares (not null; outlives the calls).
    BuilderShared* shared = nullptr;
};

/// What a forkchoiceUpdated's attributes say that getPayload needs later.
struct ForkAttributes {
    bool present = false;     ///< params[1] is an object (not null or absent)
    bool no_tx_pool = false;  ///< OP Stack's noTxPool: true
    /// parentBeaconBlockRoot as written (0x + 64 hex digits), "" when absent.
    std::string_view beacon_root;
    /// The fork's headBlockHash (params[0]) and the attributes' timestamp, when well-formed:
    /// a builder's block must be the child of that head at that time.
    bool has_head = false;
    engine::Hash32 head{};
    bool has_timestamp = false;
    uint64_t timestamp = 0;
};

/// Reads params[1] of a forkchoiceUpdated ([state, attributes|null, ...]). Malformed params
/// read as no attributes: the local EL judges them and answers op-node.
void read_fork_attributes(engine::RequestKernel& requests, size_t entry, ForkAttributes& out);

/// The attributes of the last forks, by the local EL's payloadId: bounded (the oldest entry is
/// replaced), allocated at construction.
class BuilderBook {
  public:
    struct Entry {
        engine::PayloadId id;
        bool used = false;
        bool no_tx_pool = false;
        uint8_t root_bytes = 0;
        char root[66] = {};
        bool has_head = false;
        engine::Hash32 head{};
        bool has_timestamp = false;
        uint64_t timestamp = 0;
        std::string_view beacon_root() const { return {root, root_bytes}; }
    };
    explicit BuilderBook(size_t capacity) : entries_(capacity ? capacity : 1) {}
    /// Keeps (or refreshes) the entry for `id`.
    void remember(const engine::PayloadId& id, const ForkAttributes& attributes);
    /// The entry for `id`, or null.
    const Entry* find(const engine::PayloadId& id) const;

  private:
    std::vector<Entry> entries_;
    size_t next_ = 0;
};

class BuilderCall {
  public:
    enum class State : uint8_t { idle, waiting, answered, done };
    /// Sub-tags at or above this are the local newPayload of builder (sub - validate_base)'s block.
    static constexpr uint8_t validate_base = nodes_max;

    /// One request as the core read it.
    struct Start {
        const engine::MethodInfo* method = nullptr;
        std::string_view id;    ///< the client's raw id
        std::string_view body;  ///< the whole request, sent to the local EL as it came
        engine::BuilderFlow flow = engine::BuilderFlow::boost_sync;
        ForkAttributes attributes;     ///< forkchoiceUpdated
        engine::PayloadId payload_id;  ///< getPayload: the local EL's id op-node asks for
        /// The execution mode when the call came (BuilderShared::mode(), read once).
        engine::ExecutionMode mode = engine::ExecutionMode::enabled;
    };

    BuilderCall(CallEnv& env, size_t body_bytes_max);

    void start(const Start& s, uint64_t received_ns, uint64_t now_ns, Actions& out);
    /// The reply to the send tagged `sub`.
    void on_reply(const NodeReply& reply, uint8_t sub, uint64_t now_ns, Actions& out);

    State state() const { return state_; }
    bool done() const { return state_ == State::done; }
    void release_grown_buffers();

  private:
    /// One node's part in the call.
    struct Leg {
        bool in_call = false;
        bool out = false;         ///< its first call is on the wire
        bool validating = false;  ///< get_payload: its block's newPayload is on the local EL
        bool settled = false;     ///< get_payload: its block is a candidate or failed
        bool rpc_error = false;   ///< it answered with a JSON-RPC error object
        bool has_payload_id = false;
        engine::PayloadId payload_id;
        engine::BuiltBlock block;
        ByteBuffer body{64u << 20, 256};         ///< its own request (getPayload with its id)
        ByteBuffer answer{64u << 20, 256};       ///< its whole JSON-RPC response
        ByteBuffer new_payload{64u << 20, 256};  ///< the newPayload importing its block
        std::string_view result;                 ///< view of answer
        char failure[Error::message_bytes_max + 48] = {};
    };

    void send(size_t node, std::string_view body, bool ordered, uint64_t deadline_ns, uint8_t sub,
              Actions& out);
    /// The metrics slot of the send tagged `sub` (a validation counts as its newPayload).
    size_t method_slot(uint8_t sub) const;
    void start_get_payload(const Start& s, uint64_t now_ns, Actions& out);
    /// Reads a reply into the leg: false (leg.failure says why, `late` set for a timeout) when
    /// it is no usable result.
    bool take_answer(Leg& leg, const NodeReply& reply, size_t method_slot, bool* late);
    void on_local(const NodeReply& reply, uint64_t now_ns, Actions& out);
    /// get_payload: whether the leg's block (the verifier's last payload) is the child of the
    /// fork's head at the attributes' timestamp; false sets leg.failure.
    bool child_of_the_fork(Leg& leg);
    void on_copy(const NodeReply& reply, uint64_t now_ns);
    void on_built(size_t node, const NodeReply& reply, uint64_t now_ns, Actions& out);
    void on_validated(size_t node, const NodeReply& reply, uint64_t now_ns);
    /// The builder's block fails for `reason` (counted per builder; a bad or late block counts
    /// against its circuit breaker).
    void reject(size_t node, engine::Fallback reason, uint64_t now_ns);
    /// Sends the fork to builder i unless its breaker benched it.
    void fork_to(size_t i, const NodeView& n, uint64_t now_ns, Actions& out);
    /// get_payload: benched builder i would have been asked: its leg fails as breaker_open.
    void bench_leg(size_t i, uint64_t now_ns);
    /// get_payload: once the local EL and every builder are settled, picks and answers.
    void maybe_select(uint64_t now_ns, Actions& out);
    void answer_local(uint64_t now_ns, Actions& out);
    void settle();

    CallEnv& env_;
    State state_ = State::idle;
    const engine::MethodInfo* method_ = nullptr;
    engine::BuilderFlow flow_ = engine::BuilderFlow::boost_sync;
    engine::ExecutionMode mode_ = engine::ExecutionMode::enabled;
    ForkAttributes attributes_;
    char root_[66] = {};
    ByteBuffer id_{4096, 64};
    ByteBuffer body_;
    ByteBuffer answer_{64u << 20, 1024};
    std::array<Leg, nodes_max> legs_;
    uint32_t on_wire_ = 0;  ///< sends not yet replied to
    bool local_in_ = false;
    bool local_ok_ = false;
    bool no_tx_pool_ = false;
    /// get_payload: what the fork said its block must be (BuilderBook), checked in on_built.
    bool fork_has_head_ = false, fork_has_timestamp_ = false;
    engine::Hash32 fork_head_{};
    uint64_t fork_timestamp_ = 0;
    bool has_local_id_ = false;
    engine::PayloadId local_id_;
    engine::BuiltBlock local_block_;
    uint64_t deadline_ns_ = 0;
    uint64_t received_ns_ = 0;
};

}  // namespace em::pipeline
