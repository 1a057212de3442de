// JSON-RPC envelope benchmarks: request parsing (eth_blockNumber, a 10-element batch, a ~100 KB
// engine_newPayloadV4, geth's 601-request newPayload batch from ../shared/testdata), rewinding to
// params, response parsing and the writers. Each reports allocations per iteration (must be 0).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "alloc_counter.h"
#include "jsonrpc/jsonrpc.h"

namespace {

using namespace em::jsonrpc;

// A body in a buffer with simdjson's padding, as the shard receives it.
struct Body {
    explicit Body(std::string text) : bytes(text.size() + 64, '\0'), size(text.size()) {
        std::copy(text.begin(), text.end(), bytes.begin());
    }
    const char* data() const { return bytes.data(); }
    size_t capacity() const { return bytes.size(); }
    std::vector<char> bytes;
    size_t size;
};

std::string hex_bytes(size_t n, uint64_t seed) {
    static const char digits[] = "0123456789abcdef";
    std::string s = "0x";
    for (size_t i = 0; i < n * 2; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        s.push_back(digits[(seed >> 60) & 15]);
    }
    return s;
}

// An engine_newPayloadV4 request of about 100 KB: 48 transactions of ~1 KB, 16 withdrawals,
// 6 blob hashes, execution requests.
std::string new_payload_v4() {
    std::string txs;
    for (int i = 0; i < 48; i++) txs += (i ? ",\"" : "\"") + hex_bytes(1000, i) + "\"";
    std::string withdrawals;
    for (int i = 0; i < 16; i++) {
        withdrawals += std::string(i ? "," : "") + R"({"index":"0x)" + std::to_string(1000 + i) +
                       R"(","validatorIndex":"0x)" + std::to_string(i) + R"(","address":")" +
                       hex_bytes(20, 100 + i) + R"(","amount":"0x1bc16d674ec80000"})";
    }
    std::string hashes;
    for (int i = 0; i < 6; i++) hashes += (i ? ",\"" : "\"") + hex_bytes(32, 200 + i) + "\"";
    return R"({"jsonrpc":"2.0","id":4242,"method":"engine_newPayloadV4","params":[{"parentHash":")" +
           hex_bytes(32, 1) + R"(","feeRecipient":")" + hex_bytes(20, 2) + R"(","stateRoot":")" +
           hex_bytes(32, 3) + R"(","receiptsRoot":")" + hex_bytes(32, 4) + R"(","logsBloom":")" +
           hex_bytes(256, 5) + R"(","prevRandao":")" + hex_bytes(32, 6) +
           R"(","blockNumber":"0x1234567","gasLimit":"0x1c9c380","gasUsed":"0x1a2b3c","timestamp":"0x6650f0a0","extraData":"0x6265617665726275696c642e6f7267","baseFeePerGas":"0x3b9aca00","blockHash":")" +
           hex_bytes(32, 7) + R"(","transactions":[)" + txs + R"(],"withdrawals":[)" + withdrawals +
           R"(],"blobGasUsed":"0xc0000","excessBlobGas":"0x0"},[)" + hashes + R"(],")" +
           hex_bytes(32, 8) + R"(",[")" + hex_bytes(76, 9) + R"("]]})";
}

const char* block_number = R"({"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]})";

std::string batch10() {
    const char* calls[] = {
        R"({"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]})",
        R"({"jsonrpc":"2.0","id":2,"method":"eth_chainId","params":[]})",
        R"({"jsonrpc":"2.0","id":3,"method":"eth_getBalance","params":["0x407d73d8a49eeb85d32cf465507dd71d507100c1","latest"]})",
        R"({"jsonrpc":"2.0","id":4,"method":"eth_getBlockByNumber","params":["0x1b4",false]})",
        R"({"jsonrpc":"2.0","id":5,"method":"eth_gasPrice","params":[]})",
        R"({"jsonrpc":"2.0","id":6,"method":"eth_getTransactionCount","params":["0x407d73d8a49eeb85d32cf465507dd71d507100c1","pending"]})",
        R"({"jsonrpc":"2.0","id":7,"method":"eth_call","params":[{"to":"0x6b175474e89094c44da98b954eedeac495271d0f","data":"0x70a08231000000000000000000000000407d73d8a49eeb85d32cf465507dd71d507100c1"},"latest"]})",
        R"({"jsonrpc":"2.0","id":8,"method":"eth_syncing","params":[]})",
        R"({"jsonrpc":"2.0","id":9,"method":"net_version","params":[]})",
        R"({"jsonrpc":"2.0","id":10,"method":"eth_getCode","params":["0x6b175474e89094c44da98b954eedeac495271d0f","latest"]})",
    };
    std::string s = "[";
    for (int i = 0; i < 10; i++) s += std::string(i ? "," : "") + calls[i];
    return s + "]";
}

void report(benchmark::State& state, const em::bench::AllocScope& allocs, size_t bytes) {
    state.counters["allocs_per_iter"] =
        em::bench::per_iteration(allocs.allocations(), state.iterations());
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(bytes));
}

