// eth benchmarks: ordered trie roots and full newPayload verification (JSON text -> verdict).
// Every benchmark reports Keccak-f[1600] permutations and heap allocations per iteration (the
// data path must read 0 allocations in steady state). Synthetic payloads are built here with a
// fixed seed; testdata cases (the largest requests) are registered only when $EM_TESTDATA is
// there. Each case runs once per Keccak variant this CPU supports.
#include <benchmark/benchmark.h>
#include <simdjson.h>

#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "alloc_counter.h"
#include "eth/trie.h"
#include "eth/verify.h"

namespace {

using namespace em::eth;

std::vector<KeccakImpl> supported_impls() {
    std::vector<KeccakImpl> out;
    for (KeccakImpl i : {KeccakImpl::portable, KeccakImpl::avx2x4, KeccakImpl::avx512x8})
        if (keccak_supported(i)) out.push_back(i);
    return out;
}

std::string hex(const std::vector<uint8_t>& b) {
    static const char* d = "0123456789abcdef";
    std::string s = "0x";
    for (uint8_t x : b) {
        s += d[x >> 4];
        s += d[x & 15];
    }
    return s;
}

std::vector<uint8_t> random_bytes(std::mt19937_64& rng, size_t n) {
    std::vector<uint8_t> b(n);
    for (auto& x : b) x = static_cast<uint8_t>(rng());
    return b;
}

// An engine_newPayloadV4 request with tx_count transactions of about tx_bytes each, 16
// withdrawals and two requests; blockHash is filled in with the computed one so it matches.
std::string synthetic_request(size_t tx_count, size_t tx_bytes) {
    std::mt19937_64 rng(tx_count * 1000 + tx_bytes);
    auto h32 = [&] { return "\"" + hex(random_bytes(rng, 32)) + "\""; };
    std::string p =
        "{\"parentHash\":" + h32() + ",\"feeRecipient\":\"" + hex(random_bytes(rng, 20)) +
        "\",\"stateRoot\":" + h32() + ",\"receiptsRoot\":" + h32() + ",\"logsBloom\":\"" +
        hex(random_bytes(rng, 256)) + "\",\"prevRandao\":" + h32() +
        ",\"blockNumber\":\"0x1500000\",\"gasLimit\":\"0x2255100\",\"gasUsed\":\"0x1c9c380\","
        "\"timestamp\":\"0x68000000\",\"extraData\":\"0x6265617665726275696c642e6f7267\","
        "\"baseFeePerGas\":\"0x3b9aca07\",\"blockHash\":\"0x" +
        std::string(64, '0') + "\",\"transactions\":[";
    for (size_t i = 0; i < tx_count; i++) {
        size_t len = tx_bytes - tx_bytes / 8 + rng() % (tx_bytes / 4 + 1);
        auto tx = random_bytes(rng, len);
        tx[0] = 0x02;
        p += (i ? ",\"" : "\"") + hex(tx) + "\"";
    }
    p += "],\"withdrawals\":[";
    for (int i = 0; i < 16; i++) {
        char w[160];
        std::snprintf(w, sizeof w,
                      "%s{\"index\":\"0x%x\",\"validatorIndex\":\"0x%x\",\"address\":\"%s\","
                      "\"amount\":\"0x%x\"}",
                      i ? "," : "", 4000000 + i, 900000 + i * 7, hex(random_bytes(rng, 20)).c_str(),
                      18000 + i);
        p += w;
    }
    p += "],\"blobGasUsed\":\"0x60000\",\"excessBlobGas\":\"0x0\"}";
    std::string req =
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"engine_newPayloadV4\",\"params\":[" + p + ",[" +
        h32() + "," + h32() + "]," + h32() + ",[\"0x00" + hex(random_bytes(rng, 192)).substr(2) +
        "\",\"0x01" + hex(random_bytes(rng, 76)).substr(2) + "\"]]}";
    // Fill in the real hash.
    BlockHashVerifier v;
    simdjson::padded_string text(req);
    auto verdict = v.verify_request(text);
    if (!verdict) {
        std::fprintf(stderr, "synthetic request does not decode: %s\n", verdict.error().c_str());
        std::abort();
    }
    char hash[66];
    format_hash(verdict->computed, hash);
    size_t at = req.find("\"blockHash\":\"") + 13;
    req.replace(at, 66, hash, 66);
    return req;
}

void report(benchmark::State& state, uint64_t permutations, const em::bench::AllocScope& allocs) {
    state.counters["perms_per_iter"] = em::bench::per_iteration(permutations, state.iterations());
    state.counters["allocs_per_iter"] =
        em::bench::per_iteration(allocs.allocations(), state.iterations());
}

void BM_TrieRoot(benchmark::State& state, KeccakImpl impl) {
    keccak_force(impl);
    size_t n = static_cast<size_t>(state.range(0));
    std::mt19937_64 rng(n);
    std::vector<std::vector<uint8_t>> values;
    std::vector<Bytes> views;
    for (size_t i = 0; i < n; i++) values.push_back(random_bytes(rng, 180 + rng() % 41));
    for (auto& v : values) views.emplace_back(v.data(), v.size());
    em::Arena arena(16 << 20);
    uint64_t perms0 = keccak_permutations_thread();
    em::bench::AllocScope allocs;
    for (auto _ : state) {
        arena.reset();
        auto root = ordered_trie_root(views.data(), views.size(), arena);
        benchmark::DoNotOptimize(root);
    }
    report(state, keccak_permutations_thread() - perms0, allocs);
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
}

// Whole request text -> verdict (stage 1 included), as `verify_request` does it.
void BM_BlockHashVerify(benchmark::State& state, KeccakImpl impl, const std::string* request) {
    keccak_force(impl);
    BlockHashVerifier verifier;
    simdjson::padded_string text(*request);
    auto first = verifier.verify_request(text);  // warm up: parser and arena pages
    if (!first || !first->match) {
        state.SkipWithError(first ? "block hash does not match" : first.error().c_str());
        return;
    }
    uint64_t perms0 = keccak_permutations_thread();
    em::bench::AllocScope allocs;
    for (auto _ : state) {
        auto verdict = verifier.verify_request(text);
        benchmark::DoNotOptimize(verdict);
    }
    report(state, keccak_permutations_thread() - perms0, allocs);
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * request->size()));
    state.counters["txs"] =
        static_cast<double>(verifier.last_payload().payload.transactions.size());
}

