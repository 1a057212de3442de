// Raw JSON text helpers: number grammar, int32 parsing, escapes, unescaping, equality.
#include "jsonrpc/json_text.h"

#include <gtest/gtest.h>

#include <string>

namespace em::jsonrpc {
namespace {

TEST(JsonText, NumberGrammar) {
    for (const char* ok : {"0", "-0", "7", "-12", "1.5", "0.0", "1e5", "1E+5", "1e-5", "-1.25e-10",
                           "123456789012345678901234567890"}) {
        EXPECT_TRUE(is_json_number(ok)) << ok;
    }
    for (const char* bad : {"", "-", "01", "-01", "1.", ".5", "1e", "1e+", "+1", "0x10", "1 ",
                            "NaN", "Infinity", "1.5.2", "--1", "1e5e5"}) {
        EXPECT_FALSE(is_json_number(bad)) << bad;
    }
}

TEST(JsonText, Int32) {
    int32_t v = 0;
    EXPECT_TRUE(parse_json_int32("-32700", &v));
    EXPECT_EQ(v, -32700);
    EXPECT_TRUE(parse_json_int32("2147483647", &v));
    EXPECT_EQ(v, 2147483647);
    EXPECT_TRUE(parse_json_int32("-2147483648", &v));
    EXPECT_EQ(v, INT32_MIN);
    for (const char* bad :
         {"2147483648", "-2147483649", "1.0", "1e3", "99999999999999999999", "x"}) {
        EXPECT_FALSE(parse_json_int32(bad, &v)) << bad;
    }
}

TEST(JsonText, Trim) {
    EXPECT_EQ(trim_json_space(" \t\r\n a b \n"), "a b");
    EXPECT_EQ(trim_json_space_right(" a \r\n"), " a");
    EXPECT_EQ(trim_json_space("   "), "");
}

TEST(JsonText, StringContentLength) {
    bool escape = true;
    EXPECT_EQ(json_string_content_length("abc\" tail", &escape), 3u);
    EXPECT_FALSE(escape);
    EXPECT_EQ(json_string_content_length(R"(a\"b\\" tail)", &escape), 6u);
    EXPECT_TRUE(escape);
}

TEST(JsonText, Escapes) {
    EXPECT_TRUE(json_escapes_valid(R"(a\"\\\/\b\f\n\r\t\u00e9\uD83D\uDE00)"));
    for (const char* bad : {R"(\q)", R"(\u12)", R"(\u12g4)", R"(\)", R"(a\x41)", R"(\U0041)"}) {
        EXPECT_FALSE(json_escapes_valid(bad)) << bad;
    }
}

std::string unescape(std::string_view raw, size_t max = 64) {
    char out[64];
    ptrdiff_t n = json_unescape(raw, out, max);
    return n < 0 ? std::string("<invalid>") : std::string(out, static_cast<size_t>(n));
}

TEST(JsonText, Unescape) {
    EXPECT_EQ(unescape(R"(a\"b\\c\/d\b\f\n\r\t)"), "a\"b\\c/d\b\f\n\r\t");
    EXPECT_EQ(unescape(R"(\u0041\u00e9\u20ac)"), "A\xc3\xa9\xe2\x82\xac");
    EXPECT_EQ(unescape(R"(\ud83d\ude00)"), "\xf0\x9f\x98\x80");
    EXPECT_EQ(unescape("\xc3\xa9 raw"), "\xc3\xa9 raw");
    EXPECT_EQ(unescape(R"(\ud800)"), "<invalid>");        // lone high surrogate
    EXPECT_EQ(unescape(R"(\ude00x)"), "<invalid>");       // lone low surrogate
    EXPECT_EQ(unescape(R"(\ud83d\u0041)"), "<invalid>");  // high followed by non-surrogate
    EXPECT_EQ(unescape(R"(\q)"), "<invalid>");
    EXPECT_EQ(unescape("abcd", 3), "<invalid>");  // does not fit
    EXPECT_EQ(unescape(R"(\u20ac)", 2), "<invalid>");
}

TEST(JsonText, StringEquality) {
    EXPECT_TRUE(json_string_content_equal("abc", "abc"));
    EXPECT_TRUE(json_string_content_equal(R"(\u0061bc)", "abc"));
    EXPECT_TRUE(json_string_content_equal(R"(\/)", "/"));
    EXPECT_TRUE(json_string_content_equal(R"(\u00E9)", "\xc3\xa9"));
    EXPECT_TRUE(json_string_content_equal(R"(\ud800)", R"(\uD800)"));
    EXPECT_FALSE(json_string_content_equal("abc", "abd"));
    EXPECT_FALSE(json_string_content_equal("abc", "ab"));
    EXPECT_FALSE(json_string_content_equal(R"(\q)", R"(\q )"));
    EXPECT_FALSE(json_string_content_equal(R"(\u0061)", "b"));
}

TEST(JsonText, NumberEquality) {
    EXPECT_TRUE(json_number_equal("1", "1.0"));
    EXPECT_TRUE(json_number_equal("1", "1e0"));
    EXPECT_TRUE(json_number_equal("10", "1e1"));
    EXPECT_TRUE(json_number_equal("0.001", "1e-3"));
    EXPECT_TRUE(json_number_equal("-2.50", "-25e-1"));
    EXPECT_TRUE(json_number_equal("0", "-0.000e7"));
    EXPECT_TRUE(json_number_equal("100", "100.000"));
    EXPECT_FALSE(json_number_equal("1", "-1"));
    EXPECT_FALSE(json_number_equal("1", "0"));
    EXPECT_FALSE(json_number_equal("1", "1e1"));
    EXPECT_FALSE(json_number_equal("12", "21"));
    EXPECT_FALSE(json_number_equal("1.01", "1.1"));
    EXPECT_FALSE(json_number_equal("x", "y"));
    EXPECT_TRUE(json_number_equal("x", "x"));
}

}  // namespace
}  // namespace em::jsonrpc
