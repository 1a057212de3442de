// RequestParser: JSON-RPC 2.0 envelopes (single, batch, notifications, ids, params, methods,
// duplicates, limits, malformed JSON) and rewind_to_params.
#include "jsonrpc/request.h"

#include <gtest/gtest.h>

#include <string>

#include "padded.h"

namespace em::jsonrpc {
namespace {

using test::Padded;

constexpr size_t body_max = 1 << 20;

struct Parsed {
    Padded body;
    Result<Envelope> envelope;
};

// Parses text with p; the Padded body stays alive with the result.
std::unique_ptr<Parsed> parse(RequestParser& p, std::string_view text) {
    auto out = std::make_unique<Parsed>(Parsed{Padded(text), Result<Envelope>()});
    out->envelope = p.parse(out->body.data(), out->body.size(), out->body.capacity());
    return out;
}

// A single-request body must parse to one entry; returns it.
Entry single(const std::unique_ptr<Parsed>& r) {
    EXPECT_TRUE(r->envelope.has_value()) << r->envelope.error().message();
    if (!r->envelope) return Entry{};
    EXPECT_FALSE(r->envelope->batch);
    EXPECT_EQ(r->envelope->entries.size(), 1u);
    return r->envelope->entries[0];
}

int whole_body_code(const std::unique_ptr<Parsed>& r) {
    EXPECT_FALSE(r->envelope.has_value());
    return r->envelope ? 0 : error_code_of(r->envelope.error());
}

TEST(RequestParser, SingleBlockNumber) {
    RequestParser p(16, body_max);
    std::string text = R"({"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]})";
    auto r = parse(p, text);
    Entry e = single(r);
    EXPECT_TRUE(e.ok);
    EXPECT_EQ(e.request.method, "eth_blockNumber");
    EXPECT_EQ(e.request.id, "1");
    EXPECT_EQ(e.request.params, "[]");
    EXPECT_EQ(e.request.raw, text);
    EXPECT_TRUE(r->body.contains(e.request.method));
    EXPECT_TRUE(r->body.contains(e.request.raw));
    EXPECT_TRUE(e.wants_response());
}

TEST(RequestParser, WhitespaceEverywhere) {
    RequestParser p(16, body_max);
    std::string obj =
        "{ \"jsonrpc\" :\t\"2.0\" ,\n\"id\"\r\n: 7 , \"method\" : \"m\" , \"params\" : [ 1 ,\n2 ] "
        "}";
    auto r = parse(p, " \n\t" + obj + " \r\n ");
    Entry e = single(r);
    EXPECT_TRUE(e.ok) << e.error_message;
    EXPECT_EQ(e.request.id, "7");
    EXPECT_EQ(e.request.method, "m");
    EXPECT_EQ(e.request.params, "[ 1 ,\n2 ]");
    EXPECT_EQ(e.request.raw, obj);
}

TEST(RequestParser, EveryIdType) {
    RequestParser p(16, body_max);
    const char* ids[] = {"7",
                         "-1",
                         "0",
                         "1.5e-3",
                         "\"abc\"",
                         "\"\"",
                         "\"a\\\"b\\u00e9\"",
                         "null",
                         "123456789012345678901234567890123456789",
                         "1e400",
                         "-0.0"};
    for (const char* id : ids) {
        std::string text = std::string(R"({"jsonrpc":"2.0","method":"m","id":)") + id + "}";
        auto r = parse(p, text);
        Entry e = single(r);
        EXPECT_TRUE(e.ok) << id << ": " << (e.error_message ? e.error_message : "");
        EXPECT_EQ(e.request.id, id);
        EXPECT_TRUE(r->body.contains(e.request.id));
    }
}

TEST(RequestParser, BadIdTypesAreInvalidRequestsWithNullId) {
    RequestParser p(16, body_max);
    for (const char* id : {"true", "false", "{}", "[1]", "{\"a\":1}"}) {
        auto r = parse(p, std::string(R"({"jsonrpc":"2.0","method":"m","id":)") + id + "}");
        Entry e = single(r);
        EXPECT_FALSE(e.ok) << id;
        EXPECT_EQ(e.error_code, code::invalid_request);
        EXPECT_STREQ(e.error_message, "id: must be a string, number or null");
        EXPECT_EQ(e.request.id, "null");
    }
}

