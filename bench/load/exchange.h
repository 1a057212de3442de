// The per-request data path of enginemux-load, without I/O: RequestWriter builds one HTTP/1.1
// request (pre-built kind bodies, ids patched into their slots, a cached or fresh JWT) into a
// reusable buffer, and Classifier turns the answer (or the transport error) into an Outcome.
//
// One RequestWriter and one Classifier per worker thread; they allocate only at construction, so
// the steady state allocates nothing (bench_load proves it). The Mix they read is shared and
// immutable.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/buffer.h"
#include "base/result.h"
#include "http/jwt.h"
#include "http/message.h"
#include "jsonrpc/response.h"
#include "mix.h"
#include "stats.h"

namespace em::load {

class RequestWriter {
  public:
    /// host_header: "127.0.0.1:8545"; path: the request target ("/"). secret: sign each request
    /// (token reused for jwt_cache_s seconds; 0 = fresh per request), nullptr = no JWT.
    RequestWriter(const Mix& mix, std::string_view host_header, std::string_view path,
                  const http::JwtSecret* secret, int64_t jwt_cache_s, uint32_t batch,
                  uint64_t seed);

    /// Appends a whole POST request carrying `batch` calls (a JSON array when batch > 1) with ids
    /// first_id, first_id+1, ...; kinds are picked by weight. now_s: wall clock for the JWT.
    /// count_kinds: add the calls to kind_calls(). False if `out` refused to grow (bytes_max).
    bool write(ByteBuffer& out, uint64_t first_id, int64_t now_s, bool count_kinds);
    /// Calls written per kind (index as in Mix::kinds()) while count_kinds was true.
    const std::vector<uint64_t>& kind_calls() const { return kind_calls_; }
    /// The kinds of the calls of the last request written (batch() of them, in order).
    std::span<const uint32_t> last_kinds() const { return picks_; }
    /// Largest request this writer can produce (to size buffers).
    size_t request_bytes_max() const;
    uint32_t batch() const { return batch_; }

  private:
    double next_uniform();

    const Mix& mix_;
    std::string head_;  ///< request line, Host, Content-Type
    std::optional<http::JwtSigner> signer_;
    uint32_t batch_;
    uint64_t rng_;
    std::vector<uint32_t> picks_;
    std::vector<uint64_t> kind_calls_;
};

/// What became of one call of a request whose answers were valid (Outcome ok or jsonrpc_error).
struct CallResult {
    bool error = false;                          ///< answered with a JSON-RPC error object
    PayloadStatus status = PayloadStatus::none;  ///< of its result (kinds with payload_status)
};

class Classifier {
  public:
    /// batch: calls per request; response_bytes_max: the largest body to parse. mix: to know
    /// which calls carry a payload status (nullptr: none is looked for).
    Classifier(uint32_t batch, size_t response_bytes_max, const Mix* mix = nullptr);

    /// Classifies the answer to a request whose calls have ids first_id .. first_id+batch-1, and
    /// counts its JSON-RPC error codes and HTTP status into `stats`. Exactly one of response and
    /// error is non-null. The body must be followed by 64 readable bytes (simdjson padding):
    /// http::ClientConn's receive buffer is an em::ByteBuffer, whose padding guarantees that.
    /// kinds: the kind of each call (RequestWriter::last_kinds()), empty = unknown.
    Outcome classify(const http::Response* response, const Error* error, uint64_t first_id,
                     RunStats& stats, std::span<const uint32_t> kinds = {});
    /// After classify() returned ok or jsonrpc_error: each call's result, in request order.
    std::span<const CallResult> calls() const { return calls_; }

  private:
    Outcome classify_body(std::string_view body, uint64_t first_id, RunStats& stats,
                          std::span<const uint32_t> kinds);
    bool id_in_request(std::string_view id, uint64_t first_id);

    uint32_t batch_;
    const Mix* mix_;
    jsonrpc::ResponseParser parser_;
    std::vector<uint8_t> seen_;      ///< per call of the batch: its answer arrived
    std::vector<CallResult> calls_;  ///< per call of the batch
};

/// Parses a raw JSON id token as an unsigned integer (no sign, fraction or exponent).
bool parse_id(std::string_view raw, uint64_t* out);

}  // namespace em::load
