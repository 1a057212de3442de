// getClientVersionV1 flattening and exchangeCapabilities intersection.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/merge.h"

namespace em::engine {
namespace {

class MergeTest : public ::testing::Test {
  protected:
    std::vector<simdjson::padded_string_view> views(const std::vector<std::string>& answers) {
        storage_.clear();
        for (const auto& a : answers) storage_.emplace_back(a);
        std::vector<simdjson::padded_string_view> out;
        for (auto& s : storage_) out.emplace_back(s);
        return out;
    }
    simdjson::ondemand::parser parser_;
    std::vector<simdjson::padded_string> storage_;
    ByteBuffer out_{1 << 16};
};

const std::string geth =
    R"([{"code":"GE","name":"go-ethereum","version":"1.14.0","commit":"0x12345678"}])";
const std::string nethermind =
    R"( [ {"code":"NM","name":"Nethermind","version":"1.27.0","commit":"0xabcdef01"} ,)"
    R"(  {"name":"x \"q\"","code":"XX","commit":"0x00000000","version":"0"} ] )";

TEST_F(MergeTest, ClientVersionsAreConcatenatedIntoOneFlatArray) {
    auto r = merge_client_versions(parser_, views({geth, "[]", nethermind}), out_);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->used, 3u);
    EXPECT_EQ(r->malformed, 0u);
    simdjson::dom::parser dom;
    simdjson::dom::array arr;
    ASSERT_EQ(dom.parse(out_.data(), out_.size()).get(arr), simdjson::SUCCESS) << out_.view();
    std::vector<std::string> codes;
    for (auto e : arr) codes.emplace_back(std::string_view(e["code"]));
    EXPECT_EQ(codes, (std::vector<std::string>{"GE", "NM", "XX"}));
    EXPECT_EQ(std::string_view(arr.at(2)["name"]), "x \"q\"");
}

TEST_F(MergeTest, MalformedClientVersionAnswersAreSkipped) {
    auto r = merge_client_versions(
        parser_,
        views({"null", R"([{"code":"GE"}])",
               R"([{"code":"GE","name":"g","version":"1","commit":"0x1","x":1}])",
               R"([{"code":1,"name":"g","version":"1","commit":"0x1"}])", R"({"code":"GE"})",
               geth + "]", geth}),
        out_);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->used, 1u);
    EXPECT_EQ(r->malformed, 6u);
    EXPECT_EQ(out_.view(), geth);
    out_.clear();
    auto none = merge_client_versions(parser_, views({"{}", "[1]"}), out_);
    ASSERT_FALSE(none);
    EXPECT_EQ(none.error().code(), Errc::not_found);
    EXPECT_EQ(out_.size(), 0u);
}

TEST_F(MergeTest, CapabilitiesAreIntersectedInTheFirstListsOrder) {
    auto r = intersect_capabilities(
        parser_,
        views({R"(["engine_newPayloadV4","engine_exchangeCapabilities","engine_getBlobsV2",)"
               R"("engine_forkchoiceUpdatedV3","engine_newPayloadV4","engine_getPayloadV5"])",
               R"(["engine_getPayloadV5","engine_forkchoiceUpdatedV3","engine_newPayloadV4"])",
               R"([ "engine_forkchoiceUpdatedV3" , "engine_newPayloadV4", "engine_getPayloadV5",)"
               R"("engine_getBlobsV2"])"}),
        out_);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->used, 3u);
    EXPECT_EQ(out_.view(),
              R"(["engine_newPayloadV4","engine_forkchoiceUpdatedV3","engine_getPayloadV5"])");
}

TEST_F(MergeTest, MalformedCapabilityListsAreSkipped) {
    std::string too_long = "[";
    for (size_t i = 0; i <= capabilities_max; i++)
        too_long += (i ? ",\"m" : "\"m") + std::to_string(i) + "\"";
    too_long += "]";
    auto r = intersect_capabilities(
        parser_,
        views({"null", R"(["a",1])", R"(["a\u0062"])", too_long, R"(["a","b"])", R"(["b","c"])"}),
        out_);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->used, 2u);
    EXPECT_EQ(r->malformed, 4u);
    EXPECT_EQ(out_.view(), R"(["b"])");
    out_.clear();
    EXPECT_FALSE(intersect_capabilities(parser_, views({}), out_));
    auto single = intersect_capabilities(parser_, views({"[]"}), out_);
    ASSERT_TRUE(single);
    EXPECT_EQ(out_.view(), "[]");
}

TEST_F(MergeTest, OutputPastBytesMaxLeavesTheBufferUnchanged) {
    ByteBuffer small(8, 8);
    small.append("ab");
    auto r = merge_client_versions(parser_, views({geth}), small);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), Errc::too_large);
    EXPECT_EQ(small.view(), "ab");
}

}  // namespace
}  // namespace em::engine
