// JSON kernels (engine/json_kernel.h): the choice, and no result that differs between kernels.
// Every kernel this CPU runs parses the same bodies, answers the pipeline's params questions and
// decodes every newPayload in them; the outcomes (tests/common/json_kernel_outcome.h: every
// field, every error code and message) must be identical to the fallback kernel's. Inputs:
// generated newPayload requests of every version (valid, then byte-mutated), generated JSON-RPC
// requests and batches (escapes, numbers, nesting past the limit, broken syntax), the committed
// fuzz corpora, and ../shared/testdata when present (that one test skips without it).
#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "common/json_kernel_outcome.h"
#include "engine/json_kernel.h"
#include "engine/json_kernel_internal.h"
#include "reference.h"

namespace em::engine {
namespace {

constexpr size_t padding_bytes = 64;

struct Kernels {
    std::vector<std::unique_ptr<RequestKernel>> all;  // fallback first
    Arena arena{64 << 20};
    size_t compared = 0;
    size_t failures = 0;

    explicit Kernels(const jsonrpc::Limits& limits = {}) {
        for (size_t i = json_kernel_count; i-- > 0;) {
            JsonKernel k = json_kernels_best_first[i];
            if (json_kernel_supported(k)) all.push_back(make_request_kernel(k, limits));
        }
    }

    /// Runs every kernel over text; a failure names the input, the kernel and the first
    /// difference.
    void check(std::string_view text, const std::string& what,
               const eth::DecodeOptions& options = {}) {
        std::vector<char> body(text.size() + padding_bytes, '\0');
        if (!text.empty()) std::memcpy(body.data(), text.data(), text.size());
        std::string oracle =
            test::kernel_outcome(*all[0], body.data(), text.size(), body.size(), arena, options);
        for (size_t i = 1; i < all.size(); i++) {
            std::string got = test::kernel_outcome(*all[i], body.data(), text.size(), body.size(),
                                                   arena, options);
            if (got == oracle) continue;
            if (++failures <= 10) {
                ADD_FAILURE() << json_kernel_name(all[i]->kernel()) << " differs from "
                              << json_kernel_name(all[0]->kernel()) << " on " << what << ": "
                              << test::first_difference(oracle, got);
            }
        }
        compared++;
    }
};

TEST(JsonKernel, NamesChoiceAndSupport) {
    for (JsonKernel k : json_kernels_best_first) {
        JsonKernel back;
        ASSERT_TRUE(json_kernel_from_name(json_kernel_name(k), &back));
        EXPECT_EQ(back, k);
    }
    JsonKernel unused;
    EXPECT_FALSE(json_kernel_from_name("avx2", &unused));
    EXPECT_TRUE(json_kernel_supported(JsonKernel::fallback));
    EXPECT_TRUE(json_kernel_supported(json_kernel_selected()));
    // The best supported kernel is chosen (unless ENGINEMUX_JSON_KERNEL says otherwise).
    if (std::getenv(json_kernel_env) == nullptr) {
        for (JsonKernel k : json_kernels_best_first) {
            if (!json_kernel_supported(k)) continue;
            EXPECT_EQ(json_kernel_selected(), k);
            break;
        }
    }
    std::string here;
    for (JsonKernel k : json_kernels_best_first) {
        if (!json_kernel_supported(k)) continue;
        // Each level's On-Demand code is simdjson's implementation of the same name.
        EXPECT_STREQ(json_kernel_simdjson_name(k), json_kernel_name(k));
        auto kernel = make_request_kernel(k, jsonrpc::Limits{});
        EXPECT_EQ(kernel->kernel(), k);
        here += std::string(here.empty() ? "" : ", ") + json_kernel_name(k);
    }
    std::printf("kernels this CPU runs: %s (selected: %s)\n", here.c_str(),
                json_kernel_name(json_kernel_selected()));
}

// The comparison itself sees a difference: two different bodies have different outcomes.
TEST(JsonKernel, OutcomeTellsBodiesApart) {
    Kernels k;
    std::string a = R"({"jsonrpc":"2.0","id":1,"method":"m","params":["0x01"]})";
    std::string b = R"({"jsonrpc":"2.0","id":1,"method":"m","params":["0x02"]})";
    std::vector<char> pa(a.begin(), a.end()), pb(b.begin(), b.end());
    pa.resize(a.size() + padding_bytes);
    pb.resize(b.size() + padding_bytes);
    EXPECT_NE(test::kernel_outcome(*k.all[0], pa.data(), a.size(), pa.size(), k.arena),
              test::kernel_outcome(*k.all[0], pb.data(), b.size(), pb.size(), k.arena));
}

// Byte-level damage: replace, delete or insert a character (from JSON's own alphabet mostly).
std::string mutate(std::string text, std::mt19937_64& rng) {
    static constexpr char alphabet[] = "{}[]\",:\\0x1aF -e.ntu\x7f\x01";
    size_t edits = 1 + rng() % 3;
    for (size_t i = 0; i < edits && !text.empty(); i++) {
        size_t at = rng() % text.size();
        char c = alphabet[rng() % (sizeof alphabet - 1)];
        switch (rng() % 3) {
            case 0:
                text[at] = c;
                break;
            case 1:
                text.erase(at, 1 + rng() % 4);
                break;
            default:
                text.insert(at, 1, c);
                break;
        }
    }
    return text;
}

TEST(JsonKernel, GeneratedNewPayloadsAgree) {
    Kernels k;
    std::mt19937_64 rng(2026);
    eth::DecodeOptions strict;
    strict.unknown_fields = eth::UnknownFields::reject;
    for (int version = 1; version <= 5; version++) {
        for (int round = 0; round < 12; round++) {
            bool withdrawals = round % 2 == 0;
            bool isthmus = version == 4 && round % 4 == 1;
            eth::ref::Payload p =
                eth::ref::random_payload(rng, version, withdrawals, isthmus, round < 3 ? 200 : 12);
            std::string id =
                round % 3 == 0 ? "\"id-" + std::to_string(round) + "\"" : std::to_string(round);
            std::string body = eth::ref::to_request_json(p, id);
            std::string what =
                "newPayloadV" + std::to_string(version) + " round " + std::to_string(round);
            k.check(body, what);
            k.check(body, what + " (unknown fields rejected)", strict);
            k.check("[" + body + "," + body + "]", what + " as a batch of two");
            for (int m = 0; m < 40; m++) {
                k.check(mutate(body, rng), what + " mutation " + std::to_string(m));
            }
        }
    }
    EXPECT_EQ(k.failures, 0u);
    std::printf("%zu bodies, %zu kernels\n", k.compared, k.all.size());
}

// ---- generated JSON-RPC requests -----------------------------------------------------------

class RandomJson {
  public:
    explicit RandomJson(uint64_t seed) : rng_(seed) {}

