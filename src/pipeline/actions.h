// What flows in and out of the pipeline's calls (pipeline/*_call.h): events in (a node's reply
// to one call), actions out (send this to node i, answer the client with these bytes, report a
// node's failure, log a disagreement). A call never does I/O itself: it appends actions, and the
// core (pipeline/core.h) carries them out through its Shell.
//
// Threads: the owning shard's thread. Action views point into the call that made them (its
// request body, its answer buffer) and stay valid until that call is released, which the core
// does only after it carried the actions out.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "base/assert.h"
#include "base/result.h"
#include "pipeline/nodes.h"
#include "pipeline/policy.h"

namespace em::pipeline {

/// Node `node`'s outcome for one call: an HTTP answer, or an error (transport failure, timeout,
/// reset, removal before it was sent).
struct NodeReply {
    size_t node = 0;
    /// The call went to the node that holds the slot now (not to one removed since): only then
    /// does a failure say something about the slot's health.
    bool current = true;
    uint64_t sent_ns = 0;   ///< when the call went on the wire (0: never sent)
    int http_status = 0;    ///< when !error
    std::string_view body;  ///< when !error: the response body, followed by 64 readable bytes
    const Error* error = nullptr;
};

struct Action {
    enum class Kind : uint8_t {
        send,          ///< node, ordered, deadline_ns, bytes = the JSON-RPC request
        answer,        ///< http_status, bytes = the JSON-RPC response (empty for a 204)
        node_failed,   ///< node, error: tell the health board (the node may be down)
        disagreement,  ///< bytes = the log line (votes where ELs disagreed)
        learned,       ///< node, learn, key, bytes = a good answer's result (pipeline/gate.h)
        wake,          ///< deadline_ns: call on_wake then (a forwarded read's hedge)
        served,        ///< node, client, block: a sticky client's read answered (Gate::served)
    };
    Kind kind = Kind::send;
    uint8_t node = 0;
    /// disagreement: the method, what the CL was told and why (structured log fields).
    std::string_view method, told, reason;
    bool ordered = false;  ///< send: through the node's engine lane (in CL order)
    int http_status = 200;
    uint64_t deadline_ns = 0;
    std::string_view bytes;
    const Error* error = nullptr;
    Learn learn = Learn::nothing;  ///< learned: what
    std::string_view key;          ///< learned: the route's key
    /// send: the call's own tag for this send, given back with its reply (a call that sends
    /// one node several requests tells their replies apart by it; 0 otherwise).
    uint8_t sub = 0;
    uint64_t client = 0;  ///< served: Route::sticky_client
    int64_t block = -1;   ///< served: the read's Route::min_head (-1: the head)
};

/// The actions one event produced, in order. Bounded: a call sends to each node at most once
/// per event, answers at most once, and reports each node at most once.
class Actions {
  public:
    static constexpr size_t capacity = 2 * nodes_max + 4;

    void send(size_t node, std::string_view body, bool ordered, uint64_t deadline_ns,
              uint8_t sub = 0) {
        Action& a = push(Action::Kind::send);
        a.sub = sub;
        a.node = static_cast<uint8_t>(node);
        a.bytes = body;
        a.ordered = ordered;
        a.deadline_ns = deadline_ns;
    }
    void answer(std::string_view response, int http_status = 200) {
        Action& a = push(Action::Kind::answer);
        a.bytes = response;
        a.http_status = http_status;
    }
    void node_failed(size_t node, const Error& error) {
        Action& a = push(Action::Kind::node_failed);
        a.node = static_cast<uint8_t>(node);
        a.error = &error;
    }
    void disagreement(std::string_view line, std::string_view method, std::string_view told,
                      std::string_view reason) {
        Action& a = push(Action::Kind::disagreement);
        a.bytes = line;
        a.method = method;
        a.told = told;
        a.reason = reason;
    }

    void learned(Learn what, std::string_view key, std::string_view result, size_t node) {
        Action& a = push(Action::Kind::learned);
        a.learn = what;
        a.key = key;
        a.bytes = result;
        a.node = static_cast<uint8_t>(node);
    }

    void served(uint64_t client, size_t node, int64_t block) {
        Action& a = push(Action::Kind::served);
        a.client = client;
        a.node = static_cast<uint8_t>(node);
        a.block = block;
    }

    /// PipelineCore::on_wake for this call at `at_ns` (from the loop).
    void wake(uint64_t at_ns) {
        Action& a = push(Action::Kind::wake);
        a.deadline_ns = at_ns;
    }

    std::span<const Action> view() const { return {items_.data(), count_}; }
    size_t size() const { return count_; }
    void clear() { count_ = 0; }

  private:
    Action& push(Action::Kind kind) {
        EM_ASSERT(count_ < capacity);
        Action& a = items_[count_++];
        a = Action{};
        a.kind = kind;
        return a;
    }
    std::array<Action, capacity> items_{};
    size_t count_ = 0;
};

}  // namespace em::pipeline
