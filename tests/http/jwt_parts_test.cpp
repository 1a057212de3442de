// The pieces under JWT: base64url (RFC 4648 vectors, strictness), HmacSha256 against OpenSSL's
// HMAC(), and the strict JSON object reader.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <random>
#include <string>
#include <vector>

#include "http/base64url.h"
#include "http/hmac.h"
#include "http/jwt_json.h"

namespace em::http {
namespace {

std::string encode(std::string_view s) {
    std::string out(base64url_encoded_bytes(s.size()), '\0');
    size_t n = base64url_encode(std::span(reinterpret_cast<const uint8_t*>(s.data()), s.size()),
                                out.data());
    EXPECT_EQ(n, out.size());
    return out;
}

Result<std::string> decode(std::string_view s) {
    std::string out(base64url_decoded_bytes_max(s.size()) + 1, '\0');
    size_t n = EM_TRY(base64url_decode(s, reinterpret_cast<uint8_t*>(out.data()), out.size()));
    out.resize(n);
    return out;
}

TEST(Base64Url, Rfc4648Vectors) {
    const std::pair<const char*, const char*> vectors[] = {
        {"", ""},
        {"f", "Zg"},
        {"fo", "Zm8"},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg"},
        {"fooba", "Zm9vYmE"},
        {"foobar", "Zm9vYmFy"},
        {"\xfb\xff", "-_8"},  // the url-safe alphabet
    };
    for (auto [plain, coded] : vectors) {
        EXPECT_EQ(encode(plain), coded);
        Result<std::string> d = decode(coded);
        ASSERT_TRUE(d.has_value()) << coded << ": " << d.error().message();
        EXPECT_EQ(*d, plain);
    }
}

TEST(Base64Url, RandomRoundTrip) {
    std::mt19937 rng(42);
    for (size_t n = 0; n < 200; n++) {
        std::string data(n, '\0');
        for (char& c : data) c = static_cast<char>(rng());
        Result<std::string> d = decode(encode(data));
        ASSERT_TRUE(d.has_value());
        EXPECT_EQ(*d, data);
    }
}

TEST(Base64Url, StrictDecoding) {
    struct Bad {
        const char* text;
        const char* reason;
    } bad[] = {
        {"Zg==", "padding '=' at 2"},
        {"Zm9v+A", "invalid base64url character '+' at 4"},
        {"Zm9v/A", "'/' at 4"},
        {"Zm 9v", "invalid base64url byte 0x20 at 2"},
        {"Zm9vY", "base64url length 5 is impossible"},
        {"Zh", "non-zero trailing bits"},
        {"Zm9", "non-zero trailing bits"},
    };
    for (const Bad& b : bad) {
        Result<std::string> d = decode(b.text);
        ASSERT_FALSE(d.has_value()) << b.text;
        EXPECT_NE(d.error().message().find(b.reason), std::string_view::npos)
            << d.error().message();
    }
    uint8_t small[2];
    Result<size_t> r = base64url_decode("Zm9vYmFy", small, sizeof small);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code(), Errc::too_large);
}

TEST(HmacSha256, MatchesOpenSslHmac) {
    std::mt19937 rng(7);
    for (size_t key_bytes : {0, 1, 32, 63, 64, 65, 200}) {
        std::vector<uint8_t> key(key_bytes);
        for (auto& b : key) b = static_cast<uint8_t>(rng());
        HmacSha256 h(key);
        for (size_t msg_bytes : {0, 1, 55, 56, 63, 64, 65, 119, 1000}) {
            std::string msg(msg_bytes, '\0');
            for (char& c : msg) c = static_cast<char>(rng());
            unsigned char want[32];
            unsigned int len = 0;
            HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
                 reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), want, &len);
            HmacSha256::Digest got = h.mac(msg);
            EXPECT_EQ(std::memcmp(got.data(), want, 32), 0) << key_bytes << "/" << msg_bytes;
            EXPECT_EQ(h.mac(msg), got);  // the pad states are not consumed
        }
    }
}

using detail::JsonKind;
using detail::JsonMember;
using detail::JsonObjectReader;

/// Reads all members; returns "key=kind:text" lines, or the error message.
std::string read_all(std::string_view json) {
    std::vector<char> scratch(json.size() + 1);
    JsonObjectReader r(json, scratch.data(), scratch.size());
    std::string out;
    JsonMember m;
    for (;;) {
        Result<bool> more = r.next(m);
        if (!more) return "error: " + std::string(more.error().message());
        if (!*more) return out;
        out += std::string(m.key) + "=" + std::to_string(static_cast<int>(m.kind)) + ":" +
               std::string(m.kind == JsonKind::string ? m.text : m.raw) + ";";
    }
}

