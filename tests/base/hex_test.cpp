// The hex codec (base/hex.h): every digit decoder agrees with the portable one and reports the
// same first bad position; DATA and QUANTITY accept either case and reject the shapes ELs reject
// with a message saying what is wrong; everything written is lower case.
#include "base/hex.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

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
    EXPECT_EQ(bad.error().message(), "invalid hex digit at offset 2");  // never shows the byte
    EXPECT_EQ(strip_0x("0xab"), "ab");
    EXPECT_EQ(strip_0x("ab"), "ab");
}

// ---- the digit decoders ------------------------------------------------------------------------

class HexImplTest : public testing::TestWithParam<HexImpl> {
  protected:
    void SetUp() override {
        if (!hex_supported(GetParam())) GTEST_SKIP() << "CPU lacks this decoder's ISA";
        hex_force(GetParam());
    }
    void TearDown() override { hex_force(HexImpl::portable); }
};

TEST_P(HexImplTest, DecodesLikePortableInEitherCase) {
    std::mt19937_64 rng(11);
    const char* digits = "0123456789abcdefABCDEF";
    for (size_t n = 0; n < 300; n++) {
        std::string text(2 * n, '0');
        for (auto& c : text) c = digits[rng() % 22];
        std::vector<uint8_t> a(n + 1, 0xee), b(n + 1, 0xee);
        EXPECT_EQ(hex_decode_digits(text.data(), a.data(), n), hex_ok);
        EXPECT_EQ(hex_decode_digits_portable(text.data(), b.data(), n), hex_ok);
        EXPECT_EQ(a, b) << n;
        EXPECT_EQ(a[n], 0xee) << "wrote past the end";
    }
    uint8_t out[4];
    EXPECT_EQ(hex_decode_digits("00fF7fA5", out, 4), hex_ok);
    EXPECT_EQ(out[0], 0x00);
    EXPECT_EQ(out[1], 0xff);
    EXPECT_EQ(out[2], 0x7f);
    EXPECT_EQ(out[3], 0xa5);
}

TEST_P(HexImplTest, ReportsFirstBadCharacter) {
    std::mt19937_64 rng(12);
    // Neighbours of the valid ranges, and bytes that OR 0x20 would turn into digits or letters.
    const std::string bad = "gxG/:`@HZz \"\\\x80\xff\x10\x19\x01\x06\x7f";
    for (size_t n : {1, 15, 16, 17, 31, 32, 33, 64, 100}) {
        for (size_t at = 0; at < 2 * n; at++) {
            std::string text(2 * n, (at & 1) ? 'a' : 'F');
            text[at] = bad[rng() % bad.size()];
            if (rng() % 2 && at + 3 < 2 * n) text[at + 3] = 'G';  // a later error must not win
            std::vector<uint8_t> out(n);
            EXPECT_EQ(hex_decode_digits(text.data(), out.data(), n), at) << n << " " << at;
        }
    }
    // Every byte value in every position of one AVX2 block: only [0-9a-fA-F] pass.
    for (int c = 0; c < 256; c++) {
        bool valid = hex_digit_value(static_cast<char>(c)) >= 0;
        for (size_t at = 0; at < 32; at++) {
            std::string text(32, '7');
            text[at] = static_cast<char>(c);
            uint8_t out[16];
            EXPECT_EQ(hex_decode_digits(text.data(), out, 16), valid ? hex_ok : at) << c;
        }
    }
}

INSTANTIATE_TEST_SUITE_P(All, HexImplTest, testing::Values(HexImpl::portable, HexImpl::avx2),
                         [](const auto& info) {
                             return std::string(info.param == HexImpl::portable ? "portable"
                                                                                : "avx2");
                         });

// ---- DATA ----------------------------------------------------------------------------------

std::string data_error(std::string_view text, size_t n) {
    std::vector<uint8_t> out(n);
    auto r = parse_data(text, out);
    return r ? "ok" : std::string(r.error().message());
}

