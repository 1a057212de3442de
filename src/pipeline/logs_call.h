// LogsCall: an eth_getLogs whose block range is over [rpc] max_logs_block_range, run as pieces
// (issue 16 item 6). The gate resolves the range and says split (pipeline/gate.h, LogsSplit);
// the core cuts it into pieces of at most LogsSplit::blocks blocks, forwards each piece as a
// read of its own (a ForwardCall: any usable node whose head reaches the piece's end, retried
// on another node like any read) and delivers each piece's JSON-RPC answer here. Once every
// piece answered a result, the pieces' logs are merged (pipeline/logs_range.h: in block order,
// each log's bytes as its node sent them) and answered under the client's id. The first piece
// that fails (after its retries) or answers an error answers the whole call with an error
// naming its block range; never a partial array. Pieces still out are awaited and dropped.
//
// Pieces can answer while the core is still starting others (no node usable: at once), so the
// call is complete only after started(), as BatchCall.
//
// States: idle -> collecting -> answered (the client has its error; pieces or started() still
// due) -> done; collecting -> done when every piece answered a result and the merge was sent.
//
// Threads: the owning shard's thread. No I/O: pieces' answers in, one answer action out.
// Memory: one buffer per piece, reused (bounded by the split's piece limit and response size).
#pragma once

#include <string_view>
#include <vector>

#include "base/buffer.h"
#include "pipeline/actions.h"
#include "pipeline/fanout.h"
#include "pipeline/gate.h"
#include "pipeline/logs_range.h"

namespace em::pipeline {

class LogsCall {
  public:
    enum class State : uint8_t { idle, collecting, answered, done };

    LogsCall(CallEnv& env, size_t body_bytes_max);

    /// A split for the client's `id` (raw; empty: a notification) of eth_getLogs `params`.
    /// False when the params cannot be rewritten (the caller answers; the call stays idle).
    [[nodiscard]] bool start(std::string_view id, std::string_view params, const LogsSplit& split,
                             size_t method_slot);
    size_t pieces() const { return ranges_.size(); }
    rpc::BlockRange range(size_t k) const { return ranges_[k]; }
    /// Piece k's JSON-RPC request (id k + 1); valid until the next call.
    std::string_view piece_request(size_t k);
    /// Piece k's id as sent (and as the ForwardCall answers under); valid until the next call.
    std::string_view piece_id(size_t k);
    /// Piece k's JSON-RPC response (a result, or an error object).
    void set(size_t k, std::string_view response, Actions& out);
    /// Every piece has been started.
    void started(Actions& out);

    State state() const { return state_; }
    bool done() const { return state_ == State::done; }
    /// Between calls: buffers grown past call_buffer_keep_bytes go back to a small size.
    void release_grown_buffers();

  private:
    /// The client's answer: an error (`message`), and no other answer after it.
    void answer_error(int code, std::string_view message, Actions& out);
    /// Piece k failed (`why`): the client's answer names its range.
    void fail(size_t k, int code, std::string_view why, Actions& out);
    /// Every piece in and every piece started: the merge answers (or done after an error).
    void complete(Actions& out);

    CallEnv& env_;
    State state_ = State::idle;
    std::vector<rpc::BlockRange> ranges_;
    std::vector<ByteBuffer> answers_;        ///< each piece's response, parsed in place
    std::vector<std::string_view> results_;  ///< views of answers_: each piece's result
    std::vector<rpc::LogsPiece> merging_;    ///< the pieces handed to merge_logs
    ByteBuffer id_{4096, 64};
    ByteBuffer rest_;     ///< the filter's other members (logs_filter_rest)
    ByteBuffer request_;  ///< a piece's request being built
    ByteBuffer merged_;
    ByteBuffer answer_;
    char piece_id_[24] = {};
    size_t missing_ = 0;
    bool all_started_ = false;
    size_t method_slot_ = 0;
};

}  // namespace em::pipeline
