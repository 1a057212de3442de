#include "net/server.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "base/assert.h"
#include "base/log.h"

namespace em::http {

namespace {

constexpr uint64_t ns_per_ms = 1'000'000;
constexpr uint64_t ns_per_s = 1'000'000'000;
/// The minimum body rate is checked once a body has taken this long.
constexpr uint64_t body_rate_grace_ns = ns_per_s;
/// Between two rate checks of one body at least this long (bounds the timer work per body).
constexpr uint64_t body_rate_step_ns = 100 * ns_per_ms;
/// A 408 that cuts a request (deadline or eviction) gets this long to leave before the close.
constexpr uint64_t cut_answer_ns = ns_per_s;
/// A connection's request and answer buffers start this large (and shrink back to it).
constexpr size_t conn_buffer_initial_bytes = 4096;
/// A chunked body's budget reservation grows in steps of this many bytes (one atomic operation
/// per step, not per recv).
constexpr uint64_t chunked_reserve_step_bytes = 64 * 1024;
/// Retry-After of a 503 for the body budget: bodies complete or are cut within seconds.
constexpr uint32_t body_budget_retry_after_s = 1;

// Bytes a connection may buffer beyond one maximal request: chunk framing and a pipelined head.
size_t input_bytes_max(const Limits& limits) {
    return limits.header_bytes_max * 2 + limits.body_bytes_max + limits.body_bytes_max / 8 + 65536;
}

/// Appends text as the content of a JSON string (quotes and controls escaped).
void append_json_text(ByteBuffer& out, std::string_view text) {
    for (char ch : text) {
        unsigned char c = static_cast<unsigned char>(ch);
        if (c == '"' || c == '\\') {
            out.push_back('\\');
            out.push_back(ch);
        } else if (c < 0x20 || c >= 0x7f) {
            static constexpr char hex[] = "0123456789abcdef";
            char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            out.append(esc, 6);
        } else {
            out.push_back(ch);
        }
    }
}

/// A short reason with numbers in it, formatted on the stack.
struct Reason {
    char text[160];
    size_t size = 0;
    [[gnu::format(printf, 2, 3)]] explicit Reason(const char* format, ...) {
        va_list args;
        va_start(args, format);
        int n = std::vsnprintf(text, sizeof text, format, args);
        va_end(args);
        size = n < 0 ? 0 : std::min(static_cast<size_t>(n), sizeof text - 1);
    }
    std::string_view view() const { return {text, size}; }
};

}  // namespace

bool ConnRef::valid() const {
    return conn && conn->generation_ == generation &&
           (conn->state_ == ServerConn::State::handling ||
            conn->state_ == ServerConn::State::websocket);
}

RequestBuffers::RequestBuffers(const Limits& limits, size_t answer_bytes_max)
    : in(input_bytes_max(limits), conn_buffer_initial_bytes),
      out((answer_bytes_max ? answer_bytes_max : limits.body_bytes_max) + 65536,
          conn_buffer_initial_bytes),
      parser(limits) {}

ServerConn::ServerConn() {
    recv_.fn = on_recv;
    recv_.owner = this;
    send_.fn = on_send;
    send_.owner = this;
    close_.fn = on_close;
    close_.owner = this;
    timer_.fn = on_timer;
    timer_.owner = this;
}

void ServerConn::start(int fd) {
    fd_ = fd;
    keep_alive_ = true;
    close_after_send_ = false;
    continue_sent_ = false;
    interim_ = false;
    peer_closed_ = false;
    peer_ = server_->config_.record_peer ? io::peer_ip(fd) : io::IpAddress{};
    EM_ASSERT(!buffers_);  // a connection's buffers are lent at its first byte
    io::set_nodelay(fd);
    loop_->recv_multishot(&recv_, fd);
    recv_armed_ = true;
    begin_request();  // a connection's first request starts when it is accepted
}

void ServerConn::set_state(State next) {
    Server::WaitList* from = server_->wait_list(state_);
    Server::WaitList* to = server_->wait_list(next);
    if (from != to) {
        if (from) Server::unlink(*from, this);
        if (to) Server::link(*to, this);
    }
    state_ = next;
}

void ServerConn::on_recv(io::Completion* c, int32_t result, uint32_t flags) {
    auto* self = static_cast<ServerConn*>(c->owner);
    if (!io::cqe_more(flags)) self->recv_armed_ = false;
    if (result > 0 && self->state_ == State::websocket) {
        uint16_t id = io::cqe_buffer_id(flags);
        self->ws_received(self->loop_->buffer_data(id), static_cast<size_t>(result));
        self->loop_->release_buffer(id);
    } else if (result > 0) {
        uint16_t id = io::cqe_buffer_id(flags);
        bool fits = true;
        if (self->state_ != State::closing) {
            if (!self->buffers_) self->buffers_ = self->server_->lend_buffers();
            fits = self->buffers_->in.append(self->loop_->buffer_data(id),
                                             static_cast<size_t>(result));
        }
        self->loop_->release_buffer(id);
        bool can_answer = self->reading() && !self->send_in_flight_;
        if (!fits && self->state_ != State::closing) {
            // More than a maximal request is buffered: the client ignores our limits.
            if (can_answer)
                self->reject(413, "request exceeds the body limit");
            else
                self->begin_close();
            return;
        }
        if (can_answer) self->process();
    } else if (result == 0 || result != -ENOBUFS) {
        self->peer_closed_ = true;
        // The client went away (or its socket failed): nobody is left to answer, even a
        // request being handled; a half-received request is dropped.
        if (self->state_ != State::closing) self->begin_close();
    }
    if (self->state_ == State::closing) {
        self->maybe_recycle();
        return;
    }
    if (!self->recv_armed_ && !self->peer_closed_) {
        self->loop_->recv_multishot(&self->recv_, self->fd_);
        self->recv_armed_ = true;
    }
}

void ServerConn::process() {
    EM_DEBUG_ASSERT(reading() && !send_in_flight_ && buffers_);
    if (state_ == State::idle) begin_request();  // its first byte is here
    RequestParser& parser = buffers_->parser;
    ParseStatus status = parser.parse(buffers_->in.data(), buffers_->in.size());
    if (status == ParseStatus::error) {
        reject(parser.error_status(), parser.error_reason());
        return;
    }
    if (status == ParseStatus::incomplete) {
        if (state_ == State::head && parser.headers_done()) {
            begin_body();
        } else if (state_ == State::body && parser.request().chunked) {
            uint64_t bytes = body_bytes_to_reserve();
            if (!reserve_body(bytes)) refuse_body(bytes);
        }
        return;
    }
    hand_over();
}

// The head deadline is set once, here: bytes that arrive later do not move it.
void ServerConn::begin_request() {
    set_state(State::head);
    uint64_t ms = server_->config_.header_timeout_ms;
    loop_->timer_start(&timer_, loop_->now_ns() + ms * ns_per_ms);
}

// The body is charged to the budget here (before a 100 Continue invites it), and its buffer
// takes its declared size at once. The body deadline is set once, here; the timer also wakes for
// the minimum-rate checks.
void ServerConn::begin_body() {
    set_state(State::body);
    const Request& request = buffers_->parser.request();
    body_offset_ = buffers_->parser.head_bytes();
    uint64_t bytes = body_bytes_to_reserve();
    if (!reserve_body(bytes)) {
        refuse_body(bytes);
        return;
    }
    if (!request.chunked) buffers_->in.reserve(body_offset_ + bytes);
    uint64_t now = loop_->now_ns();
    body_start_ns_ = now;
    deadline_ns_ = now + uint64_t{server_->config_.body_timeout_ms} * ns_per_ms;
    arm_body_check(now);
    if (request.expect_continue && !continue_sent_) {
        continue_sent_ = true;
        interim_ = true;
        buffers_->out.clear();
        write_continue(buffers_->out);
        sent_ = 0;
        send_pending();
    }
}

/// The body timer fires at the deadline, or sooner when the body's average rate would fall
/// below the minimum if nothing more arrived (not before its first second).
void ServerConn::arm_body_check(uint64_t now) {
    uint64_t at = deadline_ns_;
    uint64_t rate = server_->config_.body_rate_min_bytes_s;
    if (rate != 0) {
        uint64_t covered_ns = body_received_bytes() * ns_per_s / rate;
        uint64_t check = body_start_ns_ + std::max(covered_ns, body_rate_grace_ns);
        at = std::min(at, std::max(check, now + body_rate_step_ns));
    }
    loop_->timer_start(&timer_, at);
}

bool ServerConn::body_rate_ok(uint64_t now) const {
    uint64_t rate = server_->config_.body_rate_min_bytes_s;
    uint64_t elapsed_ns = now - body_start_ns_;
    if (rate == 0 || elapsed_ns < body_rate_grace_ns) return true;
    // In ms so that the product cannot overflow (rate and elapsed ms are both under 2^32).
    return uint64_t{body_received_bytes()} * 1000 >= rate * (elapsed_ns / ns_per_ms);
}

void ServerConn::check_body(uint64_t now) {
    const ServerConfig& config = server_->config_;
    if (now >= deadline_ns_) {
        count(server_->counters().body_deadline);
        cut(Reason("request body not complete within body_timeout_ms (%u ms)",
                   config.body_timeout_ms)
                .view());
        return;
    }
    if (!body_rate_ok(now)) {
        count(server_->counters().body_rate);
        cut(Reason("request body slower than body_rate_min_bytes_s (%u): %zu bytes in %llu ms",
                   config.body_rate_min_bytes_s, body_received_bytes(),
                   static_cast<unsigned long long>((now - body_start_ns_) / ns_per_ms))
                .view());
        return;
    }
    arm_body_check(now);
}

// What the budget must cover of the current body: its declared length, or for a chunked body
// what has arrived (framing included), rounded up to the next reservation step.
uint64_t ServerConn::body_bytes_to_reserve() const {
    const Request& request = buffers_->parser.request();
    if (!request.chunked) return request.content_length;
    uint64_t received = body_received_bytes();
    return (received / chunked_reserve_step_bytes + 1) * chunked_reserve_step_bytes;
}

// Grows the current body's reservation to `bytes`; false (nothing more reserved) when the
// process's buffered bodies would exceed the budget.
bool ServerConn::reserve_body(uint64_t bytes) {
    ByteBudget* budget = server_->config_.body_budget;
    if (!budget || bytes <= body_reserved_bytes_) return true;
    if (!budget->try_reserve(bytes - body_reserved_bytes_)) return false;
    body_reserved_bytes_ = bytes;
    return true;
}

void ServerConn::release_body() {
    if (body_reserved_bytes_ == 0) return;
    server_->config_.body_budget->release(body_reserved_bytes_);
    body_reserved_bytes_ = 0;
}

// 503 with Retry-After, then close: the body is not read (a client that sent Expect:
// 100-continue never sends it). What it already holds is released when the connection closes.
void ServerConn::refuse_body(uint64_t bytes) {
    count(server_->counters().buffered_body_refused);
    const ByteBudget& budget = *server_->config_.body_budget;
    uint64_t ms = server_->config_.body_timeout_ms;
    answer_and_close(503,
                     Reason("a body of %llu bytes would take buffered request bodies over "
                            "buffered_body_bytes_max (%llu); retry later",
                            static_cast<unsigned long long>(bytes),
                            static_cast<unsigned long long>(budget.bytes_max()))
                         .view(),
                     loop_->now_ns() + ms * ns_per_ms, body_budget_retry_after_s);
}

// The answer left (or the connection is being recycled): the body's reservation goes back to
// the budget, and the buffers go back to the pool unless a next request is already buffered.
void ServerConn::finish_request() {
    release_body();
    give_back_buffers_if_done();
}

void ServerConn::give_back_buffers_if_done() {
    if (!buffers_ || !buffers_->in.empty() || send_in_flight_) return;
    server_->take_back_buffers(std::move(buffers_));
}

void ServerConn::hand_over() {
    RequestParser& parser = buffers_->parser;
    const Request& request = parser.request();
    if (!reserve_body(request.body.size())) {  // a body that arrived with its head
        refuse_body(request.body.size());
        return;
    }
    loop_->timer_cancel(&timer_);
    set_state(State::handling);
    server_->in_flight_++;
    count(server_->counters().requests);
    keep_alive_ = request.keep_alive && !server_->shutting_down_;
    head_request_ = request.method == Method::head;
    request_ns_ = loop_->now_ns();
    user = 0;
    user_ptr = nullptr;
    buffers_->out.clear();
    size_t consumed = parser.consumed();
    uint64_t generation = generation_;
    server_->handler_->on_request(*this, request);
    if (generation != generation_) return;  // closed during the call
    buffers_->in.consume_front(consumed);
    buffers_->parser.reset();
    continue_sent_ = false;
    if (state_ == State::websocket) ws_read();  // frames sent right behind the upgrade
}

// The answer left: wait for the next request, or start the one already buffered (pipelined).
void ServerConn::become_idle() {
    set_state(State::idle);
    if (has_bytes()) {
        process();
        return;
    }
    uint64_t ms = server_->config_.idle_timeout_ms;
    loop_->timer_start(&timer_, loop_->now_ns() + ms * ns_per_ms);
}

void ServerConn::send() {
    EM_ASSERT(state_ == State::handling);
    server_->in_flight_--;
    set_state(State::sending);
    sent_ = 0;
    ByteBuffer& out = buffers_->out;
    if (out.overflowed()) {
        // The handler's response did not fit the configured maximum: answer 500 and close.
        out.clear();
        const char body[] = "{\"error\":\"response exceeds the configured body limit\"}";
        write_response(out, 500, "application/json", body, false);
        close_after_send_ = true;
    }
    if (head_request_) {
        // RFC 9110 9.3.2: the answer to HEAD carries the headers (Content-Length included) and
        // no body, whatever the handler wrote.
        std::string_view text = out.view();
        size_t end = text.find("\r\n\r\n");
        if (end != std::string_view::npos) out.resize(end + 4);
    }
    // The whole answer must leave by this deadline: progress does not extend it.
    uint64_t ms = server_->config_.body_timeout_ms;
    loop_->timer_start(&timer_, loop_->now_ns() + ms * ns_per_ms);
    send_pending();
}

void ServerConn::respond(int status, std::string_view content_type, std::string_view body) {
    buffers_->out.clear();
    write_response(buffers_->out, status, content_type, body, keep_alive_);
    send();
}

void ServerConn::send_pending() {
    const ByteBuffer& out = buffers_->out;
    loop_->send(&send_, fd_, out.data() + sent_, out.size() - sent_);
    send_in_flight_ = true;
}

void ServerConn::on_send(io::Completion* c, int32_t result, uint32_t) {
    auto* self = static_cast<ServerConn*>(c->owner);
    self->send_in_flight_ = false;
    if (self->state_ == State::closing) {
        self->maybe_recycle();
        return;
    }
    if (self->state_ == State::websocket) {
        self->ws_on_send(result);
        return;
    }
    if (result < 0) {
        self->begin_close();
        return;
    }
    self->sent_ += static_cast<size_t>(result);
    if (self->sent_ < self->buffers_->out.size()) {
        self->send_pending();
        return;
    }
    self->buffers_->out.clear();
    if (self->interim_) {
        // The 100 Continue left; the body goes on under its own deadline.
        self->interim_ = false;
        self->process();
        return;
    }
    self->loop_->timer_cancel(&self->timer_);
    self->finish_request();
    if (self->close_after_send_ || !self->keep_alive_ || self->peer_closed_) {
        self->begin_close();
        return;
    }
    self->become_idle();
}

// A request the parser refused: counted, answered with the parser's status, closed.
void ServerConn::reject(int status, std::string_view reason) {
    count(server_->counters().bad_requests);
    uint64_t ms = server_->config_.body_timeout_ms;
    answer_and_close(status, reason, loop_->now_ns() + ms * ns_per_ms);
}

// A request that will not complete in time, or an evicted connection's: 408 naming why, then
// close; just close when nothing of a request arrived or a 100 Continue is still being sent.
void ServerConn::cut(std::string_view reason) {
    if (!has_bytes() || send_in_flight_) {
        begin_close();
        return;
    }
    answer_and_close(408, reason, loop_->now_ns() + cut_answer_ns);
}

void ServerConn::answer_and_close(int status, std::string_view reason, uint64_t send_deadline_ns,
                                  uint32_t retry_after_s) {
    EM_LOG_LIMITED(LogLevel::info, 2, "%s: answered %d to a client: %.*s", server_->config_.name,
                   status, static_cast<int>(reason.size()), reason.data());
    if (!buffers_) buffers_ = server_->lend_buffers();
    ByteBuffer& out = buffers_->out;
    out.clear();
    size_t mark = begin_response(out, status, "application/json", false, retry_after_s);
    out.append("{\"error\":\"");
    append_json_text(out, reason);
    out.append("\"}");
    end_response(out, mark);
    close_after_send_ = true;
    set_state(State::sending);
    sent_ = 0;
    loop_->timer_start(&timer_, send_deadline_ns);
    send_pending();
}

void ServerConn::on_timer(io::Timer* t) {
    auto* self = static_cast<ServerConn*>(t->owner);
    ServerStats& stats = self->server_->counters();
    const ServerConfig& config = self->server_->config_;
    switch (self->state_) {
        case State::idle:
            count(stats.idle_closed);
            self->begin_close();
            break;
        case State::head:
            count(stats.header_deadline);
            self->cut(Reason("request head not complete within header_timeout_ms (%u ms)",
                             config.header_timeout_ms)
                          .view());
            break;
        case State::body:
            self->check_body(self->loop_->now_ns());
            break;
        case State::sending:  // the client does not take its answer
            count(stats.send_deadline);
            self->begin_close();
            break;
        case State::websocket:  // the linger after our close frame is over
            self->begin_close();
            break;
        default:
            break;
    }
}

void ServerConn::drop(bool reset) {
    if (state_ != State::handling) return;
    if (reset) {
        linger l{1, 0};  // the close then sends RST instead of FIN
        ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    }
    begin_close();
}

void ServerConn::begin_close() {
    if (state_ == State::closing || state_ == State::free) return;
    if (state_ == State::handling) {
        server_->in_flight_--;
        count(server_->counters().aborted);
    }
    bool was_websocket = state_ == State::websocket;
    set_state(State::closing);
    generation_++;  // invalidates outstanding ConnRefs at once
    if (was_websocket) ws_closing();
    loop_->timer_cancel(&timer_);
    if (recv_armed_) loop_->cancel(&recv_);
    if (send_in_flight_) loop_->cancel(&send_);
    close_in_flight_ = true;
    loop_->close(&close_, fd_);
}

void ServerConn::on_close(io::Completion* c, int32_t, uint32_t) {
    auto* self = static_cast<ServerConn*>(c->owner);
    self->close_in_flight_ = false;
    self->fd_ = -1;
    self->maybe_recycle();
}

void ServerConn::maybe_recycle() {
    if (state_ != State::closing || recv_armed_ || send_in_flight_ || close_in_flight_) return;
    if (buffers_) buffers_->in.clear();
    ws_.reset();
    finish_request();
    set_state(State::free);
    server_->give_back(this);
}

Server::~Server() {
    if (listen_fd_ >= 0) ::close(listen_fd_);
    while (admit_count_ > 0) ::close(dequeue_admit());
    for (auto& conn : conns_) {
        if (conn->fd_ >= 0) ::close(conn->fd_);
        if (loop_) loop_->timer_cancel(&conn->timer_);
    }
    if (loop_) loop_->timer_cancel(&trim_timer_);
}

Result<void> Server::listen(io::Loop& loop, const io::Address& address, Handler& handler,
                            const ServerConfig& config) {
    loop_ = &loop;
    handler_ = &handler;
    config_ = config;
    if (config.stats) stats_ = config.stats;
    listen_fd_ = EM_TRY(io::listen_tcp(address, config.backlog));
    address_ = EM_TRY(io::local_address(listen_fd_));
    conns_.reserve(config.connections_max);
    free_.reserve(config.connections_max);
    spare_buffers_.reserve(config.connections_max);
    trim_timer_.fn = on_trim;
    trim_timer_.owner = this;
    accept_.fn = on_accept;
    accept_.owner = this;
    loop.accept_multishot(&accept_, listen_fd_);
    return {};
}

void Server::on_accept(io::Completion* c, int32_t result, uint32_t flags) {
    auto* self = static_cast<Server*>(c->owner);
    if (result >= 0) {
        self->admit(result);
    } else if (result != -ECANCELED) {
        EM_LOG_LIMITED(LogLevel::warn, 1, "%s: accept: %s", self->config_.name,
                       std::strerror(-result));
    }
    if (!io::cqe_more(flags) && !self->shutting_down_ && self->listen_fd_ >= 0)
        self->loop_->accept_multishot(&self->accept_, self->listen_fd_);
}

// A new connection gets a free slot, or the slot of a connection evicted for it (it waits in
// the admit queue until that one has closed), or is closed at once when nothing is evictable.
// The victim is the connection that has waited longest without a complete request: first on
// the partial list (answered 408), then in the admit queue (it sent nothing we read: closed);
// only then the keep-alive connection idle the longest (closed, as its idle timer would). A
// connection with a complete request (handled or being answered) is never evicted.
void Server::admit(int fd) {
    if (shutting_down_) {
        ::close(fd);
        return;
    }
    if (ServerConn* conn = take_conn()) {
        open_conn(conn, fd);
        return;
    }
    if (admit_count_ < admit_queue_max && partial_.head) {
        evict(partial_.head, counters().evicted_partial);
    } else if (admit_count_ > 0) {
        count(counters().evicted_partial);
        ::close(dequeue_admit());
    } else if (idle_.head) {
        evict(idle_.head, counters().evicted_idle);
    } else {
        count(counters().rejected_full);
        EM_LOG_LIMITED(LogLevel::warn, 1,
                       "%s: connection limit %u reached and every connection has a request in "
                       "progress: closing a new one",
                       config_.name, config_.connections_max);
        ::close(fd);
        return;
    }
    enqueue_admit(fd);
}

void Server::evict(ServerConn* victim, ServerStats::Counter& counter) {
    count(counter);
    EM_LOG_LIMITED(LogLevel::warn, 1,
                   "%s: connection limit %u reached: evicting the connection waiting longest "
                   "for a request",
                   config_.name, config_.connections_max);
    victim->cut(Reason("evicted: connections_max (%u) reached and this connection waited "
                       "longest without a complete request",
                       config_.connections_max)
                    .view());
}

void Server::open_conn(ServerConn* conn, int fd) {
    count(counters().accepted);
    open_++;
    conn->start(fd);
}

ServerConn* Server::take_conn() {
    ServerConn* conn;
    if (!free_.empty()) {
        conn = free_.back();
        free_.pop_back();
    } else if (conns_.size() < config_.connections_max) {
        conns_.push_back(std::make_unique<ServerConn>());
        conn = conns_.back().get();
        conn->server_ = this;
        conn->loop_ = loop_;
    } else {
        return nullptr;
    }
    return conn;
}

void Server::give_back(ServerConn* conn) {
    open_--;
    if (admit_count_ > 0 && !shutting_down_) {
        open_conn(conn, dequeue_admit());
        return;
    }
    free_.push_back(conn);
}

void Server::enqueue_admit(int fd) {
    EM_ASSERT(admit_count_ < admit_queue_max);
    admit_queue_[(admit_first_ + admit_count_) % admit_queue_max] = fd;
    admit_count_++;
}

int Server::dequeue_admit() {
    EM_ASSERT(admit_count_ > 0);
    int fd = admit_queue_[admit_first_];
    admit_first_ = (admit_first_ + 1) % admit_queue_max;
    admit_count_--;
    return fd;
}

// A connection's first byte: buffers from the pool (allocated only when it is empty).
std::unique_ptr<RequestBuffers> Server::lend_buffers() {
    buffers_lent_++;
    buffers_lent_peak_ = std::max(buffers_lent_peak_, buffers_lent_);
    if (spare_buffers_.empty())
        return std::make_unique<RequestBuffers>(config_.limits, config_.answer_bytes_max);
    std::unique_ptr<RequestBuffers> buffers = std::move(spare_buffers_.back());
    spare_buffers_.pop_back();
    return buffers;
}

// Back with the size they grew to, unless they grew past buffer_keep_bytes_max for a large
// request: then to their initial size (a fresh block; the large one goes back to the kernel).
void Server::take_back_buffers(std::unique_ptr<RequestBuffers> buffers) {
    EM_ASSERT(buffers_lent_ > 0);
    buffers_lent_--;
    size_t keep = config_.buffer_keep_bytes_max;
    buffers->in.clear();
    buffers->out.clear();
    if (buffers->in.capacity() > keep) buffers->in.shrink_to(conn_buffer_initial_bytes);
    if (buffers->out.capacity() > keep) buffers->out.shrink_to(conn_buffer_initial_bytes);
    buffers->parser.reset();
    spare_buffers_.push_back(std::move(buffers));
    arm_trim();
}

void Server::arm_trim() {
    if (spare_buffers_.size() > spare_buffers_min && !trim_timer_.armed())
        loop_->timer_start(&trim_timer_,
                           loop_->now_ns() + uint64_t{config_.buffer_trim_interval_ms} * ns_per_ms);
}

// Keeps as many buffers (lent and spare) as were lent at once in the last two intervals, at
// least spare_buffers_min spares: steady traffic never allocates, a burst's memory goes back.
void Server::on_trim(io::Timer* timer) {
    auto* self = static_cast<Server*>(timer->owner);
    uint32_t keep_total = std::max(self->buffers_lent_peak_, self->buffers_lent_peak_prev_);
    size_t keep_spare = std::max<size_t>(
        spare_buffers_min, keep_total > self->buffers_lent_ ? keep_total - self->buffers_lent_ : 0);
    while (self->spare_buffers_.size() > keep_spare) self->spare_buffers_.pop_back();
    self->buffers_lent_peak_prev_ = self->buffers_lent_peak_;
    self->buffers_lent_peak_ = self->buffers_lent_;
    self->arm_trim();
}

Server::WaitList* Server::wait_list(ServerConn::State state) {
    switch (state) {
        case ServerConn::State::idle:
            return &idle_;
        case ServerConn::State::head:
        case ServerConn::State::body:
            return &partial_;
        default:
            return nullptr;
    }
}

void Server::link(WaitList& list, ServerConn* conn) {
    conn->wait_prev_ = list.tail;
    conn->wait_next_ = nullptr;
    if (list.tail)
        list.tail->wait_next_ = conn;
    else
        list.head = conn;
    list.tail = conn;
}

void Server::unlink(WaitList& list, ServerConn* conn) {
    if (conn->wait_prev_)
        conn->wait_prev_->wait_next_ = conn->wait_next_;
    else
        list.head = conn->wait_next_;
    if (conn->wait_next_)
        conn->wait_next_->wait_prev_ = conn->wait_prev_;
    else
        list.tail = conn->wait_prev_;
    conn->wait_prev_ = conn->wait_next_ = nullptr;
}

void Server::set_deadlines(const ServerConfig& config) {
    config_.connections_max = config.connections_max;
    config_.header_timeout_ms = config.header_timeout_ms;
    config_.body_timeout_ms = config.body_timeout_ms;
    config_.body_rate_min_bytes_s = config.body_rate_min_bytes_s;
    config_.idle_timeout_ms = config.idle_timeout_ms;
}

void Server::shutdown() {
    if (shutting_down_) return;
    shutting_down_ = true;
    if (listen_fd_ >= 0) {
        loop_->cancel(&accept_);
        ::close(listen_fd_);
        listen_fd_ = -1;
    }
    while (admit_count_ > 0) ::close(dequeue_admit());
    for (auto& conn : conns_) {
        bool nothing_started = conn->state_ == ServerConn::State::idle ||
                               (conn->state_ == ServerConn::State::head && !conn->has_bytes());
        if (conn->state_ == ServerConn::State::websocket)
            conn->ws_close(ws_close::going_away, "server shutting down");
        else if (nothing_started)
            conn->begin_close();
        else
            conn->keep_alive_ = false;
    }
}

}  // namespace em::http
