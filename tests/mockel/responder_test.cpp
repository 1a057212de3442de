// Unit tests of the mock EL's Responder without sockets: plans for rules, HTTP framing, and the
// promise that default eth_* and engine_* answers allocate nothing in steady state.
#include "mockel/responder.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <atomic>
#include <string>
#include <vector>

#include "alloc_counter.h"
#include "base/clock.h"
#include "http/jwt.h"
#include "mockel/payloads.h"

namespace em::mockel {
namespace {

std::string hash_of(char c) {
    return "0x" + std::string(64, c);
}

std::string payload_v1(const std::string& block_hash, const std::string& number) {
    return "{\"parentHash\":\"" + hash_of('b') + "\",\"feeRecipient\":\"0x" + std::string(40, '0') +
           "\",\"stateRoot\":\"" + hash_of('1') + "\",\"receiptsRoot\":\"" + hash_of('2') +
           "\",\"logsBloom\":\"0x" + std::string(512, '0') + "\",\"prevRandao\":\"" + hash_of('0') +
           "\",\"blockNumber\":\"" + number +
           "\",\"gasLimit\":\"0x1c9c380\",\"gasUsed\":\"0x0\",\"timestamp\":\"0x5\","
           "\"extraData\":\"0x\",\"baseFeePerGas\":\"0x7\",\"blockHash\":\"" +
           block_hash + "\",\"transactions\":[]}";
}

std::string fcu(bool attributes) {
    std::string h = hash_of('c');
    return "[{\"headBlockHash\":\"" + h + "\",\"safeBlockHash\":\"" + h +
           "\",\"finalizedBlockHash\":\"" + h + "\"}," +
           (attributes ? "{\"timestamp\":\"0x1\"}" : "null") + "]";
}

std::string rpc(const std::string& method, const std::string& params, const std::string& id = "1") {
    return "{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"method\":\"" + method +
           "\",\"params\":" + params + "}";
}

class ResponderTest : public ::testing::Test {
  protected:
    void make(bool verify = false, bool jwt = false, uint64_t gas_used = 0) {
        MockConfig config;
        config.verify_block_hash = verify;
        config.jwt_required = jwt;
        config.jwt_secret.key.fill(0x42);
        ASSERT_TRUE(load_payloads("", config.head, config.payloads, gas_used));
        shared_ = std::make_unique<Shared>(std::move(config), RuleSet(), 1);
        responder_ = std::make_unique<Responder>(*shared_, 0);
    }

    /// Runs one POST / with `json`; returns the plan, leaves the HTTP response in out_.
    Plan run(const std::string& json, std::string_view authorization = {}) {
        in_.clear();
        in_.append(json);
        http::Request req;
        req.method = http::Method::post;
        req.target = "/";
        req.keep_alive = true;
        req.authorization = authorization;
        req.body = in_.view();
        return responder_->handle(req, in_.capacity() + ByteBuffer::padding_bytes, mono_ns(), out_);
    }
    std::string body() const {
        std::string_view all = out_.view();
        size_t at = all.find("\r\n\r\n");
        return at == all.npos ? std::string() : std::string(all.substr(at + 4));
    }
    int status() const { return std::atoi(std::string(out_.view().substr(9, 3)).c_str()); }

