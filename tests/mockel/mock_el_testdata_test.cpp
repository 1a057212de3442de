// enginemux-mock-el against ../shared/testdata (skips with 77 without it): real payloads with
// known-good block hashes through --verify-block-hash, and --payload-file with a test-case file.
#include <gtest/gtest.h>

#include "common/testdata.h"
#include "mock_el_common.h"

namespace em::test {
namespace {

TEST_F(MockElTest, VerifiesKnownGoodPayloadsFromEthereumTests) {
    start({"--verify-block-hash"});
    std::string text = read_file(testdata_path("engine/ethereum-tests-newPayloads.json"));
    auto doc = parse_json(text);
    ASSERT_TRUE(doc->ok);
    size_t checked = 0;
    Client c(port());
    for (simdjson::dom::element p : doc->root["payloads"].get_array()) {
        if (checked == 40) break;  // a sample keeps the test fast; the eth tests cover them all
        std::string method = str(p["method"]);
        std::string params = simdjson::minify(p["params"]);
        Reply r = c.call(rpc(method, params, std::to_string(checked)));
        ASSERT_EQ(r.status, 200);
        auto j = parse_json(r.body);
        ASSERT_TRUE(j->ok) << r.body;
        EXPECT_EQ(str(j->root["result"]["status"]), "VALID") << str(p["label"]) << ": " << r.body;
        EXPECT_EQ(str(j->root["result"]["latestValidHash"]), str(p["expectedBlockHash"]));
        // The same payload with another timestamp no longer matches its block hash.
        std::string tampered = params;
        size_t at = tampered.find("\"timestamp\":\"0x");
        ASSERT_NE(at, std::string::npos);
        tampered.insert(at + 15, "1");
        auto bad = parse_json(c.call(rpc(method, tampered)).body);
        std::string expected = method == "engine_newPayloadV1" ? "INVALID_BLOCK_HASH" : "INVALID";
        EXPECT_EQ(str(bad->root["result"]["status"]), expected);
        checked++;
    }
    EXPECT_EQ(checked, 40u);
}

TEST_F(MockElTest, ServesThePayloadOfATestCaseFile) {
    std::string path = testdata_path("engine/besu-engine/paris/test-cases/03_execute_payload.json");
    start({"--payload-file", path});
    auto expected = parse_json(read_file(path));
    ASSERT_TRUE(expected->ok);
    std::string head = "0x" + std::string(64, '1');
    std::string fcu = "[{\"headBlockHash\":\"" + head + "\",\"safeBlockHash\":\"" + head +
                      "\",\"finalizedBlockHash\":\"" + head + "\"},{\"timestamp\":\"0x10\"}]";
    auto f = call_json(rpc("engine_forkchoiceUpdatedV1", fcu));
    std::string id = str(f->root["result"]["payloadId"]);
    auto got = call_json(rpc("engine_getPayloadV1", "[\"" + id + "\"]"));
    EXPECT_EQ(simdjson::minify(got->root["result"]),
              simdjson::minify(expected->root["request"]["params"].at(0)));
}

}  // namespace
}  // namespace em::test
