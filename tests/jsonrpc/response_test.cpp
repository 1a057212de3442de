// ResponseParser (results, errors with/without data, wrong shapes, batches) and same_id.
#include "jsonrpc/response.h"

#include <gtest/gtest.h>

#include <string>

#include "jsonrpc/json_text.h"
#include "padded.h"

namespace em::jsonrpc {
namespace {

using test::Padded;

constexpr size_t body_max = 1 << 20;

TEST(ResponseParser, Result) {
    ResponseParser p(16, body_max);
    std::string text =
        R"( {"jsonrpc":"2.0","id":7,"result":{"status":"VALID","latestValidHash":null}} )";
    Padded b(text);
    auto r = p.parse(b.data(), b.size(), b.capacity());
    ASSERT_TRUE(r.has_value()) << r.error().message();
    EXPECT_FALSE(r->is_error);
    EXPECT_EQ(r->id, "7");
    EXPECT_EQ(r->result, R"({"status":"VALID","latestValidHash":null})");
    EXPECT_EQ(r->raw, trim_json_space(text));
    EXPECT_TRUE(b.contains(r->result));
    EXPECT_TRUE(r->error_raw.empty());
}

TEST(ResponseParser, ScalarResults) {
    ResponseParser p(16, body_max);
    for (const char* result : {"\"0x10\"", "null", "true", "12", "[]", "\"a\\\"b\""}) {
        Padded b(std::string(R"({"id":"x","result":)") + result + R"( ,"jsonrpc":"2.0"})");
        auto r = p.parse(b.data(), b.size(), b.capacity());
        ASSERT_TRUE(r.has_value()) << result << ": " << r.error().message();
        EXPECT_EQ(r->result, result);
        EXPECT_EQ(r->id, "\"x\"");
    }
}

TEST(ResponseParser, ErrorWithAndWithoutData) {
    ResponseParser p(16, body_max);
    Padded b(
        R"({"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"boom \"x\"","data":{"err":"y"}}})");
    auto r = p.parse(b.data(), b.size(), b.capacity());
    ASSERT_TRUE(r.has_value()) << r.error().message();
    EXPECT_TRUE(r->is_error);
    EXPECT_EQ(r->error_code, code::server_error);
    EXPECT_EQ(r->error_message, R"(boom \"x\")");
    EXPECT_EQ(r->error_data, R"({"err":"y"})");
    EXPECT_EQ(r->error_raw, R"({"code":-32000,"message":"boom \"x\"","data":{"err":"y"}})");
    EXPECT_TRUE(r->result.empty());

    Padded n(R"({"jsonrpc":"2.0","id":null,"error":{"message":"Parse error","code":-32700}})");
    auto e = p.parse(n.data(), n.size(), n.capacity());
    ASSERT_TRUE(e.has_value()) << e.error().message();
    EXPECT_EQ(e->error_code, code::parse_error);
    EXPECT_EQ(e->id, "null");
    EXPECT_TRUE(e->error_data.empty());
    EXPECT_EQ(e->error_raw, R"({"message":"Parse error","code":-32700})");
}

TEST(ResponseParser, WrongShapes) {
    ResponseParser p(16, body_max);
    // `at`: the text whose first occurrence in the body is the offset the message names.
    struct Case {
        const char* body;
        const char* message;
        const char* at;
    } cases[] = {
        {R"([1])", "response: not a JSON object", nullptr},
        {R"("x")", "response: not a JSON object", nullptr},
        {R"({"jsonrpc":"2.0","result":1})", "response: id: missing", "\"jsonrpc\""},
        {R"({"id":1,"result":1})", "response: jsonrpc: missing", "\"id\""},
        {R"({"jsonrpc":"1.0","id":1,"result":1})", "response: jsonrpc: must be \"2.0\"", "\"1.0\""},
        {R"({"jsonrpc":2,"id":1,"result":1})", "response: jsonrpc: must be \"2.0\"", "2,"},
        {R"({"jsonrpc":"2.0","id":1})", "response: neither result nor error present",
         "\"jsonrpc\""},
        {R"({"jsonrpc":"2.0","id":1,"result":1,"error":{"code":1,"message":"m"}})",
         "response: both result and error present", "\"jsonrpc\""},
        {R"({"jsonrpc":"2.0","id":1,"error":"boom"})", "response: error: must be an object",
         "\"boom"},
        {R"({"jsonrpc":"2.0","id":1,"error":{"code":1.5,"message":"m"}})",
         "response: error.code: must be an integer", "1.5"},
        {R"({"jsonrpc":"2.0","id":1,"error":{"code":2147483648,"message":"m"}})",
         "response: error.code: must be an integer", "2147483648"},
        {R"({"jsonrpc":"2.0","id":1,"error":{"code":"1","message":"m"}})",
         "response: error.code: must be an integer", "\"1\""},
        {R"({"jsonrpc":"2.0","id":1,"error":{"message":"m"}})", "response: error.code: missing",
         "{\"message"},
        {R"({"jsonrpc":"2.0","id":1,"error":{"code":1}})", "response: error.message: missing",
         "{\"code"},
        {R"({"jsonrpc":"2.0","id":1,"error":{"code":1,"message":5}})",
         "response: error.message: must be a string", "5}"},
        {R"({"jsonrpc":"2.0","id":1,"error":{"code":1,"code":2,"message":"m"}})",
         "response: error: duplicate member", "\"code\":2"},
        {R"({"jsonrpc":"2.0","id":true,"result":1})",
         "response: id: must be a string, number or null", "true"},
        {R"({"jsonrpc":"2.0","id":1,"id":2,"result":1})", "response: duplicate member", "\"id\":2"},
        {R"({"jsonrpc":"2.0","id":1,"result":1} x)",
         "response: not JSON: unterminated object or trailing bytes", nullptr},
        {R"({"jsonrpc":"2.0","id":1,"result":1} {})", "response: trailing bytes after the response",
         " {}"},
        {R"({"jsonrpc":"2.0","id":1,"result":[tru]})", "response: invalid literal", "tru"},
        {"", "response: empty", nullptr},
        {R"({"jsonrpc":"2.0","id":1,"result":["a":1]})",
         "response: expected ',' or a closing bracket", ":1]"},
        {R"({"jsonrpc":"2.0","id":"a":"b","result":1})",
         "response: expected ',' or a closing bracket", ":\"b"},
    };
    for (const Case& c : cases) {
        Padded b(c.body);
        auto r = p.parse(b.data(), b.size(), b.capacity());
        ASSERT_FALSE(r.has_value()) << c.body;
        std::string expected = c.message;
        if (c.at) {
            size_t offset = std::string_view(c.body).find(c.at);
            ASSERT_NE(offset, std::string_view::npos) << c.at;
            if (c.at[0] == ' ') offset++;
            expected += " at byte " + std::to_string(offset);
        }
        EXPECT_EQ(r.error().message(), expected) << c.body;
    }
}