TEST(JsonObjectReader, Members) {
    EXPECT_EQ(read_all("{}"), "");
    EXPECT_EQ(read_all(" \n{ } \t"), "");
    EXPECT_EQ(read_all(R"({"a":"x","b":12,"c":-0.5e+3,"d":true,"e":false,"f":null})"),
              "a=0:x;b=1:12;c=1:-0.5e+3;d=2:true;e=2:false;f=3:null;");
    EXPECT_EQ(read_all(R"({"o":{"k":[1,{"z":[]},"s"]},"a":[],"n":{}})"),
              R"(o=4:{"k":[1,{"z":[]},"s"]};a=5:[];n=4:{};)");
    EXPECT_EQ(read_all(R"({"\u0061lg":"\"\\\/\b\f\n\r\t","u":"\u00e9\u20ac\ud83d\ude00"})"),
              "alg=0:\"\\/\b\f\n\r\t;u=0:\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80;");
    EXPECT_EQ(read_all("{\"utf8\":\"caf\xc3\xa9 \xf0\x9f\x98\x80\"}"),
              "utf8=0:caf\xc3\xa9 \xf0\x9f\x98\x80;");
    EXPECT_EQ(read_all(R"({"dup":1,"dup":2})"), "dup=1:1;dup=1:2;");  // the caller decides
}

TEST(JsonObjectReader, Errors) {
    const char* bad[] = {
        "",
        "[]",
        "{",
        "{\"a\"}",
        "{\"a\":}",
        "{\"a\":1,}",
        "{,}",
        "{\"a\":1}x",
        "{\"a\":1}{}",
        "{a:1}",
        "{'a':1}",
        "{\"a\":01}",
        "{\"a\":1.}",
        "{\"a\":-}",
        "{\"a\":.5}",
        "{\"a\":1e}",
        "{\"a\":+1}",
        "{\"a\":tru}",
        "{\"a\":nul}",
        "{\"a\":\"\x01\"}",
        "{\"a\":\"\\x\"}",
        "{\"a\":\"\\u12\"}",
        "{\"a\":\"\\ud800\"}",
        "{\"a\":\"\\udc00\"}",
        "{\"a\":\"\\ud800\\u0041\"}",
        "{\"a\":\"\xc0\x80\"}",
        "{\"a\":\"\xed\xa0\x80\"}",
        "{\"a\":\"\xf4\x90\x80\x80\"}",
        "{\"a\":\"\xe2\x82\"}",
        "{\"a\":\"\x80\"}",
        "{\"a\":\"abc",
        "{\"a\":[1 2]}",
        "{\"a\":[1,]}",
        "{\"a\":{\"b\"}}",
        "{\"a\":NaN}",
        "{\"a\":Infinity}",
    };
    for (const char* b : bad) {
        std::string r = read_all(b);
        EXPECT_EQ(r.rfind("error: ", 0), 0u) << "accepted: " << b << " -> " << r;
    }
    std::string deep = "{\"a\":" + std::string(16, '[') + std::string(16, ']') + "}";
    EXPECT_EQ(read_all(deep).rfind("error", 0), std::string::npos) << read_all(deep);
    std::string deeper = "{\"a\":" + std::string(17, '[') + std::string(17, ']') + "}";
    EXPECT_NE(read_all(deeper).find("nested too deeply"), std::string::npos);
    EXPECT_NE(read_all("{\"a\":1}  x").find("at offset 9"), std::string::npos);
}

TEST(JsonSeconds, Values) {
    EXPECT_EQ(detail::json_seconds("1700000000").value(), 1700000000);
    EXPECT_EQ(detail::json_seconds("-5").value(), -5);
    EXPECT_EQ(detail::json_seconds("12.999").value(), 12);
    EXPECT_EQ(detail::json_seconds("0").value(), 0);
    EXPECT_EQ(detail::json_seconds("999999999999999").value(), 999999999999999);
    EXPECT_FALSE(detail::json_seconds("1000000000000000").has_value());
    EXPECT_FALSE(detail::json_seconds("1e9").has_value());
    EXPECT_FALSE(detail::json_seconds("").has_value());
    EXPECT_FALSE(detail::json_seconds("-").has_value());
}

}  // namespace
}  // namespace em::http
