// JWT: the accept/reject matrix of JwtVerifier with tokens minted independently in the test
// (OpenSSL HMAC() and EVP_EncodeBlock, not the code under test), JwtSigner's cache, and the
// secret parsers.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "http/jwt.h"

namespace em::http {
namespace {

constexpr int64_t now = 1'700'000'000;

JwtSecret test_secret(uint8_t seed = 0) {
    JwtSecret s;
    for (size_t i = 0; i < s.key.size(); i++) s.key[i] = static_cast<uint8_t>(i * 7 + seed);
    return s;
}

/// base64url without padding via OpenSSL's standard base64 encoder.
std::string b64url(std::string_view data) {
    std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(data.data()),
                            static_cast<int>(data.size()));
    out.resize(static_cast<size_t>(n));
    for (char& c : out) c = c == '+' ? '-' : c == '/' ? '_' : c;
    while (!out.empty() && out.back() == '=') out.pop_back();
    return out;
}

std::string hmac(const JwtSecret& secret, std::string_view msg) {
    unsigned char mac[32];
    unsigned int len = 0;
    HMAC(EVP_sha256(), secret.key.data(), static_cast<int>(secret.key.size()),
         reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), mac, &len);
    return std::string(reinterpret_cast<char*>(mac), len);
}

std::string mint(std::string_view header, std::string_view payload,
                 const JwtSecret& secret = test_secret()) {
    std::string signing = b64url(header) + "." + b64url(payload);
    return signing + "." + b64url(hmac(secret, signing));
}

constexpr std::string_view hs256 = R"({"alg":"HS256","typ":"JWT"})";

std::string iat_payload(int64_t iat) {
    return "{\"iat\":" + std::to_string(iat) + "}";
}

std::string good_token() {
    return mint(hs256, iat_payload(now));
}

struct Case {
    const char* name;
    std::string authorization;
    const char* reason;  // nullptr: accepted
};

