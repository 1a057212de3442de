// Gate: what a role decides about each request beyond its Policy's routing, before the core
// (pipeline/core.h) runs it. The sync role's policy (pipeline/sync_policy.h) is one: it follows
// the best of several consensus clients and makes one vote call of many copies of a block. The
// mux has none.
//
// The core asks admit() for every request (its facts: who sent it, which method, and for
// engine votes what the params say); for a vote call the decision is to run it, to join a vote
// call already running (its answer then goes to this client too, under this request's id), or
// to answer at once with a given result. started() and answered() tell the gate what became of
// the vote calls it let run. Requests that are no engine method (the rpc role's eth_* reads) may
// also be refused with a JSON-RPC error (a method not allowed), answered at once (a cached
// result), or run with a Route (which nodes may take it, what to learn from its answer);
// learned() then hands the gate what a good answer taught (a result to cache, a filter's node).
// A gate may also want something looked up elsewhere first (look_up: the rpc role's Redis
// cache): the core parks the request, asks look_up(), and runs or answers it when
// PipelineCore::resume() brings the outcome, later, from the loop.
//
// Threads: the owning shard's thread. No I/O: facts in, decisions out.
#pragma once

#include <cstdint>
#include <string_view>

#include <simdjson.h>

#include "engine/json_kernel.h"
#include "engine/methods.h"
#include "engine/types.h"
#include "pipeline/policy.h"

namespace em::pipeline {

/// Who sent a request (the listener's client slot) and the wall clock when it came.
struct Origin {
    uint32_t client = 0;
    int64_t wall_s = 0;
    /// The client as [rpc] sticky sees it: a keyed hash of its API key or address (0: none).
    uint64_t sticky = 0;
};

/// What the core read of a request for the gate.
struct CallFacts {
    Origin origin;
    const engine::MethodInfo* method = nullptr;  ///< null: not an engine method
    size_t method_slot = 0;                      ///< metrics slot (method index or other)
    bool vote = false;  ///< the policy routes it to a vote call (a decision is wanted)
    /// Requests that are no engine method: the method's name and the raw params ("" absent).
    std::string_view name;
    std::string_view params;
    /// newPayload: the block hash (only when the payload decoded and, if checked, matched it).
    bool has_block_hash = false;
    engine::Hash32 block_hash{};
    /// newPayload: the payload's timestamp; forkchoiceUpdated: the attributes' timestamp.
    bool has_timestamp = false;
    uint64_t timestamp = 0;
    /// forkchoiceUpdated: headBlockHash.
    bool has_head = false;
    engine::Hash32 head{};
};

/// An eth_getLogs range run as pieces (the rpc role, pipeline/logs_call.h): [from, to] in
/// pieces of at most `blocks` blocks; the merged answer at most `bytes_max` bytes.
struct LogsSplit {
    uint64_t from = 0;
    uint64_t to = 0;
    uint64_t blocks = 1;
    uint64_t bytes_max = 32u << 20;
};

struct GateDecision {
    enum class Verdict : uint8_t {
        run,     ///< start a call as the policy routes it
        join,    ///< wait for vote call `call` and get its answer
        answer,  ///< answer now with `result`
        refuse,  ///< answer now with the JSON-RPC error `code`, `message` (no engine method)
        /// No engine method: look `route.key` up elsewhere first (Gate::look_up, e.g. a cache
        /// shared with other instances); the core parks the request until PipelineCore::resume
        /// says hit (answer with it) or miss (run it with `route`).
        look_up,
        /// No engine method (eth_getLogs): run as the pieces `split` says, each forwarded with
        /// `route` (its min_head the piece's end), the answers merged (pipeline/logs_call.h).
        split,
    };
    Verdict verdict = Verdict::run;
    uint32_t call = 0;
    int code = 0;              ///< refuse: the JSON-RPC error code
    std::string_view message;  ///< refuse: what was wrong; valid until the next call into the gate
    /// run, no engine method: how to route it (broadcast: to every node that takes part in a
    /// broadcast, the first success answers). Views valid until the next call into the gate.
    Route route;
    bool broadcast = false;
    LogsSplit split;  ///< split: the range and its pieces
    /// run, no engine method: asked of these nodes (each a different client) and answered only
    /// when all agree (GatherCall::start_agree); agree_count 0: not an agreed read.
    uint8_t agree_on[8] = {};
    uint8_t agree_count = 0;
    /// With agree_count 2: not an agreement but a shadow compare (GatherCall::start_shadow):
    /// agree_on[0] answers the client, agree_on[1] is only compared with it.
    bool shadow = false;
    /// answer: the JSON-RPC result member; valid until the next call into the gate.
    std::string_view result;
    /// A line for the log (warn), e.g. a client sent a timestamp from the future; "" for none.
    std::string_view notice;
};

/// Reads forkchoiceUpdated's params ([state, attributes|null, ...]) into facts: headBlockHash
/// and the attributes' timestamp, each only when well-formed (the ELs judge the rest).
/// `requests` holds the parsed request, `entry` its index there.
void read_forkchoice_facts(engine::RequestKernel& requests, size_t entry, CallFacts& facts);

class Gate {
  public:
    virtual ~Gate() = default;
    /// Every request, before it runs (non-vote requests: the verdict is always run).
    virtual GateDecision admit(const CallFacts& facts, uint64_t now_ns) = 0;
    /// Vote call `call` was started for `facts` (admit said run); it may answer at once.
    virtual void started(const CallFacts& facts, uint32_t call, uint64_t now_ns) = 0;
    /// Vote call `call` answered its client(s): `told` a status (null: a JSON-RPC error), with
    /// `result` the result member sent ("" for an error).
    virtual void answered(uint32_t call, const engine::Status* told, std::string_view result,
                          uint64_t now_ns) = 0;
    /// The core parked a request the gate said look_up to, as `ticket`: start looking `key` up.
    /// True: exactly one PipelineCore::resume(ticket, ...) follows, later, from the loop (never
    /// inside this call). False: nothing started (the request runs now). Default: false.
    virtual bool look_up(uint64_t ticket, std::string_view key) {
        (void)ticket;
        (void)key;
        return false;
    }
    /// A forwarded call run with a Route that asked to learn answered `result` (raw JSON) from
    /// node `node`; `key`: the Route's key. No-op by default.
    /// A read run with Route::sticky_client was answered by node `node`; `block`: the read's
    /// Route::min_head (-1: a read of the head). No-op by default.
    virtual void served(uint64_t client, size_t node, int64_t block) {
        (void)client;
        (void)node;
        (void)block;
    }
    virtual void learned(Learn what, std::string_view key, std::string_view result, size_t node,
                         uint64_t now_ns) {
        (void)what;
        (void)key;
        (void)result;
        (void)node;
        (void)now_ns;
    }
};

}  // namespace em::pipeline