TEST(ResponseParser, LenientJsonrpcMember) {
    Limits limits;
    limits.jsonrpc_member_optional = true;
    ResponseParser p(limits);
    Padded b(R"({"id":1,"result":"0x1"})");
    auto r = p.parse(b.data(), b.size(), b.capacity());
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->result, "\"0x1\"");
}

TEST(ResponseParser, Batch) {
    ResponseParser p(4, body_max);
    std::string a = R"({"jsonrpc":"2.0","id":1,"result":"0x1"})";
    std::string b = R"({"jsonrpc":"2.0","id":2,"error":{"code":-32601,"message":"no"}})";
    Padded body("[" + a + " ,\n" + b + "]");
    auto r = p.parse_batch(body.data(), body.size(), body.capacity());
    ASSERT_TRUE(r.has_value()) << r.error().message();
    EXPECT_TRUE(r->batch);
    ASSERT_EQ(r->responses.size(), 2u);
    EXPECT_EQ(r->responses[0].raw, a);
    EXPECT_EQ(r->responses[1].raw, b);
    EXPECT_EQ(r->responses[1].error_code, code::method_not_found);

    Padded single(b);
    auto s = p.parse_batch(single.data(), single.size(), single.capacity());
    ASSERT_TRUE(s.has_value());
    EXPECT_FALSE(s->batch);
    ASSERT_EQ(s->responses.size(), 1u);
    EXPECT_EQ(s->responses[0].error_code, code::method_not_found);

    Padded empty(" [ ] ");
    auto e = p.parse_batch(empty.data(), empty.size(), empty.capacity());
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->responses.size(), 0u);

    Padded bad("[" + a + ",1]");
    auto x = p.parse_batch(bad.data(), bad.size(), bad.capacity());
    ASSERT_FALSE(x.has_value());
    EXPECT_EQ(x.error().message(),
              "response batch[1]: not an object at byte " + std::to_string(a.size() + 2));

    Padded five("[" + a + "," + a + "," + a + "," + a + "," + a + "]");
    auto f = p.parse_batch(five.data(), five.size(), five.capacity());
    ASSERT_FALSE(f.has_value());
    EXPECT_EQ(f.error().code(), Errc::too_large);

    Padded scalar("5");
    EXPECT_FALSE(p.parse_batch(scalar.data(), scalar.size(), scalar.capacity()).has_value());
}

TEST(SameId, ComparesJsonValues) {
    EXPECT_TRUE(same_id("1", "1"));
    EXPECT_TRUE(same_id(" 1 ", "1\n"));
    EXPECT_TRUE(same_id("1", "1.0"));
    EXPECT_TRUE(same_id("100", "1e2"));
    EXPECT_TRUE(same_id("0.5", "5E-1"));
    EXPECT_TRUE(same_id("-0", "0"));
    EXPECT_TRUE(same_id("123456789012345678901234567890", "1.2345678901234567890123456789e29"));
    EXPECT_TRUE(same_id("\"a\"", "\"a\""));
    EXPECT_TRUE(same_id("\"a\"", "\"\\u0061\""));
    EXPECT_TRUE(same_id("\"\\ud83d\\ude00\"", "\"\xf0\x9f\x98\x80\""));
    EXPECT_TRUE(same_id("null", "null"));
    EXPECT_TRUE(same_id("", ""));
    EXPECT_FALSE(same_id("1", "2"));
    EXPECT_FALSE(same_id("1", "10"));
    EXPECT_FALSE(same_id("1", "-1"));
    EXPECT_FALSE(same_id("1", "\"1\""));
    EXPECT_FALSE(same_id("\"a\"", "\"b\""));
    EXPECT_FALSE(same_id("\"a\"", "\"a \""));
    EXPECT_FALSE(same_id("null", "0"));
    EXPECT_FALSE(same_id("null", "\"null\""));
    EXPECT_FALSE(same_id("", "null"));
    EXPECT_FALSE(same_id("123456789012345678901234567890", "123456789012345678901234567891"));
}

TEST(SameId, MatchesAResponseToItsRequest) {
    ResponseParser p(16, body_max);
    Padded b(R"({"jsonrpc":"2.0","id":"req-\u0031","result":null})");
    auto r = p.parse(b.data(), b.size(), b.capacity());
    ASSERT_TRUE(r.has_value());
    EXPECT_TRUE(same_id(r->id, "\"req-1\""));
    EXPECT_FALSE(same_id(r->id, "\"req-2\""));
}

}  // namespace
}  // namespace em::jsonrpc