TEST(RequestParser, Notifications) {
    RequestParser p(16, body_max);
    auto r = parse(p, R"({"jsonrpc":"2.0","method":"eth_subscription","params":{"a":1}})");
    Entry e = single(r);
    EXPECT_TRUE(e.ok);
    EXPECT_TRUE(e.request.id.empty());
    EXPECT_FALSE(e.wants_response());
    // "id": null is a request with a null id, not a notification.
    auto r2 = parse(p, R"({"jsonrpc":"2.0","method":"m","id":null})");
    Entry e2 = single(r2);
    EXPECT_EQ(e2.request.id, "null");
    EXPECT_TRUE(e2.wants_response());
    // An invalid notification is still answered, with id null.
    auto r3 = parse(p, R"({"jsonrpc":"2.0","method":1,"params":"bar"})");
    Entry e3 = single(r3);
    EXPECT_FALSE(e3.ok);
    EXPECT_EQ(e3.request.id, "null");
    EXPECT_TRUE(e3.wants_response());
}

TEST(RequestParser, JsonrpcMember) {
    RequestParser strict(16, body_max);
    auto missing = parse(strict, R"({"id":1,"method":"m"})");
    Entry e = single(missing);
    EXPECT_FALSE(e.ok);
    EXPECT_STREQ(e.error_message, "jsonrpc: missing");
    EXPECT_EQ(e.request.id, "1");  // the id could be read, so the error carries it
    for (const char* v : {"\"1.0\"", "\"2.00\"", "2.0", "null", "\"\"", "[\"2.0\"]"}) {
        auto r = parse(strict, std::string(R"({"id":"q","method":"m","jsonrpc":)") + v + "}");
        Entry w = single(r);
        EXPECT_FALSE(w.ok) << v;
        EXPECT_EQ(w.error_code, code::invalid_request);
        EXPECT_EQ(w.request.id, "\"q\"");
    }
    auto escaped = parse(strict, R"({"jsonrpc":"2\u002e0","id":1,"method":"m"})");
    EXPECT_TRUE(single(escaped).ok);

    Limits lenient;
    lenient.jsonrpc_member_optional = true;
    RequestParser tolerant(lenient);
    auto r = parse(tolerant, R"({"id":1,"method":"m"})");
    EXPECT_TRUE(single(r).ok);
    auto wrong = parse(tolerant, R"({"jsonrpc":"1.0","id":1,"method":"m"})");
    EXPECT_FALSE(single(wrong).ok);
}

TEST(RequestParser, Params) {
    RequestParser p(16, body_max);
    auto absent = parse(p, R"({"jsonrpc":"2.0","id":1,"method":"m"})");
    Entry a = single(absent);
    EXPECT_TRUE(a.ok);
    EXPECT_TRUE(a.request.params.empty());
    auto array = parse(p, R"({"jsonrpc":"2.0","id":1,"params":[{"x":[1,2]},"y"],"method":"m"})");
    EXPECT_EQ(single(array).request.params, R"([{"x":[1,2]},"y"])");
    auto object = parse(p, R"({"jsonrpc":"2.0","id":1,"params":{"a":{"b":null}} ,"method":"m"})");
    EXPECT_EQ(single(object).request.params, R"({"a":{"b":null}})");
    for (const char* v : {"\"x\"", "5", "null", "true"}) {
        auto r =
            parse(p, std::string(R"({"jsonrpc":"2.0","id":1,"method":"m","params":)") + v + "}");
        Entry e = single(r);
        EXPECT_FALSE(e.ok) << v;
        EXPECT_STREQ(e.error_message, "params: must be an array or object");
        EXPECT_EQ(e.request.id, "1");
    }
}

