// Benchmarks of the HTTP layer's data path: parsing a typical Engine API request, de-chunking a
// 1 MB body, writing responses and requests, and JWT verify/sign. Each reports allocations per
// iteration (must be 0 in steady state on the parse/write/verify paths).
#include <benchmark/benchmark.h>

#include <cstring>
#include <string>
#include <vector>

#include "alloc_counter.h"
#include "base/buffer.h"
#include "http/jwt.h"
#include "http/parser.h"
#include "http/writer.h"

namespace {

using namespace em::http;

constexpr int64_t now_s = 1'700'000'000;

JwtSecret bench_secret() {
    JwtSecret s;
    for (size_t i = 0; i < s.key.size(); i++) s.key[i] = static_cast<uint8_t>(i * 13 + 1);
    return s;
}

std::string engine_request() {
    JwtSigner signer(bench_secret());
    std::string body = R"({"jsonrpc":"2.0","method":"eth_blockNumber","params":[],"id":1})";
    return "POST / HTTP/1.1\r\n"
           "Host: 127.0.0.1:8551\r\n"
           "Content-Type: application/json\r\n"
           "Content-Length: " +
           std::to_string(body.size()) +
           "\r\n"
           "Authorization: Bearer " +
           std::string(signer.bearer_token(now_s)) +
           "\r\n"
           "\r\n" +
           body;
}

void set_allocs(benchmark::State& state, const em::bench::AllocScope& scope) {
    state.counters["allocs_per_iter"] =
        em::bench::per_iteration(scope.allocations(), state.iterations());
}

void BM_ParseEngineRequest(benchmark::State& state) {
    std::string wire = engine_request();
    RequestParser parser{Limits{}};
    em::bench::AllocScope allocs;
    for (auto _ : state) {
        parser.reset();
        ParseStatus st = parser.parse(wire.data(), wire.size());
        if (st != ParseStatus::complete) state.SkipWithError("parse failed");
        benchmark::DoNotOptimize(parser.request().body.data());
    }
    set_allocs(state, allocs);
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * wire.size()));
    state.counters["request_bytes"] = static_cast<double>(wire.size());
}
BENCHMARK(BM_ParseEngineRequest);

// The same request arriving in two reads (split inside the Authorization header).
void BM_ParseEngineRequestTwoReads(benchmark::State& state) {
    std::string wire = engine_request();
    size_t split = wire.find("Authorization") + 40;
    RequestParser parser{Limits{}};
    em::bench::AllocScope allocs;
    for (auto _ : state) {
        parser.reset();
        parser.parse(wire.data(), split);
        ParseStatus st = parser.parse(wire.data(), wire.size());
        if (st != ParseStatus::complete) state.SkipWithError("parse failed");
        benchmark::DoNotOptimize(parser.request().body.data());
    }
    set_allocs(state, allocs);
}
BENCHMARK(BM_ParseEngineRequestTwoReads);

void BM_ParseChunked1MB(benchmark::State& state) {
    const size_t chunk_bytes = static_cast<size_t>(state.range(0));
    const size_t body_bytes = 1 << 20;
    std::string wire = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
    char size_line[32];
    for (size_t done = 0; done < body_bytes; done += chunk_bytes) {
        std::snprintf(size_line, sizeof size_line, "%zx\r\n", chunk_bytes);
        wire += size_line;
        wire += std::string(chunk_bytes, static_cast<char>('a' + done / chunk_bytes % 26));
        wire += "\r\n";
    }
    wire += "0\r\n\r\n";
    std::vector<char> buf(wire.size());
    RequestParser parser{Limits{}};
    em::bench::AllocScope allocs;
    for (auto _ : state) {
        // De-chunking rewrites the buffer, so each round starts from a fresh copy; the copy's
        // cost is BM_Copy1MB below (subtract it).
        std::memcpy(buf.data(), wire.data(), wire.size());
        parser.reset();
        ParseStatus st = parser.parse(buf.data(), buf.size());
        if (st != ParseStatus::complete || parser.request().body.size() != body_bytes) {
            state.SkipWithError("parse failed");
        }
        benchmark::DoNotOptimize(parser.request().body.data());
    }
    set_allocs(state, allocs);
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * wire.size()));
}
BENCHMARK(BM_ParseChunked1MB)->Arg(4096)->Arg(65536);

void BM_Copy1MB(benchmark::State& state) {
    std::vector<char> from((1 << 20) + 4096, 'x'), to(from.size());
    for (auto _ : state) {
        std::memcpy(to.data(), from.data(), from.size());
        benchmark::DoNotOptimize(to.data());
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * from.size()));
}
BENCHMARK(BM_Copy1MB);

void BM_WriteResponse(benchmark::State& state) {
    em::ByteBuffer out;
    std::string body = R"({"jsonrpc":"2.0","id":1,"result":"0x1234567"})";
    write_response(out, 200, "application/json", body, true);  // grow once
    em::bench::AllocScope allocs;
    for (auto _ : state) {
        out.clear();
        write_response(out, 200, "application/json", body, true);
        benchmark::DoNotOptimize(out.data());
    }
    set_allocs(state, allocs);
}
BENCHMARK(BM_WriteResponse);

void BM_WriteUpstreamRequest(benchmark::State& state) {
    em::ByteBuffer out;
    JwtSigner signer(bench_secret());
    std::string body = R"({"jsonrpc":"2.0","method":"eth_blockNumber","params":[],"id":1})";
    em::bench::AllocScope allocs;
    for (auto _ : state) {
        out.clear();
        size_t mark = begin_request(out, "POST", "127.0.0.1:8551", "/", signer.bearer_token(now_s),
                                    "application/json");
        out.append(body);
        end_request(out, mark);
        benchmark::DoNotOptimize(out.data());
    }
    set_allocs(state, allocs);
}
BENCHMARK(BM_WriteUpstreamRequest);

void BM_JwtVerify(benchmark::State& state, bool cache) {
    JwtSigner signer(bench_secret());
    std::string auth = "Bearer " + std::string(signer.bearer_token(now_s));
    JwtVerifier verifier(bench_secret(), cache);
    if (!verifier.verify_authorization(auth, now_s)) state.SkipWithError("verify failed");
    em::bench::AllocScope allocs;
    for (auto _ : state) {
        auto r = verifier.verify_authorization(auth, now_s);
        if (!r) state.SkipWithError("verify failed");
        benchmark::DoNotOptimize(r);
    }
    set_allocs(state, allocs);
}
BENCHMARK_CAPTURE(BM_JwtVerify, fresh, false);
BENCHMARK_CAPTURE(BM_JwtVerify, cached, true);

void BM_JwtSign(benchmark::State& state, int64_t cache_s) {
    JwtSigner signer(bench_secret(), cache_s);
    em::bench::AllocScope allocs;
    for (auto _ : state) benchmark::DoNotOptimize(signer.bearer_token(now_s).data());
    set_allocs(state, allocs);
}
BENCHMARK_CAPTURE(BM_JwtSign, cached, 5);
BENCHMARK_CAPTURE(BM_JwtSign, minting, 0);

}  // namespace

BENCHMARK_MAIN();
