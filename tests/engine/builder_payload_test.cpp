// engine/builder_payload.h: a builder's getPayload answer becomes the newPayload request the
// local EL validates, and enginemux's own hash check of that very text finds a tampered block.
#include "engine/builder_payload.h"

#include <gtest/gtest.h>

#include <string>

#include "eth/verify.h"
#include "mockel/payloads.h"

namespace em::engine {
namespace {

const std::string root32 = "0x" + std::string(64, '0');
const std::string other_root = "0x" + std::string(63, '0') + "1";

/// A getPayloadV<version> result around the mock EL's synthetic payload (correct block hash).
std::string envelope(uint8_t version, const std::string& payload, const std::string& extra = "") {
    if (version == 1) return payload;
    std::string e = R"({"executionPayload":)" + payload + R"(,"blockValue":"0x2a")";
    if (version >= 3)
        e += R"(,"blobsBundle":{"commitments":[],"proofs":[],"blobs":[]},)"
             R"("shouldOverrideBuilder":false)";
    return e + extra + "}";
}

struct Converted {
    Result<BuiltPayload> built;
    std::string request;
};

Converted convert(uint8_t version, const std::string& answer, std::string_view beacon = root32) {
    simdjson::ondemand::parser parser;
    simdjson::padded_string padded(answer);
    ByteBuffer out(1u << 20, 1024);
    auto built = new_payload_from_built(parser, padded, version, beacon, "7", out);
    return {built, std::string(out.view())};
}

eth::Verdict verify(const std::string& request) {
    eth::BlockHashVerifier verifier;
    simdjson::padded_string padded(request);
    auto verdict = verifier.verify_request(padded);
    EXPECT_TRUE(verdict) << verdict.error().c_str() << "\n" << request;
    return verdict ? *verdict : eth::Verdict{};
}

TEST(BuilderPayload, EveryVersionBecomesARequestWhoseHashMatches) {
    for (uint8_t v = 1; v <= 6; v++) {
        auto payload = mockel::synthetic_payload(v, 100);
        ASSERT_TRUE(payload) << payload.error().c_str();
        auto c = convert(v, envelope(v, *payload));
        ASSERT_TRUE(c.built) << int(v) << ": " << c.built.error().c_str();
        EXPECT_EQ(c.built->new_payload_version, new_payload_version_for(v));
        EXPECT_EQ(c.built->block_value, v == 1 ? U256{} : U256::from_u64(42));
        std::string method = "engine_newPayloadV" + std::to_string(new_payload_version_for(v));
        EXPECT_NE(c.request.find(method), std::string::npos) << c.request;
        EXPECT_NE(c.request.find(R"("id":7)"), std::string::npos);
        EXPECT_TRUE(verify(c.request).match) << int(v) << ": " << c.request;
    }
    EXPECT_EQ(new_payload_version_for(5), 4);  // Osaka's getPayloadV5 is imported by V4
    EXPECT_EQ(new_payload_version_for(7), 0);
}

TEST(BuilderPayload, ATamperedBlockFailsEnginemuxsOwnHashCheck) {
    auto payload = mockel::synthetic_payload(3, 100);
    ASSERT_TRUE(payload);
    std::string tampered = *payload;
    size_t at = tampered.find("\"gasLimit\":\"0x");
    ASSERT_NE(at, std::string::npos);
    tampered.insert(at + 14, "1");  // another gas limit, the same claimed hash
    auto c = convert(3, envelope(3, tampered));
    ASSERT_TRUE(c.built) << c.built.error().c_str();
    EXPECT_FALSE(verify(c.request).match);
    // Another parentBeaconBlockRoot is another header: the hash no longer matches either.
    auto own =
        convert(3, envelope(3, *payload, R"(,"parentBeaconBlockRoot":")" + other_root + "\""));
    ASSERT_TRUE(own.built) << own.built.error().c_str();
    EXPECT_NE(own.request.find(other_root), std::string::npos);  // the answer's own wins
    EXPECT_FALSE(verify(own.request).match);
}

TEST(BuilderPayload, GasUsedIsRead) {
    auto payload = mockel::synthetic_payload(2, 100);
    ASSERT_TRUE(payload);
    std::string p = *payload;
    size_t at = p.find("\"gasUsed\":\"");
    ASSERT_NE(at, std::string::npos);
    size_t end = p.find('"', at + 11);
    p.replace(at + 11, end - at - 11, "0x5208");
    auto c = convert(2, envelope(2, p));
    ASSERT_TRUE(c.built) << c.built.error().c_str();
    EXPECT_EQ(c.built->gas_used, 21000u);
}

TEST(BuilderPayload, BadAnswersAreErrorsNamingTheField) {
    auto payload = mockel::synthetic_payload(3, 100);
    ASSERT_TRUE(payload);
    auto error = [](const Converted& c) {
        return c.built ? std::string() : std::string(c.built.error().message());
    };
    EXPECT_NE(error(convert(3, "[]")).find("not an object"), std::string::npos);
    EXPECT_NE(error(convert(3, R"({"blockValue":"0x1"})")).find("executionPayload: missing"),
              std::string::npos);
    EXPECT_NE(
        error(convert(2, R"({"executionPayload":)" + *payload + "}")).find("blockValue: missing"),
        std::string::npos);
    EXPECT_NE(error(convert(2, R"({"executionPayload":)" + *payload + R"(,"blockValue":"0x01"})"))
                  .find("blockValue"),
              std::string::npos);
    std::string blobs = R"({"executionPayload":)" + *payload +
                        R"(,"blockValue":"0x1","blobsBundle":{"commitments":["0x00"]}})";
    EXPECT_NE(error(convert(3, blobs)).find("with blobs"), std::string::npos);
    EXPECT_NE(error(convert(3, envelope(3, *payload), "")).find("parentBeaconBlockRoot"),
              std::string::npos);
    EXPECT_NE(error(convert(7, envelope(3, *payload))).find("getPayloadV7"), std::string::npos);
}

}  // namespace
}  // namespace em::engine