TEST(RequestParser, Methods) {
    RequestParser p(16, body_max);
    auto escaped = parse(p, R"({"jsonrpc":"2.0","id":1,"method":"eth_\u0062lock\u004eumber"})");
    Entry e = single(escaped);
    EXPECT_TRUE(e.ok);
    EXPECT_EQ(e.request.method, "eth_blockNumber");
    EXPECT_FALSE(escaped->body.contains(e.request.method));  // unescaped into parser scratch
    auto unicode = parse(p, R"({"jsonrpc":"2.0","id":1,"method":"\u00e9\ud83d\ude00"})");
    EXPECT_EQ(single(unicode).request.method, "\xc3\xa9\xf0\x9f\x98\x80");

    struct Case {
        const char* method;
        const char* message;
    } cases[] = {{"1", "method: must be a string"},
                 {"null", "method: must be a string"},
                 {"[\"m\"]", "method: must be a string"},
                 {"\"\"", "method: empty"},
                 {"\"\\ud800x\"", "method: unpaired surrogate escape or too long"}};
    for (const Case& c : cases) {
        auto r = parse(p, std::string(R"({"jsonrpc":"2.0","id":1,"method":)") + c.method + "}");
        Entry bad = single(r);
        EXPECT_FALSE(bad.ok) << c.method;
        EXPECT_STREQ(bad.error_message, c.message) << c.method;
    }
    auto missing = parse(p, R"({"jsonrpc":"2.0","id":1})");
    EXPECT_STREQ(single(missing).error_message, "method: missing");

    Limits limits;
    limits.method_bytes_max = 8;
    RequestParser short_names(limits);
    auto ok = parse(short_names, R"({"jsonrpc":"2.0","id":1,"method":"12345678"})");
    EXPECT_TRUE(single(ok).ok);
    auto long_name = parse(short_names, R"({"jsonrpc":"2.0","id":1,"method":"123456789"})");
    EXPECT_STREQ(single(long_name).error_message, "method: longer than method_bytes_max");
    auto long_escaped =
        parse(short_names, R"({"jsonrpc":"2.0","id":1,"method":"1234567\u0038\u0039"})");
    EXPECT_FALSE(single(long_escaped).ok);
}

TEST(RequestParser, EscapedMethodsInABatchKeepTheirOwnStorage) {
    RequestParser p(16, body_max);
    auto r = parse(
        p,
        R"([{"jsonrpc":"2.0","id":1,"method":"\u0061"},{"jsonrpc":"2.0","id":2,"method":"\u0062c"}])");
    ASSERT_TRUE(r->envelope.has_value());
    ASSERT_EQ(r->envelope->entries.size(), 2u);
    EXPECT_EQ(r->envelope->entries[0].request.method, "a");
    EXPECT_EQ(r->envelope->entries[1].request.method, "bc");
}

TEST(RequestParser, DuplicateMembers) {
    RequestParser p(16, body_max);
    const char* bodies[] = {
        R"({"jsonrpc":"2.0","id":1,"id":2,"method":"m"})",
        R"({"jsonrpc":"2.0","id":1,"\u0069d":2,"method":"m"})",
        R"({"jsonrpc":"2.0","jsonrpc":"2.0","id":1,"method":"m"})",
        R"({"jsonrpc":"2.0","id":1,"method":"m","method":"n"})",
        R"({"jsonrpc":"2.0","id":1,"method":"m","params":[],"params":{}})",
        R"({"jsonrpc":"2.0","id":1,"method":"m","x":1,"x":2})",
        R"({"jsonrpc":"2.0","id":1,"method":"m","x":1,"\u0078":[2]})",
    };
    for (const char* body : bodies) {
        auto r = parse(p, body);
        Entry e = single(r);
        EXPECT_FALSE(e.ok) << body;
        EXPECT_STREQ(e.error_message, "duplicate member in request") << body;
        EXPECT_EQ(e.request.id, "1") << body;  // the first id is kept
    }
    auto distinct = parse(p, R"({"jsonrpc":"2.0","id":1,"method":"m","x":1,"y":2,"xy":3})");
    EXPECT_TRUE(single(distinct).ok);
}

