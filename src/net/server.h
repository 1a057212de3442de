// HTTP/1.1 server on an io::Loop: a SO_REUSEPORT listener with multishot accept, connections
// with multishot recv, keep-alive, pipelining (one request handled at a time per connection, so
// responses leave in request order), limits (413/431), deadlines for slow clients (408),
// eviction at connections_max, and graceful shutdown.
//
// Slow clients (slowloris): every limit on a client is a deadline or a budget, never a timer that
// bytes restart. A request's head must be complete header_timeout_ms after the request started,
// its body body_timeout_ms after the head, at body_rate_min_bytes_s on average once it has taken a
// second, and an answer must leave within body_timeout_ms. Only a keep-alive connection with no
// byte of a next request is under the idle timer. At connections_max a new connection evicts the
// connection that has waited longest without a complete request (408), else the longest idle
// one, so a flood of partial requests cannot lock out a client that sends whole requests.
//
// Buffered bodies: a request's body is charged to a process-wide ByteBudget (shared by every
// server of the process, [limits] buffered_body_bytes_max) from the end of its head (its
// Content-Length; a chunked body as it grows) until its answer has left or the connection
// closed. A body that would take the total over the budget is answered 503 with Retry-After and
// the connection closed. A connection buffer that grew past buffer_keep_bytes_max for a request
// shrinks back to its initial size when that request is done.
//
// Threads: a Server and its connections belong to the loop thread that called listen(); every
// method runs there (the counters, ServerStats, may be read from any thread; the body budget is
// shared with other threads).
//
// Memory: connections come from a pool that grows up to connections_max and is reused. A
// connection holds its RequestBuffers (receive and answer buffers, parser: ~10 KiB) only while
// it has a request: from its first byte until the answer has left with nothing more buffered.
// An idle keep-alive connection (or one that sent nothing yet) is ~0.25 KiB. The buffers are
// lent from a second pool and taken back with their grown size (up to buffer_keep_bytes_max),
// so steady-state traffic allocates nothing; every buffer_trim_interval_ms the spares beyond the
// most lent at once in the last two intervals (at least spare_buffers_min) are freed, so a
// burst's memory goes back. The wait lists are intrusive. A Server must outlive its loop's last
// turn (destroy it in the loop's teardown).
//
// WebSocket: a handler may answer a request with upgrade_websocket() (after writing the 101 into
// out()); the connection then leaves HTTP for good and carries frames (net/ws_conn.h: the
// bounded send queue, the parser, the handler of messages; server_ws.cpp). Requests and answers
// are no longer paired: many messages may be handled at once and answered in any order with
// ws_send_text(). No HTTP deadline or idle timer applies to it; the only timer is the linger
// after our close frame. The HTTP path pays one state comparison for this.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "base/budget.h"
#include "base/buffer.h"
#include "base/result.h"
#include "http/parser.h"
#include "http/writer.h"
#include "io/ip.h"
#include "io/loop.h"
#include "io/socket.h"
#include "net/server_stats.h"
#include "net/ws_conn.h"

