// Benchmarks of the engine layer's per-request pieces: method lookup, PayloadStatus parse and
// write, the vote (3 and 8 voters) with is_final, PayloadIdMap mint+lookup. Each reports
// allocations per iteration (must be 0 in steady state).
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include <simdjson.h>

#include "alloc_counter.h"
#include "engine/methods.h"
#include "engine/payload_id_map.h"
#include "engine/payload_status.h"
#include "engine/vote.h"

using namespace em::engine;

namespace {

const std::string valid_answer =
    R"({"status":"VALID","latestValidHash":"0x3559e851470f6e7bbed1db474980683e8c315bfce99b2a6ef47c057c04de7858","validationError":null})";

void report_allocs(benchmark::State& state, const em::bench::AllocScope& scope) {
    state.counters["allocs_per_iter"] =
        em::bench::per_iteration(scope.allocations(), state.iterations());
}

void BM_FindMethod(benchmark::State& state) {
    std::vector<std::string_view> names;
    for (const MethodInfo& m : methods()) names.push_back(m.name);
    names.push_back("eth_blockNumber");
    names.push_back("engine_newPayloadV9");
    size_t i = 0;
    em::bench::AllocScope allocs;
    for (auto _ : state) {
        benchmark::DoNotOptimize(find_method(names[i]));
        i = i + 1 == names.size() ? 0 : i + 1;
    }
    report_allocs(state, allocs);
}
BENCHMARK(BM_FindMethod);

void BM_ParsePayloadStatus(benchmark::State& state) {
    simdjson::padded_string json(valid_answer);
    simdjson::ondemand::parser parser;
    (void)parse_payload_status(parser, json, StatusSchema::v1);  // grow the parser once
    em::bench::AllocScope allocs;
    for (auto _ : state) {
        auto r = parse_payload_status(parser, json, StatusSchema::v1);
        benchmark::DoNotOptimize(r);
    }
    report_allocs(state, allocs);
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * valid_answer.size()));
}
BENCHMARK(BM_ParsePayloadStatus);

void BM_WriteForkchoiceUpdated(benchmark::State& state) {
    PayloadStatus s;
    s.status = Status::valid;
    s.has_latest_valid_hash = true;
    s.latest_valid_hash.fill(0x5a);
    PayloadId id{{1, 2, 3, 4, 5, 6, 7, 8}};
    em::ByteBuffer out(1 << 16);
    em::bench::AllocScope allocs;
    for (auto _ : state) {
        out.clear();
        auto r = write_forkchoice_updated(out, s, StatusSchema::v1, &id);
        benchmark::DoNotOptimize(r);
        benchmark::DoNotOptimize(out.data());
    }
    report_allocs(state, allocs);
}
BENCHMARK(BM_WriteForkchoiceUpdated);

// n voters: all VALID on one hash except the last, which is SYNCING (the common case), or with
// arg 1 the last pending (what the proxy asks after each arrival).
std::vector<VoteSlot> slots_for(int voters, bool last_pending) {
    std::vector<VoteSlot> slots(static_cast<size_t>(voters));
    for (auto& s : slots) {
        s.state = SlotState::answered;
        s.answer.status = Status::valid;
        s.answer.has_latest_valid_hash = true;
        s.answer.latest_valid_hash.fill(0x42);
    }
    slots.back().answer = PayloadStatus{};
    if (last_pending) slots.back().state = SlotState::pending;
    return slots;
}

void BM_Vote(benchmark::State& state) {
    auto slots = slots_for(static_cast<int>(state.range(0)), false);
    em::bench::AllocScope allocs;
    for (auto _ : state) {
        VoteResult r = vote(slots, Quorum{}, VoteMethod::new_payload);
        benchmark::DoNotOptimize(r);
    }
    report_allocs(state, allocs);
}
BENCHMARK(BM_Vote)->Arg(3)->Arg(8)->Arg(16);

void BM_IsFinal(benchmark::State& state) {
    auto slots = slots_for(static_cast<int>(state.range(0)), true);
    em::bench::AllocScope allocs;
    for (auto _ : state)
        benchmark::DoNotOptimize(is_final(slots, Quorum{}, VoteMethod::new_payload));
    report_allocs(state, allocs);
}
BENCHMARK(BM_IsFinal)->Arg(3)->Arg(8)->Arg(16);

// Worst case for grouping: every voter a different INVALID hash, with one pending.
void BM_IsFinalAllDifferent(benchmark::State& state) {
    auto slots = slots_for(static_cast<int>(state.range(0)), true);
    for (size_t i = 0; i + 1 < slots.size(); i++) {
        slots[i].answer.status = Status::invalid;
        slots[i].answer.latest_valid_hash[5] = static_cast<uint8_t>(i);
    }
    em::bench::AllocScope allocs;
    for (auto _ : state)
        benchmark::DoNotOptimize(is_final(slots, Quorum{}, VoteMethod::new_payload));
    report_allocs(state, allocs);
}
BENCHMARK(BM_IsFinalAllDifferent)->Arg(8)->Arg(16);

void BM_PayloadIdMintLookup(benchmark::State& state) {
    PayloadIdMap::Config config;
    config.capacity = 64;
    auto map = std::move(*PayloadIdMap::create(config));
    NodePayloadId nodes[3] = {{0, {{1}}}, {1, {{2}}}, {2, {{3}}}};
    uint64_t now = 0;
    em::bench::AllocScope allocs;
    for (auto _ : state) {
        auto id = map->mint(nodes, now);
        benchmark::DoNotOptimize(map->lookup(*id, now + 1).size());
        now += 1'000'000;
    }
    report_allocs(state, allocs);
}
BENCHMARK(BM_PayloadIdMintLookup);

}  // namespace

BENCHMARK_MAIN();
