// The newHeads hub's driver (issue 17 items 3-4): the process-wide upstream feed. One thread
// of its own runs pipeline::subs::NewHeadsHub (the logic) and carries out its actions: a
// blocking WebSocket client connection (RFC 6455 client side: http/websocket.h's handshake,
// masked frames, the parser in client role) to the ws_url of the node the hub picked, and each
// head delivered to every registered shard by posting it to the shard's loop.
//
// Why a thread and not a shard's ring: the feed is one per process (not per shard), it carries
// one message per block, and it must keep going whatever a shard is doing; a thread with one
// socket and poll(2) is the smallest driver that can be reasoned about. The shards never block
// on it: they change an atomic subscriber count and receive posted heads.
//
// Threads: start()/stop() from the owner; add_shard()/remove_shard() from the shard's thread
// (a mutex guards the shard table, also held while posting, so a removed sink never gets a
// head); subscribers_delta() from any thread. Sinks are called on their loop's thread.
// Memory: one head in flight per post (shared by the shards, freed by the last), the
// connection's receive buffer and one message (at most message_bytes_max).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "http/websocket.h"
#include "io/loop.h"
#include "io/socket.h"
#include "pipeline/heads_hub.h"
#include "upstream/health.h"

namespace em::listener {

/// A shard's receiver of heads (ShardHeads).
class HeadsSink {
  public:
    virtual ~HeadsSink() = default;
    /// A head in the newHeads result shape, on the sink's loop thread.
    virtual void on_head(std::string_view head) = 0;
};

/// One node as the feed sees it.
struct FeedNode {
    std::string name;
    bool has_ws = false;  ///< a ws_url was configured
    io::Address address;  ///< of the ws_url
    std::string host;     ///< the Host header ("host:port")
    std::string target;   ///< the request target ("/")
};

struct FeedCounters {
    std::atomic<uint64_t> delivered{0};
    std::atomic<uint64_t> failovers{0};
    std::atomic<uint64_t> filled{0};
    std::atomic<uint64_t> duplicates{0};
    std::atomic<uint64_t> skipped{0};
    std::atomic<uint64_t> post_failures{0};  ///< a shard's post queue was full: head lost there
};

class HeadsFeed {
  public:
    static constexpr size_t shards_max = 256;
    static constexpr size_t message_bytes_max = 4u << 20;  ///< one upstream message at most

    HeadsFeed(const pipeline::subs::HubConfig& config, std::vector<FeedNode> nodes);
    ~HeadsFeed();
    HeadsFeed(const HeadsFeed&) = delete;
    HeadsFeed& operator=(const HeadsFeed&) = delete;

    /// The probes' view of the nodes (set before start()): the highest head a synced node
    /// reported is the hub's best head, so a feed lagging it by more than max_head_lag_blocks
    /// is moved. Null: only the feed's own heads count.
    void set_health(const upstream::HealthBoard* board) { board_ = board; }
    void start();
    /// Ends the thread (closing the upstream connection). Idempotent.
    void stop();
    /// Registers a shard: heads are posted to `loop` and handed to `sink` there. Returns the
    /// shard's index for remove_shard.
    size_t add_shard(io::Loop& loop, HeadsSink& sink);
    /// No head reaches the sink after this returns (call on the shard's thread).
    void remove_shard(size_t index);
    /// A shard's client subscriptions changed by `delta` (any thread).
    void subscribers_delta(int64_t delta) { subscribers_.fetch_add(delta); }
    const FeedCounters& counters() const { return counters_; }
    /// True when some node has a ws_url (else subscriptions cannot be served).
    bool serves() const;

  private:
    struct Shard {
        io::Loop* loop = nullptr;
        HeadsSink* sink = nullptr;
    };
    struct Delivery;
    static void deliver_task(void* delivery, uint64_t shard);

    void run();
    void carry_out(uint64_t now_ns);
    void post_head(std::string head);
    void connect(size_t node, uint64_t now_ns);
    void close_conn();
    void send_text(std::string_view text);
    void on_readable(uint64_t now_ns);
    void on_handshake(uint64_t now_ns);
    void on_frames(uint64_t now_ns);
    void fail_conn(uint64_t now_ns);
    void publish_counters();

    /// The highest head a synced node's probe reported (-1: none).
    int64_t probed_best() const;

    pipeline::subs::NewHeadsHub hub_;
    const upstream::HealthBoard* board_ = nullptr;
    std::vector<FeedNode> nodes_;
    std::atomic<int64_t> subscribers_{0};
    std::atomic<bool> stop_{false};
    std::thread thread_;
    std::mutex shards_mutex_;
    std::vector<Shard> shards_;
    FeedCounters counters_;
    // The upstream connection (feed thread only).
    int fd_ = -1;
    size_t conn_node_ = 0;
    bool handshaken_ = false;
    std::string key_;
    std::string in_;       ///< received bytes not yet parsed
    std::string message_;  ///< the message being assembled
    std::unique_ptr<http::WsParser> parser_;
    uint64_t mask_state_ = 0;
};

}  // namespace em::listener