namespace em::http {

class ServerConn;

/// What a connection holds only while it has a request: the bytes received, the answer being
/// written and sent, and the parser (with its header array). Lent by the Server's pool.
struct RequestBuffers {
    /// answer_bytes_max: the largest answer (0: limits.body_bytes_max).
    explicit RequestBuffers(const Limits& limits, size_t answer_bytes_max = 0);
    ByteBuffer in;
    ByteBuffer out;
    RequestParser parser;
};

/// What a server does with requests (the proxy, the admin API, the validator guard).
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
    /// Open connections. At the limit a new connection evicts one waiting for a request.
    uint32_t connections_max = 4096;
    /// Deadline for a whole head: from the request's start (accept, for a connection's first
    /// request; its first byte, or the end of the previous answer if already buffered, after).
    uint32_t header_timeout_ms = 10'000;
    /// Deadline for a whole body from the end of its head; also for sending a whole answer.
    uint32_t body_timeout_ms = 60'000;
    /// A body still arriving 1 s after its head must have averaged at least this many bytes/s
    /// since the head (0: no minimum). A body that arrives within a second is never checked.
    uint32_t body_rate_min_bytes_s = 65'536;
    /// Idle timer of a keep-alive connection with no byte of a next request (a byte starts the
    /// next request, which is under header_timeout_ms from then on).
    uint32_t idle_timeout_ms = 120'000;
    int backlog = 4096;         ///< listen(2) backlog (capped by net.core.somaxconn)
    const char* name = "http";  ///< for logs
    /// Where to count (caller-owned, outlives the server; read from any thread); nullptr: the
    /// server's own counters.
    ServerStats* stats = nullptr;
    /// The process-wide budget of buffered request bodies (buffered_body_bytes_max), shared by
    /// the servers of every thread; caller-owned, outlives the server. nullptr: no budget.
    ByteBudget* body_budget = nullptr;
    /// A connection buffer (request or answer) grown past this shrinks back to its initial size
    /// once its request is done: one large request does not pin its memory for the
    /// connection's life. Buffers up to it are kept, so steady traffic allocates nothing.
    size_t buffer_keep_bytes_max = 1u << 20;
    /// Every this often, spare RequestBuffers beyond the most lent at once in the last two
    /// intervals (at least Server::spare_buffers_min) are freed.
    uint32_t buffer_trim_interval_ms = 10'000;
    /// Read each accepted connection's peer address (getpeername, once per connection) for
    /// ServerConn::peer(): the sync role tells consensus clients apart by it.
    bool record_peer = false;
    /// The largest answer a handler may write into out() (0: limits.body_bytes_max).
    size_t answer_bytes_max = 0;
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
    /// Where the handler writes the response (already cleared for it). Only while the
    /// connection has a request (in on_request, or later through a valid ConnRef).
    ByteBuffer& out() { return buffers_->out; }
    /// Sends what the handler wrote in out() as the answer to the current request.
    void send();
    /// Convenience: a whole response with a body.
    void respond(int status, std::string_view content_type, std::string_view body);
    /// A fault, not an answer: closes the connection of the request being handled without
    /// answering it, with a FIN, or with a RST when `reset` (SO_LINGER 0). For test doubles
    /// that must misbehave on purpose (the mock EL's close and reset rules); a real handler
    /// always answers. Counted as aborted; outstanding ConnRefs turn invalid.
    void drop(bool reset);
    /// Keep-alive of the current request (write it into the response head).
    bool keep_alive() const { return keep_alive_; }
    /// Time the current request became complete (loop clock).
    uint64_t request_ns() const { return request_ns_; }
    ConnRef ref() { return ConnRef{this, generation_}; }
    /// Bytes readable from p (inside the current request) to the end of the receive buffer,
    /// padding included: what simdjson needs to parse the body in place.
    size_t readable_bytes_from(const char* p) const {
        const ByteBuffer& in = ws_ ? ws_->message : buffers_->in;
        return static_cast<size_t>(in.data() + in.capacity() + ByteBuffer::padding_bytes - p);
    }
    io::Loop& loop() { return *loop_; }
    /// The peer's IP address (invalid unless ServerConfig::record_peer).
    const io::IpAddress& peer() const { return peer_; }
    /// Switches the connection being handled to WebSocket framing: sends what the handler wrote
    /// in out() (the 101) in place of an answer, then reads frames and hands each message to
    /// `handler`. The request counts as answered.
    void upgrade_websocket(WsHandler& handler, const WsConfig& config);
    /// True once upgrade_websocket() was called (until the connection closes).
    bool websocket() const { return state_ == State::websocket; }
    /// Queues one text message to a WebSocket client. False when it was not queued: the
    /// connection is closing, or its queue would exceed send_queue_bytes (then it is closed with
    /// 1008, the close frame queued behind the bytes already queued).
    bool ws_send_text(std::string_view text);
    /// Bytes queued to this WebSocket client and not yet sent (0 for HTTP).
    size_t ws_queued_bytes() const { return ws_ ? ws_->queue.queued_bytes() : 0; }
    /// Free for the handler: per-request state (reset to 0 for each request; a WebSocket
    /// connection's stays as its handler set it).
    uint64_t user = 0;
    void* user_ptr = nullptr;

  private:
    friend class Server;
    friend struct ConnRef;
    /// idle (keep-alive, no byte of a next request), head and body are the reading states; a
    /// connection in one of them is on one of the server's wait lists (idle, or partial).
    /// websocket: upgraded (net/ws_conn.h), on no wait list.
    enum class State : uint8_t { free, idle, head, body, handling, sending, closing, websocket };

    static void on_recv(io::Completion* c, int32_t result, uint32_t flags);
    static void on_send(io::Completion* c, int32_t result, uint32_t flags);
    static void on_close(io::Completion* c, int32_t result, uint32_t flags);
    static void on_timer(io::Timer* t);
    void start(int fd);
    bool reading() const {
        return state_ == State::idle || state_ == State::head || state_ == State::body;
    }
    void set_state(State next);
    void process();
    void begin_request();
    void begin_body();
    void hand_over();
    void become_idle();
    bool has_bytes() const { return buffers_ && !buffers_->in.empty(); }
    void give_back_buffers_if_done();
    size_t body_received_bytes() const { return buffers_->in.size() - body_offset_; }
    bool body_rate_ok(uint64_t now_ns) const;
    void arm_body_check(uint64_t now_ns);
    void check_body(uint64_t now_ns);
    uint64_t body_bytes_to_reserve() const;
    bool reserve_body(uint64_t bytes);
    void release_body();
    void refuse_body(uint64_t bytes);
    void finish_request();
    void cut(std::string_view reason);
    void reject(int status, std::string_view reason);
    void answer_and_close(int status, std::string_view reason, uint64_t send_deadline_ns,
                          uint32_t retry_after_s = 0);
    void begin_close();
    void maybe_recycle();
    void send_pending();
    // WebSocket mode (server_ws.cpp).
    void ws_received(const char* data, size_t n);
    void ws_read();
    void ws_event(const WsEvent& event);
    void ws_deliver();
    void ws_close(uint16_t code, std::string_view reason);
    void ws_policy_close(size_t frame_bytes);
    void ws_flush();
    void ws_on_send(int32_t result);
    void ws_closing();
    void ws_update_gauge();
    void ws_count_kept(int64_t change);

