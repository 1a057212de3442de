// The rpc listener's WebSocket side (issue 17 items 2 and 5): the upgrade on the rpc port and
// the JSON-RPC messages that follow it. A GET with an Upgrade header that passed the API-key
// check (RpcListener) is checked as an RFC 6455 opening handshake (400, or 426 for another
// version, naming what was wrong), refused 503 at [rpc.ws] connections_max, else answered 101;
// the connection then carries frames (http::ServerConn's WebSocket mode, net/ws_conn.h). Each
// text or binary message is handed to the rpc listener as if it were the body of a POST from
// the same client (the same key, the same X-Forwarded-For / X-Real-IP as the upgrade), so it
// takes the same path as an HTTP body: allow-list, budgets, cache, routing. Answers go back as
// text frames in the order they are ready (clients match them by id); an answer HTTP would have
// given a status (429) is its JSON-RPC error alone.
//
// Threads: one per rpc listener, on its loop thread. Memory: one Client (the key and the two
// forwarding headers, copied once) per open WebSocket connection, reused; a message allocates
// nothing here.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "listener/rpc_subs.h"
#include "net/server.h"

namespace em::listener {

/// [rpc.ws].
struct RpcWsConfig {
    http::WsConfig ws;                ///< message_bytes_max, send_queue_bytes, close_linger_ms
    uint32_t connections_max = 1024;  ///< WebSocket connections open at once (then 503)
    /// eth_subscribe subscriptions one connection may hold (listener/rpc_subs.h).
    uint32_t subscriptions_per_connection_max = 100;
};

class RpcWebSocket final : public http::WsHandler {
  public:
    /// `requests`: where each message goes as a POST body (the RpcListener); `stats`: the rpc
    /// server's counters (its open WebSocket connections are counted there).
    RpcWebSocket(http::Handler& requests, const RpcWsConfig& config, http::ServerStats& stats);

    /// True if the request asks to switch protocols (it has an Upgrade header).
    static bool wanted(const http::Request& request) { return !request.upgrade.empty(); }
    /// Answers an upgrade request whose API key (`key`, "" when none is needed) was checked.
    void upgrade(http::ServerConn& conn, const http::Request& request, std::string_view key);

    /// Serves eth_subscribe / eth_unsubscribe on this shard, fed by `feed` (call once, on the
    /// loop's thread, before connections come).
    void enable_subscriptions(io::Loop& loop, HeadsFeed& feed);

    void on_ws_message(http::ServerConn& conn, std::string_view message, size_t capacity) override;
    void on_ws_closed(http::ServerConn& conn) override;

  private:
    /// What every message of one connection is sent with.
    struct Client {
        std::string authorization;  ///< "Bearer KEY", or "" with no key
        std::string forwarded_for, real_ip;
        bool has_forwarded_for = false, has_real_ip = false;
        bool open = false;
    };
    void refuse(http::ServerConn& conn, int status, std::string_view message);

    http::Handler& requests_;
    RpcWsConfig config_;
    http::ServerStats& stats_;
    std::vector<Client> clients_;  ///< by slot (ServerConn::user)
    std::vector<uint32_t> free_;
    std::unique_ptr<ShardHeads> heads_;  ///< null: subscriptions not served
};

}  // namespace em::listener
