// redis::SharedTier: what the rpc role shares through Redis between enginemux instances behind a
// load balancer (issue 16, items 5 and 6): the answer cache and the rate limits. Both degrade,
// never fail: "unavailable" tells the caller to use its embedded AnswerCache and Budgets
// (pipeline/rpc_cache.h, pipeline/rate_limit.h) for this request.
//
// - Cache: get(key) -> hit (the value) / miss / unavailable; put(key, value, ttl) is fire and
//   forget. The Redis key is `<prefix>cache:` + 32 hex digits of Keccak-256(key) (128 bits:
//   a collision needs ~2^64 entries, and the bytes of a client's request never reach a key
//   name), so any key length costs one fixed-size Redis key. Values are stored as given.
// - Rate limit: admit(key, rate, burst) -> allowed / over (retry after ms) / unavailable. One
//   token bucket per key in Redis (`<prefix>rl:<key>`, a hash of tokens and time), updated
//   atomically by a Lua script sent with EVALSHA (EVAL when Redis answers NOSCRIPT: after a
//   restart or SCRIPT FLUSH). The script reads Redis's own clock (TIME), so every instance
//   refills one bucket by one clock, whatever the skew between their hosts; PEXPIRE drops a
//   bucket once it would be full again (burst / rate), so idle keys cost Redis nothing.
//
// Keys are namespaced by `key_prefix` ("enginemux:"): instances serving different chains that
// share one Redis need different prefixes (the cache keys are the requests, not the chain).
// Rate keys are stored in clear: pass an identifier, not a secret (e.g. a hash of an API key).
//
// Threads and ownership: as the Client it drives (one per shard, on its loop). The caller owns
// each CacheGet and RateCheck and keeps it alive until its callback ran. Completion rule: get()
// and admit() either return false (unavailable now: no callback) or return true and call back
// exactly once, later, from the loop (by the client's timeout_ms at the latest; an admit that
// met NOSCRIPT sends the script once more, so twice that).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "base/result.h"
#include "redis/client.h"
#include "redis/resp.h"

namespace em::redis {

enum class CacheOutcome : uint8_t { hit, miss, unavailable };
enum class RateOutcome : uint8_t { allowed, over, unavailable };

struct CacheGet;
struct RateCheck;

/// Receives a get's outcome; `value` (a hit's bytes) is valid only during the call.
class CacheDone {
  public:
    virtual ~CacheDone() = default;
    virtual void on_cache(CacheGet& get, CacheOutcome outcome, std::string_view value) = 0;
};

/// Receives an admit's outcome; retry_after_ms (at least 1) when over.
class RateDone {
  public:
    virtual ~RateDone() = default;
    virtual void on_rate(RateCheck& check, RateOutcome outcome, uint32_t retry_after_ms) = 0;
};

/// One cache lookup in flight, owned by the caller.
struct CacheGet {
    CacheDone* done = nullptr;
    void* owner = nullptr;  ///< free for the caller
    uint64_t tag = 0;       ///< free for the caller
    Command command;        ///< the tier's
};

/// One rate check in flight, owned by the caller.
struct RateCheck {
    static constexpr size_t redis_key_bytes_max = 320;
    RateDone* done = nullptr;
    void* owner = nullptr;  ///< free for the caller
    uint64_t tag = 0;       ///< free for the caller
    // The tier's: the command, and what an EVAL after NOSCRIPT sends again.
    Command command;
    char redis_key[redis_key_bytes_max] = {};
    uint16_t redis_key_bytes = 0;
    char rate[32] = {};
    char burst[32] = {};
    bool retried = false;
};

struct SharedTierConfig {
    std::string key_prefix = "enginemux:";  ///< at most 64 bytes
    size_t value_bytes_max = 8u << 20;      ///< a put of a longer value is dropped (counted)
    size_t rate_key_bytes_max = 200;        ///< an admit of a longer key is unavailable
};

struct SharedTierStats {
    uint64_t gets = 0, hits = 0, misses = 0, get_unavailable = 0;
    uint64_t puts = 0, puts_dropped = 0;
    uint64_t admits = 0, allowed = 0, over = 0, admit_unavailable = 0;
    uint64_t noscript = 0;  ///< EVALSHA answered NOSCRIPT: the script was sent whole
};

class SharedTier : private ReplyHandler {
  public:
    SharedTier(Client& client, const SharedTierConfig& config);
    SharedTier(const SharedTier&) = delete;
    SharedTier& operator=(const SharedTier&) = delete;

    /// Looks `key` (the cache key: method and params, pipeline::rpc::cache_key) up. false:
    /// Redis is unavailable now (benched, full): no callback, use the embedded cache.
    [[nodiscard]] bool get(CacheGet& get, std::string_view key);
    /// Stores value under key, with a TTL in ms (0: none; Redis's maxmemory policy evicts).
    /// Fire and forget: nothing is told; dropped (counted) when unavailable or too long.
    void put(std::string_view key, std::string_view value, uint32_t ttl_ms = 0);
    /// Takes a token from the shared bucket of `key` (rate_per_s > 0 tokens per second, at most
    /// burst >= 1 stored). false: unavailable now (benched, full, key too long): no callback,
    /// use the embedded Budgets.
    [[nodiscard]] bool admit(RateCheck& check, std::string_view key, double rate_per_s,
                             double burst);
    const SharedTierStats& stats() const { return stats_; }

  private:
    void on_reply(Command& command, const Reply* reply, const Error* error) override;
    void finish_get(CacheGet& get, const Reply* reply);
    void finish_rate(RateCheck& check, const Reply* reply);
    bool send_rate(RateCheck& check, bool whole_script);

    Client& client_;
    SharedTierConfig config_;
    char script_sha_[41] = {};
    SharedTierStats stats_;
};

// ---- the pure parts, for tests ----

/// Hex digits of the cache key's hash (Keccak-256, first 16 bytes).
constexpr size_t cache_hash_hex_bytes = 32;
/// The Redis key of a cache entry into out: prefix + "cache:" + 32 hex digits. Returns its
/// length; out must hold prefix.size() + 6 + 32 bytes.
size_t cache_redis_key(std::string_view prefix, std::string_view key, std::span<char> out);
/// The Lua token bucket (KEYS[1]; ARGV: tokens per second, burst). Returns {1, 0} when a token
/// was taken, {0, ms} when the next one is due in ms.
extern const std::string_view rate_script;
/// SHA-1 of rate_script in 40 lower-case hex digits plus a NUL (what EVALSHA names).
void rate_script_sha1(char out[41]);

struct RateVerdict {
    bool allowed = false;
    uint32_t retry_after_ms = 0;  ///< at least 1 when not allowed
};
/// The script's reply read strictly: an array of two integers, {1, 0} or {0, ms >= 1}.
Result<RateVerdict> parse_rate_reply(const Reply& reply);
/// True for Redis's NOSCRIPT error reply (EVALSHA of a script it does not have).
bool is_noscript(const Reply& reply);

}  // namespace em::redis
