#include "base/hex.h"

#include <gtest/gtest.h>

namespace em {
namespace {

TEST(Hex, RoundTrip) {
    uint8_t bytes[4] = {0x00, 0xab, 0x10, 0xff};
    char text[8];
    hex_encode(bytes, text);
    EXPECT_EQ(std::string_view(text, 8), "00ab10ff");
    uint8_t back[4];
    ASSERT_TRUE(hex_decode("00AB10ff", back));
    EXPECT_EQ(0, memcmp(bytes, back, 4));
}

TEST(Hex, RejectsOddAndBadDigits) {
    uint8_t out[4];
    auto odd = hex_decode("abc", out);
    ASSERT_FALSE(odd);
    EXPECT_EQ(odd.error().message(), "odd number of hex digits");
    auto bad = hex_decode("00zz", out);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().message(), "invalid hex digit at offset 2");
    EXPECT_EQ(strip_0x("0xab"), "ab");
    EXPECT_EQ(strip_0x("ab"), "ab");
}

}  // namespace
}  // namespace em
