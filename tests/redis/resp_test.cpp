// RESP2 codec (redis/resp.h): the command writer byte for byte, and the reply reader transition
// by transition: each kind, nesting, pipelined replies, every prefix of a reply (need more, never
// an error), and each malformed or oversized input rejected with a message naming it.
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "redis/resp.h"

namespace em::redis {
namespace {

using namespace std::string_view_literals;

TEST(RespWriter, WritesAnArrayOfBulkStrings) {
    ByteBuffer out;
    std::string_view args[] = {"SET", "k", "v"};
    ASSERT_TRUE(write_command(out, args));
    EXPECT_EQ(out.view(), "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n");
}

TEST(RespWriter, ArgumentsAreBinarySafeAndMayBeBuiltFromPieces) {
    ByteBuffer out;
    CommandWriter w(out, 4);
    w.arg("GET")
        .arg({"enginemux:", "rl:", "key"})
        .arg("a\r\nb\0c"sv)
        .arg_u64(18446744073709551615u);
    ASSERT_TRUE(w.finish());
    EXPECT_EQ(out.view(),
              "*4\r\n$3\r\nGET\r\n$16\r\nenginemux:rl:key\r\n$6\r\na\r\nb\0c\r\n"
              "$20\r\n18446744073709551615\r\n"sv);
}

TEST(RespWriter, EmptyArgument) {
    ByteBuffer out;
    std::string_view args[] = {"ECHO", ""};
    ASSERT_TRUE(write_command(out, args));
    EXPECT_EQ(out.view(), "*2\r\n$4\r\nECHO\r\n$0\r\n\r\n");
}

TEST(RespWriter, ACommandThatDoesNotFitIsTakenBackWhole) {
    ByteBuffer out(32, 16);
    ASSERT_TRUE(out.append("abc"));
    std::string big(64, 'x');
    std::string_view args[] = {"SET", "k", big};
    auto r = write_command(out, args);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), Errc::too_large);
    EXPECT_EQ(out.view(), "abc");
    std::string_view small[] = {"PING"};
    ASSERT_TRUE(write_command(out, small));  // the buffer is still usable
    EXPECT_EQ(out.view(), "abc*1\r\n$4\r\nPING\r\n");
}

/// Parses one reply from all of `input`; asserts it is complete and consumed exactly.
struct Parsed {
    Reader reader;
    std::string input;
    Reply reply;
    explicit Parsed(std::string_view text, const ReaderLimits& limits = {})
        : reader(limits), input(text) {
        auto r = reader.parse(input);
        EXPECT_TRUE(r) << (r ? "" : r.error().c_str());
        EXPECT_TRUE(r && *r) << "incomplete";
        if (r && *r) {
            EXPECT_EQ(reader.consumed(), input.size());
            reply = reader.reply(input);
        }
    }
};

TEST(RespReader, SimpleStringAndError) {
    Parsed ok("+OK\r\n");
    EXPECT_EQ(ok.reply.kind(), Kind::simple);
    EXPECT_EQ(ok.reply.str(), "OK");
    Parsed err("-ERR unknown command 'X'\r\n");
    EXPECT_TRUE(err.reply.is_error());
    EXPECT_EQ(err.reply.str(), "ERR unknown command 'X'");
    Parsed empty("+\r\n");
    EXPECT_EQ(empty.reply.str(), "");
}

TEST(RespReader, Integers) {
    EXPECT_EQ(Parsed(":0\r\n").reply.integer(), 0);
    EXPECT_EQ(Parsed(":-42\r\n").reply.integer(), -42);
    EXPECT_EQ(Parsed(":9223372036854775807\r\n").reply.integer(), INT64_MAX);
    EXPECT_EQ(Parsed(":-9223372036854775808\r\n").reply.integer(), INT64_MIN);
    EXPECT_EQ(Parsed(":7\r\n").reply.kind(), Kind::integer);
}

TEST(RespReader, BulkStrings) {
    Parsed b("$5\r\nhello\r\n");
    EXPECT_EQ(b.reply.kind(), Kind::bulk);
    EXPECT_EQ(b.reply.str(), "hello");
    EXPECT_EQ(Parsed("$0\r\n\r\n").reply.str(), "");
    EXPECT_EQ(Parsed("$6\r\na\r\nb\0c\r\n"sv).reply.str(), "a\r\nb\0c"sv);  // binary-safe
    Parsed null("$-1\r\n");
    EXPECT_EQ(null.reply.kind(), Kind::null_bulk);
    EXPECT_TRUE(null.reply.is_null());
}

