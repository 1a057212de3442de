// Every rebuildable newPayload request in ../shared/testdata must verify: geth's hive chain
// (element 0, genesis, skipped; its base64 executionRequests converted to 0x-hex HERE, the
// product must reject base64), besu's acceptance cases (the response says whether the hash
// should match), ethereum/tests blocks (expectedBlockHash), and the captured EthereumJS traffic.
// Then tampering with a sample of them must change the hash, and every one of them with EIP-55
// checksummed addresses and upper-case hex digits must still match (issue 13). Exits 77 (skip)
// without testdata.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "common/hex_case.h"
#include "common/testdata.h"
#include "eth/blockhash_tool.h"
#include "eth/verify.h"
#include "reference.h"
#include "tamper.h"

namespace em::eth {
namespace {

namespace dom = simdjson::dom;
using ref::B;

std::string to_hex_string(const Hash32& h) {
    char out[66];
    format_hash(h, out);
    return std::string(out, 66);
}

B base64_decode(std::string_view s) {
    auto value = [](char c) -> int {
        if (c >= 'A' && c <= 'Z') return c - 'A';
        if (c >= 'a' && c <= 'z') return c - 'a' + 26;
        if (c >= '0' && c <= '9') return c - '0' + 52;
        if (c == '+') return 62;
        if (c == '/') return 63;
        return -1;
    };
    B out;
    uint32_t acc = 0;
    int bits = 0;
    for (char c : s) {
        int v = value(c);
        if (v < 0) continue;  // '=' padding
        acc = acc << 6 | static_cast<uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<uint8_t>(acc >> bits));
        }
    }
    return out;
}

struct GethRequest {
    std::string id;
    std::string original;   // as in the file (base64 requests)
    std::string converted;  // executionRequests as 0x-hex
    bool had_requests = false;
};

std::vector<GethRequest> load_geth(dom::parser& parser) {
    std::vector<GethRequest> out;
    dom::element doc;
    std::string path = em::test::testdata_path("engine/geth-ethtest/newpayload.json");
    EXPECT_EQ(parser.load(path).get(doc), simdjson::SUCCESS) << path;
    size_t index = 0;
    for (dom::element req : doc.get_array()) {
        if (index++ == 0) continue;  // genesis: pre-merge header, not rebuildable from a payload
        GethRequest g;
        g.id = std::string(req["id"].get_string().value());
        g.original = simdjson::minify(req);
        dom::array params = req["params"].get_array();
        std::string p = "[";
        size_t i = 0;
        for (dom::element param : params) {
            if (i) p += ",";
            if (i == 3) {
                p += "[";
                size_t k = 0;
                for (dom::element r : param.get_array()) {
                    p += (k++ ? ",\"" : "\"") + ref::hex(base64_decode(r.get_string().value())) +
                         "\"";
                    g.had_requests = true;
                }
                p += "]";
            } else {
                p += simdjson::minify(param);
            }
            i++;
        }
        p += "]";
        g.converted = "{\"jsonrpc\":\"2.0\",\"id\":\"" + g.id + "\",\"method\":\"" +
                      std::string(req["method"].get_string().value()) + "\",\"params\":" + p + "}";
        out.push_back(std::move(g));
    }
    return out;
}

void ref_keccak(const uint8_t* data, size_t size, uint8_t* out) {
    B h = ref::keccak(B(data, data + size));
    std::copy(h.begin(), h.end(), out);
}

Result<Verdict> verify(BlockHashVerifier& v, const std::string& text) {
    simdjson::padded_string padded(text);
    return v.verify_request(padded);
}

TEST(Testdata, GethEthtestEveryRequestMatches) {
    dom::parser parser;
    auto reqs = load_geth(parser);
    ASSERT_EQ(reqs.size(), 600u);
    BlockHashVerifier verifier;
    size_t with_requests = 0;
    for (const auto& g : reqs) {
        auto r = verify(verifier, g.converted);
        ASSERT_TRUE(r) << g.id << ": " << r.error().message();
        EXPECT_TRUE(r->match) << g.id << " computed " << to_hex_string(r->computed);
        if (!g.had_requests) continue;
        with_requests++;
        auto raw = verify(verifier, g.original);
        ASSERT_FALSE(raw) << g.id << ": base64 executionRequests must be rejected";
        EXPECT_EQ(raw.error().message(), "params[3][0]: missing 0x prefix");
    }
    EXPECT_GE(with_requests, 1u);
}

