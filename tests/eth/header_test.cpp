// Headers and block hashes for every fork: field counts, constants, requestsHash, and random
// payloads of every method version whose expected hash comes from the independent reference
// (recursive RLP + trie + Crypto++), decoded from JSON text and verified end to end; then
// tampering with every field of some of them must change the hash.
#include "eth/header.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <random>
#include <string>

#include "eth/verify.h"
#include "reference.h"
#include "tamper.h"

namespace em::eth {
namespace {

using ref::B;

B to_b(const Hash32& h) {
    return B(h.begin(), h.end());
}

TEST(Header, Constants) {
    EXPECT_EQ(to_b(empty_list_hash), ref::keccak(B{0xc0}));
    EXPECT_EQ(to_b(empty_requests_hash), ref::sha256({}));
    EXPECT_EQ(to_b(requests_hash({})), ref::sha256({}));
}

TEST(Header, FieldCountPerFork) {
    for (Fork f : {Fork::paris, Fork::shanghai, Fork::cancun, Fork::prague, Fork::amsterdam}) {
        Header h;
        h.fork = f;
        uint8_t extra[32] = {1, 2, 3};
        h.extra_data = Bytes(extra, 32);
        h.base_fee_per_gas.be.fill(0xff);
        h.number = h.gas_limit = h.gas_used = h.timestamp = UINT64_MAX;
        h.blob_gas_used = h.excess_blob_gas = h.slot_number = UINT64_MAX;
        uint8_t buffer[header_rlp_bytes_max];
        size_t n = encode_header(h, buffer);
        ASSERT_EQ(n, header_rlp_bytes(h));
        Bytes enc(buffer, n);
        ASSERT_TRUE(rlp_validate(enc));
        auto root = rlp_decode_one(enc);
        RlpListReader reader(enc, *root);
        size_t fields = 0;
        while (!reader.done()) {
            ASSERT_TRUE(reader.next());
            fields++;
        }
        EXPECT_EQ(fields, fork_header_fields(f)) << fork_name(f);
        EXPECT_EQ(header_hash(h), keccak256(enc));
    }
}

TEST(Header, RequestsHashSkipsEmptyRequests) {
    std::mt19937_64 rng(31);
    for (int round = 0; round < 50; round++) {
        std::vector<B> rs;
        for (size_t i = 0; i < rng() % 5; i++)
            rs.push_back(ref::random_bytes(rng, rng() % 3 == 0 ? 1 : 2 + rng() % 400));
        std::vector<Bytes> views;
        for (auto& r : rs) views.emplace_back(r.data(), r.size());
        B cat;
        for (auto& r : rs)
            if (r.size() > 1) {
                B h = ref::sha256(r);
                cat.insert(cat.end(), h.begin(), h.end());
            }
        EXPECT_EQ(to_b(requests_hash(views)), ref::sha256(cat));
    }
}

struct Variant {
    int version;
    bool withdrawals;
    bool isthmus;
    Fork fork;
    const char* name;
};

constexpr Variant variants[] = {
    {1, false, false, Fork::paris, "V1"},    {2, false, false, Fork::paris, "V2_paris"},
    {2, true, false, Fork::shanghai, "V2"},  {3, true, false, Fork::cancun, "V3"},
    {4, true, false, Fork::prague, "V4"},    {4, true, true, Fork::prague, "V4_isthmus"},
    {5, true, false, Fork::amsterdam, "V5"},
};

class RandomPayloadTest : public testing::TestWithParam<Variant> {};

simdjson::padded_string padded(const std::string& s) {
    return simdjson::padded_string(s);
}

TEST_P(RandomPayloadTest, MatchesReferenceAndDetectsTampering) {
    const Variant& v = GetParam();
    std::mt19937_64 rng(100 + v.version * 2 + v.isthmus + v.withdrawals);
    BlockHashVerifier verifier;
    for (int round = 0; round < 25; round++) {
        ref::Payload p =
            ref::random_payload(rng, v.version, v.withdrawals, v.isthmus, round < 5 ? 300 : 40);
        B expected = ref::block_hash(p);
        bool honest = round % 3 != 2;
        if (honest) p.block_hash = expected;
        auto text = padded(ref::to_request_json(p, std::to_string(round)));
        auto verdict = verifier.verify_request(text);
        ASSERT_TRUE(verdict) << verdict.error().message();
        EXPECT_EQ(to_b(verdict->computed), expected);
        EXPECT_EQ(to_b(verdict->claimed), p.block_hash);
        EXPECT_EQ(verdict->match, honest);
        EXPECT_EQ(verdict->fork, v.fork);
        EXPECT_EQ(verdict->version, v.version);
        EXPECT_EQ(verifier.last_payload().op_isthmus, v.isthmus);
        if (round < 3) {
            Hash32 h;
            std::copy(expected.begin(), expected.end(), h.begin());
            size_t tried = test::check_tampering(verifier.last_payload(), h, 24, rng);
            EXPECT_GT(tried, 100u);
        }
    }
}

INSTANTIATE_TEST_SUITE_P(AllForks, RandomPayloadTest, testing::ValuesIn(variants),
                         [](const auto& info) { return std::string(info.param.name); });

// The proxy's path: a document positioned at "params" and handed over as a value.
TEST(Verifier, ParamsValueFromADocument) {
    std::mt19937_64 rng(41);
    ref::Payload p = ref::random_payload(rng, 4, true, false);
    p.block_hash = ref::block_hash(p);
    auto text = padded(ref::to_request_json(p, "\"x\""));
    simdjson::ondemand::parser parser;
    simdjson::ondemand::document doc;
    ASSERT_EQ(parser.iterate(text).get(doc), simdjson::SUCCESS);
    simdjson::ondemand::value params;
    ASSERT_EQ(doc.find_field_unordered("params").get(params), simdjson::SUCCESS);
    BlockHashVerifier verifier;
    auto verdict = verifier.verify_params(params, 4);
    ASSERT_TRUE(verdict) << verdict.error().message();
    EXPECT_TRUE(verdict->match);
    EXPECT_EQ(to_b(verdict->computed), p.block_hash);
}

TEST(Verifier, FormatsHashes) {
    Hash32 h{};
    h[0] = 0xab;
    h[31] = 0x01;
    char out[66];
    format_hash(h, out);
    EXPECT_EQ(std::string(out, 66), "0xab" + std::string(60, '0') + "01");
}

}  // namespace
}  // namespace em::eth
