// HTTP/1.1 server on an io::Loop: a SO_REUSEPORT listener with multishot accept, connections
// with multishot recv, keep-alive, pipelining (one request handled at a time per connection, so
// responses leave in request order), limits (413/431), slow-client timeouts (408) and graceful
// shutdown.
//
// Threads: a Server and its connections belong to the loop thread that called listen(); every
// method runs there. Memory: connections come from a pool that grows up to connections_max and is
// reused (a connection's buffers keep their grown size), so steady-state traffic allocates
// nothing. A Server must outlive its loop's last turn (destroy it in the loop's teardown).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "base/buffer.h"
#include "base/result.h"
#include "http/parser.h"
#include "http/writer.h"
#include "io/loop.h"
#include "io/socket.h"

namespace em::http {

class ServerConn;

/// What a server does with requests (the proxy, the admin API, the mock EL).
class Handler {
  public:
    virtual ~Handler() = default;
    /// A complete request arrived. The Request views (and its body) are valid only during this
    /// call: copy what must outlive it. The handler must answer exactly once, now or later, by
    /// writing into conn.out() and calling conn.send() — later only through a ConnRef that is
    /// still valid (the client may have gone away meanwhile).
    virtual void on_request(ServerConn& conn, const Request& request) = 0;
};

struct ServerConfig {
    Limits limits;
    uint32_t connections_max = 4096;
    uint32_t header_timeout_ms = 10'000;  ///< first byte of a request to the end of its head
    uint32_t body_timeout_ms = 60'000;    ///< end of the head to the end of the body; also sends
    uint32_t idle_timeout_ms = 120'000;   ///< keep-alive connection waiting for a request
    int backlog = 4096;                   ///< listen(2) backlog (capped by net.core.somaxconn)
    const char* name = "http";            ///< for logs
};

struct ServerStats {
    uint64_t accepted = 0;
    uint64_t rejected_full = 0;  ///< closed at once: connections_max reached
    uint64_t requests = 0;
    uint64_t bad_requests = 0;  ///< answered 4xx/5xx by the parser (400/413/431/501/505)
    uint64_t timeouts = 0;      ///< 408 or idle close
    uint64_t aborted = 0;       ///< closed with a request in flight
};

/// A checked reference to a connection for answering later: valid() turns false when the
/// connection closed or was reused for another client.
struct ConnRef {
    ServerConn* conn = nullptr;
    uint64_t generation = 0;
    bool valid() const;
};

class ServerConn {
  public:
    /// Where the handler writes the response (already cleared for it).
    ByteBuffer& out() { return out_; }
    /// Sends what the handler wrote in out() as the answer to the current request.
    void send();
    /// Convenience: a whole response with a body.
    void respond(int status, std::string_view content_type, std::string_view body);
    /// Keep-alive of the current request (write it into the response head).
    bool keep_alive() const { return keep_alive_; }
    /// Time the current request became complete (loop clock).
    uint64_t request_ns() const { return request_ns_; }
    ConnRef ref() { return ConnRef{this, generation_}; }
    /// Bytes readable from p (inside the current request) to the end of the receive buffer,
    /// padding included: what simdjson needs to parse the body in place.
    size_t readable_bytes_from(const char* p) const {
        return static_cast<size_t>(in_.data() + in_.capacity() + ByteBuffer::padding_bytes - p);
    }
    io::Loop& loop() { return *loop_; }
    /// Free for the handler: per-request state (reset to 0 for each request).
    uint64_t user = 0;
    void* user_ptr = nullptr;

  private:
    friend class Server;
    friend struct ConnRef;
    enum class State : uint8_t { free, reading, handling, sending, closing };

    static void on_recv(io::Completion* c, int32_t result, uint32_t flags);
    static void on_send(io::Completion* c, int32_t result, uint32_t flags);
    static void on_close(io::Completion* c, int32_t result, uint32_t flags);
    static void on_timer(io::Timer* t);
    void start(int fd);
    void process();
    void reject(int status, std::string_view reason);
    void begin_close();
    void maybe_recycle();
    void arm_timer(uint32_t ms);
    void send_pending();

    class Server* server_ = nullptr;
    io::Loop* loop_ = nullptr;
    int fd_ = -1;
    State state_ = State::free;
    uint64_t generation_ = 1;
    bool keep_alive_ = true;
    bool close_after_send_ = false;
    bool recv_armed_ = false;
    bool send_in_flight_ = false;
    bool close_in_flight_ = false;
    bool continue_sent_ = false;
    bool interim_ = false;  ///< the send in flight is a 100 Continue, not the answer
    bool peer_closed_ = false;
    uint64_t request_ns_ = 0;
    size_t sent_ = 0;
    ByteBuffer in_;
    ByteBuffer out_;
    RequestParser parser_;
    io::Completion recv_{};
    io::Completion send_{};
    io::Completion close_{};
    io::Timer timer_{};

  public:
    explicit ServerConn(const Limits& limits);
};

class Server {
  public:
    Server() = default;
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    /// Binds (SO_REUSEPORT) and starts accepting on the calling loop thread.
    Result<void> listen(io::Loop& loop, const io::Address& address, Handler& handler,
                        const ServerConfig& config);
    /// The bound address (to learn an ephemeral port).
    const io::Address& address() const { return address_; }
    /// Graceful shutdown: stop accepting, close idle connections, let in-flight requests finish
    /// (their responses say Connection: close).
    void shutdown();
    /// Connections open and requests being handled (the drain condition is both zero).
    uint32_t connections() const { return open_; }
    uint32_t requests_in_flight() const { return in_flight_; }
    const ServerStats& stats() const { return stats_; }

  private:
    friend class ServerConn;
    static void on_accept(io::Completion* c, int32_t result, uint32_t flags);
    ServerConn* take_conn();
    void give_back(ServerConn* conn);

    io::Loop* loop_ = nullptr;
    Handler* handler_ = nullptr;
    ServerConfig config_;
    io::Address address_;
    int listen_fd_ = -1;
    bool shutting_down_ = false;
    io::Completion accept_{};
    std::vector<std::unique_ptr<ServerConn>> conns_;
    std::vector<ServerConn*> free_;
    uint32_t open_ = 0;
    uint32_t in_flight_ = 0;
    ServerStats stats_;
};

}  // namespace em::http
