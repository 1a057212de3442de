#include "upstream/node.h"

#include "base/assert.h"
#include "base/clock.h"
#include "http/writer.h"

namespace em::upstream {

/// A connection plus the call it is carrying.
class Node::Exchange final : public http::ClientCallback {
  public:
    Exchange(Node& node, bool lane)
        : node_(node),
          lane_(lane),
          conn_(node.loop_, node.options_.endpoint, node.options_.response_limits,
                node.options_.connect_timeout_ms) {}
    void on_response(http::ClientConn&, const http::Response* response,
                     const Error* error) override {
        node_.finish(*this, response, error);
    }
    Node& node_;
    bool lane_;
    http::ClientConn conn_;
    Call* call_ = nullptr;
};

Node::Node(io::Loop& loop, const NodeOptions& options)
    : loop_(loop), options_(options), signer_(options.secret) {
    pool_.reserve(options.connections_max);
    lane_ = std::make_unique<Exchange>(*this, true);
}

Node::~Node() {
    // Before the loop has ended, only a retired Node may go: a call still submitted would never
    // get its callback, an operation still pending would complete into freed memory.
    EM_ASSERT((quiet() && !ops_pending()) || loop_.ended());
    // After it ended: calls still queued belong to callers torn down with us; drop them.
    for (Call* c = wait_head_; c; c = c->next) loop_.timer_cancel(&c->queue_timer);
    for (Call* c = lane_head_; c; c = c->next) loop_.timer_cancel(&c->queue_timer);
}

bool Node::quiet() const {
    if (wait_count_ || lane_count_ || deferred_count_ || lane_->call_) return false;
    for (auto& ex : pool_)
        if (ex->call_) return false;
    return true;
}

bool Node::ops_pending() const {
    if (lane_->conn_.ops_pending()) return true;
    for (auto& ex : pool_)
        if (ex->conn_.ops_pending()) return true;
    return false;
}

void Node::close_idle() {
    for (auto& ex : pool_)
        if (!ex->call_) ex->conn_.close();
    if (!lane_->call_) lane_->conn_.close();
}

void Node::retire() {
    if (retiring_) return;
    retiring_ = true;
    fail_queued(lane_head_, lane_tail_, lane_count_);
    fail_queued(wait_head_, wait_tail_, wait_count_);
    close_idle();  // the others are closed by finish() when their call ends
}

bool Node::retired() const {
    if (!retiring_ || !quiet()) return false;
    if (!lane_->conn_.quiescent()) return false;
    for (auto& ex : pool_)
        if (!ex->conn_.quiescent()) return false;
    return true;
}

bool Node::start(Exchange& ex, Call& call) {
    stats_.calls++;
    ByteBuffer& out = ex.conn_.request();
    out.clear();
    const http::Endpoint& ep = options_.endpoint;
    size_t mark = http::begin_request(out, "POST", ep.host_header, ep.target,
                                      signer_.bearer_token(wall_s()), "application/json");
    // The body is not copied: the connection sends it from the caller's buffer, which stays
    // valid until the callback (Call::body), and calls back only once no send reads it.
    http::end_request_head(out, mark, call.body.size());
    if (out.overflowed() || call.body.size() > out.bytes_max() - out.size()) {
        out.clear();
        fail_later(call, Error(Errc::too_large, "request exceeds the upstream buffer limit"));
        return false;
    }
    ex.conn_.set_body(call.body);
    ex.call_ = &call;
    call.sent_ns = mono_ns();  // fresh: the loop's turn time can be long past after parsing
    ex.conn_.start(&ex, call.deadline_ns);
    return true;
}

void Node::fail_later(Call& call, const Error& error) {
    stats_.errors++;
    call.failure = error;
    call.node = this;
    call.queue_timer.fn = on_deferred_failure;
    call.queue_timer.owner = &call;
    deferred_count_++;
    loop_.timer_start(&call.queue_timer, 0);  // due now: runs in the loop's next turn
}

void Node::on_deferred_failure(io::Timer* t) {
    Call* call = static_cast<Call*>(t->owner);
    Node* self = call->node;
    self->deferred_count_--;
    Error e = call->failure;
    call->done->on_call_done(*call, nullptr, &e);
}

void Node::finish(Exchange& ex, const http::Response* response, const Error* error) {
    Call* call = ex.call_;
    ex.call_ = nullptr;
    if (error) {
        stats_.errors++;
        if (error->code() == Errc::timeout) stats_.timeouts++;
    }
    EM_ASSERT(call != nullptr);
    call->done->on_call_done(*call, response, error);
    if (retiring_) {
        ex.conn_.close();  // nothing is queued any more: this connection is done
        return;
    }
    if (ex.lane_)
        pump_lane();
    else
        pump_pool();
}

Node::Exchange* Node::idle_exchange() {
    for (auto& ex : pool_)
        if (!ex->call_ && !ex->conn_.busy()) return ex.get();
    if (pool_.size() < options_.connections_max) {
        pool_.push_back(std::make_unique<Exchange>(*this, false));
        return pool_.back().get();
    }
    return nullptr;
}

void Node::enqueue(Call*& head, Call*& tail, size_t& count, Call& call) {
    call.next = nullptr;
    call.queued = true;
    if (tail)
        tail->next = &call;
    else
        head = &call;
    tail = &call;
    count++;
    if (count > stats_.queued_max) stats_.queued_max = count;
    call.queue_timer.fn = on_queue_timeout;
    call.queue_timer.owner = &call;
    call.node = this;
    loop_.timer_start(&call.queue_timer, call.deadline_ns);
}

void Node::submit(Call& call) {
    EM_ASSERT(!retiring_);
    call.node = this;
    if (Exchange* ex = wait_head_ ? nullptr : idle_exchange()) {
        start(*ex, call);
        return;
    }
    enqueue(wait_head_, wait_tail_, wait_count_, call);
}

void Node::submit_ordered(Call& call) {
    EM_ASSERT(!retiring_);
    call.node = this;
    if (!lane_->call_ && !lane_head_) {
        start(*lane_, call);
        return;
    }
    if (lane_count_ >= options_.lane_queue_max) {
        fail_later(call, Error::fmt(Errc::busy, "engine lane of %s is full (%u calls queued)",
                                    options_.name.c_str(), options_.lane_queue_max));
        return;
    }
    enqueue(lane_head_, lane_tail_, lane_count_, call);
}

static Call* pop(Call*& head, Call*& tail, size_t& count) {
    Call* c = head;
    if (!c) return nullptr;
    head = c->next;
    if (!head) tail = nullptr;
    count--;
    c->next = nullptr;
    c->queued = false;
    return c;
}

void Node::fail_queued(Call*& head, Call*& tail, size_t& count) {
    while (Call* c = pop(head, tail, count)) {
        loop_.timer_cancel(&c->queue_timer);
        fail_later(*c, Error::fmt(Errc::closed, "%s was removed before the call was sent",
                                  options_.name.c_str()));
    }
}

void Node::pump_pool() {
    while (wait_head_) {
        Exchange* ex = idle_exchange();
        if (!ex) return;
        Call* c = pop(wait_head_, wait_tail_, wait_count_);
        loop_.timer_cancel(&c->queue_timer);
        start(*ex, *c);
    }
}

void Node::pump_lane() {
    // A call that cannot go (failed later) leaves the lane free for the next one.
    while (!lane_->call_ && lane_head_) {
        Call* c = pop(lane_head_, lane_tail_, lane_count_);
        loop_.timer_cancel(&c->queue_timer);
        start(*lane_, *c);
    }
}

void Node::on_queue_timeout(io::Timer* t) {
    // A queued call's deadline passed before it could be sent: unlink it and fail it.
    Call* call = static_cast<Call*>(t->owner);
    Node* self = call->node;
    auto unlink = [&](Call*& head, Call*& tail, size_t& count) {
        Call* prev = nullptr;
        for (Call* c = head; c; prev = c, c = c->next) {
            if (c != call) continue;
            if (prev)
                prev->next = c->next;
            else
                head = c->next;
            if (tail == c) tail = prev;
            count--;
            c->next = nullptr;
            c->queued = false;
            return true;
        }
        return false;
    };
    if (!unlink(self->lane_head_, self->lane_tail_, self->lane_count_))
        unlink(self->wait_head_, self->wait_tail_, self->wait_count_);
    self->stats_.errors++;
    self->stats_.timeouts++;
    Error e = Error::fmt(Errc::timeout, "%s: deadline passed while queued behind earlier calls",
                         self->options_.name.c_str());
    call->done->on_call_done(*call, nullptr, &e);
}

}  // namespace em::upstream
