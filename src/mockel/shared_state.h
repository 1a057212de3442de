// State of enginemux-mock-el shared by its loop threads: the immutable configuration, the rule
// set, the log of engine_* calls, the chain head, payload ids and per-thread counters.
//
// Threads: MockConfig is written by main() before any loop thread starts and read-only after.
// Shared is used by every loop thread. This is a test tool, so the rule set and the call log
// sit behind one plain mutex; the default path stays nearly lock-free: with no rules installed
// a call reads one atomic flag (has_rules) and never takes the lock, eth_* calls never log, and
// the head, payload-id counter and per-thread counters are atomics. Engine calls take the mutex
// once to append to the log (a memcpy into a vector reserved at start).
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>
#include "base/version.h"

#include "base/buffer.h"
#include "base/u256.h"
#include "http/jwt.h"
#include "mockel/methods.h"
#include "mockel/rules.h"

namespace em::mockel {

/// getPayloadV1..V6: index 1..6 (0 unused).
inline constexpr size_t get_payload_versions = 7;

/// Everything main() decides before the loops start (immutable afterwards).
struct MockConfig {
    std::string name = "mock-el";          ///< --name: clientVersion name, payload-id tag
    std::string version = em::version();   ///< reported by getClientVersionV1
    std::string web3_client_version;       ///< --client-version ("": from name and version)
    uint64_t head = 100;                   ///< --head: initial eth_blockNumber
    uint64_t logs_blocks_max = 0;          ///< --logs-blocks-max: eth_getLogs range (0 = any)
    U256 block_value = U256::from_u64(1);  ///< --block-value
    bool verify_block_hash = false;        ///< --verify-block-hash
    bool jwt_required = false;             ///< --jwt-secret given
    http::JwtSecret jwt_secret;            ///< valid when jwt_required
    /// executionPayload JSON text answered by getPayloadV<i> (--payload-file or synthetic).
    std::array<std::string, get_payload_versions> payloads;

    // Limits (each has a flag or is fixed for a test tool; see options.h).
    size_t log_entries_max = 100'000;              ///< engine_* calls kept by /mock/log
    size_t body_bytes_max = size_t{32} << 20;      ///< request body (over: 413)
    size_t header_bytes_max = 16 * 1024;           ///< request head (over: 431)
    size_t response_bytes_max = size_t{96} << 20;  ///< whole HTTP response (huge=, /mock/log)
    size_t batch_entries_max = 1024;               ///< JSON-RPC batch elements
    size_t list_entries_max = 1024;                ///< hashes in getBlobs / bodies requests
    uint32_t connections_max = 1024;               ///< open connections per thread
    uint32_t idle_timeout_ms = 300'000;            ///< keep-alive connection without a request
};

/// Counters of one loop thread (written by it, read by any thread for /mock/stats).
struct ThreadStats {
    std::array<std::atomic<uint64_t>, method_count> calls{};  ///< per methods() index
    std::atomic<uint64_t> unknown_calls{0};                   ///< methods answered -32601
    std::atomic<uint64_t> invalid_entries{0};  ///< envelopes or entries answered -32700/-32600
    std::atomic<uint64_t> jwt_rejections{0};   ///< answered 401
    std::atomic<uint64_t> http_requests{0};    ///< every HTTP request, /mock included
    std::atomic<uint64_t> rules_applied{0};    ///< calls a rule changed

    /// Relaxed increment by the owner thread.
    static void bump(std::atomic<uint64_t>& c) { c.fetch_add(1, std::memory_order_relaxed); }
};

/// How an engine_* call was answered (for /mock/log).
enum class Outcome : uint8_t { result, payload_status, error, transport };

/// One engine_* call as recorded in /mock/log (plain value, fixed size).
struct LogEntry {
    static constexpr size_t method_bytes_max = 48;
    static constexpr size_t id_bytes_max = 64;
    enum class HashKind : uint8_t { none, block_hash, head_block_hash };