TEST(RespReader, ArraysNestedEmptyAndNull) {
    Parsed p("*4\r\n:1\r\n*2\r\n+a\r\n$-1\r\n-E\r\n*0\r\n");
    const Reply& r = p.reply;
    ASSERT_EQ(r.kind(), Kind::array);
    ASSERT_EQ(r.size(), 4u);
    EXPECT_EQ(r[0].integer(), 1);
    ASSERT_EQ(r[1].kind(), Kind::array);
    ASSERT_EQ(r[1].size(), 2u);
    EXPECT_EQ(r[1][0].str(), "a");
    EXPECT_EQ(r[1][1].kind(), Kind::null_bulk);
    EXPECT_EQ(r[2].kind(), Kind::error);  // after the nested array: its end index skips it
    EXPECT_EQ(r[2].str(), "E");
    EXPECT_EQ(r[3].kind(), Kind::array);
    EXPECT_EQ(r[3].size(), 0u);
    Parsed null("*-1\r\n");
    EXPECT_EQ(null.reply.kind(), Kind::null_array);
    EXPECT_EQ(null.reply.size(), 0u);
}

TEST(RespReader, PipelinedRepliesOneAtATime) {
    std::string input = "+A\r\n:1\r\n$1\r\nx\r\n";
    Reader reader;
    std::vector<std::string> seen;
    std::string_view rest = input;
    while (!rest.empty()) {
        auto r = reader.parse(rest);
        ASSERT_TRUE(r && *r);
        Reply reply = reader.reply(rest);
        seen.push_back(std::string(kind_name(reply.kind())));
        rest.remove_prefix(reader.consumed());
        reader.reset();
    }
    EXPECT_EQ(seen, (std::vector<std::string>{"simple string", "integer", "bulk string"}));
}

TEST(RespReader, EveryPrefixNeedsMoreThenTheWholeCompletes) {
    const std::string whole = "*3\r\n$5\r\nhello\r\n*2\r\n:-7\r\n+ok\r\n$-1\r\n";
    // One reader resuming, fed one byte more each time from a fresh copy (a buffer that moved).
    Reader resuming;
    for (size_t n = 0; n < whole.size(); n++) {
        std::string copy = whole.substr(0, n);
        auto r = resuming.parse(copy);
        ASSERT_TRUE(r) << n << ": " << r.error().c_str();
        ASSERT_FALSE(*r) << "complete at " << n;
        Reader fresh;  // and a fresh reader on the same prefix
        auto f = fresh.parse(copy);
        ASSERT_TRUE(f && !*f) << n;
    }
    std::string copy = whole;
    auto r = resuming.parse(copy);
    ASSERT_TRUE(r && *r);
    EXPECT_EQ(resuming.consumed(), whole.size());
    Reply reply = resuming.reply(copy);
    ASSERT_EQ(reply.size(), 3u);
    EXPECT_EQ(reply[0].str(), "hello");
    EXPECT_EQ(reply[1][0].integer(), -7);
    EXPECT_EQ(reply[1][1].str(), "ok");
    EXPECT_TRUE(reply[2].is_null());
}

struct BadCase {
    const char* input;
    Errc code;
    const char* message_part;
};

void expect_error(const BadCase& c, const ReaderLimits& limits = {}) {
    Reader reader(limits);
    auto r = reader.parse(c.input);
    ASSERT_FALSE(r) << "accepted: " << c.input;
    EXPECT_EQ(r.error().code(), c.code) << c.input << ": " << r.error().c_str();
    EXPECT_NE(r.error().message().find(c.message_part), std::string_view::npos)
        << c.input << ": " << r.error().c_str();
}

