// bench_load: enginemux-load's per-request data path. Writing a request (pre-built kind bytes,
// patched ids, cached or fresh JWT), classifying an answer, and a whole closed-loop run against
// an in-process EchoHandler server (Worker + http::ClientConn + io_uring on one pinned thread,
// the server on another). Every benchmark reports allocations per iteration (per request for
// the end-to-end run): they must read 0 in steady state.
#include <benchmark/benchmark.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "alloc_counter.h"
#include "base/buffer.h"
#include "base/clock.h"
#include "echo_handler.h"
#include "exchange.h"
#include "io/socket.h"
#include "io/thread.h"
#include "mix.h"
#include "net/server.h"
#include "options.h"
#include "worker.h"

namespace {

using namespace em;
using namespace em::load;

http::JwtSecret bench_secret() {
    http::JwtSecret s;
    for (size_t i = 0; i < s.key.size(); i++) s.key[i] = static_cast<uint8_t>(i * 13 + 1);
    return s;
}

void set_allocs(benchmark::State& state, const bench::AllocScope& scope) {
    state.counters["allocs_per_iter"] =
        bench::per_iteration(scope.allocations(), state.iterations());
}

/// range(0): batch size; range(1): 0 no JWT, 1 cached JWT, 2 fresh JWT per request.
void BM_WriteRequest(benchmark::State& state) {
    auto mix = Mix::from_method("eth_blockNumber", "[]");
    http::JwtSecret secret = bench_secret();
    int jwt = static_cast<int>(state.range(1));
    RequestWriter writer(*mix, "127.0.0.1:8545", "/", jwt ? &secret : nullptr, jwt == 2 ? 0 : 5,
                         static_cast<uint32_t>(state.range(0)), 1);
    ByteBuffer out(1 << 20, 1 << 16);
    uint64_t id = 1;
    int64_t now_s = wall_s();
    bench::AllocScope allocs;
    for (auto _ : state) {
        out.clear();
        if (!writer.write(out, id, now_s, true)) state.SkipWithError("write failed");
        id += static_cast<uint64_t>(state.range(0));
        benchmark::DoNotOptimize(out.data());
    }
    set_allocs(state, allocs);
    state.counters["request_bytes"] = static_cast<double>(out.size());
}
BENCHMARK(BM_WriteRequest)->Args({1, 0})->Args({1, 1})->Args({1, 2})->Args({10, 0});

void BM_ClassifyAnswer(benchmark::State& state) {
    uint32_t batch = static_cast<uint32_t>(state.range(0));
    Classifier classifier(batch, 1 << 20);
    ByteBuffer body;
    if (batch > 1) body.push_back('[');
    for (uint32_t i = 0; i < batch; i++) {
        if (i) body.push_back(',');
        body.append("{\"jsonrpc\":\"2.0\",\"id\":");
        body.append_u64(1000 + i);
        body.append(",\"result\":\"0x1234567\"}");
    }
    if (batch > 1) body.push_back(']');
    http::Response response;
    response.status = 200;
    response.body = body.view();
    RunStats stats;
    bench::AllocScope allocs;
    for (auto _ : state) {
        Outcome o = classifier.classify(&response, nullptr, 1000, stats);
        if (o != Outcome::ok) state.SkipWithError("not ok");
        stats.count(o, batch);
        stats.record_latency_ns(123'456);
    }
    set_allocs(state, allocs);
}
BENCHMARK(BM_ClassifyAnswer)->Arg(1)->Arg(10);

/// The echo server of the end-to-end benchmark, on its own loop thread.
struct EchoShard {
    io::Address address;
    EchoHandler handler;
    std::unique_ptr<http::Server> server;
};

/// A closed-loop run of one Worker (range(0) connections) against the in-process echo server.
/// Counts allocations between 0.5 s and 1.5 s into the measured window: per request they must be 0.
void BM_ClosedLoopEcho(benchmark::State& state) {
    EchoShard shard;
    shard.address = *io::resolve("127.0.0.1:0");
    auto server = io::LoopThread::start(
        io::LoopConfig{}, io::nth_usable_cpu(1),
        [](io::Loop& loop, void* ctx) -> Result<void> {
            auto* s = static_cast<EchoShard*>(ctx);
            s->server = std::make_unique<http::Server>();
            EM_TRY_VOID(s->server->listen(loop, s->address, s->handler, http::ServerConfig{}));
            s->address = s->server->address();
            return {};
        },
        [](io::Loop&, void* ctx) { static_cast<EchoShard*>(ctx)->server.reset(); }, &shard);
    if (!server) {
        state.SkipWithError(server.error().c_str());
        return;
    }
    Options options;
    options.connections = static_cast<uint32_t>(state.range(0));
    options.warmup_ms = 300;
    options.duration_ms = 2'000;
    auto mix = Mix::from_method("eth_blockNumber", "[]");
    http::Endpoint endpoint;
    endpoint.address = shard.address;
    endpoint.host_header = "127.0.0.1";
    RunPlan plan{&options, &*mix, &endpoint, nullptr};
    double rps = 0, allocs_per_request = 0;
    for (auto _ : state) {
        Worker worker(plan, 0, options.connections, 0);
        auto thread = io::LoopThread::start(io::LoopConfig{}, io::nth_usable_cpu(0), Worker::setup,
                                            Worker::teardown, &worker);
        if (!thread) {
            state.SkipWithError(thread.error().c_str());
            break;
        }
        worker.go(mono_ns());
        std::this_thread::sleep_for(std::chrono::milliseconds(options.warmup_ms + 500));
        uint64_t done0 = worker.progress().done.load(), allocs0 = bench::allocations_total(),
                 t0 = mono_ns();
        std::this_thread::sleep_for(std::chrono::milliseconds(1000));
        uint64_t done1 = worker.progress().done.load(), allocs1 = bench::allocations_total(),
                 t1 = mono_ns();
        (*thread)->join();
        rps = static_cast<double>(done1 - done0) * 1e9 / static_cast<double>(t1 - t0);
        allocs_per_request = static_cast<double>(allocs1 - allocs0) /
                             static_cast<double>(done1 - done0 ? done1 - done0 : 1);
        if (worker.stats().errors() != 0) state.SkipWithError("requests failed");
    }
    (*server)->request_stop();
    (*server)->join();
    state.counters["requests_per_s"] = rps;
    state.counters["allocs_per_request"] = allocs_per_request;
}
BENCHMARK(BM_ClosedLoopEcho)->Arg(16)->Arg(64)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
