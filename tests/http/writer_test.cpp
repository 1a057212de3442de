// Writers: responses and requests round-trip through the parsers; Content-Length patching;
// overflow of a bounded buffer.
#include <gtest/gtest.h>

#include <string>

#include "http/parser.h"
#include "http/writer.h"

namespace em::http {
namespace {

TEST(Writer, ResponseRoundTrip) {
    ByteBuffer out;
    std::string body = R"({"jsonrpc":"2.0","id":7,"result":"0x10"})";
    write_response(out, 200, "application/json", body, true);
    ResponseParser p{Limits{}};
    ASSERT_EQ(p.parse(out.data(), out.size()), ParseStatus::complete) << p.error_reason();
    EXPECT_EQ(p.consumed(), out.size());
    EXPECT_EQ(p.response().status, 200);
    EXPECT_EQ(p.response().content_type, "application/json");
    EXPECT_EQ(p.response().body, body);
    EXPECT_TRUE(p.response().keep_alive);
    EXPECT_EQ(out.view().substr(0, 17), "HTTP/1.1 200 OK\r\n");
}

TEST(Writer, CloseAndErrorStatuses) {
    ByteBuffer out;
    write_response(out, 401, "application/json", R"({"error":"missing Authorization header"})",
                   false);
    ResponseParser p{Limits{}};
    ASSERT_EQ(p.parse(out.data(), out.size()), ParseStatus::complete) << p.error_reason();
    EXPECT_EQ(p.response().status, 401);
    EXPECT_FALSE(p.response().keep_alive);
    EXPECT_NE(out.view().find("HTTP/1.1 401 Unauthorized\r\n"), std::string::npos);
    EXPECT_NE(out.view().find("Connection: close\r\n"), std::string::npos);
}

TEST(Writer, BeginEndWritesBodyInPlace) {
    ByteBuffer out;
    out.append("leftover");  // marks are absolute offsets; earlier content is left alone
    size_t mark = begin_response(out, 200, "application/json", true);
    for (int i = 0; i < 1000; i++) out.append("[1,2,3],");
    end_response(out, mark);
    std::string wire(out.view().substr(8));
    ResponseParser p{Limits{}};
    ASSERT_EQ(p.parse(wire.data(), wire.size()), ParseStatus::complete) << p.error_reason();
    EXPECT_EQ(p.response().body.size(), 8000u);
    EXPECT_EQ(p.consumed(), wire.size());
    EXPECT_NE(wire.find("Content-Length: " + std::string(6, ' ') + "8000\r\n\r\n"),
              std::string::npos);
}

TEST(Writer, RetryAfterForBusyAnswers) {
    ByteBuffer out;
    size_t mark = begin_response(out, 503, "application/json", false, 1);
    out.append(R"({"error":"busy"})");
    end_response(out, mark);
    ResponseParser p{Limits{}};
    ASSERT_EQ(p.parse(out.data(), out.size()), ParseStatus::complete) << p.error_reason();
    EXPECT_EQ(p.response().status, 503);
    EXPECT_EQ(find_header(p.response().headers, "retry-after"), "1");
    EXPECT_FALSE(p.response().keep_alive);
    out.clear();
    begin_response(out, 503, "", true, 4294967295u);
    EXPECT_NE(out.view().find("\r\nRetry-After: 4294967295\r\n"), std::string::npos);
    out.clear();
    begin_response(out, 200, "text/plain", true);  // 0: no header
    EXPECT_EQ(out.view().find("Retry-After"), std::string::npos);
}

TEST(Writer, EmptyAndLargeBodies) {
    for (size_t n : {size_t{0}, size_t{9}, size_t{10}, size_t{1} << 20}) {
        ByteBuffer out;
        write_response(out, 200, "", std::string(n, 'b'), true);
        ResponseParser p{Limits{}};
        ASSERT_EQ(p.parse(out.data(), out.size()), ParseStatus::complete) << p.error_reason();
        EXPECT_EQ(p.response().body.size(), n);
        EXPECT_EQ(p.response().content_type, "");
        EXPECT_EQ(out.view().find("Content-Type"), std::string::npos);
    }
}

TEST(Writer, BodylessStatusesHaveNoLength) {
    ByteBuffer out;
    write_response(out, 204, "", "", true);
    EXPECT_EQ(out.view(), "HTTP/1.1 204 No Content\r\n\r\n");
    out.clear();
    write_continue(out);
    write_response(out, 200, "text/plain", "x", true);
    ResponseParser p{Limits{}};
    ASSERT_EQ(p.parse(out.data(), out.size()), ParseStatus::complete) << p.error_reason();
    EXPECT_EQ(p.response().status, 200);  // the 100 Continue was skipped
    EXPECT_EQ(p.response().body, "x");
}

TEST(Writer, RequestRoundTrip) {
    ByteBuffer out;
    std::string body =
        R"({"jsonrpc":"2.0","method":"engine_exchangeCapabilities","params":[[]],"id":3})";
    size_t mark =
        begin_request(out, "POST", "10.0.0.2:8551", "/", "aaa.bbb.ccc", "application/json");
    out.append(body);
    end_request(out, mark);
    RequestParser p{Limits{}};
    ASSERT_EQ(p.parse(out.data(), out.size()), ParseStatus::complete) << p.error_reason();
    const Request& r = p.request();
    EXPECT_EQ(r.method, Method::post);
    EXPECT_EQ(r.target, "/");
    EXPECT_EQ(r.host, "10.0.0.2:8551");
    EXPECT_EQ(r.authorization, "Bearer aaa.bbb.ccc");
    EXPECT_EQ(r.content_type, "application/json");
    EXPECT_EQ(r.body, body);
    EXPECT_TRUE(r.keep_alive);
    EXPECT_EQ(p.consumed(), out.size());
}

TEST(Writer, RequestWithoutTokenOrType) {
    ByteBuffer out;
    size_t mark = begin_request(out, "GET", "node", "/health", "", "");
    end_request(out, mark);
    RequestParser p{Limits{}};
    ASSERT_EQ(p.parse(out.data(), out.size()), ParseStatus::complete) << p.error_reason();
    EXPECT_EQ(p.request().method, Method::get);
    EXPECT_EQ(p.request().authorization, "");
    EXPECT_EQ(p.request().headers.size(), 2u);  // Host, Content-Length
    EXPECT_EQ(p.request().body, "");
}

TEST(Writer, OverflowLeavesBufferMarkedAndUnpatched) {
    ByteBuffer out(256, 64);
    size_t mark = begin_response(out, 200, "application/json", true);
    EXPECT_FALSE(out.overflowed());
    EXPECT_FALSE(out.append(std::string(300, 'x')));
    end_response(out, mark);  // must not crash or write past the buffer
    EXPECT_TRUE(out.overflowed());
    ByteBuffer tiny(16, 16);
    size_t m2 = begin_request(tiny, "POST", "host", "/", "token", "application/json");
    EXPECT_TRUE(tiny.overflowed());
    EXPECT_EQ(m2, 0u);
    end_request(tiny, m2);
    EXPECT_EQ(tiny.size(), 0u);
}

TEST(Writer, StatusReasons) {
    EXPECT_STREQ(status_reason(200), "OK");
    EXPECT_STREQ(status_reason(413), "Content Too Large");
    EXPECT_STREQ(status_reason(431), "Request Header Fields Too Large");
    EXPECT_STREQ(status_reason(505), "HTTP Version Not Supported");
    EXPECT_STREQ(status_reason(299), "Unknown");
}

}  // namespace
}  // namespace em::http