TEST(Testdata, GethEthtestThroughTheBlockhashTool) {
    dom::parser parser;
    auto reqs = load_geth(parser);
    std::string all = "[";
    for (size_t i = 0; i < reqs.size(); i++) all += (i ? ",\n" : "") + reqs[i].converted;
    all += "]";
    simdjson::padded_string input(all);
    ByteBuffer out, err;
    EXPECT_EQ(blockhash_tool(input, out, err), blockhash_exit_all_match) << err.view();
    std::string text(out.view());
    EXPECT_EQ(static_cast<size_t>(std::count(text.begin(), text.end(), '\n')), reqs.size());
    EXPECT_EQ(text.find("mismatch"), std::string::npos);
    EXPECT_EQ(text.substr(0, 4), "np1 ");
}

// True when a "0x..." string of s has an upper-case digit (Besu's own test writes one QUANTITY in
// upper case; every EL accepts it, and so must we).
bool has_upper_hex(const std::string& s) {
    for (size_t at = s.find("\"0x"); at != std::string::npos; at = s.find("\"0x", at + 1)) {
        for (size_t i = at + 3; i < s.size() && s[i] != '"'; i++)
            if (s[i] >= 'A' && s[i] <= 'F') return true;
    }
    return false;
}

TEST(Testdata, BesuNewPayloadCases) {
    namespace fs = std::filesystem;
    dom::parser parser;
    BlockHashVerifier verifier;
    size_t valid = 0, invalid = 0, uppercase = 0;
    for (const auto& entry :
         fs::recursive_directory_iterator(em::test::testdata_path("engine/besu-engine"))) {
        if (!entry.is_regular_file() || entry.path().parent_path().filename() != "test-cases")
            continue;
        dom::element doc;
        ASSERT_EQ(parser.load(entry.path().string()).get(doc), simdjson::SUCCESS) << entry.path();
        std::string_view method;
        if (doc["request"]["method"].get(method) || method.substr(0, 17) != "engine_newPayload")
            continue;
        std::string text = simdjson::minify(doc["request"]);
        std::string_view status;
        bool expect_valid = !doc["response"]["result"]["status"].get(status) && status == "VALID";
        auto r = verify(verifier, text);
        if (has_upper_hex(text)) {
            EXPECT_TRUE(expect_valid) << entry.path();
            uppercase++;
        }
        if (expect_valid) {
            ASSERT_TRUE(r) << entry.path() << ": " << r.error().message();
            EXPECT_TRUE(r->match) << entry.path();
            valid++;
        } else {
            // Deliberately invalid (null requests, null withdrawals after Shanghai): rejected or
            // at least not matching.
            EXPECT_TRUE(!r || !r->match) << entry.path();
            invalid++;
        }
    }
    EXPECT_EQ(valid, 8u);
    EXPECT_EQ(invalid, 2u);
    EXPECT_EQ(uppercase, 1u);
}

// An ethereum/tests payload of ethereum-tests-newPayloads.json as a request text.
std::string ethereum_tests_request(dom::element p, size_t id) {
    return "{\"jsonrpc\":\"2.0\",\"id\":" + std::to_string(id) + ",\"method\":\"" +
           std::string(p["method"].get_string().value()) +
           "\",\"params\":" + simdjson::minify(p["params"]) + "}";
}

TEST(Testdata, EthereumTestsExpectedBlockHashes) {
    dom::parser parser;
    dom::element doc;
    ASSERT_EQ(
        parser.load(em::test::testdata_path("engine/ethereum-tests-newPayloads.json")).get(doc),
        simdjson::SUCCESS);
    BlockHashVerifier verifier;
    size_t n = 0;
    for (dom::element p : doc["payloads"].get_array()) {
        std::string text = ethereum_tests_request(p, n);
        std::string expected(p["expectedBlockHash"].get_string().value());
        auto r = verify(verifier, text);
        ASSERT_TRUE(r) << p["label"].get_string().value() << ": " << r.error().message();
        EXPECT_EQ(to_hex_string(r->computed), expected) << p["label"].get_string().value();
        EXPECT_TRUE(r->match);
        n++;
    }
    EXPECT_EQ(n, 233u);
}

