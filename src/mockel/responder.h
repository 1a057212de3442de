// Responder: turns one complete HTTP request to enginemux-mock-el into its HTTP response (written
// into the caller's buffer) and a Plan telling the connection when and how to deliver it
// (delay, hang, close, reset). Sans-IO, so it is unit-tested and benchmarked without sockets.
//
// Routes: POST (any target outside /mock/) = JSON-RPC, single or batch, JWT-checked when
// configured; /mock/rules, /mock/reset, /mock/log, /mock/stats = runtime control (no JWT).
//
// Threads: one Responder per loop thread (it owns a JSON-RPC parser, a JWT verifier and, with
// --verify-block-hash, a block-hash verifier); it shares Shared with the other threads. Memory:
// its buffers and parsers are reused, so answering the default eth_* and engine_* calls
// allocates nothing in steady state (the /mock endpoints may allocate: control path).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "base/buffer.h"
#include "http/jwt.h"
#include "http/message.h"
#include "jsonrpc/request.h"
#include "mockel/methods.h"
#include "mockel/rules.h"
#include "mockel/shared_state.h"

namespace em::eth {
class BlockHashVerifier;
}

namespace em::mockel {

/// How the connection delivers the response the Responder wrote.
struct Plan {
    uint32_t delay_ms = 0;                  ///< wait this long first (then apply transport)
    Transport transport = Transport::none;  ///< hang / close / reset: the response is not sent
    uint16_t http_status = 0;               ///< http= rule (already in the response head)
    uint64_t huge_bytes = 0;                ///< huge= rule (already applied)
};

/// Capacity of the request body buffer a caller must offer: body bytes plus simdjson padding.
inline constexpr size_t body_padding_bytes = 64;

class Responder {
  public:
    /// thread_index selects this thread's counters in shared.
    Responder(Shared& shared, size_t thread_index);
    ~Responder();
    Responder(const Responder&) = delete;
    Responder& operator=(const Responder&) = delete;

    /// Answers `request` into `out` (cleared first): a whole HTTP/1.1 response, unless the
    /// plan's transport is hang, close or reset (then `out` stays empty). body_readable_bytes:
    /// bytes readable from request.body.data(), at least body.size() + body_padding_bytes.
    /// request_ns: arrival on the monotonic clock (for the call log).
    Plan handle(const http::Request& request, size_t body_readable_bytes, uint64_t request_ns,
                ByteBuffer& out);

  private:
    /// The JSON-RPC call being answered.
    struct Call {
        size_t index = 0;                    ///< entry index (for rewind_to_params)
        const MethodInfo* method = nullptr;  ///< nullptr: unknown
        std::string_view id;                 ///< the id to answer with ("null" if none)
        bool ruled = false;                  ///< action_ holds the rule that applies
        bool logged = false;                 ///< an engine_* call: log_entry_ is filled in
    };
    void handle_mock(const http::Request& request, ByteBuffer& out);
    void handle_rpc(const http::Request& request, size_t readable, uint64_t request_ns,
                    ByteBuffer& out, Plan& plan);
    void write_http(ByteBuffer& out, const Plan& plan, bool keep_alive);
    void answer_entry(size_t index, const jsonrpc::Entry& entry, uint64_t request_ns, Plan& plan);
    void dispatch(Call& call);
    void write_simple_result(Kind kind, bool syncing);
    void answer_new_payload(Call& call);
    void answer_forkchoice(Call& call);
    void answer_get_payload(Call& call);
    /// Appends a getPayload answer's executionPayload (its blockHash spoiled by a bad_hash rule).
    void append_payload(const Call& call, std::string_view payload);
    void answer_list(Call& call);
    void answer_block_by_number(Call& call);
    /// eth_getLogs: the mock chain's logs of fromBlock..toBlock (see options.cpp's help).
    void answer_logs(Call& call);
    void answer_transition_configuration(Call& call);
    void write_payload_status(Call& call, Status status, const uint8_t* lvh,
                              std::string_view validation_error);
    void begin_result(const Call& call);
    void end_result() { body_.push_back('}'); }
    void write_call_error(Call& call, int code, std::string_view message);

    Shared& shared_;
    const MockConfig& config_;
    ThreadStats& stats_;
    jsonrpc::RequestParser parser_;
    std::unique_ptr<http::JwtVerifier> jwt_;
    std::unique_ptr<eth::BlockHashVerifier> verifier_;
    ByteBuffer body_;     // the JSON-RPC answer being built
    Action action_;       // the rule action of the current call (when Call::ruled)
    LogEntry log_entry_;  // the log record of the current call
};

}  // namespace em::mockel
