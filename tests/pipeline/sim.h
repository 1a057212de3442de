// A deterministic simulator of the whole mux (in the style of TigerBeetle's VOPR): the real
// pipeline (pipeline::PipelineCore with the real MuxPolicy) driven by a simulated consensus
// client, simulated execution clients and a simulated clock; no sockets, no threads. One seed is
// one schedule of requests (newPayload V1-V5 with generated payloads, correct and tampered, and
// real ones from ../shared/testdata when present; forkchoiceUpdated with and without
// attributes; getPayload with minted and unknown ids; eth_*; merges; batches; malformed bodies)
// and faults (each node, per call: VALID, INVALID, SYNCING, ACCEPTED, INVALID_BLOCK_HASH,
// JSON-RPC errors, garbage, a wrong id, HTTP errors, late, never, reset; nodes die and come
// back, are removed and added, lose their payloadIds; clients go away; tiny in-flight limits).
//
// After every step it checks:
//  - the CL never hears VALID while a voter had answered INVALID for that call, nor for a
//    payload whose block hash does not match; never INVALID without a quorum of INVALID
//    answers (or a mismatched hash);
//  - every CL request is answered exactly once, no later than its method's deadline;
//  - each node receives the ordered engine calls in the order the CL sent them;
//  - the payloadId map and every call pool stay within their bounds, and when the schedule
//    ends nothing is in flight.
//
// Test code: one thread, allocation is fine.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace em::pipeline::sim {

/// newPayload requests the schedules draw from: params JSON per version (index = version),
/// each with whether its block hash matches. Built once (generated, plus testdata).
struct Corpus {
    struct Payload {
        std::string params;  ///< the JSON array of params
        bool hash_ok = true;
    };
    std::vector<Payload> by_version[7];
    size_t from_testdata = 0;
};

/// Generated payloads (V1-V4, correct and tampered) and, if `testdata_dir` is not empty and
/// holds them, real ones (ethereum-tests newPayloads, geth's hive chain).
Corpus build_corpus(const std::string& testdata_dir);

struct SimOptions {
    uint64_t seed = 1;
    uint32_t requests = 60;  ///< CL requests (a batch counts once)
    bool trace = false;      ///< keep the last events (printed on failure)
    /// A deliberately broken vote rule, for the test that proves the checker can fail: node 0's
    /// answers do not count (the policy says it is no voter though it is one).
    bool broken_vote = false;
};

struct SimResult {
    bool ok = true;
    std::string violation;  ///< what broke, with the seed and the simulated time
    std::string trace;
    uint64_t requests = 0, answers = 0, sends = 0, replies = 0, timeouts = 0;
    uint64_t valid = 0, invalid = 0, syncing = 0, tampered = 0, node_changes = 0, faults = 0;
};

SimResult run_schedule(const Corpus& corpus, const SimOptions& options);

}  // namespace em::pipeline::sim
