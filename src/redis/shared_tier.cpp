#include "redis/shared_tier.h"

#include <openssl/evp.h>

#include <charconv>
#include <cstring>

#include "base/assert.h"
#include "base/hex.h"
#include "base/log.h"
#include "eth/keccak/keccak.h"

namespace em::redis {

namespace {

constexpr uint64_t get_tag = 1;
constexpr uint64_t rate_tag = 2;
constexpr std::string_view cache_infix = "cache:";
constexpr std::string_view rate_infix = "rl:";

/// The shortest text that reads back as v (what Lua's tonumber parses).
void format_number(double v, char (&out)[32]) {
    auto [end, ec] = std::to_chars(out, out + sizeof out - 1, v);
    EM_ASSERT(ec == std::errc());
    *end = '\0';
}

}  // namespace

// The bucket: `tokens` (fractional) and `at` (Redis's clock, microseconds, when tokens was
// last refilled). Numbers are written with string.format so that no digit is lost to Lua's
// 14-digit tostring; PEXPIRE is the time a bucket takes to fill up again, plus a second.
const std::string_view rate_script = R"lua(-- enginemux token bucket (src/redis/shared_tier.cpp)
if redis.replicate_commands then redis.replicate_commands() end
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = burst
  at = now
end
if now > at then
  tokens = math.min(burst, tokens + (now - at) * rate / 1000000)
  at = now
end
local allowed = 0
local wait_ms = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  wait_ms = math.max(1, math.ceil((1 - tokens) * 1000 / rate))
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens),
           'at', string.format('%.0f', at))
redis.call('PEXPIRE', KEYS[1], string.format('%.0f', math.ceil(burst * 1000 / rate) + 1000))
return {allowed, wait_ms}
)lua";

void rate_script_sha1(char out[41]) {
    uint8_t digest[EVP_MAX_MD_SIZE];
    unsigned bytes = 0;
    int ok =
        EVP_Digest(rate_script.data(), rate_script.size(), digest, &bytes, EVP_sha1(), nullptr);
    EM_ASSERT(ok == 1 && bytes == 20);
    hex_encode(std::span<const uint8_t>(digest, 20), out);
    out[40] = '\0';
}

size_t cache_redis_key(std::string_view prefix, std::string_view key, std::span<char> out) {
    size_t bytes = prefix.size() + cache_infix.size() + cache_hash_hex_bytes;
    EM_ASSERT(out.size() >= bytes);
    uint8_t hash[32];
    eth::keccak256({reinterpret_cast<const uint8_t*>(key.data()), key.size()}, hash);
    std::memcpy(out.data(), prefix.data(), prefix.size());
    std::memcpy(out.data() + prefix.size(), cache_infix.data(), cache_infix.size());
    hex_encode(std::span<const uint8_t>(hash, cache_hash_hex_bytes / 2),
               out.data() + prefix.size() + cache_infix.size());
    return bytes;
}

Result<RateVerdict> parse_rate_reply(const Reply& reply) {
    if (reply.kind() != Kind::array || reply.size() != 2 || reply[0].kind() != Kind::integer ||
        reply[1].kind() != Kind::integer) {
        if (reply.is_error())
            return failf(Errc::invalid_input, "rate script failed: %.*s",
                         static_cast<int>(reply.str().size() < 80 ? reply.str().size() : 80),
                         reply.str().data());
        if (reply.kind() == Kind::array)
            return failf(Errc::invalid_input,
                         "rate script answered an array of %zu, not two "
                         "integers",
                         reply.size());
        return failf(Errc::invalid_input, "rate script answered %s, not two integers",
                     kind_name(reply.kind()));
    }
    int64_t allowed = reply[0].integer();
    int64_t wait_ms = reply[1].integer();
    if (allowed == 1 && wait_ms == 0) return RateVerdict{true, 0};
    if (allowed == 0 && wait_ms >= 1)
        return RateVerdict{false,
                           wait_ms > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(wait_ms)};
    return failf(Errc::invalid_input, "rate script answered {%lld, %lld}",
                 static_cast<long long>(allowed), static_cast<long long>(wait_ms));
}

bool is_noscript(const Reply& reply) {
    return reply.is_error() && reply.str().starts_with("NOSCRIPT");
}

SharedTier::SharedTier(Client& client, const SharedTierConfig& config)
    : client_(client), config_(config) {
    EM_ASSERT(config_.key_prefix.size() <= 64);
    EM_ASSERT(config_.key_prefix.size() + rate_infix.size() + config_.rate_key_bytes_max <=
              RateCheck::redis_key_bytes_max);
    rate_script_sha1(script_sha_);
}

bool SharedTier::get(CacheGet& get, std::string_view key) {
    EM_ASSERT(get.done != nullptr);
    stats_.gets++;
    char redis_key[64 + cache_infix.size() + cache_hash_hex_bytes];
    size_t bytes = cache_redis_key(config_.key_prefix, key, redis_key);
    std::string_view args[] = {"GET", std::string_view(redis_key, bytes)};
    get.command.handler = this;
    get.command.owner = &get;
    get.command.tag = get_tag;
    if (!client_.send(get.command, args)) {
        stats_.get_unavailable++;
        return false;
    }
    return true;
}

