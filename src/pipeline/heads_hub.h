// The process-wide upstream newHeads feed (issue 17 items 3-4) as a sans-I/O state machine: one
// upstream eth_subscribe("newHeads") on one EL's WebSocket feeds every client subscription of
// every shard. Events in (subscriber count, the upstream connection's open/message/close, the
// best head known, the clock), actions out (connect to node i, send this text, close, deliver
// this head to every subscriber); the driver (listener/heads_driver.h) does the I/O.
//
// Failover without a gap: the feed moves to another node (the failed one benched for bench_ms)
// when its connection dies or fails to subscribe in request_timeout_ms, when it lags the best
// known head by more than max_head_lag_blocks, or when it sent nothing for twice the observed
// block interval (never less than silence_min_ms). The new feed starts at the head; every head,
// from any feed, goes through plan_gap (pipeline/head_feed.h) against the heads already
// delivered: a duplicate is dropped, a reorg passed on, and a gap filled with
// eth_getBlockByNumber on the new feed's connection, the blocks delivered in order (cut to the
// newHeads shape) before the head that revealed the gap. Heads that arrive meanwhile wait in a
// bounded queue (pending_heads_max; past it the feed is failed over, which refetches them).
//
// Threads: one (the driver's). Memory: the queue and the fill are bounded (pending_heads_max,
// gap_blocks_max); actions own their bytes until the driver takes them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/head_feed.h"

namespace em::pipeline::subs {

struct HubConfig {
    uint64_t max_head_lag_blocks = 2;     ///< [rpc] max_head_lag_blocks
    uint32_t silence_min_ms = 1000;       ///< the silence limit is never shorter than this
    uint32_t silence_initial_ms = 30000;  ///< silence limit before a block interval is known
    uint32_t bench_ms = 5000;             ///< a node whose feed failed is not picked this long
    uint32_t request_timeout_ms = 5000;   ///< open + subscribe, and a gap's fetches
    uint64_t gap_blocks_max = 256;        ///< blocks fetched for one gap at most
    size_t pending_heads_max = 64;        ///< heads queued while a gap is filled
};

struct HubAction {
    enum class Kind : uint8_t {
        connect,  ///< node: open a WebSocket to its ws_url (on_open or on_closed follows)
        send,     ///< node: one text message on that connection
        close,    ///< node: close that connection (no on_closed follows)
        deliver,  ///< bytes: a head in the newHeads result shape, for every subscription
    };
    Kind kind = Kind::deliver;
    size_t node = 0;
    std::string bytes;
};

struct HubCounters {
    uint64_t delivered = 0;   ///< heads handed to subscribers
    uint64_t duplicates = 0;  ///< heads dropped as already delivered
    uint64_t filled = 0;      ///< heads fetched to fill a gap
    uint64_t skipped = 0;     ///< numbers not delivered (gap over gap_blocks_max, fetch null)
    uint64_t reorgs = 0;      ///< heads at or below the last delivered number, passed on
    uint64_t failovers = 0;   ///< feeds moved to another node
    uint64_t subscribes = 0;  ///< upstream eth_subscribe calls sent
};

class NewHeadsHub {
  public:
    enum class State : uint8_t {
        idle,         ///< no subscriber: no upstream feed
        waiting,      ///< subscribers, but no node to feed them (retried on tick)
        connecting,   ///< connect sent, waiting for on_open
        subscribing,  ///< eth_subscribe sent, waiting for its answer
        live,         ///< heads flow
        filling,      ///< heads flow; a gap's blocks are being fetched
    };

    NewHeadsHub(const HubConfig& config, size_t nodes);

    /// A node's fitness: has a ws_url, and is usable (health). Takes effect at the next pick.
    void set_node(size_t node, bool has_ws, bool usable);
    /// The best head number known (health, the CL): a feed lagging it is moved.
    void best_head(uint64_t number, uint64_t now_ns);
    /// Client newHeads subscriptions over all shards: 0 closes the feed, more opens it.
    void subscribers(size_t total, uint64_t now_ns);
    void on_open(size_t node, uint64_t now_ns);
    void on_message(size_t node, std::string_view text, uint64_t now_ns);
    /// The connection to `node` failed or closed.
    void on_closed(size_t node, uint64_t now_ns);
    /// Deadlines: open/subscribe/fetch timeouts, silence, retry after waiting.
    void tick(uint64_t now_ns);

    /// The actions the events produced so far, in order; the caller carries them out and
    /// clears the vector.
    std::vector<HubAction>& actions() { return actions_; }
    State state() const { return state_; }
    /// The node of the current feed (-1 when idle or waiting).
    int feed_node() const { return state_ <= State::waiting ? -1 : static_cast<int>(node_); }
    const HubCounters& counters() const { return counters_; }
    /// Observed block interval (0 until two heads came).
    uint64_t interval_ns() const { return interval_ns_; }

    static constexpr uint64_t subscribe_id = 1;
    static constexpr uint64_t fetch_id_base = 16;  ///< a fetch's id: fetch_id_base + number

  private:
    struct Node {
        bool has_ws = false;
        bool usable = true;
        uint64_t benched_until_ns = 0;
    };
    struct Pending {
        HeadId id;
        std::string head;
    };
    struct Fill {
        uint64_t from = 0, to = 0;       ///< numbers fetched
        std::vector<std::string> heads;  ///< by number - from; "" until its answer came
        std::vector<bool> done;
        uint64_t next = 0;  ///< the next number to deliver
    };

    void start(uint64_t now_ns);
    void fail_over(uint64_t now_ns);
    void on_subscribed(std::string_view text, uint64_t now_ns);
    void on_head(std::string_view head, uint64_t now_ns);
    void on_fetched(uint64_t number, std::string_view result, bool missing);
    void take_head(const HeadId& id, std::string head);
    void start_fill(const GapPlan& plan, const HeadId& id, std::string head);
    void drain_fill();
    void deliver(const HeadId& id, std::string head);
    void observe_interval(uint64_t now_ns);
    bool silent(uint64_t now_ns) const;
    void push(HubAction::Kind kind, size_t node, std::string bytes = {});

    HubConfig config_;
    std::vector<Node> nodes_;
    State state_ = State::idle;
    size_t node_ = 0;
    size_t subscribers_ = 0;
    uint64_t since_ns_ = 0;  ///< entered the current state (connecting, subscribing, filling)
    uint64_t last_head_ns_ = 0;
    uint64_t interval_ns_ = 0;
    uint64_t best_head_ = 0;
    bool feed_has_head_ = false;
    uint64_t feed_last_ = 0;  ///< the newest number the current feed sent
    DeliveredHeads delivered_;
    Fill fill_;
    std::vector<Pending> pending_;
    std::vector<HubAction> actions_;
    HubCounters counters_;
};

}  // namespace em::pipeline::subs