// The proxy's path: the document is already stage-1-indexed; rewind, find params, verify.
void BM_BlockHashVerifyParams(benchmark::State& state, KeccakImpl impl,
                              const std::string* request) {
    keccak_force(impl);
    BlockHashVerifier verifier;
    simdjson::padded_string text(*request);
    simdjson::ondemand::parser parser;
    simdjson::ondemand::document doc;
    if (parser.iterate(text).get(doc)) {
        state.SkipWithError("iterate failed");
        return;
    }
    uint8_t version = static_cast<uint8_t>(request->at(request->find("newPayloadV") + 11) - '0');
    uint64_t perms0 = keccak_permutations_thread();
    em::bench::AllocScope allocs;
    for (auto _ : state) {
        doc.rewind();
        simdjson::ondemand::value params;
        if (doc.find_field_unordered("params").get(params)) std::abort();
        auto verdict = verifier.verify_params(params, version);
        if (!verdict || !verdict->match) std::abort();
        benchmark::DoNotOptimize(verdict);
    }
    report(state, keccak_permutations_thread() - perms0, allocs);
}

// The largest request of each testdata source, as a request text the product accepts.
std::vector<std::pair<std::string, std::string>> testdata_requests() {
    std::vector<std::pair<std::string, std::string>> out;
    const char* dir = std::getenv("EM_TESTDATA");
    if (!dir) return out;
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    std::string base = dir;
    if (!parser.load(base + "/engine/ethereum-tests-newPayloads.json").get(doc)) {
        std::string best;
        for (auto p : doc["payloads"].get_array()) {
            std::string r = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"" +
                            std::string(p["method"].get_string().value()) +
                            "\",\"params\":" + simdjson::minify(p["params"]) + "}";
            if (r.size() > best.size()) best = r;
        }
        out.emplace_back("ethereum_tests_largest", best);
    }
    if (!parser.load(base + "/engine/geth-ethtest/newpayload.json").get(doc)) {
        std::string best;
        size_t i = 0;
        for (auto r : doc.get_array()) {
            // Skip genesis and requests with (base64) executionRequests.
            if (i++ == 0) continue;
            simdjson::dom::array params = r["params"].get_array();
            if (params.size() == 4 && params.at(3).get_array().size() != 0) continue;
            std::string text = simdjson::minify(r);
            if (text.size() > best.size()) best = text;
        }
        out.emplace_back("geth_ethtest_largest", best);
    }
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    static std::vector<std::pair<std::string, std::string>> cases = {
        {"synthetic_200tx_200B", synthetic_request(200, 200)},
        {"synthetic_500tx_200B", synthetic_request(500, 200)},
    };
    for (auto& c : testdata_requests()) cases.push_back(c);
    for (KeccakImpl impl : supported_impls()) {
        std::string name = keccak_impl_name(impl);
        benchmark::RegisterBenchmark(("BM_TrieRoot/" + name).c_str(), BM_TrieRoot, impl)
            ->Arg(100)
            ->Arg(200)
            ->Arg(500)
            ->Arg(1000)
            ->Unit(benchmark::kMicrosecond);
        for (auto& c : cases) {
            benchmark::RegisterBenchmark(("BM_BlockHashVerify/" + c.first + "/" + name).c_str(),
                                         BM_BlockHashVerify, impl, &c.second)
                ->Unit(benchmark::kMicrosecond);
            benchmark::RegisterBenchmark(
                ("BM_BlockHashVerifyParams/" + c.first + "/" + name).c_str(),
                BM_BlockHashVerifyParams, impl, &c.second)
                ->Unit(benchmark::kMicrosecond);
        }
    }
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