// Issue 13: every known-good request, its addresses EIP-55 checksummed and every other hex value
// in upper case, must be accepted and hash to the same known-good hash.
TEST(Testdata, ChecksummedAndUpperCaseRequestsStillMatch) {
    dom::parser parser;
    std::vector<std::pair<std::string, std::string>> cases;  // request, expected hash
    for (const auto& g : load_geth(parser)) cases.emplace_back(g.converted, "");
    dom::element doc;
    ASSERT_EQ(
        parser.load(em::test::testdata_path("engine/ethereum-tests-newPayloads.json")).get(doc),
        simdjson::SUCCESS);
    for (dom::element p : doc["payloads"].get_array()) {
        cases.emplace_back(ethereum_tests_request(p, 1),
                           std::string(p["expectedBlockHash"].get_string().value()));
    }
    ASSERT_EQ(cases.size(), 833u);
    BlockHashVerifier verifier;
    size_t addresses_total = 0;
    for (const auto& [plain, expected] : cases) {
        auto lower = verify(verifier, plain);
        ASSERT_TRUE(lower && lower->match);
        if (!expected.empty()) {
            ASSERT_EQ(to_hex_string(lower->computed), expected);
        }
        size_t addresses = 0;
        std::string checksummed = em::test::checksum_addresses(plain, ref_keccak, &addresses);
        addresses_total += addresses;
        for (const std::string& text : {checksummed, em::test::upper_hex(plain),
                                        em::test::checksummed_and_upper(plain, ref_keccak)}) {
            auto r = verify(verifier, text);
            ASSERT_TRUE(r) << r.error().message() << "\n" << text.substr(0, 300);
            EXPECT_TRUE(r->match);
            EXPECT_EQ(r->computed, lower->computed);
        }
    }
    EXPECT_GT(addresses_total, cases.size());  // feeRecipient and withdrawal addresses
}

TEST(Testdata, CapturedTraffic) {
    namespace fs = std::filesystem;
    dom::parser parser;
    BlockHashVerifier verifier;
    size_t n = 0;
    for (const auto& entry : fs::directory_iterator(em::test::testdata_path("captures"))) {
        std::string name = entry.path().filename().string();
        if (name.find("engine_newPayload") == std::string::npos) continue;
        dom::element doc;
        ASSERT_EQ(parser.load(entry.path().string()).get(doc), simdjson::SUCCESS);
        std::string_view status;
        ASSERT_FALSE(doc["response"]["result"]["status"].get(status));
        auto r = verify(verifier, simdjson::minify(doc["request"]));
        ASSERT_TRUE(r) << name << ": " << r.error().message();
        // The mock EL (lodestar-to-mockel) makes up block hashes and answers VALID to anything,
        // so only real ELs' answers say whether the hash must match.
        if (name.find("mockel") != std::string::npos) continue;
        EXPECT_EQ(r->match, status == "VALID") << name;
        n++;
    }
    EXPECT_EQ(n, 4u);
    // EthereumJS adds a non-spec requestsHash to the V4 payload: ignored and counted.
    EXPECT_GE(verifier.counters().unknown_fields_ignored, 1u);
}

TEST(Testdata, TamperingSampleChangesTheHash) {
    dom::parser parser;
    auto reqs = load_geth(parser);
    std::vector<std::string> sample;
    for (const auto& g : reqs)
        if (g.had_requests) sample.push_back(g.converted);
    // A Shanghai (V2), a Cancun (V3), and the V4 blocks with the most transactions.
    sample.push_back(reqs[1].converted);
    for (const auto& g : reqs)
        if (g.converted.find("engine_newPayloadV3") != std::string::npos) {
            sample.push_back(g.converted);
            break;
        }
    std::vector<const GethRequest*> by_size;
    for (const auto& g : reqs) by_size.push_back(&g);
    std::sort(by_size.begin(), by_size.end(),
              [](auto* a, auto* b) { return a->converted.size() > b->converted.size(); });
    for (size_t i = 0; i < 2; i++) sample.push_back(by_size[i]->converted);
    BlockHashVerifier verifier;
    std::mt19937_64 rng(71);
    size_t tried = 0;
    for (const auto& text : sample) {
        auto r = verify(verifier, text);
        ASSERT_TRUE(r && r->match);
        tried += test::check_tampering(verifier.last_payload(), r->computed, 24, rng);
    }
    EXPECT_GT(tried, 3000u);
}

}  // namespace
}  // namespace em::eth