    uint64_t t_us = 0;  ///< arrival, microseconds since the mock started
    uint8_t method_bytes = 0;
    char method[method_bytes_max] = {};
    uint8_t id_bytes = 0;  ///< 0: notification (or an id longer than id_bytes_max)
    bool id_too_long = false;
    char id[id_bytes_max] = {};  ///< raw JSON text of the id
    HashKind hash_kind = HashKind::none;
    std::array<uint8_t, 32> hash{};
    Outcome outcome = Outcome::result;
    Status status = Status::valid;          ///< Outcome::payload_status
    int32_t error_code = 0;                 ///< Outcome::error
    Transport transport = Transport::none;  ///< Outcome::transport
    uint16_t http_status = 0;               ///< http= rule (0: 200)
    uint32_t delay_ms = 0;                  ///< delay= rule

    /// Fills method and id (truncating the method name, marking an over-long id).
    void set_call(std::string_view method_name, std::string_view id_text);
};

class Shared {
  public:
    /// Takes the configuration and the rules given at start-up; `threads` loop threads will
    /// each use thread_stats(i).
    Shared(MockConfig config, const RuleSet& rules, size_t threads);
    Shared(const Shared&) = delete;
    Shared& operator=(const Shared&) = delete;

    const MockConfig& config() const { return config_; }
    /// Monotonic time the mock started (log times are relative to it).
    uint64_t start_ns() const { return start_ns_; }
    ThreadStats& thread_stats(size_t i) { return *stats_[i]; }

    /// True when any rule is installed (one relaxed atomic load: the no-rule fast path).
    bool has_rules() const { return has_rules_.load(std::memory_order_relaxed); }
    /// RuleSet::match under the mutex.
    bool match_rule(std::string_view method, Action* out);
    /// Replaces the rule set (counters start from zero).
    void replace_rules(const RuleSet& rules);
    /// Clears the rules and the call log.
    void reset();
    /// Number of installed rules.
    size_t rule_count();

    /// Appends to the call log (dropped and counted when log_entries_max is reached).
    void record(const LogEntry& entry);
    /// Writes {"calls":[...],"dropped":N} (the /mock/log answer).
    bool write_log_json(ByteBuffer& out);
    /// Writes the /mock/stats answer (sums every thread's counters).
    bool write_stats_json(ByteBuffer& out);

    /// The current head block number (eth_blockNumber).
    uint64_t head() const { return head_.load(std::memory_order_relaxed); }
    /// Raises the head to `number` if it is higher.
    void advance_head(uint64_t number);

    /// A new 8-byte payload id: a 32-bit tag of the node name, then a 32-bit counter.
    uint64_t next_payload_id();
    /// eth_newFilter's answer: the same 32-bit tag of the node name, so each EL's ids differ.
    uint32_t filter_id() const { return payload_id_tag_; }
    /// True if `id` is one next_payload_id() returned.
    bool issued_payload_id(uint64_t id) const;

    /// engine_getClientVersionV1's result and web3_clientVersion's, prebuilt JSON.
    std::string_view client_version_json() const { return client_version_json_; }
    std::string_view web3_client_version_json() const { return web3_client_version_json_; }

  private:
    MockConfig config_;
    uint64_t start_ns_;
    uint32_t payload_id_tag_;
    std::string client_version_json_;
    std::string web3_client_version_json_;
    std::vector<std::unique_ptr<ThreadStats>> stats_;
    std::atomic<bool> has_rules_{false};
    std::atomic<uint64_t> head_;
    std::atomic<uint32_t> payload_ids_{0};
    std::mutex mu_;                   // guards rules_, log_, log_dropped_
    std::unique_ptr<RuleSet> rules_;  // ~50 KiB, so on the heap
    std::vector<LogEntry> log_;
    uint64_t log_dropped_ = 0;
};

}  // namespace em::mockel