TEST(RequestParser, MemberLimit) {
    Limits limits;
    limits.request_members_max = 5;
    RequestParser p(limits);
    auto five = parse(p, R"({"jsonrpc":"2.0","id":1,"method":"m","a":1,"b":2})");
    EXPECT_TRUE(single(five).ok);
    auto six = parse(p, R"({"jsonrpc":"2.0","id":1,"method":"m","a":1,"b":2,"c":3})");
    EXPECT_STREQ(single(six).error_message, "request: more than request_members_max members");
}

TEST(RequestParser, Batch) {
    RequestParser p(16, body_max);
    std::string a = R"({"jsonrpc":"2.0","id":1,"method":"a","params":[1]})";
    std::string b = R"({"jsonrpc":"2.0","id":"two","method":"b"})";
    std::string c = R"({"jsonrpc":"2.0","method":"c"})";
    auto r = parse(p, "[" + a + ",\n " + b + " , " + c + "]");
    ASSERT_TRUE(r->envelope.has_value()) << r->envelope.error().message();
    EXPECT_TRUE(r->envelope->batch);
    ASSERT_EQ(r->envelope->entries.size(), 3u);
    const auto& e = r->envelope->entries;
    EXPECT_EQ(e[0].request.raw, a);
    EXPECT_EQ(e[1].request.raw, b);
    EXPECT_EQ(e[2].request.raw, c);
    EXPECT_EQ(e[0].request.params, "[1]");
    EXPECT_EQ(e[1].request.id, "\"two\"");
    EXPECT_FALSE(e[2].wants_response());
    for (const Entry& x : e) EXPECT_TRUE(x.ok);
}

TEST(RequestParser, MixedBatchValidatesEachElement) {
    RequestParser p(16, body_max);
    auto r = parse(
        p, R"([{"jsonrpc":"2.0","id":1,"method":"a"}, 1, {"jsonrpc":"2.0","method":5,"id":"x"},)"
           R"( [], "s", null, {"jsonrpc":"2.0","method":"n"}, {"foo":"boo"}])");
    ASSERT_TRUE(r->envelope.has_value()) << r->envelope.error().message();
    const auto& e = r->envelope->entries;
    ASSERT_EQ(e.size(), 8u);
    EXPECT_TRUE(e[0].ok);
    for (size_t i : {1u, 3u, 4u, 5u}) {
        EXPECT_FALSE(e[i].ok) << i;
        EXPECT_EQ(e[i].error_code, code::invalid_request);
        EXPECT_STREQ(e[i].error_message, "batch element: not an object");
        EXPECT_EQ(e[i].request.id, "null");
    }
    EXPECT_EQ(e[1].request.raw, "1");
    EXPECT_EQ(e[3].request.raw, "[]");
    EXPECT_FALSE(e[2].ok);
    EXPECT_EQ(e[2].request.id, "\"x\"");
    EXPECT_STREQ(e[2].error_message, "method: must be a string");
    EXPECT_TRUE(e[6].ok);
    EXPECT_FALSE(e[6].wants_response());
    EXPECT_FALSE(e[7].ok);
    EXPECT_EQ(e[7].request.id, "null");
}

TEST(RequestParser, EmptyAndOversizedBatches) {
    RequestParser p(2, body_max);
    for (const char* text : {"[]", " [ \n ] "}) {
        auto r = parse(p, text);
        EXPECT_EQ(whole_body_code(r), code::invalid_request) << text;
        EXPECT_EQ(r->envelope.error().code(), Errc::unsupported);
    }
    std::string one = R"({"jsonrpc":"2.0","id":1,"method":"a"})";
    auto two = parse(p, "[" + one + "," + one + "]");
    EXPECT_TRUE(two->envelope.has_value());
    auto three = parse(p, "[" + one + "," + one + "," + one + "]");
    EXPECT_EQ(whole_body_code(three), code::invalid_request);
    EXPECT_EQ(three->envelope.error().code(), Errc::too_large);
    EXPECT_NE(three->envelope.error().message().find("batch_entries_max 2"),
              std::string_view::npos);
}

