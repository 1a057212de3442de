// eth_getLogs block ranges (pipeline/logs_range.h): the span a filter covers (numbers, tags
// against the known head, an unknown head, blockHash), the ends a wide one is split at (tags
// resolved, or why not), the sub-ranges, each piece's request, and the merge of the pieces'
// answers (each log's bytes kept; a piece that is not an array of its own logs named).
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

std::string ends_of(const std::string& params, int64_t latest, int64_t finalized) {
    rpc::LogsEnds e = rpc::resolve_logs_ends(params, rpc::KnownBlocks{latest, finalized});
    if (!e.ok) return "no: " + std::string(e.why);
    return std::to_string(e.from) + ".." + std::to_string(e.to);
}

TEST(LogsEnds, TagsResolveToTheBlocksTheCallerKnowsOrSayWhyNot) {
    EXPECT_EQ(ends_of(R"([{"fromBlock":"0x1","toBlock":"0x2710"}])", -1, -1), "1..10000");
    EXPECT_EQ(ends_of(R"([{"fromBlock":"earliest","toBlock":"latest"}])", 500, 400), "0..500");
    EXPECT_EQ(ends_of(R"([{"fromBlock":"0x10"}])", 500, 400), "16..500") << "toBlock: latest";
    EXPECT_EQ(ends_of(R"([{"fromBlock":"0x0","toBlock":null}])", 500, 400), "0..500");
    EXPECT_EQ(ends_of(R"([{"fromBlock":"0x0","toBlock":"finalized"}])", 500, 400), "0..400");
    EXPECT_EQ(ends_of(R"([{"fromBlock":"finalized","toBlock":"latest"}])", 500, 400), "400..500");
    EXPECT_EQ(ends_of(R"([{"fromBlock":"0x0","toBlock":"latest"}])", -1, 400),
              "no: no head is known yet");
    EXPECT_EQ(ends_of(R"([{"fromBlock":"0x0","toBlock":"finalized"}])", 500, -1),
              "no: no finalized block is known yet");
    EXPECT_NE(ends_of(R"([{"fromBlock":"0x0","toBlock":"safe"}])", 500, 400).find("\"safe\""),
              std::string::npos);
    EXPECT_NE(ends_of(R"([{"fromBlock":"0x0","toBlock":"pending"}])", 500, 400).find("pending"),
              std::string::npos);
    EXPECT_EQ(ends_of(R"([{"fromBlock":"soon"}])", 500, 400),
              "no: a block number is not a QUANTITY or a tag");
    EXPECT_EQ(ends_of("[1]", 500, 400), "no: the filter is not an object");
}

TEST(LogsPiece, TheClientsFilterWithThePiecesNumbers) {
    ByteBuffer rest(1u << 16);
    std::string params =
        R"([{"fromBlock":"0x1","address":"0xAa","topics":[["0x01"], null],"toBlock":"latest",)"
        R"("x\"y":1}])";
    ASSERT_TRUE(rpc::logs_filter_rest(params, rest));
    EXPECT_EQ(rest.view(), R"("address":"0xAa","topics":[["0x01"],null],"x\"y":1)");
    ByteBuffer out(1u << 16);
    ASSERT_TRUE(rpc::write_logs_piece(out, 7, {16, 31}, rest.view()));
    EXPECT_EQ(out.view(),
              R"({"jsonrpc":"2.0","id":7,"method":"eth_getLogs","params":[{"fromBlock":"0x10",)"
              R"("toBlock":"0x1f","address":"0xAa","topics":[["0x01"],null],"x\"y":1}]})");
    ASSERT_TRUE(rpc::logs_filter_rest(R"([{"fromBlock":"0x1"}])", rest));
    ASSERT_TRUE(rpc::write_logs_piece(out, 1, {0, 0}, rest.view()));
    EXPECT_EQ(out.view(), R"({"jsonrpc":"2.0","id":1,"method":"eth_getLogs","params":[)"
                          R"({"fromBlock":"0x0","toBlock":"0x0"}]})");
    EXPECT_FALSE(rpc::logs_filter_rest("[]", rest));
    EXPECT_FALSE(rpc::logs_filter_rest("not json", rest));
}

std::string log(const char* block, const char* index) {
    return std::string(R"({"address":"0xaa","blockNumber":")") + block + R"(","logIndex":")" +
           index + R"(","data":"0x"})";
}

/// Merges pieces (range, result) given as strings (padded: merge_logs parses in place).
Result<void> merge(std::vector<std::pair<rpc::BlockRange, std::string>> given, ByteBuffer& out) {
    std::vector<rpc::LogsPiece> pieces;
    for (auto& [range, text] : given) {
        text.reserve(text.size() + 64);
        pieces.push_back({range, text});
    }
    return rpc::merge_logs(pieces, out);
}

TEST(LogsMerge, ThePiecesLogsOneAfterTheOtherEachAsTheNodeSentIt) {
    ByteBuffer out(1u << 20);
    std::string spaced = "{ \"blockNumber\" : \"0x2\", \"logIndex\":\"0x0\" }";
    ASSERT_TRUE(merge({{{1, 2}, " [" + log("0x1", "0x0") + ",\n  " + spaced + "] "},
                       {{3, 4}, "[]"},
                       {{5, 9}, "[" + log("0x5", "0x0") + "," + log("0x9", "0x1") + "]"}},
                      out));
    EXPECT_EQ(out.view(), "[" + log("0x1", "0x0") + ",\n  " + spaced + "," + log("0x5", "0x0") +
                              "," + log("0x9", "0x1") + "]");
    ASSERT_TRUE(merge({{{1, 2}, "[]"}, {{3, 4}, "[ ]"}}, out));
    EXPECT_EQ(out.view(), "[]");
}

TEST(LogsMerge, APieceThatIsNotAnArrayOfItsLogsIsNamedByItsRange) {
    ByteBuffer out(1u << 20);
    std::string good = "[" + log("0x1", "0x0") + "]";
    auto r = merge({{{1, 10}, good}, {{11, 20}, R"({"code":-32000})"}}, out);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message(), "blocks 11..20: the answer is not a JSON array");
    r = merge({{{1, 10}, good}, {{11, 20}, "[" + log("0x1", "0x0") + "]"}}, out);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message(), "blocks 11..20: a log is outside the piece's range (block 1)");
    r = merge({{{1, 10}, "[" + log("0x5", "0x0") + "," + log("0x2", "0x0") + "]"}}, out);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message(), "blocks 1..10: the logs are not in block order (block 2)");
    r = merge({{{1, 10}, R"([{"logIndex":"0x0"}])"}}, out);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message(), "blocks 1..10: a log has no blockNumber");
    r = merge({{{1, 10}, R"([{"blockNumber":"1"}])"}}, out);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message(), "blocks 1..10: a log's blockNumber is not a QUANTITY");
}

TEST(LogsMerge, AnAnswerOverTheLimitIsRefusedNamingIt) {
    ByteBuffer out(64, 64);
    auto r = merge({{{1, 10}, "[" + log("0x1", "0x0") + "," + log("0x2", "0x0") + "]"}}, out);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), Errc::too_large);
    EXPECT_EQ(r.error().message(), "the merged answer is over this endpoint's limit of 64 bytes");
}

}  // namespace
}  // namespace em::pipeline::test
