// The pipeline allocates nothing in steady state (issue 18): 10,000 engine_newPayloadV4 requests
// (200 transactions each, block hashes checked, three voting nodes answering VALID) and as many
// engine_forkchoiceUpdatedV3 calls go through the real PipelineCore and MuxPolicy after a
// warm-up, and the process-wide allocation counter (malloc family and operator new) must not
// move. The shell here is the test's: it keeps the calls in preallocated arrays, so whatever is
// counted is the pipeline's own.
#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

#include "alloc_counter.h"
#include "commands/payload_example.h"
#include "fixture.h"
#include "pipeline/core.h"

namespace em::pipeline::test {
namespace {

constexpr size_t node_count = 3;
constexpr size_t payloads = 32;

/// A shell whose nodes answer from the test: sends are recorded (no allocation after reserve),
/// answers are counted and checked for VALID.
struct CountingShell final : Shell {
    struct Sent {
        uint64_t call;
        size_t node;
    };
    std::array<Sent, 64> sent{};
    size_t sent_count = 0;
    uint64_t answers = 0;
    uint64_t valid_answers = 0;
    uint64_t now = 1'000'000'000;
    void send(uint64_t call, size_t node, std::string_view, bool, uint64_t) override {
        if (sent_count < sent.size()) sent[sent_count++] = Sent{call, node};
    }
    void flush() override {}
    void answer(uint64_t, int http_status, std::string_view body) override {
        answers++;
        if (http_status == 200 && (body.find("\"VALID\"") != std::string_view::npos ||
                                   body.find("\"payloadStatus\"") != std::string_view::npos))
            valid_answers++;
    }
    bool client_waiting(uint64_t) const override { return true; }
    void node_failed(size_t, const Error&) override {}
    uint64_t now_ns() const override { return now; }
};

/// A request body with its id, and the padded reply every node gives to it.
struct Exchange {
    std::string request;  // capacity: size + 64 (simdjson reads past the end)
    std::string reply;
};

std::string padded(const std::string& s) {
    std::string out;
    out.reserve(s.size() + 64);
    out.append(s);
    return out;
}

std::vector<Exchange> build_exchanges() {
    commands::ExampleOptions options;
    options.count = payloads;
    ByteBuffer out;
    EXPECT_TRUE(commands::write_payload_examples(options, out));
    simdjson::dom::parser parser;
    simdjson::dom::element all = parser.parse(out.data(), out.size());
    std::vector<Exchange> exchanges;
    int64_t id = 1;
    for (simdjson::dom::element request : all.get_array()) {
        std::string_view hash = request["params"].at(0)["blockHash"].get_string();
        std::string body = simdjson::minify(request);
        // Our own ids, so that each reply names its request.
        size_t at = body.find("\"id\":");
        size_t end = body.find_first_of(",}", at);
        body.replace(at, end - at, "\"id\":" + std::to_string(id));
        std::string h(hash);
        exchanges.push_back(
            {padded(body), padded(status_result(std::to_string(id).c_str(), "VALID", h.c_str()))});
        id++;
        std::string fcu =
            "{\"jsonrpc\":\"2.0\",\"id\":" + std::to_string(id) +
            ",\"method\":\"engine_forkchoiceUpdatedV3\",\"params\":[{\"headBlockHash\":\"" + h +
            "\",\"safeBlockHash\":\"" + h + "\",\"finalizedBlockHash\":\"" + h + "\"},null]}";
        std::string fcu_reply = "{\"jsonrpc\":\"2.0\",\"id\":" + std::to_string(id) +
                                ",\"result\":{\"payloadStatus\":{\"status\":\"VALID\","
                                "\"latestValidHash\":\"" +
                                h + "\",\"validationError\":null},\"payloadId\":null}}";
        exchanges.push_back({padded(fcu), padded(fcu_reply)});
        id++;
    }
    return exchanges;
}

TEST(PipelineAllocations, SteadyStateNewPayloadsAndForkchoiceUpdatesAllocateNothing) {
    if (!em::bench::allocations_counted())
        GTEST_SKIP() << "allocation counting is off under AddressSanitizer";
    {  // the counter works
        em::bench::AllocScope scope;
        std::vector<int> v(100);
        ASSERT_GT(scope.allocations(), 0u);
    }
    std::vector<Exchange> exchanges = build_exchanges();
    ASSERT_EQ(exchanges.size(), 2 * payloads);

    ShardMetrics metrics;
    FakeNodes nodes;
    for (size_t i = 0; i < node_count; i++) nodes.set(i, true);
    MuxPolicy policy{MuxPolicyConfig{*engine::Quorum::from_fraction(0.6), true, 0}};
    CountingShell shell;
    CoreConfig config;
    PipelineCore core(config, policy, nodes, shell, metrics);
    std::string buffer;
    buffer.reserve(1 << 20);

    auto one = [&](const Exchange& e) {
        buffer.assign(e.request);
        shell.sent_count = 0;
        shell.now += 1'000'000;
        core.on_request(0, buffer.data(), buffer.size(), buffer.capacity(), shell.now, shell.now);
        size_t sent = shell.sent_count;
        for (size_t k = 0; k < sent; k++) {
            NodeReply reply;
            reply.node = shell.sent[k].node;
            reply.sent_ns = shell.now;
            reply.http_status = 200;
            reply.body = e.reply;
            core.on_reply(shell.sent[k].call, reply, shell.now + 100'000);
        }
        return sent;
    };

    // Warm-up: pools, buffers and parsers grow to their working size.
    for (int i = 0; i < 200; i++) ASSERT_EQ(one(exchanges[i % exchanges.size()]), node_count);
    ASSERT_EQ(shell.valid_answers, shell.answers);
    uint64_t answers_before = shell.answers;
    uint64_t checked_before = metrics.block_hash_checked.load();

    constexpr int rounds = 20'000;  // 10,000 newPayloads and 10,000 forkchoiceUpdated
    size_t sends = 0;
    em::bench::AllocScope scope;
    for (int i = 0; i < rounds; i++) sends += one(exchanges[i % exchanges.size()]);
    uint64_t allocations = scope.allocations();

    EXPECT_EQ(allocations, 0u) << "allocations in " << rounds << " steady-state engine calls";
    EXPECT_EQ(sends, rounds * node_count);
    EXPECT_EQ(shell.answers - answers_before, static_cast<uint64_t>(rounds));
    EXPECT_EQ(shell.valid_answers, shell.answers) << "every call must be answered VALID";
    EXPECT_EQ(core.busy(), 0u);
    EXPECT_EQ(metrics.block_hash_checked.load() - checked_before, static_cast<uint64_t>(rounds / 2))
        << "every newPayload's block hash is rebuilt and checked";
    EXPECT_EQ(metrics.block_hash_mismatch.load(), 0u);
}

}  // namespace
}  // namespace em::pipeline::test
