// RequestParser: framing, keep-alive, limits, smuggling defences, and incremental feeding
// (every prefix and every two-part split must give the same result as one whole parse).
#include <gtest/gtest.h>

#include <string>

#include "http/parser.h"
#include "parse_helpers.h"

namespace em::http {
namespace {

using test::Snapshot;
using namespace std::string_literals;

Limits small_limits() {
    Limits l;
    l.header_bytes_max = 256;
    l.body_bytes_max = 100;
    l.header_count_max = 8;
    l.chunk_line_bytes_max = 32;
    return l;
}

/// Parses `data` whole, byte by byte and split at every offset; all must agree.
Snapshot parse_all_ways(const std::string& data, const Limits& limits = Limits{}) {
    RequestParser whole_parser(limits);
    Snapshot whole = test::parse_whole(whole_parser, data);
    RequestParser p(limits);
    Snapshot bytewise = test::parse_bytewise(p, data);
    EXPECT_EQ(bytewise, whole) << "bytewise feeding differs; whole: " << whole.error_reason
                               << " bytewise: " << bytewise.error_reason;
    for (size_t split = 0; split <= data.size(); split++) {
        p.reset();
        Snapshot s = test::parse_split(p, data, split);
        EXPECT_EQ(s, whole) << "split at " << split << ": " << s.error_reason;
        p.reset();
        Snapshot moved = test::parse_moved(p, data, split);
        EXPECT_EQ(moved, whole) << "moved at " << split << ": " << moved.error_reason;
        if (s != whole || moved != whole) break;
    }
    return whole;
}

void expect_error(const std::string& data, int status, const std::string& reason_part,
                  const Limits& limits = Limits{}) {
    Snapshot s = parse_all_ways(data, limits);
    ASSERT_EQ(s.status, ParseStatus::error) << data;
    EXPECT_EQ(s.error_status, status) << s.error_reason;
    EXPECT_NE(s.error_reason.find(reason_part), std::string::npos)
        << "reason \"" << s.error_reason << "\" lacks \"" << reason_part << "\"";
}

const std::string engine_request =
    "POST / HTTP/1.1\r\n"
    "Host: 127.0.0.1:8551\r\n"
    "Content-Type: application/json\r\n"
    "Authorization: Bearer abc.def.ghi\r\n"
    "Content-Length: 65\r\n"
    "\r\n"
    R"({"jsonrpc":"2.0","method":"eth_blockNumber","params":[],"id":1}  )";

TEST(RequestParser, TypicalEngineRequest) {
    Snapshot s = parse_all_ways(engine_request);
    ASSERT_EQ(s.status, ParseStatus::complete) << s.error_reason;
    EXPECT_EQ(s.method, Method::post);
    EXPECT_EQ(s.method_text, "POST");
    EXPECT_EQ(s.target, "/");
    EXPECT_EQ(s.version_minor, 1);
    EXPECT_TRUE(s.keep_alive);
    EXPECT_FALSE(s.chunked);
    EXPECT_EQ(s.host, "127.0.0.1:8551");
    EXPECT_EQ(s.content_type, "application/json");
    EXPECT_EQ(s.authorization, "Bearer abc.def.ghi");
    EXPECT_EQ(s.headers.size(), 4u);
    EXPECT_EQ(s.headers[3].first, "Content-Length");
    EXPECT_EQ(s.body.size(), 65u);
    EXPECT_EQ(s.body.substr(0, 11), R"({"jsonrpc":)");
    EXPECT_EQ(s.consumed, engine_request.size());
}

TEST(RequestParser, GetWithoutBodyAndOtherMethods) {
    Snapshot s = parse_all_ways("GET /status?x=1 HTTP/1.1\r\nhost: a\r\n\r\n");
    ASSERT_EQ(s.status, ParseStatus::complete);
    EXPECT_EQ(s.method, Method::get);
    EXPECT_EQ(s.target, "/status?x=1");
    EXPECT_EQ(s.body, "");
    s = parse_all_ways("PROPFIND / HTTP/1.1\r\nHost: a\r\n\r\n");
    ASSERT_EQ(s.status, ParseStatus::complete);
    EXPECT_EQ(s.method, Method::other);
    EXPECT_EQ(s.method_text, "PROPFIND");
    s = parse_all_ways("get / HTTP/1.1\r\nHost: a\r\n\r\n");  // methods are case-sensitive
    EXPECT_EQ(s.method, Method::other);
    for (auto [text, m] : {std::pair{"HEAD", Method::head},
                           {"PUT", Method::put},
                           {"DELETE", Method::delete_},
                           {"OPTIONS", Method::options},
                           {"PATCH", Method::patch}}) {
        s = parse_all_ways(std::string(text) + " / HTTP/1.1\r\nHost: a\r\n\r\n");
        EXPECT_EQ(s.method, m) << text;
    }
}

TEST(RequestParser, HeaderValuesAreTrimmedAndNamesCaseInsensitive) {
    Snapshot s = parse_all_ways(
        "POST / HTTP/1.1\r\nHOST:\t a \t\r\ncontent-LENGTH:   3  \r\nX-Empty:\r\n\r\nabc");
    ASSERT_EQ(s.status, ParseStatus::complete) << s.error_reason;
    EXPECT_EQ(s.host, "a");
    EXPECT_EQ(s.body, "abc");
    ASSERT_EQ(s.headers.size(), 3u);
    EXPECT_EQ(s.headers[2], (std::pair<std::string, std::string>{"X-Empty", ""}));
    s = parse_all_ways("GET / HTTP/1.1\r\nHost: a\r\nX-Tab: a\tb\r\nX-High: caf\xc3\xa9\r\n\r\n");
    ASSERT_EQ(s.status, ParseStatus::complete) << s.error_reason;
    EXPECT_EQ(s.headers[1].second, "a\tb");
    EXPECT_EQ(s.headers[2].second, "caf\xc3\xa9");  // obs-text is allowed in values
}

TEST(RequestParser, KeepAliveRules) {
    struct Case {
        const char* version;
        const char* connection;  // nullptr: no header
        bool keep_alive;
    } cases[] = {
        {"1.1", nullptr, true},
        {"1.1", "close", false},
        {"1.1", "Close", false},
        {"1.1", "keep-alive", true},
        {"1.1", "Upgrade, close", false},
        {"1.0", nullptr, false},
        {"1.0", "keep-alive", true},
        {"1.0", "Keep-Alive", true},
        {"1.0", "keep-alive, close", false},
        {"1.0", "close", false},
    };
    for (const Case& c : cases) {
        std::string req = std::string("GET / HTTP/") + c.version + "\r\nHost: x\r\n";
        if (c.connection) req += std::string("Connection: ") + c.connection + "\r\n";
        req += "\r\n";
        Snapshot s = parse_all_ways(req);
        ASSERT_EQ(s.status, ParseStatus::complete) << req;
        EXPECT_EQ(s.keep_alive, c.keep_alive) << req;
    }
}

TEST(RequestParser, Http10NeedsNoHostButHttp11Does) {
    EXPECT_EQ(parse_all_ways("GET / HTTP/1.0\r\n\r\n").status, ParseStatus::complete);
    expect_error("GET / HTTP/1.1\r\n\r\n", 400, "without Host");
    expect_error("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "more than one Host");
}

TEST(RequestParser, SingleValuedFieldsMayNotRepeat) {
    expect_error(
        "GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer x\r\nauthorization: Bearer y\r\n\r\n",
        400, "more than one Authorization");
    expect_error("GET / HTTP/1.1\r\nHost: a\r\nContent-Type: a\r\nContent-Type: b\r\n\r\n", 400,
                 "more than one Content-Type");
}

TEST(RequestParser, LeadingEmptyLinesAreSkipped) {
    std::string req = "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";
    Snapshot s = parse_all_ways(req);
    ASSERT_EQ(s.status, ParseStatus::complete) << s.error_reason;
    EXPECT_EQ(s.consumed, req.size());
}

TEST(RequestParser, ChunkedBodyIsDechunkedInPlace) {
    std::string req =
        "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5\r\nhello\r\n"
        "1;name=value;q=\"quoted\"\r\n,\r\n"
        "00006 ; ext\r\n world\r\n"
        "0\r\n"
        "X-Trailer: yes\r\n"
        "Another: one\r\n"
        "\r\n";
    Snapshot s = parse_all_ways(req);
    ASSERT_EQ(s.status, ParseStatus::complete) << s.error_reason;
    EXPECT_TRUE(s.chunked);
    EXPECT_EQ(s.body, "hello, world");
    EXPECT_EQ(s.consumed, req.size());
    EXPECT_EQ(s.headers.size(), 2u);  // trailers are not added to the headers
}

TEST(RequestParser, ChunkedUpperCaseHexAndEmptyBody) {
    std::string body(0x1A, 'z');
    Snapshot s =
        parse_all_ways("POST / HTTP/1.1\r\nHost: a\r\ntransfer-encoding: Chunked\r\n\r\n1A\r\n" +
                       body + "\r\n0\r\n\r\n");
    ASSERT_EQ(s.status, ParseStatus::complete) << s.error_reason;
    EXPECT_EQ(s.body, body);
    s = parse_all_ways("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
    ASSERT_EQ(s.status, ParseStatus::complete) << s.error_reason;
    EXPECT_EQ(s.body, "");
}

TEST(RequestParser, BadChunkSizes) {
    const std::string head = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
    expect_error(head + "xyz\r\n", 400, "bad chunk size line \"xyz\"");
    expect_error(head + "\r\n", 400, "bad chunk size line");
    expect_error(head + "-1\r\n", 400, "bad chunk size line");
    expect_error(head + "0x5\r\nhello\r\n0\r\n\r\n", 400, "bad chunk size line");
    expect_error(head + "5 \r\nhello\r\n0\r\n\r\n", 400, "bad chunk size line");
    expect_error(head + " 5\r\nhello\r\n0\r\n\r\n", 400, "bad chunk size line");
    expect_error(head + "5\r\nhelloX\r\n0\r\n\r\n", 400, "not followed by CRLF");
    expect_error(head + "5\r\nhello\n0\r\n\r\n", 400, "not followed by CRLF");
    expect_error(head + "5\nhello\r\n0\r\n\r\n", 400, "bare LF in chunk size line");
    expect_error(head + "5\r\nhello\r\n0\r\nBad Trailer: x\r\n\r\n", 400,
                 "header name contains byte 0x20 (trailer line 1)");
    expect_error(head + "5;" + std::string(40, 'e') + "\r\nhello\r\n0\r\n\r\n", 400,
                 "chunk size line exceeds 32 bytes", small_limits());
    expect_error(head + "5;\x01\r\nhello\r\n0\r\n\r\n", 400,
                 "control byte 0x01 in chunk size line");
}

TEST(RequestParser, ChunkedBodyLimitAndOverflow) {
    Limits l = small_limits();
    const std::string head = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
    std::string ok = head + "32\r\n" + std::string(50, 'a') + "\r\n32\r\n" + std::string(50, 'b') +
                     "\r\n0\r\n\r\n";
    Snapshot s = parse_all_ways(ok, l);  // exactly at the 100-byte limit
    ASSERT_EQ(s.status, ParseStatus::complete) << s.error_reason;
    EXPECT_EQ(s.body.size(), 100u);
    expect_error(head + "32\r\n" + std::string(50, 'a') + "\r\n33\r\n", 413,
                 "chunked body exceeds body limit 100", l);
    expect_error(head + "ffffffffffffffffffffffff\r\n", 413, "exceeds body limit");
    expect_error(head + "10000000000000000\r\n", 413, "exceeds body limit");
}

TEST(RequestParser, TrailerSectionLimit) {
    Limits l = small_limits();
    std::string req = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n";
    for (int i = 0; i < 20; i++) req += "X-Trailer-Field: 0123456789\r\n";
    expect_error(req + "\r\n", 431, "trailer section exceeds limit 256 bytes", l);
}

TEST(RequestParser, ContentLengthAndTransferEncodingTogetherIsRejected) {
    expect_error(
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
        "0\r\n\r\n",
        400, "request smuggling");
    expect_error(
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n",
        400, "both Content-Length and Transfer-Encoding");
}

TEST(RequestParser, TransferEncodingVariants) {
    const std::string head = "POST / HTTP/1.1\r\nHost: a\r\n";
    expect_error(head + "Transfer-Encoding: gzip\r\n\r\n", 501, "\"gzip\" not supported");
    expect_error(head + "Transfer-Encoding: gzip, chunked\r\n\r\n", 501, "gzip");
    expect_error(head + "Transfer-Encoding: chunked, gzip\r\n\r\n", 400, "after chunked");
    expect_error(head + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
                 "after chunked");
    expect_error(head + "Transfer-Encoding: identity\r\n\r\n", 501, "identity");
    expect_error(head + "Transfer-Encoding: \r\n\r\n", 400, "empty Transfer-Encoding");
    expect_error("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, "HTTP/1.0");
    Snapshot s = parse_all_ways(head + "Transfer-Encoding: , chunked ,\r\n\r\n0\r\n\r\n");
    EXPECT_EQ(s.status, ParseStatus::complete) << s.error_reason;  // empty list elements ignored
}

TEST(RequestParser, ContentLengthRepeatsMustAgree) {
    const std::string head = "POST / HTTP/1.1\r\nHost: a\r\n";
    Snapshot s = parse_all_ways(head + "Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc");
    ASSERT_EQ(s.status, ParseStatus::complete) << s.error_reason;
    EXPECT_EQ(s.body, "abc");
    s = parse_all_ways(head + "Content-Length: 3, 3\r\n\r\nabc");
    ASSERT_EQ(s.status, ParseStatus::complete) << s.error_reason;
    EXPECT_EQ(s.body, "abc");
    expect_error(head + "Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400,
                 "conflicting Content-Length values \"3\" and \"4\"");
    expect_error(head + "Content-Length: 3, 4\r\n\r\nabcd", 400, "conflicting");
    expect_error(head + "Content-Length: +3\r\n\r\nabc", 400, "\"+3\" is not a number");
    expect_error(head + "Content-Length: 3a\r\n\r\nabc", 400, "is not a number");
    expect_error(head + "Content-Length: -1\r\n\r\n", 400, "is not a number");
    expect_error(head + "Content-Length: 1 2\r\n\r\n", 400, "is not a number");
    expect_error(head + "Content-Length:\r\n\r\n", 400, "empty Content-Length");
}

TEST(RequestParser, BodyLimitFromContentLengthBeforeReadingBody) {
    Limits l;
    std::string req = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 40000000\r\n\r\n";
    RequestParser p(l);
    std::string buf = req;
    ASSERT_EQ(p.parse(buf.data(), buf.size()), ParseStatus::error);
    EXPECT_EQ(p.error_status(), 413);
    EXPECT_EQ(p.error_reason(), "Content-Length 40000000 exceeds body limit 33554432");
    expect_error("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999999\r\n\r\n",
                 413, "Content-Length 99999999999999999999999999 exceeds body limit");
    expect_error("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 18446744073709551616\r\n\r\n", 413,
                 "exceeds body limit");
    // Leading zeros are still a number.
    Snapshot s = parse_all_ways(
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: " + std::string(300, '0') + "2\r\n\r\nok");
    ASSERT_EQ(s.status, ParseStatus::complete) << s.error_reason;
    EXPECT_EQ(s.body, "ok");
}

TEST(RequestParser, HeaderLimits) {
    Limits l = small_limits();
    std::string big = "GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(300, 'v') + "\r\n\r\n";
    expect_error(big, 431, "header block exceeds limit 256 bytes", l);
    std::string many = "GET / HTTP/1.1\r\nHost: a\r\n";
    for (int i = 0; i < 8; i++) many += "X-" + std::to_string(i) + ": v\r\n";
    expect_error(many + "\r\n", 431, "more than 8 header fields", l);
    // Exactly at the limits is fine: 8 fields, and a head of exactly 256 bytes.
    std::string eight = "GET / HTTP/1.1\r\nHost: a\r\n";
    for (int i = 0; i < 7; i++) eight += "X-" + std::to_string(i) + ": v\r\n";
    EXPECT_EQ(parse_all_ways(eight + "\r\n", l).status, ParseStatus::complete);
    std::string exact = "GET / HTTP/1.1\r\nHost: a\r\nX: ";
    exact += std::string(256 - exact.size() - 4, 'v') + "\r\n\r\n";
    ASSERT_EQ(exact.size(), 256u);
    EXPECT_EQ(parse_all_ways(exact, l).status, ParseStatus::complete);
    std::string over = exact;
    over.insert(over.size() - 4, "v");
    expect_error(over, 431, "exceeds limit 256", l);
}

TEST(RequestParser, LineEndingsMustBeCrlf) {
    expect_error("GET / HTTP/1.1\nHost: a\r\n\r\n", 400, "bare LF in request line");
    expect_error("GET / HTTP/1.1\r\nHost: a\n\r\n", 400, "bare LF in header line 2");
    expect_error("GET / HTTP/1.1\r\nHost: a\r\n\n", 400, "bare LF");
    expect_error("GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n", 400, "bare CR in header line 2");
    expect_error("GET / HTTP/1.1\r\nHost: a\r\n\rX\r\n", 400, "bare CR");
}

TEST(RequestParser, ObsFoldAndMalformedFieldLines) {
    expect_error("GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n  continued\r\n\r\n", 400,
                 "obsolete line folding");
    expect_error("GET / HTTP/1.1\r\n\tHost: a\r\n\r\n", 400, "obsolete line folding");
    expect_error("GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400, "whitespace between header name");
    expect_error("GET / HTTP/1.1\r\nHost: a\r\n: b\r\n\r\n", 400, "empty header name");
    expect_error("GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", 400, "has no colon");
    expect_error("GET / HTTP/1.1\r\nHost: a\r\nX(y): b\r\n\r\n", 400,
                 "header name contains byte 0x28");
    expect_error("GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n"s, 400,
                 "control byte 0x00 in header line 3");
    expect_error("GET / HTTP/1.1\r\nHost: a\r\nX: a\x7f\r\n\r\n", 400, "control byte 0x7f");
}

// Lines of 16+ bytes take the SIMD field-name path; it must agree with the exact tchar scan.
TEST(RequestParser, FieldNamesOnTheFastAndSlowPaths) {
    const std::string head = "GET / HTTP/1.1\r\nHost: a\r\n";
    const std::string long_value = std::string(40, 'v');
    Snapshot s = parse_all_ways(head + "X_Custom.Name~1: " + long_value + "\r\nX-9: " + long_value +
                                "\r\nA-Very-Long-Field-Name-Here: " + long_value + "\r\n\r\n");
    ASSERT_EQ(s.status, ParseStatus::complete) << s.error_reason;
    EXPECT_EQ(s.headers[1].first, "X_Custom.Name~1");
    EXPECT_EQ(s.headers[2].first, "X-9");
    EXPECT_EQ(s.headers[3].first, "A-Very-Long-Field-Name-Here");
    expect_error(head + "Bad(Name): " + long_value + "\r\n\r\n", 400,
                 "header name contains byte 0x28");
    expect_error(head + "Bad Name: " + long_value + "\r\n\r\n", 400,
                 "header name contains byte 0x20");
    expect_error(head + "BadName : " + long_value + "\r\n\r\n", 400, "whitespace between");
    expect_error(head + ": " + long_value + "\r\n\r\n", 400, "empty header name");
    expect_error(head + "Na\xc3\xa9me: " + long_value + "\r\n\r\n", 400,
                 "header name contains byte 0xc3");
    expect_error(head + long_value + "\r\n\r\n", 400, "has no colon");
    s = parse_all_ways(head + "CONTENT-LENGTH: 0\r\nX-Pad: " + long_value + "\r\n\r\n");
    ASSERT_EQ(s.status, ParseStatus::complete) << s.error_reason;
    // Names that differ from the known ones only in the case bit of a non-letter are not them.
    s = parse_all_ways(head + "Content\x0dLength: 5\r\n\r\n");
    EXPECT_EQ(s.status, ParseStatus::error);
    s = parse_all_ways(head + "Content_Length: 5\r\n\r\n");
    ASSERT_EQ(s.status, ParseStatus::complete) << s.error_reason;
    EXPECT_EQ(s.body, "");  // Content_Length is some other field, not framing
    s = parse_all_ways(head + "Hos~: x\r\n\r\n");
    ASSERT_EQ(s.status, ParseStatus::complete) << s.error_reason;
    EXPECT_EQ(s.host, "a");
}

TEST(RequestParser, RequestLineErrors) {
    expect_error("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "empty request target");
    expect_error("GET /\r\nHost: a\r\n\r\n", 400, "no HTTP version");
    expect_error("GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400, "bad HTTP version");
    expect_error("GET / http/1.1\r\nHost: a\r\n\r\n", 400, "bad HTTP version");
    expect_error("GET / HTTP/1\r\nHost: a\r\n\r\n", 400, "bad HTTP version");
    expect_error("GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505, "HTTP version 2.0 not supported");
    expect_error("GET / HTTP/0.9\r\nHost: a\r\n\r\n", 505, "0.9");
    expect_error("GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", 400,
                 "request target contains byte 0xc3");
    expect_error("GET /\t HTTP/1.1\r\nHost: a\r\n\r\n", 400, "request target contains byte 0x09");
    expect_error("G@T / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "is not METHOD SP TARGET");
    expect_error(" GET / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "is not METHOD SP TARGET");
    expect_error("GET\r\n\r\n", 400, "is not METHOD SP TARGET");
    expect_error("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"s, 400,
                 "control byte 0x16 in request line");
    Snapshot s =
        parse_all_ways("GET / HTTP/1.2\r\nHost: a\r\n\r\n");  // a later 1.x is 1.1-compatible
    ASSERT_EQ(s.status, ParseStatus::complete);
    EXPECT_EQ(s.version_minor, 2);
    EXPECT_TRUE(s.keep_alive);
}

TEST(RequestParser, ExpectContinueIsKnownWhenHeadersAreDone) {
    std::string req =
        "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 4\r\n\r\n";
    RequestParser p(Limits{});
    std::string buf = req + "body";
    ASSERT_EQ(p.parse(buf.data(), req.size()), ParseStatus::incomplete);
    EXPECT_TRUE(p.headers_done());
    EXPECT_TRUE(p.request().expect_continue);
    ASSERT_EQ(p.parse(buf.data(), buf.size()), ParseStatus::complete);
    EXPECT_EQ(p.request().body, "body");
    EXPECT_TRUE(p.request().expect_continue);
    Snapshot s =
        parse_all_ways("POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n");
    EXPECT_FALSE(s.expect_continue);  // RFC 9110 §10.1.1: ignored on HTTP/1.0
    RequestParser q(Limits{});
    std::string partial = "POST / HTTP/1.1\r\nHost: a\r\n";
    EXPECT_EQ(q.parse(partial.data(), partial.size()), ParseStatus::incomplete);
    EXPECT_FALSE(q.headers_done());
}

TEST(RequestParser, PipelinedRequests) {
    std::string first = "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi";
    std::string second =
        "POST /b HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
    std::string third = "GET /c HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
    std::string wire = first + second + third + "GET /d HT";
    RequestParser p(Limits{});
    char* buf = wire.data();
    size_t left = wire.size();
    ASSERT_EQ(p.parse(buf, left), ParseStatus::complete);
    EXPECT_EQ(p.request().target, "/a");
    EXPECT_EQ(p.request().body, "hi");
    ASSERT_EQ(p.consumed(), first.size());
    buf += p.consumed();
    left -= p.consumed();
    p.reset();
    ASSERT_EQ(p.parse(buf, left), ParseStatus::complete);
    EXPECT_EQ(p.request().target, "/b");
    EXPECT_EQ(p.request().body, "abc");
    ASSERT_EQ(p.consumed(), second.size());
    buf += p.consumed();
    left -= p.consumed();
    // De-chunking the second request must not have touched the third.
    EXPECT_EQ(std::string(buf, third.size()), third);
    p.reset();
    ASSERT_EQ(p.parse(buf, left), ParseStatus::complete);
    EXPECT_EQ(p.request().target, "/c");
    EXPECT_FALSE(p.request().keep_alive);
    buf += p.consumed();
    left -= p.consumed();
    p.reset();
    EXPECT_EQ(p.parse(buf, left), ParseStatus::incomplete);
    EXPECT_EQ(std::string(buf, left), "GET /d HT");
}

TEST(RequestParser, ErrorIsStickyAndResetRecovers) {
    RequestParser p(Limits{});
    std::string bad = "GET / HTTP/1.1\nHost: a\r\n\r\n";
    ASSERT_EQ(p.parse(bad.data(), bad.size()), ParseStatus::error);
    ASSERT_EQ(p.parse(bad.data(), bad.size()), ParseStatus::error);
    EXPECT_EQ(p.error_status(), 400);
    p.reset();
    EXPECT_EQ(p.error_status(), 0);
    EXPECT_EQ(p.error_reason(), "");
    std::string good = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    EXPECT_EQ(p.parse(good.data(), good.size()), ParseStatus::complete);
    EXPECT_EQ(p.parse(good.data(), good.size()), ParseStatus::complete);  // idempotent
}

TEST(RequestParser, UpgradeHeaderIsReported) {
    Snapshot s = parse_all_ways(
        "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
    ASSERT_EQ(s.status, ParseStatus::complete);
    EXPECT_EQ(s.upgrade, "websocket");
    EXPECT_TRUE(s.keep_alive);
}

TEST(RequestParser, FindHeaderAndMethodName) {
    std::string req = "GET / HTTP/1.1\r\nHost: a\r\nX-Request-Id: 42\r\n\r\n";
    RequestParser p(Limits{});
    ASSERT_EQ(p.parse(req.data(), req.size()), ParseStatus::complete);
    EXPECT_EQ(find_header(p.request().headers, "x-request-id"), "42");
    EXPECT_EQ(find_header(p.request().headers, "x-missing"), "");
    EXPECT_STREQ(method_name(Method::delete_), "DELETE");
    EXPECT_TRUE(iequals("Content-Length", "content-length"));
    EXPECT_FALSE(iequals("Content-Length", "content-lengtx"));
}

// The server reserves a body's bytes from the declared length at the end of the head.
TEST(RequestParser, DeclaredContentLengthIsKnownAtTheEndOfTheHead) {
    RequestParser p{Limits{}};
    std::string head = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1234\r\n\r\n";
    std::string data = head + "{";
    ASSERT_EQ(p.parse(data.data(), data.size()), ParseStatus::incomplete);
    ASSERT_TRUE(p.headers_done());
    EXPECT_EQ(p.request().content_length, 1234u);
    EXPECT_EQ(p.head_bytes(), head.size());
    p.reset();
    std::string chunked = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n";
    ASSERT_EQ(p.parse(chunked.data(), chunked.size()), ParseStatus::incomplete);
    ASSERT_TRUE(p.headers_done());
    EXPECT_TRUE(p.request().chunked);
    EXPECT_EQ(p.request().content_length, 0u);
}

}  // namespace
}  // namespace em::http
