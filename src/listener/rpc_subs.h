// eth_subscribe / eth_unsubscribe on one shard's WebSocket connections (issue 17 item 3): the
// shard's client subscriptions, answered here (never forwarded to an EL), fed by the
// process-wide HeadsFeed (listener/heads_feed.h), which posts each head to this shard's loop.
// Subscription ids are enginemux's own ("0x" and 32 hex digits: a per-shard random prefix and a
// counter), never an EL's, so they survive a failover. `newHeads` is served; `logs`,
// `newPendingTransactions` and `syncing` are refused with -32602 naming what is served. At
// subscriptions_per_connection_max a connection's next eth_subscribe is refused with -32005.
//
// Threads: the shard's loop thread. Memory: one entry per subscription (bounded by connections
// times subscriptions_per_connection_max); a notification is built once per head and subscriber.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "listener/heads_feed.h"
#include "net/server.h"

namespace em::listener {

class ShardHeads final : public HeadsSink {
  public:
    ShardHeads(io::Loop& loop, HeadsFeed& feed, uint32_t per_connection_max);
    ~ShardHeads() override;
    ShardHeads(const ShardHeads&) = delete;
    ShardHeads& operator=(const ShardHeads&) = delete;

    /// True if `message` was an eth_subscribe or eth_unsubscribe request, answered here.
    bool handle(http::ServerConn& conn, std::string_view message);
    /// The connection closed: its subscriptions end.
    void on_closed(http::ServerConn& conn);
    void on_head(std::string_view head) override;
    size_t subscriptions() const { return subs_.size(); }

  private:
    using Id = std::array<char, 35>;  ///< "0x" and 32 hex digits, NUL-terminated
    struct Sub {
        http::ConnRef conn;
        Id id{};
    };
    std::string subscribe(http::ServerConn& conn, std::string_view kind, std::string_view id);
    std::string unsubscribe(http::ServerConn& conn, std::string_view sub, std::string_view id);
    void remove(size_t at);

    HeadsFeed& feed_;
    size_t shard_;
    uint32_t per_connection_max_;
    uint64_t prefix_ = 0;
    uint64_t counter_ = 0;
    std::vector<Sub> subs_;
    std::string note_;  ///< the notification being built
};

}  // namespace em::listener