TEST(HexData, AcceptsEitherCase) {
    uint8_t a[20], b[20], c[20];
    ASSERT_TRUE(parse_data("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", a));
    ASSERT_TRUE(parse_data("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", b));  // EIP-55
    ASSERT_TRUE(parse_data("0x5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED", c));
    EXPECT_EQ(0, memcmp(a, b, 20));
    EXPECT_EQ(0, memcmp(a, c, 20));
    EXPECT_EQ(a[0], 0x5a);
    EXPECT_EQ(a[19], 0xed);
    EXPECT_TRUE(parse_data("0x", std::span<uint8_t>()));  // empty DATA
    EXPECT_EQ(*data_bytes("0x"), 0u);
    EXPECT_EQ(*data_bytes("0xABCD"), 2u);
}

TEST(HexData, RejectsWhatElsRejectSayingWhat) {
    EXPECT_EQ(data_error("0x" + std::string(40, 'a'), 20), "ok");
    EXPECT_EQ(data_error("5a" + std::string(38, 'a'), 20), "missing 0x prefix");
    EXPECT_EQ(data_error("0X" + std::string(40, 'a'), 20), "missing 0x prefix");
    EXPECT_EQ(data_error("", 20), "missing 0x prefix");
    EXPECT_EQ(data_error("0", 0), "missing 0x prefix");
    EXPECT_EQ(data_error("0x", 20), "expected 20 bytes, got 0");
    EXPECT_EQ(data_error("0x" + std::string(39, 'A'), 20), "odd number of hex digits");
    EXPECT_EQ(data_error("0x" + std::string(42, 'A'), 20), "expected 20 bytes, got 21");
    EXPECT_EQ(data_error("0x" + std::string(38, 'A'), 20), "expected 20 bytes, got 19");
    EXPECT_EQ(data_error("0x" + std::string(39, 'A') + "g", 20),
              "invalid hex digit 'g' at index 41");
    EXPECT_EQ(data_error("0xG" + std::string(39, 'A'), 20), "invalid hex digit 'G' at index 2");
    EXPECT_EQ(data_error("0x\\u0041" + std::string(34, 'A'), 20),
              "invalid hex digit '\\' at index 2");
    EXPECT_EQ(data_error(std::string("0x\x01") + std::string(39, 'A'), 20),
              "invalid hex digit 0x01 at index 2");
    EXPECT_EQ(data_bytes("0xABC").error().message(), "odd number of hex digits");
}

// ---- QUANTITY ------------------------------------------------------------------------------

std::string u64_error(std::string_view text) {
    auto r = parse_quantity(text);
    return r ? "ok" : std::string(r.error().message());
}
std::string u256_error(std::string_view text) {
    auto r = parse_quantity_u256(text);
    return r ? "ok" : std::string(r.error().message());
}

TEST(HexQuantity, AcceptsEitherCase) {
    EXPECT_EQ(*parse_quantity("0x0"), 0u);
    EXPECT_EQ(*parse_quantity("0x1"), 1u);
    EXPECT_EQ(*parse_quantity("0x14b6e"), 0x14b6eu);
    EXPECT_EQ(*parse_quantity("0x14B6E"), 0x14b6eu);  // Besu's own test writes this
    EXPECT_EQ(*parse_quantity("0xFFFFFFFFFFFFFFFF"), UINT64_MAX);
    EXPECT_EQ(*parse_quantity_u256("0x0"), U256{});
    EXPECT_EQ(*parse_quantity_u256("0x3B9ACA07"), U256::from_u64(0x3b9aca07));
    U256 max;
    max.be.fill(0xff);
    EXPECT_EQ(*parse_quantity_u256("0x" + std::string(64, 'F')), max);
    U256 two64 = *parse_quantity_u256("0x10000000000000000");
    EXPECT_EQ(two64.be[23], 1);
    EXPECT_GT(two64, U256::from_u64(UINT64_MAX));
    EXPECT_LT(U256::from_u64(7), two64);
}