TEST(RequestParser, ScalarTopLevelIsInvalidRequest) {
    RequestParser p(16, body_max);
    for (const char* text : {"42", "\"x\"", "null", "true", " -1.5e3 ", "\"\\u00e9\""}) {
        EXPECT_EQ(whole_body_code(parse(p, text)), code::invalid_request) << text;
    }
    for (const char* text : {"tru", "nul", "01", "1 2", "\"a\\q\"", "\"ab\"x", "-", "1.", "]"}) {
        EXPECT_EQ(whole_body_code(parse(p, text)), code::parse_error) << text;
    }
}

TEST(RequestParser, NotJsonIsParseError) {
    RequestParser p(16, body_max);
    const char* bodies[] = {
        "",
        "   \n",
        R"({"jsonrpc":"2.0","id":1,"method":"m"} x)",
        R"({"jsonrpc":"2.0","id":1,"method":"m"} {})",
        R"({"jsonrpc":"2.0","id":1,"method":"m"}})",
        R"([{"jsonrpc":"2.0","id":1,"method":"m"}] ])",
        R"([{"jsonrpc":"2.0","id":1,"method":"m"}] [1])",
        R"({"jsonrpc":"2.0","id":1,"method":"m")",
        R"({"jsonrpc":"2.0","id":1,"method":"m)",
        R"([{"jsonrpc":"2.0","id":1,"method":"m"})",
        R"({"jsonrpc":"2.0","id":1,"method":"m","params":[tru]})",
        R"({"jsonrpc":"2.0","id":1,"method":"m","params":[1 2]})",
        R"({"jsonrpc":"2.0","id":1,"method":"m","params":[1,]})",
        R"({"jsonrpc":"2.0","id":1,"method":"m","params":{"a" 1}})",
        R"({"jsonrpc":"2.0","id":1,"method":"m","params":{"a":1,}})",
        R"({"jsonrpc":"2.0","id":1,"method":"m","params":["\q"]})",
        R"({"jsonrpc":"2.0","id":1,"method":"m","params":["\u12"]})",
        R"({"jsonrpc":"2.0","id":1,"method":"m","params":{"\x":1}})",
        R"({"jsonrpc":"2.0","id":1,"method":"m","params":[01]})",
        R"({"jsonrpc":"2.0","id":1,"method":"m","params":[-]})",
        R"({"jsonrpc":"2.0","id":1,"method":"m","params":[1.e5]})",
        R"({"jsonrpc":"2.0","id":01,"method":"m"})",
        R"({"jsonrpc":"2.0","id":1,"method":"m","extra":[nul]})",
        R"({"jsonrpc":"2.0","id":1,"method":"m\z"})",
        R"({"jsonrpc":"2.0","id":1,"method":"m",})",
        R"({"jsonrpc":"2.0","id":1 "method":"m"})",
        R"({"jsonrpc":"2.0","id":1,"method":"m","params":[1,2})",
        R"([{"jsonrpc":"2.0","id":1,"method":"m"}, [tru]])",
        R"([{"jsonrpc":"2.0","id":1,"method":"m"},,1])",
        R"([{"jsonrpc":"2.0","id":1,"method":"m"} 1])",
        R"(["a":"b"])",
        R"([{"jsonrpc":"2.0","id":1,"method":"m"},"j":"2.0"])",
        R"({"jsonrpc":"2.0","id":1,"method":"m","params":["k":1]})",
        R"({"jsonrpc":"2.0","id":1,"method":"m":"n"})",
        R"({"jsonrpc":"2.0":"x","id":1,"method":"m"})",
        R"({"jsonrpc":"2.0","id":1:2,"method":"m"})",
        R"({"jsonrpc":"2.0","id":1,"method":"m","x":"y":"z"})",
        R"({"jsonrpc":"2.0","id":1,"method":"m","params":[null:1]})",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"a\tb\"}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"\xff\"}",
    };
    for (const char* body : bodies) {
        auto r = parse(p, body);
        EXPECT_EQ(whole_body_code(r), code::parse_error) << body;
        if (!r->envelope) {
            EXPECT_EQ(r->envelope.error().code(), Errc::invalid_input) << body;
        }
    }
}

