// What a server connection holds once it switched to WebSocket framing (RFC 6455, the rpc
// listener's upgrades; http/websocket.h is the codec): the bounded send queue, the frame parser,
// the message being assembled, and who gets the messages.
//
// Threads: owned by one http::ServerConn, used only on its loop thread. WsSendQueue is sans-I/O
// (plain buffers; the connection hands its bytes to the socket), so it is unit-tested alone.
//
// Memory: a WebSocket connection holds at most send_queue_bytes of answers (plus one close
// frame, or the 101, of headroom) in two buffers that swap (one on the wire, one filling), and
// one message of at most message_bytes_max being assembled. Nothing grows past that: an answer
// that would take the queue over send_queue_bytes is refused, and the connection is closed with
// 1008 (the close frame queued behind the bytes already queued).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "base/budget.h"
#include "base/buffer.h"
#include "http/websocket.h"

namespace em::http {

class ServerConn;

/// What a WebSocket connection's owner does with its messages.
class WsHandler {
  public:
    virtual ~WsHandler() = default;
    /// A whole text or binary message. `capacity`: bytes readable from message.data() (padding
    /// included, for simdjson). The view is valid only during the call; answers go out with
    /// conn.ws_send_text(), in any order, now or later through a valid ConnRef.
    virtual void on_ws_message(ServerConn& conn, std::string_view message, size_t capacity) = 0;
    /// The connection is closing (close handshake, error, 1008, peer gone or shutdown); its
    /// ConnRefs are already invalid. State kept for it can go.
    virtual void on_ws_closed(ServerConn& conn) = 0;
};

/// One WebSocket connection's limits ([rpc.ws]).
struct WsConfig {
    WsLimits limits;                          ///< message_bytes_max (frames and whole messages)
    size_t send_queue_bytes = 4u << 20;       ///< outgoing bytes queued at most (then 1008)
    uint32_t close_linger_ms = 2000;          ///< after our close frame: read and discard this long
    size_t buffer_keep_bytes_max = 1u << 20;  ///< a message buffer grown past this shrinks back
    /// What idle connections may keep of their grown buffers, all together ([rpc.ws]
    /// grown_buffers_bytes_max; WsSession::settle). Null: every grown buffer shrinks back.
    ByteBudget* grown_budget = nullptr;
};

/// The outgoing bytes of one connection: frames queued behind the bytes on the wire, at most
/// bytes_max of them (a close frame or the 101 always fits beyond that). Sans-I/O.
class WsSendQueue {
  public:
    /// Room kept beyond bytes_max for one close frame (or the 101 answer).
    static constexpr size_t headroom_bytes = 512;

    explicit WsSendQueue(size_t bytes_max);
    /// Queues one unmasked frame; false (nothing queued) when it would take the queue over
    /// bytes_max, or after a close frame was queued.
    [[nodiscard]] bool push(WsOpcode op, std::span<const uint8_t> payload);
    /// Queues raw bytes (the 101 answer, at most headroom_bytes) ahead of any frame.
    void push_raw(std::string_view bytes);
    /// Queues a close frame (always fits); nothing is queued after it.
    void push_close(uint16_t code, std::string_view reason);
    /// The bytes to send next (empty: nothing queued). Call only with no send in flight.
    std::span<const char> next();
    /// n bytes of next() left.
    void sent(size_t n);
    /// Bytes queued and not yet sent.
    size_t queued_bytes() const { return front_.size() - sent_ + back_.size(); }
    /// A close frame was queued (nothing more will be).
    bool close_queued() const { return close_queued_; }
    /// Bytes the two buffers hold from the allocator (for the memory bound's tests).
    size_t capacity_bytes() const { return front_.capacity() + back_.capacity(); }
    size_t bytes_max() const { return bytes_max_; }
    /// Bytes the two buffers hold beyond their initial size (0 unless they grew).
    size_t grown_bytes() const;
    /// With nothing queued: both buffers back to their initial size (a fresh block each).
    void shrink();

  private:
    size_t bytes_max_;
    ByteBuffer front_;  ///< on the wire from sent_
    ByteBuffer back_;   ///< filling behind it
    size_t sent_ = 0;
    bool close_queued_ = false;
};

/// A ServerConn's WebSocket state (ServerConn::upgrade_websocket).
///
/// Grown buffers: a large message or answer grows the message buffer or the queue's. While a
/// connection is idle, it keeps them grown (so a client that steadily sends large messages
/// allocates nothing per message) only within a budget shared by every connection
/// (WsConfig::grown_budget); past it they shrink back to their initial 4 KiB. settle() keeps
/// kept_bytes (this connection's reservation in the budget) equal to what its idle buffers hold
/// beyond their initial size; release() gives it back when the connection closes.
struct WsSession {
    WsSession(const WsConfig& config, WsHandler& handler);
    ~WsSession() { release(); }
    WsSession(const WsSession&) = delete;
    WsSession& operator=(const WsSession&) = delete;
    /// After a message was delivered or the queue emptied: the idle buffers' growth reserved in
    /// the budget, or (the budget full) those buffers shrunk. Returns the change of kept_bytes.
    int64_t settle();
    /// Gives back kept_bytes (the connection is closing). Returns the change (<= 0).
    int64_t release();
    WsHandler* handler;
    WsConfig config;
    WsParser parser;
    ByteBuffer message;  ///< the message being assembled (all its fragments)
    WsSendQueue queue;
    bool closing = false;          ///< our close frame is queued: input is read and discarded
    bool peer_close_seen = false;  ///< the peer's close frame came (ours echoes it)
    size_t gauge_bytes = 0;        ///< what this connection adds to ServerStats::ws_queue_bytes
    uint64_t kept_bytes = 0;       ///< reserved in config.grown_budget for idle grown buffers
};

}  // namespace em::http