void SharedTier::put(std::string_view key, std::string_view value, uint32_t ttl_ms) {
    stats_.puts++;
    if (value.size() > config_.value_bytes_max) {
        stats_.puts_dropped++;
        return;
    }
    char redis_key[64 + cache_infix.size() + cache_hash_hex_bytes];
    size_t bytes = cache_redis_key(config_.key_prefix, key, redis_key);
    char ttl[12];
    auto [end, ec] = std::to_chars(ttl, ttl + sizeof ttl, ttl_ms);
    (void)ec;  // 12 bytes hold every uint32_t
    std::string_view with_ttl[] = {"SET", std::string_view(redis_key, bytes), value, "PX",
                                   std::string_view(ttl, static_cast<size_t>(end - ttl))};
    std::span<const std::string_view> args(with_ttl, ttl_ms ? 5 : 3);
    if (!client_.send_and_forget(args)) stats_.puts_dropped++;
}

bool SharedTier::admit(RateCheck& check, std::string_view key, double rate_per_s, double burst) {
    EM_ASSERT(check.done != nullptr && rate_per_s > 0 && burst >= 1);
    stats_.admits++;
    if (key.size() > config_.rate_key_bytes_max) {
        stats_.admit_unavailable++;
        return false;
    }
    std::string_view prefix = config_.key_prefix;
    std::memcpy(check.redis_key, prefix.data(), prefix.size());
    std::memcpy(check.redis_key + prefix.size(), rate_infix.data(), rate_infix.size());
    std::memcpy(check.redis_key + prefix.size() + rate_infix.size(), key.data(), key.size());
    check.redis_key_bytes = static_cast<uint16_t>(prefix.size() + rate_infix.size() + key.size());
    format_number(rate_per_s, check.rate);
    format_number(burst, check.burst);
    check.retried = false;
    check.command.handler = this;
    check.command.owner = &check;
    check.command.tag = rate_tag;
    if (!send_rate(check, false)) {
        stats_.admit_unavailable++;
        return false;
    }
    return true;
}

bool SharedTier::send_rate(RateCheck& check, bool whole_script) {
    std::string_view args[] = {whole_script ? "EVAL" : "EVALSHA",
                               whole_script ? rate_script : std::string_view(script_sha_, 40),
                               "1",
                               std::string_view(check.redis_key, check.redis_key_bytes),
                               check.rate,
                               check.burst};
    return client_.send(check.command, args).has_value();
}

void SharedTier::on_reply(Command& command, const Reply* reply, const Error*) {
    // An error (timeout, connection) arrives with reply == nullptr: unavailable.
    if (command.tag == get_tag)
        finish_get(*static_cast<CacheGet*>(command.owner), reply);
    else
        finish_rate(*static_cast<RateCheck*>(command.owner), reply);
}

void SharedTier::finish_get(CacheGet& get, const Reply* reply) {
    if (reply && reply->kind() == Kind::bulk) {
        stats_.hits++;
        get.done->on_cache(get, CacheOutcome::hit, reply->str());
    } else if (reply && reply->kind() == Kind::null_bulk) {
        stats_.misses++;
        get.done->on_cache(get, CacheOutcome::miss, {});
    } else {  // no answer, or an error reply (WRONGTYPE: a key of ours that is no string)
        stats_.get_unavailable++;
        get.done->on_cache(get, CacheOutcome::unavailable, {});
    }
}

void SharedTier::finish_rate(RateCheck& check, const Reply* reply) {
    if (!reply) {
        stats_.admit_unavailable++;
        check.done->on_rate(check, RateOutcome::unavailable, 0);
        return;
    }
    if (is_noscript(*reply) && !check.retried) {
        // Redis lost its script cache (restart, SCRIPT FLUSH): EVAL sends it whole, which also
        // caches it for the EVALSHAs that follow.
        check.retried = true;
        stats_.noscript++;
        if (send_rate(check, true)) return;
        stats_.admit_unavailable++;
        check.done->on_rate(check, RateOutcome::unavailable, 0);
        return;
    }
    auto verdict = parse_rate_reply(*reply);
    if (!verdict) {
        EM_LOG_LIMITED(LogLevel::warn, 1, "redis rate limit: %s", verdict.error().c_str());
        stats_.admit_unavailable++;
        check.done->on_rate(check, RateOutcome::unavailable, 0);
        return;
    }
    if (verdict->allowed) {
        stats_.allowed++;
        check.done->on_rate(check, RateOutcome::allowed, 0);
    } else {
        stats_.over++;
        check.done->on_rate(check, RateOutcome::over, verdict->retry_after_ms);
    }
}

}  // namespace em::redis
