// getPayload best-of: highest blockValue (exact 256-bit), ties to the primary, malformed skipped.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/hex.h"
#include "engine/best_of.h"

namespace em::engine {
namespace {

std::string v2_answer(const std::string& block_value) {
    return R"({"executionPayload":{"blockHash":"0x01","transactions":[]},"blockValue":")" +
           block_value +
           R"(","blobsBundle":{"commitments":[],"proofs":[],"blobs":[]},)"
           R"("shouldOverrideBuilder":false})";
}

class BestOfTest : public ::testing::Test {
  protected:
    Result<BestPayload> choose(const std::vector<std::pair<std::string, bool>>& answers,
                               uint8_t version) {
        storage_.clear();
        for (const auto& a : answers) storage_.emplace_back(a.first);
        std::vector<BuiltPayloadAnswer> views;
        for (size_t i = 0; i < answers.size(); i++)
            views.push_back({simdjson::padded_string_view(storage_[i]), answers[i].second});
        return choose_best_payload(parser_, views, version);
    }
    simdjson::ondemand::parser parser_;
    std::vector<simdjson::padded_string> storage_;
};

TEST_F(BestOfTest, PicksTheHighestBlockValue) {
    auto r = choose(
        {{v2_answer("0x10"), true}, {v2_answer("0x1f"), false}, {v2_answer("0x2"), false}}, 3);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->index, 1u);
    EXPECT_EQ(r->malformed, 0u);
}

TEST_F(BestOfTest, ComparesFull256BitValuesExactly) {
    std::string max(64, 'f');
    std::string almost = max;
    almost[63] = 'e';
    // Values that differ only in the lowest bit, above 2^192 (a double would tie them).
    auto r = choose({{v2_answer("0x" + almost), true}, {v2_answer("0x" + max), false}}, 4);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->index, 1u);
    auto s = choose({{v2_answer("0x1" + std::string(48, '0')), false},
                     {v2_answer("0x" + std::string(48, 'f')), true}},
                    4);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->index, 0u);  // 2^192 > 2^192 - 1, despite the primary
}

TEST_F(BestOfTest, TiesGoToThePrimaryElseTheEarliest) {
    auto r =
        choose({{v2_answer("0x5"), false}, {v2_answer("0x5"), true}, {v2_answer("0x5"), false}}, 2);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->index, 1u);
    auto s = choose({{v2_answer("0x5"), false}, {v2_answer("0x5"), false}}, 2);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->index, 0u);
    // Upper-case digits are the same number: still a tie.
    auto t = choose({{v2_answer("0xab"), false}, {v2_answer("0xAB"), true}}, 2);
    ASSERT_TRUE(t);
    EXPECT_EQ(t->index, 1u);
}

TEST_F(BestOfTest, MalformedAnswersAreSkipped) {
    std::string big = v2_answer("0x1" + std::string(64, '0'));  // 65 digits: > 256 bits
    auto r = choose({{"null", true},
                     {"{\"executionPayload\":{}}", false},
                     {v2_answer("0x0ff"), false},  // leading zero: not a QUANTITY
                     {v2_answer("ff"), false},
                     {v2_answer("0x"), false},
                     {big, false},
                     {R"({"blockValue":"0x9","executionPayload":[]})", false},
                     {R"({"blockValue":"0x9","blockValue":"0x9","executionPayload":{}})", false},
                     {v2_answer("0x3") + "x", false},
                     {v2_answer("0x1"), false}},
                    3);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->index, 9u);
    EXPECT_EQ(r->malformed, 9u);
    auto none = choose({{"{}", true}, {"garbage", false}}, 3);
    ASSERT_FALSE(none);
    EXPECT_EQ(none.error().code(), Errc::not_found);
    EXPECT_FALSE(choose({}, 3));
}

TEST_F(BestOfTest, ZeroIsAValidBlockValue) {
    auto r = choose({{v2_answer("0x0"), false}, {"{}", true}}, 2);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->index, 0u);
}

TEST_F(BestOfTest, V1PrefersThePrimaryElseTheFirstWellFormed) {
    std::string payload = R"({"blockHash":"0x01","transactions":[]})";
    auto r = choose({{payload, false}, {payload, true}}, 1);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->index, 1u);
    auto s = choose({{payload, false}, {"[1]", true}, {payload, false}}, 1);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->index, 0u);
    EXPECT_EQ(s->malformed, 1u);
}

TEST(Quantity, ParsesAndCompares) {
    U256 a = *parse_quantity_u256("0x0");
    EXPECT_EQ(a, U256{});
    U256 b = *parse_quantity_u256("0x10000000000000000");  // 2^64
    EXPECT_GT(b, U256::from_u64(UINT64_MAX));
    EXPECT_EQ(b.be[23], 1u);                        // big-endian: 2^64 is byte 23 from the top
    a = *parse_quantity_u256("0xDE0B6B3A7640000");  // either case
    EXPECT_EQ(a, U256::from_u64(1000000000000000000));
    EXPECT_LT(a, b);
    EXPECT_GT(b, a);
    EXPECT_EQ(b, b);
    for (const char* bad : {"", "0x", "0x00", "0x01", "1", "0xg", "0X1", "-0x1"})
        EXPECT_FALSE(parse_quantity_u256(bad)) << bad;
}

}  // namespace
}  // namespace em::engine
