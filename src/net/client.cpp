#include "net/client.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "base/assert.h"
#include "net/tls.h"

namespace em::http {

ClientConn::ClientConn(io::Loop& loop, const Endpoint& endpoint, const Limits& response_limits,
                       uint32_t connect_timeout_ms)
    : loop_(loop),
      endpoint_(&endpoint),
      connect_timeout_ms_(connect_timeout_ms),
      request_(response_limits.body_bytes_max + 65536, 4096),
      wire_out_(response_limits.body_bytes_max + 131072, 4096),
      in_(response_limits.body_bytes_max + response_limits.body_bytes_max / 8 +
              2 * response_limits.header_bytes_max + 65536,
          16384),
      parser_(response_limits) {
    connect_c_ = {on_connect, this};
    recv_c_ = {on_recv, this};
    send_c_ = {on_send, this};
    close_c_ = {on_close, this};
    timer_.fn = on_timer;
    timer_.owner = this;
}

ClientConn::~ClientConn() {
    // A completion still to come would be delivered into freed memory (see the header).
    EM_ASSERT(!ops_pending() || loop_.ended());
    loop_.timer_cancel(&timer_);
    if (fd_ >= 0) ::close(fd_);
    delete tls_;
}

void ClientConn::start(ClientCallback* cb, uint64_t deadline_ns) {
    EM_ASSERT(cb_ == nullptr && cb != nullptr);
    cb_ = cb;
    deadline_ns_ = deadline_ns;
    retried_ = false;
    got_bytes_ = false;
    loop_.timer_start(&timer_, deadline_ns);
    if (in_delivery_) {
        deferred_start_ = true;  // the previous answer's bytes are still being read
        return;
    }
    in_start_ = true;
    if (state_ == State::idle) {
        begin_send();
    } else if (state_ == State::disconnected) {
        connect();
    }
    in_start_ = false;
    // closing: the close completion reconnects (see on_close).
}

void ClientConn::connect() {
    auto fd = io::tcp_socket_for(endpoint_->address);
    if (!fd) {
        fail(Errc::io, "%s", fd.error().c_str());
        return;
    }
    fd_ = *fd;
    state_ = State::connecting;
    reuse_count_ = 0;
    in_.clear();
    parser_.reset();
    connect_in_flight_ = true;
    loop_.connect(&connect_c_, fd_, endpoint_->address.get(), endpoint_->address.length);
    uint64_t connect_deadline = loop_.now_ns() + uint64_t{connect_timeout_ms_} * 1'000'000ull;
    if (connect_deadline < deadline_ns_) loop_.timer_start(&timer_, connect_deadline);
}

void ClientConn::on_connect(io::Completion* c, int32_t result, uint32_t) {
    auto* self = static_cast<ClientConn*>(c->owner);
    self->connect_in_flight_ = false;
    if (self->state_ != State::connecting) {  // closed meanwhile
        if (self->state_ == State::closing) self->drop_connection();
        return;
    }
    if (result < 0) {
        self->fail(Errc::io, "connect to %s: %s", self->endpoint_->host_header.c_str(),
                   std::strerror(-result));
        return;
    }
    io::set_nodelay(self->fd_);
    self->loop_.timer_start(&self->timer_, self->deadline_ns_);
    self->loop_.recv_multishot(&self->recv_c_, self->fd_);
    self->recv_armed_ = true;
    if (self->endpoint_->tls) {
        delete self->tls_;
        self->tls_ = new TlsSession(*self->endpoint_->tls, self->endpoint_->server_name);
        self->state_ = State::tls_handshake;
        self->send_request_ = false;
        self->wire_out_.clear();
        auto progress = self->tls_->handshake(self->wire_out_);
        if (!progress) {
            self->fail(Errc::io, "TLS with %s: %s", self->endpoint_->host_header.c_str(),
                       progress.error().c_str());
            return;
        }
        if (!self->wire_out_.empty()) {
            self->sent_ = 0;
            self->send_more();
        }
        return;
    }
    self->begin_send();
}

void ClientConn::begin_send() {
    state_ = State::sending;
    sent_ = 0;
    parser_.reset();
    wire_out_.clear();
    // Plain TCP sends the request from where it was written (no copy: a newPayload's body is
    // tens of KiB per node); TLS sends the records it was encrypted into.
    send_request_ = !tls_;
    if (tls_) {
        auto ok = tls_->encrypt(request_.view(), wire_out_);
        if (ok && !body_.empty()) ok = tls_->encrypt(body_, wire_out_);
        if (!ok) {
            fail(Errc::io, "TLS encrypt: %s", ok.error().c_str());
            return;
        }
    }
    send_more();
}

void ClientConn::send_more() {
    send_in_flight_ = true;
    if (!send_request_ || body_.empty()) {
        const ByteBuffer& out = outgoing();
        loop_.send(&send_c_, fd_, out.data() + sent_, out.size() - sent_);
        return;
    }
    // Head and body in one gathered send, from wherever the last one stopped.
    size_t head = request_.size();
    int n = 0;
    if (sent_ < head) iov_[n++] = {request_.data() + sent_, head - sent_};
    size_t body_sent = sent_ > head ? sent_ - head : 0;
    iov_[n++] = {const_cast<char*>(body_.data()) + body_sent, body_.size() - body_sent};
    message_ = {};
    message_.msg_iov = iov_;
    message_.msg_iovlen = static_cast<size_t>(n);
    body_in_flight_ = true;
    loop_.sendmsg(&send_c_, fd_, &message_);
}

void ClientConn::on_send(io::Completion* c, int32_t result, uint32_t) {
    auto* self = static_cast<ClientConn*>(c->owner);
    self->send_in_flight_ = false;
    self->body_in_flight_ = false;
    if (self->awaiting_send_) {
        // The exchange failed while this send read the owner's body: now it may be told.
        self->awaiting_send_ = false;
        self->has_deferred_error_ = false;
        Error error = self->deferred_error_;
        self->deliver(nullptr, &error);
    }
    if (self->state_ == State::closing) {
        self->drop_connection();
        return;
    }
    if (self->state_ != State::sending && self->state_ != State::tls_handshake) return;
    if (result < 0) {
        if (self->retryable()) {
            self->retried_ = true;
            self->drop_connection();
            return;
        }
        self->fail(Errc::closed, "send to %s: %s", self->endpoint_->host_header.c_str(),
                   std::strerror(-result));
        return;
    }
    self->sent_ += static_cast<size_t>(result);
    if (self->sent_ < self->outgoing_bytes()) {
        self->send_more();
        return;
    }
    self->wire_out_.clear();  // request_ stays: a stale keep-alive connection sends it again
    self->sent_ = 0;
    if (self->state_ == State::sending) self->state_ = State::receiving;
}

void ClientConn::on_recv(io::Completion* c, int32_t result, uint32_t flags) {
    auto* self = static_cast<ClientConn*>(c->owner);
    if (!io::cqe_more(flags)) self->recv_armed_ = false;
    if (result > 0) {
        uint16_t id = io::cqe_buffer_id(flags);
        if (self->state_ != State::closing && self->fd_ >= 0)
            self->handle_bytes(self->loop_.buffer_data(id), static_cast<size_t>(result));
        self->loop_.release_buffer(id);
    } else if (result == 0 || result != -ENOBUFS) {
        if (self->state_ == State::closing || self->state_ == State::disconnected) {
            self->drop_connection();
            return;
        }
        bool eof = result == 0;
        if (self->state_ == State::idle) {
            self->close();  // the server closed an idle keep-alive connection
            return;
        }
        if ((self->state_ == State::receiving || self->state_ == State::sending) &&
            self->retryable()) {
            self->retried_ = true;
            self->drop_connection();
            return;
        }
        if (eof && self->state_ == State::receiving && !self->tls_) {
            self->parse_response(true);
            return;
        }
        self->fail(Errc::closed, "%s %s", self->endpoint_->host_header.c_str(),
                   eof ? "closed the connection before answering" : std::strerror(-result));
        return;
    }
    if (self->state_ == State::closing) {
        self->drop_connection();
        return;
    }
    if (!self->recv_armed_ && self->fd_ >= 0 && self->state_ != State::disconnected) {
        self->loop_.recv_multishot(&self->recv_c_, self->fd_);
        self->recv_armed_ = true;
    }
}

void ClientConn::handle_bytes(const char* data, size_t bytes) {
    if (tls_) {
        tls_->feed(data, bytes);
        if (state_ == State::tls_handshake) {
            auto done = tls_->handshake(wire_out_);
            if (!done) {
                fail(Errc::io, "TLS with %s: %s", endpoint_->host_header.c_str(),
                     done.error().c_str());
                return;
            }
            if (!wire_out_.empty() && !send_in_flight_) {
                sent_ = 0;
                send_more();
            }
            if (*done && !send_in_flight_ && wire_out_.empty()) begin_send();
            return;
        }
        size_t before = in_.size();
        auto plain = tls_->decrypt(in_);
        if (!plain) {
            fail(Errc::io, "TLS read from %s: %s", endpoint_->host_header.c_str(),
                 plain.error().c_str());
            return;
        }
        if (in_.size() == before) return;
    } else if (!in_.append(data, bytes)) {
        fail(Errc::too_large, "answer from %s exceeds the body limit",
             endpoint_->host_header.c_str());
        return;
    }
    got_bytes_ = true;
    if (state_ == State::idle) {
        // Bytes nobody asked for: the stream is out of step; drop it.
        close();
        return;
    }
    if (state_ == State::receiving || state_ == State::sending) parse_response(false);
}

void ClientConn::parse_response(bool eof) {
    ParseStatus status =
        eof ? parser_.finish_on_eof(in_.data(), in_.size()) : parser_.parse(in_.data(), in_.size());
    if (status == ParseStatus::incomplete) return;
    if (status == ParseStatus::error) {
        fail(Errc::invalid_input, "bad HTTP answer from %s: %.*s", endpoint_->host_header.c_str(),
             static_cast<int>(parser_.error_reason().size()), parser_.error_reason().data());
        return;
    }
    const Response& response = parser_.response();
    if (body_in_flight()) {
        // Answered before our body was all sent (an error status, typically): the send still
        // reads the owner's body, so the answer cannot be handed over (and freed) yet.
        fail(Errc::invalid_input, "%s answered HTTP %d before the whole request was sent",
             endpoint_->host_header.c_str(), response.status);
        return;
    }
    if (parser_.consumed() != in_.size()) {
        // Extra bytes after a complete answer to our only request: out of step.
        fail(Errc::invalid_input, "%s sent bytes after its answer", endpoint_->host_header.c_str());
        return;
    }
    loop_.timer_cancel(&timer_);
    bool keep = response.keep_alive && !eof;
    state_ = State::idle;
    reuse_count_++;
    in_delivery_ = true;
    deliver(&response, nullptr);
    in_delivery_ = false;
    // The callback has read the answer (and may have asked for the next exchange): drop it.
    in_.clear();
    parser_.reset();
    if (!keep) close();  // a deferred exchange reconnects once the close completes
    if (deferred_start_) {
        deferred_start_ = false;
        if (state_ == State::idle)
            begin_send();
        else if (state_ == State::disconnected)
            connect();
    }
}

void ClientConn::deliver(const Response* response, const Error* error) {
    ClientCallback* cb = cb_;
    cb_ = nullptr;
    request_.clear();
    body_ = {};
    if (cb) cb->on_response(*this, response, error);
}

bool ClientConn::retryable() const {
    // A reused connection that failed before any byte of the answer: the server closed it while
    // idle; the request was not processed, so sending it once more on a fresh one is safe.
    return !retried_ && reuse_count_ > 0 && !got_bytes_;
}

void ClientConn::fail(Errc code, const char* format, ...) {
    char text[Error::message_bytes_max + 1];
    va_list args;
    va_start(args, format);
    std::vsnprintf(text, sizeof text, format, args);
    va_end(args);
    Error error(code, text);
    loop_.timer_cancel(&timer_);
    close();
    if (in_start_) {
        // Never inside start(): the timer delivers it from the loop's next turn.
        deferred_error_ = error;
        has_deferred_error_ = true;
        loop_.timer_start(&timer_, 0);
        return;
    }
    if (body_in_flight()) {
        // close() cancelled the send; its completion delivers the error (on_send).
        deferred_error_ = error;
        has_deferred_error_ = true;
        awaiting_send_ = true;
        return;
    }
    deliver(nullptr, &error);
}

void ClientConn::on_timer(io::Timer* t) {
    auto* self = static_cast<ClientConn*>(t->owner);
    if (!self->cb_ || self->awaiting_send_) return;
    if (self->has_deferred_error_) {
        self->has_deferred_error_ = false;
        Error error = self->deferred_error_;
        self->deliver(nullptr, &error);
        return;
    }
    if (self->state_ == State::connecting && self->loop_.now_ns() < self->deadline_ns_) {
        self->fail(Errc::timeout, "connect to %s timed out", self->endpoint_->host_header.c_str());
        return;
    }
    self->fail(Errc::timeout, "%s did not answer in time", self->endpoint_->host_header.c_str());
}

void ClientConn::close() {
    if (fd_ < 0) {
        if (state_ != State::closing) state_ = State::disconnected;
        return;
    }
    state_ = State::closing;
    loop_.close_socket(fd_,
                       {recv_armed_ ? &recv_c_ : nullptr, send_in_flight_ ? &send_c_ : nullptr,
                        connect_in_flight_ ? &connect_c_ : nullptr},
                       &close_c_);
    close_in_flight_ = true;
    fd_ = -1;
    delete tls_;
    tls_ = nullptr;
}

void ClientConn::drop_connection() {
    // Called while closing (or to retry): once every operation on the old socket is done, the
    // connection is disconnected; a pending exchange (a retry) reconnects.
    if (state_ != State::closing) close();
    if (recv_armed_ || send_in_flight_ || connect_in_flight_ || close_in_flight_) return;
    state_ = State::disconnected;
    in_.clear();
    parser_.reset();
    if (cb_) connect();
}

void ClientConn::on_close(io::Completion* c, int32_t, uint32_t) {
    auto* self = static_cast<ClientConn*>(c->owner);
    self->close_in_flight_ = false;
    self->drop_connection();
}

}  // namespace em::http
