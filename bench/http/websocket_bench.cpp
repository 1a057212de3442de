// Benchmarks of the WebSocket codec's data path: unmasking, UTF-8 validation of text, parsing a
// masked frame (both together), and writing a small answer frame. Registered into bench_http
// (its main is in http_bench.cpp); allocations per iteration must read 0.
#include <benchmark/benchmark.h>

#include <cstring>
#include <string>
#include <vector>

#include "alloc_counter.h"
#include "base/buffer.h"
#include "http/utf8.h"
#include "http/websocket.h"

namespace {

using namespace em::http;

void set_allocs(benchmark::State& state, const em::bench::AllocScope& scope) {
    state.counters["allocs_per_iter"] =
        em::bench::per_iteration(scope.allocations(), state.iterations());
}

/// JSON-like text with some multi-byte characters (1 in 64 bytes is a 2-byte "é").
std::vector<uint8_t> sample_text(size_t n, bool ascii_only) {
    std::vector<uint8_t> t(n);
    const char json[] = R"({"jsonrpc":"2.0","id":1,"result":{"number":"0x12a05f200","hash":"0x)";
    for (size_t i = 0; i < n; i++) t[i] = static_cast<uint8_t>(json[i % (sizeof json - 1)]);
    for (size_t i = 63; !ascii_only && i + 1 < n; i += 64) {
        t[i - 1] = 0xC3;
        t[i] = 0xA9;
    }
    return t;
}

void BM_WsUnmask(benchmark::State& state) {
    std::vector<uint8_t> buf(static_cast<size_t>(state.range(0)), 0x5A);
    const uint8_t mask[4] = {0x37, 0xfa, 0x21, 0x3d};
    for (auto _ : state) {
        ws_unmask(buf.data(), buf.size(), mask, 1);
        benchmark::DoNotOptimize(buf.data());
        benchmark::ClobberMemory();
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * buf.size()));
}
BENCHMARK(BM_WsUnmask)->Arg(128)->Arg(4096)->Arg(1 << 20);

void BM_Utf8Validate(benchmark::State& state) {
    std::vector<uint8_t> t = sample_text(1 << 20, state.range(0) == 0);
    for (auto _ : state) {
        Utf8Validator v;
        bool ok = v.feed(t.data(), t.size()) && v.complete();
        if (!ok) state.SkipWithError("not valid");
        benchmark::DoNotOptimize(ok);
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * t.size()));
    state.SetLabel(state.range(0) == 0 ? "ascii" : "1/64 two-byte");
}
BENCHMARK(BM_Utf8Validate)->Arg(0)->Arg(1);

/// A masked 64 KiB text frame from a client: parse = unmask + validate. The frame is restored
/// from a copy each iteration (the parser unmasks in place), so the time includes a 64 KiB memcpy
/// (BM_Copy1MB in http_bench.cpp measures memcpy's rate).
void BM_WsParseMaskedText64K(benchmark::State& state) {
    std::vector<uint8_t> text = sample_text(64 << 10, false);
    em::ByteBuffer wire(1 << 20);
    WsMask mask{{0x37, 0xfa, 0x21, 0x3d}};
    if (!ws_write_frame(wire, WsOpcode::text, text, true, &mask)) state.SkipWithError("write");
    std::vector<uint8_t> pristine(wire.bytes().begin(), wire.bytes().end());
    std::vector<uint8_t> buf = pristine;
    WsParser parser(WsLimits{}, WsRole::server);
    em::bench::AllocScope allocs;
    for (auto _ : state) {
        std::memcpy(buf.data(), pristine.data(), buf.size());
        parser.reset();
        WsEvent ev = parser.parse(buf);
        if (ev.kind != WsEventKind::data || !ev.fin) state.SkipWithError("parse failed");
        benchmark::DoNotOptimize(ev.payload.data());
    }
    set_allocs(state, allocs);
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * buf.size()));
}
BENCHMARK(BM_WsParseMaskedText64K);

void BM_WsWriteAnswer(benchmark::State& state) {
    std::string answer = R"({"jsonrpc":"2.0","id":7,"result":"0x12a05f200"})";
    em::ByteBuffer out;
    em::bench::AllocScope allocs;
    for (auto _ : state) {
        out.clear();
        if (!ws_write_text(out, answer)) state.SkipWithError("write failed");
        benchmark::DoNotOptimize(out.data());
    }
    set_allocs(state, allocs);
}
BENCHMARK(BM_WsWriteAnswer);

}  // namespace