    std::string value(int depth) {
        switch (rng_() % (depth > 70 ? 5 : 8)) {
            case 0:
                return string();
            case 1:
                return number();
            case 2:
                return pick({"true", "false", "null", "nul", "tru", "-", "01", "1e", "\"\\x\""});
            case 3:
            case 4:
                return pick({"0", "-0.5e+3", "\"0x1f\"", "{}", "[]"});
            case 5:
            case 6:
                return object(depth + 1);
            default:
                return array(depth + 1);
        }
    }
    std::string request() {
        std::string members[] = {
            "\"jsonrpc\":" + pick({"\"2.0\"", "\"2\\u002e0\"", "\"1.0\"", "2.0"}),
            "\"method\":" + pick({"\"eth_blockNumber\"", "\"engine_forkchoiceUpdatedV3\"",
                                  "\"engine_getPayloadV4\"", "\"\\u0065ngine_newPayloadV3\"",
                                  "\"\"", "7", "\"engine_newPayloadV4\""}),
            "\"params\":" + params(),
            "\"id\":" + pick({"1", "\"a\"", "null", "[1]", "-3.5e2", "true"}),
            key() + ":" + value(2),
        };
        std::string out = "{";
        size_t n = rng_() % 7;
        for (size_t i = 0; i < n; i++) {
            if (i) out += ",";
            out += members[rng_() % 5];
        }
        return out + "}";
    }
    std::string body() {
        switch (rng_() % 6) {
            case 0: {
                std::string out = "[";
                size_t n = rng_() % 5;
                for (size_t i = 0; i < n; i++) out += (i ? "," : "") + request();
                return out + "]";
            }
            case 1:
                return value(0);
            default:
                return pick({"", " ", "\n"}) + request() + pick({"", " ", "x", "}", ",{}"});
        }
    }

