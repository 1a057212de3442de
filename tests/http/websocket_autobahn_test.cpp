// The Autobahn TestSuite's fuzzingclient cases of sections 1-7 (framing, pings/pongs, reserved
// bits, opcodes, fragmentation, UTF-8, close handling), rebuilt from their descriptions as frames
// a client sends and what the server's parser must make of them. Every case is also fed byte by
// byte, in 997-byte chops and cut in two at every offset (the suite's "chopped" variants), which
// must not change the outcome. The UTF-8 validator is also checked exhaustively against a decoder
// written here from RFC 3629.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "http/utf8.h"
#include "http/websocket.h"
#include "ws_helpers.h"

namespace em::http {
namespace {

using test::close_body;
using test::fragment;
using test::frame;
using test::parse_all_ways;
using test::raw_frame;
using test::Records;
using namespace std::string_literals;

struct Case {
    const char* id;
    std::string wire;
    Records records;
};

void run(const std::vector<Case>& cases) {
    for (const Case& c : cases) {
        SCOPED_TRACE(c.id);
        EXPECT_EQ(parse_all_ways(c.wire).records, c.records);
    }
}

std::string n_bytes(size_t n, char c) {
    return std::string(n, c);
}

TEST(Autobahn, Section1Framing) {
    std::vector<Case> cases;
    const size_t lens[] = {0, 125, 126, 127, 128, 65535, 65536};
    const char* ids_text[] = {"1.1.1", "1.1.2", "1.1.3", "1.1.4", "1.1.5", "1.1.6", "1.1.7"};
    const char* ids_binary[] = {"1.2.1", "1.2.2", "1.2.3", "1.2.4", "1.2.5", "1.2.6", "1.2.7"};
    for (size_t i = 0; i < 7; i++) {
        cases.push_back(
            {ids_text[i], frame(1, n_bytes(lens[i], '*')), {"text:" + n_bytes(lens[i], '*')}});
        cases.push_back({ids_binary[i],
                         frame(2, n_bytes(lens[i], '\xfe')),
                         {"binary:" + n_bytes(lens[i], '\xfe')}});
    }
    // 1.1.8 / 1.2.8: 65536 bytes sent in chops of 997 octets: parse_all_ways feeds those.
    run(cases);
}

TEST(Autobahn, Section2PingsPongs) {
    std::string ten_pings, ten_expected;
    Records ten;
    for (int i = 0; i < 10; i++) {
        ten_pings += frame(9, "payload-" + std::to_string(i));
        ten.push_back("ping:payload-" + std::to_string(i));
    }
    run({
        {"2.1 ping without payload", frame(9, ""), {"ping:"}},
        {"2.2 ping with small text", frame(9, "Hello, world!"), {"ping:Hello, world!"}},
        {"2.3 ping with binary",
         frame(9, "\x00\xff\xfe\xfd\xfc\xfb\x00\xff"s),
         {"ping:\x00\xff\xfe\xfd\xfc\xfb\x00\xff"s}},
        {"2.4 ping of 125 bytes", frame(9, n_bytes(125, '\xfe')), {"ping:" + n_bytes(125, '\xfe')}},
        {"2.5 ping of 126 bytes", frame(9, n_bytes(126, '\xfe')), {"error:1002"}},
        {"2.6 ping of 125 bytes, chopped",
         frame(9, n_bytes(125, '\xfe')),
         {"ping:" + n_bytes(125, '\xfe')}},
        {"2.7 unsolicited pong without payload", frame(0xA, ""), {"pong:"}},
        {"2.8 unsolicited pong with payload",
         frame(0xA, "unsolicited pong payload"),
         {"pong:unsolicited pong payload"}},
        {"2.9 unsolicited pong, then ping",
         frame(0xA, "unsolicited") + frame(9, "ping"),
         {"pong:unsolicited", "ping:ping"}},
        {"2.10 ten pings", ten_pings, ten},
        {"2.11 ten pings, chopped", ten_pings, ten},
    });
}

TEST(Autobahn, Section3ReservedBits) {
    std::string hello = frame(1, "Hello, world!");
    std::string ping = frame(9, "Hello, world!");
    run({
        {"3.1 text with RSV=1", raw_frame(0x80 | 0x40 | 1, "Hello, world!"), {"error:1002"}},
        {"3.2 text, text with RSV=2, ping",
         hello + raw_frame(0x80 | 0x20 | 1, "x") + ping,
         {"text:Hello, world!", "error:1002"}},
        {"3.3 same with RSV=3, frame-wise",
         hello + raw_frame(0x80 | 0x30 | 1, "x") + ping,
         {"text:Hello, world!", "error:1002"}},
        {"3.4 same with RSV=4, octet-wise",
         hello + raw_frame(0x80 | 0x40 | 1, "x") + ping,
         {"text:Hello, world!", "error:1002"}},
        {"3.5 binary with RSV=5", raw_frame(0x80 | 0x50 | 2, "\xff\xfe"), {"error:1002"}},
        {"3.6 ping with RSV=6", raw_frame(0x80 | 0x60 | 9, "Hello, world!"), {"error:1002"}},
        {"3.7 close with RSV=7", raw_frame(0x80 | 0x70 | 8, close_body(1000)), {"error:1002"}},
    });
}

TEST(Autobahn, Section4Opcodes) {
    std::string hello = frame(1, "Hello, world!");
    std::string ping = frame(9, "Hello, world!");
    std::vector<Case> cases = {
        {"4.1.1 opcode 3", frame(3, ""), {"error:1002"}},
        {"4.1.2 opcode 4 with payload", frame(4, "reserved opcode payload"), {"error:1002"}},
        {"4.2.1 opcode 11", frame(0xB, ""), {"error:1002"}},
        {"4.2.2 opcode 12 with payload", frame(0xC, "reserved opcode payload"), {"error:1002"}},
    };
    const char* ids[] = {"4.1.3", "4.1.4", "4.1.5", "4.2.3", "4.2.4", "4.2.5"};
    const uint8_t ops[] = {5, 6, 7, 0xD, 0xE, 0xF};
    for (size_t i = 0; i < 6; i++) {
        cases.push_back({ids[i],
                         hello + frame(ops[i], i % 3 ? "payload" : "") + ping,
                         {"text:Hello, world!", "error:1002"}});
    }
    run(cases);
}

TEST(Autobahn, Section5Fragmentation) {
    std::string two = fragment(1, "fragment1") + frame(0, "fragment2");
    std::string with_ping = fragment(1, "fragment1") + frame(9, "ping") + frame(0, "fragment2");
    std::string five, five_pinged;
    for (int i = 1; i <= 5; i++) {
        std::string f = "fragment" + std::to_string(i);
        five_pinged += i == 1 ? fragment(1, f) : i == 5 ? frame(0, f) : fragment(0, f);
        five_pinged += frame(9, "pongme " + std::to_string(i));
    }
    Records five_records;
    for (int i = 1; i <= 5; i++) five_records.push_back("ping:pongme " + std::to_string(i));
    five_records.insert(five_records.end() - 1,
                        "text:fragment1fragment2fragment3fragment4fragment5");
    std::string bad_cont = fragment(0, "fragment1") + frame(1, "fragment2") + frame(0, "fragment3");
    std::string bad_cont_fin = frame(0, "fragment1") + frame(1, "fragment2") + frame(0, "x");
    run({
        {"5.1 ping in 2 fragments",
         fragment(9, "fragment1") + frame(0, "fragment2"),
         {"error:1002"}},
        {"5.2 pong in 2 fragments",
         fragment(0xA, "fragment1") + frame(0, "fragment2"),
         {"error:1002"}},
        {"5.3 text in 2 fragments", two, {"text:fragment1fragment2"}},
        {"5.6 text in 2 fragments, ping between",
         with_ping,
         {"ping:ping", "text:fragment1fragment2"}},
        {"5.9 continuation fin=true without message",
         frame(0, "non-continuation payload") + two,
         {"error:1002"}},
        {"5.12 continuation fin=false without message",
         fragment(0, "non-continuation payload") + two,
         {"error:1002"}},
        {"5.15 text in 2 fragments, then continuation, then text",
         two + bad_cont,
         {"text:fragment1fragment2", "error:1002"}},
        {"5.16 continuation fin=false, text, continuation, twice",
         bad_cont + bad_cont,
         {"error:1002"}},
        {"5.17 continuation fin=true, text, continuation, twice",
         bad_cont_fin + bad_cont_fin,
         {"error:1002"}},
        {"5.18 text fragment, then text fin=true",
         fragment(1, "fragment1") + frame(1, "fragment2"),
         {"error:1002"}},
        {"5.19 text in 5 fragments, pings between", five_pinged, five_records},
    });
}

// Section 6 payloads, as the suite's UTF-8 stress cases name them.
const char* const kosme = "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5";
const char* const hello_utf8 =
    "Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!";

struct Utf8Case {
    const char* id;
    std::string bytes;
    bool valid;
};

std::vector<Utf8Case> utf8_cases() {
    return {
        {"6.5.1 kosme", kosme, true},
        {"6.2.1 hello", hello_utf8, true},
        {"6.7.1 first 1 byte", std::string(1, '\0'), true},
        {"6.7.2 first 2 bytes", "\xc2\x80", true},
        {"6.7.3 first 3 bytes", "\xe0\xa0\x80", true},
        {"6.7.4 first 4 bytes", "\xf0\x90\x80\x80", true},
        {"6.8.1 first 5 bytes", "\xf8\x88\x80\x80\x80", false},
        {"6.8.2 first 6 bytes", "\xfc\x84\x80\x80\x80\x80", false},
        {"6.9.1 last 1 byte", "\x7f", true},
        {"6.9.2 last 2 bytes", "\xdf\xbf", true},
        {"6.9.3 last 3 bytes", "\xef\xbf\xbf", true},
        {"6.9.4 last 4 bytes", "\xf4\x8f\xbf\xbf", true},
        {"6.10.1 F7 BF BF BF", "\xf7\xbf\xbf\xbf", false},
        {"6.10.2 last 5 bytes", "\xfb\xbf\xbf\xbf\xbf", false},
        {"6.10.3 last 6 bytes", "\xfd\xbf\xbf\xbf\xbf\xbf", false},
        {"6.11.1 U+D7FF", "\xed\x9f\xbf", true},
        {"6.11.2 U+E000", "\xee\x80\x80", true},
        {"6.11.3 U+FFFD", "\xef\xbf\xbd", true},
        {"6.11.4 U+10FFFF", "\xf4\x8f\xbf\xbf", true},
        {"6.11.5 U+110000", "\xf4\x90\x80\x80", false},
        {"6.12.1 continuation 80", "\x80", false},
        {"6.12.2 continuation BF", "\xbf", false},
        {"6.12.3 80 BF", "\x80\xbf", false},
        {"6.12.4 80 BF 80", "\x80\xbf\x80", false},
        {"6.12.8 all continuation bytes",
         [] {
             std::string s;
             for (int b = 0x80; b <= 0xBF; b++) s += static_cast<char>(b);
             return s;
         }(),
         false},
        {"6.13.1 lonely 2-byte starts", "\xc0 \xc1 \xc2 ", false},
        {"6.13.2 lonely 3-byte starts", "\xe0 \xe1 ", false},
        {"6.13.3 lonely 4-byte starts", "\xf0 \xf1 ", false},
        {"6.13.4 lonely 5-byte starts", "\xf8 \xf9 ", false},
        {"6.13.5 lonely 6-byte starts", "\xfc \xfd ", false},
        {"6.14.1 C0 without continuation", "\xc0", false},
        {"6.14.2 E0 80", "\xe0\x80", false},
        {"6.14.3 F0 80 80", "\xf0\x80\x80", false},
        {"6.14.6 DF", "\xdf", false},
        {"6.14.7 EF BF", "\xef\xbf", false},
        {"6.14.8 F7 BF BF", "\xf7\xbf\xbf", false},
        {"6.14.10 E2 82 (a cut euro sign)", "\xe2\x82", false},
        {"6.15.1 concatenated incomplete", "\xc0\xe0\x80\xf0\x80\x80\xdf\xef\xbf", false},
        {"6.16.1 FE", "\xfe", false},
        {"6.16.2 FF", "\xff", false},
        {"6.16.3 FE FE FF FF", "\xfe\xfe\xff\xff", false},
        {"6.17.1 overlong / C0 AF", "\xc0\xaf", false},
        {"6.17.2 overlong / E0 80 AF", "\xe0\x80\xaf", false},
        {"6.17.3 overlong / F0 80 80 AF", "\xf0\x80\x80\xaf", false},
        {"6.17.4 overlong / 5 bytes", "\xf8\x80\x80\x80\xaf", false},
        {"6.18.1 max overlong C1 BF", "\xc1\xbf", false},
        {"6.18.2 max overlong E0 9F BF", "\xe0\x9f\xbf", false},
        {"6.18.3 max overlong F0 8F BF BF", "\xf0\x8f\xbf\xbf", false},
        {"6.19.1 overlong NUL C0 80", "\xc0\x80", false},
        {"6.19.2 overlong NUL E0 80 80", "\xe0\x80\x80", false},
        {"6.19.3 overlong NUL F0 80 80 80", "\xf0\x80\x80\x80", false},
        {"6.20.1 U+D800", "\xed\xa0\x80", false},
        {"6.20.2 U+DB7F", "\xed\xad\xbf", false},
        {"6.20.3 U+DB80", "\xed\xae\x80", false},
        {"6.20.4 U+DBFF", "\xed\xaf\xbf", false},
        {"6.20.5 U+DC00", "\xed\xb0\x80", false},
        {"6.20.6 U+DF80", "\xed\xbe\x80", false},
        {"6.20.7 U+DFFF", "\xed\xbf\xbf", false},
        {"6.21.1 U+D800 U+DC00", "\xed\xa0\x80\xed\xb0\x80", false},
        {"6.21.8 U+DBFF U+DFFF", "\xed\xaf\xbf\xed\xbf\xbf", false},
        {"6.22.1 U+FFFE", "\xef\xbf\xbe", true},
        {"6.22.2 U+FFFF", "\xef\xbf\xbf", true},
        {"6.22.3 U+1FFFE", "\xf0\x9f\xbf\xbe", true},
        {"6.22.34 U+10FFFF", "\xf4\x8f\xbf\xbf", true},
        {"6.23.1 U+FFFD", "\xef\xbf\xbd", true},
        {"6.3.1 kosme with a surrogate",
         "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80"
         "edited",
         false},
    };
}

TEST(Autobahn, Section6Utf8) {
    std::vector<Case> cases = {
        {"6.1.1 empty text", frame(1, ""), {"text:"}},
        {"6.1.2 empty fragments", fragment(1, "") + fragment(0, "") + frame(0, ""), {"text:"}},
        {"6.1.3 empty fragments then payload",
         fragment(1, "") + fragment(0, "middle") + frame(0, ""),
         {"text:middle"}},
    };
    for (const Utf8Case& u : utf8_cases()) {
        Records want = u.valid ? Records{"text:" + u.bytes} : Records{"error:1007"};
        cases.push_back({u.id, frame(1, u.bytes), want});
        // 6.2.x / 6.4.x: the same text in one fragment per byte (fail fast or at the end).
        std::string per_byte;
        for (size_t i = 0; i < u.bytes.size(); i++) {
            per_byte += i + 1 == u.bytes.size() ? frame(i ? 0 : 1, u.bytes.substr(i, 1))
                                                : fragment(i ? 0 : 1, u.bytes.substr(i, 1));
        }
        cases.push_back({u.id, per_byte, want});
    }
    // 6.6.x: every prefix of kosme is valid exactly when it ends at a code point's end.
    std::string k = kosme;
    for (size_t n = 1; n <= k.size(); n++) {
        bool at_boundary = n == k.size() || (static_cast<uint8_t>(k[n]) & 0xC0) != 0x80;
        cases.push_back({"6.6.x kosme prefix", frame(1, k.substr(0, n)),
                         at_boundary ? Records{"text:" + k.substr(0, n)} : Records{"error:1007"}});
    }
    run(cases);
}

TEST(Autobahn, Section7CloseHandling) {
    std::string close = frame(8, close_body(1000));
    std::vector<Case> cases = {
        {"7.1.1 text then close",
         frame(1, "Hello World!") + close,
         {"text:Hello World!", "close:1000:"}},
        {"7.1.2 two closes", close + close, {"close:1000:"}},
        {"7.1.3 ping after close", close + frame(9, "x"), {"close:1000:"}},
        {"7.1.4 text after close", close + frame(1, "x"), {"close:1000:"}},
        {"7.1.5 fragment, close, continuation",
         fragment(1, "fragment1") + close + frame(0, "fragment2"),
         {"close:1000:"}},
        {"7.1.6 large message then close",
         frame(1, n_bytes(256 << 10, 'B')) + close,
         {"text:" + n_bytes(256 << 10, 'B'), "close:1000:"}},
        {"7.3.1 close without payload", frame(8, ""), {"close:1005:"}},
        {"7.3.2 close with 1 byte", frame(8, "a"), {"error:1002"}},
        {"7.3.3 close 1000", close, {"close:1000:"}},
        {"7.3.4 close 1000 with reason",
         frame(8, close_body(1000, "Hello World!")),
         {"close:1000:Hello World!"}},
        {"7.3.5 close with 123-byte reason",
         frame(8, close_body(1000, n_bytes(123, '*'))),
         {"close:1000:" + n_bytes(123, '*')}},
        {"7.3.6 close of 126 bytes", frame(8, close_body(1000, n_bytes(124, '*'))), {"error:1002"}},
        {"7.5.1 close reason not UTF-8",
         frame(8, close_body(1000) + "\xce\xba\xe1\xbd\xb9\xcf"
                                     "\x83\xce\xbc\xce\xb5\xed"
                                     "\xa0\x80"
                                     "edited"),
         {"error:1007"}},
    };
    for (uint16_t code :
         {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999}) {
        cases.push_back({"7.7.x valid code",
                         frame(8, close_body(code)),
                         {"close:" + std::to_string(code) + ":"}});
    }
    for (uint16_t code : {0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535}) {
        cases.push_back(
            {"7.9.x / 7.13.x invalid code", frame(8, close_body(code)), {"error:1002"}});
    }
    run(cases);
}

/// Decodes strictly by RFC 3629's arithmetic (not by byte ranges, as Utf8Validator does).
bool reference_utf8(const std::string& s) {
    for (size_t i = 0; i < s.size();) {
        auto b = static_cast<uint8_t>(s[i]);
        size_t len = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
        if (len == 0 || i + len > s.size()) return false;
        uint32_t cp = len == 1 ? b : b & (0x7F >> len);
        for (size_t j = 1; j < len; j++) {
            auto c = static_cast<uint8_t>(s[i + j]);
            if ((c & 0xC0) != 0x80) return false;
            cp = cp << 6 | (c & 0x3F);
        }
        const uint32_t min_cp[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min_cp[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        i += len;
    }
    return true;
}

bool validate(const std::string& s) {
    return utf8_valid(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

TEST(Utf8, SuiteCasesAgreeWithTheReference) {
    for (const Utf8Case& u : utf8_cases()) {
        EXPECT_EQ(reference_utf8(u.bytes), u.valid) << u.id;
        EXPECT_EQ(validate(u.bytes), u.valid) << u.id;
    }
}

TEST(Utf8, ExhaustiveUpToThreeBytesAndAllFourByteLeads) {
    std::string s;
    for (uint32_t v = 0; v < (1u << 24); v++) {
        size_t len = v < 256 ? 1 : v < 65536 ? 2 : 3;
        s.clear();
        for (size_t i = len; i-- > 0;) s += static_cast<char>(v >> (8 * i));
        ASSERT_EQ(validate(s), reference_utf8(s)) << std::hex << v;
    }
    std::mt19937 rng(3);
    for (uint32_t lead = 0xF0; lead <= 0xFF; lead++) {
        for (uint32_t second = 0; second < 256; second++) {
            for (int r = 0; r < 64; r++) {
                s = {static_cast<char>(lead), static_cast<char>(second),
                     static_cast<char>(0x80 | (rng() & (r < 48 ? 0x3F : 0xFF))),
                     static_cast<char>(0x80 | (rng() & 0x3F))};
                ASSERT_EQ(validate(s), reference_utf8(s)) << std::hex << lead << " " << second;
            }
        }
    }
}

TEST(Utf8, PiecesAgreeWithWholeAndAsciiFastPath) {
    std::mt19937 rng(11);
    const std::string alphabet[] = {
        "a",        "\xc3\xa9", "\xe2\x82\xac",    "\xf0\x9f\x98\x80", "\xff", "\xed\xa0\x80",
        "\xc0\xaf", "\x80",     "abcdefghijklmnop"};
    for (int round = 0; round < 20000; round++) {
        std::string s;
        size_t parts = rng() % 12;
        for (size_t i = 0; i < parts; i++) s += alphabet[rng() % (round % 3 ? 9 : 4)];
        bool want = reference_utf8(s);
        ASSERT_EQ(validate(s), want) << round;
        Utf8Validator v;
        size_t at = 0;
        bool ok = true;
        while (at < s.size()) {
            size_t n = std::min<size_t>(s.size() - at, 1 + rng() % 9);
            ok = v.feed(reinterpret_cast<const uint8_t*>(s.data()) + at, n) && ok;
            at += n;
        }
        ASSERT_EQ(ok && v.complete(), want) << round;
    }
}

}  // namespace
}  // namespace em::http