TEST(RequestParser, ErrorMessagesNameTheProblemAndOffset) {
    RequestParser p(16, body_max);
    std::string single_text = R"({"jsonrpc":"2.0","id":1,"method":"m","params":[1,tru]})";
    auto r = parse(p, single_text);
    ASSERT_FALSE(r->envelope.has_value());
    EXPECT_EQ(r->envelope.error().message(),
              "body: invalid literal at byte " + std::to_string(single_text.find("tru")));
    std::string batch_text = R"([{"jsonrpc":"2.0","id":1,"method":"m"},{"params":[01]}])";
    auto b = parse(p, batch_text);
    ASSERT_FALSE(b->envelope.has_value());
    EXPECT_EQ(b->envelope.error().message(),
              "batch[1]: invalid number at byte " + std::to_string(batch_text.find("01")));
}

std::string nested(size_t depth) {
    return std::string(depth, '[') + std::string(depth, ']');
}

TEST(RequestParser, NestingDepthLimit) {
    RequestParser p(16, body_max);  // depth_max 64: the request object is depth 1
    auto ok = parse(p, R"({"jsonrpc":"2.0","id":1,"method":"m","params":)" + nested(63) + "}");
    EXPECT_TRUE(single(ok).ok);
    auto deep = parse(p, R"({"jsonrpc":"2.0","id":1,"method":"m","params":)" + nested(64) + "}");
    EXPECT_EQ(whole_body_code(deep), code::invalid_request);
    EXPECT_EQ(deep->envelope.error().code(), Errc::too_large);
    // Far deeper than the limit: refused without exhausting the stack.
    auto huge =
        parse(p, R"({"jsonrpc":"2.0","id":1,"method":"m","params":)" + nested(200000) + "}");
    EXPECT_EQ(whole_body_code(huge), code::invalid_request);
    auto unknown = parse(p, R"({"jsonrpc":"2.0","id":1,"method":"m","x":)" + nested(100) + "}");
    EXPECT_EQ(whole_body_code(unknown), code::invalid_request);
}

TEST(RequestParser, BodyLimit) {
    RequestParser p(16, 64);
    std::string text = R"({"jsonrpc":"2.0","id":1,"method":"m","params":["0123456789abcdef"]})";
    ASSERT_GT(text.size(), 64u);
    auto r = parse(p, text);
    EXPECT_EQ(whole_body_code(r), code::invalid_request);
    EXPECT_EQ(r->envelope.error().code(), Errc::too_large);
    EXPECT_TRUE(parse(p, R"({"jsonrpc":"2.0","id":1,"method":"m"})")->envelope.has_value());
}

TEST(RequestParser, GrowsItsIndexForLargerBodies) {
    RequestParser p(16, 8 << 20);
    std::string big =
        R"({"jsonrpc":"2.0","id":1,"method":"m","params":[")" + std::string(300000, 'a') + "\"]}";
    auto r = parse(p, big);
    Entry e = single(r);
    EXPECT_TRUE(e.ok);
    EXPECT_EQ(e.request.params.size(), 300000u + 4);
}

TEST(RequestParser, ParserIsReusable) {
    RequestParser p(16, body_max);
    auto bad = parse(p, "[tru");
    EXPECT_FALSE(bad->envelope.has_value());
    auto good = parse(p, R"({"jsonrpc":"2.0","id":9,"method":"m","params":[1]})");
    EXPECT_EQ(single(good).request.id, "9");
}

std::string_view trimmed_raw(simdjson::ondemand::value& v) {
    std::string_view raw;
    simdjson::ondemand::json_type t;
    EXPECT_EQ(v.type().get(t), simdjson::SUCCESS);
    if (t == simdjson::ondemand::json_type::array) {
        simdjson::ondemand::array a;
        EXPECT_EQ(v.get_array().get(a), simdjson::SUCCESS);
        EXPECT_EQ(a.raw_json().get(raw), simdjson::SUCCESS);
    } else {
        simdjson::ondemand::object o;
        EXPECT_EQ(v.get_object().get(o), simdjson::SUCCESS);
        EXPECT_EQ(o.raw_json().get(raw), simdjson::SUCCESS);
    }
    while (!raw.empty() && (raw.back() == ' ' || raw.back() == '\n')) raw.remove_suffix(1);
    return raw;
}

