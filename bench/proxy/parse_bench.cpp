// The proxy's per-request CPU work without the network, on the shapes it really gets:
//  - BM_ParseEthBlockNumber: an eth_blockNumber HTTP request as a CL sends it (Bearer token,
//    keep-alive) → HTTP head parsed → JSON-RPC envelope parsed (issue 2 target: < 150 ns);
//  - BM_NewPayloadFrontHalf: a 200-tx × 200-byte engine_newPayloadV4 HTTP request → HTTP
//    parse → JSON-RPC parse → rewind to params → block hash rebuilt and checked (the work
//    done before the call fans out);
//  - BM_NewPayloadParseOnly / BM_NewPayloadBeforeFanOut: the same cut after the parse and after
//    the decode (what runs before the calls go out; the hash runs while the ELs work);
//  - BM_VoteBackHalf: three ELs' PayloadStatus answers parsed → vote → the CL's answer written.
// Allocations per iteration must read 0.
#include <benchmark/benchmark.h>

#include <string>

#include "alloc_counter.h"
#include "base/buffer.h"
#include "commands/payload_example.h"
#include "engine/payload_status.h"
#include "engine/vote.h"
#include "eth/verify.h"
#include "http/parser.h"
#include "jsonrpc/request.h"
#include "jsonrpc/writer.h"

namespace {

const char token[] =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpYXQiOjE3MzI1NjAwMDB9."
    "4QvQ9cWc8dF8ptJzLqUMyWmC3bmS2dyyS5rw2PeM_ZQ";

std::string http_request(const std::string& body) {
    return "POST / HTTP/1.1\r\nHost: 127.0.0.1:8551\r\nUser-Agent: Lodestar/v1.5.1\r\n"
           "Content-Type: application/json\r\nAuthorization: Bearer " +
           std::string(token) + "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
           body;
}

/// The proxy's first steps on a request's bytes: the HTTP parse, then the JSON-RPC envelope
/// parsed in place (wire's padding lets simdjson read past the body). Returns what failed, or
/// nullptr with the envelope in *out.
const char* parse_wire(em::http::RequestParser& http, em::jsonrpc::RequestParser& rpc,
                       em::ByteBuffer& wire, em::jsonrpc::Envelope* out) {
    http.reset();
    if (http.parse(wire.data(), wire.size()) != em::http::ParseStatus::complete)
        return "http parse";
    std::string_view body = http.request().body;
    size_t capacity = static_cast<size_t>(wire.data() + wire.capacity() + 64 - body.data());
    auto envelope = rpc.parse(body.data(), body.size(), capacity);
    if (!envelope) return "jsonrpc parse";
    *out = *envelope;
    return nullptr;
}

void BM_ParseEthBlockNumber(benchmark::State& state) {
    em::ByteBuffer wire;
    wire.append(
        http_request(R"({"jsonrpc":"2.0","id":42,"method":"eth_blockNumber","params":[]})"));
    em::http::RequestParser http_parser(em::http::Limits{});
    em::jsonrpc::RequestParser rpc(1000, 32u << 20);
    em::bench::AllocScope allocs;
    em::jsonrpc::Envelope envelope;
    for (auto _ : state) {
        if (const char* failed = parse_wire(http_parser, rpc, wire, &envelope)) {
            state.SkipWithError(failed);
            break;
        }
        benchmark::DoNotOptimize(envelope.entries[0].request.method.data());
    }
    state.counters["allocs_per_iter"] =
        em::bench::per_iteration(allocs.allocations(), state.iterations());
}
BENCHMARK(BM_ParseEthBlockNumber);

/// Stages of the newPayload front half, for attributing its cost.
enum class Stage { parse, decode, hash };

void new_payload_front(benchmark::State& state, Stage stage) {
    em::commands::ExampleOptions options;
    options.version = 4;
    options.txs = static_cast<uint32_t>(state.range(0));
    options.tx_bytes = 200;
    em::ByteBuffer body(64u << 20);
    if (!em::commands::write_payload_examples(options, body)) {
        state.SkipWithError("payload-example");
        return;
    }
    em::ByteBuffer wire(64u << 20);
    wire.append(http_request(std::string(body.view().substr(0, body.size() - 1))));
    em::http::RequestParser http_parser(em::http::Limits{});
    em::jsonrpc::RequestParser rpc(1000, 32u << 20);
    em::eth::BlockHashVerifier verifier;
    em::bench::AllocScope allocs;
    em::jsonrpc::Envelope envelope;
    for (auto _ : state) {
        if (const char* failed = parse_wire(http_parser, rpc, wire, &envelope)) {
            state.SkipWithError(failed);
            break;
        }
        auto params = rpc.rewind_to_params(0);
        if (params.error()) {
            state.SkipWithError("jsonrpc params");
            break;
        }
        if (stage == Stage::parse) {
            benchmark::DoNotOptimize(params);
            continue;
        }
        if (!verifier.decode_params(params.value_unsafe(), 4)) {
            state.SkipWithError("decode");
            break;
        }
        if (stage == Stage::decode) continue;
        auto verdict = verifier.hash_decoded();
        if (!verdict || !verdict->match) {
            state.SkipWithError("verify");
            break;
        }
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * wire.size()));
    state.counters["allocs_per_iter"] =
        em::bench::per_iteration(allocs.allocations(), state.iterations());
}
void BM_NewPayloadFrontHalf(benchmark::State& state) {
    new_payload_front(state, Stage::hash);
}
/// What runs before the calls fan out: HTTP + JSON-RPC parse and the strict payload decode.
void BM_NewPayloadBeforeFanOut(benchmark::State& state) {
    new_payload_front(state, Stage::decode);
}
/// HTTP + JSON-RPC parse (the whole body validated) only.
void BM_NewPayloadParseOnly(benchmark::State& state) {
    new_payload_front(state, Stage::parse);
}
BENCHMARK(BM_NewPayloadParseOnly)->Arg(200)->Arg(500)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_NewPayloadBeforeFanOut)->Arg(200)->Arg(500)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_NewPayloadFrontHalf)->Arg(200)->Arg(500)->Unit(benchmark::kMicrosecond);

void BM_VoteBackHalf(benchmark::State& state) {
    em::ByteBuffer answers[3];
    for (auto& a : answers)
        a.append(
            R"({"status":"VALID","latestValidHash":"0x1d5e5b6d1fc2a5d1c2d65a31a0c6f8b8a4e16b0e7b45a5f6d2d0a1b2c3d4e5f6","validationError":null})");
    simdjson::ondemand::parser parser;
    em::ByteBuffer out;
    em::bench::AllocScope allocs;
    for (auto _ : state) {
        em::engine::VoteSlot slots[3];
        for (int i = 0; i < 3; i++) {
            auto status = em::engine::parse_payload_status(
                parser, answers[i].data(), answers[i].size(), answers[i].capacity() + 64,
                em::engine::StatusSchema::v1);
            slots[i].state = em::engine::SlotState::answered;
            slots[i].answer = *status;
        }
        auto result =
            em::engine::vote(slots, em::engine::Quorum{}, em::engine::VoteMethod::new_payload);
        out.clear();
        (void)em::engine::write_payload_status(out, result.answer, em::engine::StatusSchema::v1);
        benchmark::DoNotOptimize(out.data());
    }
    state.counters["allocs_per_iter"] =
        em::bench::per_iteration(allocs.allocations(), state.iterations());
}
BENCHMARK(BM_VoteBackHalf);

}  // namespace

BENCHMARK_MAIN();
