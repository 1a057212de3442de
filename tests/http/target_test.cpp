// Strict percent-decoding of a request-target path segment (http/target.h).
#include "http/target.h"

#include <gtest/gtest.h>

#include <array>
#include <string>

namespace em::http {
namespace {

std::string decoded(std::string_view segment) {
    std::array<char, 64> out;
    auto r = percent_decode(segment, out);
    return r ? std::string(*r) : "<error: " + std::string(r.error().message()) + ">";
}

TEST(PercentDecode, DecodesEscapesOfEitherCase) {
    EXPECT_EQ(decoded("el1"), "el1");
    EXPECT_EQ(decoded(""), "");
    EXPECT_EQ(decoded("my%20node"), "my node");
    EXPECT_EQ(decoded("el%2d4%2E%2D"), "el-4.-");
    EXPECT_EQ(decoded("%41%62"), "Ab");
    EXPECT_EQ(decoded("a+b"), "a+b");  // '+' is form encoding, not a path's
    EXPECT_EQ(decoded("%25"), "%");    // decoded once: "%2541" is "%41", not "A"
    EXPECT_EQ(decoded("%2541"), "%41");
    EXPECT_EQ(decoded("%0a"), "\n");
}

TEST(PercentDecode, BadEscapesAreErrorsNamingTheOffset) {
    for (std::string_view bad : {"%", "a%", "a%4", "%zz", "%4g", "ab%g4", "%%41"}) {
        std::array<char, 64> out;
        auto r = percent_decode(bad, out);
        ASSERT_FALSE(r) << bad;
        EXPECT_EQ(r.error().code(), Errc::invalid_input);
        EXPECT_NE(r.error().message().find("bad percent escape at offset"), std::string_view::npos);
    }
    std::array<char, 64> out;
    EXPECT_NE(percent_decode("ab%g4", out).error().message().find("offset 2"),
              std::string_view::npos);
}

TEST(PercentDecode, OutputLongerThanTheSpaceIsTooLarge) {
    std::array<char, 4> out;
    EXPECT_EQ(*percent_decode("%61%62%63%64", out), "abcd");
    auto r = percent_decode("abcde", out);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), Errc::too_large);
}

}  // namespace
}  // namespace em::http
