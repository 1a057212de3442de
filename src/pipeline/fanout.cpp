#include "pipeline/fanout.h"

#include <cstdarg>
#include <cstdio>

#include "base/clock.h"
#include "base/hex.h"
#include "engine/payload_status.h"
#include "jsonrpc/writer.h"

namespace em::pipeline {

namespace {

/// True for failures that say something about the node's health (not about the request).
bool health_failure(const Error& e) {
    return e.code() == Errc::timeout || e.code() == Errc::io || e.code() == Errc::closed;
}

}  // namespace

std::string_view trim_json(std::string_view s) {
    auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
    while (!s.empty() && space(s.front())) s.remove_prefix(1);
    while (!s.empty() && space(s.back())) s.remove_suffix(1);
    return s;
}

FanOut::FanOut(CallEnv& env, size_t body_bytes_max)
    : env_(env), id_(4096, 64), body_(body_bytes_max + 1024, 1024) {}

void FanOut::reset(const engine::MethodInfo* method, std::string_view id, std::string_view body,
                   bool own_id) {
    method_ = method;
    id_.clear();
    id_.append(id.empty() ? std::string_view("null") : id);
    body_.clear();
    own_id_ = own_id && jsonrpc::id_needs_replacing(id) &&
              jsonrpc::write_with_id(body_, body, id, jsonrpc::upstream_id);
    if (!own_id_) body_.append(body);
    pending_ = 0;
    first_sent_ns_ = 0;
    last_answer_ns_ = 0;
    for (Slot& slot : slots_) slot.in_call = false;
}

FanOut::Slot& FanOut::join(size_t i, const NodeView& n, bool voter, bool dead_at_start) {
    Slot& slot = slots_[i];
    slot.in_call = true;
    slot.voter = voter;
    slot.dead_at_start = dead_at_start;
    slot.state = engine::SlotState::pending;
    slot.is_error = false;
    slot.error_code = 0;
    slot.name = n.name;
    slot.body.clear();
    slot.answer.clear();
    slot.result = {};
    slot.status = engine::PayloadStatus{};
    slot.has_payload_id = false;
    slot.sent_ns = 0;
    slot.failure[0] = 0;
    pending_++;
    return slot;
}

void FanOut::send_all(bool ordered, uint64_t now_ns, Actions& out) {
    for (size_t i = 0; i < nodes_max; i++) {
        Slot& slot = slots_[i];
        if (!slot.in_call) continue;
        std::string_view body = slot.body.empty() ? body_.view() : slot.body.view();
        bump(env_.metrics.upstream[i][method_slot()].calls);
        out.send(i, body, ordered, env_.policy.deadline_ns(method_, env_.nodes.node(i), now_ns));
    }
}

void FanOut::release_grown_buffers() {
    body_.release_if_grown(call_buffer_keep_bytes, 1024);
    answer_.release_if_grown(call_buffer_keep_bytes, 1024);
    for (Slot& slot : slots_) {
        slot.body.release_if_grown(call_buffer_keep_bytes, 256);
        slot.answer.release_if_grown(call_buffer_keep_bytes, 256);
    }
}

uint64_t FanOut::waited_ns() const {
    return last_answer_ns_ ? elapsed_ns(first_sent_ns_, last_answer_ns_) : 0;
}

simdjson::padded_string_view FanOut::padded(const Slot& slot, std::string_view part) const {
    size_t capacity = static_cast<size_t>(slot.answer.data() + slot.answer.capacity() +
                                          ByteBuffer::padding_bytes - part.data());
    return simdjson::padded_string_view(part.data(), part.size(), capacity);
}

void FanOut::fail(Slot& slot, const char* format, ...) {
    slot.state = engine::SlotState::no_answer;
    va_list args;
    va_start(args, format);
    std::vsnprintf(slot.failure, sizeof slot.failure, format, args);
    va_end(args);
}

FanOut::Slot& FanOut::record(const NodeReply& reply, AnswerShape shape, uint64_t now_ns,
                             Actions& out) {
    size_t i = reply.node;
    Slot& slot = slots_[i];
    EM_ASSERT(slot.in_call && slot.state == engine::SlotState::pending && pending_ > 0);
    pending_--;
    slot.sent_ns = reply.sent_ns;
    UpstreamMetrics& m = env_.metrics.upstream[i][method_slot()];
    if (reply.sent_ns) {
        if (first_sent_ns_ == 0 || reply.sent_ns < first_sent_ns_) first_sent_ns_ = reply.sent_ns;
        last_answer_ns_ = now_ns;
        m.latency.record_us(elapsed_ns(reply.sent_ns, now_ns) / 1000);
    }
    if (reply.error) {
        const Error& e = *reply.error;
        bump(m.errors);
        if (e.code() == Errc::timeout) {
            bump(m.timeouts);
            // What a node removed since says about its health must not stick to its successor.
            if (reply.current && method_) env_.engine_suspect[i] = true;
        }
        if (health_failure(e) && reply.current) out.node_failed(i, e);
        fail(slot, "%s", e.c_str());
        return slot;
    }
    if (reply.http_status != 200) {
        bump(m.errors);
        fail(slot, "HTTP %d", reply.http_status);
        return slot;
    }
    slot.answer.clear();
    slot.answer.append(reply.body);
    auto parsed = env_.responses.parse(slot.answer.data(), slot.answer.size(),
                                       slot.answer.capacity() + ByteBuffer::padding_bytes);
    if (!parsed || !jsonrpc::same_id(parsed->id, own_id_ ? jsonrpc::upstream_id : id_.view())) {
        bump(m.errors);
        fail(slot, "%s", parsed ? "answered with another id" : "malformed JSON-RPC answer");
        return slot;
    }
    if (reply.current && method_) env_.engine_suspect[i] = false;  // it answers engine calls
    slot.state = engine::SlotState::answered;
    if (parsed->is_error) {
        slot.is_error = true;
        slot.error_code = parsed->error_code;
        std::snprintf(slot.failure, sizeof slot.failure, "error %d", parsed->error_code);
        return slot;
    }
    slot.result = parsed->result;
    parse_result(slot, shape);
    if (slot.state == engine::SlotState::no_answer) bump(m.errors);
    return slot;
}

void FanOut::parse_result(Slot& slot, AnswerShape shape) {
    simdjson::padded_string_view json = padded(slot, slot.result);
    if (shape == AnswerShape::payload_status) {
        auto status = engine::parse_payload_status(env_.answers, json, method_->status_schema);
        if (!status) {
            fail(slot, "bad PayloadStatus: %s", status.error().c_str());
            return;
        }
        slot.status = *status;
    } else if (shape == AnswerShape::forkchoice_updated) {
        auto fcu = engine::parse_forkchoice_updated(env_.answers, json, method_->status_schema);
        if (!fcu) {
            fail(slot, "bad forkchoiceUpdated answer: %s", fcu.error().c_str());
            return;
        }
        slot.status = fcu->payload_status;
        slot.has_payload_id = fcu->has_payload_id;
        slot.payload_id = fcu->payload_id;
    }
}

void FanOut::record_own_time(uint64_t received_ns, uint64_t now_ns) {
    uint64_t total = elapsed_ns(received_ns, now_ns);
    env_.metrics.own_latency[method_slot()].record_us(elapsed_ns(waited_ns(), total) / 1000);
}

void FanOut::answer_result(std::string_view result_json, uint64_t received_ns, uint64_t now_ns,
                           Actions& out) {
    record_own_time(received_ns, now_ns);
    answer_.clear();
    jsonrpc::write_result(answer_, id_.view(), result_json);
    out.answer(answer_.view());
}

void FanOut::answer_raw(std::string_view response_json, uint64_t received_ns, uint64_t now_ns,
                        Actions& out) {
    record_own_time(received_ns, now_ns);
    out.answer(trim_json(response_json));
}

void FanOut::answer_error(int code, std::string_view message, uint64_t received_ns, uint64_t now_ns,
                          Actions& out) {
    record_own_time(received_ns, now_ns);
    bump(env_.metrics.request_errors[method_slot()]);
    answer_.clear();
    jsonrpc::write_error(answer_, id_.view(), code, message);
    out.answer(answer_.view());
}

void FanOut::answer_node_failures(std::string_view what, std::string_view none,
                                  std::string_view result_unusable, uint64_t received_ns,
                                  uint64_t now_ns, Actions& out) {
    message_.clear();
    message_.append(what);
    bool any = false;
    for (const Slot& slot : slots_) {
        if (!slot.in_call || (slot.answered_result() && result_unusable.empty())) continue;
        message_.append(any ? "; " : ": ");
        any = true;
        message_.append(slot.name);
        message_.append(": ");
        if (slot.answered_result())
            message_.append(result_unusable);
        else if (slot.state == engine::SlotState::pending)
            message_.append("no answer yet");
        else if (slot.failure[0])
            message_.append(std::string_view(slot.failure));
        else
            message_.append("no answer");
    }
    if (!any) {
        message_.append(" (");
        message_.append(none);
        message_.append(")");
    }
    answer_error(jsonrpc::code::server_error, message_.view(), received_ns, now_ns, out);
}

}  // namespace em::pipeline