void parse_loop(benchmark::State& state, const Body& body, size_t expect_entries) {
    RequestParser parser(1024, 32 << 20);
    if (!parser.parse(body.data(), body.size, body.capacity())) state.SkipWithError("parse failed");
    em::bench::AllocScope allocs;
    for (auto _ : state) {
        auto envelope = parser.parse(body.data(), body.size, body.capacity());
        if (!envelope || envelope->entries.size() != expect_entries) {
            state.SkipWithError("parse failed");
            break;
        }
        benchmark::DoNotOptimize(envelope->entries.data());
    }
    report(state, allocs, body.size);
}

void BM_ParseBlockNumber(benchmark::State& state) {
    parse_loop(state, Body(block_number), 1);
}
BENCHMARK(BM_ParseBlockNumber);

void BM_ParseBatch10(benchmark::State& state) {
    parse_loop(state, Body(batch10()), 10);
}
BENCHMARK(BM_ParseBatch10);

void BM_ParseNewPayloadV4_100KB(benchmark::State& state) {
    Body body(new_payload_v4());
    state.SetLabel(std::to_string(body.size) + " bytes");
    parse_loop(state, body, 1);
}
BENCHMARK(BM_ParseNewPayloadV4_100KB);

// Parse, then rewind to params and walk to the block hash, as the proxy does for newPayload.
void BM_ParseNewPayloadV4AndRewind(benchmark::State& state) {
    Body body(new_payload_v4());
    RequestParser parser(1024, 32 << 20);
    if (!parser.parse(body.data(), body.size, body.capacity())) state.SkipWithError("parse failed");
    em::bench::AllocScope allocs;
    for (auto _ : state) {
        auto envelope = parser.parse(body.data(), body.size, body.capacity());
        std::string_view hash;
        simdjson::ondemand::array params;
        if (!envelope || parser.rewind_to_params().get_array().get(params) != simdjson::SUCCESS) {
            state.SkipWithError("parse failed");
            break;
        }
        for (auto payload : params) {
            if (payload["blockHash"].get_string().get(hash) != simdjson::SUCCESS)
                state.SkipWithError("no hash");
            break;
        }
        benchmark::DoNotOptimize(hash.data());
    }
    report(state, allocs, body.size);
}
BENCHMARK(BM_ParseNewPayloadV4AndRewind);

// geth's 601 newPayload requests (1.1 MB) from ../shared/testdata as one batch.
void BM_ParseGethNewPayloadBatch(benchmark::State& state) {
    const char* dir = std::getenv("EM_TESTDATA");
    std::string path =
        std::string(dir ? dir : "../shared/testdata") + "/engine/geth-ethtest/newpayload.json";
    FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) {
        state.SkipWithError(("no test data at " + path).c_str());
        return;
    }
    std::string text;
    char chunk[65536];
    size_t n;
    while ((n = std::fread(chunk, 1, sizeof chunk, f)) > 0) text.append(chunk, n);
    std::fclose(f);
    parse_loop(state, Body(text), 601);
}
BENCHMARK(BM_ParseGethNewPayloadBatch);

void response_loop(benchmark::State& state, const char* text) {
    Body body(text);
    ResponseParser parser(1024, 32 << 20);
    em::bench::AllocScope allocs;
    for (auto _ : state) {
        auto r = parser.parse(body.data(), body.size, body.capacity());
        if (!r) {
            state.SkipWithError("parse failed");
            break;
        }
        benchmark::DoNotOptimize(r->result.data());
    }
    report(state, allocs, body.size);
}

void BM_ParseResponseBlockNumber(benchmark::State& state) {
    response_loop(state, R"({"jsonrpc":"2.0","id":1,"result":"0x1234abc"})");
}
BENCHMARK(BM_ParseResponseBlockNumber);

void BM_ParseResponsePayloadStatus(benchmark::State& state) {
    response_loop(
        state,
        R"({"jsonrpc":"2.0","id":4242,"result":{"status":"VALID","latestValidHash":"0x6622cd016504e1a3e29d69e76cf627536d8254629e6e5b33b6bab6a65efd9a04","validationError":null}})");
}
BENCHMARK(BM_ParseResponsePayloadStatus);

void BM_ParseResponseError(benchmark::State& state) {
    response_loop(
        state,
        R"({"jsonrpc":"2.0","id":"a","error":{"code":-38002,"message":"Invalid forkchoice state"}})");
}
BENCHMARK(BM_ParseResponseError);

void BM_WriteError(benchmark::State& state) {
    em::ByteBuffer out(1 << 16);
    em::bench::AllocScope allocs;
    for (auto _ : state) {
        out.clear();
        bool ok = write_error(out, "42", code::invalid_request, "method: must be a string");
        benchmark::DoNotOptimize(ok);
        benchmark::DoNotOptimize(out.data());
    }
    report(state, allocs, out.size());
}
BENCHMARK(BM_WriteError);

void BM_WriteResult(benchmark::State& state) {
    em::ByteBuffer out(1 << 16);
    em::bench::AllocScope allocs;
    for (auto _ : state) {
        out.clear();
        bool ok = write_result(
            out, "42", R"({"status":"VALID","latestValidHash":null,"validationError":null})");
        benchmark::DoNotOptimize(ok);
        benchmark::DoNotOptimize(out.data());
    }
    report(state, allocs, out.size());
}
BENCHMARK(BM_WriteResult);

}  // namespace

BENCHMARK_MAIN();
