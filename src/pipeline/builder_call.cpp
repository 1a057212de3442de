#include "pipeline/builder_call.h"

#include <cstdio>
#include <cstring>

#include <simdjson.h>

#include "base/clock.h"
#include "base/hex.h"
#include "base/log.h"
#include "engine/builder_payload.h"
#include "engine/payload_status.h"
#include "jsonrpc/codes.h"
#include "jsonrpc/writer.h"
#include "pipeline/gate.h"

namespace em::pipeline {

namespace {

namespace od = simdjson::ondemand;

/// The id of the newPayload that validates a builder's block on the local EL.
constexpr std::string_view validate_id = "1";

/// True for failures that say something about the node's health (not about the request).
bool health_failure(const Error& e) {
    return e.code() == Errc::timeout || e.code() == Errc::io || e.code() == Errc::closed;
}

simdjson::padded_string_view padded(const ByteBuffer& buffer, std::string_view part) {
    size_t capacity = static_cast<size_t>(buffer.data() + buffer.capacity() +
                                          ByteBuffer::padding_bytes - part.data());
    return simdjson::padded_string_view(part.data(), part.size(), capacity);
}

/// The method table's entry for engine_newPayloadV<version>.
const engine::MethodInfo* new_payload_method(uint8_t version) {
    char name[32];
    std::snprintf(name, sizeof name, "engine_newPayloadV%u", static_cast<unsigned>(version));
    return engine::find_method(name);
}

}  // namespace

void read_fork_attributes(engine::RequestKernel& requests, size_t entry, ForkAttributes& out) {
    out = ForkAttributes{};
    if (!requests.param_is_object(entry, 1)) return;  // null or missing: no attributes
    out.present = true;
    CallFacts facts;  // headBlockHash and the timestamp, copied out (no views kept)
    read_forkchoice_facts(requests, entry, facts);
    out.has_head = facts.has_head;
    out.head = facts.head;
    out.has_timestamp = facts.has_timestamp;
    out.timestamp = facts.timestamp;
    bool yes = false;
    if (requests.param_member_bool(entry, 1, "noTxPool", &yes)) out.no_tx_pool = yes;
    // Last: a later read of the request may reuse the buffer the unescaped string is in.
    std::string_view root;
    if (requests.param_member_string(entry, 1, "parentBeaconBlockRoot", &root) && root.size() == 66)
        out.beacon_root = root;
}

void BuilderBook::remember(const engine::PayloadId& id, const ForkAttributes& attributes) {
    Entry* e = const_cast<Entry*>(find(id));
    if (!e) {
        e = &entries_[next_];
        next_ = (next_ + 1) % entries_.size();
    }
    e->id = id;
    e->used = true;
    e->no_tx_pool = attributes.no_tx_pool;
    e->has_head = attributes.has_head;
    e->head = attributes.head;
    e->has_timestamp = attributes.has_timestamp;
    e->timestamp = attributes.timestamp;
    e->root_bytes = static_cast<uint8_t>(attributes.beacon_root.size());
    if (e->root_bytes) std::memcpy(e->root, attributes.beacon_root.data(), e->root_bytes);
}

const BuilderBook::Entry* BuilderBook::find(const engine::PayloadId& id) const {
    for (const Entry& e : entries_)
        if (e.used && e.id == id) return &e;
    return nullptr;
}

BuilderCall::BuilderCall(CallEnv& env, size_t body_bytes_max)
    : env_(env), body_(body_bytes_max + 1024, 1024) {}

void BuilderCall::release_grown_buffers() {
    body_.release_if_grown(call_buffer_keep_bytes, 1024);
    answer_.release_if_grown(call_buffer_keep_bytes, 1024);
    for (Leg& leg : legs_) {
        for (ByteBuffer* b : {&leg.body, &leg.answer, &leg.new_payload})
            b->release_if_grown(call_buffer_keep_bytes, 256);
    }
}

size_t BuilderCall::method_slot(uint8_t sub) const {
    if (sub < validate_base) return method_->index;
    // A builder block's validation: counted as the newPayload it is.
    const engine::MethodInfo* np =
        new_payload_method(engine::new_payload_version_for(method_->version));
    return np ? np->index : method_->index;
}

void BuilderCall::send(size_t node, std::string_view body, bool ordered, uint64_t deadline_ns,
                       uint8_t sub, Actions& out) {
    on_wire_++;
    bump(env_.metrics.upstream[node][method_slot(sub)].calls);
    out.send(node, body, ordered, deadline_ns, sub);
}

void BuilderCall::start(const Start& s, uint64_t received_ns, uint64_t now_ns, Actions& out) {
    EM_ASSERT(state_ == State::idle || state_ == State::done);
    const BuilderSettings& settings = *env_.policy.builder();
    state_ = State::waiting;
    method_ = s.method;
    flow_ = s.flow;
    mode_ = s.mode;
    attributes_ = s.attributes;
    if (!s.attributes.beacon_root.empty())  // an empty view's data() may be null
        std::memcpy(root_, s.attributes.beacon_root.data(), s.attributes.beacon_root.size());
    attributes_.beacon_root = {root_, s.attributes.beacon_root.size()};
    id_.clear();
    id_.append(s.id.empty() ? std::string_view("null") : s.id);
    body_.clear();
    body_.append(s.body);
    on_wire_ = 0;
    local_in_ = local_ok_ = no_tx_pool_ = has_local_id_ = false;
    local_block_ = engine::BuiltBlock{};
    received_ns_ = received_ns;
    for (Leg& leg : legs_) {
        leg.in_call = leg.out = leg.validating = leg.settled = leg.rpc_error = false;
        leg.has_payload_id = false;
        leg.block = engine::BuiltBlock{};
        leg.failure[0] = 0;
    }
    if (flow_ == engine::BuilderFlow::get_payload) {
        start_get_payload(s, now_ns, out);
        return;
    }
    size_t local = settings.local;
    legs_[local].in_call = legs_[local].out = true;
    send(local, body_.view(), true,
         env_.policy.deadline_ns(method_, env_.nodes.node(local), now_ns),
         static_cast<uint8_t>(local), out);
    if (flow_ == engine::BuilderFlow::local_only) return;  // disabled since route() read it
    if (flow_ == engine::BuilderFlow::fork) bump(env_.metrics.builder.forks);
    for (size_t i = 0; i < nodes_max; i++) {
        NodeView n = env_.nodes.node(i);
        if (i == local || !n.present || n.health == Health::dead) continue;
        if (flow_ == engine::BuilderFlow::fork) {
            fork_to(i, n, now_ns, out);
            continue;
        }
        legs_[i].in_call = legs_[i].out = true;
        send(i, body_.view(), true, env_.policy.deadline_ns(method_, n, now_ns),
             static_cast<uint8_t>(i), out);
    }
}

void BuilderCall::fork_to(size_t i, const NodeView& n, uint64_t now_ns, Actions& out) {
    // Benched: no attributes, so no block (it still gets the boost-sync copies).
    if (!env_.policy.builder()->shared->admit_fork(i, now_ns)) return;
    legs_[i].in_call = legs_[i].out = true;
    send(i, body_.view(), true, env_.policy.deadline_ns(method_, n, now_ns),
         static_cast<uint8_t>(i), out);
}

void BuilderCall::bench_leg(size_t i, uint64_t now_ns) {
    legs_[i].in_call = true;
    std::snprintf(legs_[i].failure, sizeof legs_[i].failure, "benched by its circuit breaker");
    reject(i, engine::Fallback::breaker_open, now_ns);
}

void BuilderCall::start_get_payload(const Start& s, uint64_t now_ns, Actions& out) {
    const BuilderSettings& settings = *env_.policy.builder();
    size_t local = settings.local;
    local_id_ = s.payload_id;
    // Taken once, from the request's arrival: no stage can extend it.
    deadline_ns_ = received_ns_ + uint64_t{settings.get_payload_deadline_ms} * 1'000'000ull;
    const BuilderBook::Entry* book =
        env_.builder_book ? env_.builder_book->find(s.payload_id) : nullptr;
    no_tx_pool_ = book && book->no_tx_pool;
    fork_has_head_ = book && book->has_head;
    fork_has_timestamp_ = book && book->has_timestamp;
    if (book) {
        fork_head_ = book->head;
        fork_timestamp_ = book->timestamp;
    }
    size_t root_bytes = book ? book->root_bytes : 0;
    if (book) std::memcpy(root_, book->root, root_bytes);
    attributes_.beacon_root = {root_, root_bytes};
    legs_[local].in_call = legs_[local].out = true;
    // Unordered, as every getPayload: it changes nothing, and must not wait behind the lane.
    send(local, body_.view(), false,
         env_.policy.deadline_ns(method_, env_.nodes.node(local), now_ns),
         static_cast<uint8_t>(local), out);
    std::span<const engine::NodePayloadId> mapped;
    if (env_.payload_ids && !no_tx_pool_) mapped = env_.payload_ids->lookup(s.payload_id, now_ns);
    BuilderShared& shared = *settings.shared;
    for (const engine::NodePayloadId& b : mapped) {
        if (b.node >= nodes_max || b.node == local || !env_.nodes.node(b.node).present) continue;
        if (shared.benched(b.node)) {  // benched since its fork
            bench_leg(b.node, now_ns);
            continue;
        }
        Leg& leg = legs_[b.node];
        leg.in_call = leg.out = true;
        char hex[17];
        hex_encode(b.id.bytes, hex);
        leg.body.clear();
        leg.body.append("{\"jsonrpc\":\"2.0\",\"id\":");
        leg.body.append(id_.view());
        leg.body.append(",\"method\":\"");
        leg.body.append(method_->name);
        leg.body.append("\",\"params\":[\"0x");
        leg.body.append(std::string_view(hex, 16));
        leg.body.append("\"]}");
        uint64_t deadline = env_.policy.deadline_ns(method_, env_.nodes.node(b.node), now_ns);
        send(b.node, leg.body.view(), false, deadline < deadline_ns_ ? deadline : deadline_ns_,
             static_cast<uint8_t>(b.node), out);
    }
    if (no_tx_pool_) return;
    for (size_t i = 0; i < nodes_max; i++)  // benched at the fork: they would have been asked
        if (i != local && !legs_[i].in_call && env_.nodes.node(i).present && shared.benched(i))
            bench_leg(i, now_ns);
}

bool BuilderCall::take_answer(Leg& leg, const NodeReply& reply, size_t method_slot, bool* late) {
    UpstreamMetrics& m = env_.metrics.upstream[reply.node][method_slot];
    *late = false;
    leg.rpc_error = false;
    if (reply.error) {
        const Error& e = *reply.error;
        bump(m.errors);
        if (e.code() == Errc::timeout) bump(m.timeouts);
        *late = e.code() == Errc::timeout;
        std::snprintf(leg.failure, sizeof leg.failure, "%s", e.c_str());
        return false;
    }
    if (reply.http_status != 200) {
        bump(m.errors);
        std::snprintf(leg.failure, sizeof leg.failure, "HTTP %d", reply.http_status);
        return false;
    }
    leg.answer.clear();
    leg.answer.append(reply.body);
    auto parsed = env_.responses.parse(leg.answer.data(), leg.answer.size(),
                                       leg.answer.capacity() + ByteBuffer::padding_bytes);
    if (!parsed) {
        bump(m.errors);
        std::snprintf(leg.failure, sizeof leg.failure, "malformed JSON-RPC answer: %s",
                      parsed.error().c_str());
        return false;
    }
    if (!jsonrpc::same_id(parsed->id, id_.view())) {
        bump(m.errors);
        std::snprintf(leg.failure, sizeof leg.failure, "answered with another id");
        return false;
    }
    leg.result = parsed->result;
    if (parsed->is_error) {
        leg.rpc_error = true;
        std::snprintf(leg.failure, sizeof leg.failure, "error %d: %.*s", parsed->error_code,
                      static_cast<int>(parsed->error_message.size()), parsed->error_message.data());
        return false;
    }
    return true;
}

void BuilderCall::on_reply(const NodeReply& reply, uint8_t sub, uint64_t now_ns, Actions& out) {
    EM_ASSERT((state_ == State::waiting || state_ == State::answered) && on_wire_ > 0);
    on_wire_--;
    size_t local = env_.policy.builder()->local;
    UpstreamMetrics& m = env_.metrics.upstream[reply.node][method_slot(sub)];
    if (reply.sent_ns) m.latency.record_us(elapsed_ns(reply.sent_ns, now_ns) / 1000);
    // Only the local EL's failures mark a node dead at once: one failed builder call would
    // keep it from every fork until the next probe; its bad blocks go to its breaker instead.
    if (reply.error && health_failure(*reply.error) && reply.current &&
        reply.node == env_.policy.builder()->local)
        out.node_failed(reply.node, *reply.error);
    if (flow_ == engine::BuilderFlow::get_payload && state_ == State::answered) {
        // op-node has its answer (the local EL's error): what is still due is only awaited.
        (sub >= validate_base ? legs_[sub - validate_base].validating : legs_[sub].out) = false;
        settle();
        return;
    }
    if (sub >= validate_base) {
        on_validated(sub - validate_base, reply, now_ns);
    } else if (sub == local) {
        on_local(reply, now_ns, out);
    } else if (flow_ == engine::BuilderFlow::get_payload) {
        on_built(sub, reply, now_ns, out);
    } else {
        on_copy(reply, now_ns);
    }
    if (flow_ == engine::BuilderFlow::get_payload && state_ == State::waiting)
        maybe_select(now_ns, out);
    settle();
}

void BuilderCall::on_local(const NodeReply& reply, uint64_t now_ns, Actions& out) {
    size_t local = env_.policy.builder()->local;
    Leg& leg = legs_[local];
    leg.out = false;
    local_in_ = true;
    bool late = false;
    local_ok_ = take_answer(leg, reply, method_->index, &late);
    if (flow_ == engine::BuilderFlow::get_payload) {
        if (!local_ok_) return;  // maybe_select relays the failure
        // The local block's gas and value, for the selection (the newPayload text is not used).
        auto built = engine::new_payload_from_built(env_.answers, padded(leg.answer, leg.result),
                                                    method_->version, attributes_.beacon_root,
                                                    validate_id, leg.new_payload);
        if (built) {
            local_block_.gas_used = built->gas_used;
            local_block_.block_value = built->block_value;
        }
        local_block_.valid = true;
        return;
    }
    if (local_ok_ && method_->kind == engine::MethodKind::forkchoice_updated &&
        attributes_.present) {
        auto fcu = engine::parse_forkchoice_updated(env_.answers, padded(leg.answer, leg.result),
                                                    method_->status_schema);
        if (fcu && fcu->has_payload_id) {
            has_local_id_ = true;
            local_id_ = fcu->payload_id;
            if (env_.builder_book) env_.builder_book->remember(local_id_, attributes_);
            engine::NodePayloadId early[nodes_max];
            size_t count = 0;
            for (size_t i = 0; i < nodes_max; i++)
                if (legs_[i].has_payload_id)
                    early[count++] = {static_cast<uint32_t>(i), legs_[i].payload_id};
            if (env_.payload_ids && flow_ == engine::BuilderFlow::fork)
                (void)env_.payload_ids->adopt(local_id_, std::span(early, count), now_ns);
        }
    }
    answer_local(now_ns, out);
}

void BuilderCall::on_copy(const NodeReply& reply, uint64_t now_ns) {
    Leg& leg = legs_[reply.node];
    leg.out = false;
    bool late = false;
    if (!take_answer(leg, reply, method_->index, &late)) {
        EM_LOG_LIMITED(LogLevel::warn, 5, "builder %.*s: %.*s failed: %s",
                       static_cast<int>(env_.nodes.node(reply.node).name.size()),
                       env_.nodes.node(reply.node).name.data(),
                       static_cast<int>(method_->name.size()), method_->name.data(), leg.failure);
        return;
    }
    if (flow_ != engine::BuilderFlow::fork) return;
    auto fcu = engine::parse_forkchoice_updated(env_.answers, padded(leg.answer, leg.result),
                                                method_->status_schema);
    // No id (SYNCING, or it will not build): not mapped; getPayload does without it.
    if (!fcu || !fcu->has_payload_id) return;
    if (!local_in_) {  // kept until the local EL's id comes
        leg.has_payload_id = true;
        leg.payload_id = fcu->payload_id;
        return;
    }
    // After the local answer: its id is attached to the local EL's entry (if there is one).
    if (has_local_id_ && env_.payload_ids &&
        env_.payload_ids->attach(local_id_, {static_cast<uint32_t>(reply.node), fcu->payload_id},
                                 now_ns))
        bump(env_.metrics.builder.ids_attached);
}

}  // namespace em::pipeline