TEST(JwtVerifier, AcceptRejectMatrix) {
    std::string good = good_token();
    std::string tampered = good;
    {
        // A payload with another iat, spliced under the original signature.
        size_t d1 = good.find('.'), d2 = good.rfind('.');
        tampered = good.substr(0, d1 + 1) + b64url(iat_payload(now - 1)) + good.substr(d2);
    }
    std::string sig = good.substr(good.rfind('.'));
    const Case cases[] = {
        {"good", "Bearer " + good, nullptr},
        {"scheme any case", "bearer " + good, nullptr},
        {"scheme upper", "BEARER  " + good, nullptr},
        {"extra claims ignored",
         "Bearer " +
             mint(
                 hs256,
                 R"({"iat":1700000000,"id":"cl-1","clv":"Lighthouse/v5","x":{"y":[1,2,{"z":null}]}})"),
         nullptr},
        {"no typ", "Bearer " + mint(R"({"alg":"HS256"})", iat_payload(now)), nullptr},
        {"escaped alg", "Bearer " + mint(R"({"alg":"\u0048S256"})", iat_payload(now)), nullptr},
        {"iat +60", "Bearer " + mint(hs256, iat_payload(now + 60)), nullptr},
        {"iat -60", "Bearer " + mint(hs256, iat_payload(now - 60)), nullptr},
        {"fractional iat", "Bearer " + mint(hs256, R"({"iat":1700000000.75})"), nullptr},
        {"exp future", "Bearer " + mint(hs256, R"({"iat":1700000000,"exp":1700000010})"), nullptr},
        {"exp now", "Bearer " + mint(hs256, R"({"iat":1700000000,"exp":1700000000})"), nullptr},
        {"missing header", "", "missing Authorization header"},
        {"wrong scheme", "Basic dXNlcjpwYXNz", "Authorization scheme \"Basic\" is not Bearer"},
        {"no token", "Bearer", "Bearer token is empty"},
        {"blank token", "Bearer   ", "Bearer token is empty"},
        {"raw token", good, "is not Bearer"},
        {"2 parts", "Bearer " + good.substr(0, good.rfind('.')), "token has 2 parts, expected 3"},
        {"4 parts", "Bearer " + good + ".x", "token has 4 parts, expected 3"},
        {"1 part", "Bearer abc", "token has 1 parts"},
        {"bad base64url header", "Bearer eyJ+bGciOiJIUzI1NiJ9.e30" + sig,
         "token header is not base64url"},
        {"padded header", "Bearer " + b64url(hs256) + "=." + b64url(iat_payload(now)) + sig,
         "base64url padding"},
        {"header not json", "Bearer " + mint("alg=HS256", iat_payload(now)),
         "token header is not a JSON object"},
        {"header array", "Bearer " + mint(R"(["HS256"])", iat_payload(now)), "not a JSON object"},
        {"alg none", "Bearer " + b64url(R"({"alg":"none"})") + "." + b64url(iat_payload(now)) + ".",
         "token alg \"none\" is not HS256"},
        {"alg HS512", "Bearer " + mint(R"({"alg":"HS512","typ":"JWT"})", iat_payload(now)),
         "token alg \"HS512\" is not HS256"},
        {"alg RS256", "Bearer " + mint(R"({"alg":"RS256"})", iat_payload(now)),
         "\"RS256\" is not HS256"},
        {"alg lower", "Bearer " + mint(R"({"alg":"hs256"})", iat_payload(now)), "is not HS256"},
        {"no alg", "Bearer " + mint(R"({"typ":"JWT"})", iat_payload(now)),
         "token header has no alg"},
        {"alg number", "Bearer " + mint(R"({"alg":256})", iat_payload(now)), "alg is not a string"},
        {"two algs", "Bearer " + mint(R"({"alg":"HS256","alg":"none"})", iat_payload(now)),
         "two alg"},
        {"crit",
         "Bearer " + mint(R"({"alg":"HS256","crit":["b64"],"b64":false})", iat_payload(now)),
         "crit"},
        {"no iat", "Bearer " + mint(hs256, R"({"id":"x"})"), "token has no iat claim"},
        {"iat string", "Bearer " + mint(hs256, R"({"iat":"1700000000"})"),
         "token iat is not a number"},
        {"iat exponent", "Bearer " + mint(hs256, R"({"iat":1.7e9})"), "token iat"},
        {"two iats", "Bearer " + mint(hs256, R"({"iat":1700000000,"iat":1})"), "two iat claims"},
        {"iat +61", "Bearer " + mint(hs256, iat_payload(now + 61)),
         "iat is 61 s from now, limit 60 s (iat in the future"},
        {"iat -61", "Bearer " + mint(hs256, iat_payload(now - 61)),
         "iat is 61 s from now, limit 60 s (iat in the past"},
        {"iat -75", "Bearer " + mint(hs256, iat_payload(now - 75)),
         "iat is 75 s from now, limit 60 s"},
        {"iat huge", "Bearer " + mint(hs256, R"({"iat":99999999999999999999})"), "out of range"},
        {"exp past", "Bearer " + mint(hs256, R"({"iat":1700000000,"exp":1699999990})"),
         "token expired 10 s ago"},
        {"payload not json", "Bearer " + mint(hs256, "iat=1"),
         "token payload is not a JSON object"},
        {"payload trailing", "Bearer " + mint(hs256, R"({"iat":1700000000} x)"),
         "bytes after the JSON object"},
        {"tampered payload", "Bearer " + tampered, "signature does not match the JWT secret"},
        {"wrong secret", "Bearer " + mint(hs256, iat_payload(now), test_secret(1)),
         "signature does not match the JWT secret"},
        {"short signature", "Bearer " + good.substr(0, good.size() - 1),
         "signature is 42 base64url characters"},
        {"bad signature char", "Bearer " + good.substr(0, good.size() - 1) + "*",
         "signature is not base64url"},
        {"oversized", "Bearer " + good + std::string(3000, 'A'), "limit 2048"},
    };
    for (const Case& c : cases) {
        JwtVerifier v(test_secret());
        Result<void> r = v.verify_authorization(c.authorization, now);
        if (!c.reason) {
            EXPECT_TRUE(r.has_value()) << c.name << ": " << r.error().message();
            continue;
        }
        ASSERT_FALSE(r.has_value()) << c.name;
        EXPECT_EQ(r.error().code(), Errc::unauthorized) << c.name;
        EXPECT_NE(r.error().message().find(c.reason), std::string_view::npos)
            << c.name << ": \"" << r.error().message() << "\" lacks \"" << c.reason << "\"";
    }
}