TEST(HexQuantity, RejectsWhatElsRejectSayingWhat) {
    for (auto* err : {&u64_error, &u256_error}) {
        EXPECT_EQ(err("0x"), "empty quantity (zero is 0x0)");
        EXPECT_EQ(err("0x00"), "leading zero digit in quantity");
        EXPECT_EQ(err("0x0A"), "leading zero digit in quantity");
        EXPECT_EQ(err("0x01"), "leading zero digit in quantity");
        EXPECT_EQ(err("10"), "missing 0x prefix");
        EXPECT_EQ(err("0X10"), "missing 0x prefix");
        EXPECT_EQ(err(""), "missing 0x prefix");
        EXPECT_EQ(err("0x1g"), "invalid hex digit 'g' at index 3");
        EXPECT_EQ(err("0x-1"), "invalid hex digit '-' at index 2");
        EXPECT_EQ(err("0x1 "), "invalid hex digit ' ' at index 3");
    }
    EXPECT_EQ(u64_error("0x1FFFFFFFFFFFFFFFF"), "quantity exceeds 64 bits");
    EXPECT_EQ(u256_error("0x1FFFFFFFFFFFFFFFF"), "ok");
    EXPECT_EQ(u256_error("0x1" + std::string(64, '0')), "quantity exceeds 256 bits");
}

TEST(HexQuantity, DigitsForNumbersTypedByPeople) {
    EXPECT_EQ(*hex_digits_to_u64("00ff"), 0xffu);
    EXPECT_EQ(*hex_digits_to_u64("FFFFFFFFFFFFFFFF"), UINT64_MAX);
    EXPECT_FALSE(hex_digits_to_u64(""));
    EXPECT_FALSE(hex_digits_to_u64("1FFFFFFFFFFFFFFFF"));
    EXPECT_EQ(hex_digits_to_u64("1z").error().message(), "invalid hex digit 'z' at index 1");
    EXPECT_EQ(*hex_digits_to_u256("00DE0B6B3A7640000"), U256::from_u64(1000000000000000000));
}

// ---- writing -----------------------------------------------------------------------------------

TEST(HexWrite, LowerCaseWithoutLeadingZeros) {
    char q[quantity_u256_chars_max];
    EXPECT_EQ(std::string_view(q, format_quantity(uint64_t{0}, q)), "0x0");
    EXPECT_EQ(std::string_view(q, format_quantity(uint64_t{0xABC}, q)), "0xabc");
    EXPECT_EQ(std::string_view(q, format_quantity(UINT64_MAX, q)), "0xffffffffffffffff");
    EXPECT_EQ(std::string_view(q, format_quantity(U256{}, q)), "0x0");
    EXPECT_EQ(std::string_view(q, format_quantity(U256::from_u64(0x10), q)), "0x10");
    U256 max;
    max.be.fill(0xff);
    EXPECT_EQ(std::string_view(q, format_quantity(max, q)), "0x" + std::string(64, 'f'));
    ByteBuffer out(1024);
    const uint8_t bytes[] = {0xAB, 0x01};
    ASSERT_TRUE(append_data(out, bytes));
    out.push_back(' ');
    ASSERT_TRUE(append_data(out, {}));
    out.push_back(' ');
    ASSERT_TRUE(append_quantity(out, uint64_t{255}));
    out.push_back(' ');
    ASSERT_TRUE(append_quantity(out, *parse_quantity_u256("0xDE0B6B3A7640000")));
    EXPECT_EQ(out.view(), "0xab01 0x 0xff 0xde0b6b3a7640000");
}

TEST(HexWrite, RoundTripsThroughTheReaders) {
    std::mt19937_64 rng(13);
    for (int i = 0; i < 2000; i++) {
        uint64_t v = rng() >> (rng() % 64);
        char q[quantity_chars_max];
        std::string_view text(q, format_quantity(v, q));
        EXPECT_EQ(*parse_quantity(text), v) << text;
        U256 u;
        for (size_t k = rng() % 33; k < 32; k++) u.be[k] = static_cast<uint8_t>(rng());
        char w[quantity_u256_chars_max];
        std::string_view wide(w, format_quantity(u, w));
        EXPECT_EQ(*parse_quantity_u256(wide), u) << wide;
    }
}

}  // namespace
}  // namespace em
