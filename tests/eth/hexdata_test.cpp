// Lowercase hex decoder: every implementation agrees with the portable one on valid input and
// reports the same first bad position on invalid input (uppercase included).
#include "eth/hexdata.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace em::eth {
namespace {

class HexImplTest : public testing::TestWithParam<HexImpl> {
  protected:
    void SetUp() override {
        if (!hex_supported(GetParam())) GTEST_SKIP() << "CPU lacks this decoder's ISA";
        hex_force(GetParam());
    }
    void TearDown() override { hex_force(HexImpl::portable); }
};

TEST_P(HexImplTest, DecodesLikePortable) {
    std::mt19937_64 rng(11);
    const char* digits = "0123456789abcdef";
    for (size_t n = 0; n < 300; n++) {
        std::string text(2 * n, '0');
        for (auto& c : text) c = digits[rng() % 16];
        std::vector<uint8_t> a(n + 1, 0xee), b(n + 1, 0xee);
        EXPECT_EQ(hex_decode_lower(text.data(), a.data(), n), hex_ok);
        EXPECT_EQ(hex_decode_lower_portable(text.data(), b.data(), n), hex_ok);
        EXPECT_EQ(a, b) << n;
        EXPECT_EQ(a[n], 0xee) << "wrote past the end";
    }
    uint8_t out[4];
    EXPECT_EQ(hex_decode_lower("00ff7fa5", out, 4), hex_ok);
    EXPECT_EQ(out[0], 0x00);
    EXPECT_EQ(out[1], 0xff);
    EXPECT_EQ(out[2], 0x7f);
    EXPECT_EQ(out[3], 0xa5);
}

TEST_P(HexImplTest, ReportsFirstBadCharacter) {
    std::mt19937_64 rng(12);
    const std::string bad = "ABCDEFgxG/:`@ \"\\\x80\xff";
    for (size_t n : {1, 15, 16, 17, 31, 32, 33, 64, 100}) {
        for (size_t at = 0; at < 2 * n; at++) {
            std::string text(2 * n, 'a');
            text[at] = bad[rng() % bad.size()];
            if (rng() % 2 && at + 3 < 2 * n) text[at + 3] = 'G';  // a later error must not win
            std::vector<uint8_t> out(n);
            EXPECT_EQ(hex_decode_lower(text.data(), out.data(), n), at) << n << " " << at;
        }
    }
}

INSTANTIATE_TEST_SUITE_P(All, HexImplTest, testing::Values(HexImpl::portable, HexImpl::avx2),
                         [](const auto& info) {
                             return std::string(info.param == HexImpl::portable ? "portable"
                                                                                : "avx2");
                         });

}  // namespace
}  // namespace em::eth
