// Writers: exact output, escaping of every control character and invalid UTF-8, round trips
// through the response parser and through simdjson's DOM parser, and buffer limits.
#include "jsonrpc/writer.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <cstdio>
#include <string>

#include "jsonrpc/request.h"
#include "jsonrpc/response.h"
#include "padded.h"

namespace em::jsonrpc {
namespace {

using test::Padded;

// The string simdjson's DOM parser reads back from a JSON text holding one string.
std::string dom_string(std::string_view json) {
    simdjson::dom::parser parser;
    simdjson::padded_string padded(json);
    std::string_view s;
    auto error = parser.parse(padded).get_string().get(s);
    EXPECT_EQ(error, simdjson::SUCCESS) << json;
    return std::string(s);
}

std::string json_string(std::string_view text) {
    ByteBuffer out;
    EXPECT_TRUE(write_json_string(out, text));
    return std::string(out.view());
}

TEST(Writer, Result) {
    ByteBuffer out;
    EXPECT_TRUE(write_result(out, "7", R"({"a":[1]})"));
    EXPECT_EQ(out.view(), R"({"jsonrpc":"2.0","id":7,"result":{"a":[1]}})");
    out.clear();
    EXPECT_TRUE(write_result(out, {}, "null"));
    EXPECT_EQ(out.view(), R"({"jsonrpc":"2.0","id":null,"result":null})");
}

TEST(Writer, Error) {
    ByteBuffer out;
    EXPECT_TRUE(write_error(out, "\"a\"", code::invalid_request, "method: must be a string"));
    EXPECT_EQ(
        out.view(),
        R"({"jsonrpc":"2.0","id":"a","error":{"code":-32600,"message":"method: must be a string"}})");
    out.clear();
    EXPECT_TRUE(write_error(out, {}, code::server_error, "x\"y", R"({"err":"z"})"));
    EXPECT_EQ(
        out.view(),
        R"({"jsonrpc":"2.0","id":null,"error":{"code":-32000,"message":"x\"y","data":{"err":"z"}}})");
}

TEST(Writer, EscapesEveryControlCharacter) {
    for (int c = 0; c < 0x20; c++) {
        std::string text(1, static_cast<char>(c));
        std::string expected;
        switch (c) {
            case '\b':
                expected = "\"\\b\"";
                break;
            case '\f':
                expected = "\"\\f\"";
                break;
            case '\n':
                expected = "\"\\n\"";
                break;
            case '\r':
                expected = "\"\\r\"";
                break;
            case '\t':
                expected = "\"\\t\"";
                break;
            default: {
                char u[16];
                std::snprintf(u, sizeof u, "\"\\u%04x\"", c);
                expected = u;
            }
        }
        std::string written = json_string(text);
        EXPECT_EQ(written, expected) << c;
        EXPECT_EQ(dom_string(written), text) << c;
    }
    EXPECT_EQ(json_string("\""), R"("\"")");
    EXPECT_EQ(json_string("\\"), R"("\\")");
    EXPECT_EQ(json_string("/\x7f"), "\"/\x7f\"");
}

TEST(Writer, Utf8IsKeptAndInvalidBytesReplaced) {
    std::string valid = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xef\xbf\xbf\xf4\x8f\xbf\xbfz";
    EXPECT_EQ(json_string(valid), "\"" + valid + "\"");
    struct Case {
        std::string in, out;
    } cases[] = {
        {"\xc0\x80", R"("\ufffd\ufffd")"},                      // overlong NUL
        {"\xe0\x80\xaf", R"("\ufffd\ufffd\ufffd")"},            // overlong '/'
        {"\xed\xa0\x80", R"("\ufffd\ufffd\ufffd")"},            // surrogate
        {"\xf4\x90\x80\x80", R"("\ufffd\ufffd\ufffd\ufffd")"},  // above U+10FFFF
        {"\xf5", R"("\ufffd")"},
        {"\xe2\x82", R"("\ufffd\ufffd")"},  // truncated
        {"a\x80z", R"("a\ufffdz")"},        // lone continuation
        {"\xff\"", R"("\ufffd\"")"},
    };
    for (const Case& c : cases) {
        std::string written = json_string(c.in);
        EXPECT_EQ(written, c.out);
        std::string back = dom_string(written);  // always valid JSON
        EXPECT_NE(back.find("\xef\xbf\xbd"), std::string::npos);
    }
}

TEST(Writer, StringRoundTripsThroughSimdjson) {
    uint64_t seed = 0x9E3779B97F4A7C15ull;
    const char* pieces[] = {"a",    "\"",   "\\",       "\n",           "\x01",
                            "\x1f", " ",    "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
                            "/",    "\x7f", "0x"};
    for (int round = 0; round < 500; round++) {
        std::string text;
        int n = static_cast<int>(seed % 24);
        for (int i = 0; i < n; i++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            text += pieces[(seed >> 33) % (sizeof pieces / sizeof pieces[0])];
        }
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        EXPECT_EQ(dom_string(json_string(text)), text);
    }
}

