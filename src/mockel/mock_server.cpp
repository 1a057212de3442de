#include "mockel/mock_server.h"

#include "base/log.h"
#include "http/writer.h"

namespace em::mockel {

MockServer::MockServer(Responder& responder, const MockConfig& config)
    : responder_(responder), config_(config) {}

MockServer::~MockServer() {
    if (!loop_) return;
    for (auto& d : delayed_) loop_->timer_cancel(&d->timer);
}

Result<void> MockServer::listen(io::Loop& loop, const io::Address& address) {
    loop_ = &loop;
    http::ServerConfig config;
    config.name = "mock-el";
    config.limits.header_bytes_max = config_.header_bytes_max;
    config.limits.body_bytes_max = config_.body_bytes_max;
    config.answer_bytes_max = config_.response_bytes_max;
    config.connections_max = config_.connections_max;
    config.idle_timeout_ms = config_.idle_timeout_ms;
    delayed_.reserve(config_.connections_max);
    free_delayed_.reserve(config_.connections_max);
    return server_.listen(loop, address, *this, config);
}

void MockServer::on_request(http::ServerConn& conn, const http::Request& request) {
    size_t readable = request.body.data() ? conn.readable_bytes_from(request.body.data()) : 0;
    Plan plan = responder_.handle(request, readable, loop_->now_ns(), conn.out());
    if (plan.delay_ms == 0) {
        carry_out(conn, plan);
        return;
    }
    Delayed* d = nullptr;
    if (!free_delayed_.empty()) {
        d = free_delayed_.back();
        free_delayed_.pop_back();
    } else {
        // At most one request per connection is being answered: connections_max bounds this.
        delayed_.push_back(std::make_unique<Delayed>());
        d = delayed_.back().get();
        d->owner = this;
        d->timer.fn = on_delay;
        d->timer.owner = d;
    }
    d->conn = conn.ref();
    d->plan = plan;
    loop_->timer_start(&d->timer, loop_->now_ns() + uint64_t{plan.delay_ms} * 1'000'000);
}

void MockServer::on_delay(io::Timer* timer) {
    auto* d = static_cast<Delayed*>(timer->owner);
    MockServer* self = d->owner;
    // The client may have gone meanwhile: nobody is left to answer.
    if (d->conn.valid()) carry_out(*d->conn.conn, d->plan);
    d->conn = {};
    self->free_delayed_.push_back(d);
}

void MockServer::carry_out(http::ServerConn& conn, const Plan& plan) {
    switch (plan.transport) {
        case Transport::hang:
            return;  // never answered; the server closes the connection when the client leaves
        case Transport::close:
        case Transport::reset:
            conn.drop(plan.transport == Transport::reset);
            return;
        case Transport::none:
        case Transport::garbage:  // an answer, already written (a body that is not JSON)
            break;
    }
    if (conn.out().overflowed()) {
        EM_LOG_LIMITED(LogLevel::warn, 1,
                       "mock-el: an answer exceeds response_bytes_max (%zu): answered 500",
                       conn.out().bytes_max());
        conn.out().clear();
        http::write_response(conn.out(), 500, "application/json",
                             "{\"error\":\"response exceeds the configured limit\"}", false);
    }
    conn.send();
}

}  // namespace em::mockel
