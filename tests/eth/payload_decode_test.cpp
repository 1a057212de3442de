// Decoding newPayload params: every shape error gives an error whose message names the field
// path, strict/lenient unknown fields, null handling, params counts per version; upper-case hex
// digits and EIP-55 checksummed addresses decode to the same bytes (and hash) as lower case.
#include "eth/payload_decode.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <cctype>
#include <random>
#include <string>

#include "common/hex_case.h"
#include "eth/verify.h"
#include "reference.h"

namespace em::eth {
namespace {

using ref::B;

void ref_keccak(const uint8_t* data, size_t size, uint8_t* out) {
    B h = ref::keccak(B(data, data + size));
    std::copy(h.begin(), h.end(), out);
}

// Extent [begin, end) of the JSON value that follows the first `"key":` in json.
std::pair<size_t, size_t> value_extent(const std::string& json, const std::string& key) {
    size_t k = json.find("\"" + key + "\":");
    EXPECT_NE(k, std::string::npos) << key;
    size_t b = k + key.size() + 3;
    size_t e = b;
    if (json[b] == '"') {
        e = json.find('"', b + 1) + 1;
    } else if (json[b] == '[' || json[b] == '{') {
        int depth = 0;
        do {
            if (json[e] == '[' || json[e] == '{') depth++;
            if (json[e] == ']' || json[e] == '}') depth--;
            e++;
        } while (depth > 0);
    } else {
        e = json.find_first_of(",}", b);
    }
    return {b, e};
}

std::string replace_value(std::string json, const std::string& key, const std::string& value) {
    auto [b, e] = value_extent(json, key);
    return json.replace(b, e - b, value);
}

std::string remove_field(std::string json, const std::string& key) {
    size_t k = json.find("\"" + key + "\":");
    auto [b, e] = value_extent(json, key);
    if (json[e] == ',') return json.erase(k, e + 1 - k);
    return json.erase(k - 1, e - k + 1);  // last field: drop the comma before it
}

std::string add_payload_field(std::string json, const std::string& field) {
    size_t at = json.find("\"params\":[{") + 11;
    return json.insert(at, field + ",");
}

class DecodeErrors : public testing::Test {
  protected:
    DecodeErrors() {
        std::mt19937_64 rng(51);
        for (int v = 1; v <= 5; v++) {
            ref::Payload p = ref::random_payload(rng, v, true, false, 5);
            while (p.transactions.size() < 4) p.transactions.push_back(ref::random_bytes(rng, 40));
            if (v >= 2) {
                p.has_withdrawals = true;
                while (p.withdrawals.size() < 2) p.withdrawals.push_back({1, 2, B(20, 3), 4});
            }
            if (v >= 4) {
                p.requests = {B{0x00, 0xaa}, B{0x01, 0xbb}};
            }
            p.block_hash = ref::block_hash(p);
            base_[v] = ref::to_request_json(p, "1");
        }
    }

    Result<Verdict> run(const std::string& json, UnknownFields unknown = UnknownFields::ignore) {
        VerifierConfig config;
        config.arena_bytes = 8 << 20;
        config.decode.unknown_fields = unknown;
        verifier_ = std::make_unique<BlockHashVerifier>(config);
        text_ = simdjson::padded_string(json);
        return verifier_->verify_request(text_);
    }

    void expect_error(const std::string& json, const std::string& message,
                      Errc code = Errc::invalid_input,
                      UnknownFields unknown = UnknownFields::ignore) {
        auto r = run(json, unknown);
        ASSERT_FALSE(r) << "accepted: " << json.substr(0, 200);
        EXPECT_EQ(r.error().message(), message);
        EXPECT_EQ(r.error().code(), code);
    }