TEST(JwtVerifier, CacheSkipsHmacForTheSameTokenOnlyWhileInWindow) {
    JwtVerifier v(test_secret());
    std::string auth = "Bearer " + good_token();
    ASSERT_TRUE(v.verify_authorization(auth, now).has_value());
    EXPECT_EQ(v.cache_hits(), 0u);
    ASSERT_TRUE(v.verify_authorization(auth, now + 30).has_value());
    EXPECT_EQ(v.cache_hits(), 1u);
    Result<void> late = v.verify_authorization(auth, now + 61);
    ASSERT_FALSE(late.has_value());
    EXPECT_NE(late.error().message().find("iat is 61 s from now"), std::string_view::npos);
    // Same length, one byte different: not served from the cache, fails the signature.
    std::string other = auth;
    other[auth.size() - 2] = other[auth.size() - 2] == 'A' ? 'B' : 'A';
    Result<void> r = v.verify_authorization(other, now);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(v.cache_hits(), 1u);
    // A cached token with exp honours exp on later hits.
    std::string with_exp = "Bearer " + mint(hs256, R"({"iat":1700000000,"exp":1700000005})");
    ASSERT_TRUE(v.verify_authorization(with_exp, now).has_value());
    ASSERT_TRUE(v.verify_authorization(with_exp, now + 5).has_value());
    EXPECT_EQ(v.cache_hits(), 2u);
    EXPECT_FALSE(v.verify_authorization(with_exp, now + 6).has_value());
}

// One verifier across many tokens: the remembered good header and token must not let a bad
// token through.
TEST(JwtVerifier, MemoryOfEarlierTokensDoesNotWeakenChecks) {
    JwtVerifier v(test_secret());
    ASSERT_TRUE(v.verify_authorization("Bearer " + good_token(), now).has_value());
    Result<void> r = v.verify_authorization(
        "Bearer " + b64url(R"({"alg":"none"})") + "." + b64url(iat_payload(now)) + ".", now);
    ASSERT_FALSE(r.has_value());
    EXPECT_NE(r.error().message().find("alg \"none\""), std::string_view::npos);
    r = v.verify_authorization("Bearer " + mint(hs256, iat_payload(now + 1), test_secret(3)), now);
    ASSERT_FALSE(r.has_value());
    EXPECT_NE(r.error().message().find("signature does not match"), std::string_view::npos);
    r = v.verify_authorization("Bearer " + mint(hs256, R"({"exp":1})"), now);
    ASSERT_FALSE(r.has_value());
    EXPECT_NE(r.error().message().find("no iat"), std::string_view::npos);
    EXPECT_TRUE(
        v.verify_authorization("Bearer " + mint(hs256, iat_payload(now + 2)), now).has_value());
    EXPECT_EQ(v.cache_hits(), 0u);
}

TEST(JwtVerifier, CacheCanBeDisabled) {
    JwtVerifier v(test_secret(), false);
    std::string auth = "Bearer " + good_token();
    ASSERT_TRUE(v.verify_authorization(auth, now).has_value());
    ASSERT_TRUE(v.verify_authorization(auth, now).has_value());
    EXPECT_EQ(v.cache_hits(), 0u);
}

