// The WebSocket codec (src/http/websocket.h): the opening handshake, every rule of the frame
// parser in both roles, limits, feeding cut at every byte, the writers, and writer→parser
// round trips. The Autobahn TestSuite cases are in websocket_autobahn_test.cpp.
#include "http/websocket.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "http/parser.h"
#include "ws_helpers.h"

namespace em::http {
namespace {

using test::close_body;
using test::feed;
using test::feed_bytewise;
using test::feed_whole;
using test::fragment;
using test::frame;
using test::Outcome;
using test::parse_all_ways;
using test::raw_frame;

// --- Handshake ---

constexpr const char* good_upgrade =
    "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";

/// Parses a request head (given without its final CRLF) and checks it as an upgrade.
struct Upgrade {
    std::string wire;
    RequestParser parser{Limits{}};
    Result<WsUpgrade> result = fail(Errc::internal, "not parsed");

    explicit Upgrade(std::string head) : wire(std::move(head) + "\r\n") {
        EXPECT_EQ(parser.parse(wire.data(), wire.size()), ParseStatus::complete)
            << parser.error_reason();
        result = ws_check_upgrade(parser.request());
    }
    std::string error() const { return std::string(result.error().message()); }
};

std::string replace(std::string s, const std::string& from, const std::string& to) {
    size_t at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return s.replace(at, from.size(), to);
}

TEST(WsHandshake, RfcExampleAccept) {
    // RFC 6455 §1.3: the independent check of SHA-1 + base64 with the GUID.
    auto a = ws_accept("dGhlIHNhbXBsZSBub25jZQ==");
    EXPECT_EQ(std::string(a.data(), a.size()), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    // More keys, their answers computed with Python's hashlib and base64.
    a = ws_accept("AAAAAAAAAAAAAAAAAAAAAA==");
    EXPECT_EQ(std::string(a.data(), a.size()), "ICX+Yqv66kxgM0FcWaLWlFLwTAI=");
    a = ws_accept("x3JJHMbDL1EzLkh9GBhXDw==");
    EXPECT_EQ(std::string(a.data(), a.size()), "HSmrc0sMlYUkAGmm5OPpG2HaGWk=");
}

TEST(WsHandshake, ValidUpgradeAnswers101) {
    Upgrade u(good_upgrade);
    ASSERT_TRUE(u.result) << u.error();
    EXPECT_EQ(u.result->key, "dGhlIHNhbXBsZSBub25jZQ==");
    ByteBuffer out;
    ASSERT_TRUE(ws_write_accept(out, *u.result));
    EXPECT_EQ(out.view(),
              "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n");
}

TEST(WsHandshake, TokenListsAndCase) {
    std::string h = replace(good_upgrade, "Connection: Upgrade", "Connection: keep-alive, UPGRADE");
    h = replace(h, "Upgrade: websocket", "Upgrade: WebSocket");
    Upgrade u(h);
    EXPECT_TRUE(u.result) << u.error();
    // Connection split over two fields.
    Upgrade two(replace(good_upgrade, "Connection: Upgrade",
                        "Connection: keep-alive\r\nConnection: upgrade"));
    EXPECT_TRUE(two.result) << two.error();
}

TEST(WsHandshake, PermessageDeflateIsDeclined) {
    Upgrade u(std::string(good_upgrade) +
              "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n");
    ASSERT_TRUE(u.result) << u.error();
    ByteBuffer out;
    ASSERT_TRUE(ws_write_accept(out, *u.result));
    EXPECT_EQ(out.view().find("Extensions"), std::string_view::npos);
    EXPECT_EQ(out.view().find("deflate"), std::string_view::npos);
}

struct BadHandshake {
    const char* name;
    std::string head;
    Errc code;
    const char* message_has;
};

TEST(WsHandshake, BadHandshakesNameTheProblem) {
    std::string g = good_upgrade;
    std::vector<BadHandshake> cases = {
        {"post", replace(g, "GET", "POST") + "Content-Length: 0\r\n", Errc::invalid_input,
         "must be GET, not POST"},
        {"http10", replace(g, "HTTP/1.1", "HTTP/1.0"), Errc::invalid_input, "HTTP/1.1"},
        {"no upgrade", replace(g, "Upgrade: websocket\r\n", ""), Errc::invalid_input,
         "Upgrade does not name websocket"},
        {"upgrade h2c", replace(g, "Upgrade: websocket", "Upgrade: h2c"), Errc::invalid_input,
         "Upgrade does not name websocket"},
        {"no connection upgrade", replace(g, "Connection: Upgrade", "Connection: keep-alive"),
         Errc::invalid_input, "Connection does not list upgrade"},
        {"connection substring", replace(g, "Connection: Upgrade", "Connection: upgraded"),
         Errc::invalid_input, "Connection does not list upgrade"},
        {"version 8", replace(g, "Version: 13", "Version: 8"), Errc::unsupported,
         "Sec-WebSocket-Version 8 is not supported (13 is)"},
        {"no version", replace(g, "Sec-WebSocket-Version: 13\r\n", ""), Errc::invalid_input,
         "no Sec-WebSocket-Version"},
        {"no key", replace(g, "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", ""),
         Errc::invalid_input, "no Sec-WebSocket-Key"},
        {"key 15 bytes", replace(g, "dGhlIHNhbXBsZSBub25jZQ==", "dGhlIHNhbXBsZSBub25jZQ="),
         Errc::invalid_input, "is not base64 of 16 bytes"},
        {"key 17 bytes", replace(g, "dGhlIHNhbXBsZSBub25jZQ==", "dGhlIHNhbXBsZSBub25jZUE="),
         Errc::invalid_input, "is not base64 of 16 bytes"},
        {"key not base64", replace(g, "dGhlIHNhbXBsZSBub25jZQ==", "dGhlIHNhbXBsZSBub25j*Q=="),
         Errc::invalid_input, "is not base64 of 16 bytes"},
        {"two keys", g + "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\n", Errc::invalid_input,
         "more than once"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        Upgrade u(c.head);
        ASSERT_FALSE(u.result);
        EXPECT_EQ(u.result.error().code(), c.code);
        EXPECT_NE(u.error().find(c.message_has), std::string::npos) << u.error();
    }
}

TEST(WsHandshake, RejectionAnswers) {
    ByteBuffer out;
    ASSERT_TRUE(ws_write_rejection(out, Error(Errc::unsupported, "version 8")));
    EXPECT_EQ(out.view(),
              "HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\n"
              "Content-Type: text/plain\r\nConnection: close\r\nContent-Length: 10\r\n\r\n"
              "version 8\n");
    out.clear();
    ASSERT_TRUE(ws_write_rejection(out, Error(Errc::invalid_input, "no key")));
    EXPECT_EQ(out.view().substr(0, 25), "HTTP/1.1 400 Bad Request\r");
    EXPECT_EQ(out.view().find("Sec-WebSocket-Version"), std::string_view::npos);
}

// --- Client side of the handshake ---

/// Headers of a 101 answer, as a client's parser would give them.
std::vector<Header> answer_headers(std::string_view accept) {
    return {{"Upgrade", "websocket"}, {"Connection", "Upgrade"}, {"Sec-WebSocket-Accept", accept}};
}

TEST(WsClientHandshake, KeyRequestAndAccept) {
    // RFC 6455 §4.1's example nonce is the 16 bytes "the sample nonce".
    std::array<uint8_t, 16> nonce{};
    std::memcpy(nonce.data(), "the sample nonce", 16);
    auto key = ws_key(nonce);
    std::string_view k(key.data(), key.size());
    EXPECT_EQ(k, "dGhlIHNhbXBsZSBub25jZQ==");
    ByteBuffer out;
    ASSERT_TRUE(ws_write_upgrade_request(out, "el-1:8546", "/", k));
    // Our own server-side check accepts what our client writes.
    Upgrade u(std::string(out.view().substr(0, out.size() - 2)));
    ASSERT_TRUE(u.result) << u.error();
    EXPECT_EQ(u.result->key, k);
    std::vector<Header> h = answer_headers("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    EXPECT_TRUE(ws_check_accept(101, h, k));
}

TEST(WsClientHandshake, BadAnswersNameTheProblem) {
    std::string_view k = "dGhlIHNhbXBsZSBub25jZQ==";
    auto expect_error = [&](int status, const std::vector<Header>& h, const char* has) {
        Result<void> r = ws_check_accept(status, h, k);
        ASSERT_FALSE(r) << has;
        EXPECT_NE(r.error().message().find(has), std::string_view::npos) << r.error().message();
    };
    std::vector<Header> good = answer_headers("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    expect_error(200, good, "answered 200");
    expect_error(101, answer_headers("AAAAAAAAAAAAAAAAAAAAAAAAAAA="), "does not match");
    std::vector<Header> no_upgrade = good;
    no_upgrade[0].value = "h2c";
    expect_error(101, no_upgrade, "Upgrade: websocket");
    std::vector<Header> no_conn = good;
    no_conn[1].value = "keep-alive";
    expect_error(101, no_conn, "Connection: upgrade");
    std::vector<Header> deflate = good;
    deflate.push_back({"Sec-WebSocket-Extensions", "permessage-deflate"});
    expect_error(101, deflate, "sec-websocket-extensions");
}

// --- Frame parser rules ---

using test::Records;

TEST(WsParser, RfcExamples) {
    // RFC 6455 §5.7, byte for byte.
    std::string masked_hello = "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58";
    EXPECT_EQ(parse_all_ways(masked_hello).records, Records{"text:Hello"});
    EXPECT_EQ(parse_all_ways("\x81\x05Hello", WsRole::client).records, Records{"text:Hello"});
    EXPECT_EQ(parse_all_ways("\x01\x03Hel\x80\x02lo", WsRole::client).records,
              Records{"text:Hello"});
    EXPECT_EQ(parse_all_ways("\x89\x05Hello", WsRole::client).records, Records{"ping:Hello"});
    std::string masked_pong = "\x8a\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58";
    EXPECT_EQ(parse_all_ways(masked_pong).records, Records{"pong:Hello"});
    std::string b256 = std::string("\x82\x7E\x01\x00", 4) + std::string(256, 'x');
    EXPECT_EQ(parse_all_ways(b256, WsRole::client).records,
              Records{"binary:" + std::string(256, 'x')});
    std::string b64k =
        std::string("\x82\x7F\x00\x00\x00\x00\x00\x01\x00\x00", 10) + std::string(65536, 'y');
    EXPECT_EQ(feed_whole(b64k, WsRole::client).records,
              Records{"binary:" + std::string(65536, 'y')});
    EXPECT_EQ(feed(b64k, {3, 9, 10, 11, 40000}, WsRole::client).records,
              Records{"binary:" + std::string(65536, 'y')});
}

struct Rule {
    const char* name;
    std::string wire;
    Records records;
    const char* reason_has;  // "" when no error
    WsRole role = WsRole::server;
};

TEST(WsParser, EveryRule) {
    std::string long_len = std::string("\x82\xFF\x80\x00\x00\x00\x00\x00\x00\x00", 10) + "abcd";
    std::vector<Rule> rules = {
        {"unmasked from a client", frame(1, "hi", false), {"error:1002"}, "unmasked frame"},
        {"masked from a server",
         frame(1, "hi", true),
         {"error:1002"},
         "masked frame",
         WsRole::client},
        {"rsv1", raw_frame(0xC1, "hi"), {"error:1002"}, "reserved bits"},
        {"rsv2", raw_frame(0xA1, "hi"), {"error:1002"}, "reserved bits"},
        {"rsv3", raw_frame(0x91, "hi"), {"error:1002"}, "reserved bits"},
        {"opcode 3", frame(3, ""), {"error:1002"}, "unknown opcode"},
        {"opcode 7", frame(7, "x"), {"error:1002"}, "unknown opcode"},
        {"opcode B", frame(0xB, ""), {"error:1002"}, "unknown opcode"},
        {"opcode F", frame(0xF, "x"), {"error:1002"}, "unknown opcode"},
        {"2^63 length", long_len, {"error:1002"}, "most significant bit"},
        {"ping 126", frame(9, std::string(126, 'p')), {"error:1002"}, "over 125"},
        {"close 126",
         frame(8, close_body(1000, std::string(124, 'r'))),
         {"error:1002"},
         "over 125"},
        {"fragmented ping", fragment(9, "a") + frame(0, "b"), {"error:1002"}, "fragmented control"},
        {"continuation alone", frame(0, "x"), {"error:1002"}, "no message to continue"},
        {"text inside message",
         fragment(1, "a") + frame(1, "b"),
         {"error:1002"},
         "new data frame inside"},
        {"binary inside message",
         fragment(2, "a") + fragment(2, "b"),
         {"error:1002"},
         "new data frame inside"},
        {"ping inside message",
         fragment(1, "a") + frame(9, "p") + frame(0, "b"),
         {"ping:p", "text:ab"},
         ""},
        {"close inside message",
         fragment(1, "a") + frame(8, close_body(1000)),
         {"close:1000:"},
         ""},
        {"invalid UTF-8", frame(1, "a\xff"), {"error:1007"}, "not valid UTF-8"},
        {"UTF-8 across fragments", fragment(1, "\xce") + frame(0, "\xba"), {"text:\xce\xba"}, ""},
        {"UTF-8 truncated at the end",
         fragment(1, "a\xe2\x82") + frame(0, ""),
         {"error:1007"},
         "ends inside a UTF-8 sequence"},
        {"binary is not UTF-8 checked", frame(2, "\xff"), {"binary:\xff"}, ""},
        {"overlong", frame(1, "\xc0\xaf"), {"error:1007"}, "not valid UTF-8"},
        {"surrogate", frame(1, "\xed\xa0\x80"), {"error:1007"}, "not valid UTF-8"},
        {"above U+10FFFF", frame(1, "\xf4\x90\x80\x80"), {"error:1007"}, "not valid UTF-8"},
        {"close empty", frame(8, ""), {"close:1005:"}, ""},
        {"close 1 byte", frame(8, "\x03"), {"error:1002"}, "1-byte"},
        {"close 1000 reason", frame(8, close_body(1000, "bye")), {"close:1000:bye"}, ""},
        {"close 999", frame(8, close_body(999)), {"error:1002"}, "close code 999"},
        {"close 0", frame(8, close_body(0)), {"error:1002"}, "close code 0 "},
        {"close 1004", frame(8, close_body(1004)), {"error:1002"}, "close code 1004"},
        {"close 1005", frame(8, close_body(1005)), {"error:1002"}, "close code 1005"},
        {"close 1006", frame(8, close_body(1006)), {"error:1002"}, "close code 1006"},
        {"close 1015", frame(8, close_body(1015)), {"error:1002"}, "close code 1015"},
        {"close 1016", frame(8, close_body(1016)), {"error:1002"}, "close code 1016"},
        {"close 2999", frame(8, close_body(2999)), {"error:1002"}, "close code 2999"},
        {"close 5000", frame(8, close_body(5000)), {"error:1002"}, "close code 5000"},
        {"close 4999", frame(8, close_body(4999)), {"close:4999:"}, ""},
        {"close bad reason", frame(8, close_body(1000, "\xff")), {"error:1007"}, "close reason"},
        {"bytes after close ignored",
         frame(8, "") + frame(1, "late") + "\xff\xff",
         {"close:1005:"},
         ""},
        {"non-minimal length accepted", raw_frame(0x81, "hi", true, 126), {"text:hi"}, ""},
        {"empty fragments", fragment(1, "") + fragment(0, "") + frame(0, ""), {"text:"}, ""},
    };
    for (const Rule& r : rules) {
        SCOPED_TRACE(r.name);
        Outcome o = parse_all_ways(r.wire, r.role);
        EXPECT_EQ(o.records, r.records);
        EXPECT_NE(o.error_reason.find(r.reason_has), std::string::npos) << o.error_reason;
        EXPECT_LE(o.error_reason.size(), WsParser::error_reason_bytes_max);
    }
}

TEST(WsParser, LimitsGive1009BeforeThePayload) {
    WsLimits l;
    l.frame_bytes_max = 100;
    l.message_bytes_max = 250;
    // A frame of exactly the limit passes; one more byte does not, from the header alone.
    EXPECT_EQ(parse_all_ways(frame(2, std::string(100, 'a')), WsRole::server, l).records,
              Records{"binary:" + std::string(100, 'a')});
    std::string header_only = frame(2, std::string(101, 'a')).substr(0, 8);
    Outcome o = feed_whole(header_only, WsRole::server, l);
    EXPECT_EQ(o.records, Records{"error:1009"});
    EXPECT_NE(o.error_reason.find("frame of 101 bytes exceeds the frame limit of 100"),
              std::string::npos);
    // The message limit counts every fragment.
    std::string three = fragment(1, std::string(100, 'a')) + fragment(0, std::string(100, 'b')) +
                        frame(0, std::string(50, 'c'));
    EXPECT_EQ(parse_all_ways(three, WsRole::server, l).records.size(), 1u);
    std::string over = fragment(1, std::string(100, 'a')) + fragment(0, std::string(100, 'b')) +
                       frame(0, std::string(51, 'c'));
    o = parse_all_ways(over, WsRole::server, l);
    EXPECT_EQ(o.records, Records{"error:1009"});
    EXPECT_NE(o.error_reason.find("message of 251 bytes or more"), std::string::npos);
    // Control frames do not count toward the message.
    std::string with_ping = fragment(1, std::string(100, 'a')) + frame(9, std::string(100, 'p')) +
                            fragment(0, std::string(100, 'b')) + frame(0, std::string(50, 'c'));
    EXPECT_EQ(parse_all_ways(with_ping, WsRole::server, l).records.size(), 2u);
}

TEST(WsParser, ErrorsStickAndResetClears) {
    WsParser p(WsLimits{}, WsRole::server);
    std::string bad = frame(1, "x", false);
    std::vector<uint8_t> buf(bad.begin(), bad.end());
    EXPECT_EQ(p.parse(buf).kind, WsEventKind::error);
    EXPECT_EQ(p.parse(buf).kind, WsEventKind::error);
    EXPECT_EQ(p.error_close_code(), ws_close::protocol_error);
    p.reset();
    std::string good = frame(1, "x");
    buf.assign(good.begin(), good.end());
    WsEvent ev = p.parse(buf);
    EXPECT_EQ(ev.kind, WsEventKind::data);
    EXPECT_EQ(ev.consumed, buf.size());
}

TEST(WsParser, EmptyInputAndEmptyFrameAtTheEnd) {
    WsParser p(WsLimits{}, WsRole::server);
    EXPECT_EQ(p.parse({}).kind, WsEventKind::incomplete);
    // A ping without payload whose header ends the input is reported at once.
    std::string ping = frame(9, "");
    std::vector<uint8_t> buf(ping.begin(), ping.end());
    WsEvent ev = p.parse(buf);
    EXPECT_EQ(ev.kind, WsEventKind::ping);
    EXPECT_EQ(ev.consumed, buf.size());
}

TEST(WsParser, UnmaskMatchesBytewise) {
    std::mt19937 rng(7);
    for (size_t n = 0; n < 70; n++) {
        for (size_t phase = 0; phase < 4; phase++) {
            std::vector<uint8_t> a(n), b;
            for (auto& x : a) x = static_cast<uint8_t>(rng());
            b = a;
            uint8_t mask[4] = {0x12, 0x34, 0x56, 0x78};
            ws_unmask(a.data(), n, mask, phase);
            for (size_t i = 0; i < n; i++) b[i] ^= mask[(phase + i) % 4];
            EXPECT_EQ(a, b) << n << " " << phase;
        }
    }
}

// --- Writers ---

TEST(WsWriter, LengthForms) {
    for (size_t n : {0, 1, 125, 126, 127, 65535, 65536, 70000}) {
        ByteBuffer out(1 << 20);
        std::vector<uint8_t> payload(n, 'z');
        ASSERT_TRUE(ws_write_frame(out, WsOpcode::binary, payload));
        size_t h = n < 126 ? 2 : n <= 65535 ? 4 : 10;
        EXPECT_EQ(ws_header_bytes(n, false), h);
        ASSERT_EQ(out.size(), h + n);
        std::string independent = raw_frame(0x82, std::string(n, 'z'), false);
        EXPECT_EQ(out.view(), independent) << n;
    }
}

TEST(WsWriter, MaskedFrameMatchesTheRfc) {
    ByteBuffer out;
    WsMask m{{0x37, 0xfa, 0x21, 0x3d}};
    ASSERT_TRUE(ws_write_text(out, "Hello", &m));
    EXPECT_EQ(out.view(), "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58");
}

TEST(WsWriter, CloseWithReasonCutAtACodePoint) {
    ByteBuffer out;
    ASSERT_TRUE(ws_write_close(out, 1008, "slow"));
    EXPECT_EQ(out.view(), std::string("\x88\x06\x03\xf0slow", 8));
    // 122 ASCII bytes then a 2-byte code point: the cut may not split it (123 bytes max).
    std::string reason = std::string(122, 'r') + "\xc3\xa9" + "tail";
    out.clear();
    ASSERT_TRUE(ws_write_close(out, 1000, reason));
    Outcome o = feed_whole(std::string(out.view()), WsRole::client);
    EXPECT_EQ(o.records, Records{"close:1000:" + std::string(122, 'r')});
}

TEST(WsWriter, OverflowIsReported) {
    ByteBuffer out(64, 64);
    std::vector<uint8_t> payload(100, 'a');
    EXPECT_FALSE(ws_write_frame(out, WsOpcode::binary, payload));
    EXPECT_TRUE(out.overflowed());
}

/// Random messages (text or binary, fragmented or not, pings and pongs between fragments)
/// written by one end's writer and parsed by the other end's parser, cut at random places.
TEST(WsRoundTrip, RandomMessagesBothDirections) {
    std::mt19937 rng(17);
    for (int round = 0; round < 300; round++) {
        bool from_client = round % 2 == 0;
        ByteBuffer wire(8 << 20);
        Records expected;
        int messages = 1 + static_cast<int>(rng() % 5);
        for (int m = 0; m < messages; m++) {
            bool text = rng() % 2;
            size_t len = rng() % 4 == 0 ? rng() % 70000 : rng() % 300;
            std::string body(len, 'a');
            for (auto& c : body) c = static_cast<char>(text ? 'a' + rng() % 26 : rng());
            size_t parts = 1 + rng() % 3;
            size_t at = 0;
            for (size_t i = 0; i < parts; i++) {
                size_t end = i + 1 == parts ? len : at + rng() % (len - at + 1);
                WsMask mask{{uint8_t(rng()), uint8_t(rng()), uint8_t(rng()), uint8_t(rng())}};
                auto op = i ? WsOpcode::continuation : text ? WsOpcode::text : WsOpcode::binary;
                std::span<const uint8_t> piece(reinterpret_cast<const uint8_t*>(body.data()) + at,
                                               end - at);
                ASSERT_TRUE(
                    ws_write_frame(wire, op, piece, i + 1 == parts, from_client ? &mask : nullptr));
                if (i + 1 == parts) expected.push_back((text ? "text:" : "binary:") + body);
                if (rng() % 3 == 0) {
                    std::vector<uint8_t> p(rng() % 126, 'p');
                    ASSERT_TRUE(ws_write_frame(wire, WsOpcode::ping, p, true,
                                               from_client ? &mask : nullptr));
                    expected.push_back("ping:" + std::string(p.begin(), p.end()));
                }
                at = end;
            }
        }
        WsMask mask{{1, 2, 3, 4}};
        ASSERT_TRUE(ws_write_close(wire, 1001, "going", from_client ? &mask : nullptr));
        expected.push_back("close:1001:going");
        std::string bytes(wire.view());
        std::vector<size_t> cuts;
        for (size_t c = rng() % 50; c < bytes.size(); c += 1 + rng() % 5000) cuts.push_back(c);
        WsRole role = from_client ? WsRole::server : WsRole::client;
        Records got = feed(bytes, cuts, role).records;
        ASSERT_EQ(got.size(), expected.size()) << "round " << round << ": " << got.back();
        for (size_t i = 0; i < got.size(); i++) {
            // Compared as booleans: a message is up to 70000 bytes, too long to print.
            ASSERT_TRUE(got[i] == expected[i])
                << "round " << round << " record " << i << ": " << got[i].substr(0, 80) << " vs "
                << expected[i].substr(0, 80);
        }
    }
}

}  // namespace
}  // namespace em::http
