#include "pipeline/gather_call.h"

#include <cstdio>
#include <cstring>
#include <utility>

#include "base/clock.h"
#include "base/hex.h"
#include "engine/best_of.h"
#include "engine/merge.h"
#include "jsonrpc/codes.h"
#include "jsonrpc/json_equal.h"
#include "jsonrpc/writer.h"

namespace em::pipeline {

namespace {

/// agree's and shadow's two parsers (this thread's: a call's comparison runs to its end at once).
std::pair<simdjson::dom::parser, simdjson::dom::parser>& agree_parsers() {
    static thread_local std::pair<simdjson::dom::parser, simdjson::dom::parser> parsers;
    return parsers;
}

}  // namespace

GatherCall::GatherCall(CallEnv& env, size_t body_bytes_max)
    : env_(env), fan_(env, body_bytes_max), result_(64u << 20, 1024) {}

void GatherCall::start_best_of(const engine::MethodInfo& method, std::string_view id,
                               std::span<const engine::NodePayloadId> builders,
                               uint64_t received_ns, uint64_t now_ns, Actions& out) {
    EM_ASSERT(state_ == State::idle || state_ == State::done);
    kind_ = CallKind::best_of;
    method_ = &method;
    state_ = State::collecting;
    received_ns_ = received_ns;
    fan_.reset(&method, id, {});
    for (const engine::NodePayloadId& b : builders) {
        if (b.node >= nodes_max) continue;
        NodeView n = env_.nodes.node(b.node);
        if (!n.present) continue;
        FanOut::Slot& slot = fan_.join(b.node, n, /*voter=*/true, /*dead_at_start=*/false);
        // The same call with this node's own payloadId.
        char hex[17];
        hex_encode(b.id.bytes, hex);
        slot.body.append("{\"jsonrpc\":\"2.0\",\"id\":");
        slot.body.append(fan_.id());
        slot.body.append(",\"method\":\"");
        slot.body.append(method.name);
        slot.body.append("\",\"params\":[\"0x");
        slot.body.append(std::string_view(hex, 16));
        slot.body.append("\"]}");
    }
    fan_.send_all(/*ordered=*/false, now_ns, out);
    if (fan_.pending() == 0) finish(now_ns, out);
}

void GatherCall::start_merge(CallKind kind, const engine::MethodInfo& method, std::string_view id,
                             std::string_view body, uint64_t received_ns, uint64_t now_ns,
                             Actions& out) {
    EM_ASSERT(state_ == State::idle || state_ == State::done);
    EM_ASSERT(kind == CallKind::merge || kind == CallKind::intersect);
    kind_ = kind;
    method_ = &method;
    state_ = State::collecting;
    received_ns_ = received_ns;
    fan_.reset(&method, id, body);
    for (size_t i = 0; i < nodes_max; i++) {
        NodeView n = env_.nodes.node(i);
        if (env_.policy.takes_part(kind, n)) fan_.join(i, n, env_.policy.votes(n), false);
    }
    fan_.send_all(/*ordered=*/false, now_ns, out);
    if (fan_.pending() == 0) finish(now_ns, out);
}

void GatherCall::start_broadcast(std::string_view id, std::string_view body, const Route& route,
                                 uint64_t received_ns, uint64_t now_ns, Actions& out) {
    EM_ASSERT(state_ == State::idle || state_ == State::done);
    kind_ = CallKind::broadcast;
    method_ = nullptr;
    state_ = State::collecting;
    received_ns_ = received_ns;
    first_error_ = -1;
    notification_ = id.empty();
    tx_hash_bytes_ = route.tx_hash.size() < sizeof tx_hash_ ? route.tx_hash.size() : 0;
    std::memcpy(tx_hash_, route.tx_hash.data(), tx_hash_bytes_);
    fan_.reset(nullptr, id, body, route.rewrite_id);
    for (size_t i = 0; i < nodes_max; i++) {
        NodeView n = env_.nodes.node(i);
        if (env_.policy.takes_part(CallKind::broadcast, n)) fan_.join(i, n, true, false);
    }
    bump(env_.metrics.rpc.broadcasts);
    fan_.send_all(/*ordered=*/false, now_ns, out);
    if (fan_.pending() == 0) finish(now_ns, out);
}

void GatherCall::start_compared(std::string_view method, std::string_view id, std::string_view body,
                                const Route& route, std::span<const uint8_t> nodes,
                                uint64_t received_ns, uint64_t now_ns, Actions& out) {
    EM_ASSERT(state_ == State::idle || state_ == State::done);
    kind_ = CallKind::merge;
    method_ = nullptr;
    state_ = State::collecting;
    received_ns_ = received_ns;
    size_t n = method.size() < sizeof agree_method_ - 1 ? method.size() : sizeof agree_method_ - 1;
    std::memcpy(agree_method_, method.data(), n);
    agree_method_[n] = 0;
    fan_.reset(nullptr, id, body, route.rewrite_id);
    for (uint8_t i : nodes) fan_.join(i, env_.nodes.node(i), true, false);
    fan_.send_all(/*ordered=*/false, now_ns, out);
    if (fan_.pending() == 0) finish(now_ns, out);
}

void GatherCall::start_agree(std::string_view method, std::string_view id, std::string_view body,
                             const Route& route, std::span<const uint8_t> nodes,
                             uint64_t received_ns, uint64_t now_ns, Actions& out) {
    agree_ = true;
    shadow_ = false;
    bump(env_.metrics.rpc.agree_calls);
    start_compared(method, id, body, route, nodes, received_ns, now_ns, out);
}

void GatherCall::start_shadow(std::string_view method, std::string_view id, std::string_view body,
                              const Route& route, std::span<const uint8_t> nodes,
                              uint64_t received_ns, uint64_t now_ns, Actions& out) {
    EM_ASSERT(nodes.size() == 2);
    agree_ = false;
    shadow_ = true;
    shadow_nodes_[0] = nodes[0];
    shadow_nodes_[1] = nodes[1];
    bump(env_.metrics.rpc.shadow_calls);
    start_compared(method, id, body, route, nodes, received_ns, now_ns, out);
}

void GatherCall::on_reply(const NodeReply& reply, uint64_t now_ns, Actions& out) {
    EM_ASSERT(state_ == State::collecting || state_ == State::answered);
    const FanOut::Slot& slot = fan_.record(reply, AnswerShape::result, now_ns, out);
    if (kind_ == CallKind::broadcast) {
        on_broadcast_reply(slot, reply.node, now_ns, out);
        return;
    }
    if (shadow_) {
        on_shadow_reply(slot, reply.node, now_ns, out);
        return;
    }
    if (fan_.pending() == 0) finish(now_ns, out);
}

void GatherCall::on_shadow_reply(const FanOut::Slot& slot, size_t node, uint64_t now_ns,
                                 Actions& out) {
    if (state_ == State::collecting && node == shadow_nodes_[0] &&
        answer_shadowed(slot, now_ns, out))
        state_ = State::answered;
    if (fan_.pending() > 0) return;
    finish(now_ns, out);
}

bool GatherCall::answer_shadowed(const FanOut::Slot& slot, uint64_t now_ns, Actions& out) {
    if (slot.answered_result()) {
        answer_result(slot.result, now_ns, out);
        return true;
    }
    if (slot.state != engine::SlotState::answered) return false;
    auto parsed = env_.responses.parse(slot.answer.data(), slot.answer.size(),
                                       slot.answer.capacity() + ByteBuffer::padding_bytes);
    if (!parsed || !parsed->is_error) return false;
    result_.clear();
    jsonrpc::write_error_object(result_, fan_.id(), parsed->error_raw);
    out.answer(result_.view());
    return true;
}

void GatherCall::compare_shadow(Actions& out) {
    std::span<const FanOut::Slot> slots = fan_.slots();
    const FanOut::Slot& a = slots[shadow_nodes_[0]];
    const FanOut::Slot& b = slots[shadow_nodes_[1]];
    if (!a.answered_result() || !b.answered_result()) return;
    bump(env_.metrics.rpc.shadow_compared);
    jsonrpc::JsonDifference d =
        jsonrpc::json_equal(agree_parsers().first, agree_parsers().second, a.result, b.result);
    if (d.equal) return;
    bump(env_.metrics.rpc.shadow_differences);
    NodeView na = env_.nodes.node(shadow_nodes_[0]), nb = env_.nodes.node(shadow_nodes_[1]);
    std::snprintf(agree_message_, sizeof agree_message_,
                  "shadow compare: %s answered differently by node %.*s (%s) and node %.*s (%s) "
                  "at %s",
                  agree_method_, static_cast<int>(na.name.size()), na.name.data(), na.client,
                  static_cast<int>(nb.name.size()), nb.name.data(), nb.client, d.where.c_str());
    out.disagreement(agree_message_, agree_method_, "shadow", "difference");
}

namespace {

/// A node's error says it has the transaction already (geth and reth: "already known";
/// Nethermind: "AlreadyKnown"; Besu: "Known transaction"; anvil: "transaction already
/// imported").
bool says_already_known(std::string_view message) {
    char lower[256];
    size_t n = message.size() < sizeof lower ? message.size() : sizeof lower;
    for (size_t i = 0; i < n; i++) {
        char c = message[i];
        lower[i] = c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
    }
    std::string_view text(lower, n);
    return text.find("already known") != std::string_view::npos ||
           text.find("alreadyknown") != std::string_view::npos ||
           text.find("known transaction") != std::string_view::npos ||
           text.find("already imported") != std::string_view::npos;
}

}  // namespace

void GatherCall::on_broadcast_reply(const FanOut::Slot& slot, size_t node, uint64_t now_ns,
                                    Actions& out) {
    if (state_ == State::collecting && notification_) {
        // A notification gets no answer at all: the nodes' answers are only counted.
        if (fan_.pending() > 0) return;
        out.answer({}, 204);
        state_ = State::done;
        return;
    }
    if (state_ == State::collecting && slot.answered_result()) {
        answer_result(slot.result, now_ns, out);
        state_ = State::answered;
    } else if (state_ == State::collecting && slot.state == engine::SlotState::answered &&
               slot.is_error) {
        auto parsed = env_.responses.parse(slot.answer.data(), slot.answer.size(),
                                           slot.answer.capacity() + ByteBuffer::padding_bytes);
        if (tx_hash_bytes_ && parsed && says_already_known(parsed->error_message)) {
            bump(env_.metrics.rpc.already_known);
            result_.clear();
            result_.push_back('"');
            result_.append(std::string_view(tx_hash_, tx_hash_bytes_));
            result_.push_back('"');
            answer_result(result_.view(), now_ns, out);
            state_ = State::answered;
        } else if (first_error_ < 0) {
            first_error_ = static_cast<int>(node);
        }
    }
    if (fan_.pending() > 0) return;
    if (state_ == State::collecting) answer_broadcast_failure(now_ns, out);
    state_ = State::done;
}

void GatherCall::answer_broadcast_failure(uint64_t now_ns, Actions& out) {
    if (notification_) {
        out.answer({}, 204);
        return;
    }
    if (first_error_ >= 0) {
        // The first error that came, under the client's id (its bytes as the client wrote them).
        const FanOut::Slot& slot = fan_.slots()[static_cast<size_t>(first_error_)];
        auto parsed = env_.responses.parse(slot.answer.data(), slot.answer.size(),
                                           slot.answer.capacity() + ByteBuffer::padding_bytes);
        if (parsed && parsed->is_error) {
            result_.clear();
            jsonrpc::write_error_object(result_, fan_.id(), parsed->error_raw);
            bump(env_.metrics.request_errors[method_slot_other]);
            out.answer(result_.view());
            return;
        }
    }
    fan_.answer_node_failures("the transaction reached no execution client",
                              "no node can take a transaction", {}, received_ns_, now_ns, out);
}

void GatherCall::finish(uint64_t now_ns, Actions& out) {
    if (kind_ == CallKind::broadcast) {
        answer_broadcast_failure(now_ns, out);  // nobody took part
    } else if (agree_) {
        agree_ = false;
        answer_agree(now_ns, out);
    } else if (shadow_) {
        shadow_ = false;
        if (state_ == State::collecting) {  // the read's node failed: the shadow's answer
            const FanOut::Slot& other = fan_.slots()[shadow_nodes_[1]];
            if (!answer_shadowed(other, now_ns, out))
                fan_.answer_node_failures("no execution client answered", "no node takes part", {},
                                          received_ns_, now_ns, out);
        }
        compare_shadow(out);
    } else if (kind_ == CallKind::best_of) {
        answer_best_of(now_ns, out);
    } else {
        answer_merge(now_ns, out);
    }
    state_ = State::done;
}

GatherCall::Answered GatherCall::answered() const {
    Answered a;
    std::span<const FanOut::Slot> slots = fan_.slots();
    for (size_t i = 0; i < nodes_max; i++) {
        const FanOut::Slot& slot = slots[i];
        if (!slot.in_call || slot.state != engine::SlotState::answered) continue;
        if (!slot.is_error) {
            a.results[a.count++] = i;
        } else if (a.first_error < 0) {
            a.first_error = static_cast<int>(i);
        }
    }
    return a;
}

void GatherCall::answer_best_of(uint64_t now_ns, Actions& out) {
    Answered a = answered();
    std::span<const FanOut::Slot> slots = fan_.slots();
    if (a.count > 0) {
        engine::BuiltPayloadAnswer answers[nodes_max];
        int primary = env_.nodes.primary();
        for (size_t k = 0; k < a.count; k++) {
            const FanOut::Slot& slot = slots[a.results[k]];
            answers[k] = {fan_.padded(slot, slot.result),
                          static_cast<int>(a.results[k]) == primary};
        }
        auto best = engine::choose_best_payload(env_.answers, std::span(answers, a.count),
                                                method_->version);
        if (best) {
            answer_raw(slots[a.results[best->index]].answer.view(), now_ns, out);
            return;
        }
    }
    if (a.first_error >= 0) {
        answer_raw(slots[static_cast<size_t>(a.first_error)].answer.view(), now_ns, out);
        return;
    }
    fan_.answer_node_failures("no execution client returned the payload",
                              "no node holds this payloadId", "not a well-formed payload",
                              received_ns_, now_ns, out);
}

void GatherCall::answer_merge(uint64_t now_ns, Actions& out) {
    Answered a = answered();
    std::span<const FanOut::Slot> slots = fan_.slots();
    simdjson::padded_string_view answers[nodes_max];
    size_t count = a.count;
    for (size_t k = 0; k < count; k++) {
        const FanOut::Slot& slot = slots[a.results[k]];
        answers[k] = fan_.padded(slot, slot.result);
    }
    if (count == 0) {
        if (a.first_error >= 0) {
            answer_raw(slots[static_cast<size_t>(a.first_error)].answer.view(), now_ns, out);
        } else {
            fan_.answer_node_failures("no execution client answered", "no node takes part", {},
                                      received_ns_, now_ns, out);
        }
        return;
    }
    result_.clear();
    std::span<const simdjson::padded_string_view> views(answers, count);
    auto merged = kind_ == CallKind::merge
                      ? engine::merge_client_versions(env_.answers, views, result_)
                      : engine::intersect_capabilities(env_.answers, views, result_);
    if (!merged) {
        answer_error(jsonrpc::code::internal_error, merged.error().message(), now_ns, out);
        return;
    }
    answer_result(result_.view(), now_ns, out);
}

void GatherCall::answer_agree(uint64_t now_ns, Actions& out) {
    std::span<const FanOut::Slot> slots = fan_.slots();
    char* message = agree_message_;
    constexpr size_t message_bytes = sizeof agree_message_;
    int first = -1;
    for (size_t i = 0; i < nodes_max; i++) {
        const FanOut::Slot& slot = slots[i];
        if (!slot.in_call) continue;
        std::string_view name = env_.nodes.node(i).name;
        if (slot.state != engine::SlotState::answered || slot.is_error) {
            std::snprintf(
                message, message_bytes, "%s: no agreement ([rpc.agree]): node %.*s %s",
                agree_method_, static_cast<int>(name.size()), name.data(),
                slot.state != engine::SlotState::answered ? "did not answer" : "answered an error");
            return disagree(message, now_ns, out);
        }
        if (first < 0) {
            first = static_cast<int>(i);
            continue;
        }
        const FanOut::Slot& a = slots[static_cast<size_t>(first)];
        jsonrpc::JsonDifference d = jsonrpc::json_equal(
            agree_parsers().first, agree_parsers().second, a.result, slot.result);
        if (d.equal) continue;
        std::string_view first_name = env_.nodes.node(static_cast<size_t>(first)).name;
        std::snprintf(message, message_bytes,
                      "%s: the execution clients disagree ([rpc.agree]): node %.*s (%s) and "
                      "node %.*s (%s) differ at %s",
                      agree_method_, static_cast<int>(first_name.size()), first_name.data(),
                      env_.nodes.node(static_cast<size_t>(first)).client,
                      static_cast<int>(name.size()), name.data(), env_.nodes.node(i).client,
                      d.where.c_str());
        return disagree(message, now_ns, out);
    }
    if (first < 0) return disagree("no node took part in the agreement", now_ns, out);
    bump(env_.metrics.rpc.agree_agreed);
    answer_result(slots[static_cast<size_t>(first)].result, now_ns, out);
}

void GatherCall::disagree(std::string_view message, uint64_t now_ns, Actions& out) {
    bump(env_.metrics.rpc.agree_disagreed);
    out.disagreement(message, agree_method_, "error", "agree");
    answer_error(jsonrpc::code::server_error, message, now_ns, out);
}

void GatherCall::answer_result(std::string_view result_json, uint64_t now_ns, Actions& out) {
    fan_.answer_result(result_json, received_ns_, now_ns, out);
}

void GatherCall::answer_raw(std::string_view response_json, uint64_t now_ns, Actions& out) {
    fan_.answer_raw(response_json, received_ns_, now_ns, out);
}

void GatherCall::answer_error(int code, std::string_view message, uint64_t now_ns, Actions& out) {
    fan_.answer_error(code, message, received_ns_, now_ns, out);
}

}  // namespace em::pipeline