TEST(RequestParser, RewindToParamsSingle) {
    RequestParser p(16, body_max);
    auto r = parse(
        p,
        R"({"jsonrpc":"2.0","params" : [ {"blockHash":"0xab"}, 2 ] , "id":1,"method":"engine_newPayloadV1"})");
    Entry e = single(r);
    ASSERT_TRUE(e.ok);
    auto v = p.rewind_to_params();
    ASSERT_EQ(v.error(), simdjson::SUCCESS);
    EXPECT_EQ(trimmed_raw(v.value_unsafe()), e.request.params);
    // Positioned at params: a decoder can walk it.
    auto again = p.rewind_to_params();
    ASSERT_EQ(again.error(), simdjson::SUCCESS);
    simdjson::ondemand::array params;
    ASSERT_EQ(again.get_array().get(params), simdjson::SUCCESS);
    std::string_view hash;
    for (auto element : params) {
        ASSERT_EQ(element["blockHash"].get_string().get(hash), simdjson::SUCCESS);
        break;
    }
    EXPECT_EQ(hash, "0xab");
}

TEST(RequestParser, RewindToParamsObjectAndAbsent) {
    RequestParser p(16, body_max);
    auto r = parse(p, R"({"jsonrpc":"2.0","id":1,"method":"m","params":{"a":[1,{"b":2}]}})");
    ASSERT_TRUE(single(r).ok);
    auto v = p.rewind_to_params();
    ASSERT_EQ(v.error(), simdjson::SUCCESS);
    EXPECT_EQ(trimmed_raw(v.value_unsafe()), R"({"a":[1,{"b":2}]})");
    auto none = parse(p, R"({"jsonrpc":"2.0","id":1,"method":"m"})");
    ASSERT_TRUE(single(none).ok);
    EXPECT_EQ(p.rewind_to_params().error(), simdjson::NO_SUCH_FIELD);
    auto bad = parse(p, R"({"jsonrpc":"1.0","id":1,"method":"m","params":[1]})");
    ASSERT_FALSE(single(bad).ok);
    EXPECT_EQ(p.rewind_to_params().error(), simdjson::NO_SUCH_FIELD);
    EXPECT_EQ(p.rewind_to_params(1).error(), simdjson::INDEX_OUT_OF_BOUNDS);
}

TEST(RequestParser, RewindToParamsInABatch) {
    RequestParser p(16, body_max);
    auto r = parse(p, R"([{"jsonrpc":"2.0","id":1,"method":"a","params":[1]}, 5,)"
                      R"( {"jsonrpc":"2.0","id":3,"method":"c","params":{"k":"v"}},)"
                      R"( {"jsonrpc":"2.0","id":4,"method":"d","params":[[4]]}])");
    ASSERT_TRUE(r->envelope.has_value());
    const auto& e = r->envelope->entries;
    for (size_t i : {3u, 0u, 2u}) {
        auto v = p.rewind_to_params(i);
        ASSERT_EQ(v.error(), simdjson::SUCCESS) << i;
        EXPECT_EQ(trimmed_raw(v.value_unsafe()), e[i].request.params) << i;
    }
    EXPECT_EQ(p.rewind_to_params(1).error(), simdjson::NO_SUCH_FIELD);
    // The envelope survives rewinds (views into the body, not into simdjson buffers).
    EXPECT_EQ(e[2].request.method, "c");
}

TEST(RequestParser, ErrorCodeOf) {
    EXPECT_EQ(error_code_of(Error(Errc::invalid_input, "x")), code::parse_error);
    EXPECT_EQ(error_code_of(Error(Errc::too_large, "x")), code::invalid_request);
    EXPECT_EQ(error_code_of(Error(Errc::unsupported, "x")), code::invalid_request);
    EXPECT_EQ(error_code_of(Error(Errc::internal, "x")), code::internal_error);
}

}  // namespace
}  // namespace em::jsonrpc