namespace em::pipeline {

void BuilderCall::reject(size_t node, engine::Fallback reason, uint64_t now_ns) {
    Leg& leg = legs_[node];
    leg.settled = true;
    leg.block.valid = false;
    leg.block.failure = reason;
    bump(env_.metrics.builder.rejected[node][static_cast<size_t>(reason)]);
    std::string_view name = env_.nodes.node(node).name;
    std::string_view why = engine::fallback_name(reason);
    EM_LOG_LIMITED_FIELDS(LogLevel::warn, 5, (log_field("builder", name), log_field("reason", why)),
                          "builder %.*s: block not used (%.*s): %s", static_cast<int>(name.size()),
                          name.data(), static_cast<int>(why.size()), why.data(), leg.failure);
    bool bad = reason == engine::Fallback::invalid || reason == engine::Fallback::late ||
               reason == engine::Fallback::hash_mismatch;
    BuilderShared& shared = *env_.policy.builder()->shared;
    if (!bad || !shared.block_failed(node, now_ns)) return;
    const rpc::BreakerConfig& c = shared.breakers().config();
    EM_LOG_FIELDS(LogLevel::warn, (log_field("builder", name), log_field("breaker", "open")),
                  "builder %.*s benched: %u bad or late blocks within %u s; no attributes for it "
                  "until a probe fork in %u s",
                  static_cast<int>(name.size()), name.data(), c.failures, c.window_ms / 1000,
                  c.cooldown_ms / 1000);
}

void BuilderCall::on_built(size_t node, const NodeReply& reply, uint64_t now_ns, Actions& out) {
    Leg& leg = legs_[node];
    leg.out = false;
    bool late = false;
    if (!take_answer(leg, reply, method_->index, &late))
        return reject(node, late ? engine::Fallback::late : engine::Fallback::invalid, now_ns);
    // The block as the newPayload that imports it: the text hashed is the text validated.
    auto built = engine::new_payload_from_built(env_.answers, padded(leg.answer, leg.result),
                                                method_->version, attributes_.beacon_root,
                                                validate_id, leg.new_payload);
    if (!built) {
        std::snprintf(leg.failure, sizeof leg.failure, "%s", built.error().c_str());
        return reject(node, engine::Fallback::invalid, now_ns);
    }
    leg.block.gas_used = built->gas_used;
    leg.block.block_value = built->block_value;
    EM_ASSERT(env_.verifier);
    auto verdict = env_.verifier->verify_request(padded(leg.new_payload, leg.new_payload.view()));
    bump(env_.metrics.block_hash_checked);
    if (!verdict) {
        std::snprintf(leg.failure, sizeof leg.failure, "its payload: %s", verdict.error().c_str());
        return reject(node, engine::Fallback::invalid, now_ns);
    }
    if (!verdict->match) {
        bump(env_.metrics.block_hash_mismatch);
        char claimed[67] = {}, computed[67] = {};
        eth::format_hash(verdict->claimed, claimed);
        eth::format_hash(verdict->computed, computed);
        std::snprintf(leg.failure, sizeof leg.failure, "blockHash %s, its contents hash to %s",
                      claimed, computed);
        return reject(node, engine::Fallback::hash_mismatch, now_ns);
    }
    if (!child_of_the_fork(leg)) return reject(node, engine::Fallback::wrong_parent, now_ns);
    if (now_ns >= deadline_ns_) {
        std::snprintf(leg.failure, sizeof leg.failure, "answered after the deadline");
        return reject(node, engine::Fallback::late, now_ns);
    }
    leg.validating = true;
    bump(env_.metrics.builder.validations);
    // In order on the local EL's lane, under the call's deadline.
    send(env_.policy.builder()->local, leg.new_payload.view(), true, deadline_ns_,
         static_cast<uint8_t>(validate_base + node), out);
}

bool BuilderCall::child_of_the_fork(Leg& leg) {
    // The local EL would call a valid block on another known parent VALID too: only this
    // check keeps op-node from getting a block that is not the child of the head it chose.
    const eth::ExecutionPayload& p = env_.verifier->last_payload().payload;
    char want[67] = {}, got[67] = {};
    if (fork_has_head_ && p.parent_hash != fork_head_) {
        eth::format_hash(fork_head_, want);
        eth::format_hash(p.parent_hash, got);
        std::snprintf(leg.failure, sizeof leg.failure,
                      "its block's parent is %s, the fork's head is %s", got, want);
        return false;
    }
    if (fork_has_timestamp_ && p.timestamp != fork_timestamp_) {
        std::snprintf(leg.failure, sizeof leg.failure,
                      "its block's timestamp is %llu, the attributes' is %llu",
                      static_cast<unsigned long long>(p.timestamp),
                      static_cast<unsigned long long>(fork_timestamp_));
        return false;
    }
    return true;
}

void BuilderCall::on_validated(size_t node, const NodeReply& reply, uint64_t now_ns) {
    Leg& leg = legs_[node];
    leg.validating = false;
    UpstreamMetrics& m =
        env_.metrics.upstream[reply.node][method_slot(static_cast<uint8_t>(validate_base + node))];
    if (reply.error) {
        bool late = reply.error->code() == Errc::timeout;
        bump(m.errors);
        if (late) bump(m.timeouts);
        std::snprintf(leg.failure, sizeof leg.failure, "the local EL's newPayload: %s",
                      reply.error->c_str());
        return reject(node, late ? engine::Fallback::late : engine::Fallback::invalid, now_ns);
    }
    // The request text is no longer needed: its buffer takes the local EL's answer (the
    // builder's answer stays where leg.result points).
    ByteBuffer& text = leg.new_payload;
    text.clear();
    text.append(reply.body);
    auto parsed =
        env_.responses.parse(text.data(), text.size(), text.capacity() + ByteBuffer::padding_bytes);
    if (reply.http_status != 200 || !parsed || parsed->is_error ||
        !jsonrpc::same_id(parsed->id, validate_id)) {
        bump(m.errors);
        std::snprintf(leg.failure, sizeof leg.failure,
                      "the local EL's newPayload answer is an error or malformed");
        return reject(node, engine::Fallback::invalid, now_ns);
    }
    const engine::MethodInfo* np =
        new_payload_method(engine::new_payload_version_for(method_->version));
    auto status = engine::parse_payload_status(env_.answers, padded(text, parsed->result),
                                               np ? np->status_schema : engine::StatusSchema::v1);
    if (!status || status->status != engine::Status::valid) {
        std::snprintf(leg.failure, sizeof leg.failure, "the local EL said %.*s",
                      static_cast<int>(status ? engine::status_name(status->status).size() : 9),
                      status ? engine::status_name(status->status).data() : "malformed");
        return reject(node, engine::Fallback::invalid, now_ns);
    }
    leg.settled = true;
    leg.block.valid = true;
    if (env_.policy.builder()->shared->block_valid(node)) {
        std::string_view name = env_.nodes.node(node).name;
        EM_LOG_FIELDS(LogLevel::info, (log_field("builder", name), log_field("breaker", "closed")),
                      "builder %.*s is back: its probe block was valid",
                      static_cast<int>(name.size()), name.data());
    }
}

void BuilderCall::maybe_select(uint64_t now_ns, Actions& out) {
    if (!local_in_) return;
    if (!local_ok_) return answer_local(now_ns, out);  // no block to compare with: at once
    for (const Leg& leg : legs_)
        if (leg.out || leg.validating) return;
    const BuilderSettings& settings = *env_.policy.builder();
    engine::BuiltBlock blocks[nodes_max];
    size_t nodes[nodes_max];
    size_t count = 0;
    for (size_t i = 0; i < nodes_max; i++) {
        if (i == settings.local || !legs_[i].in_call) continue;
        nodes[count] = i;
        blocks[count++] = legs_[i].block;
    }
    engine::Selection s = engine::select_block(settings.selection, mode_, no_tx_pool_, local_block_,
                                               std::span(blocks, count));
    BuilderMetrics& m = env_.metrics.builder;
    if (s.fallback != engine::Fallback::none) bump(m.fallbacks[static_cast<size_t>(s.fallback)]);
    if (s.would_pick >= 0 && s.winner < 0) bump(m.dry_run_picks);
    if (s.winner < 0) return answer_local(now_ns, out);
    size_t winner = nodes[static_cast<size_t>(s.winner)];
    bump(m.blocks[winner]);
    answer_.clear();
    jsonrpc::write_result(answer_, id_.view(), legs_[winner].result);
    state_ = State::answered;
    out.answer(answer_.view());
}

void BuilderCall::answer_local(uint64_t now_ns, Actions& out) {
    (void)now_ns;
    size_t local = env_.policy.builder()->local;
    Leg& leg = legs_[local];
    state_ = State::answered;
    if (flow_ == engine::BuilderFlow::get_payload && local_ok_)
        bump(env_.metrics.builder.blocks[local]);
    if (local_ok_ || leg.rpc_error) {  // its result or its JSON-RPC error, as it came
        out.answer(trim_json(leg.answer.view()));
        return;
    }
    bump(env_.metrics.request_errors[method_->index]);
    answer_.clear();
    std::string_view name = env_.nodes.node(local).name;
    char message[sizeof leg.failure + 96];
    std::snprintf(message, sizeof message, "the local execution client %.*s failed: %s",
                  static_cast<int>(name.size()), name.data(), leg.failure);
    jsonrpc::write_error(answer_, id_.view(), jsonrpc::code::server_error, message);
    out.answer(answer_.view());
}

void BuilderCall::settle() {
    if (state_ == State::answered && on_wire_ == 0) state_ = State::done;
}

}  // namespace em::pipeline
