// jsonrpc::json_equal: the rpc role's `agree` comparison of two clients' answers.
#include "jsonrpc/json_equal.h"

#include <gtest/gtest.h>

namespace em::jsonrpc {
namespace {

struct JsonEqual : ::testing::Test {
    simdjson::dom::parser a, b;
    JsonDifference compare(std::string_view x, std::string_view y) {
        return json_equal(a, b, x, y);
    }
};

TEST_F(JsonEqual, MemberOrderAndWhitespaceDoNotCount) {
    auto d = compare(R"({"number":"0x1","hash":"0xab","txs":[1,2]})",
                     R"({ "hash" : "0xab", "txs" : [ 1, 2 ], "number" : "0x1" })");
    EXPECT_TRUE(d.equal) << d.where;
    EXPECT_TRUE(d.where.empty());
}

TEST_F(JsonEqual, ADifferentStringIsNamedByItsPath) {
    auto d = compare(R"({"block":{"txs":[{"gas":"0x1"},{"gas":"0x2"}]}})",
                     R"({"block":{"txs":[{"gas":"0x1"},{"gas":"0x3"}]}})");
    EXPECT_FALSE(d.equal);
    EXPECT_EQ(d.where, "result.block.txs[1].gas");
}

TEST_F(JsonEqual, HexCaseIsADifference) {
    EXPECT_FALSE(compare(R"("0xAB")", R"("0xab")").equal);
}

TEST_F(JsonEqual, MissingMembersOnEitherSideAreNamed) {
    auto d = compare(R"({"a":1,"b":2})", R"({"a":1})");
    EXPECT_FALSE(d.equal);
    EXPECT_EQ(d.where, "result.b (missing in the second)");
    d = compare(R"({"a":1})", R"({"a":1,"c":null})");
    EXPECT_FALSE(d.equal);
    EXPECT_EQ(d.where, "result.c (missing in the first)");
}

TEST_F(JsonEqual, ArraysCompareInOrderAndByLength) {
    EXPECT_FALSE(compare("[1,2]", "[2,1]").equal);
    auto d = compare("[1,2]", "[1,2,3]");
    EXPECT_FALSE(d.equal);
    EXPECT_EQ(d.where, "result (2 vs 3 elements)");
}

TEST_F(JsonEqual, NumbersCompareByValueAndTypesMustMatch) {
    EXPECT_TRUE(compare("1.0", "1").equal);
    EXPECT_TRUE(compare("18446744073709551615", "18446744073709551615 ").equal);
    EXPECT_FALSE(compare("1", "\"1\"").equal);
    EXPECT_FALSE(compare("null", "false").equal);
    EXPECT_TRUE(compare("null", " null").equal);
    EXPECT_FALSE(compare("true", "false").equal);
}

TEST_F(JsonEqual, TextThatDoesNotParseIsOnlyEqualToItsOwnBytes) {
    EXPECT_TRUE(compare("{bad", "{bad").equal);
    auto d = compare("{bad", "{}");
    EXPECT_FALSE(d.equal);
    EXPECT_EQ(d.where, "the first answer is not well-formed JSON");
    EXPECT_EQ(compare("{}", "[").where, "the second answer is not well-formed JSON");
}

}  // namespace
}  // namespace em::jsonrpc