TEST(JwtSigner, TokenVerifiesIndependently) {
    JwtSigner signer(test_secret());
    std::string token(signer.bearer_token(now));
    size_t d2 = token.rfind('.');
    EXPECT_EQ(token.substr(d2 + 1), b64url(hmac(test_secret(), token.substr(0, d2))));
    size_t d1 = token.find('.');
    EXPECT_EQ(token.substr(0, d1), b64url(hs256));
    EXPECT_EQ(token.substr(d1 + 1, d2 - d1 - 1), b64url(iat_payload(now)));
    JwtVerifier v(test_secret());
    EXPECT_TRUE(v.verify_token(token, now).has_value());
    JwtVerifier wrong(test_secret(9));
    EXPECT_FALSE(wrong.verify_token(token, now).has_value());
}

TEST(JwtSigner, AnIdClaimFollowsIat) {
    JwtSigner signer(test_secret(), 0, "cl-1");
    std::string token(signer.bearer_token(now));
    size_t d1 = token.find('.');
    size_t d2 = token.rfind('.');
    EXPECT_EQ(token.substr(d1 + 1, d2 - d1 - 1), b64url(R"({"iat":1700000000,"id":"cl-1"})"));
    EXPECT_EQ(token.substr(d2 + 1), b64url(hmac(test_secret(), token.substr(0, d2))));
    JwtVerifier v(test_secret());
    EXPECT_TRUE(v.verify_token(token, now).has_value());
    std::string longest(JwtSigner::id_bytes_max, 'x');
    JwtSigner with_longest(test_secret(), 0, longest);
    std::string_view t = with_longest.bearer_token(-now);
    EXPECT_LE(t.size(), JwtSigner::token_bytes_max);
    char id[64];
    EXPECT_EQ(jwt_unverified_id("Bearer " + std::string(t), id), longest);
}

TEST(JwtSigner, CachesForCacheSeconds) {
    JwtSigner signer(test_secret(), 5);
    std::string a(signer.bearer_token(now));
    EXPECT_EQ(signer.mint_count(), 1u);
    EXPECT_EQ(signer.bearer_token(now + 4), a);
    EXPECT_EQ(signer.mint_count(), 1u);
    std::string b(signer.bearer_token(now + 5));
    EXPECT_EQ(signer.mint_count(), 2u);
    EXPECT_NE(a, b);
    EXPECT_EQ(b.substr(b.find('.') + 1, b.rfind('.') - b.find('.') - 1),
              b64url(iat_payload(now + 5)));
    std::string c(signer.bearer_token(now + 1));  // clock went back: re-mint
    EXPECT_EQ(signer.mint_count(), 3u);
    JwtSigner every(test_secret(), 0);
    (void)every.bearer_token(now);
    (void)every.bearer_token(now);
    EXPECT_EQ(every.mint_count(), 2u);
}

TEST(JwtSecret, Parsing) {
    const std::string hex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    for (const std::string& text :
         {hex, "0x" + hex, "0X" + hex, "  " + hex + "\n", "\t0x" + hex + "\r\n\n"}) {
        Result<JwtSecret> s = parse_jwt_secret(text);
        ASSERT_TRUE(s.has_value()) << text << ": " << s.error().message();
        for (size_t i = 0; i < 32; i++) EXPECT_EQ(s->key[i], i);
    }
    std::string upper = hex;
    for (char& c : upper) c = static_cast<char>(std::toupper(c));
    ASSERT_TRUE(parse_jwt_secret(upper).has_value());
    struct Bad {
        std::string text;
        const char* reason;
    } bad[] = {
        {"", "JWT secret is empty"},
        {"  \n", "JWT secret is empty"},
        {"0x", "JWT secret is empty"},
        {hex.substr(2), "not 32 bytes of hex (62 hex digits, expected 64)"},
        {hex + "00", "not 32 bytes of hex (66 hex digits, expected 64)"},
        {hex.substr(0, 10) + "g" + hex.substr(11),
         "not 32 bytes of hex (non-hex character at offset 10)"},
        {"0x" + hex.substr(0, 31) + " " + hex.substr(32),
         "not 32 bytes of hex (non-hex character at offset 33)"},
        {"0x0x" + hex, "not 32 bytes of hex (non-hex character at offset 3)"},
    };
    for (const Bad& b : bad) {
        Result<JwtSecret> s = parse_jwt_secret(b.text);
        ASSERT_FALSE(s.has_value()) << b.text;
        EXPECT_EQ(s.error().code(), Errc::invalid_input);
        EXPECT_NE(s.error().message().find(b.reason), std::string_view::npos)
            << "\"" << s.error().message() << "\" lacks \"" << b.reason << "\"";
    }
}

