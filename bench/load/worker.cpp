#include "worker.h"

#include <algorithm>

#include "base/assert.h"
#include "base/clock.h"

namespace em::load {

namespace {

/// How often the progress counters (p99) are published and the end is checked.
constexpr uint64_t tick_ns = 250'000'000;

http::Limits connection_limits(size_t request_bytes_max) {
    http::Limits limits;
    limits.body_bytes_max = std::max(Worker::response_bytes_max, request_bytes_max);
    return limits;
}

bool answered(Outcome o) {
    return o != Outcome::timeout && o != Outcome::connection_error;
}

}  // namespace

Worker::Worker(const RunPlan& plan, uint32_t index, uint32_t connections, double rate_rps)
    : plan_(plan),
      index_(index),
      connection_count_(connections),
      rate_rps_(rate_rps),
      thread_count_(plan.options->threads),
      timeout_ns_(ms_to_ns(plan.options->timeout_ms)),
      writer_(*plan.mix, plan.endpoint->host_header, plan.endpoint->target, plan.jwt_secret,
              plan.options->jwt_cache_s, plan.options->batch, plan.options->seed + index),
      classifier_(plan.options->batch, response_bytes_max, plan.mix),
      stats_(plan.mix->methods().size()),
      warmup_stats_(plan.mix->methods().size()),
      next_id_((uint64_t{index} << 40) + 1) {
    EM_ASSERT(connections >= 1 && index < thread_count_);
    pace_timer_ = {on_pace, this};
    tick_timer_ = {on_tick, this};
    end_timer_ = {on_end, this};
}

Worker::~Worker() = default;

Result<void> Worker::setup(io::Loop& loop, void* ctx) {
    auto* w = static_cast<Worker*>(ctx);
    w->loop_ = &loop;
    http::Limits limits = connection_limits(w->writer_.request_bytes_max());
    w->slots_ = std::make_unique<Slot[]>(w->connection_count_);
    w->idle_.reserve(w->connection_count_);
    for (uint32_t i = 0; i < w->connection_count_; i++) {
        Slot& s = w->slots_[i];
        s.worker = w;
        s.conn = std::make_unique<http::ClientConn>(loop, *w->plan_.endpoint, limits,
                                                    w->plan_.options->timeout_ms);
        s.conn->owner = &s;
        s.backoff.fn = on_backoff;
        s.backoff.owner = &s;
        s.kinds = std::make_unique<uint32_t[]>(w->plan_.options->batch);
        w->idle_.push_back(&s);
    }
    return {};
}

void Worker::teardown(io::Loop& loop, void* ctx) {
    auto* w = static_cast<Worker*>(ctx);
    loop.timer_cancel(&w->pace_timer_);
    loop.timer_cancel(&w->tick_timer_);
    loop.timer_cancel(&w->end_timer_);
    for (uint32_t i = 0; i < w->connection_count_; i++) loop.timer_cancel(&w->slots_[i].backoff);
    w->slots_.reset();
}

bool Worker::go(uint64_t t0_ns) {
    return loop_->post(io::Task{[](void* self, uint64_t t0) {
                                    auto* w = static_cast<Worker*>(self);
                                    w->t0_ns_ = t0;
                                    w->begin();
                                },
                                this, t0_ns});
}

bool Worker::stop_early() {
    return loop_->post(
        io::Task{[](void* self, uint64_t) { static_cast<Worker*>(self)->end_now(); }, this, 0});
}

void Worker::end_now() {
    uint64_t now = loop_->now_ns();
    if (!started_) {  // before (or instead of) the start: an empty run
        started_ = true;
        t0_ns_ = warmup_end_ns_ = end_ns_ = now;
    }
    if (now < end_ns_) end_ns_ = now;
    // Open loop: requests due but not yet sent are dropped, not counted.
    if (rate_rps_ > 0) {
        while (intended_ns(next_k_) < end_ns_) next_k_++;
    }
    maybe_finish();
}

void Worker::begin() {
    if (finished_) return;
    const Options& o = *plan_.options;
    warmup_end_ns_ = t0_ns_ + ms_to_ns(o.warmup_ms);
    end_ns_ = warmup_end_ns_ + ms_to_ns(o.duration_ms);
    progress_.measuring.store(o.warmup_ms == 0, std::memory_order_relaxed);
    loop_->timer_start(&pace_timer_, t0_ns_);  // on_pace starts the run
    loop_->timer_start(&tick_timer_, t0_ns_ + tick_ns);
    loop_->timer_start(&end_timer_, end_ns_);
}

uint64_t Worker::intended_ns(uint64_t k) const {
    double slot = static_cast<double>(k * thread_count_ + index_);
    return t0_ns_ + static_cast<uint64_t>(slot * 1e9 / rate_rps_);
}

void Worker::send(Slot& slot, uint64_t intended_ns) {
    uint64_t now = loop_->now_ns();
    slot.intended_ns = intended_ns;
    slot.measured = intended_ns >= warmup_end_ns_;
    if (rate_rps_ > 0 && slot.measured && now - intended_ns >= late_threshold_ns) stats_.add_late();
    slot.first_id = next_id_;
    next_id_ += plan_.options->batch;
    ByteBuffer& out = slot.conn->request();
    out.clear();
    int64_t now_s = plan_.jwt_secret ? wall_s() : 0;
    bool written = writer_.write(out, slot.first_id, now_s, slot.measured);
    EM_ASSERT(written);  // the connection's request buffer is sized for the largest request
    std::span<const uint32_t> kinds = writer_.last_kinds();
    std::copy(kinds.begin(), kinds.end(), slot.kinds.get());
    in_flight_++;
    slot.conn->start(this, (rate_rps_ > 0 ? intended_ns : now) + timeout_ns_);
}

void Worker::pace() {
    if (!started_ || finished_) return;
    uint64_t now = loop_->now_ns();
    for (;;) {
        uint64_t t = intended_ns(next_k_);
        if (t >= end_ns_) return;
        if (t > now) {
            loop_->timer_start(&pace_timer_, t);
            return;
        }
        if (t + timeout_ns_ <= now) {  // waited for a connection past its timeout
            RunStats& s = t >= warmup_end_ns_ ? stats_ : warmup_stats_;
            s.count(Outcome::timeout, plan_.options->batch);
            progress_.done.fetch_add(1, std::memory_order_relaxed);
            progress_.errors.fetch_add(1, std::memory_order_relaxed);
            next_k_++;
            continue;
        }
        if (idle_.empty()) return;  // sent when a connection frees up (after_answer)
        Slot* slot = idle_.back();
        idle_.pop_back();
        next_k_++;
        send(*slot, t);
    }
}

void Worker::on_response(http::ClientConn& conn, const http::Response* response,
                         const Error* error) {
    Slot& slot = *static_cast<Slot*>(conn.owner);
    EM_ASSERT(in_flight_ > 0);
    in_flight_--;
    RunStats& s = slot.measured ? stats_ : warmup_stats_;
    uint32_t batch = plan_.options->batch;
    Outcome outcome = classifier_.classify(response, error, slot.first_id, s,
                                           std::span<const uint32_t>(slot.kinds.get(), batch));
    s.count(outcome, batch);
    uint64_t latency_ns = UINT64_MAX;
    if (answered(outcome)) {
        latency_ns = loop_->now_ns() - slot.intended_ns;
        s.record_latency_ns(latency_ns);
    }
    count_calls(slot, s, outcome, latency_ns);
    progress_.done.fetch_add(1, std::memory_order_relaxed);
    if (outcome != Outcome::ok) progress_.errors.fetch_add(1, std::memory_order_relaxed);
    after_answer(slot, outcome);
}

void Worker::count_calls(const Slot& slot, RunStats& stats, Outcome outcome, uint64_t latency_ns) {
    const std::vector<Kind>& kinds = plan_.mix->kinds();
    bool per_call = outcome == Outcome::ok || outcome == Outcome::jsonrpc_error;
    std::span<const CallResult> calls = classifier_.calls();
    for (uint32_t j = 0; j < plan_.options->batch; j++) {
        Outcome o = outcome;
        PayloadStatus status = PayloadStatus::none;
        if (per_call) {
            o = calls[j].error ? Outcome::jsonrpc_error : Outcome::ok;
            status = calls[j].status;
        }
        stats.count_call(kinds[slot.kinds[j]].method, o, status, latency_ns);
    }
}

void Worker::after_answer(Slot& slot, Outcome outcome) {
    if (rate_rps_ > 0) {
        idle_.push_back(&slot);
        pace();
        maybe_finish();
        return;
    }
    uint64_t now = loop_->now_ns();
    if (now >= end_ns_ || finished_) {
        maybe_finish();
        return;
    }
    if (outcome == Outcome::connection_error) {
        loop_->timer_start(&slot.backoff, now + reconnect_backoff_ns);
        return;
    }
    send(slot, now);
}

void Worker::maybe_finish() {
    if (finished_ || !started_) return;
    if (loop_->now_ns() < end_ns_ || in_flight_ > 0) return;
    if (rate_rps_ > 0 && intended_ns(next_k_) < end_ns_) return;  // backlog still to send
    finished_ = true;
    loop_->timer_cancel(&pace_timer_);
    loop_->timer_cancel(&tick_timer_);
    loop_->timer_cancel(&end_timer_);
    for (uint32_t i = 0; i < connection_count_; i++) {
        loop_->timer_cancel(&slots_[i].backoff);
        slots_[i].conn->close();
    }
    publish_progress();
    progress_.finished.store(true, std::memory_order_release);
    loop_->request_stop();
}

void Worker::publish_progress() {
    bool measuring = loop_->now_ns() >= warmup_end_ns_;
    const RunStats& s = measuring ? stats_ : warmup_stats_;
    progress_.p99_ns.store(s.latency().percentile(0.99), std::memory_order_relaxed);
    progress_.measuring.store(measuring, std::memory_order_relaxed);
}

void Worker::on_pace(io::Timer* t) {
    auto* w = static_cast<Worker*>(t->owner);
    if (w->finished_) return;
    if (!w->started_) {
        w->started_ = true;
        if (w->rate_rps_ == 0) {
            w->idle_.clear();
            uint64_t now = w->loop_->now_ns();
            for (uint32_t i = 0; i < w->connection_count_ && now < w->end_ns_; i++)
                w->send(w->slots_[i], now);
            w->maybe_finish();
            return;
        }
    }
    w->pace();
    w->maybe_finish();
}

void Worker::on_tick(io::Timer* t) {
    auto* w = static_cast<Worker*>(t->owner);
    w->publish_progress();
    w->maybe_finish();
    if (!w->finished_) w->loop_->timer_start(&w->tick_timer_, t->deadline_ns + tick_ns);
}

void Worker::on_end(io::Timer* t) {
    auto* w = static_cast<Worker*>(t->owner);
    if (w->rate_rps_ > 0) w->pace();  // expire what waited too long
    w->maybe_finish();
}

void Worker::on_backoff(io::Timer* t) {
    auto* slot = static_cast<Slot*>(t->owner);
    Worker* w = slot->worker;
    if (w->finished_) return;
    uint64_t now = w->loop_->now_ns();
    if (now < w->end_ns_)
        w->send(*slot, now);
    else
        w->maybe_finish();
}

}  // namespace em::load