TEST(RespReader, MalformedInputIsAnErrorNamingIt) {
    const BadCase cases[] = {
        {"?x\r\n", Errc::invalid_input, "unknown reply type byte '?' at offset 0"},
        {"\x01x\r\n", Errc::invalid_input, "type byte 0x01 at offset 0"},
        {"%1\r\n", Errc::invalid_input, "RESP3 type byte '%'"},
        {"_\r\n", Errc::invalid_input, "RESP3 type byte '_'"},
        {"+a\nb\r\n", Errc::invalid_input, "LF without CR at offset 2"},
        {"+a\rb\r\n", Errc::invalid_input, "CR not followed by LF at offset 2"},
        {":01\r\n", Errc::invalid_input, "integer reply: a leading zero at offset 1"},
        {":-0\r\n", Errc::invalid_input, "minus zero"},
        {":\r\n", Errc::invalid_input, "empty number"},
        {":-\r\n", Errc::invalid_input, "a minus sign without digits"},
        {":+1\r\n", Errc::invalid_input, "not a digit"},
        {":1 \r\n", Errc::invalid_input, "not a digit"},
        {":9223372036854775808\r\n", Errc::invalid_input, "out of range"},
        {":-9223372036854775809\r\n", Errc::invalid_input, "out of range"},
        {":99999999999999999999\r\n", Errc::invalid_input, "out of range"},
        {"$-2\r\n", Errc::invalid_input, "bulk string length -2"},
        {"$01\r\nx\r\n", Errc::invalid_input, "bulk string length: a leading zero"},
        {"$x\r\n", Errc::invalid_input, "bulk string length: a character that is not a digit"},
        {"$3\r\nabcd\r\n", Errc::invalid_input, "bulk string at offset 4 not followed by CRLF"},
        {"$3\r\nabc\n\r", Errc::invalid_input, "not followed by CRLF"},
        {"*-2\r\n", Errc::invalid_input, "array length -2"},
        {"*1x\r\n", Errc::invalid_input, "array length: a character"},
        {"*2\r\n:1\r\n!\r\n", Errc::invalid_input, "RESP3 type byte '!' at offset 8"},
    };
    for (const BadCase& c : cases) expect_error(c);
}

TEST(RespReader, LimitsAreErrorsBeforeTheBytesArrive) {
    ReaderLimits limits;
    limits.line_bytes_max = 4;
    limits.bulk_bytes_max = 4;
    limits.reply_bytes_max = 30;
    limits.elements_max = 3;
    limits.depth_max = 2;
    expect_error({"+abcde\r\n", Errc::too_large, "line at offset 0 longer than 4 bytes"}, limits);
    expect_error({"+abcde", Errc::too_large, "longer than 4 bytes"}, limits);  // no CRLF yet
    expect_error({"$5\r\n", Errc::too_large, "bulk string of 5 bytes at offset 1: more than 4"},
                 limits);
    expect_error({"*4\r\n", Errc::too_large, "array of 4 elements at offset 1: more than 3"},
                 limits);
    expect_error({"*2\r\n*3\r\n", Errc::too_large, "array of 3 elements at offset 5"}, limits);
    expect_error({"*2\r\n*2\r\n:1\r\n:2\r\n:3\r\n", Errc::too_large, "more than 3 elements"},
                 limits);
    expect_error({"*1\r\n*1\r\n*1\r\n", Errc::too_large, "arrays nested deeper than 2"}, limits);
    expect_error({"*3\r\n$4\r\nabcd\r\n$4\r\nabcd\r\n$4\r\nabcd\r\n", Errc::too_large,
                  "reply longer than 30 bytes"},
                 limits);
    // At the limits exactly: accepted.
    EXPECT_EQ(Parsed("+abcd\r\n", limits).reply.str(), "abcd");
    EXPECT_EQ(Parsed("$4\r\nabcd\r\n", limits).reply.str(), "abcd");
    EXPECT_EQ(Parsed("*3\r\n:1\r\n:2\r\n:3\r\n", limits).reply.size(), 3u);
    EXPECT_EQ(Parsed("*1\r\n*1\r\n:1\r\n", limits).reply[0][0].integer(), 1);
}

TEST(RespReader, ResetStartsTheNextReply) {
    Reader reader;
    std::string partial = "$10\r\nabc";
    auto r = reader.parse(partial);
    ASSERT_TRUE(r && !*r);
    reader.reset();
    std::string other = ":5\r\n";
    r = reader.parse(other);
    ASSERT_TRUE(r && *r);
    EXPECT_EQ(reader.reply(other).integer(), 5);
}

TEST(RespReader, KindNames) {
    EXPECT_STREQ(kind_name(Kind::null_array), "null array");
    EXPECT_STREQ(kind_name(Kind::bulk), "bulk string");
}

}  // namespace
}  // namespace em::redis
