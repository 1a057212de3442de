#include "pipeline/forward_call.h"

#include <cstdio>

#include "base/clock.h"
#include "engine/payload_status.h"
#include "jsonrpc/codes.h"
#include "jsonrpc/writer.h"

namespace em::pipeline {

namespace {

/// True for failures that say something about the node's health (not about the request).
bool health_failure(const Error& e) {
    return e.code() == Errc::timeout || e.code() == Errc::io || e.code() == Errc::closed;
}

}  // namespace

ForwardCall::ForwardCall(CallEnv& env, size_t body_bytes_max)
    : env_(env),
      body_(body_bytes_max + 1024, 1024),
      ids_(1u << 20, 256),
      answer_(64u << 20, 256),  // a rewritten answer (rpc) is as large as the node's
      last_error_(4096, 256),
      key_(1u << 20, 256) {}

void ForwardCall::start(std::string_view body, std::string_view ids, bool batch, size_t method_slot,
                        const engine::MethodInfo* method, bool read_only, uint64_t received_ns,
                        uint64_t now_ns, Actions& out, const Route& route) {
    EM_ASSERT(state_ == State::idle || state_ == State::done);
    state_ = State::waiting;
    body_.clear();
    // Answered under the client's id bytes: the node gets an id every EL parses.
    own_id_ = route.rewrite_id && !batch && jsonrpc::id_needs_replacing(ids) &&
              jsonrpc::write_with_id(body_, body, ids, jsonrpc::upstream_id);
    if (!own_id_) body_.append(body);
    ids_.clear();
    ids_.append(ids);
    batch_ = batch;
    read_only_ = read_only;
    method_slot_ = method_slot;
    method_ = method;
    tried_mask_ = 0;
    node_ = -1;
    hedge_node_ = -1;
    on_wire_ = 0;
    wake_due_ = false;
    last_error_.clear();
    received_ns_ = received_ns;
    upstream_ns_ = 0;
    route_ = route;
    key_.clear();
    if (!route.key.empty()) key_.append(route.key);
    route_.key = key_.view();
    route_.tx_hash = {};
    attempt(now_ns, out);
}

void ForwardCall::attempt(uint64_t now_ns, Actions& out) {
    node_ = env_.policy.pick_route(env_.nodes, tried_mask_, route_);
    if (node_ < 0 && route_.floor_head >= 0 && last_error_.empty()) {
        // A sticky client: no usable node has reached what it was served already.
        bump(env_.metrics.rpc.sticky_no_node);
        char message[200];
        int n = std::snprintf(message, sizeof message,
                              "no execution client can take this read: none usable has reached "
                              "block %lld, the newest this client was served ([rpc] sticky)",
                              static_cast<long long>(route_.floor_head));
        answer_failure({message, n < 0 ? 0 : static_cast<size_t>(n)}, now_ns, out);
        return;
    }
    if (node_ < 0) {
        // Every voter was tried (pick skips only tried nodes): last_error_ names each and why.
        std::string_view none =
            route_.at_head || route_.min_head >= 0 || route_.sticky >= 0
                ? std::string_view(
                      "no execution client can take this request (none is usable "
                      "at the block it needs)")
                : std::string_view("no execution client is available (no voting node)");
        answer_failure(last_error_.empty() ? none : last_error_.view(), now_ns, out);
        return;
    }
    bool first = tried_mask_ == 0;
    if (!first) {
        bump(env_.metrics.retries);
        if (route_.counted) bump(env_.metrics.rpc.methods[route_.metrics_slot].retries);
    }
    send_to(node_, now_ns, out);
    rpc::HedgePlanner* hedges = env_.policy.hedges();
    if (!first || !route_.hedge || !hedges || !hedges->enabled()) return;
    // Woken after the method's usual answer time: a second copy then, if still unanswered. Not
    // when that is past the attempt's deadline (the wake would only hold the call longer).
    uint64_t delay_us = hedges->delay_us(route_.metrics_slot);
    if (route_.timeout_ms && delay_us >= uint64_t{route_.timeout_ms} * 1000) return;
    wake_due_ = true;
    out.wake(now_ns + delay_us * 1000);
}

void ForwardCall::send_to(int node, uint64_t now_ns, Actions& out) {
    tried_mask_ |= 1u << node;
    on_wire_++;
    size_t i = static_cast<size_t>(node);
    bump(env_.metrics.upstream[i][method_slot_].calls);
    NodeView n = env_.nodes.node(i);
    uint64_t deadline = env_.policy.deadline_ns(method_, n, now_ns);
    if (route_.timeout_ms) {  // the method's own, capped by the node's
        uint64_t ms =
            n.timeout_ms && n.timeout_ms < route_.timeout_ms ? n.timeout_ms : route_.timeout_ms;
        deadline = now_ns + ms * 1'000'000ull;
    }
    out.send(i, body_.view(), false, deadline);
}

void ForwardCall::on_wake(bool client_waiting, uint64_t now_ns, Actions& out) {
    EM_ASSERT(wake_due_);
    wake_due_ = false;
    if (state_ == State::answered) {
        settle();
        return;
    }
    // Only a read still waiting for its one copy gets a second one.
    if (state_ != State::waiting || on_wire_ != 1 || hedge_node_ >= 0 || !client_waiting) return;
    rpc::HedgePlanner* hedges = env_.policy.hedges();
    int n = env_.policy.pick_route(env_.nodes, tried_mask_, route_);
    if (!hedges || n < 0 || !hedges->take()) return;
    hedge_node_ = n;
    if (route_.counted) bump(env_.metrics.rpc.methods[route_.metrics_slot].hedges);
    send_to(n, now_ns, out);
}

void ForwardCall::settle() {
    if (state_ == State::answered && on_wire_ == 0 && !wake_due_) state_ = State::done;
}

void ForwardCall::on_reply(const NodeReply& reply, bool client_waiting, uint64_t now_ns,
                           Actions& out) {
    int from = static_cast<int>(reply.node);
    EM_ASSERT((state_ == State::waiting || state_ == State::answered) && on_wire_ > 0 &&
              (from == node_ || from == hedge_node_));
    on_wire_--;
    bool from_hedge = from == hedge_node_;
    (from_hedge ? hedge_node_ : node_) = -1;
    UpstreamMetrics& m = env_.metrics.upstream[reply.node][method_slot_];
    uint64_t waited = reply.sent_ns ? elapsed_ns(reply.sent_ns, now_ns) : 0;
    if (reply.sent_ns) m.latency.record_us(waited / 1000);
    if (state_ == State::answered) {  // the loser of a hedge: its answer is not needed
        settle();
        return;
    }
    if (reply.sent_ns) upstream_ns_ += waited;
    std::string_view name = env_.nodes.node(reply.node).name;
    char why[Error::message_bytes_max + 64];
    bool retry = false;
    if (reply.error) {
        const Error& e = *reply.error;
        bump(m.errors);
        if (e.code() == Errc::timeout) bump(m.timeouts);
        if (health_failure(e) && reply.current) out.node_failed(reply.node, e);
        std::snprintf(why, sizeof why, "%.*s: %s", static_cast<int>(name.size()), name.data(),
                      e.c_str());
        // A timeout already spent the caller's patience, unless the call only reads (its
        // deadline is short and another node may answer); anything else may go to the next.
        retry = e.code() != Errc::timeout || read_only_;
    } else if (relay(reply, why, sizeof why, &retry, now_ns, out)) {
        rpc::HedgePlanner* hedges = env_.policy.hedges();
        if (route_.hedge && hedges) hedges->record(route_.metrics_slot, waited / 1000);
        if (from_hedge && route_.counted)
            bump(env_.metrics.rpc.methods[route_.metrics_slot].hedges_won);
        return;
    }
    // The answer names every node tried and why each failed, in order.
    if (!last_error_.empty()) last_error_.append("; ");
    last_error_.append(why);
    if (on_wire_ > 0) return;  // the other copy of a hedged read may still answer
    bool untried = env_.policy.pick_route(env_.nodes, tried_mask_, route_) >= 0;
    if (retry && client_waiting && untried) {
        attempt(now_ns, out);
        return;
    }
    if (!retry && untried)
        last_error_.append(" (not retried on another node: the call may change state)");
    answer_failure(last_error_.view(), now_ns, out);
}

bool ForwardCall::relay(const NodeReply& reply, char* why, size_t why_size, bool* retry,
                        uint64_t now_ns, Actions& out) {
    UpstreamMetrics& m = env_.metrics.upstream[reply.node][method_slot_];
    std::string_view name = env_.nodes.node(reply.node).name;
    int name_len = static_cast<int>(name.size());
    if (ids_.empty() && reply.body.empty() &&
        (reply.http_status == 200 || reply.http_status == 204)) {
        // Only notifications: JSON-RPC answers nothing, and nodes say so with an empty 200 or a
        // 204 (anvil). Relay that; it is not a failure to retry on the next node.
        out.answer({}, reply.http_status);
        finish(now_ns);
        return true;
    }
    if (reply.http_status != 200) {
        bump(m.errors);
        std::snprintf(why, why_size, "%.*s answered HTTP %d", name_len, name.data(),
                      reply.http_status);
        *retry = true;
        return false;
    }
    std::string_view body = reply.body;
    size_t capacity = body.size() + ByteBuffer::padding_bytes;  // reply bodies are padded
    bool good;
    if (batch_) {
        good = static_cast<bool>(env_.responses.parse_batch(body.data(), body.size(), capacity));
    } else {
        auto parsed = env_.responses.parse(body.data(), body.size(), capacity);
        good = parsed && jsonrpc::same_id(parsed->id, own_id_ ? jsonrpc::upstream_id : ids_.view());
        if (good && (route_.rewrite_id || route_.learn != Learn::nothing)) {
            answer_good(body, *parsed, reply.node, out);
            finish(now_ns);
            return true;
        }
        if (good && method_ && !parsed->is_error && engine::is_null_result(parsed->result) &&
            method_->kind != engine::MethodKind::other) {
            // getBlobs/bodies answered null by this node: another may have the data.
            std::snprintf(why, why_size, "%.*s answered null", name_len, name.data());
            if (env_.policy.pick_route(env_.nodes, tried_mask_, route_) >= 0) {
                *retry = true;
                good = false;
            }
        }
    }
    if (good) {
        out.answer(body);
        finish(now_ns);
        return true;
    }
    if (!*retry) {
        bump(m.errors);
        std::snprintf(why, why_size, "%.*s sent a malformed JSON-RPC answer", name_len,
                      name.data());
        *retry = true;
    }
    return false;
}

void ForwardCall::answer_good(std::string_view body, const jsonrpc::Response& parsed, size_t node,
                              Actions& out) {
    if (route_.learn != Learn::nothing && !parsed.is_error &&
        !engine::is_null_result(parsed.result)) {
        out.learned(route_.learn, route_.key, parsed.result, node);
    }
    // The node served this client (a result or its error: either shows its chain).
    if (route_.sticky_client) out.served(route_.sticky_client, node, route_.min_head);
    if (!route_.rewrite_id) {
        out.answer(body);
        return;
    }
    // The client's id exactly as it wrote it (1e0 stays 1e0); the rest is the node's bytes.
    answer_.clear();
    if (parsed.is_error) {
        jsonrpc::write_error_object(answer_, ids_.view(), parsed.error_raw);
    } else {
        jsonrpc::write_result(answer_, ids_.view(), parsed.result);
    }
    if (route_.counted && parsed.is_error)
        bump(env_.metrics.rpc.methods[route_.metrics_slot].errors);
    out.answer(answer_.view());
}

void ForwardCall::answer_failure(std::string_view message, uint64_t now_ns, Actions& out) {
    bump(env_.metrics.request_errors[method_slot_]);
    if (route_.counted) bump(env_.metrics.rpc.methods[route_.metrics_slot].errors);
    if (ids_.empty() && !batch_) {
        // A notification nobody could take: JSON-RPC gives it no answer at all.
        out.answer({}, 204);
        finish(now_ns);
        return;
    }
    answer_.clear();
    std::string_view ids = ids_.view();
    if (batch_) jsonrpc::begin_batch(answer_);
    bool first = true;
    while (true) {
        size_t nl = ids.find('\n');
        std::string_view id = ids.substr(0, nl);
        if (!first) jsonrpc::batch_separator(answer_);
        first = false;
        jsonrpc::write_error(answer_, id.empty() ? "null" : id, jsonrpc::code::server_error,
                             message);
        if (nl == std::string_view::npos || !batch_) break;
        ids.remove_prefix(nl + 1);
    }
    if (batch_) jsonrpc::end_batch(answer_);
    out.answer(answer_.view());
    finish(now_ns);
}

void ForwardCall::finish(uint64_t now_ns) {
    // Answered; done once the losing copy of a hedge and the wake are in too.
    state_ = State::answered;
    settle();
    uint64_t total = elapsed_ns(received_ns_, now_ns);
    env_.metrics.own_latency[method_slot_].record_us(elapsed_ns(upstream_ns_, total) / 1000);
}

}  // namespace em::pipeline
