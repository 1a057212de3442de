// The JSON kernels (engine/json_kernel.h) side by side on the newPayload request the proxy sees
// most: engine_newPayloadV4 with 200 transactions of 200 bytes (payload-example, 82 KiB).
//  - BM_JsonKernelWalkDecode/<kernel>: the envelope parsed and fully validated (walk), then the
//    params decoded into a NewPayload: the JSON work before the fan-out;
//  - BM_JsonKernelWalk/<kernel>: the walk alone.
// Only the kernels this CPU runs are registered. simdjson's stage 1 (libsimdjson's own run-time
// choice, the same for every kernel) is inside both. Run with --benchmark_repetitions and
// --benchmark_enable_random_interleaving to read ratios from one run on a shared machine.
// Allocations per iteration must read 0.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>

#include "alloc_counter.h"
#include "base/buffer.h"
#include "commands/payload_example.h"
#include "engine/json_kernel.h"

namespace {

using em::engine::JsonKernel;

struct Body {
    em::ByteBuffer text{4u << 20};
    bool ok = false;
    Body() {
        em::commands::ExampleOptions options;
        options.version = 4;
        options.txs = 200;
        options.tx_bytes = 200;
        ok = em::commands::write_payload_examples(options, text).has_value();
    }
};

const Body& body() {
    static const Body b;
    return b;
}

void run(benchmark::State& state, JsonKernel kernel, bool decode) {
    const Body& b = body();
    if (!b.ok) return state.SkipWithError("payload-example");
    // The example ends with a newline; the buffer's capacity gives simdjson its padding.
    size_t len = b.text.size() - 1;
    std::string padded(b.text.view().substr(0, len));
    padded.resize(len + 64);
    auto requests = em::engine::make_request_kernel(kernel, em::jsonrpc::Limits{});
    em::Arena arena(8u << 20);
    em::eth::NewPayload payload;
    em::eth::DecodeCounters counters;
    em::bench::AllocScope allocs;
    for (auto _ : state) {
        auto envelope = requests->parse(padded.data(), len, padded.size());
        if (!envelope) return state.SkipWithError("parse");
        if (!decode) continue;
        arena.reset();
        if (!requests->decode_new_payload(0, 4, arena, payload, {}, &counters))
            return state.SkipWithError("decode");
        benchmark::DoNotOptimize(payload.payload.block_hash);
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * len));
    state.counters["allocs_per_iter"] =
        em::bench::per_iteration(allocs.allocations(), state.iterations());
}

int register_kernels() {
    for (JsonKernel k : em::engine::json_kernels_best_first) {
        if (!em::engine::json_kernel_supported(k)) continue;
        std::string name = em::engine::json_kernel_name(k);
        benchmark::RegisterBenchmark(("BM_JsonKernelWalkDecode/" + name).c_str(), run, k, true)
            ->Unit(benchmark::kMicrosecond);
        benchmark::RegisterBenchmark(("BM_JsonKernelWalk/" + name).c_str(), run, k, false)
            ->Unit(benchmark::kMicrosecond);
    }
    return 0;
}
const int registered = register_kernels();

}  // namespace

BENCHMARK_MAIN();
