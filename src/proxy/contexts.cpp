#include "proxy/contexts.h"

#include <cstdio>
#include <cstring>

#include "base/assert.h"
#include "base/clock.h"
#include "base/hex.h"
#include "base/log.h"
#include "engine/best_of.h"
#include "engine/merge.h"
#include "engine/payload_status.h"
#include "http/writer.h"
#include "jsonrpc/writer.h"

namespace em::proxy {

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r'))
        s.remove_suffix(1);
    return s;
}

void hex32(const eth::Hash32& h, char out[67]) {
    out[0] = '0';
    out[1] = 'x';
    hex_encode(h, out + 2);
    out[66] = 0;
}

/// True for failures that say something about the node's health (not about the request).
bool health_failure(const Error& e) {
    return e.code() == Errc::timeout || e.code() == Errc::io || e.code() == Errc::closed;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Proxy: routing and pools

Proxy::ForwardContext* Proxy::take_forward_context() {
    if (contexts_in_use_ >= config_.in_flight_max) return nullptr;
    contexts_in_use_++;
    if (!forward_free_.empty()) {
        ForwardContext* c = forward_free_.back();
        forward_free_.pop_back();
        return c;
    }
    forward_pool_.push_back(std::make_unique<ForwardContext>(*this));
    return forward_pool_.back().get();
}

Proxy::EngineContext* Proxy::take_engine_context() {
    if (contexts_in_use_ >= config_.in_flight_max) return nullptr;
    contexts_in_use_++;
    if (!engine_free_.empty()) {
        EngineContext* c = engine_free_.back();
        engine_free_.pop_back();
        return c;
    }
    engine_pool_.push_back(std::make_unique<EngineContext>(*this));
    return engine_pool_.back().get();
}

Proxy::BatchContext* Proxy::take_batch_context() {
    if (contexts_in_use_ >= config_.in_flight_max) return nullptr;
    contexts_in_use_++;
    if (!batch_free_.empty()) {
        BatchContext* c = batch_free_.back();
        batch_free_.pop_back();
        return c;
    }
    batch_pool_.push_back(std::make_unique<BatchContext>(*this));
    return batch_pool_.back().get();
}

void Proxy::release(BatchContext* c) {
    contexts_in_use_--;
    batch_free_.push_back(c);
}

void Proxy::deliver(const Sink& sink, std::string_view response_json) {
    if (sink.batch) {
        sink.batch->set(sink.index, response_json);
        return;
    }
    if (!sink.conn.valid()) return;  // the client went away
    http::ServerConn& conn = *sink.conn.conn;
    ByteBuffer& out = conn.out();
    out.clear();
    size_t mark = http::begin_response(out, 200, "application/json", conn.keep_alive());
    out.append(response_json);
    http::end_response(out, mark);
    conn.send();
}

void Proxy::deliver_error(const Sink& sink, std::string_view id, int code, std::string_view message,
                          size_t method_slot) {
    bump(metrics_.request_errors[method_slot]);
    error_scratch_.clear();
    jsonrpc::write_error(error_scratch_, id.empty() ? "null" : id, code, message);
    deliver(sink, error_scratch_.view());
}

void Proxy::handle_batch(http::ServerConn& conn, std::span<const jsonrpc::Entry> entries) {
    BatchContext* batch = take_batch_context();
    if (!batch) {
        reply_error(conn, "null", jsonrpc::code::server_error,
                    "enginemux is at its in-flight request limit", method_slot_other);
        return;
    }
    batch->start(conn, entries);
}

// ---------------------------------------------------------------------------------------------
// BatchContext

void Proxy::BatchContext::start(http::ServerConn& conn, std::span<const jsonrpc::Entry> entries) {
    conn_ = conn.ref();
    start_ns_ = conn.request_ns();
    count_ = entries.size();
    if (elements_.size() < count_) {
        elements_.reserve(count_);
        while (elements_.size() < count_) elements_.emplace_back(64u << 20, 256);
    }
    wanted_.assign(count_, 0);
    // One extra count held while launching, so elements answered at once cannot finish the
    // batch before every element has started.
    pending_ = count_ + 1;
    for (size_t i = 0; i < count_; i++) {
        elements_[i].clear();
        wanted_[i] = entries[i].wants_response() ? 1 : 0;
    }
    for (size_t i = 0; i < count_; i++) {
        const jsonrpc::Entry& e = entries[i];
        Sink sink{{}, this, static_cast<uint32_t>(i)};
        if (!e.ok) {
            proxy_.deliver_error(sink, e.request.id, e.error_code, e.error_message, method_slot_other);
            continue;
        }
        const engine::MethodInfo* method = engine::find_method(e.request.method);
        size_t slot = method ? method->index : method_slot_other;
        bump(proxy_.metrics_.requests[slot]);
        if (method) proxy_.route_engine(sink, conn, e.request, *method, e.request.raw, i);
        else proxy_.forward(sink, conn, e.request.raw, e.request.id, false, slot);
    }
    element_done();
}

void Proxy::BatchContext::set(uint32_t index, std::string_view response_json) {
    EM_ASSERT(index < count_);
    elements_[index].clear();
    elements_[index].append(response_json);
    element_done();
}

void Proxy::BatchContext::element_done() {
    EM_ASSERT(pending_ > 0);
    if (--pending_ > 0) return;
    if (conn_.valid()) {
        http::ServerConn& conn = *conn_.conn;
        ByteBuffer& out = conn.out();
        out.clear();
        size_t answers = 0;
        for (size_t i = 0; i < count_; i++) answers += wanted_[i] && !elements_[i].empty();
        if (answers == 0) {
            // Only notifications: JSON-RPC sends nothing back.
            http::write_response(out, 204, "", {}, conn.keep_alive());
        } else {
            size_t mark = http::begin_response(out, 200, "application/json", conn.keep_alive());
            jsonrpc::begin_batch(out);
            bool first = true;
            for (size_t i = 0; i < count_; i++) {
                if (!wanted_[i] || elements_[i].empty()) continue;
                if (!first) jsonrpc::batch_separator(out);
                first = false;
                out.append(elements_[i].view());
            }
            jsonrpc::end_batch(out);
            http::end_response(out, mark);
        }
        conn.send();
    }
    proxy_.metrics_.request_latency[method_slot_other].record_us((proxy_.loop_.now_ns() - start_ns_) / 1000);
    proxy_.release(this);
}

void Proxy::release(ForwardContext* c) {
    contexts_in_use_--;
    forward_free_.push_back(c);
}

void Proxy::release(EngineContext* c) {
    contexts_in_use_--;
    engine_free_.push_back(c);
}

void Proxy::forward(const Sink& sink, http::ServerConn& conn, std::string_view body,
                    std::string_view id, bool batch, size_t method_slot,
                    std::span<const jsonrpc::Entry> entries) {
    ForwardContext* ctx = take_forward_context();
    if (!ctx) {
        deliver_error(sink, id, jsonrpc::code::server_error,
                      "enginemux is at its in-flight request limit", method_slot);
        return;
    }
    std::string_view ids = id;
    if (batch) {
        // Keep every id that expects an answer, to answer each if no node can.
        scratch_.clear();
        for (const jsonrpc::Entry& e : entries) {
            if (!e.wants_response()) continue;
            if (!scratch_.empty()) scratch_.push_back('\n');
            scratch_.append(e.request.id.empty() ? std::string_view("null") : e.request.id);
        }
        ids = scratch_.view();
    }
    ctx->start(sink, conn, body, ids, batch, method_slot, nullptr);
}

/// Reads the [payloadId] params of getPayload from the rewound document.
static bool read_payload_id(jsonrpc::RequestParser& parser, size_t entry, engine::PayloadId& id) {
    auto params = parser.rewind_to_params(entry);
    if (params.error()) return false;
    auto array = params.value_unsafe().get_array();
    if (array.error()) return false;
    size_t count = 0;
    bool ok = false;
    std::string_view text;
    for (auto element : array.value_unsafe()) {
        count++;
        if (count == 1 && element.get_string().get(text) == simdjson::SUCCESS) ok = true;
    }
    text = strip_0x(text);
    return ok && count == 1 && text.size() == 16 && hex_decode(text, id.bytes.data());
}

void Proxy::route_engine(const Sink& sink, http::ServerConn& conn, const jsonrpc::Request& request,
                         const engine::MethodInfo& method, std::string_view body, size_t entry) {
    using engine::Strategy;
    switch (method.strategy) {
        case Strategy::vote: {
            bool check = method.kind == engine::MethodKind::new_payload && config_.verify_block_hash;
            if (check) {
                // Decode first: a malformed payload is answered -32602 and never forwarded.
                auto params = parser_.rewind_to_params(entry);
                Result<void> decoded = params.error()
                                           ? fail(Errc::invalid_input, "params: missing or not an array")
                                           : verifier_.decode_params(params.value_unsafe(), method.version);
                if (!decoded) {
                    bump(metrics_.payload_decode_errors);
                    char message[160];
                    std::snprintf(message, sizeof message, "invalid params: %s", decoded.error().c_str());
                    deliver_error(sink, request.id, jsonrpc::code::invalid_params, message, method.index);
                    return;
                }
            }
            EngineContext* ctx = take_engine_context();
            if (!ctx) break;
            ctx->start_vote(sink, conn, method, body, request.id);
            if (check) {
                // The calls are on their way: rebuild the block hash while the ELs work on them.
                loop_.flush();
                bump(metrics_.block_hash_checked);
                ctx->check_block_hash(verifier_.hash_decoded());
            }
            ctx->launched();
            return;
        }
        case Strategy::best_of: {
            engine::PayloadId id{};
            if (!read_payload_id(parser_, entry, id)) {
                deliver_error(sink, request.id, jsonrpc::code::invalid_params,
                              "invalid params: expected [payloadId] with 8 bytes of 0x-hex", method.index);
                return;
            }
            auto builders = payload_ids_->lookup(id, loop_.now_ns());
            if (builders.empty()) {
                bump(metrics_.payload_ids_unknown);
                deliver_error(sink, request.id, jsonrpc::code::unknown_payload, "Unknown payload", method.index);
                return;
            }
            EngineContext* ctx = take_engine_context();
            if (!ctx) break;
            ctx->start_get_payload(sink, conn, method, request.id, builders);
            return;
        }
        case Strategy::merge_flat:
        case Strategy::intersect: {
            EngineContext* ctx = take_engine_context();
            if (!ctx) break;
            ctx->start_merge(sink, conn, method, body, request.id);
            return;
        }
        case Strategy::primary: {
            ForwardContext* ctx = take_forward_context();
            if (!ctx) break;
            ctx->start(sink, conn, body, request.id, false, method.index, &method);
            return;
        }
    }
    deliver_error(sink, request.id, jsonrpc::code::server_error,
                  "enginemux is at its in-flight request limit", method.index);
}

// ---------------------------------------------------------------------------------------------
// ForwardContext

Proxy::ForwardContext::ForwardContext(Proxy& proxy)
    : proxy_(proxy), body_(proxy.config_.body_bytes_max + 1024, 1024), ids_(1u << 20, 256),
      answer_(1u << 20, 256), last_error_(4096, 256) {}

bool Proxy::ForwardContext::client_gone() const { return !sink_.batch && !sink_.conn.valid(); }

void Proxy::ForwardContext::start(const Sink& sink, http::ServerConn& conn, std::string_view body,
                                  std::string_view ids, bool batch, size_t method_slot,
                                  const engine::MethodInfo* method) {
    sink_ = sink;
    body_.clear();
    body_.append(body);
    ids_.clear();
    ids_.append(ids);
    batch_ = batch;
    method_slot_ = method_slot;
    method_ = method;
    tried_mask_ = 0;
    last_error_.clear();
    start_ns_ = conn.request_ns();
    upstream_ns_ = 0;
    attempt();
}

void Proxy::ForwardContext::attempt() {
    node_ = proxy_.pick_node(tried_mask_);
    if (node_ < 0) {
        reply_failure(last_error_.empty() ? std::string_view("no execution client is available")
                                          : last_error_.view());
        return;
    }
    if (tried_mask_) bump(proxy_.metrics_.failovers);
    tried_mask_ |= 1u << node_;
    call_ = upstream::Call{};
    call_.body = body_.view();
    call_.deadline_ns = proxy_.deadline_ns(static_cast<size_t>(node_), method_ ? method_->timeout_ms : 0);
    call_.done = this;
    call_.tag = static_cast<uint64_t>(node_);
    bump(proxy_.metrics_.upstream[node_][method_slot_].calls);
    proxy_.nodes_[node_]->submit(call_);
}

void Proxy::ForwardContext::on_call_done(upstream::Call& call, const http::Response* response,
                                         const Error* error) {
    UpstreamMetrics& m = proxy_.metrics_.upstream[node_][method_slot_];
    if (call.sent_ns) {
        uint64_t waited = elapsed_ns(call.sent_ns, proxy_.loop_.now_ns());
        upstream_ns_ += waited;
        m.latency.record_us(waited / 1000);
    }
    // The node that took the call: alive during this callback even if it was removed since.
    const char* name = call.node->name().c_str();
    char why[Error::message_bytes_max + 40];
    bool retry = false;
    if (error) {
        bump(m.errors);
        if (error->code() == Errc::timeout) bump(m.timeouts);
        if (health_failure(*error) && proxy_.current_node(static_cast<size_t>(node_), call))
            proxy_.board_.report_failure(static_cast<size_t>(node_), error->message(), proxy_.loop_.now_ns());
        std::snprintf(why, sizeof why, "%s: %s", name, error->c_str());
        // A timeout already spent the caller's patience; anything else may go to the next node.
        retry = error->code() != Errc::timeout;
    } else if (ids_.empty() && response->body.empty() &&
               (response->status == 200 || response->status == 204)) {
        // Only notifications: JSON-RPC answers nothing, and nodes say so with an empty 200 or a
        // 204 (anvil). Relay that; it is not a failure to retry on the next node.
        if (sink_.batch) {
            sink_.batch->set(sink_.index, {});
        } else if (sink_.conn.valid()) {
            http::ServerConn& conn = *sink_.conn.conn;
            conn.out().clear();
            http::write_response(conn.out(), response->status, "application/json", {},
                                 conn.keep_alive());
            conn.send();
        }
        finish();
        return;
    } else if (response->status != 200) {
        bump(m.errors);
        std::snprintf(why, sizeof why, "%s answered HTTP %d", name, response->status);
        retry = true;
    } else {
        std::string_view body = response->body;
        size_t capacity = body.size() + ByteBuffer::padding_bytes;  // response views are padded
        bool good;
        if (batch_) {
            auto parsed = proxy_.response_parser_.parse_batch(body.data(), body.size(), capacity);
            good = static_cast<bool>(parsed);
        } else {
            auto parsed = proxy_.response_parser_.parse(body.data(), body.size(), capacity);
            good = parsed && jsonrpc::same_id(parsed->id, ids_.view());
            if (good && method_ && parsed->is_error == false && engine::is_null_result(parsed->result) &&
                method_->strategy == engine::Strategy::primary && method_->kind != engine::MethodKind::other) {
                // getBlobs/bodies answered null by this node: another may have the data.
                std::snprintf(why, sizeof why, "%s answered null", name);
                if (proxy_.pick_node(tried_mask_) >= 0) {
                    retry = true;
                    good = false;
                }
            }
        }
        if (good) {
            proxy_.deliver(sink_, body);
            finish();
            return;
        }
        if (!retry) {
            bump(m.errors);
            std::snprintf(why, sizeof why, "%s sent a malformed JSON-RPC answer", name);
            retry = true;
        }
    }
    last_error_.clear();
    last_error_.append(why);
    if (retry && !client_gone() && proxy_.pick_node(tried_mask_) >= 0) {
        attempt();
        return;
    }
    reply_failure(last_error_.view());
}

void Proxy::ForwardContext::reply_failure(std::string_view message) {
    bump(proxy_.metrics_.request_errors[method_slot_]);
    if (ids_.empty() && !batch_) {
        // A notification nobody could take: JSON-RPC gives it no answer at all.
        if (sink_.batch) sink_.batch->set(sink_.index, {});
        else if (sink_.conn.valid()) sink_.conn.conn->respond(204, "", {});
        finish();
        return;
    }
    {
        ByteBuffer& out = answer_;
        out.clear();
        std::string_view ids = ids_.view();
        if (batch_) jsonrpc::begin_batch(out);
        bool first = true;
        while (true) {
            size_t nl = ids.find('\n');
            std::string_view id = ids.substr(0, nl);
            if (!first) jsonrpc::batch_separator(out);
            first = false;
            jsonrpc::write_error(out, id.empty() ? "null" : id, jsonrpc::code::server_error, message);
            if (nl == std::string_view::npos || !batch_) break;
            ids.remove_prefix(nl + 1);
        }
        if (batch_) jsonrpc::end_batch(out);
        proxy_.deliver(sink_, out.view());
    }
    finish();
}

void Proxy::ForwardContext::finish() {
    uint64_t total = elapsed_ns(start_ns_, mono_ns());
    proxy_.metrics_.request_latency[method_slot_].record_us(total / 1000);
    proxy_.metrics_.own_latency[method_slot_].record_us(elapsed_ns(upstream_ns_, total) / 1000);
    proxy_.release(this);
}

// ---------------------------------------------------------------------------------------------
// EngineContext

Proxy::EngineContext::EngineContext(Proxy& proxy)
    : proxy_(proxy), body_(proxy.config_.body_bytes_max + 1024, 1024), id_(4096, 64),
      result_(64u << 20, 1024), answer_(64u << 20, 1024) {}

simdjson::padded_string_view Proxy::EngineContext::padded(const Slot& slot, std::string_view part) const {
    size_t capacity = static_cast<size_t>(slot.answer.data() + slot.answer.capacity() +
                                          ByteBuffer::padding_bytes - part.data());
    return simdjson::padded_string_view(part.data(), part.size(), capacity);
}

void Proxy::EngineContext::fan_out(bool ordered, bool voters_only) {
    // The launch guard: one extra count until launched(), so calls that fail at once cannot
    // decide (or release) the context while it is still being set up.
    pending_ = 1;
    launching_ = true;
    for (size_t i = 0; i < upstream::nodes_max; i++) {
        Slot& slot = slots_[i];
        if (slot.state != SlotState::pending) continue;
        if (voters_only && !slot.voter) {
            slot.state = SlotState::unused;
            continue;
        }
        pending_++;
    }
    for (size_t i = 0; i < upstream::nodes_max; i++) {
        Slot& slot = slots_[i];
        if (slot.state != SlotState::pending) continue;
        slot.call = upstream::Call{};
        slot.call.body = slot.body.empty() ? body_.view() : slot.body.view();
        slot.call.deadline_ns = proxy_.deadline_ns(i, method_->timeout_ms);
        slot.call.done = this;
        slot.call.tag = i;
        bump(proxy_.metrics_.upstream[i][method_->index].calls);
        if (ordered) proxy_.nodes_[i]->submit_ordered(slot.call);
        else proxy_.nodes_[i]->submit(slot.call);
        if (proxy_.nodes_[i])
            proxy_.metrics_.lane_depth[i].store(proxy_.nodes_[i]->lane_depth(), std::memory_order_relaxed);
    }
}

void Proxy::EngineContext::launched() {
    EM_ASSERT(launching_ && pending_ > 0);
    launching_ = false;
    pending_--;
    progress();
}

void Proxy::EngineContext::check_block_hash(const Result<eth::Verdict>& verdict) {
    ShardMetrics& metrics = proxy_.metrics_;
    if (!verdict) {
        bump(metrics.payload_decode_errors);
        char message[160];
        std::snprintf(message, sizeof message, "invalid params: %s", verdict.error().c_str());
        reply_error(jsonrpc::code::invalid_params, message);
        return;
    }
    hash_checked_ = true;
    hash_match_ = verdict->match;
    claimed_hash_ = verdict->claimed;
    computed_hash_ = verdict->computed;
    if (hash_match_) return;
    // The payload contradicts its own block hash: INVALID at once, whatever the ELs say.
    bump(metrics.block_hash_mismatch);
    engine::PayloadStatus status;
    status.status = method_->version == 1 ? engine::Status::invalid_block_hash : engine::Status::invalid;
    char claimed[67], computed[67], message[200];
    hex32(claimed_hash_, claimed);
    hex32(computed_hash_, computed);
    std::snprintf(message, sizeof message, "\"blockHash %s does not match the payload (it hashes to %s)\"",
                  claimed, computed);
    status.validation_error_json = message;
    result_.clear();
    if (engine::write_payload_status(result_, status, method_->status_schema)) reply(result_.view());
    bump(metrics.vote_answers[static_cast<size_t>(status.status)]);
}

void Proxy::EngineContext::begin(const Sink& sink, http::ServerConn& conn,
                                 const engine::MethodInfo& method, std::string_view id) {
    sink_ = sink;
    method_ = &method;
    id_.clear();
    id_.append(id.empty() ? std::string_view("null") : id);
    answered_ = false;
    voted_ = false;
    hash_checked_ = false;
    pending_ = 0;
    start_ns_ = conn.request_ns();
    first_sent_ns_ = 0;
    last_answer_ns_ = 0;
}

void Proxy::EngineContext::start_vote(const Sink& sink, http::ServerConn& conn,
                                      const engine::MethodInfo& method, std::string_view body,
                                      std::string_view id) {
    begin(sink, conn, method, id);
    body_.clear();
    body_.append(body);
    hash_match_ = true;
    for (size_t i = 0; i < upstream::nodes_max; i++) {
        Slot& slot = slots_[i];
        slot.body.clear();
        slot.answer.clear();
        slot.result = {};
        slot.has_payload_id = false;
        slot.error_code = 0;
        slot.failure[0] = 0;
        slot.vote = engine::VoteSlot{};
        const upstream::NodeInfo* info = proxy_.infos_[i];
        if (!info || !proxy_.nodes_[i]) {
            slot.state = SlotState::unused;
            continue;
        }
        slot.info = info;
        slot.state = SlotState::pending;
        slot.voter = info->role == upstream::NodeRole::voter;
        slot.dead_at_start = proxy_.engine_suspect_[i] ||
                             proxy_.board_.read(i).state == upstream::NodeState::dead;
    }
    fan_out(/*ordered=*/true, /*voters_only=*/false);
}

void Proxy::EngineContext::start_get_payload(const Sink& sink, http::ServerConn& conn,
                                             const engine::MethodInfo& method, std::string_view id,
                                             std::span<const engine::NodePayloadId> builders) {
    begin(sink, conn, method, id);
    body_.clear();
    for (Slot& slot : slots_) slot.state = SlotState::unused;
    for (const engine::NodePayloadId& b : builders) {
        if (b.node >= upstream::nodes_max || !proxy_.nodes_[b.node] || !proxy_.infos_[b.node]) continue;
        Slot& slot = slots_[b.node];
        slot.info = proxy_.infos_[b.node];
        slot.state = SlotState::pending;
        slot.voter = true;
        slot.dead_at_start = false;
        slot.answer.clear();
        slot.result = {};
        slot.failure[0] = 0;
        // The same call with this node's own payloadId.
        char hex[17];
        hex_encode(b.id.bytes, hex);
        hex[16] = 0;
        slot.body.clear();
        slot.body.append("{\"jsonrpc\":\"2.0\",\"id\":");
        slot.body.append(id_.view());
        slot.body.append(",\"method\":\"");
        slot.body.append(method.name);
        slot.body.append("\",\"params\":[\"0x");
        slot.body.append(std::string_view(hex, 16));
        slot.body.append("\"]}");
    }
    fan_out(/*ordered=*/false, /*voters_only=*/false);
    launched();
}

void Proxy::EngineContext::start_merge(const Sink& sink, http::ServerConn& conn,
                                       const engine::MethodInfo& method, std::string_view body,
                                       std::string_view id) {
    begin(sink, conn, method, id);
    body_.clear();
    body_.append(body);
    for (size_t i = 0; i < upstream::nodes_max; i++) {
        Slot& slot = slots_[i];
        slot.body.clear();
        slot.answer.clear();
        slot.result = {};
        slot.failure[0] = 0;
        const upstream::NodeInfo* info = proxy_.infos_[i];
        slot.info = info;
        slot.state = info && proxy_.nodes_[i] ? SlotState::pending : SlotState::unused;
        slot.voter = info && info->role == upstream::NodeRole::voter;
        slot.dead_at_start = false;
    }
    fan_out(/*ordered=*/false, /*voters_only=*/true);
    launched();
}

void Proxy::EngineContext::on_call_done(upstream::Call& call, const http::Response* response,
                                        const Error* error) {
    size_t i = call.tag;
    Slot& slot = slots_[i];
    uint64_t now = proxy_.loop_.now_ns();
    slot.latency_us = call.sent_ns ? elapsed_ns(call.sent_ns, now) / 1000 : 0;
    if (!answered_ && call.sent_ns) {
        if (first_sent_ns_ == 0 || call.sent_ns < first_sent_ns_) first_sent_ns_ = call.sent_ns;
        last_answer_ns_ = now;
    }
    if (proxy_.nodes_[i])
        proxy_.metrics_.lane_depth[i].store(proxy_.nodes_[i]->lane_depth(), std::memory_order_relaxed);
    record_answer(slot, i, response, error);
    EM_ASSERT(pending_ > 0);
    pending_--;
    progress();
}

void Proxy::EngineContext::record_answer(Slot& slot, size_t i, const http::Response* response,
                                         const Error* error) {
    UpstreamMetrics& m = proxy_.metrics_.upstream[i][method_->index];
    if (slot.call.sent_ns) m.latency.record_us(slot.latency_us);
    slot.vote.state = engine::SlotState::no_answer;
    // What a node removed since says about its health must not stick to the slot's new node.
    bool current = proxy_.current_node(i, slot.call);
    if (error) {
        bump(m.errors);
        if (error->code() == Errc::timeout) {
            bump(m.timeouts);
            if (current) proxy_.engine_suspect_[i] = true;
        }
        if (health_failure(*error) && current)
            proxy_.board_.report_failure(i, error->message(), proxy_.loop_.now_ns());
        slot.state = SlotState::failed;
        std::snprintf(slot.failure, sizeof slot.failure, "%s", error->c_str());
        return;
    }
    if (response->status != 200) {
        bump(m.errors);
        slot.state = SlotState::failed;
        std::snprintf(slot.failure, sizeof slot.failure, "HTTP %d", response->status);
        return;
    }
    slot.answer.clear();
    slot.answer.append(response->body);
    auto parsed = proxy_.response_parser_.parse(slot.answer.data(), slot.answer.size(),
                                                slot.answer.capacity() + ByteBuffer::padding_bytes);
    if (!parsed || !jsonrpc::same_id(parsed->id, id_.view())) {
        bump(m.errors);
        slot.state = SlotState::failed;
        std::snprintf(slot.failure, sizeof slot.failure, "%s",
                      parsed ? "answered with another id" : "malformed JSON-RPC answer");
        return;
    }
    if (current) proxy_.engine_suspect_[i] = false;  // it answers engine calls again
    if (parsed->is_error) {
        slot.state = SlotState::rpc_error;
        slot.error_code = parsed->error_code;
        std::snprintf(slot.failure, sizeof slot.failure, "error %d", parsed->error_code);
        return;
    }
    slot.state = SlotState::result;
    slot.result = parsed->result;
    if (method_->strategy != engine::Strategy::vote) return;
    simdjson::padded_string_view json = padded(slot, slot.result);
    if (method_->kind == engine::MethodKind::new_payload) {
        auto status = engine::parse_payload_status(proxy_.answer_parser_, json, method_->status_schema);
        if (!status) {
            bump(m.errors);
            slot.state = SlotState::failed;
            std::snprintf(slot.failure, sizeof slot.failure, "bad PayloadStatus: %s", status.error().c_str());
            return;
        }
        slot.vote.state = engine::SlotState::answered;
        slot.vote.answer = *status;
    } else {
        auto fcu = engine::parse_forkchoice_updated(proxy_.answer_parser_, json, method_->status_schema);
        if (!fcu) {
            bump(m.errors);
            slot.state = SlotState::failed;
            std::snprintf(slot.failure, sizeof slot.failure, "bad forkchoiceUpdated answer: %s",
                          fcu.error().c_str());
            return;
        }
        slot.vote.state = engine::SlotState::answered;
        slot.vote.answer = fcu->payload_status;
        slot.has_payload_id = fcu->has_payload_id;
        slot.payload_id = fcu->payload_id;
    }
}

void Proxy::EngineContext::progress() {
    if (launching_) return;  // launched() decides once everything is set up
    if (!answered_) {
        switch (method_->strategy) {
            case engine::Strategy::vote: answer_vote(); break;
            case engine::Strategy::best_of:
                if (pending_ == 0) answer_get_payload();
                break;
            default:
                if (pending_ == 0) answer_merge();
                break;
        }
    } else if (method_->strategy == engine::Strategy::vote && pending_ == 0 && !voted_) {
        answer_vote();  // answered early (block hash): still tally the ELs for metrics and logs
    }
    if (pending_ == 0) finish();
}

void Proxy::EngineContext::answer_vote() {
    // Voter slots in node order; pending slots of nodes that were dead when the call went out
    // are not waited for (they count as not answered unless they answer before the decision).
    engine::VoteSlot votes[upstream::nodes_max];
    size_t count = 0;
    bool any_rpc_error = false;
    int first_error_slot = -1;
    for (size_t i = 0; i < upstream::nodes_max; i++) {
        const Slot& slot = slots_[i];
        if (slot.state == SlotState::unused || !slot.voter) continue;
        engine::VoteSlot v = slot.vote;
        if (slot.state == SlotState::pending) {
            v.state = slot.dead_at_start ? engine::SlotState::no_answer : engine::SlotState::pending;
        }
        if (slot.state == SlotState::rpc_error) {
            any_rpc_error = true;
            if (first_error_slot < 0) first_error_slot = static_cast<int>(i);
        }
        votes[count++] = v;
    }
    engine::VoteMethod vm = method_->kind == engine::MethodKind::forkchoice_updated
                                ? engine::VoteMethod::forkchoice_updated
                                : (method_->version == 1 ? engine::VoteMethod::new_payload_v1
                                                         : engine::VoteMethod::new_payload);
    std::span<const engine::VoteSlot> span(votes, count);
    bool all_in = pending_ == 0;
    if (!all_in && !engine::is_final(span, proxy_.quorum_, vm)) return;
    engine::VoteResult result = engine::vote(span, proxy_.quorum_, vm);
    if (all_in) {
        voted_ = true;
        final_vote_ = result;
    }
    if (answered_) {
        if (all_in) log_disagreement(result);
        return;
    }
    ShardMetrics& metrics = proxy_.metrics_;
    bump(metrics.vote_reasons[static_cast<size_t>(result.reason)]);
    bump(metrics.vote_answers[static_cast<size_t>(result.answer.status)]);
    if (!all_in) bump(metrics.votes_early);
    if (result.answered == 0 && any_rpc_error) {
        // Every voter that answered rejected the call itself (e.g. -38005 unsupported fork,
        // -32602): relay that error rather than pretend SYNCING.
        reply_raw(slots_[first_error_slot].answer.view());
        if (all_in) log_disagreement(result);
        return;
    }
    result_.clear();
    Result<void> written;
    if (method_->kind == engine::MethodKind::forkchoice_updated) {
        engine::PayloadId minted;
        const engine::PayloadId* payload_id = nullptr;
        if (result.answer.status == engine::Status::valid && proxy_.payload_ids_) {
            engine::NodePayloadId ids[upstream::nodes_max];
            size_t n = 0;
            for (size_t i = 0; i < upstream::nodes_max; i++) {
                const Slot& slot = slots_[i];
                if (slot.state == SlotState::result && slot.voter && slot.has_payload_id &&
                    slot.vote.answer.status == engine::Status::valid)
                    ids[n++] = engine::NodePayloadId{static_cast<uint32_t>(i), slot.payload_id};
            }
            if (n > 0) {
                auto id = proxy_.payload_ids_->mint(std::span(ids, n), proxy_.loop_.now_ns());
                if (id) {
                    minted = *id;
                    payload_id = &minted;
                    bump(metrics.payload_ids_minted);
                }
            }
        }
        written = engine::write_forkchoice_updated(result_, result.answer, method_->status_schema, payload_id);
    } else {
        written = engine::write_payload_status(result_, result.answer, method_->status_schema);
    }
    if (!written) {
        reply_error(jsonrpc::code::internal_error, written.error().message());
    } else {
        reply(result_.view());
    }
    if (all_in) log_disagreement(result);
}

void Proxy::EngineContext::log_disagreement(const engine::VoteResult& result) {
    // Votes on this context are final here (every slot is in). Count minority nodes and log one
    // line per disagreement, rate-limited: what operators look for after an incident.
    bool hash_conflict = hash_checked_ && !hash_match_ && result.answer.status == engine::Status::valid;
    if (result.disagree == 0 && !hash_conflict) return;
    ShardMetrics& metrics = proxy_.metrics_;
    bump(metrics.disagreements);
    char line[1024];
    int n = std::snprintf(line, sizeof line, "disagreement method=%.*s answer=%.*s reason=%.*s",
                          static_cast<int>(method_->name.size()), method_->name.data(),
                          static_cast<int>(engine::status_name(result.answer.status).size()),
                          engine::status_name(result.answer.status).data(),
                          static_cast<int>(engine::vote_reason_name(result.reason).size()),
                          engine::vote_reason_name(result.reason).data());
    if (hash_checked_) {
        char claimed[67];
        hex32(claimed_hash_, claimed);
        n += std::snprintf(line + n, sizeof line - static_cast<size_t>(n), " block=%s hash_check=%s",
                           claimed, hash_match_ ? "match" : "MISMATCH");
    }
    for (size_t i = 0; i < upstream::nodes_max && n < static_cast<int>(sizeof line) - 100; i++) {
        const Slot& slot = slots_[i];
        if (slot.state == SlotState::unused) continue;
        const char* name = slot.info ? slot.info->name.c_str() : "?";
        if (slot.state == SlotState::result && slot.vote.state == engine::SlotState::answered) {
            const engine::PayloadStatus& s = slot.vote.answer;
            if (slot.voter && s.status != result.answer.status) bump(metrics.node_disagreements[i]);
            char lvh[67] = "null";
            if (s.has_latest_valid_hash) hex32(s.latest_valid_hash, lvh);
            n += std::snprintf(line + n, sizeof line - static_cast<size_t>(n), " %s%s=%.*s(lvh=%s%s%.*s)",
                               name, slot.voter ? "" : "[mirror]",
                               static_cast<int>(engine::status_name(s.status).size()),
                               engine::status_name(s.status).data(), lvh,
                               s.validation_error_json.empty() ? "" : ",err=",
                               static_cast<int>(s.validation_error_json.size() > 80 ? 80 : s.validation_error_json.size()),
                               s.validation_error_json.data());
        } else {
            n += std::snprintf(line + n, sizeof line - static_cast<size_t>(n), " %s%s=no-answer(%s)", name,
                               slot.voter ? "" : "[mirror]", slot.failure);
        }
    }
    EM_LOG_LIMITED(LogLevel::warn, 5, "%s", line);
}

void Proxy::EngineContext::answer_get_payload() {
    engine::BuiltPayloadAnswer answers[upstream::nodes_max];
    size_t slot_of[upstream::nodes_max];
    size_t count = 0;
    int primary = proxy_.board_.primary();
    int error_slot = -1;
    for (size_t i = 0; i < upstream::nodes_max; i++) {
        const Slot& slot = slots_[i];
        if (slot.state == SlotState::rpc_error && error_slot < 0) error_slot = static_cast<int>(i);
        if (slot.state != SlotState::result) continue;
        answers[count] = {padded(slot, slot.result), static_cast<int>(i) == primary};
        slot_of[count++] = i;
    }
    if (count > 0) {
        auto best = engine::choose_best_payload(proxy_.answer_parser_, std::span(answers, count),
                                                method_->version);
        if (best) {
            reply_raw(slots_[slot_of[best->index]].answer.view());
            return;
        }
    }
    if (error_slot >= 0) {
        reply_raw(slots_[error_slot].answer.view());
        return;
    }
    reply_error(jsonrpc::code::server_error, "no execution client returned the payload");
}

void Proxy::EngineContext::answer_merge() {
    simdjson::padded_string_view answers[upstream::nodes_max];
    size_t count = 0;
    int error_slot = -1;
    for (size_t i = 0; i < upstream::nodes_max; i++) {
        const Slot& slot = slots_[i];
        if (slot.state == SlotState::rpc_error && error_slot < 0) error_slot = static_cast<int>(i);
        if (slot.state == SlotState::result) answers[count++] = padded(slot, slot.result);
    }
    if (count == 0) {
        if (error_slot >= 0) reply_raw(slots_[error_slot].answer.view());
        else reply_error(jsonrpc::code::server_error, "no execution client answered");
        return;
    }
    result_.clear();
    auto merged = method_->strategy == engine::Strategy::merge_flat
                      ? engine::merge_client_versions(proxy_.answer_parser_, std::span(answers, count), result_)
                      : engine::intersect_capabilities(proxy_.answer_parser_, std::span(answers, count), result_);
    if (!merged) {
        reply_error(jsonrpc::code::internal_error, merged.error().message());
        return;
    }
    reply(result_.view());
}

void Proxy::EngineContext::mark_answered() {
    answered_ = true;
    uint64_t total = elapsed_ns(start_ns_, mono_ns());
    uint64_t waited = last_answer_ns_ ? elapsed_ns(first_sent_ns_, last_answer_ns_) : 0;
    proxy_.metrics_.own_latency[method_->index].record_us(elapsed_ns(waited, total) / 1000);
}

void Proxy::EngineContext::reply(std::string_view result_json) {
    mark_answered();
    answer_.clear();
    jsonrpc::write_result(answer_, id_.view(), result_json);
    proxy_.deliver(sink_, answer_.view());
}

void Proxy::EngineContext::reply_raw(std::string_view response_json) {
    mark_answered();
    proxy_.deliver(sink_, trim(response_json));
}

void Proxy::EngineContext::reply_error(int code, std::string_view message) {
    mark_answered();
    bump(proxy_.metrics_.request_errors[method_->index]);
    answer_.clear();
    jsonrpc::write_error(answer_, id_.view(), code, message);
    proxy_.deliver(sink_, answer_.view());
}

void Proxy::EngineContext::finish() {
    if (!answered_) reply_error(jsonrpc::code::internal_error, "no answer could be formed");
    proxy_.metrics_.request_latency[method_->index].record_us((proxy_.loop_.now_ns() - start_ns_) / 1000);
    proxy_.release(this);
}

}  // namespace em::proxy
