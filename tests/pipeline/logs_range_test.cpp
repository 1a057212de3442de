// eth_getLogs block ranges (pipeline/logs_range.h): the span a filter covers (numbers, tags
// against the known head, an unknown head, blockHash), the sub-ranges a wide one is cut into,
// and the merge of the pieces' answers by block number, then log index.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "pipeline/logs_range.h"

namespace em::pipeline::test {
namespace {

using rpc::LogsSpan;

std::string span_of(const std::string& params, int64_t head) {
    LogsSpan s = rpc::logs_span(params, head);
    switch (s.kind) {
        case LogsSpan::Kind::not_a_range:
            return "none";
        case LogsSpan::Kind::unknown:
            return "unknown";
        case LogsSpan::Kind::known:
            break;
    }
    return std::to_string(s.from) + ".." + std::to_string(s.to);
}

TEST(LogsSpan, NumbersTagsAndTheHead) {
    EXPECT_EQ(span_of(R"([{"fromBlock":"0x1","toBlock":"0x2710"}])", 50), "1..10000");
    EXPECT_EQ(span_of(R"([{"fromBlock":"0x10","toBlock":"latest"}])", 100), "16..100");
    EXPECT_EQ(span_of(R"([{"fromBlock":"earliest","toBlock":"0x5"}])", -1), "0..5");
    EXPECT_EQ(span_of(R"([{"fromBlock":"0x10"}])", 100), "16..100") << "toBlock: latest";
    EXPECT_EQ(span_of(R"([{}])", -1), "0..0") << "latest..latest: one block, any head";
    EXPECT_EQ(span_of(R"([{"fromBlock":"safe","toBlock":"safe"}])", -1), "0..0");
    EXPECT_EQ(span_of(R"([{"fromBlock":"0x0","toBlock":"latest"}])", -1), "unknown");
    EXPECT_EQ(span_of(R"([{"fromBlock":"finalized","toBlock":"latest"}])", -1), "unknown");
    EXPECT_EQ(span_of(R"([{"blockHash":"0xab","fromBlock":"0x0","toBlock":"0xffff"}])", 9), "none");
    EXPECT_EQ(span_of(R"([{"fromBlock":"0x9","toBlock":"0x1"}])", 9), "none") << "the EL's error";
    EXPECT_EQ(span_of(R"([{"fromBlock":"yesterday"}])", 9), "none");
    EXPECT_EQ(span_of("not json", 9), "none");
    EXPECT_EQ(span_of("", 9), "none");
    EXPECT_EQ(rpc::logs_span(R"([{"fromBlock":"0x1","toBlock":"0x2710"}])", 0).blocks(), 10000u);
}

TEST(LogsSplit, ConsecutivePiecesOfAtMostMaxBlocks) {
    auto pieces = rpc::split_range(1, 25, 10);
    ASSERT_EQ(pieces.size(), 3u);
    EXPECT_EQ(pieces[0].from, 1u);
    EXPECT_EQ(pieces[0].to, 10u);
    EXPECT_EQ(pieces[1].from, 11u);
    EXPECT_EQ(pieces[1].to, 20u);
    EXPECT_EQ(pieces[2].from, 21u);
    EXPECT_EQ(pieces[2].to, 25u);
    EXPECT_EQ(rpc::split_range(5, 14, 10).size(), 1u);
    EXPECT_EQ(rpc::split_range(5, 15, 10).size(), 2u);
    EXPECT_EQ(rpc::split_range(7, 7, 1).size(), 1u);
    auto top = rpc::split_range(UINT64_MAX - 3, UINT64_MAX, 2);
    ASSERT_EQ(top.size(), 2u) << "no overflow at the top";
    EXPECT_EQ(top[1].to, UINT64_MAX);
    EXPECT_TRUE(rpc::split_range(9, 1, 10).empty());
    EXPECT_TRUE(rpc::split_range(1, 9, 0).empty());
}

std::string log(const char* block, const char* index) {
    return std::string(R"({"address":"0xaa","blockNumber":")") + block + R"(","logIndex":")" +
           index + R"(","data":"0x"})";
}

TEST(LogsMerge, ByBlockNumberThenLogIndexKeepingEachLog) {
    std::string a = "[" + log("0x2", "0x1") + ",\n  " + log("0x1", "0x0") + "]";
    std::string b = "[]";
    std::string c = "[" + log("0xa", "0x0") + "," + log("0x2", "0x0") + "]";
    std::vector<std::string_view> pieces = {a, b, c};
    ByteBuffer out(1u << 20);
    ASSERT_TRUE(rpc::merge_logs(pieces, out));
    EXPECT_EQ(out.view(), "[" + log("0x1", "0x0") + "," + log("0x2", "0x0") + "," +
                              log("0x2", "0x1") + "," + log("0xa", "0x0") + "]");
    std::vector<std::string_view> none = {b, b};
    ASSERT_TRUE(rpc::merge_logs(none, out));
    EXPECT_EQ(out.view(), "[]");
}

TEST(LogsMerge, APieceThatIsNotAnArrayOfLogsIsNamed) {
    ByteBuffer out(1u << 20);
    std::string good = "[" + log("0x1", "0x0") + "]";
    std::vector<std::string_view> object = {good, R"({"code":-32000})"};
    auto r = rpc::merge_logs(object, out);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("piece 1 is not a JSON array"), std::string_view::npos);
    std::vector<std::string_view> no_index = {R"([{"blockNumber":"0x1"}])"};
    r = rpc::merge_logs(no_index, out);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("without blockNumber and logIndex"), std::string_view::npos);
    std::vector<std::string_view> bad = {R"([{"blockNumber":"1","logIndex":"0x0"}])"};
    EXPECT_FALSE(rpc::merge_logs(bad, out));
}

}  // namespace
}  // namespace em::pipeline::test
