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
      answer_(1u << 20, 256),
      last_error_(4096, 256) {}

void ForwardCall::start(std::string_view body, std::string_view ids, bool batch, size_t method_slot,
                        const engine::MethodInfo* method, bool read_only, uint64_t received_ns,
                        uint64_t now_ns, Actions& out) {
    EM_ASSERT(state_ == State::idle || state_ == State::done);
    state_ = State::waiting;
    body_.clear();
    body_.append(body);
    ids_.clear();
    ids_.append(ids);
    batch_ = batch;
    read_only_ = read_only;
    method_slot_ = method_slot;
    method_ = method;
    tried_mask_ = 0;
    node_ = -1;
    last_error_.clear();
    received_ns_ = received_ns;
    upstream_ns_ = 0;
    attempt(now_ns, out);
}

void ForwardCall::attempt(uint64_t now_ns, Actions& out) {
    node_ = env_.policy.pick(env_.nodes, tried_mask_);
    if (node_ < 0) {
        // Every voter was tried (pick skips only tried nodes): last_error_ names each and why.
        answer_failure(last_error_.empty()
                           ? std::string_view("no execution client is available (no voting node)")
                           : last_error_.view(),
                       now_ns, out);
        return;
    }
    if (tried_mask_) bump(env_.metrics.retries);
    tried_mask_ |= 1u << node_;
    size_t i = static_cast<size_t>(node_);
    bump(env_.metrics.upstream[i][method_slot_].calls);
    out.send(i, body_.view(), false, env_.policy.deadline_ns(method_, env_.nodes.node(i), now_ns));
}

void ForwardCall::on_reply(const NodeReply& reply, bool client_waiting, uint64_t now_ns,
                           Actions& out) {
    EM_ASSERT(state_ == State::waiting && reply.node == static_cast<size_t>(node_));
    UpstreamMetrics& m = env_.metrics.upstream[reply.node][method_slot_];
    if (reply.sent_ns) {
        uint64_t waited = elapsed_ns(reply.sent_ns, now_ns);
        upstream_ns_ += waited;
        m.latency.record_us(waited / 1000);
    }
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
        return;
    }
    // The answer names every node tried and why each failed, in order.
    if (!last_error_.empty()) last_error_.append("; ");
    last_error_.append(why);
    bool untried = env_.policy.pick(env_.nodes, tried_mask_) >= 0;
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
        good = parsed && jsonrpc::same_id(parsed->id, ids_.view());
        if (good && method_ && !parsed->is_error && engine::is_null_result(parsed->result) &&
            method_->kind != engine::MethodKind::other) {
            // getBlobs/bodies answered null by this node: another may have the data.
            std::snprintf(why, why_size, "%.*s answered null", name_len, name.data());
            if (env_.policy.pick(env_.nodes, tried_mask_) >= 0) {
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

void ForwardCall::answer_failure(std::string_view message, uint64_t now_ns, Actions& out) {
    bump(env_.metrics.request_errors[method_slot_]);
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
    state_ = State::done;
    uint64_t total = elapsed_ns(received_ns_, now_ns);
    env_.metrics.own_latency[method_slot_].record_us(elapsed_ns(upstream_ns_, total) / 1000);
}

}  // namespace em::pipeline