    std::string base_[6];
    std::unique_ptr<BlockHashVerifier> verifier_;
    simdjson::padded_string text_;
};

TEST_F(DecodeErrors, BaseRequestsVerify) {
    for (int v = 1; v <= 5; v++) {
        auto r = run(base_[v]);
        ASSERT_TRUE(r) << v << ": " << r.error().message();
        EXPECT_TRUE(r->match) << v;
    }
}

TEST_F(DecodeErrors, Quantities) {
    const std::string& j = base_[4];
    expect_error(replace_value(j, "gasUsed", "\"0x0a\""),
                 "params[0].gasUsed: leading zero digit in quantity");
    expect_error(replace_value(j, "gasUsed", "\"0x00\""),
                 "params[0].gasUsed: leading zero digit in quantity");
    expect_error(replace_value(j, "gasUsed", "\"0x\""),
                 "params[0].gasUsed: empty quantity (zero is 0x0)");
    expect_error(replace_value(j, "gasUsed", "\"10\""), "params[0].gasUsed: missing 0x prefix");
    expect_error(replace_value(j, "gasUsed", "\"0X10\""), "params[0].gasUsed: missing 0x prefix");
    expect_error(replace_value(j, "gasUsed", "16"),
                 "params[0].gasUsed: expected a hex quantity, got a number");
    expect_error(replace_value(j, "gasUsed", "null"),
                 "params[0].gasUsed: expected a hex quantity, got null");
    expect_error(replace_value(j, "gasUsed", "\"0x0A\""),
                 "params[0].gasUsed: leading zero digit in quantity");
    expect_error(replace_value(j, "gasUsed", "\"0xG\""),
                 "params[0].gasUsed: invalid hex digit 'G' at index 2");
    expect_error(replace_value(j, "gasLimit", "\"0x1FFFFFFFFFFFFFFFF\""),
                 "params[0].gasLimit: quantity exceeds 64 bits");
    expect_error(replace_value(j, "baseFeePerGas", "\"0x1" + std::string(64, 'F') + "\""),
                 "params[0].baseFeePerGas: quantity exceeds 256 bits");
    expect_error(replace_value(j, "baseFeePerGas", "\"0x\""),
                 "params[0].baseFeePerGas: empty quantity (zero is 0x0)");
    expect_error(replace_value(j, "baseFeePerGas", "\"0x00\""),
                 "params[0].baseFeePerGas: leading zero digit in quantity");
    expect_error(replace_value(j, "blockNumber", "\"0x1ffffffffffffffff\""),
                 "params[0].blockNumber: quantity exceeds 64 bits");
    expect_error(replace_value(j, "timestamp", "\"0x1g\""),
                 "params[0].timestamp: invalid hex digit 'g' at index 3");
    expect_error(replace_value(j, "baseFeePerGas", "\"0x1" + std::string(64, '0') + "\""),
                 "params[0].baseFeePerGas: quantity exceeds 256 bits");
    expect_error(replace_value(j, "excessBlobGas", "true"),
                 "params[0].excessBlobGas: expected a hex quantity, got a boolean");
    expect_error(replace_value(j, "blobGasUsed", "\"0x-1\""),
                 "params[0].blobGasUsed: invalid hex digit '-' at index 2");
}

TEST_F(DecodeErrors, Data) {
    const std::string& j = base_[4];
    expect_error(replace_value(j, "parentHash", "\"0x" + std::string(62, '1') + "\""),
                 "params[0].parentHash: expected 32 bytes, got 31");
    expect_error(replace_value(j, "parentHash", "\"0x" + std::string(63, '1') + "\""),
                 "params[0].parentHash: odd number of hex digits");
    expect_error(replace_value(j, "feeRecipient", "\"0xABCDEF0123456789ABCDEF0123456789ABCDEF0\""),
                 "params[0].feeRecipient: odd number of hex digits");
    expect_error(replace_value(j, "feeRecipient", "\"0x\""),
                 "params[0].feeRecipient: expected 20 bytes, got 0");
    expect_error(replace_value(j, "feeRecipient", "\"0x" + std::string(42, 'A') + "\""),
                 "params[0].feeRecipient: expected 20 bytes, got 21");
    expect_error(replace_value(j, "feeRecipient", "\"0X" + std::string(40, 'A') + "\""),
                 "params[0].feeRecipient: missing 0x prefix");
    expect_error(replace_value(j, "blockHash", "\"0x" + std::string(63, 'A') + "G\""),
                 "params[0].blockHash: invalid hex digit 'G' at index 65");
    expect_error(replace_value(j, "extraData", "\"0x" + std::string(66, 'E') + "\""),
                 "params[0].extraData: 33 bytes exceed the limit of 32");
    expect_error(replace_value(j, "logsBloom", "\"0x" + std::string(510, '0') + "\""),
                 "params[0].logsBloom: expected 256 bytes, got 255");
    expect_error(replace_value(j, "extraData", "\"0x" + std::string(66, '0') + "\""),
                 "params[0].extraData: 33 bytes exceed the limit of 32");
    expect_error(replace_value(j, "stateRoot", "\"\\u0030x" + std::string(64, '0') + "\""),
                 "params[0].stateRoot: missing 0x prefix");
    expect_error(replace_value(j, "receiptsRoot", "\"0x" + std::string(60, '0') + "\\n00\""),
                 "params[0].receiptsRoot: invalid hex digit '\\' at index 62");
    expect_error(replace_value(j, "prevRandao", "[]"),
                 "params[0].prevRandao: expected a hex string, got an array");
    expect_error(replace_value(j, "blockHash", "{}"),
                 "params[0].blockHash: expected a hex string, got an object");
    expect_error(replace_value(j, "blockHash", "\"0x" + std::string(62, '0') + " 0\""),
                 "params[0].blockHash: invalid hex digit ' ' at index 64");
}

TEST_F(DecodeErrors, Transactions) {
    const std::string& j = base_[3];
    auto [b, e] = value_extent(j, "transactions");
    std::string txs = j.substr(b, e - b);
    // Make transactions[3] odd: drop its last digit.
    size_t pos = 0;
    for (int i = 0; i < 4; i++) pos = txs.find('"', txs.find('"', pos) + 1) + 1;
    std::string odd = txs;
    odd.erase(pos - 2, 1);
    expect_error(replace_value(j, "transactions", odd),
                 "params[0].transactions[3]: odd number of hex digits");
    expect_error(replace_value(j, "transactions", "[\"0x00\",null]"),
                 "params[0].transactions[1]: expected a hex string, got null");
    expect_error(replace_value(j, "transactions", "[\"0x00\",\"0xZZ\"]"),
                 "params[0].transactions[1]: invalid hex digit 'Z' at index 2");
    expect_error(replace_value(j, "transactions", "[\"0x00\",\"0x0AB\"]"),
                 "params[0].transactions[1]: odd number of hex digits");
    expect_error(replace_value(j, "transactions", "\"0x00\""),
                 "params[0].transactions: expected an array, got a string");
    expect_error(replace_value(j, "transactions", "null"),
                 "params[0].transactions: expected an array, got null");
}

TEST_F(DecodeErrors, Withdrawals) {
    const std::string& j = base_[3];
    std::string w = "[{\"index\":\"0x1\",\"validatorIndex\":\"0x2\",\"address\":\"0x" +
                    std::string(40, 'a') + "\",\"amount\":\"0x3\"}";
    expect_error(
        replace_value(j, "withdrawals",
                      w + ",{\"index\":\"0x1\",\"validatorIndex\":\"0x2\",\"address\":\"0x" +
                          std::string(40, 'a') + "\"}]"),
        "params[0].withdrawals[1].amount: missing");
    expect_error(replace_value(j, "withdrawals", "[{\"index\":\"0x1\",\"index\":\"0x1\"}]"),
                 "params[0].withdrawals[0].index: duplicate field");
    expect_error(replace_value(j, "withdrawals", "[{\"index\":\"0x01\"}]"),
                 "params[0].withdrawals[0].index: leading zero digit in quantity");
    expect_error(replace_value(j, "withdrawals", "[{\"address\":\"0x00\"}]"),
                 "params[0].withdrawals[0].address: expected 20 bytes, got 1");
    expect_error(replace_value(j, "withdrawals", "[7]"),
                 "params[0].withdrawals[0]: expected an object, got a number");
    auto ok = run(replace_value(j, "withdrawals", w + "]"));
    ASSERT_TRUE(ok) << ok.error().message();
    EXPECT_FALSE(ok->match);  // different withdrawals than the hash was made with
}

// Issue 13: ELs accept upper-case digits in every DATA and QUANTITY and EIP-55 checksummed
// addresses; so must we, with the same bytes and so the same block hash.
TEST_F(DecodeErrors, UpperCaseAndChecksummedHexDecodeLikeLowerCase) {
    std::mt19937_64 rng(1313);
    for (int v = 1; v <= 5; v++) {
        SCOPED_TRACE("version " + std::to_string(v));
        ref::Payload p = ref::random_payload(rng, v, true, false, 6);
        if (v >= 2) p.withdrawals.push_back({7, 8, ref::random_bytes(rng, 20), 9});
        p.block_hash = ref::block_hash(p);
        std::string plain = ref::to_request_json(p, "1");
        auto lower = run(plain);
        ASSERT_TRUE(lower) << lower.error().message();
        ASSERT_TRUE(lower->match);
        const Address fee_recipient = verifier_->last_payload().payload.fee_recipient;
        size_t addresses = 0;
        std::string checksummed = em::test::checksum_addresses(plain, ref_keccak, &addresses);
        EXPECT_EQ(addresses, 1 + p.withdrawals.size());
        const std::string variants[] = {checksummed, em::test::upper_hex(plain),
                                        em::test::checksummed_and_upper(plain, ref_keccak)};
        for (const std::string& text : variants) {
            ASSERT_NE(text, plain);
            auto r = run(text);
            ASSERT_TRUE(r) << r.error().message();
            EXPECT_TRUE(r->match);
            EXPECT_EQ(r->computed, lower->computed);
            EXPECT_EQ(r->claimed, lower->claimed);
            const ExecutionPayload& e = verifier_->last_payload().payload;
            EXPECT_EQ(e.fee_recipient, fee_recipient);
            ASSERT_EQ(e.withdrawals.size(), p.withdrawals.size());
            for (size_t i = 0; i < p.withdrawals.size(); i++)
                EXPECT_TRUE(std::equal(p.withdrawals[i].address.begin(),
                                       p.withdrawals[i].address.end(),
                                       e.withdrawals[i].address.begin()));
        }
    }
}

// The EIP-55 helper the tests above rely on, against the EIP's own examples.
TEST(HexCase, Eip55Examples) {
    for (const char* a :
         {"5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "fB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
          "dbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB", "D1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb"}) {
        std::string lower = a;
        for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        EXPECT_EQ(em::test::eip55(lower, ref_keccak), a);
    }
}

TEST_F(DecodeErrors, FieldsPerVersion) {
    expect_error(remove_field(base_[4], "stateRoot"), "params[0].stateRoot: missing");
    expect_error(add_payload_field(base_[4], "\"stateRoot\":\"0x" + std::string(64, '0') + "\""),
                 "params[0].stateRoot: duplicate field");
    expect_error(remove_field(base_[3], "withdrawals"), "params[0].withdrawals: missing");
    expect_error(remove_field(base_[3], "excessBlobGas"), "params[0].excessBlobGas: missing");
    expect_error(remove_field(base_[5], "blockAccessList"), "params[0].blockAccessList: missing");
    expect_error(remove_field(base_[5], "slotNumber"), "params[0].slotNumber: missing");
    expect_error(add_payload_field(base_[1], "\"withdrawals\":[]"),
                 "params[0].withdrawals: not part of engine_newPayloadV1");
    expect_error(add_payload_field(base_[2], "\"blobGasUsed\":\"0x0\""),
                 "params[0].blobGasUsed: not part of engine_newPayloadV2");
    expect_error(add_payload_field(base_[4], "\"slotNumber\":\"0x0\""),
                 "params[0].slotNumber: not part of engine_newPayloadV4");
    expect_error(
        add_payload_field(base_[3], "\"withdrawalsRoot\":\"0x" + std::string(64, '0') + "\""),
        "params[0].withdrawalsRoot: not part of engine_newPayloadV3");
    expect_error(
        add_payload_field(base_[4], "\"withdrawalsRoot\":\"0x" + std::string(64, '0') + "\""),
        "params[0].withdrawals: must be empty when withdrawalsRoot is given (OP Stack Isthmus)");
}

TEST_F(DecodeErrors, NullStandsForAbsentLaterFields) {
    // geth writes blobGasUsed/excessBlobGas: null in V2 payloads; V2 withdrawals: null = V1.
    auto r = run(add_payload_field(base_[2], "\"blobGasUsed\":null,\"excessBlobGas\":null"));
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_TRUE(r->match);
    auto paris = run(replace_value(base_[2], "withdrawals", "null"));
    ASSERT_TRUE(paris) << paris.error().message();
    EXPECT_EQ(paris->fork, Fork::paris);
    EXPECT_FALSE(paris->match);  // the hash was made with withdrawals
    expect_error(replace_value(base_[3], "withdrawals", "null"),
                 "params[0].withdrawals: expected an array, got null");
}

TEST_F(DecodeErrors, UnknownFields) {
    std::string extra =
        add_payload_field(base_[4], "\"requestsHash\":\"0x" + std::string(64, '1') + "\"");
    auto lenient = run(extra);
    ASSERT_TRUE(lenient) << lenient.error().message();
    EXPECT_TRUE(lenient->match);
    EXPECT_EQ(verifier_->counters().unknown_fields_ignored, 1u);
    expect_error(extra, "params[0].requestsHash: unknown field", Errc::invalid_input,
                 UnknownFields::reject);
    std::string w = "[{\"index\":\"0x1\",\"validatorIndex\":\"0x2\",\"address\":\"0x" +
                    std::string(40, 'a') + "\",\"amount\":\"0x3\",\"extra\":1}]";
    expect_error(replace_value(base_[3], "withdrawals", w),
                 "params[0].withdrawals[0].extra: unknown field", Errc::invalid_input,
                 UnknownFields::reject);
}

TEST_F(DecodeErrors, EscapedKeysAreUnescaped) {
    std::string j = base_[3];
    j.replace(j.find("\"gasUsed\":"), 10, "\"\\u0067asUsed\":");
    auto r = run(j);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_TRUE(r->match);
    std::string dup = add_payload_field(base_[3], "\"\\u0067asUsed\":\"0x1\"");
    expect_error(dup, "params[0].gasUsed: duplicate field");
}

TEST_F(DecodeErrors, Params) {
    expect_error(replace_value(base_[1], "params", "{}"),
                 "params: expected an array, got an object");
    expect_error(replace_value(base_[1], "params", "[]"),
                 "params: engine_newPayloadV1 takes 1, got 0");
    std::string v3 = base_[3];
    auto [b, e] = value_extent(v3, "params");
    std::string params = v3.substr(b, e - b);
    std::string four = params.substr(0, params.size() - 1) + ",[]]";
    expect_error(replace_value(v3, "params", four),
                 "params: engine_newPayloadV3 takes 3, got at least 4");
    std::string v4 = base_[4];
    auto [b4, e4] = value_extent(v4, "params");
    std::string p4 = v4.substr(b4, e4 - b4);
    std::string three = p4.substr(0, p4.rfind(",["));
    expect_error(replace_value(v4, "params", three + "]"),
                 "params: engine_newPayloadV4 takes 4, got 3");
    expect_error(replace_value(v4, "params", three + ",null]"),
                 "params[3]: expected an array, got null");
    expect_error(replace_value(v4, "params", three + ",[\"AXQ17TCo\"]]"),
                 "params[3][0]: missing 0x prefix");
    expect_error(replace_value(v4, "params", three + ",[\"0x01aa\",\"0x00bb\"]]"),
                 "params[3][1]: request type 0x00 not above 0x01");
    expect_error(replace_value(v4, "params", three + ",[\"0x01aa\",\"0x01bb\"]]"),
                 "params[3][1]: request type 0x01 not above 0x01");
    expect_error(replace_value(v4, "params", three + ",[\"0x01\"]]"),
                 "params[3][0]: request without data");
    expect_error(replace_value(v4, "params", three + ",[\"0x\"]]"),
                 "params[3][0]: request without data");
    std::string bad_hashes = p4;
    size_t vh = bad_hashes.find("},[") + 2;
    bad_hashes.insert(vh + 1, "\"0x00\"" + std::string(bad_hashes[vh + 1] == ']' ? "" : ","));
    expect_error(replace_value(v4, "params", bad_hashes), "params[1][0]: expected 32 bytes, got 1");
    std::string bad_root = p4;
    size_t root_at = bad_root.find("],\"0x", bad_root.find("},[")) + 2;
    bad_root.replace(root_at, 68, "\"0x12\"");
    expect_error(replace_value(v4, "params", bad_root), "params[2]: expected 32 bytes, got 1");
}

TEST_F(DecodeErrors, Requests) {
    expect_error("{\"id\":1,\"method\":\"engine_forkchoiceUpdatedV3\",\"params\":[]}",
                 "method: \"engine_forkchoiceUpdatedV3\" is not engine_newPayloadV1..V5",
                 Errc::unsupported);
    expect_error("{\"id\":1,\"method\":\"engine_newPayloadV6\",\"params\":[]}",
                 "method: \"engine_newPayloadV6\" is not engine_newPayloadV1..V5",
                 Errc::unsupported);
    expect_error("{\"id\":1,\"params\":[]}", "method: missing");
    expect_error("{\"id\":1,\"method\":\"engine_newPayloadV1\"}", "params: missing");
    expect_error("[1]", "request: expected an object");
    EXPECT_EQ(new_payload_version("engine_newPayloadV1"), 1);
    EXPECT_EQ(new_payload_version("engine_newPayloadV5"), 5);
    EXPECT_EQ(new_payload_version("engine_newPayloadV0"), 0);
    EXPECT_EQ(new_payload_version("engine_newPayloadV10"), 0);
    EXPECT_EQ(new_payload_version("engine_newpayloadV1"), 0);
}

TEST_F(DecodeErrors, Limits) {
    VerifierConfig config;
    config.decode.limits.transactions_max = 3;
    BlockHashVerifier verifier(config);
    simdjson::padded_string text(base_[3]);
    auto r = verifier.verify_request(text);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), Errc::too_large);
    EXPECT_EQ(r.error().message().substr(0, 24), "params[0].transactions: ");
    VerifierConfig tiny;
    tiny.arena_bytes = 1024;
    BlockHashVerifier small(tiny);
    auto s = small.verify_request(text);
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code(), Errc::too_large);
}

}  // namespace
}  // namespace em::eth