TEST(Writer, ErrorRoundTripsThroughTheResponseParser) {
    ByteBuffer out;
    std::string message = "bad \"params\"\n\t\x01 \xc3\xa9";
    ASSERT_TRUE(write_error(out, "\"id-1\"", code::invalid_params, message, R"({"err":[1,2]})"));
    ResponseParser p(4, 1 << 20);
    Padded b(out.view());
    auto r = p.parse(b.data(), b.size(), b.capacity());
    ASSERT_TRUE(r.has_value()) << r.error().message();
    EXPECT_TRUE(r->is_error);
    EXPECT_EQ(r->error_code, code::invalid_params);
    EXPECT_TRUE(same_id(r->id, "\"id-1\""));
    EXPECT_EQ(r->error_data, R"({"err":[1,2]})");
    EXPECT_EQ(dom_string("\"" + std::string(r->error_message) + "\""), message);
}

TEST(Writer, BatchRoundTripsAndRepliesWithTheRequestIds) {
    RequestParser requests(8, 1 << 20);
    Padded in(R"([{"jsonrpc":"2.0","id":1,"method":"a"},{"jsonrpc":"2.0","id":"x","method":7},)"
              R"({"jsonrpc":"2.0","method":"n"},{"jsonrpc":"2.0","id":null,"method":"b"}])");
    auto envelope = requests.parse(in.data(), in.size(), in.capacity());
    ASSERT_TRUE(envelope.has_value());
    ByteBuffer out;
    ASSERT_TRUE(begin_batch(out));
    bool first = true;
    for (const Entry& e : envelope->entries) {
        if (!e.wants_response()) continue;
        if (!first) {
            ASSERT_TRUE(batch_separator(out));
        }
        first = false;
        bool ok = e.ok ? write_result(out, e.request.id, "\"0x1\"")
                       : write_error(out, e.request.id, e.error_code, e.error_message);
        ASSERT_TRUE(ok);
    }
    ASSERT_TRUE(end_batch(out));
    ResponseParser responses(8, 1 << 20);
    Padded back(out.view());
    auto r = responses.parse_batch(back.data(), back.size(), back.capacity());
    ASSERT_TRUE(r.has_value()) << r.error().message() << "\n" << out.view();
    ASSERT_EQ(r->responses.size(), 3u);
    EXPECT_TRUE(same_id(r->responses[0].id, "1"));
    EXPECT_EQ(r->responses[0].result, "\"0x1\"");
    EXPECT_TRUE(same_id(r->responses[1].id, "\"x\""));
    EXPECT_EQ(r->responses[1].error_code, code::invalid_request);
    EXPECT_EQ(r->responses[1].error_message, "method: must be a string");
    EXPECT_EQ(r->responses[2].id, "null");

    // And through simdjson's DOM parser.
    simdjson::dom::parser dom;
    simdjson::padded_string padded(out.view());
    simdjson::dom::array array;
    ASSERT_EQ(dom.parse(padded).get_array().get(array), simdjson::SUCCESS);
    EXPECT_EQ(array.size(), 3u);
}

TEST(Writer, OnlyIdsSomeElRefusesAreReplaced) {
    // anvil (jsonrpsee) refuses each of these with -32600 and id null; JS reads 2^53+1 as 2^53.
    for (const char* id : {"1e0", "-1", "0.5", "-0.5e-3", "18446744073709551617",
                           "9007199254740993", "1000000000000000", "01"})
        EXPECT_TRUE(id_needs_replacing(id)) << id;
    for (const char* id : {"0", "7", "999999999999999", "\"x\"", "\"a\\u0062\"", "null", ""})
        EXPECT_FALSE(id_needs_replacing(id)) << id;
}

TEST(Writer, WithIdReplacesTheIdInsideTheRequestText) {
    std::string request = R"({"jsonrpc":"2.0","id": 1e0 ,"method":"eth_chainId"})";
    std::string_view text = request;
    std::string_view id = text.substr(text.find("1e0"), 3);
    ByteBuffer out;
    out.append("[");
    ASSERT_TRUE(write_with_id(out, text, id, upstream_id));
    EXPECT_EQ(out.view(), R"([{"jsonrpc":"2.0","id": 4 ,"method":"eth_chainId"})");
    std::string elsewhere = "1e0";
    EXPECT_FALSE(write_with_id(out, text, elsewhere, upstream_id)) << "an id not in the text";
    EXPECT_FALSE(write_with_id(out, text, {}, upstream_id));
    EXPECT_EQ(out.size(), request.size() - 2 + 1) << "a refusal appends nothing";
}

TEST(Writer, ReportsBufferOverflow) {
    ByteBuffer out(32, 16);
    EXPECT_FALSE(write_error(out, "1", code::internal_error, "a message longer than the buffer"));
    EXPECT_TRUE(out.overflowed());
    ByteBuffer small(8, 8);
    EXPECT_FALSE(write_json_string(small, "0123456789"));
}

TEST(Writer, NoAllocationOnceGrown) {
    ByteBuffer out(1 << 16, 4096);
    const char* before = out.data();
    for (int i = 0; i < 100; i++) {
        out.clear();
        ASSERT_TRUE(write_error(out, "12", code::invalid_request, "x\n"));
        ASSERT_TRUE(write_result(out, "12", "\"0x0\""));
    }
    EXPECT_EQ(out.data(), before);
}

}  // namespace
}  // namespace em::jsonrpc