    class Server* server_ = nullptr;
    io::Loop* loop_ = nullptr;
    int fd_ = -1;
    State state_ = State::free;
    uint64_t generation_ = 1;
    bool keep_alive_ = true;
    bool close_after_send_ = false;
    bool head_request_ = false;  ///< the request being answered is HEAD: send no body
    bool recv_armed_ = false;
    bool send_in_flight_ = false;
    bool close_in_flight_ = false;
    bool continue_sent_ = false;
    bool interim_ = false;  ///< the send in flight is a 100 Continue (state body), not the answer
    bool peer_closed_ = false;
    io::IpAddress peer_{};
    uint64_t request_ns_ = 0;
    uint64_t deadline_ns_ = 0;    ///< the current body's deadline (loop clock)
    uint64_t body_start_ns_ = 0;  ///< when the current head ended (the rate is measured from it)
    size_t body_offset_ = 0;      ///< bytes of in_ before the current body
    uint64_t body_reserved_bytes_ = 0;  ///< what the current body holds of the body budget
    size_t sent_ = 0;
    ServerConn* wait_prev_ = nullptr;  ///< links on the server's wait list for state_
    ServerConn* wait_next_ = nullptr;
    std::unique_ptr<RequestBuffers> buffers_;  ///< while the connection has a request
    std::unique_ptr<WsSession> ws_;            ///< once upgraded, until recycled
    io::Completion recv_{};
    io::Completion send_{};
    io::Completion close_{};
    io::Timer timer_{};

  public:
    ServerConn();
};

class Server {
  public:
    /// Accepted connections that wait for the slot of a connection evicted for them (a few
    /// loop turns: the victim's 408 leaves, then it closes).
    static constexpr uint32_t admit_queue_max = 64;
    /// Spare RequestBuffers kept however quiet the server is (a burst of this many requests
    /// allocates nothing).
    static constexpr uint32_t spare_buffers_min = 64;

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
    /// A reload's new connections_max and deadlines (header, body, body rate, idle): each
    /// applies from the next time it is armed; limits and buffers stay as they were.
    void set_deadlines(const ServerConfig& config);
    /// Connections open and requests being handled (the drain condition is both zero).
    uint32_t connections() const { return open_; }
    uint32_t requests_in_flight() const { return in_flight_; }
    /// RequestBuffers held by connections now, and kept spare in the pool.
    uint32_t request_buffers_lent() const { return buffers_lent_; }
    size_t request_buffers_spare() const { return spare_buffers_.size(); }
    const ServerStats& stats() const { return *stats_; }

  private:
    friend class ServerConn;
    /// Connections in the order they started waiting: oldest at head (intrusive, O(1)).
    struct WaitList {
        ServerConn* head = nullptr;
        ServerConn* tail = nullptr;
    };
    static void on_accept(io::Completion* c, int32_t result, uint32_t flags);
    void admit(int fd);
    void evict(ServerConn* victim, ServerStats::Counter& counter);
    void enqueue_admit(int fd);
    int dequeue_admit();
    void open_conn(ServerConn* conn, int fd);
    ServerConn* take_conn();
    void give_back(ServerConn* conn);
    WaitList* wait_list(ServerConn::State state);
    std::unique_ptr<RequestBuffers> lend_buffers();
    void take_back_buffers(std::unique_ptr<RequestBuffers> buffers);
    void arm_trim();
    static void on_trim(io::Timer* timer);
    static void link(WaitList& list, ServerConn* conn);
    static void unlink(WaitList& list, ServerConn* conn);
    ServerStats& counters() { return *stats_; }

    io::Loop* loop_ = nullptr;
    Handler* handler_ = nullptr;
    ServerConfig config_;
    io::Address address_;
    int listen_fd_ = -1;
    bool shutting_down_ = false;
    io::Completion accept_{};
    std::vector<std::unique_ptr<ServerConn>> conns_;
    std::vector<ServerConn*> free_;
    WaitList partial_;  ///< head or body: no complete request yet (since the request started)
    WaitList idle_;     ///< keep-alive between requests (since the last answer left)
    std::array<int, admit_queue_max> admit_queue_{};  ///< a ring of accepted fds
    uint32_t admit_first_ = 0;
    uint32_t admit_count_ = 0;
    uint32_t open_ = 0;
    uint32_t in_flight_ = 0;
    std::vector<std::unique_ptr<RequestBuffers>> spare_buffers_;
    uint32_t buffers_lent_ = 0;
    uint32_t buffers_lent_peak_ = 0;       ///< most lent at once in this trim interval
    uint32_t buffers_lent_peak_prev_ = 0;  ///< ... and in the one before
    io::Timer trim_timer_{};
    ServerStats own_stats_;
    ServerStats* stats_ = &own_stats_;
};

}  // namespace em::http
