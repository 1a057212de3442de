#include "http/server.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/assert.h"
#include "base/log.h"

namespace em::http {

namespace {

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

}  // namespace

bool ConnRef::valid() const {
    return conn && conn->generation_ == generation && conn->state_ == ServerConn::State::handling;
}

ServerConn::ServerConn(const Limits& limits)
    : in_(input_bytes_max(limits), 4096),
      out_(limits.body_bytes_max + 65536, 4096),
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

void ServerConn::start(int fd) {
    fd_ = fd;
    state_ = State::reading;
    keep_alive_ = true;
    close_after_send_ = false;
    continue_sent_ = false;
    interim_ = false;
    peer_closed_ = false;
    in_.clear();
    out_.clear();
    parser_.reset();
    io::set_nodelay(fd);
    loop_->recv_multishot(&recv_, fd);
    recv_armed_ = true;
    arm_timer(server_->config_.header_timeout_ms);
}

void ServerConn::arm_timer(uint32_t ms) {
    loop_->timer_start(&timer_, loop_->now_ns() + uint64_t{ms} * 1'000'000ull);
}

void ServerConn::on_recv(io::Completion* c, int32_t result, uint32_t flags) {
    auto* self = static_cast<ServerConn*>(c->owner);
    if (!io::cqe_more(flags)) self->recv_armed_ = false;
    if (result > 0) {
        uint16_t id = io::cqe_buffer_id(flags);
        bool fits = true;
        if (self->state_ != State::closing)
            fits = self->in_.append(self->loop_->buffer_data(id), static_cast<size_t>(result));
        self->loop_->release_buffer(id);
        if (!fits && self->state_ != State::closing) {
            // More than a maximal request is buffered: the client ignores our limits.
            if (self->state_ == State::reading)
                self->reject(413, "request exceeds the body limit");
            else
                self->begin_close();
            return;
        }
        if (self->state_ == State::reading) self->process();
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
    EM_DEBUG_ASSERT(state_ == State::reading);
    if (in_.empty()) {
        arm_timer(server_->config_.idle_timeout_ms);
        return;
    }
    ParseStatus status = parser_.parse(in_.data(), in_.size());
    if (status == ParseStatus::error) {
        reject(parser_.error_status(), parser_.error_reason());
        return;
    }
    if (status == ParseStatus::incomplete) {
        if (!parser_.headers_done()) {
            if (!timer_.armed() || in_.size() > 0) arm_timer(server_->config_.header_timeout_ms);
            return;
        }
        arm_timer(server_->config_.body_timeout_ms);
        if (parser_.request().expect_continue && !continue_sent_) {
            continue_sent_ = true;
            interim_ = true;
            out_.clear();
            write_continue(out_);
            state_ = State::sending;
            sent_ = 0;
            send_pending();
        }
        return;
    }
    // A complete request: hand it over.
    loop_->timer_cancel(&timer_);
    const Request& request = parser_.request();
    state_ = State::handling;
    server_->in_flight_++;
    server_->stats_.requests++;
    keep_alive_ = request.keep_alive && !server_->shutting_down_;
    request_ns_ = loop_->now_ns();
    user = 0;
    user_ptr = nullptr;
    out_.clear();
    size_t consumed = parser_.consumed();
    uint64_t generation = generation_;
    server_->handler_->on_request(*this, request);
    if (generation != generation_) return;  // closed during the call
    in_.consume_front(consumed);
    parser_.reset();
    continue_sent_ = false;
}

void ServerConn::send() {
    EM_ASSERT(state_ == State::handling);
    server_->in_flight_--;
    state_ = State::sending;
    sent_ = 0;
    if (out_.overflowed()) {
        // The handler's response did not fit the configured maximum: answer 500 and close.
        out_.clear();
        const char body[] = "{\"error\":\"response exceeds the configured body limit\"}";
        write_response(out_, 500, "application/json", body, false);
        close_after_send_ = true;
    }
    send_pending();
}

void ServerConn::respond(int status, std::string_view content_type, std::string_view body) {
    out_.clear();
    write_response(out_, status, content_type, body, keep_alive_);
    send();
}

void ServerConn::send_pending() {
    loop_->send(&send_, fd_, out_.data() + sent_, out_.size() - sent_);
    send_in_flight_ = true;
    arm_timer(server_->config_.body_timeout_ms);
}

void ServerConn::on_send(io::Completion* c, int32_t result, uint32_t) {
    auto* self = static_cast<ServerConn*>(c->owner);
    self->send_in_flight_ = false;
    if (self->state_ == State::closing) {
        self->maybe_recycle();
        return;
    }
    if (result < 0) {
        self->begin_close();
        return;
    }
    self->sent_ += static_cast<size_t>(result);
    if (self->sent_ < self->out_.size()) {
        self->send_pending();
        return;
    }
    self->loop_->timer_cancel(&self->timer_);
    self->out_.clear();
    bool interim = self->interim_;
    self->interim_ = false;
    if (self->close_after_send_ || (!interim && !self->keep_alive_) || self->peer_closed_) {
        self->begin_close();
        return;
    }
    self->state_ = State::reading;
    self->process();
}

void ServerConn::reject(int status, std::string_view reason) {
    server_->stats_.bad_requests++;
    EM_LOG_LIMITED(LogLevel::info, 2, "%s: answered %d to a client: %.*s", server_->config_.name,
                   status, static_cast<int>(reason.size()), reason.data());
    out_.clear();
    size_t mark = begin_response(out_, status, "application/json", false);
    out_.append("{\"error\":\"");
    append_json_text(out_, reason);
    out_.append("\"}");
    end_response(out_, mark);
    close_after_send_ = true;
    state_ = State::sending;
    sent_ = 0;
    send_pending();
}

void ServerConn::on_timer(io::Timer* t) {
    auto* self = static_cast<ServerConn*>(t->owner);
    switch (self->state_) {
        case State::reading:
            self->server_->stats_.timeouts++;
            if (self->in_.empty())
                self->begin_close();
            else
                self->reject(408, "request not received in time");
            break;
        case State::sending:  // the client does not read its answer
            self->server_->stats_.timeouts++;
            self->begin_close();
            break;
        default:
            break;
    }
}

void ServerConn::begin_close() {
    if (state_ == State::closing || state_ == State::free) return;
    if (state_ == State::handling) {
        server_->in_flight_--;
        server_->stats_.aborted++;
    }
    state_ = State::closing;
    generation_++;  // invalidates outstanding ConnRefs at once
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
    state_ = State::free;
    server_->give_back(this);
}

Server::~Server() {
    if (listen_fd_ >= 0) ::close(listen_fd_);
    for (auto& conn : conns_) {
        if (conn->fd_ >= 0) ::close(conn->fd_);
        if (loop_) loop_->timer_cancel(&conn->timer_);
    }
}

Result<void> Server::listen(io::Loop& loop, const io::Address& address, Handler& handler,
                            const ServerConfig& config) {
    loop_ = &loop;
    handler_ = &handler;
    config_ = config;
    listen_fd_ = EM_TRY(io::listen_tcp(address, config.backlog));
    address_ = EM_TRY(io::local_address(listen_fd_));
    conns_.reserve(config.connections_max);
    free_.reserve(config.connections_max);
    accept_.fn = on_accept;
    accept_.owner = this;
    loop.accept_multishot(&accept_, listen_fd_);
    return {};
}

void Server::on_accept(io::Completion* c, int32_t result, uint32_t flags) {
    auto* self = static_cast<Server*>(c->owner);
    if (result >= 0) {
        if (self->shutting_down_) {
            ::close(result);
        } else if (ServerConn* conn = self->take_conn()) {
            self->stats_.accepted++;
            self->open_++;
            conn->start(result);
        } else {
            self->stats_.rejected_full++;
            EM_LOG_LIMITED(LogLevel::warn, 1, "%s: connection limit %u reached: closing a new one",
                           self->config_.name, self->config_.connections_max);
            ::close(result);
        }
    } else if (result != -ECANCELED) {
        EM_LOG_LIMITED(LogLevel::warn, 1, "%s: accept: %s", self->config_.name,
                       std::strerror(-result));
    }
    if (!io::cqe_more(flags) && !self->shutting_down_ && self->listen_fd_ >= 0)
        self->loop_->accept_multishot(&self->accept_, self->listen_fd_);
}

ServerConn* Server::take_conn() {
    ServerConn* conn;
    if (!free_.empty()) {
        conn = free_.back();
        free_.pop_back();
    } else if (conns_.size() < config_.connections_max) {
        conns_.push_back(std::make_unique<ServerConn>(config_.limits));
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
    free_.push_back(conn);
}

void Server::shutdown() {
    if (shutting_down_) return;
    shutting_down_ = true;
    if (listen_fd_ >= 0) {
        loop_->cancel(&accept_);
        ::close(listen_fd_);
        listen_fd_ = -1;
    }
    for (auto& conn : conns_) {
        if (conn->state_ == ServerConn::State::reading && conn->in_.empty())
            conn->begin_close();
        else
            conn->keep_alive_ = false;
    }
}

}  // namespace em::http
