// Shared pieces of the enginemux-mock-el integration tests: JSON parsing of answers, request
// builders and a fixture that starts the binary.
#pragma once

#include <gtest/gtest.h>
#include <simdjson.h>

#include <memory>
#include <string>
#include <vector>

#include "mock_process.h"

namespace em::test {

/// A parsed JSON answer (owns its parser so several can be alive at once).
struct Json {
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    bool ok = false;
};

inline std::unique_ptr<Json> parse_json(const std::string& text) {
    auto j = std::make_unique<Json>();
    auto r = j->parser.parse(text);
    j->ok = !r.error();
    if (j->ok) j->root = r.value_unsafe();
    return j;
}

inline std::string str(simdjson::dom::element e) {
    std::string_view s;
    if (e.get_string().get(s)) return "<not a string: " + simdjson::minify(e) + ">";
    return std::string(s);
}

inline std::string hash_of(char c) {
    return "0x" + std::string(64, c);
}

/// A JSON-RPC request text.
inline std::string rpc(const std::string& method, const std::string& params = "[]",
                       const std::string& id = "1") {
    return "{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"method\":\"" + method +
           "\",\"params\":" + params + "}";
}

/// An ExecutionPayloadV1 with the given hashes and number (fields well-formed, hash not real).
inline std::string payload_v1(const std::string& block_hash, const std::string& parent_hash,
                              const std::string& number_hex) {
    return "{\"parentHash\":\"" + parent_hash + "\",\"feeRecipient\":\"0x" + std::string(40, '0') +
           "\",\"stateRoot\":\"" + hash_of('1') + "\",\"receiptsRoot\":\"" + hash_of('2') +
           "\",\"logsBloom\":\"0x" + std::string(512, '0') + "\",\"prevRandao\":\"" + hash_of('0') +
           "\",\"blockNumber\":\"" + number_hex +
           "\",\"gasLimit\":\"0x1c9c380\",\"gasUsed\":\"0x0\",\"timestamp\":\"0x5\","
           "\"extraData\":\"0x\",\"baseFeePerGas\":\"0x7\",\"blockHash\":\"" +
           block_hash + "\",\"transactions\":[]}";
}

/// forkchoiceUpdated params with `head` and optional attributes.
inline std::string fcu_params(const std::string& head, bool attributes) {
    std::string state = "{\"headBlockHash\":\"" + head + "\",\"safeBlockHash\":\"" + head +
                        "\",\"finalizedBlockHash\":\"" + head + "\"}";
    std::string attrs = attributes
                            ? "{\"timestamp\":\"0x10\",\"prevRandao\":\"" + hash_of('0') +
                                  "\",\"suggestedFeeRecipient\":\"0x" + std::string(40, '0') + "\"}"
                            : "null";
    return "[" + state + "," + attrs + "]";
}

/// Starts a mock EL per test with extra arguments; fails the test if it cannot.
class MockElTest : public ::testing::Test {
  protected:
    void start(std::vector<std::string> args = {}) {
        args.insert(args.begin(), {"--port", "0"});
        ASSERT_TRUE(mock_.start(args)) << mock_.error();
    }
    void TearDown() override {
        if (mock_.pid() > 0) {
            EXPECT_EQ(mock_.stop(), 0) << "SIGTERM must end the mock with exit 0";
        }
    }
    uint16_t port() const { return mock_.port(); }

    /// One call on a fresh connection; the body parsed as JSON (fails the test if it is not).
    std::unique_ptr<Json> call_json(const std::string& body, int expect_status = 200) {
        Client c(port());
        Reply r = c.call(body);
        EXPECT_EQ(r.kind, Reply::Kind::response);
        EXPECT_EQ(r.status, expect_status) << r.body;
        auto j = parse_json(r.body);
        EXPECT_TRUE(j->ok) << "not JSON: " << r.body.substr(0, 200);
        return j;
    }
    /// POST /mock/rules with the given text; returns the HTTP status.
    int set_rules(const std::string& text, std::string* body = nullptr) {
        Client c(port());
        Reply r = c.call(text, "/mock/rules");
        if (body) *body = r.body;
        return r.status;
    }

    MockProcess mock_;
};

}  // namespace em::test