    std::unique_ptr<Shared> shared_;
    std::unique_ptr<Responder> responder_;
    ByteBuffer in_{1 << 20, 1 << 16};
    ByteBuffer out_{1 << 22, 1 << 16};
};

TEST_F(ResponderTest, HttpFramingAndBodies) {
    make();
    run(rpc("eth_blockNumber", "[]", "\"x\""));
    EXPECT_EQ(status(), 200);
    EXPECT_NE(out_.view().find("Content-Type: application/json"), std::string_view::npos);
    EXPECT_EQ(body(), "{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"result\":\"0x64\"}");
    run(rpc("engine_newPayloadV1", "[" + payload_v1(hash_of('a'), "0x65") + "]"));
    EXPECT_EQ(
        body(),
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"status\":\"VALID\",\"latestValidHash\":\"" +
            hash_of('a') + "\",\"validationError\":null}}");
    run(rpc("eth_blockNumber", "[]"));
    EXPECT_EQ(body(), "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"0x65\"}");
    run("");
    EXPECT_NE(body().find("-32700"), std::string::npos);
}

TEST_F(ResponderTest, RulesBecomePlans) {
    make();
    RuleSet rules;
    ASSERT_TRUE(
        parse_rules_text("eth_chainId:delay=40,http=502\neth_blockNumber:reset\n"
                         "net_version:huge=5000\n",
                         &rules));
    shared_->replace_rules(rules);
    Plan p = run(rpc("eth_chainId", "[]"));
    EXPECT_EQ(p.delay_ms, 40u);
    EXPECT_EQ(p.transport, Transport::none);
    EXPECT_EQ(status(), 502);
    p = run(rpc("eth_blockNumber", "[]"));
    EXPECT_EQ(p.transport, Transport::reset);
    EXPECT_TRUE(out_.empty());
    p = run(rpc("net_version", "[]"));
    EXPECT_EQ(body().size(), 5000u);
    // In a batch the first transport fault wins and delays add up to the longest.
    p = run("[" + rpc("eth_chainId", "[]") + "," + rpc("eth_blockNumber", "[]", "2") + "]");
    EXPECT_EQ(p.transport, Transport::reset);
    EXPECT_EQ(p.delay_ms, 40u);
}

TEST_F(ResponderTest, AMockBuildersBlocksCarryItsGasAndBadHashSpoilsTheirHash) {
    // The builder role's tests play builders with mock ELs: --gas-used tells their blocks
    // apart (hashes still correct), a bad_hash rule makes one whose hash does not match.
    make(true, false, 21000);
    auto block = [&] {
        run(rpc("engine_forkchoiceUpdatedV3", fcu(true)));
        std::string id = "0x" + body().substr(body().find("payloadId") + 14, 16);
        run(rpc("engine_getPayloadV1", "[\"" + id + "\"]"));
        std::string answer = body();
        size_t at = answer.find("\"result\":") + 9;
        return answer.substr(at, answer.size() - at - 1);
    };
    std::string good = block();
    EXPECT_NE(good.find("\"gasUsed\":\"0x5208\""), std::string::npos) << good;
    run(rpc("engine_newPayloadV1", "[" + good + "]"));
    EXPECT_NE(body().find("\"VALID\""), std::string::npos) << body();
    RuleSet rules;
    ASSERT_TRUE(parse_rules_text("engine_getPayload*:bad_hash", &rules));
    shared_->replace_rules(rules);
    std::string bad = block();
    EXPECT_NE(bad, good);
    EXPECT_EQ(bad.size(), good.size());  // one digit of the blockHash changed
    run(rpc("engine_newPayloadV1", "[" + bad + "]"));
    EXPECT_NE(body().find("\"INVALID_BLOCK_HASH\""), std::string::npos) << body();
}

TEST_F(ResponderTest, JwtRejectionIs401AndCounted) {
    make(false, true);
    run(rpc("eth_chainId", "[]"));
    EXPECT_EQ(status(), 401);
    EXPECT_EQ(shared_->thread_stats(0).jwt_rejections.load(), 1u);
    http::JwtSecret secret;
    secret.key.fill(0x42);
    http::JwtSigner signer(secret);
    std::string auth = "Bearer " + std::string(signer.bearer_token(wall_s()));
    run(rpc("eth_chainId", "[]"), auth);
    EXPECT_EQ(status(), 200);
}

/// Allocations of `n` runs of `json` after a warm-up.
template <typename Run>
uint64_t steady_allocations(Run&& run_once, int n = 200) {
    for (int i = 0; i < 20; i++) run_once();
    em::bench::AllocScope scope;
    for (int i = 0; i < n; i++) run_once();
    return scope.allocations();
}

TEST_F(ResponderTest, DefaultAnswersAllocateNothingInSteadyState) {
    if (!em::bench::allocations_counted())
        GTEST_SKIP() << "allocation counting is off under AddressSanitizer";
    {  // the counter works: a vector allocates
        em::bench::AllocScope scope;
        std::vector<char> v(4096);
        asm volatile("" : : "r"(v.data()) : "memory");
        ASSERT_GT(scope.allocations(), 0u);
    }
    for (bool verify : {false, true}) {
        for (bool jwt : {false, true}) {
            SCOPED_TRACE(std::string(verify ? "verify " : "") + (jwt ? "jwt" : ""));
            make(verify, jwt);
            http::JwtSecret secret;
            secret.key.fill(0x42);
            http::JwtSigner signer(secret, 3600);
            std::string auth = jwt ? "Bearer " + std::string(signer.bearer_token(wall_s())) : "";
            auto f = fcu(true);
            run(rpc("engine_forkchoiceUpdatedV3", f), auth);
            std::string id = "0x" + body().substr(body().find("payloadId") + 14, 16);
            run(rpc("engine_getPayloadV1", "[\"" + id + "\"]"), auth);
            std::string answer = body();
            size_t at = answer.find("\"result\":") + 9;
            std::string np =
                rpc("engine_newPayloadV1", "[" + answer.substr(at, answer.size() - at - 1) + "]");
            run(np, auth);
            ASSERT_NE(body().find("\"VALID\""), std::string::npos) << body();
            const std::string requests[] = {
                rpc("eth_blockNumber", "[]"),
                rpc("eth_chainId", "[]"),
                rpc("eth_syncing", "[]"),
                rpc("eth_getBlockByNumber", "[\"latest\",false]"),
                np,
                rpc("engine_forkchoiceUpdatedV3", fcu(false)),
                rpc("engine_forkchoiceUpdatedV3", f),
                rpc("engine_getPayloadV3", "[\"" + id + "\"]"),
                rpc("engine_exchangeCapabilities", "[[]]"),
                "[" + rpc("eth_blockNumber", "[]") + "," +
                    rpc("engine_getBlobsV1", "[[\"" + hash_of('1') + "\"]]") + "]",
            };
            for (const auto& r : requests) {
                EXPECT_EQ(steady_allocations([&] { run(r, auth); }), 0u) << r.substr(0, 80);
                EXPECT_EQ(status(), 200) << body();
            }
        }
    }
}

}  // namespace
}  // namespace em::mockel
