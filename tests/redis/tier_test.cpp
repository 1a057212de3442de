// The pure parts of the Redis client and shared tier: redis:// URLs, cache key names, the rate
// script's identity and the strict reading of its reply. (The script itself runs in Redis:
// tests/redis/server_test.cpp.)
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "redis/client.h"
#include "redis/resp.h"
#include "redis/shared_tier.h"

namespace em::redis {
namespace {

TEST(RedisUrl, HostPortDbAndCredentials) {
    auto u = parse_url("redis://127.0.0.1:6380/3");
    ASSERT_TRUE(u) << u.error().c_str();
    EXPECT_EQ(u->host, "127.0.0.1");
    EXPECT_EQ(u->port, 6380);
    EXPECT_EQ(u->db, 3u);
    EXPECT_TRUE(u->password.empty());
    u = parse_url("redis://localhost");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->host, "localhost");
    EXPECT_EQ(u->port, 6379);
    EXPECT_EQ(u->db, 0u);
    u = parse_url("redis://:s%40cret@127.0.0.1:6379/0");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->user, "");
    EXPECT_EQ(u->password, "s@cret");
    u = parse_url("redis://127.0.0.1/");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->db, 0u);
    u = parse_url("redis://app:pw@[::1]:7000");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->user, "app");
    EXPECT_EQ(u->password, "pw");
    EXPECT_EQ(u->host, "::1");
    EXPECT_EQ(u->port, 7000);
}

TEST(RedisUrl, RefusedNamingWhatIsWrongButNeverThePassword) {
    struct Case {
        const char* url;
        const char* part;
    } cases[] = {
        {"http://127.0.0.1:6379", "must start with redis://"},
        {"rediss://127.0.0.1:6379", "TLS"},
        {"redis://127.0.0.1:0", "port is not 1..65535"},
        {"redis://127.0.0.1:65536", "port is not 1..65535"},
        {"redis://127.0.0.1:", "port is not 1..65535"},
        {"redis://127.0.0.1:06379", "port is not 1..65535"},
        {"redis://127.0.0.1/10000", "database"},
        {"redis://127.0.0.1/01", "database"},
        {"redis://127.0.0.1/1/2", "database"},
        {"redis://127.0.0.1?db=1", "query string"},
        {"redis://", "host is empty"},
        {"redis://a_b:6379", "not a name"},
        {"redis://::1:6379", "IPv6"},
        {"redis://[::1", "no ']'"},
        {"redis://secret@127.0.0.1", "user:pass or :pass"},
        {"redis://:@127.0.0.1", "empty password"},
        {"redis://:bad%zzsecret@127.0.0.1", "redis URL password"},
    };
    for (const Case& c : cases) {
        auto u = parse_url(c.url);
        ASSERT_FALSE(u) << c.url;
        EXPECT_NE(u.error().message().find(c.part), std::string_view::npos)
            << c.url << ": " << u.error().c_str();
        EXPECT_EQ(u.error().message().find("secret"), std::string_view::npos) << c.url;
    }
}

TEST(RedisUrl, ClientConfigResolvesAndKeepsTheRest) {
    ClientConfig base;
    base.timeout_ms = 77;
    auto c = client_config("redis://:pw@127.0.0.1:6390/2", base);
    ASSERT_TRUE(c) << c.error().c_str();
    EXPECT_EQ(c->address.port(), 6390);
    EXPECT_EQ(c->password, "pw");
    EXPECT_EQ(c->db, 2u);
    EXPECT_EQ(c->timeout_ms, 77u);
}

TEST(SharedTierKeys, CacheKeyIsPrefixAndKeccakHex) {
    char out[128];
    // Keccak-256("") = c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470
    size_t n = cache_redis_key("enginemux:", "", out);
    EXPECT_EQ(std::string_view(out, n), "enginemux:cache:c5d2460186f7233c927e7db2dcc703c0");
    std::string key = std::string("eth_getBlockByHash") + '\0' + "[\"0xab\",false]";
    size_t a = cache_redis_key("x:", key, out);
    std::string first(out, a);
    EXPECT_EQ(a, 2 + 6 + cache_hash_hex_bytes);
    EXPECT_EQ(first.substr(0, 8), "x:cache:");
    for (char c : first.substr(8)) EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
    size_t b = cache_redis_key("x:", key, out);
    EXPECT_EQ(std::string(out, b), first);  // deterministic (other instances compute the same)
    key.back() = '}';
    size_t c = cache_redis_key("x:", key, out);
    EXPECT_NE(std::string(out, c), first);
}

TEST(SharedTierScript, Sha1IsFortyLowerHexDigits) {
    char sha[41];
    rate_script_sha1(sha);
    std::string_view s(sha);
    ASSERT_EQ(s.size(), 40u);
    for (char c : s) EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
    EXPECT_NE(rate_script.find("PEXPIRE"), std::string_view::npos);
    EXPECT_NE(rate_script.find("redis.call('TIME')"), std::string_view::npos);
}

/// The reply in `bytes`, kept alive with its reader.
struct Held {
    Reader reader;
    std::string bytes;
    Reply reply;
    explicit Held(std::string_view b) : bytes(b) {
        auto r = reader.parse(bytes);
        EXPECT_TRUE(r && *r);
        reply = reader.reply(bytes);
    }
};

TEST(SharedTierScript, ReplyReadStrictly) {
    auto allowed = parse_rate_reply(Held("*2\r\n:1\r\n:0\r\n").reply);
    ASSERT_TRUE(allowed);
    EXPECT_TRUE(allowed->allowed);
    auto over = parse_rate_reply(Held("*2\r\n:0\r\n:250\r\n").reply);
    ASSERT_TRUE(over);
    EXPECT_FALSE(over->allowed);
    EXPECT_EQ(over->retry_after_ms, 250u);
    auto huge = parse_rate_reply(Held("*2\r\n:0\r\n:99999999999\r\n").reply);
    ASSERT_TRUE(huge);
    EXPECT_EQ(huge->retry_after_ms, UINT32_MAX);
    struct Case {
        const char* bytes;
        const char* part;
    } cases[] = {
        {"*2\r\n:0\r\n:0\r\n", "answered {0, 0}"},
        {"*2\r\n:1\r\n:5\r\n", "answered {1, 5}"},
        {"*2\r\n:2\r\n:0\r\n", "answered {2, 0}"},
        {"*3\r\n:1\r\n:0\r\n:0\r\n", "answered an array of 3"},
        {"*2\r\n$1\r\n1\r\n:0\r\n", "not two integers"},
        {":1\r\n", "answered integer, not two integers"},
        {"$-1\r\n", "null bulk string"},
        {"-ERR user_script:1: boom\r\n", "rate script failed: ERR user_script:1: boom"},
    };
    for (const Case& c : cases) {
        auto v = parse_rate_reply(Held(c.bytes).reply);
        ASSERT_FALSE(v) << c.bytes;
        EXPECT_NE(v.error().message().find(c.part), std::string_view::npos)
            << c.bytes << ": " << v.error().c_str();
    }
}

TEST(SharedTierScript, NoscriptIsRecognised) {
    EXPECT_TRUE(is_noscript(Held("-NOSCRIPT No matching script. Please use EVAL.\r\n").reply));
    EXPECT_FALSE(is_noscript(Held("-ERR NOSCRIPT\r\n").reply));
    EXPECT_FALSE(is_noscript(Held("+NOSCRIPT\r\n").reply));
}

}  // namespace
}  // namespace em::redis
