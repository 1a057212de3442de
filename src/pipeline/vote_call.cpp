#include "pipeline/vote_call.h"

#include <cstdio>

#include "base/clock.h"
#include "base/hex.h"
#include "engine/payload_status.h"
#include "jsonrpc/codes.h"
#include "jsonrpc/writer.h"

namespace em::pipeline {

VoteCall::VoteCall(CallEnv& env, size_t body_bytes_max)
    : env_(env), fan_(env, body_bytes_max), result_(64u << 20, 1024) {}

void VoteCall::start(const engine::MethodInfo& method, std::string_view id, std::string_view body,
                     bool check_hash, uint64_t received_ns, uint64_t now_ns, Actions& out) {
    EM_ASSERT(state_ == State::idle || state_ == State::done);
    method_ = &method;
    state_ = State::collecting;
    hash_ = check_hash ? HashCheck::pending : HashCheck::not_checked;
    received_ns_ = received_ns;
    final_vote_ = engine::VoteResult{};
    fan_.reset(&method, id, body);
    for (size_t i = 0; i < nodes_max; i++) {
        NodeView n = env_.nodes.node(i);
        if (!env_.policy.takes_part(CallKind::vote, n)) continue;
        bool dead = env_.engine_suspect[i] || n.health == Health::dead;
        fan_.join(i, n, env_.policy.votes(n), dead);
    }
    fan_.send_all(/*ordered=*/true, now_ns, out);
    decide(now_ns, out);  // nobody to wait for: SYNCING at once
}

void VoteCall::on_hash(const Result<eth::Verdict>& verdict, uint64_t now_ns, Actions& out) {
    EM_ASSERT(hash_ == HashCheck::pending);
    ShardMetrics& metrics = env_.metrics;
    if (!verdict) {
        hash_ = HashCheck::not_checked;
        told_ = VoteRecord::told_error;
        reason_ = VoteRecord::reason_error;
        bump(metrics.payload_decode_errors);
        char message[160];
        std::snprintf(message, sizeof message, "invalid params: %s", verdict.error().c_str());
        answer_error(jsonrpc::code::invalid_params, message, now_ns, out);
        decide(now_ns, out);
        return;
    }
    claimed_hash_ = verdict->claimed;
    computed_hash_ = verdict->computed;
    hash_ = verdict->match ? HashCheck::match : HashCheck::mismatch;
    if (hash_ == HashCheck::mismatch) {
        // The payload contradicts its own block hash: INVALID at once, whatever the ELs say.
        bump(metrics.block_hash_mismatch);
        engine::PayloadStatus status;
        status.status =
            method_->version == 1 ? engine::Status::invalid_block_hash : engine::Status::invalid;
        char claimed[67] = {}, computed[67] = {}, message[200];
        format_data(claimed_hash_, claimed);
        format_data(computed_hash_, computed);
        std::snprintf(message, sizeof message,
                      "\"blockHash %s does not match the payload (it hashes to %s)\"", claimed,
                      computed);
        status.validation_error_json = message;
        told_ = static_cast<uint8_t>(status.status);
        reason_ = VoteRecord::reason_block_hash;
        early_ = fan_.pending() > 0;
        result_.clear();
        if (engine::write_payload_status(result_, status, method_->status_schema)) {
            answer_result(result_.view(), now_ns, out);
        }
        bump(metrics.vote_answers[static_cast<size_t>(status.status)]);
    }
    decide(now_ns, out);
}

void VoteCall::on_reply(const NodeReply& reply, uint64_t now_ns, Actions& out) {
    EM_ASSERT(state_ == State::collecting || state_ == State::answered);
    AnswerShape shape = method_->kind == engine::MethodKind::forkchoice_updated
                            ? AnswerShape::forkchoice_updated
                            : AnswerShape::payload_status;
    fan_.record(reply, shape, now_ns, out);
    decide(now_ns, out);
}

engine::VoteMethod VoteCall::vote_method() const {
    if (method_->kind == engine::MethodKind::forkchoice_updated) {
        return engine::VoteMethod::forkchoice_updated;
    }
    return method_->version == 1 ? engine::VoteMethod::new_payload_v1
                                 : engine::VoteMethod::new_payload;
}

size_t VoteCall::collect(engine::VoteSlot* votes, bool* any_rpc_error,
                         int* first_error_slot) const {
    size_t count = 0;
    std::span<const FanOut::Slot> slots = fan_.slots();
    for (size_t i = 0; i < nodes_max; i++) {
        const FanOut::Slot& slot = slots[i];
        if (!slot.in_call || !slot.voter) continue;
        engine::VoteSlot v;
        if (slot.state == engine::SlotState::pending) {
            // Not waited for if the node was dead when the call went out: it counts as not
            // answered unless it answers before the decision.
            v.state =
                slot.dead_at_start ? engine::SlotState::no_answer : engine::SlotState::pending;
        } else if (slot.answered_result()) {
            v.state = engine::SlotState::answered;
            v.answer = slot.status;
        } else {
            v.state = engine::SlotState::no_answer;
        }
        if (slot.state == engine::SlotState::answered && slot.is_error) {
            *any_rpc_error = true;
            if (*first_error_slot < 0) *first_error_slot = static_cast<int>(i);
        }
        votes[count++] = v;
    }
    return count;
}

void VoteCall::decide(uint64_t now_ns, Actions& out) {
    bool all_in = fan_.pending() == 0;
    if (state_ == State::collecting && hash_ != HashCheck::pending) {
        engine::VoteSlot votes[nodes_max];
        bool any_rpc_error = false;
        int error_slot = -1;
        size_t count = collect(votes, &any_rpc_error, &error_slot);
        std::span<const engine::VoteSlot> span(votes, count);
        if (all_in || engine::is_final(span, env_.policy.quorum(), vote_method())) {
            engine::VoteResult result = engine::vote(span, env_.policy.quorum(), vote_method());
            if (!all_in) bump(env_.metrics.votes_early);
            early_ = !all_in;
            answer_vote(result, any_rpc_error, error_slot, now_ns, out);
        }
    }
    if (all_in && hash_ != HashCheck::pending && state_ != State::done) {
        EM_ASSERT(state_ == State::answered);
        tally(now_ns, out);
        state_ = State::done;
    }
}

void VoteCall::answer_vote(const engine::VoteResult& result, bool any_rpc_error, int error_slot,
                           uint64_t now_ns, Actions& out) {
    ShardMetrics& metrics = env_.metrics;
    bump(metrics.vote_reasons[static_cast<size_t>(result.reason)]);
    bump(metrics.vote_answers[static_cast<size_t>(result.answer.status)]);
    told_ = static_cast<uint8_t>(result.answer.status);
    reason_ = static_cast<uint8_t>(result.reason);
    if (result.answered == 0 && any_rpc_error) {
        told_ = VoteRecord::told_error;
        reason_ = VoteRecord::reason_error;
        // Every voter that answered rejected the call itself (e.g. -38005 unsupported fork,
        // -32602): relay that error rather than pretend SYNCING.
        answer_raw(fan_.slots()[static_cast<size_t>(error_slot)].answer.view(), now_ns, out);
        return;
    }
    result_.clear();
    Result<void> written;
    if (method_->kind == engine::MethodKind::forkchoice_updated) {
        engine::PayloadId minted;
        const engine::PayloadId* payload_id = nullptr;
        mint_payload_id(result, minted, payload_id, now_ns);
        written = engine::write_forkchoice_updated(result_, result.answer, method_->status_schema,
                                                   payload_id);
    } else {
        written = engine::write_payload_status(result_, result.answer, method_->status_schema);
    }
    if (!written) {
        told_ = VoteRecord::told_error;
        answer_error(jsonrpc::code::internal_error, written.error().message(), now_ns, out);
    } else {
        answer_result(result_.view(), now_ns, out);
    }
}

void VoteCall::mint_payload_id(const engine::VoteResult& result, engine::PayloadId& minted,
                               const engine::PayloadId*& payload_id, uint64_t now_ns) {
    if (result.answer.status != engine::Status::valid || !env_.payload_ids) return;
    // Our id maps to the payloadIds of the voters that said VALID (the builders getPayload asks).
    engine::NodePayloadId ids[nodes_max];
    size_t n = 0;
    std::span<const FanOut::Slot> slots = fan_.slots();
    for (size_t i = 0; i < nodes_max; i++) {
        const FanOut::Slot& slot = slots[i];
        if (slot.in_call && slot.voter && slot.answered_result() && slot.has_payload_id &&
            slot.status.status == engine::Status::valid) {
            ids[n++] = engine::NodePayloadId{static_cast<uint32_t>(i), slot.payload_id};
        }
    }
    if (n == 0) return;
    auto id = env_.payload_ids->mint(std::span(ids, n), now_ns);
    if (!id) return;
    minted = *id;
    payload_id = &minted;
    bump(env_.metrics.payload_ids_minted);
}

void VoteCall::tally(uint64_t now_ns, Actions& out) {
    engine::VoteSlot votes[nodes_max];
    bool any_rpc_error = false;
    int error_slot = -1;
    size_t count = collect(votes, &any_rpc_error, &error_slot);
    final_vote_ = engine::vote(std::span(votes, count), env_.policy.quorum(), vote_method());
    log_disagreement(final_vote_, out);
    record(now_ns);
}

void VoteCall::count_disagreeing_nodes(const engine::VoteResult& result) {
    // The plurality of the answers (a unique largest count): a node is "disagreeing" when its
    // answer differs from it. With no unique plurality nobody is singled out.
    size_t best = 0, best_count = 0;
    bool unique = false;
    for (size_t st = 0; st < engine::status_count; st++) {
        size_t c = result.per_status[st];
        if (c > best_count) {
            best = st;
            best_count = c;
            unique = true;
        } else if (c == best_count && c > 0) {
            unique = false;
        }
    }
    if (!unique) return;
    std::span<const FanOut::Slot> slots = fan_.slots();
    for (size_t i = 0; i < nodes_max; i++) {
        const FanOut::Slot& slot = slots[i];
        if (slot.in_call && slot.voter && slot.answered_result() &&
            static_cast<size_t>(slot.status.status) != best) {
            bump(env_.metrics.node_disagreements[i]);
        }
    }
}

void VoteCall::record(uint64_t now_ns) {
    VoteRecord r;
    r.mono_ns = now_ns;
    r.method_slot = static_cast<uint8_t>(method_->index);
    r.told = told_;
    r.reason = reason_;
    r.early = early_;
    r.hash_check = hash_ == HashCheck::match ? 1 : hash_ == HashCheck::mismatch ? 2 : 0;
    std::span<const FanOut::Slot> slots = fan_.slots();
    for (size_t i = 0; i < nodes_max; i++) {
        const FanOut::Slot& slot = slots[i];
        if (!slot.in_call) continue;
        if (slot.voter) r.voters |= 1u << i;
        if (slot.answered_result()) {
            r.outcome[i] = static_cast<uint8_t>(VoteRecord::answered_valid +
                                                static_cast<uint8_t>(slot.status.status));
        } else if (slot.state == engine::SlotState::answered && slot.is_error) {
            r.outcome[i] = VoteRecord::rpc_error;
        } else {
            r.outcome[i] = VoteRecord::no_answer;
        }
    }
    env_.metrics.recent_votes.add(r);
}

void VoteCall::log_disagreement(const engine::VoteResult& result, Actions& out) {
    // Every slot is in: count minority nodes and log one line per disagreement (what operators
    // look for after an incident).
    bool checked = hash_ == HashCheck::match || hash_ == HashCheck::mismatch;
    bool hash_conflict =
        hash_ == HashCheck::mismatch && result.answer.status == engine::Status::valid;
    if (result.disagree == 0 && !hash_conflict) return;
    ShardMetrics& metrics = env_.metrics;
    bump(metrics.disagreements);
    count_disagreeing_nodes(result);
    char* line = line_;
    const int size = static_cast<int>(sizeof line_);
    std::string_view answer = engine::status_name(result.answer.status);
    std::string_view reason = engine::vote_reason_name(result.reason);
    int n = std::snprintf(line, sizeof line_, "disagreement method=%.*s answer=%.*s reason=%.*s",
                          static_cast<int>(method_->name.size()), method_->name.data(),
                          static_cast<int>(answer.size()), answer.data(),
                          static_cast<int>(reason.size()), reason.data());
    if (checked) {
        char claimed[67] = {};
        format_data(claimed_hash_, claimed);
        n += std::snprintf(line + n, static_cast<size_t>(size - n), " block=%s hash_check=%s",
                           claimed, hash_ == HashCheck::match ? "match" : "MISMATCH");
    }
    std::span<const FanOut::Slot> slots = fan_.slots();
    for (size_t i = 0; i < nodes_max && n < size - 100; i++) {
        const FanOut::Slot& slot = slots[i];
        if (!slot.in_call) continue;
        std::string_view name = slot.name.empty() ? std::string_view("?") : slot.name;
        const char* role = slot.voter ? "" : "[mirror]";
        if (!slot.answered_result()) {
            n += std::snprintf(line + n, static_cast<size_t>(size - n), " %.*s%s=no-answer(%s)",
                               static_cast<int>(name.size()), name.data(), role, slot.failure);
            continue;
        }
        const engine::PayloadStatus& s = slot.status;
        char lvh[67] = "null";
        if (s.has_latest_valid_hash) format_data(s.latest_valid_hash, lvh);
        std::string_view status = engine::status_name(s.status);
        size_t err = s.validation_error_json.size() > 80 ? 80 : s.validation_error_json.size();
        n += std::snprintf(line + n, static_cast<size_t>(size - n), " %.*s%s=%.*s(lvh=%s%s%.*s)",
                           static_cast<int>(name.size()), name.data(), role,
                           static_cast<int>(status.size()), status.data(), lvh,
                           s.validation_error_json.empty() ? "" : ",err=", static_cast<int>(err),
                           s.validation_error_json.data());
    }
    out.disagreement(std::string_view(line, static_cast<size_t>(n < size ? n : size - 1)),
                     method_->name, answer, reason);
}

void VoteCall::answer_result(std::string_view result_json, uint64_t now_ns, Actions& out) {
    state_ = State::answered;
    fan_.answer_result(result_json, received_ns_, now_ns, out);
}

void VoteCall::answer_raw(std::string_view response_json, uint64_t now_ns, Actions& out) {
    state_ = State::answered;
    fan_.answer_raw(response_json, received_ns_, now_ns, out);
}

void VoteCall::answer_error(int code, std::string_view message, uint64_t now_ns, Actions& out) {
    state_ = State::answered;
    fan_.answer_error(code, message, received_ns_, now_ns, out);
}

}  // namespace em::pipeline
