// upstream::Node: one execution client as seen from one shard — a pool of keep-alive HTTP
// connections for calls that may run concurrently, and the node's engine lane: a FIFO that
// delivers engine calls in the order they were submitted, one in flight at a time, on its own
// connection (the spec requires ELs to process forkchoiceUpdated in order; sending the next call
// only after the previous answer is the only order HTTP/1.1 guarantees across servers).
//
// Threads: a Node belongs to one loop thread; submit() and everything else run there. Calls are
// intrusive: the caller owns each Call and keeps it alive until its done callback ran; every
// submitted call gets exactly one callback, by its deadline (queued calls time out in the queue).
//
// Completion rule (the whole code base's): no callback runs inside the call that started it. A
// call that fails at once (the lane is full, the request exceeds the buffer, no socket, removal)
// is failed from the loop's next turn, through the call's own timer, never from inside
// submit(), submit_ordered() or retire(). Callers need no guard against their own callback.
// Limits: at most connections_max pooled connections; lane_queue_max queued lane calls (beyond:
// the call fails at once with Errc::busy, so a stuck EL cannot make the shard queue without
// bound).
//
// Ownership and removal: the owner (proxy::Proxy) owns the Node; the Node owns its connections,
// whose pending io_uring operations point into them. A Node is removed in two steps: retire()
// (no new calls; queued calls fail at once; calls on the wire finish; each connection is closed
// once it carries no call, its operations cancelled), then — once retired() says the last
// completion has arrived — the owner destroys it, from outside the Node's own callbacks (e.g.
// from a timer). Destroying it earlier would let a completion reach freed memory; the destructor
// asserts it does not happen (except after the loop's run() returned: Loop::ended()).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "http/jwt.h"
#include "io/loop.h"
#include "net/client.h"

namespace em::upstream {

struct Call;

/// Receives a call's outcome: exactly one of response/error is non-null; views are valid only
/// during the call.
class CallDone {
  public:
    virtual ~CallDone() = default;
    virtual void on_call_done(Call& call, const http::Response* response, const Error* error) = 0;
};

/// One HTTP POST of a JSON body to a node.
struct Call {
    std::string_view body;     ///< JSON-RPC bytes; valid until the callback
    uint64_t deadline_ns = 0;  ///< loop clock
    CallDone* done = nullptr;
    uint64_t tag = 0;      ///< free for the caller (e.g. node index)
    uint64_t sent_ns = 0;  ///< when it went on the wire (for latency)

    // Owned by Node while submitted.
    Call* next = nullptr;
    io::Timer queue_timer{};     ///< the deadline while queued; or a failure due next turn
    class Node* node = nullptr;  ///< the Node it was submitted to (alive until the callback ran)
    bool queued = false;
    Error failure;  ///< a failure delivered from the loop's next turn
};

struct NodeOptions {
    std::string name;
    http::Endpoint endpoint;
    http::JwtSecret secret;
    http::Limits response_limits;
    uint32_t connections_max = 64;
    uint32_t connect_timeout_ms = 2000;
    uint32_t lane_queue_max = 256;
};

struct NodeStats {
    uint64_t calls = 0;
    uint64_t errors = 0;
    uint64_t timeouts = 0;
    uint64_t queued_max = 0;
};

class Node {
  public:
    Node(io::Loop& loop, const NodeOptions& options);
    ~Node();
    Node(const Node&) = delete;
    Node& operator=(const Node&) = delete;

    /// Sends on a pooled connection (concurrently with other calls). Not after retire().
    void submit(Call& call);
    /// Appends to the engine lane (in order, one at a time). Not after retire().
    void submit_ordered(Call& call);
    const std::string& name() const { return options_.name; }
    const NodeStats& stats() const { return stats_; }
    /// Calls waiting in the lane (for metrics).
    size_t lane_depth() const { return lane_count_; }
    /// Calls waiting for a pooled connection.
    size_t pool_waiting() const { return wait_count_; }
    /// Closes idle connections; calls in flight finish normally.
    void close_idle();
    /// True when no call is queued or in flight.
    bool quiet() const;
    /// Removal, step 1: takes no new calls, fails the queued ones (Errc::closed, never sent;
    /// their callbacks run from the loop's next turn), lets the calls on the wire finish
    /// (answer, error or deadline) and closes every connection once it carries no call.
    void retire();
    /// Removal, step 2: true once retired and every connection is quiescent (closed, no
    /// io_uring operation pending). From then on nothing can reach this Node: the owner may
    /// destroy it (not from inside one of its callbacks).
    bool retired() const;

  private:
    class Exchange;
    Exchange* idle_exchange();
    /// Puts the call on ex's connection; false (and the call failed later) if it cannot go.
    bool start(Exchange& ex, Call& call);
    /// Fails `call` from the loop's next turn (never inside the caller).
    void fail_later(Call& call, const Error& error);
    static void on_deferred_failure(io::Timer* t);
    void finish(Exchange& ex, const http::Response* response, const Error* error);
    void enqueue(Call*& head, Call*& tail, size_t& count, Call& call);
    static void on_queue_timeout(io::Timer* t);
    void pump_pool();
    void pump_lane();
    void fail_queued(Call*& head, Call*& tail, size_t& count);
    bool ops_pending() const;

    io::Loop& loop_;
    NodeOptions options_;
    http::JwtSigner signer_;
    std::vector<std::unique_ptr<Exchange>> pool_;
    std::unique_ptr<Exchange> lane_;
    Call* wait_head_ = nullptr;
    Call* wait_tail_ = nullptr;
    size_t wait_count_ = 0;
    Call* lane_head_ = nullptr;
    Call* lane_tail_ = nullptr;
    size_t lane_count_ = 0;
    size_t deferred_count_ = 0;  ///< calls whose failure is due next turn
    bool retiring_ = false;
    NodeStats stats_;
};

}  // namespace em::upstream