  private:
    std::string pick(std::initializer_list<const char*> options) {
        return *(options.begin() + rng_() % options.size());
    }
    std::string params() {
        switch (rng_() % 4) {
            case 0:
                return R"([{"headBlockHash":"0x)" + std::string(64, "0a"[rng_() % 2]) +
                       R"(","x":1},{"timestamp":"0x1f"}])";
            case 1:
                return R"(["0x0000000000000001"])";
            default:
                return value(2);
        }
    }
    std::string key() {
        return pick({"\"jsonrpc\"", "\"id\"", "\"m\\u0065thod\"", "\"x\"", "\"\\ud800\"",
                     "\"params\"", "\"\""});
    }
    std::string string() {
        std::string out = "\"";
        size_t n = rng_() % 12;
        for (size_t i = 0; i < n; i++) {
            out += pick({"a", "0x", "\\n", "\\\"", "\\u00e9", "\\ud83d\\ude00", "\\ud800", "é", " ",
                         "\\/", "\\q", "\t"});
        }
        return out + "\"";
    }
    std::string number() {
        return pick({"0", "-1", "12345678901234567890123", "1.5", "-0.0e-0", "1E400", "2e", ".5",
                     "+1", "0x10"});
    }
    std::string object(int depth) {
        std::string out = "{";
        size_t n = rng_() % 4;
        for (size_t i = 0; i < n; i++) out += (i ? "," : "") + key() + ":" + value(depth);
        return out + (rng_() % 40 == 0 ? "" : "}");
    }
    std::string array(int depth) {
        if (rng_() % 30 == 0) return std::string(60 + rng_() % 20, '[') + std::string(80, ']');
        std::string out = "[";
        size_t n = rng_() % 4;
        for (size_t i = 0; i < n; i++) out += (i ? "," : "") + value(depth);
        return out + "]";
    }

    std::mt19937_64 rng_;
};

TEST(JsonKernel, GeneratedRequestsAgree) {
    Kernels k;
    RandomJson gen(77);
    std::mt19937_64 rng(78);
    for (int i = 0; i < 4000; i++) {
        std::string body = gen.body();
        k.check(body, "generated body " + std::to_string(i) + ": " + body.substr(0, 120));
        if (i % 4 == 0) k.check(mutate(body, rng), "mutated body " + std::to_string(i));
    }
    EXPECT_EQ(k.failures, 0u);
}

// Limits are applied alike: a small depth and body limit.
TEST(JsonKernel, LimitsAgree) {
    Kernels k(jsonrpc::Limits{.batch_entries_max = 3, .body_bytes_max = 4096, .depth_max = 4});
    RandomJson gen(91);
    for (int i = 0; i < 1500; i++) k.check(gen.body(), "limited body " + std::to_string(i));
    EXPECT_EQ(k.failures, 0u);
}

// ---- files ------------------------------------------------------------------------------------

void list_files(const std::string& dir, std::vector<std::string>& out) {
    DIR* d = opendir(dir.c_str());
    if (!d) return;
    while (dirent* e = readdir(d)) {
        std::string name = e->d_name;
        if (name == "." || name == "..") continue;
        std::string path = dir + "/" + name;
        struct stat st;
        if (stat(path.c_str(), &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) {
            list_files(path, out);
        } else if (S_ISREG(st.st_mode) && st.st_size < (64 << 20)) {
            out.push_back(path);
        }
    }
    closedir(d);
}

std::string slurp(const std::string& path) {
    std::string out;
    if (FILE* f = std::fopen(path.c_str(), "rb")) {
        char buf[65536];
        size_t n;
        while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
        std::fclose(f);
    }
    return out;
}

// Each file whole, and each of its lines (the .io files hold one ">> request" per line).
size_t check_files(Kernels& k, const std::vector<std::string>& files) {
    for (const std::string& path : files) {
        std::string text = slurp(path);
        k.check(text, path);
        size_t start = 0;
        while (start < text.size()) {
            size_t end = text.find('\n', start);
            if (end == std::string::npos) end = text.size();
            std::string_view line(text.data() + start, end - start);
            if (line.starts_with(">> ") || line.starts_with("<< ")) line.remove_prefix(3);
            if (!line.empty() && end - start != text.size()) k.check(line, path + " (line)");
            start = end + 1;
        }
    }
    return files.size();
}

TEST(JsonKernel, FuzzCorporaAgree) {
    const char* root = std::getenv("EM_SOURCE_ROOT");
    ASSERT_NE(root, nullptr) << "EM_SOURCE_ROOT is set by meson";
    std::vector<std::string> files;
    for (const char* dir : {"/fuzz/jsonrpc/corpus/jsonrpc_request",
                            "/fuzz/eth/corpus/payload_decode", "/fuzz/engine/corpus/json_kernel"}) {
        list_files(std::string(root) + dir, files);
    }
    ASSERT_GT(files.size(), 20u);
    Kernels k;
    check_files(k, files);
    EXPECT_EQ(k.failures, 0u);
}

TEST(JsonKernel, SharedTestdataAgrees) {
    const char* dir = std::getenv("EM_TESTDATA");
    struct stat st;
    if (!dir || stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        GTEST_SKIP() << "../shared/testdata not present";
    }
    std::vector<std::string> files;
    list_files(dir, files);
    ASSERT_FALSE(files.empty());
    Kernels k;
    check_files(k, files);
    EXPECT_EQ(k.failures, 0u);
    std::printf("%zu files, %zu bodies\n", files.size(), k.compared);
}

}  // namespace
}  // namespace em::engine
