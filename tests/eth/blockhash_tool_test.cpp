// `enginemux blockhash` logic: output lines, bare ids, exit codes 0/1/2 and error messages;
// requests with EIP-55 checksummed addresses and upper-case hex match like lower-case ones.
#include "eth/blockhash_tool.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>

#include "common/hex_case.h"
#include "reference.h"

namespace em::eth {
namespace {

struct ToolRun {
    int code;
    std::string out;
    std::string err;
};

void ref_keccak(const uint8_t* data, size_t size, uint8_t* out) {
    ref::B h = ref::keccak(ref::B(data, data + size));
    std::copy(h.begin(), h.end(), out);
}

ToolRun run_tool(const std::string& input) {
    simdjson::padded_string text(input);
    ByteBuffer out, err;
    VerifierConfig config;
    config.arena_bytes = 8 << 20;
    int code = blockhash_tool(text, out, err, config);
    return {code, std::string(out.view()), std::string(err.view())};
}

class BlockhashTool : public testing::Test {
  protected:
    std::string request(int version, const std::string& id, bool honest,
                        std::string* hash = nullptr) {
        ref::Payload p = ref::random_payload(rng_, version, true, false, 6);
        ref::B h = ref::block_hash(p);
        if (honest) p.block_hash = h;
        if (hash) *hash = ref::hex(h);
        return ref::to_request_json(p, id);
    }
    std::mt19937_64 rng_{61};
};

TEST_F(BlockhashTool, SingleRequest) {
    std::string hash;
    ToolRun r = run_tool(request(3, "7", true, &hash));
    EXPECT_EQ(r.code, blockhash_exit_all_match);
    EXPECT_EQ(r.out, "7 " + hash + " match\n");
    EXPECT_EQ(r.err, "");
}

TEST_F(BlockhashTool, StringIdIsPrintedBare) {
    std::string hash;
    ToolRun r = run_tool(request(2, "\"np12\"", true, &hash));
    EXPECT_EQ(r.code, 0);
    EXPECT_EQ(r.out, "np12 " + hash + " match\n");
}

TEST_F(BlockhashTool, ArrayWithMismatch) {
    std::string h1, h2, h3;
    std::string input = "[" + request(1, "1", true, &h1) + ",\n" +
                        request(4, "\"two\"", false, &h2) + ", " + request(5, "null", true, &h3) +
                        "]";
    ToolRun r = run_tool(input);
    EXPECT_EQ(r.code, blockhash_exit_mismatch);
    EXPECT_EQ(r.out, "1 " + h1 + " match\ntwo " + h2 + " mismatch\nnull " + h3 + " match\n");
}

TEST_F(BlockhashTool, BadRequestIsReportedAndOthersStillChecked) {
    std::string h1, h3;
    std::string bad = request(3, "2", true);
    size_t at = bad.find("\"gasLimit\":\"0x") + 14;
    bad.insert(at, "0");  // leading zero digit
    std::string input =
        "[" + request(3, "1", true, &h1) + "," + bad + "," + request(3, "3", true, &h3) + "]";
    ToolRun r = run_tool(input);
    EXPECT_EQ(r.code, blockhash_exit_bad_input);
    EXPECT_EQ(r.out, "1 " + h1 + " match\n3 " + h3 + " match\n");
    EXPECT_EQ(r.err, "request 1 (id 2): params[0].gasLimit: leading zero digit in quantity\n");
}

TEST_F(BlockhashTool, MissingIdPrintsNull) {
    std::string hash;
    std::string req = request(2, "5", true, &hash);
    req.replace(req.find("\"id\":5,"), 7, "");
    ToolRun r = run_tool(req);
    EXPECT_EQ(r.code, 0);
    EXPECT_EQ(r.out, "null " + hash + " match\n");
}

// Issue 13: the hash is computed over bytes, so the case of the hex digits changes nothing; the
// tool still prints the hash in lower case.
TEST_F(BlockhashTool, ChecksummedAndUpperCaseRequestsMatch) {
    for (int v : {2, 3, 4, 5}) {
        std::string hash;
        std::string plain = request(v, std::to_string(v), true, &hash);
        for (const std::string& text :
             {em::test::checksum_addresses(plain, ref_keccak), em::test::upper_hex(plain),
              em::test::checksummed_and_upper(plain, ref_keccak)}) {
            ASSERT_NE(text, plain);
            ToolRun r = run_tool(text);
            EXPECT_EQ(r.code, blockhash_exit_all_match) << r.err;
            EXPECT_EQ(r.out, std::to_string(v) + " " + hash + " match\n");
            EXPECT_EQ(r.err, "");
        }
    }
    // Shapes ELs reject stay rejected, naming the field, in either case.
    std::string bad = em::test::upper_hex(request(3, "8", true));
    size_t at = bad.find("\"baseFeePerGas\":\"0x") + 19;
    bad.insert(at, "0");
    ToolRun r = run_tool(bad);
    EXPECT_EQ(r.code, blockhash_exit_bad_input);
    EXPECT_EQ(r.err, "request 0 (id 8): params[0].baseFeePerGas: leading zero digit in quantity\n");
}

TEST_F(BlockhashTool, BadInput) {
    ToolRun broken = run_tool("{\"id\":1,");
    EXPECT_EQ(broken.code, blockhash_exit_bad_input);
    EXPECT_EQ(broken.out, "");
    EXPECT_NE(broken.err.find("invalid JSON"), std::string::npos) << broken.err;
    ToolRun empty = run_tool("[]");
    EXPECT_EQ(empty.code, 2);
    EXPECT_EQ(empty.err, "input: empty array, no requests to check\n");
    ToolRun number = run_tool("42");
    EXPECT_EQ(number.code, 2);
    EXPECT_EQ(number.err, "input: expected a JSON-RPC request object or an array of them\n");
    ToolRun not_object = run_tool("[1]");
    EXPECT_EQ(not_object.code, 2);
    EXPECT_EQ(not_object.err, "request 0: expected a JSON-RPC request object\n");
    ToolRun other_method =
        run_tool("{\"id\":9,\"method\":\"engine_getPayloadV4\",\"params\":[\"0x01\"]}");
    EXPECT_EQ(other_method.code, 2);
    EXPECT_EQ(other_method.err,
              "request 0 (id 9): method: \"engine_getPayloadV4\" is not engine_newPayloadV1..V5\n");
}

}  // namespace
}  // namespace em::eth