TEST(JwtSecret, ErrorsNeverQuoteTheText) {
    // A secret file may be any file an operator (or an attacker) names: what is wrong with it is
    // said by offset and count, never by showing its bytes (issue 19: `non-hex character 'r'`
    // leaked /etc/shadow's first byte).
    const std::string texts[] = {"root:x:0:0:root:/root:/bin/bash\n", "Zq", std::string(64, 'k'),
                                 "0x" + std::string(63, 'a') + "#", std::string("\x01\x7f\xff", 3)};
    for (const std::string& text : texts) {
        Result<JwtSecret> s = parse_jwt_secret(text);
        ASSERT_FALSE(s.has_value()) << text;
        std::string message(s.error().message());
        EXPECT_NE(message.find("not 32 bytes of hex"), std::string::npos) << message;
        for (char c : text) {
            std::string quoted = std::string("'") + c + "'";
            EXPECT_EQ(message.find(quoted), std::string::npos) << message;
            char byte[8];
            std::snprintf(byte, sizeof byte, "0x%02x", static_cast<uint8_t>(c));
            EXPECT_EQ(message.find(byte), std::string::npos) << message;
        }
    }
}

class TempFile {
  public:
    explicit TempFile(const std::string& content) {
        char name[] = "/tmp/em_jwt_test_XXXXXX";
        int fd = mkstemp(name);
        EXPECT_GE(fd, 0);
        path = name;
        EXPECT_EQ(write(fd, content.data(), content.size()), static_cast<ssize_t>(content.size()));
        close(fd);
    }
    ~TempFile() { unlink(path.c_str()); }
    std::string path;
};

TEST(JwtSecret, Files) {
    TempFile good("0x000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n");
    Result<JwtSecret> s = load_jwt_secret_file(good.path.c_str());
    ASSERT_TRUE(s.has_value()) << s.error().message();
    EXPECT_EQ(s->key[31], 31);

    Result<JwtSecret> missing = load_jwt_secret_file("/nonexistent/jwt.hex");
    ASSERT_FALSE(missing.has_value());
    EXPECT_EQ(missing.error().code(), Errc::not_found);
    EXPECT_EQ(missing.error().message(),
              "jwt secret file /nonexistent/jwt.hex: No such file or directory");

    TempFile short_file("abcd\n");
    Result<JwtSecret> bad = load_jwt_secret_file(short_file.path.c_str());
    ASSERT_FALSE(bad.has_value());
    EXPECT_EQ(bad.error().message(), "jwt secret file " + short_file.path +
                                         ": not 32 bytes of hex (4 hex digits, expected 64)");

    TempFile big(std::string(5000, 'a'));
    Result<JwtSecret> too_big = load_jwt_secret_file(big.path.c_str());
    ASSERT_FALSE(too_big.has_value());
    EXPECT_NE(too_big.error().message().find("larger than 4096 bytes"), std::string_view::npos);
    EXPECT_NE(too_big.error().message().find(big.path), std::string_view::npos);

    Result<JwtSecret> dir = load_jwt_secret_file("/tmp");
    ASSERT_FALSE(dir.has_value());
    EXPECT_NE(dir.error().message().find("jwt secret file /tmp: "), std::string_view::npos);
}

}  // namespace
}  // namespace em::http
