// HTTP/1.1 client connection on an io::Loop: connects on demand (with a connect deadline), sends
// one request at a time, parses the response, keeps the connection alive for the next exchange,
// and retries once on a fresh connection when a reused keep-alive connection turns out to be
// closed before any byte of the answer arrived (the classic keep-alive race).
//
// Threads: a ClientConn belongs to the loop thread that created it. Memory: its buffers keep
// their grown size across exchanges (no steady-state allocation). https endpoints: see tls.h
// (the TLS layer sits under this class when the endpoint has a TLS context).
//
// Lifetime: the connection's io_uring operations (multishot recv, send, connect, close) point
// into this object, and closing the fd does not end them (io/loop.h). So the owner destroys a
// ClientConn only when quiescent(): close() it between exchanges, keep running the loop until
// quiescent() is true, then free it (outside its callbacks). The destructor asserts this, except
// after the loop's run() has returned (Loop::ended()), when nothing can be delivered any more.
#pragma once

#include <cstdint>
#include <string>

#include "base/buffer.h"
#include "base/result.h"
#include "http/parser.h"
#include "io/loop.h"
#include "io/socket.h"

namespace em::http {

class TlsSession;
struct TlsContext;

/// Where a client connects (resolved at start-up).
struct Endpoint {
    io::Address address;
    std::string host_header;    ///< Host: value ("127.0.0.1:8551")
    std::string target = "/";   ///< request target
    TlsContext* tls = nullptr;  ///< non-null for https
    std::string server_name;    ///< SNI and certificate name for https
};

class ClientConn;

/// Receives the outcome of one exchange. Exactly one of response/error is non-null; the
/// response's views are valid only during the call. The body lies in the connection's receive
/// ByteBuffer, so at least ByteBuffer::padding_bytes (64) readable bytes follow it: simdjson may
/// parse it in place with capacity body.size() + 64. The callback may start the next exchange
/// on the same connection.
class ClientCallback {
  public:
    virtual ~ClientCallback() = default;
    virtual void on_response(ClientConn& conn, const Response* response, const Error* error) = 0;
};

class ClientConn {
  public:
    ClientConn(io::Loop& loop, const Endpoint& endpoint, const Limits& response_limits,
               uint32_t connect_timeout_ms);
    ~ClientConn();
    ClientConn(const ClientConn&) = delete;
    ClientConn& operator=(const ClientConn&) = delete;

    /// The request to send next: write a whole HTTP request here (begin_request/end_request)
    /// before start(), or only its head (end_request_head) and name the body with set_body().
    /// Cleared after each exchange.
    ByteBuffer& request() { return request_; }
    /// The body of the next request, sent after request() from where it lies (one gathered
    /// send, no copy: a newPayload's body is tens of KiB and goes to every node). It must stay
    /// readable until the callback, and the callback never comes while a send that reads it
    /// is in flight: a timeout or an early answer waits for that send's completion (a cancel
    /// makes it prompt). Under TLS it is encrypted into the records at once. Cleared after
    /// each exchange.
    void set_body(std::string_view body) { body_ = body; }
    /// A send in flight reads the set_body() bytes (never true during the callback).
    bool body_in_flight() const { return body_in_flight_; }
    /// Sends request() and reports through cb before deadline_ns (loop clock): a timeout closes
    /// the connection (a late answer could not be matched any more). One exchange at a time.
    /// The callback never runs inside start(): a failure found there (no socket, a TLS error)
    /// is delivered from the loop's next turn.
    void start(ClientCallback* cb, uint64_t deadline_ns);
    /// True between start() and the callback.
    bool busy() const { return cb_ != nullptr; }
    bool connected() const {
        return state_ == State::idle || state_ == State::sending || state_ == State::receiving;
    }
    /// Closes the connection: cancels its pending operations, shuts the socket down and closes
    /// it asynchronously (quiescent() turns true once the last of them completed). An exchange
    /// in progress is not ended: it goes on over a fresh connection.
    void close();
    /// True while an io_uring operation of this connection may still complete.
    bool ops_pending() const {
        return recv_armed_ || send_in_flight_ || connect_in_flight_ || close_in_flight_;
    }
    /// No exchange, no socket and no pending operation: the owner may destroy it now.
    bool quiescent() const { return !busy() && fd_ < 0 && !ops_pending(); }
    /// Exchanges completed on the current TCP connection (0 = fresh).
    uint64_t reuse_count() const { return reuse_count_; }
    const Endpoint& endpoint() const { return *endpoint_; }
    /// Free for the owner (pool bookkeeping).
    void* owner = nullptr;
    ClientConn* next = nullptr;

  private:
    enum class State : uint8_t {
        disconnected,
        connecting,
        tls_handshake,
        sending,
        receiving,
        idle,
        closing
    };

    static void on_connect(io::Completion* c, int32_t result, uint32_t flags);
    static void on_recv(io::Completion* c, int32_t result, uint32_t flags);
    static void on_send(io::Completion* c, int32_t result, uint32_t flags);
    static void on_close(io::Completion* c, int32_t result, uint32_t flags);
    static void on_timer(io::Timer* t);
    void connect();
    void begin_send();
    void send_more();
    /// What send_more() sends: request_ (and body_) itself on plain TCP, wire_out_ under TLS
    /// (and during a TLS handshake).
    const ByteBuffer& outgoing() const { return send_request_ ? request_ : wire_out_; }
    size_t outgoing_bytes() const {
        return send_request_ ? request_.size() + body_.size() : wire_out_.size();
    }
    void handle_bytes(const char* data, size_t bytes);
    void parse_response(bool eof);
    void fail(Errc code, const char* format, ...) __attribute__((format(printf, 3, 4)));
    void deliver(const Response* response, const Error* error);
    void drop_connection();
    bool retryable() const;

    io::Loop& loop_;
    const Endpoint* endpoint_;
    uint32_t connect_timeout_ms_;
    State state_ = State::disconnected;
    int fd_ = -1;
    ClientCallback* cb_ = nullptr;
    uint64_t deadline_ns_ = 0;
    uint64_t reuse_count_ = 0;
    bool retried_ = false;
    bool got_bytes_ = false;
    bool recv_armed_ = false;
    bool send_in_flight_ = false;
    bool connect_in_flight_ = false;
    bool close_in_flight_ = false;
    bool in_delivery_ = false;  ///< inside the callback of a complete answer
    bool in_start_ = false;     ///< inside start(): a failure is deferred to the timer
    bool has_deferred_error_ = false;
    Error deferred_error_;
    bool deferred_start_ = false;  ///< start() was called during that callback
    /// deferred_error_ waits for the send reading body_ to complete (then it is delivered).
    bool awaiting_send_ = false;
    size_t sent_ = 0;
    ByteBuffer request_;
    std::string_view body_;        ///< set_body(): sent after request_ on plain TCP
    bool body_in_flight_ = false;  ///< the send in flight is a gathered one reading body_
    iovec iov_[2] = {};            ///< the gathered send in flight (head rest, body rest)
    msghdr message_ = {};
    ByteBuffer wire_out_;        ///< TLS records to send (plain TCP sends request_ itself)
    bool send_request_ = false;  ///< outgoing() is request_ (set by begin_send)
    ByteBuffer in_;
    ResponseParser parser_;
    TlsSession* tls_ = nullptr;
    io::Completion connect_c_{};
    io::Completion recv_c_{};
    io::Completion send_c_{};
    io::Completion close_c_{};
    io::Timer timer_{};
};

}  // namespace em::http
