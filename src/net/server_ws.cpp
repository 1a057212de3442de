// ServerConn's WebSocket mode (net/server.h "WebSocket", net/ws_conn.h): the frames of an
// upgraded connection. In a file of its own so that the HTTP path (server.cpp) stays as it was.
#include <cstdio>

#include "base/assert.h"
#include "base/log.h"
#include "net/server.h"

namespace em::http {

namespace {
constexpr uint64_t ns_per_ms = 1'000'000;
}  // namespace

void ServerConn::upgrade_websocket(WsHandler& handler, const WsConfig& config) {
    EM_ASSERT(state_ == State::handling && !ws_);
    server_->in_flight_--;
    release_body();
    set_state(State::websocket);
    loop_->timer_cancel(&timer_);
    ws_ = std::make_unique<WsSession>(config, handler);
    ServerStats& stats = server_->counters();
    count(stats.ws_upgrades);
    count(stats.ws_open);
    ws_->queue.push_raw(buffers_->out.view());  // the 101, first on the wire
    buffers_->out.clear();
    ws_flush();
}

void ServerConn::ws_received(const char* data, size_t n) {
    if (ws_->closing) return;  // after our close frame: read and discarded
    if (!buffers_->in.append(data, n)) {
        // Cannot happen: the parser takes every byte it is given (a partial header it keeps).
        ws_close(ws_close::too_big, "receive buffer full");
        return;
    }
    ws_read();
}

void ServerConn::ws_read() {
    ByteBuffer& in = buffers_->in;
    size_t used = 0;
    uint64_t generation = generation_;
    while (used < in.size() && !ws_->closing) {
        std::span<uint8_t> rest(reinterpret_cast<uint8_t*>(in.data()) + used, in.size() - used);
        WsEvent event = ws_->parser.parse(rest);
        used += event.consumed;
        if (event.kind == WsEventKind::incomplete) break;
        ws_event(event);
        if (generation != generation_) return;  // closed while its message was handled
    }
    if (ws_->closing) used = in.size();
    in.consume_front(used);
}

void ServerConn::ws_event(const WsEvent& event) {
    switch (event.kind) {
        case WsEventKind::data:
            if (!ws_->message.append(event.payload.data(), event.payload.size())) {
                ws_close(ws_close::too_big, "message over message_bytes_max");
                return;
            }
            if (event.fin) ws_deliver();
            break;
        case WsEventKind::ping:
            if (!ws_->queue.push(WsOpcode::pong, event.payload)) {
                ws_policy_close(ws_header_bytes(event.payload.size(), false) +
                                event.payload.size());
                return;
            }
            ws_flush();
            break;
        case WsEventKind::close:
            ws_->peer_close_seen = true;
            // Echo the code (RFC 6455 5.5.1); a close without one is answered 1000.
            ws_close(event.close_code == ws_close::no_status ? ws_close::normal : event.close_code,
                     "");
            break;
        case WsEventKind::error:
            count(server_->counters().ws_closed_protocol);
            EM_LOG_LIMITED(LogLevel::info, 2, "%s: WebSocket client failed with %u: %.*s",
                           server_->config_.name, ws_->parser.error_close_code(),
                           static_cast<int>(ws_->parser.error_reason().size()),
                           ws_->parser.error_reason().data());
            ws_close(ws_->parser.error_close_code(), ws_->parser.error_reason());
            break;
        case WsEventKind::pong:
        case WsEventKind::incomplete:
            break;
    }
}

void ServerConn::ws_deliver() {
    count(server_->counters().ws_messages_in);
    request_ns_ = loop_->now_ns();
    ByteBuffer& message = ws_->message;
    uint64_t generation = generation_;
    ws_->handler->on_ws_message(*this, message.view(),
                                message.capacity() + ByteBuffer::padding_bytes);
    if (generation != generation_) return;
    message.clear();
    if (message.capacity() > ws_->config.buffer_keep_bytes_max) message.shrink_to(4096);
    ws_count_kept(ws_->settle());
}

void ServerConn::ws_count_kept(int64_t change) {
    if (change != 0)
        server_->counters().ws_kept_bytes.fetch_add(static_cast<uint64_t>(change),
                                                    std::memory_order_relaxed);
}

bool ServerConn::ws_send_text(std::string_view text) {
    if (state_ != State::websocket || ws_->closing) return false;
    std::span<const uint8_t> payload(reinterpret_cast<const uint8_t*>(text.data()), text.size());
    if (!ws_->queue.push(WsOpcode::text, payload)) {
        ws_policy_close(ws_header_bytes(text.size(), false) + text.size());
        return false;
    }
    count(server_->counters().ws_messages_out);
    ws_flush();
    return true;
}

void ServerConn::ws_policy_close(size_t frame_bytes) {
    count(server_->counters().ws_closed_policy);
    char reason[WsParser::error_reason_bytes_max + 1];
    int n = std::snprintf(reason, sizeof reason,
                          "send queue full: %zu bytes queued + %zu > [rpc.ws] send_queue_bytes "
                          "(%zu); read faster",
                          ws_->queue.queued_bytes(), frame_bytes, ws_->queue.bytes_max());
    size_t size = n < 0 ? 0 : std::min(static_cast<size_t>(n), sizeof reason - 1);
    EM_LOG_LIMITED(LogLevel::info, 2, "%s: WebSocket client closed with 1008: %.*s",
                   server_->config_.name, static_cast<int>(size), reason);
    ws_close(ws_close::policy_violation, std::string_view(reason, size));
}

// Our close frame goes behind what is queued; from now on input is discarded. The connection
// closes when the frame has left and the peer's close came (or the peer hung up), else when
// close_linger_ms is over: a client that stopped reading sees the code when it resumes.
void ServerConn::ws_close(uint16_t code, std::string_view reason) {
    if (state_ != State::websocket || ws_->closing) return;
    ws_->closing = true;
    ws_->queue.push_close(code, reason);
    loop_->timer_start(&timer_,
                       loop_->now_ns() + uint64_t{ws_->config.close_linger_ms} * ns_per_ms);
    ws_flush();
}

void ServerConn::ws_flush() {
    ws_update_gauge();
    if (send_in_flight_) return;
    std::span<const char> bytes = ws_->queue.next();
    if (!bytes.empty()) {
        loop_->send(&send_, fd_, bytes.data(), bytes.size());
        send_in_flight_ = true;
        return;
    }
    // Everything left, our close frame too: the peer already said goodbye, so close now.
    if (ws_->closing && (ws_->peer_close_seen || peer_closed_)) {
        begin_close();
        return;
    }
    ws_count_kept(ws_->settle());
}

void ServerConn::ws_on_send(int32_t result) {
    if (result < 0) {
        begin_close();
        return;
    }
    ws_->queue.sent(static_cast<size_t>(result));
    ws_flush();
}

void ServerConn::ws_update_gauge() {
    ServerStats& stats = server_->counters();
    size_t now = ws_->queue.queued_bytes();
    stats.ws_queue_bytes.fetch_add(static_cast<uint64_t>(now - ws_->gauge_bytes),
                                   std::memory_order_relaxed);
    ws_->gauge_bytes = now;
    if (now > stats.ws_queue_peak_bytes.load(std::memory_order_relaxed))
        stats.ws_queue_peak_bytes.store(now, std::memory_order_relaxed);
}

// From begin_close: the connection stops being a WebSocket (its refs are invalid already).
void ServerConn::ws_closing() {
    ServerStats& stats = server_->counters();
    stats.ws_open.fetch_sub(1, std::memory_order_relaxed);
    stats.ws_queue_bytes.fetch_sub(ws_->gauge_bytes, std::memory_order_relaxed);
    ws_->gauge_bytes = 0;
    ws_count_kept(ws_->release());
    ws_->handler->on_ws_closed(*this);
}

}  // namespace em::http
