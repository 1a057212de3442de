// Run statistics of enginemux-load: outcome counters, JSON-RPC error codes, HTTP statuses and the
// latency histogram, for the whole run and per method (outcomes, latency, and the Engine API
// payload statuses answered). One RunStats per worker thread (written only by it, allocated at
// start); the main thread merges them after the workers have stopped.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "base/histogram.h"

namespace em::load {

/// What became of one HTTP request.
enum class Outcome : uint8_t {
    ok,                ///< HTTP 200 with a valid JSON-RPC answer for every call, none an error
    jsonrpc_error,     ///< HTTP 200, valid answers, at least one a JSON-RPC error object
    http_error,        ///< an HTTP status other than 200
    timeout,           ///< no answer within --timeout (open loop: of the intended send time)
    connection_error,  ///< connect failed, or the connection closed/reset before the answer
    malformed,         ///< bad HTTP, not JSON-RPC, wrong ids or wrong number of answers
};
inline constexpr size_t outcome_count = 6;

/// Name used in reports ("ok", "jsonrpc", "http", "timeout", "connection", "malformed").
const char* outcome_name(Outcome o);

/// The Engine API payload status of an answer: result.status (newPayload) or
/// result.payloadStatus.status (forkchoiceUpdated). `none` when the answer carries neither.
enum class PayloadStatus : uint8_t {
    none,
    valid,
    invalid,
    syncing,
    accepted,
    invalid_block_hash,
    other
};
inline constexpr size_t payload_status_count = 7;

/// "VALID", "INVALID", "SYNCING", "ACCEPTED", "INVALID_BLOCK_HASH", "other" ("none" for none).
const char* payload_status_name(PayloadStatus s);
/// The payload status in a JSON-RPC result's raw JSON text (see PayloadStatus). Allocates nothing.
PayloadStatus find_payload_status(std::string_view result_json);

/// One method's calls: what became of each (a call shares its request's outcome unless the
/// request got valid answers: then ok or jsonrpc per call), the latency of the requests that
/// carried them, and the payload statuses of the calls answered with a result.
struct MethodStats {
    std::array<uint64_t, outcome_count> outcomes{};
    std::array<uint64_t, payload_status_count> statuses{};
    LatencyHistogram latency;
    uint64_t calls() const;
};

/// A JSON-RPC error code and how many calls were answered with it.
struct CodeCount {
    int32_t code = 0;
    uint64_t count = 0;
};

class RunStats {
  public:
    /// methods: how many per-method slots (Mix::methods().size()); allocated here, once.
    explicit RunStats(size_t methods = 0) : methods_(methods) {}

    /// Distinct JSON-RPC error codes kept; further codes are counted in codes_other().
    static constexpr size_t jsonrpc_codes_max = 64;
    /// HTTP statuses are counted for 100..599; anything else lands in status 0.
    static constexpr size_t http_status_slots = 600;

    /// Counts one request's outcome (and its calls).
    void count(Outcome outcome, uint32_t calls) {
        outcomes_[static_cast<size_t>(outcome)]++;
        calls_ += calls;
    }
    /// Counts `n` calls answered with JSON-RPC error `code`.
    void add_code(int32_t code, uint64_t n);
    void add_http_status(int status) {
        http_status_[status >= 100 && status < 600 ? static_cast<size_t>(status) : 0]++;
    }
    void add_late() { late_++; }
    /// Latency of an answered request, nanoseconds.
    void record_latency_ns(uint64_t ns) { latency_.record(ns); }
    /// Counts one call of method slot `method` (ignored when out of range). latency_ns: of the
    /// request that carried it, or UINT64_MAX when unanswered (timeout, connection error).
    void count_call(size_t method, Outcome outcome, PayloadStatus status, uint64_t latency_ns) {
        if (method >= methods_.size()) return;
        MethodStats& m = methods_[method];
        m.outcomes[static_cast<size_t>(outcome)]++;
        m.statuses[static_cast<size_t>(status)]++;
        if (latency_ns != UINT64_MAX) m.latency.record(latency_ns);
    }
    /// Adds another thread's statistics.
    void merge(const RunStats& other);

    uint64_t outcome(Outcome o) const { return outcomes_[static_cast<size_t>(o)]; }
    /// Requests of every outcome.
    uint64_t requests() const;
    /// Requests that got an HTTP answer (ok, jsonrpc_error, http_error, malformed).
    uint64_t answered() const;
    /// Requests of every outcome but ok.
    uint64_t errors() const { return requests() - outcome(Outcome::ok); }
    uint64_t calls() const { return calls_; }
    uint64_t late() const { return late_; }
    size_t code_count() const { return code_count_; }
    const CodeCount& code(size_t i) const { return codes_[i]; }
    uint64_t codes_other() const { return codes_other_; }
    uint64_t http_status(size_t status) const { return http_status_[status]; }
    const LatencyHistogram& latency() const { return latency_; }
    /// Per-method statistics, index as in Mix::methods().
    const std::vector<MethodStats>& methods() const { return methods_; }

  private:
    std::array<uint64_t, outcome_count> outcomes_{};
    uint64_t calls_ = 0;
    uint64_t late_ = 0;
    std::array<CodeCount, jsonrpc_codes_max> codes_{};
    size_t code_count_ = 0;
    uint64_t codes_other_ = 0;
    std::array<uint64_t, http_status_slots> http_status_{};
    LatencyHistogram latency_;
    std::vector<MethodStats> methods_;
};

}  // namespace em::load
