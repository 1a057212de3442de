#include "pipeline/heads_hub.h"

#include <simdjson.h>

#include <algorithm>
#include <cstdio>
#include <utility>

namespace em::pipeline::subs {

namespace {

constexpr uint64_t ns_per_ms = 1'000'000;

simdjson::dom::parser& message_parser() {
    static thread_local simdjson::dom::parser parser;
    return parser;
}

std::string fetch_request(uint64_t number) {
    unsigned long long id = NewHeadsHub::fetch_id_base + number;
    char text[160];
    int n = std::snprintf(text, sizeof text,
                          "{\"jsonrpc\":\"2.0\",\"id\":%llu,\"method\":\"eth_getBlockByNumber\","
                          "\"params\":[\"0x%llx\",false]}",
                          id, static_cast<unsigned long long>(number));
    return std::string(text, static_cast<size_t>(n));
}

}  // namespace

NewHeadsHub::NewHeadsHub(const HubConfig& config, size_t nodes)
    : config_(config), nodes_(nodes), node_(nodes ? nodes - 1 : 0) {}

void NewHeadsHub::push(HubAction::Kind kind, size_t node, std::string bytes) {
    actions_.push_back(HubAction{kind, node, std::move(bytes)});
}

void NewHeadsHub::set_node(size_t node, bool has_ws, bool usable) {
    nodes_[node].has_ws = has_ws;
    nodes_[node].usable = usable;
}

void NewHeadsHub::best_head(uint64_t number, uint64_t now_ns) {
    best_head_ = std::max(best_head_, number);
    bool flowing = state_ == State::live || state_ == State::filling;
    if (flowing && feed_has_head_ && feed_last_ + config_.max_head_lag_blocks < best_head_) {
        fail_over(now_ns);
    }
}

void NewHeadsHub::subscribers(size_t total, uint64_t now_ns) {
    subscribers_ = total;
    if (total > 0 && state_ == State::idle) {
        start(now_ns);
    } else if (total == 0 && state_ != State::idle) {
        if (state_ != State::waiting) push(HubAction::Kind::close, node_);
        state_ = State::idle;
        pending_.clear();
        delivered_.clear();  // a later subscriber starts at the head, not at an old gap
        feed_has_head_ = false;
    }
}

/// Picks the next node with a ws_url that is usable and not benched, the one after the current
/// feed's first; none: waiting.
void NewHeadsHub::start(uint64_t now_ns) {
    size_t n = nodes_.size();
    for (size_t k = 1; k <= n; k++) {
        size_t i = (node_ + k) % n;
        const Node& node = nodes_[i];
        if (!node.has_ws || !node.usable || node.benched_until_ns > now_ns) continue;
        node_ = i;
        state_ = State::connecting;
        since_ns_ = now_ns;
        feed_has_head_ = false;
        push(HubAction::Kind::connect, i);
        return;
    }
    state_ = State::waiting;
}

void NewHeadsHub::fail_over(uint64_t now_ns) {
    counters_.failovers++;
    push(HubAction::Kind::close, node_);
    nodes_[node_].benched_until_ns = now_ns + config_.bench_ms * ns_per_ms;
    pending_.clear();
    fill_ = Fill{};
    state_ = State::waiting;
    start(now_ns);
}

void NewHeadsHub::on_open(size_t node, uint64_t now_ns) {
    if (node != node_ || state_ != State::connecting) return;
    state_ = State::subscribing;
    since_ns_ = now_ns;
    counters_.subscribes++;
    push(HubAction::Kind::send, node,
         "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_subscribe\",\"params\":[\"newHeads\"]}");
}

void NewHeadsHub::on_closed(size_t node, uint64_t now_ns) {
    if (node != node_ || state_ == State::idle || state_ == State::waiting) return;
    fail_over(now_ns);
}

void NewHeadsHub::on_message(size_t node, std::string_view text, uint64_t now_ns) {
    if (node != node_ || state_ < State::subscribing) return;
    simdjson::dom::object msg;
    if (message_parser().parse(text.data(), text.size(), true).get_object().get(msg)) return;
    std::string_view method;
    if (!msg["method"].get_string().get(method)) {
        simdjson::dom::element result;
        if (method != "eth_subscription" || msg.at_pointer("/params/result").get(result)) return;
        if (state_ == State::subscribing) return;  // not ours yet
        on_head(simdjson::minify(result), now_ns);
        return;
    }
    uint64_t id = 0;
    if (msg["id"].get_uint64().get(id)) return;
    simdjson::dom::element result;
    bool has_result = !msg["result"].get(result);
    if (id == subscribe_id && state_ == State::subscribing) {
        if (!has_result || !result.is_string()) return fail_over(now_ns);
        state_ = State::live;
        since_ns_ = now_ns;
        return;
    }
    if (id < fetch_id_base) return;
    bool missing = !has_result || result.is_null();
    on_fetched(id - fetch_id_base, missing ? std::string_view{} : simdjson::minify(result),
               missing);
}

void NewHeadsHub::observe_interval(uint64_t now_ns) {
    if (last_head_ns_ != 0 && now_ns > last_head_ns_) {
        uint64_t d = now_ns - last_head_ns_;
        interval_ns_ = interval_ns_ ? (7 * interval_ns_ + d) / 8 : d;
    }
    last_head_ns_ = now_ns;
}

void NewHeadsHub::on_head(std::string_view head, uint64_t now_ns) {
    Result<HeadId> id = parse_head_id(head);
    if (!id) return fail_over(now_ns);  // an EL that sends malformed heads feeds no one
    if (!feed_has_head_ || id->number > feed_last_) observe_interval(now_ns);
    feed_has_head_ = true;
    feed_last_ = id->number;
    if (state_ == State::filling) {
        if (pending_.size() >= config_.pending_heads_max) return fail_over(now_ns);
        pending_.push_back(Pending{*id, std::string(head)});
        return;
    }
    take_head(*id, std::string(head));
    if (feed_last_ + config_.max_head_lag_blocks < best_head_) fail_over(now_ns);
}

void NewHeadsHub::take_head(const HeadId& id, std::string head) {
    GapPlan plan = plan_gap(delivered_, id, config_.gap_blocks_max);
    switch (plan.kind) {
        case GapPlan::Kind::drop:
            counters_.duplicates++;
            return;
        case GapPlan::Kind::deliver:
            return deliver(id, std::move(head));
        case GapPlan::Kind::fill:
            return start_fill(plan, id, std::move(head));
    }
}

void NewHeadsHub::deliver(const HeadId& id, std::string head) {
    if (!delivered_.empty() && id.number <= delivered_.last_number()) counters_.reorgs++;
    delivered_.push(id.number, id.hash);
    counters_.delivered++;
    push(HubAction::Kind::deliver, 0, std::move(head));
}

void NewHeadsHub::start_fill(const GapPlan& plan, const HeadId& id, std::string head) {
    counters_.skipped += plan.skipped;
    fill_ = Fill{};
    fill_.from = plan.fetch_from;
    fill_.to = plan.fetch_to;
    fill_.next = plan.fetch_from;
    size_t count = static_cast<size_t>(plan.fetch_to - plan.fetch_from + 1);
    fill_.heads.resize(count);
    fill_.done.assign(count, false);
    pending_.insert(pending_.begin(), Pending{id, std::move(head)});
    state_ = State::filling;
    // since_ns_ keeps the feed's start: a fill is timed from the revealing head instead.
    since_ns_ = last_head_ns_;
    for (uint64_t n = plan.fetch_from; n <= plan.fetch_to; n++) {
        push(HubAction::Kind::send, node_, fetch_request(n));
    }
}

void NewHeadsHub::on_fetched(uint64_t number, std::string_view result, bool missing) {
    if (state_ != State::filling || number < fill_.from || number > fill_.to) return;
    size_t at = static_cast<size_t>(number - fill_.from);
    if (fill_.done[at]) return;
    fill_.done[at] = true;
    if (!missing && !block_as_head(result, fill_.heads[at])) fill_.heads[at].clear();
    drain_fill();
}

/// Delivers the fetched blocks that are next in order; when the whole gap is out, the heads
/// that waited behind it.
void NewHeadsHub::drain_fill() {
    while (fill_.next <= fill_.to && fill_.done[fill_.next - fill_.from]) {
        std::string& head = fill_.heads[fill_.next - fill_.from];
        Result<HeadId> id =
            head.empty() ? Result<HeadId>(fail(Errc::not_found, "missing")) : parse_head_id(head);
        if (!id || id->number != fill_.next) {
            counters_.skipped++;
        } else if (!delivered_.seen(id->number, id->hash)) {
            counters_.filled++;
            deliver(*id, std::move(head));
        }
        fill_.next++;
    }
    if (fill_.next <= fill_.to) return;
    state_ = State::live;
    std::vector<Pending> queue;
    queue.swap(pending_);
    for (Pending& p : queue) {
        if (state_ == State::filling) {
            pending_.push_back(std::move(p));
        } else {
            take_head(p.id, std::move(p.head));
        }
    }
}

bool NewHeadsHub::silent(uint64_t now_ns) const {
    uint64_t limit_ns =
        interval_ns_ ? std::max<uint64_t>(2 * interval_ns_, config_.silence_min_ms * ns_per_ms)
                     : config_.silence_initial_ms * ns_per_ms;
    uint64_t since = std::max(last_head_ns_, since_ns_);
    return now_ns > since && now_ns - since > limit_ns;
}

void NewHeadsHub::tick(uint64_t now_ns) {
    uint64_t timeout_ns = config_.request_timeout_ms * ns_per_ms;
    switch (state_) {
        case State::idle:
            return;
        case State::waiting:
            return start(now_ns);
        case State::connecting:
        case State::subscribing:
            if (now_ns - since_ns_ > timeout_ns) fail_over(now_ns);
            return;
        case State::filling:
            if (now_ns - since_ns_ > timeout_ns) return fail_over(now_ns);
            [[fallthrough]];
        case State::live:
            if (silent(now_ns)) fail_over(now_ns);
            return;
    }
}

}  // namespace em::pipeline::subs
