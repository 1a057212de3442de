// ResponseParser: Content-Length, chunked and close-delimited bodies, 1xx interim responses,
// bodiless statuses and HEAD, early close, and incremental feeding.
#include <gtest/gtest.h>

#include <string>

#include "http/parser.h"
#include "parse_helpers.h"

namespace em::http {
namespace {

using test::Snapshot;

/// Whole, bytewise and every split must agree; `eof`: the peer closes after the last byte.
Snapshot parse_all_ways(const std::string& data, bool eof = false, bool head = false) {
    ResponseParser whole_parser{Limits{}};
    if (head) whole_parser.expect_no_body();
    Snapshot whole = test::parse_whole(whole_parser, data, eof);
    ResponseParser p{Limits{}};
    if (head) p.expect_no_body();
    Snapshot bytewise = test::parse_bytewise(p, data, eof);
    EXPECT_EQ(bytewise, whole) << whole.error_reason << " / " << bytewise.error_reason;
    for (size_t split = 0; split <= data.size(); split++) {
        p.reset();
        if (head) p.expect_no_body();
        Snapshot s = test::parse_split(p, data, split, eof);
        EXPECT_EQ(s, whole) << "split at " << split << ": " << s.error_reason;
        p.reset();
        if (head) p.expect_no_body();
        Snapshot moved = test::parse_moved(p, data, split, eof);
        EXPECT_EQ(moved, whole) << "moved at " << split << ": " << moved.error_reason;
        if (s != whole || moved != whole) break;
    }
    return whole;
}

TEST(ResponseParser, ContentLength) {
    std::string r =
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 39\r\n\r\n"
        R"({"jsonrpc":"2.0","id":1,"result":"0x1"})";
    Snapshot s = parse_all_ways(r);
    ASSERT_EQ(s.status, ParseStatus::complete) << s.error_reason;
    EXPECT_EQ(s.status_code, 200);
    EXPECT_TRUE(s.keep_alive);
    EXPECT_EQ(s.content_type, "application/json");
    EXPECT_EQ(s.body, R"({"jsonrpc":"2.0","id":1,"result":"0x1"})");
    EXPECT_EQ(s.consumed, r.size());
}

TEST(ResponseParser, Chunked) {
    std::string r =
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n5\r\npedia\r\n0\r\n\r\n";
    Snapshot s = parse_all_ways(r);
    ASSERT_EQ(s.status, ParseStatus::complete) << s.error_reason;
    EXPECT_EQ(s.body, "Wikipedia");
    EXPECT_TRUE(s.chunked);
    EXPECT_EQ(s.consumed, r.size());
}

TEST(ResponseParser, CloseDelimitedBodyEndsAtEof) {
    std::string r = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of this until close";
    ResponseParser p{Limits{}};
    std::string buf = r;
    EXPECT_EQ(p.parse(buf.data(), buf.size()), ParseStatus::incomplete);
    EXPECT_TRUE(p.headers_done());
    Snapshot s = parse_all_ways(r, true);
    ASSERT_EQ(s.status, ParseStatus::complete) << s.error_reason;
    EXPECT_EQ(s.body, "all of this until close");
    EXPECT_FALSE(s.keep_alive);
    EXPECT_EQ(s.consumed, r.size());
    s = parse_all_ways("HTTP/1.0 200 OK\r\n\r\n", true);  // empty close-delimited body
    ASSERT_EQ(s.status, ParseStatus::complete) << s.error_reason;
    EXPECT_EQ(s.body, "");
}

TEST(ResponseParser, CloseDelimitedBodyLimit) {
    Limits l;
    l.body_bytes_max = 10;
    ResponseParser p(l);
    std::string r = "HTTP/1.1 200 OK\r\n\r\n0123456789A";
    ASSERT_EQ(p.parse(r.data(), r.size() - 1), ParseStatus::incomplete);
    ASSERT_EQ(p.parse(r.data(), r.size()), ParseStatus::error);
    EXPECT_EQ(p.error_status(), 413);
    EXPECT_EQ(p.error_reason(), "close-delimited body exceeds body limit 10");
}

TEST(ResponseParser, InterimResponsesAreSkipped) {
    std::string r =
        "HTTP/1.1 100 Continue\r\n\r\n"
        "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
        "HTTP/1.1 201 Created\r\nContent-Length: 2\r\nX-Final: yes\r\n\r\nok";
    Snapshot s = parse_all_ways(r);
    ASSERT_EQ(s.status, ParseStatus::complete) << s.error_reason;
    EXPECT_EQ(s.status_code, 201);
    EXPECT_EQ(s.body, "ok");
    ASSERT_EQ(s.headers.size(), 2u);
    EXPECT_EQ(s.headers[1].first, "X-Final");
    EXPECT_EQ(s.consumed, r.size());
    std::string many;
    for (int i = 0; i < 9; i++) many += "HTTP/1.1 100 Continue\r\n\r\n";
    s = parse_all_ways(many + "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    ASSERT_EQ(s.status, ParseStatus::error);
    EXPECT_NE(s.error_reason.find("more than 8 interim"), std::string::npos) << s.error_reason;
    s = parse_all_ways("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n");
    ASSERT_EQ(s.status, ParseStatus::error);
    EXPECT_NE(s.error_reason.find("101"), std::string::npos);
}

TEST(ResponseParser, UpgradeModeTakesA101AsTheFinalResponse) {
    std::string head =
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Accept: x\r\n\r\n";
    std::string data = head + "\x81\x02hi";  // a frame right behind the head
    for (size_t split = 0; split <= data.size(); split++) {
        ResponseParser p{Limits{}};
        p.expect_upgrade();
        std::string buf = data.substr(0, split);
        ParseStatus st = p.parse(buf.data(), buf.size());
        if (st != ParseStatus::complete) {
            buf = data;
            st = p.parse(buf.data(), buf.size());
        }
        ASSERT_EQ(st, ParseStatus::complete) << "split at " << split;
        EXPECT_EQ(p.response().status, 101);
        EXPECT_EQ(p.consumed(), head.size()) << "the frame is not the response's";
        ASSERT_EQ(p.response().headers.size(), 3u);
        EXPECT_EQ(p.response().headers[2].name, "Sec-WebSocket-Accept");
        p.reset();  // reset leaves the mode: a 101 is an error again
        buf = data;
        EXPECT_EQ(p.parse(buf.data(), buf.size()), ParseStatus::error);
    }
}

TEST(ResponseParser, BodylessStatusesIgnoreFraming) {
    std::string r = "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nHTTP/1.1 200 OK\r\n";
    Snapshot s = parse_all_ways(r);
    ASSERT_EQ(s.status, ParseStatus::complete) << s.error_reason;
    EXPECT_EQ(s.status_code, 204);
    EXPECT_EQ(s.body, "");
    EXPECT_EQ(s.consumed, r.find("HTTP/1.1 200"));
    s = parse_all_ways("HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n");
    ASSERT_EQ(s.status, ParseStatus::complete) << s.error_reason;
    EXPECT_EQ(s.body, "");
}

TEST(ResponseParser, AnswerToHeadHasNoBody) {
    std::string r = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n";
    Snapshot s = parse_all_ways(r, false, true);
    ASSERT_EQ(s.status, ParseStatus::complete) << s.error_reason;
    EXPECT_EQ(s.body, "");
    EXPECT_EQ(s.consumed, r.size());
    ResponseParser p{Limits{}};
    p.expect_no_body();
    p.reset();  // reset clears expect_no_body
    std::string buf = r;
    EXPECT_EQ(p.parse(buf.data(), buf.size()), ParseStatus::incomplete);
}

TEST(ResponseParser, EarlyCloseIsAnError) {
    struct Case {
        std::string wire;
        const char* reason;
    } cases[] = {
        {"", "connection closed before a response"},
        {"HTTP/1.1 100 Continue\r\n\r\n", "connection closed before the final response"},
        {"HTTP/1.1 200 OK\r\nContent-Le", "connection closed inside the header block"},
        {"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123", "after 4 of 10 body bytes"},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", "inside the chunked body"},
    };
    for (const Case& c : cases) {
        Snapshot s = parse_all_ways(c.wire, true);
        ASSERT_EQ(s.status, ParseStatus::error) << c.wire;
        EXPECT_EQ(s.error_status, 502);
        EXPECT_NE(s.error_reason.find(c.reason), std::string::npos) << s.error_reason;
    }
}

TEST(ResponseParser, KeepAliveAndVersions) {
    Snapshot s = parse_all_ways("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n");
    EXPECT_FALSE(s.keep_alive);
    s = parse_all_ways("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n");
    EXPECT_TRUE(s.keep_alive);
    s = parse_all_ways("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    EXPECT_FALSE(s.keep_alive);
    s = parse_all_ways("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n");  // reason phrase is optional
    EXPECT_EQ(s.status, ParseStatus::complete) << s.error_reason;
    s = parse_all_ways("HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n");
    EXPECT_EQ(s.status, ParseStatus::complete) << s.error_reason;
    s = parse_all_ways("HTTP/2.0 200 OK\r\n\r\n");
    EXPECT_EQ(s.error_status, 505);
}

TEST(ResponseParser, BadStatusLinesAndFraming) {
    for (const char* bad :
         {"HTTP/1.1 20 OK\r\n\r\n", "HTTP/1.1 2000 OK\r\n\r\n", "HTTP/1.1  200 OK\r\n\r\n",
          "HTTP/1.1 099 Low\r\n\r\n", "HTTP/1.1 600 High\r\n\r\n", "HTTP/1.1\r\n\r\n",
          "\r\nHTTP/1.1 200 OK\r\n\r\n", "ICY 200 OK\r\n\r\n",
          "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n",
          "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
          "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"}) {
        Snapshot s = parse_all_ways(bad, true);
        EXPECT_EQ(s.status, ParseStatus::error) << bad;
        EXPECT_FALSE(s.error_reason.empty());
    }
    Snapshot s = parse_all_ways("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n");
    EXPECT_EQ(s.error_status, 501);
}

}  // namespace
}  // namespace em::http
