// The mock EL's WebSocket port (--ws-port, issue 17): eth_subscribe("newHeads") notifications
// from a scripted chain, eth_getBlockByNumber answering the same headers field for field (plus
// the body members a block has: size, transactions, uncles, withdrawals), eth_blockNumber,
// eth_unsubscribe, mock_subscriptions (-> {"live":N,"total":M}: newHeads subscriptions open now
// and ever made, for tests that count upstream subscriptions), and a control, mock_chain
// ["stop"] / ["start"], that freezes the head (the feed goes silent and falls behind) or lets it
// run again (the next notification is the head, whatever was skipped: a gap for the subscriber
// to fill).
//
// The chain is a function of the wall clock, so every mock EL started with the same --block-ms
// has the same chain at the same time, whenever each was started: block n is the n-th block_ms
// period since chain_epoch_ms; its hash is a deterministic mix of n, its parentHash the hash of
// n-1, its timestamp epoch + n * block_ms / 1000. Numbers are consecutive.
//
// Threads: the first loop thread of the mock (worker 0) owns it. Memory: one entry per
// subscription (bounded by the connections of this port, --connections-max).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "io/loop.h"
#include "io/socket.h"
#include "net/server.h"

namespace em::mockel {

/// 2023-11-14T22:13:20Z: block 0's start (a chain number stays small and the same everywhere).
inline constexpr uint64_t chain_epoch_ms = 1'700'000'000'000;

/// Block n's header as a newHeads notification carries it (JSON object text).
std::string chain_header(uint64_t n, uint32_t block_ms);
/// Block n as eth_getBlockByNumber(n, false) answers it: chain_header's members, then size,
/// transactions, uncles and withdrawals.
std::string chain_block(uint64_t n, uint32_t block_ms);

class WsChain final : private http::Handler, private http::WsHandler {
  public:
    explicit WsChain(uint32_t block_ms, uint32_t connections_max);
    ~WsChain() override;
    WsChain(const WsChain&) = delete;
    WsChain& operator=(const WsChain&) = delete;

    [[nodiscard]] Result<void> listen(io::Loop& loop, const io::Address& address);
    const io::Address& address() const { return server_.address(); }

  private:
    struct Sub {
        http::ConnRef conn;
        uint64_t id = 0;
    };
    void on_request(http::ServerConn& conn, const http::Request& request) override;
    void on_ws_message(http::ServerConn& conn, std::string_view message, size_t) override;
    void on_ws_closed(http::ServerConn& conn) override;
    static void on_tick(io::Timer* timer);
    /// The chain's head now (frozen while stopped).
    uint64_t head() const;
    void announce(uint64_t n);
    std::string answer(http::ServerConn& conn, std::string_view method, std::string_view id,
                       std::string_view params);

    uint32_t block_ms_;
    uint32_t connections_max_;
    io::Loop* loop_ = nullptr;
    http::Server server_;
    io::Timer timer_{};
    std::vector<Sub> subs_;
    uint64_t next_sub_id_ = 1;
    uint64_t announced_ = 0;  ///< the last head notified
    bool stopped_ = false;
    uint64_t frozen_head_ = 0;  ///< while stopped
};

}  // namespace em::mockel
