#include "listener/rpc_ws.h"

#include <cstdio>

#include "base/assert.h"
#include "base/log.h"
#include "http/websocket.h"
#include "http/writer.h"

namespace em::listener {

RpcWebSocket::RpcWebSocket(http::Handler& requests, const RpcWsConfig& config,
                           http::ServerStats& stats)
    : requests_(requests), config_(config), stats_(stats) {}

void RpcWebSocket::refuse(http::ServerConn& conn, int status, std::string_view message) {
    ByteBuffer& out = conn.out();
    out.clear();
    http::write_response(out, status, "text/plain", message, conn.keep_alive());
    conn.send();
}

void RpcWebSocket::upgrade(http::ServerConn& conn, const http::Request& request,
                           std::string_view key) {
    http::ServerStats& stats = stats_;
    Result<http::WsUpgrade> up = http::ws_check_upgrade(request);
    if (!up) {
        http::count(stats.ws_refused);
        ByteBuffer& out = conn.out();
        out.clear();
        http::ws_write_rejection(out, up.error());
        conn.send();
        return;
    }
    if (stats_.ws_open.load(std::memory_order_relaxed) >= config_.connections_max) {
        http::count(stats.ws_refused);
        char message[128];
        std::snprintf(message, sizeof message,
                      "WebSocket connections: [rpc.ws] connections_max (%u) reached; retry later",
                      config_.connections_max);
        refuse(conn, 503, message);
        return;
    }
    uint32_t slot;
    if (!free_.empty()) {
        slot = free_.back();
        free_.pop_back();
    } else {
        slot = static_cast<uint32_t>(clients_.size());
        clients_.emplace_back();
    }
    Client& c = clients_[slot];
    c.authorization.clear();
    if (!key.empty()) c.authorization.append("Bearer ").append(key);
    c.forwarded_for.clear();
    c.real_ip.clear();
    c.has_forwarded_for = c.has_real_ip = false;
    for (const http::Header& h : request.headers) {
        if (http::iequals(h.name, "x-forwarded-for")) {
            c.forwarded_for.assign(h.value);
            c.has_forwarded_for = true;
        } else if (http::iequals(h.name, "x-real-ip")) {
            c.real_ip.assign(h.value);
            c.has_real_ip = true;
        }
    }
    c.open = true;
    ByteBuffer& out = conn.out();
    out.clear();
    bool fits = http::ws_write_accept(out, *up);
    EM_ASSERT(fits);
    conn.user = slot;
    conn.upgrade_websocket(*this, config_.ws);
}

void RpcWebSocket::enable_subscriptions(io::Loop& loop, HeadsFeed& feed) {
    heads_ = std::make_unique<ShardHeads>(loop, feed, config_.subscriptions_per_connection_max);
}

void RpcWebSocket::on_ws_message(http::ServerConn& conn, std::string_view message, size_t) {
    if (heads_ && heads_->handle(conn, message)) return;
    const Client& c = clients_[conn.user];
    http::Request request;
    request.method = http::Method::post;
    request.method_text = "POST";
    request.target = "/";
    request.authorization = c.authorization;
    http::Header headers[2];
    size_t count = 0;
    if (c.has_forwarded_for) headers[count++] = {"X-Forwarded-For", c.forwarded_for};
    if (c.has_real_ip) headers[count++] = {"X-Real-IP", c.real_ip};
    request.headers = std::span<const http::Header>(headers, count);
    request.body = message;
    request.content_length = message.size();
    requests_.on_request(conn, request);
}

void RpcWebSocket::on_ws_closed(http::ServerConn& conn) {
    Client& c = clients_[conn.user];
    EM_ASSERT(c.open);
    c.open = false;
    if (heads_) heads_->on_closed(conn);
    free_.push_back(static_cast<uint32_t>(conn.user));
}

}  // namespace em::listener
