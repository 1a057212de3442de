#include "mockel/mock_server.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/assert.h"
#include "base/log.h"
#include "http/writer.h"

namespace em::mockel {

namespace {

// Bytes a connection may buffer: one maximal request plus chunk framing and a pipelined head.
size_t input_bytes_max(const http::Limits& limits) {
    return limits.header_bytes_max * 2 + limits.body_bytes_max + limits.body_bytes_max / 8 + 65536;
}

constexpr int listen_backlog = 4096;

}  // namespace

MockConn::MockConn(MockServer& server, const http::Limits& limits, size_t response_bytes_max)
    : server_(server),
      in_(input_bytes_max(limits), 4096),
      out_(response_bytes_max + 65536, 4096),
      parser_(limits) {
    recv_.fn = on_recv;
    recv_.owner = this;
    send_.fn = on_send;
    send_.owner = this;
    close_.fn = on_close;
    close_.owner = this;
    timer_.fn = on_timer;
    timer_.owner = this;
}

void MockConn::start(int fd) {
    fd_ = fd;
    state_ = State::reading;
    keep_alive_ = true;
    peer_closed_ = false;
    interim_ = false;
    continue_sent_ = false;
    in_.clear();
    out_.clear();
    parser_.reset();
    io::set_nodelay(fd);
    loop_->recv_multishot(&recv_, fd);
    recv_armed_ = true;
    last_active_ns_ = loop_->now_ns();
    loop_->timer_start(&timer_, last_active_ns_ + idle_ns());
}

uint64_t MockConn::idle_ns() const {
    return uint64_t{server_.config_.idle_timeout_ms} * 1'000'000;
}

void MockConn::on_recv(io::Completion* c, int32_t result, uint32_t flags) {
    auto* self = static_cast<MockConn*>(c->owner);
    if (!io::cqe_more(flags)) self->recv_armed_ = false;
    if (result > 0) {
        uint16_t id = io::cqe_buffer_id(flags);
        bool fits = true;
        if (self->state_ != State::closing)
            fits = self->in_.append(self->loop_->buffer_data(id), static_cast<size_t>(result));
        self->loop_->release_buffer(id);
        self->last_active_ns_ = self->loop_->now_ns();
        if (!fits)
            self->begin_close(false);  // the client ignores every limit
        else if (self->state_ == State::reading)
            self->process();
    } else if (result == 0 || result != -ENOBUFS) {
        // The client went away: nobody is left to answer (a hung or delayed call included).
        self->peer_closed_ = true;
        self->begin_close(false);
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

void MockConn::process() {
    EM_DEBUG_ASSERT(state_ == State::reading);
    if (!timer_.armed()) loop_->timer_start(&timer_, last_active_ns_ + idle_ns());
    if (in_.empty()) return;
    http::ParseStatus status = parser_.parse(in_.data(), in_.size());
    if (status == http::ParseStatus::error) {
        out_.clear();
        size_t mark = http::begin_response(out_, parser_.error_status(), "application/json", false);
        out_.append("{\"error\":\"");
        out_.append(http::status_reason(parser_.error_status()));
        out_.append("\"}");
        http::end_response(out_, mark);
        keep_alive_ = false;
        plan_ = Plan{};
        send_out(false);
        return;
    }
    if (status == http::ParseStatus::incomplete) {
        if (parser_.headers_done() && parser_.request().expect_continue && !continue_sent_) {
            continue_sent_ = true;
            out_.clear();
            http::write_continue(out_);
            send_out(true);
        }
        return;
    }
    const http::Request& request = parser_.request();
    keep_alive_ = request.keep_alive;
    const char* body = request.body.data();
    size_t readable =
        body ? static_cast<size_t>(in_.data() + in_.capacity() + ByteBuffer::padding_bytes - body)
             : 0;
    plan_ = server_.responder_.handle(request, readable, loop_->now_ns(), out_);
    in_.consume_front(parser_.consumed());
    parser_.reset();
    continue_sent_ = false;
    deliver();
}

void MockConn::deliver() {
    if (plan_.transport == Transport::hang) {
        state_ = State::hung;  // keep reading only to notice when the client leaves
        loop_->timer_cancel(&timer_);
        return;
    }
    if (plan_.delay_ms) {
        state_ = State::waiting;
        loop_->timer_start(&timer_, loop_->now_ns() + uint64_t{plan_.delay_ms} * 1'000'000);
        plan_.delay_ms = 0;  // the timer delivers the rest
        return;
    }
    if (plan_.transport == Transport::close || plan_.transport == Transport::reset) {
        begin_close(plan_.transport == Transport::reset);
        return;
    }
    send_out(false);
}

void MockConn::send_out(bool interim) {
    if (!interim && out_.overflowed()) {
        out_.clear();
        http::write_response(out_, 500, "application/json",
                             "{\"error\":\"response exceeds the configured limit\"}", false);
        keep_alive_ = false;
    }
    interim_ = interim;
    state_ = State::sending;
    sent_ = 0;
    loop_->send(&send_, fd_, out_.data(), out_.size());
    send_in_flight_ = true;
}

void MockConn::on_send(io::Completion* c, int32_t result, uint32_t) {
    auto* self = static_cast<MockConn*>(c->owner);
    self->send_in_flight_ = false;
    if (self->state_ == State::closing) {
        self->maybe_recycle();
        return;
    }
    if (result < 0) {
        self->begin_close(false);
        self->maybe_recycle();
        return;
    }
    self->sent_ += static_cast<size_t>(result);
    if (self->sent_ < self->out_.size()) {
        self->loop_->send(&self->send_, self->fd_, self->out_.data() + self->sent_,
                          self->out_.size() - self->sent_);
        self->send_in_flight_ = true;
        return;
    }
    self->out_.clear();
    bool interim = self->interim_;
    self->interim_ = false;
    if (!interim && !self->keep_alive_) {
        self->begin_close(false);
        return;
    }
    self->last_active_ns_ = self->loop_->now_ns();
    self->state_ = State::reading;
    self->process();
}

void MockConn::on_timer(io::Timer* t) {
    auto* self = static_cast<MockConn*>(t->owner);
    if (self->state_ == State::waiting) {
        self->deliver();
        return;
    }
    if (self->state_ != State::reading) return;
    uint64_t deadline = self->last_active_ns_ + self->idle_ns();
    if (self->loop_->now_ns() < deadline)
        self->loop_->timer_start(&self->timer_, deadline);
    else
        self->begin_close(false);  // idle keep-alive connection (or a stalled request)
}

void MockConn::begin_close(bool reset) {
    if (state_ == State::closing || state_ == State::free) return;
    state_ = State::closing;
    loop_->timer_cancel(&timer_);
    if (reset) {
        linger l{1, 0};  // close() then sends RST instead of FIN
        ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    }
    if (recv_armed_) loop_->cancel(&recv_);
    if (send_in_flight_) loop_->cancel(&send_);
    close_in_flight_ = true;
    loop_->close(&close_, fd_);
}

void MockConn::on_close(io::Completion* c, int32_t, uint32_t) {
    auto* self = static_cast<MockConn*>(c->owner);
    self->close_in_flight_ = false;
    self->fd_ = -1;
    self->maybe_recycle();
}

void MockConn::maybe_recycle() {
    if (state_ != State::closing || recv_armed_ || send_in_flight_ || close_in_flight_) return;
    state_ = State::free;
    server_.open_--;
    server_.free_.push_back(this);
}

MockServer::MockServer(Responder& responder, const MockConfig& config)
    : responder_(responder), config_(config) {
    limits_.header_bytes_max = config.header_bytes_max;
    limits_.body_bytes_max = config.body_bytes_max;
}

MockServer::~MockServer() {
    if (listen_fd_ >= 0) ::close(listen_fd_);
    for (auto& conn : conns_) {
        if (conn->fd_ >= 0) ::close(conn->fd_);
        if (loop_) loop_->timer_cancel(&conn->timer_);
    }
}

Result<void> MockServer::listen(io::Loop& loop, const io::Address& address) {
    loop_ = &loop;
    listen_fd_ = EM_TRY(io::listen_tcp(address, listen_backlog));
    address_ = EM_TRY(io::local_address(listen_fd_));
    conns_.reserve(config_.connections_max);
    free_.reserve(config_.connections_max);
    accept_.fn = on_accept;
    accept_.owner = this;
    loop.accept_multishot(&accept_, listen_fd_);
    return {};
}

void MockServer::on_accept(io::Completion* c, int32_t result, uint32_t flags) {
    auto* self = static_cast<MockServer*>(c->owner);
    if (result >= 0) {
        if (MockConn* conn = self->take_conn()) {
            self->open_++;
            conn->start(result);
        } else {
            EM_LOG_LIMITED(LogLevel::warn, 1, "mock-el: %u connections open: closing a new one",
                           self->config_.connections_max);
            ::close(result);
        }
    } else if (result != -ECANCELED) {
        EM_LOG_LIMITED(LogLevel::warn, 1, "mock-el: accept: %s", std::strerror(-result));
    }
    if (!io::cqe_more(flags) && self->listen_fd_ >= 0 && !self->loop_->stopping())
        self->loop_->accept_multishot(&self->accept_, self->listen_fd_);
}

MockConn* MockServer::take_conn() {
    if (!free_.empty()) {
        MockConn* conn = free_.back();
        free_.pop_back();
        return conn;
    }
    if (conns_.size() >= config_.connections_max) return nullptr;
    conns_.push_back(std::make_unique<MockConn>(*this, limits_, config_.response_bytes_max));
    conns_.back()->loop_ = loop_;
    return conns_.back().get();
}

}  // namespace em::mockel
