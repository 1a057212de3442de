// VoteCall: engine_newPayload* and engine_forkchoiceUpdated*: sent to every node that takes part
// (through its engine lane, so each node sees the CL's order), the voters' answers put to the
// vote (engine/vote.h), the CL answered as soon as the vote can no longer change; the remaining
// answers are still collected, for the tally and the disagreement log. A newPayload whose block
// hash is checked (decoded before the sends, hashed while the nodes work) is not decided before
// the verdict; a mismatch answers INVALID (INVALID_BLOCK_HASH for V1) at once.
//
// States: idle -> collecting -> answered -> done (collecting -> done when the last answer is
// the deciding one). Hash check, beside: not_checked | pending -> match | mismatch.
//
// Threads: the owning shard's thread. No I/O: events in, actions out (pipeline/actions.h).
#pragma once

#include "eth/verify.h"
#include "pipeline/fanout.h"

namespace em::pipeline {

class VoteCall {
  public:
    enum class State : uint8_t {
        idle,
        collecting,  ///< calls on the wire, the CL not answered yet
        answered,    ///< the CL has its answer; later answers are tallied, not sent
        done,        ///< every call is in: the call may be released
    };
    enum class HashCheck : uint8_t { not_checked, pending, match, mismatch };

    VoteCall(CallEnv& env, size_t body_bytes_max);

    /// Sends `body` (a request object for `method`, answering to `id`) to every node that takes
    /// part. `check_hash`: a verdict follows through on_hash() before anything is decided.
    void start(const engine::MethodInfo& method, std::string_view id, std::string_view body,
               bool check_hash, uint64_t received_ns, uint64_t now_ns, Actions& out);
    /// The block-hash verdict (decode errors are -32602; a mismatch is INVALID at once).
    void on_hash(const Result<eth::Verdict>& verdict, uint64_t now_ns, Actions& out);
    void on_reply(const NodeReply& reply, uint64_t now_ns, Actions& out);

    State state() const { return state_; }
    HashCheck hash_check() const { return hash_; }
    bool done() const { return state_ == State::done; }
    /// What the client was told once answered: an engine::Status value, or
    /// VoteRecord::told_error for a JSON-RPC error (the sync role reuses final answers).
    uint8_t told() const { return told_; }
    /// The vote over every answer, once done (for tests and the simulator's checks).
    const engine::VoteResult& final_vote() const { return final_vote_; }
    const FanOut& fan_out() const { return fan_; }
    /// Between calls: buffers grown past call_buffer_keep_bytes go back to a small size.
    void release_grown_buffers() {
        fan_.release_grown_buffers();
        result_.release_if_grown(call_buffer_keep_bytes, 1024);
    }

  private:
    engine::VoteMethod vote_method() const;
    /// The votes so far (pending slots of nodes dead at the start count as not answered).
    size_t collect(engine::VoteSlot* votes, bool* any_rpc_error, int* first_error_slot) const;
    void decide(uint64_t now_ns, Actions& out);
    void answer_vote(const engine::VoteResult& result, bool any_rpc_error, int error_slot,
                     uint64_t now_ns, Actions& out);
    void mint_payload_id(const engine::VoteResult& result, engine::PayloadId& minted,
                         const engine::PayloadId*& payload_id, uint64_t now_ns);
    void tally(uint64_t now_ns, Actions& out);
    void record(uint64_t now_ns);
    /// Counts, per node, a voter whose answer differs from the plurality of the answers.
    void count_disagreeing_nodes(const engine::VoteResult& result);
    void log_disagreement(const engine::VoteResult& result, Actions& out);
    void answer_result(std::string_view result_json, uint64_t now_ns, Actions& out);
    void answer_raw(std::string_view response_json, uint64_t now_ns, Actions& out);
    void answer_error(int code, std::string_view message, uint64_t now_ns, Actions& out);

    CallEnv& env_;
    FanOut fan_;
    const engine::MethodInfo* method_ = nullptr;
    State state_ = State::idle;
    HashCheck hash_ = HashCheck::not_checked;
    engine::Hash32 claimed_hash_{};
    engine::Hash32 computed_hash_{};
    uint64_t received_ns_ = 0;
    engine::VoteResult final_vote_{};
    uint8_t told_ = 0;    ///< what the CL was told (VoteRecord::told)
    uint8_t reason_ = 0;  ///< why (VoteRecord::reason)
    bool early_ = false;
    ByteBuffer result_;     ///< the result member we build
    char line_[1024] = {};  ///< the disagreement log line
};

}  // namespace em::pipeline
