// Benchmarks of the mock EL's Responder: ns per answer and allocations per answer (must be 0 in
// steady state) for the default eth_* and engine_* answers, without sockets.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>

#include "alloc_counter.h"
#include "base/clock.h"
#include "mockel/payloads.h"
#include "mockel/responder.h"

namespace em::mockel {
namespace {

std::string hash_of(char c) {
    return "0x" + std::string(64, c);
}

struct Fixture {
    explicit Fixture(bool verify) {
        MockConfig config;
        config.verify_block_hash = verify;
        config.log_entries_max = 1000;
        (void)load_payloads("", config.head, config.payloads);
        payload_v1 = config.payloads[1];
        shared = std::make_unique<Shared>(std::move(config), RuleSet(), 1);
        responder = std::make_unique<Responder>(*shared, 0);
    }
    void run(const std::string& json) {
        in.clear();
        in.append(json);
        http::Request req;
        req.method = http::Method::post;
        req.target = "/";
        req.body = in.view();
        responder->handle(req, in.capacity() + ByteBuffer::padding_bytes, mono_ns(), out);
    }
    std::string payload_v1;
    std::unique_ptr<Shared> shared;
    std::unique_ptr<Responder> responder;
    ByteBuffer in{1 << 20, 1 << 16};
    ByteBuffer out{1 << 22, 1 << 16};
};

void run_bench(benchmark::State& state, bool verify, const std::string& json) {
    Fixture f(verify);
    for (int i = 0; i < 10; i++) f.run(json);
    bench::AllocScope scope;
    for (auto _ : state) {
        f.run(json);
        benchmark::DoNotOptimize(f.out.data());
    }
    state.counters["allocs_per_iter"] =
        bench::per_iteration(scope.allocations(), state.iterations());
}

void BM_EthBlockNumber(benchmark::State& state) {
    run_bench(state, false,
              "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_blockNumber\",\"params\":[]}");
}
void BM_ForkchoiceUpdated(benchmark::State& state) {
    std::string h = hash_of('c');
    run_bench(state, false,
              "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"engine_forkchoiceUpdatedV3\",\"params\":"
              "[{\"headBlockHash\":\"" +
                  h + "\",\"safeBlockHash\":\"" + h + "\",\"finalizedBlockHash\":\"" + h +
                  "\"},null]}");
}
void BM_NewPayloadV1(benchmark::State& state) {
    Fixture f(false);
    run_bench(state, state.range(0) != 0,
              "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"engine_newPayloadV1\",\"params\":[" +
                  f.payload_v1 + "]}");
}

BENCHMARK(BM_EthBlockNumber);
BENCHMARK(BM_ForkchoiceUpdated);
BENCHMARK(BM_NewPayloadV1)->Arg(0)->Arg(1)->ArgName("verify");

}  // namespace
}  // namespace em::mockel

BENCHMARK_MAIN();
