#include "pipeline/core.h"

#include <cstdio>
#include <type_traits>

#include "base/clock.h"
#include "base/hex.h"
#include "base/log.h"
#include "jsonrpc/codes.h"
#include "jsonrpc/writer.h"

namespace em::pipeline {

namespace {

/// Kinds in a call tag (Shell::send): kind << 32 | pool index.
/// The builder call's sends add their sub-tag (Action::sub) above the kind: bits 40..47.
constexpr uint64_t kind_vote = 0, kind_gather = 1, kind_forward = 2, kind_parked = 3,
                   kind_builder = 4, kind_logs = 5;

/// Reads getPayload's [payloadId] params from the parsed request.
bool read_payload_id(engine::RequestKernel& requests, size_t entry, engine::PayloadId& id) {
    std::string_view text;
    size_t count = 0;
    return requests.param_string(entry, 0, &text, &count) && count == 1 &&
           parse_data(text, id.bytes).has_value();
}

eth::VerifierConfig verifier_config(const CoreConfig& c) {
    return eth::VerifierConfig{
        .arena_bytes = c.body_bytes_max * 3 / 2 + (1u << 20),
        .request_bytes_max = c.body_bytes_max,
        .decode = {.unknown_fields = c.strict_payload_fields ? eth::UnknownFields::reject
                                                             : eth::UnknownFields::ignore,
                   .limits = {}}};
}

}  // namespace

/// Where a call's answer goes: the client, or one element of a batch being assembled.
struct PipelineCore::Sink {
    uint64_t client = 0;
    uint32_t batch = CallPool<int>::none;  ///< batch entry, none: straight to the client
    uint32_t element = 0;                  ///< the batch's element, or the split's piece
    uint32_t logs = CallPool<int>::none;   ///< a split eth_getLogs' entry (a piece's answer)
};

/// A client waiting on a vote call started for another's copy of the same request (the gate
/// said join): it gets that call's answer under its own id.
struct PipelineCore::Waiter {
    Sink sink;
    size_t method_slot = method_slot_other;
    uint64_t received_ns = 0;
    ByteBuffer id{4096, 64};
};

/// A request waiting for the gate's lookup (Gate::look_up): what running it later needs, copied
/// (the client's buffer is not ours once on_request returns). Reused with its buffers.
struct PipelineCore::Parked {
    explicit Parked(size_t body_bytes_max) : raw(body_bytes_max + 1024, 1024) {}
    Sink sink;
    size_t method_slot = method_slot_other;
    uint64_t received_ns = 0;
    bool read_only = false;
    Route route;
    ByteBuffer id{4096, 64};
    ByteBuffer raw;
    size_t id_at = 0;  ///< where the id starts in raw; npos: not in it (only `id` holds it)
    ByteBuffer key{1u << 20, 256};
    /// The id as a view into raw when it is in there (the forward may put its own id there).
    std::string_view id_view() const {
        return id_at == std::string_view::npos ? id.view() : raw.view().substr(id_at, id.size());
    }
};

template <typename T>
struct PipelineCore::Entry {
    template <typename... Args>
    explicit Entry(Args&&... args) : call(std::forward<Args>(args)...) {}
    T call;
    Sink sink;
    size_t method_slot = method_slot_other;
    uint64_t received_ns = 0;
    /// Vote calls under a gate: the clients that joined (waiters[0, waiting)); kept for reuse.
    std::vector<std::unique_ptr<Waiter>> waiters;
    size_t waiting = 0;
    /// Vote calls, for ClHead: 0 none, 1 newPayload of head_hash (block head_number), 2
    /// forkchoiceUpdated to head_hash.
    uint8_t head_kind = 0;
    engine::Hash32 head_hash{};
    uint64_t head_number = 0;
};

PipelineCore::PipelineCore(const CoreConfig& config, const Policy& policy, const NodeTable& nodes,
                           Shell& shell, ShardMetrics& metrics)
    : config_(config),
      policy_(policy),
      nodes_(nodes),
      shell_(shell),
      metrics_(metrics),
      requests_(engine::make_request_kernel(jsonrpc::Limits{
          .batch_entries_max = config.batch_entries_max, .body_bytes_max = config.body_bytes_max})),
      responses_(jsonrpc::Limits{.batch_entries_max = config.batch_entries_max,
                                 .body_bytes_max = config.body_bytes_max}),
      verifier_(verifier_config(config)),
      env_{metrics,  policy,          nodes,   responses_,
           answers_, engine_suspect_, nullptr, config.body_bytes_max},
      votes_(std::make_unique<CallPool<Entry<VoteCall>>>(config.in_flight_max)),
      gathers_(std::make_unique<CallPool<Entry<GatherCall>>>(config.in_flight_max)),
      forwards_(std::make_unique<CallPool<Entry<ForwardCall>>>(config.in_flight_max)),
      batches_(std::make_unique<CallPool<Entry<BatchCall>>>(config.in_flight_max)),
      builders_(std::make_unique<CallPool<Entry<BuilderCall>>>(config.in_flight_max)),
      logs_(std::make_unique<CallPool<Entry<LogsCall>>>(config.in_flight_max)),
      parked_(std::make_unique<CallPool<Parked>>(config.in_flight_max)),
      scratch_(config.body_bytes_max + 65536),
      error_(64u << 10, 1024),
      rewrite_(64u << 20, 1024),
      waiter_answer_(64u << 20, 1024) {
    if (config.mints_payload_ids) {
        engine::PayloadIdMap::Config ids;
        ids.capacity = config.payload_ids_max;
        ids.lifetime_ns = uint64_t{config.payload_id_lifetime_s} * 1'000'000'000ull;
        ids.key = config.payload_id_key;
        payload_ids_ = std::move(*engine::PayloadIdMap::create(ids));
        env_.payload_ids = payload_ids_.get();
    }
    if (policy.builder()) {
        builder_book_ = std::make_unique<BuilderBook>(config.payload_ids_max);
        env_.builder_book = builder_book_.get();
        env_.verifier = &verifier_;
    }
}

PipelineCore::~PipelineCore() = default;

size_t PipelineCore::largest_pool() const {
    size_t n = votes_->size();
    for (size_t k : {gathers_->size(), forwards_->size(), batches_->size(), parked_->size(),
                     builders_->size(), logs_->size()})
        n = k > n ? k : n;
    return n;
}

// ---------------------------------------------------------------------------------------------
// Requests in

void PipelineCore::on_request(uint64_t client, const char* data, size_t len, size_t capacity,
                              uint64_t received_ns, uint64_t now_ns, const Origin& origin) {
    EM_ASSERT(!in_event_);
    in_event_ = true;
    origin_ = origin;
    Sink sink{client};
    auto envelope = requests_->parse(data, len, capacity);
    if (!envelope) {
        bump(metrics_.jsonrpc_parse_errors);
        deliver_error(sink, "null", jsonrpc::error_code_of(envelope.error()),
                      envelope.error().message(), method_slot_other, now_ns);
    } else if (!envelope->batch) {
        const jsonrpc::Entry& entry = envelope->entries[0];
        if (!entry.ok) {
            deliver_error(sink, entry.request.id, entry.error_code, entry.error_message,
                          method_slot_other, now_ns);
        } else {
            route(sink, entry.request, std::string_view(data, len), 0, received_ns, now_ns);
        }
    } else {
        // A batch holding engine calls is answered element by element (each vote on its own),
        // then as one array; other batches go whole to one node, bytes unchanged.
        bool engine_calls = false;
        for (const jsonrpc::Entry& e : envelope->entries) {
            engine_calls = engine_calls || (e.ok && engine::find_method(e.request.method));
        }
        if (engine_calls || policy_.split_batches()) {
            start_batch(client, envelope->entries, received_ns, now_ns);
        } else {
            forward_batch(client, envelope->entries, std::string_view(data, len), received_ns,
                          now_ns);
        }
    }
    in_event_ = false;
}

void PipelineCore::route(const Sink& sink, const jsonrpc::Request& request, std::string_view raw,
                         size_t entry, uint64_t received_ns, uint64_t now_ns) {
    const engine::MethodInfo* method = engine::find_method(request.method);
    size_t slot = method ? method->index : method_slot_other;
    bump(metrics_.requests[slot]);
    CallKind kind = policy_.route(method);
    if (gate_ && kind == CallKind::vote) {
        start_gated_vote(sink, request, raw, *method, entry, received_ns, now_ns);
        return;
    }
    GateDecision d;
    bool look_up = false;
    if (gate_ && !admit_call(sink, request, method, slot, now_ns, d, kind, look_up)) return;
    const Route& route = d.route;
    if (d.verdict == GateDecision::Verdict::split) {
        start_logs(sink, request, d, received_ns, now_ns);
        return;
    }
    if (d.agree_count > 0 && !method) {
        start_agree(sink, request, raw, d, received_ns, now_ns);
        return;
    }
    if (look_up && park(sink, request, raw, slot, received_ns, route)) return;
    switch (kind) {
        case CallKind::vote:
            start_vote(sink, request, raw, *method, entry, received_ns, now_ns);
            return;
        case CallKind::best_of:
            start_best_of(sink, request, *method, entry, received_ns, now_ns);
            return;
        case CallKind::merge:
        case CallKind::intersect:
            start_gather(sink, kind, request, raw, *method, received_ns, now_ns);
            return;
        case CallKind::forward:
            start_forward(sink, raw, request.id, false, slot, method,
                          !method && engine::read_only(request.method), received_ns, now_ns, route);
            return;
        case CallKind::broadcast:
            start_broadcast(sink, request, raw, route, received_ns, now_ns);
            return;
        case CallKind::builder:
            start_builder(sink, request, raw, *method, entry, received_ns, now_ns);
            return;
    }
}

bool PipelineCore::admit_call(const Sink& sink, const jsonrpc::Request& request,
                              const engine::MethodInfo* method, size_t slot, uint64_t now_ns,
                              GateDecision& decision, CallKind& kind, bool& look_up) {
    CallFacts facts;
    facts.origin = origin_;
    facts.method = method;
    facts.method_slot = slot;
    facts.name = request.method;
    facts.params = request.params;
    GateDecision d = gate_->admit(facts, now_ns);
    gate_notice(d.notice);
    switch (d.verdict) {
        case GateDecision::Verdict::refuse:
            deliver_error(sink, request.id, d.code, d.message, slot, now_ns);
            return false;
        case GateDecision::Verdict::answer:
            waiter_answer_.clear();
            if (!request.id.empty()) jsonrpc::write_result(waiter_answer_, request.id, d.result);
            // A notification gets no answer at all.
            deliver(sink, request.id.empty() ? 204 : 200, waiter_answer_.view(), now_ns);
            return false;
        case GateDecision::Verdict::look_up:
            look_up = !method;  // only requests that are no engine method wait
            break;
        case GateDecision::Verdict::split:
            if (method) {  // only requests that are no engine method are split
                deliver_error(sink, request.id, jsonrpc::code::internal_error,
                              "the gate split an engine method", slot, now_ns);
                return false;
            }
            break;
        case GateDecision::Verdict::join:  // vote calls only
        case GateDecision::Verdict::run:
            break;
    }
    decision = d;
    if (d.broadcast) kind = CallKind::broadcast;
    return true;
}

bool PipelineCore::park(const Sink& sink, const jsonrpc::Request& request, std::string_view raw,
                        size_t slot, uint64_t received_ns, const Route& route) {
    if (in_use_ >= config_.in_flight_max || raw.size() > config_.body_bytes_max) return false;
    uint32_t i = parked_->take(config_.in_flight_max,
                               [&] { return std::make_unique<Parked>(config_.body_bytes_max); });
    if (i == CallPool<int>::none) return false;
    Parked& p = (*parked_)[i];
    p.sink = sink;
    p.method_slot = slot;
    p.received_ns = received_ns;
    p.read_only = engine::read_only(request.method);
    p.route = route;
    p.id.clear();
    p.id.append(request.id);
    p.raw.clear();
    p.raw.append(raw);
    bool inside = !request.id.empty() && request.id.data() >= raw.data() &&
                  request.id.data() + request.id.size() <= raw.data() + raw.size();
    p.id_at = inside ? static_cast<size_t>(request.id.data() - raw.data()) : std::string_view::npos;
    p.key.clear();
    p.key.append(route.key);
    p.route.key = p.key.view();
    if (!gate_->look_up(kind_parked << 32 | i, p.key.view())) {
        parked_->release(i);
        return false;
    }
    in_use_++;
    return true;
}

void PipelineCore::resume(uint64_t ticket, bool hit, std::string_view result, uint64_t now_ns) {
    // The completion rule: the gate's lookup never answers from inside the call that started it.
    EM_ASSERT(!in_event_);
    EM_ASSERT(ticket >> 32 == kind_parked);
    in_event_ = true;
    uint32_t i = static_cast<uint32_t>(ticket);
    Parked& p = (*parked_)[i];
    in_use_--;  // before a forward takes its own call
    if (hit) {
        waiter_answer_.clear();
        std::string_view id = p.id.view();
        if (!id.empty()) jsonrpc::write_result(waiter_answer_, id, result);
        metrics_.request_latency[p.method_slot].record_us(elapsed_ns(p.received_ns, now_ns) / 1000);
        // A notification gets no answer at all.
        deliver(p.sink, id.empty() ? 204 : 200, waiter_answer_.view(), now_ns);
    } else {
        start_forward(p.sink, p.raw.view(), p.id_view(), false, p.method_slot, nullptr, p.read_only,
                      p.received_ns, now_ns, p.route);
    }
    parked_->release(i);  // after: the forward copied what it needs
    in_event_ = false;
}

Route PipelineCore::piece_route(const Route& read, uint64_t piece_to, uint32_t& spread) const {
    Route r = read;
    r.at_head = false;  // a piece needs its own end, not the head
    r.min_head = piece_to > uint64_t{INT64_MAX} ? INT64_MAX : static_cast<int64_t>(piece_to);
    r.learn = Learn::nothing;  // a piece's answer is not the client's: nothing to cache
    r.key = {};
    r.rewrite_id = true;  // under the piece's id, which the LogsCall reads
    r.counted = false;    // the split counts as the one request it is
    r.prefer = -1;
    // Round the nodes that qualify: the policy's best not given a piece yet, then again.
    int p = policy_.pick_route(nodes_, spread, r);
    if (p < 0 && spread != 0) {
        spread = 0;
        p = policy_.pick_route(nodes_, 0, r);
    }
    if (p >= 0) {
        spread |= 1u << p;
        r.prefer = p;
    }
    return r;
}

void PipelineCore::start_logs(const Sink& sink, const jsonrpc::Request& request,
                              const GateDecision& d, uint64_t received_ns, uint64_t now_ns) {
    const LogsSplit& split = d.split;
    EM_ASSERT(split.blocks > 0 && split.from <= split.to);
    uint64_t pieces = (split.to - split.from) / split.blocks + 1;
    if (in_use_ + 1 + pieces > config_.in_flight_max)
        return at_limit(sink, request.id, method_slot_other, now_ns);
    uint32_t i = take_call(*logs_, sink, method_slot_other, received_ns);
    if (i == CallPool<int>::none) return at_limit(sink, request.id, method_slot_other, now_ns);
    Entry<LogsCall>& e = (*logs_)[i];
    if (!e.call.start(request.id, request.params, split, d.route.metrics_slot)) {
        logs_->release(i);
        in_use_--;
        return deliver_error(sink, request.id, jsonrpc::code::invalid_params,
                             "eth_getLogs: the filter could not be rewritten into pieces",
                             method_slot_other, now_ns);
    }
    bump(metrics_.rpc.logs_splits);
    uint32_t spread = 0;
    for (size_t k = 0; k < e.call.pieces(); k++) {
        Route r = piece_route(d.route, e.call.range(k).to, spread);
        bump(metrics_.rpc.logs_pieces);
        Sink piece{sink.client, CallPool<int>::none, static_cast<uint32_t>(k), i};
        start_forward(piece, e.call.piece_request(k), e.call.piece_id(k), false, method_slot_other,
                      nullptr, true, received_ns, now_ns, r);
    }
    Actions done;
    e.call.started(done);
    carry_out(*logs_, i, kind_logs, done, now_ns);
}

void PipelineCore::start_broadcast(const Sink& sink, const jsonrpc::Request& request,
                                   std::string_view raw, const Route& route, uint64_t received_ns,
                                   uint64_t now_ns) {
    uint32_t i = take_call(*gathers_, sink, method_slot_other, received_ns);
    if (i == CallPool<int>::none) return at_limit(sink, request.id, method_slot_other, now_ns);
    Entry<GatherCall>& e = (*gathers_)[i];
    Actions sends;
    e.call.start_broadcast(request.id, raw, route, received_ns, now_ns, sends);
    carry_out(*gathers_, i, kind_gather, sends, now_ns);
}

template <typename T>
void PipelineCore::note_head(Entry<T>& e, const engine::MethodInfo& method, size_t entry,
                             bool decoded) {
    e.head_kind = 0;
    if (!config_.cl_head) return;
    if (method.kind == engine::MethodKind::new_payload && decoded) {
        const eth::ExecutionPayload& p = verifier_.last_payload().payload;
        e.head_kind = 1;
        e.head_hash = p.block_hash;
        e.head_number = p.block_number;
    } else if (method.kind == engine::MethodKind::forkchoice_updated) {
        CallFacts facts;
        read_forkchoice_facts(*requests_, entry, facts);
        if (!facts.has_head) return;
        e.head_kind = 2;
        e.head_hash = facts.head;
    }
}

template <typename T>
void PipelineCore::report_head(const Entry<T>& e, uint64_t now_ns) {
    if (!config_.cl_head || e.head_kind == 0) return;
    if (e.call.hash_check() == VoteCall::HashCheck::mismatch) return;
    uint32_t valid = 0;
    std::span<const FanOut::Slot> slots = e.call.fan_out().slots();
    for (size_t i = 0; i < slots.size(); i++)
        if (slots[i].in_call && slots[i].answered_result() &&
            slots[i].status.status == engine::Status::valid)
            valid |= 1u << i;
    if (e.head_kind == 1)
        config_.cl_head->new_payload(e.head_hash, e.head_number, valid);
    else
        config_.cl_head->forkchoice(e.head_hash, valid, now_ns);
}

void PipelineCore::start_agree(const Sink& sink, const jsonrpc::Request& request,
                               std::string_view raw, const GateDecision& d, uint64_t received_ns,
                               uint64_t now_ns) {
    uint32_t i = take_call(*gathers_, sink, method_slot_other, received_ns);
    if (i == CallPool<int>::none) return at_limit(sink, request.id, method_slot_other, now_ns);
    Entry<GatherCall>& e = (*gathers_)[i];
    Actions sends;
    std::span<const uint8_t> nodes(d.agree_on, d.agree_count);
    if (d.shadow)
        e.call.start_shadow(request.method, request.id, raw, d.route, nodes, received_ns, now_ns,
                            sends);
    else
        e.call.start_agree(request.method, request.id, raw, d.route, nodes, received_ns, now_ns,
                           sends);
    carry_out(*gathers_, i, kind_gather, sends, now_ns);
}

bool PipelineCore::decode_payload(const Sink& sink, const jsonrpc::Request& request,
                                  const engine::MethodInfo& method, size_t entry, uint64_t now_ns) {
    // Decode first: a malformed payload is answered -32602 and never sent to a node.
    Result<void> decoded = verifier_.decode_params_with([&](Arena& arena, eth::NewPayload& out,
                                                            const eth::DecodeOptions& options,
                                                            eth::DecodeCounters* counters) {
        return requests_->decode_new_payload(entry, method.version, arena, out, options, counters);
    });
    if (decoded) return true;
    bump(metrics_.payload_decode_errors);
    char message[160];
    std::snprintf(message, sizeof message, "invalid params: %s", decoded.error().c_str());
    deliver_error(sink, request.id, jsonrpc::code::invalid_params, message, method.index, now_ns);
    return false;
}

uint32_t PipelineCore::take_vote(const Sink& sink, std::string_view id,
                                 const engine::MethodInfo& method, uint64_t received_ns,
                                 uint64_t now_ns) {
    uint32_t i = take_call(*votes_, sink, method.index, received_ns);
    if (i == CallPool<int>::none) {
        at_limit(sink, id, method.index, now_ns);
        return i;
    }
    Entry<VoteCall>& e = (*votes_)[i];
    e.waiting = 0;
    return i;
}

void PipelineCore::start_vote(const Sink& sink, const jsonrpc::Request& request,
                              std::string_view raw, const engine::MethodInfo& method, size_t entry,
                              uint64_t received_ns, uint64_t now_ns) {
    bool check = policy_.verify_block_hash(method);
    if (check && !decode_payload(sink, request, method, entry, now_ns)) return;
    uint32_t i = take_vote(sink, request.id, method, received_ns, now_ns);
    if (i == CallPool<int>::none) return;
    Entry<VoteCall>& e = (*votes_)[i];
    note_head(e, method, entry, check);
    Actions sends;
    e.call.start(method, request.id, raw, check, received_ns, now_ns, sends);
    carry_out(*votes_, i, kind_vote, sends, now_ns);
    if (!check) return;
    // The calls are on their way: rebuild the block hash while the nodes work on them.
    shell_.flush();
    bump(metrics_.block_hash_checked);
    Result<eth::Verdict> verdict = verifier_.hash_decoded();
    Actions verdict_actions;
    e.call.on_hash(verdict, shell_.now_ns(), verdict_actions);
    carry_out(*votes_, i, kind_vote, verdict_actions, shell_.now_ns());
}

void PipelineCore::start_gated_vote(const Sink& sink, const jsonrpc::Request& request,
                                    std::string_view raw, const engine::MethodInfo& method,
                                    size_t entry, uint64_t received_ns, uint64_t now_ns) {
    CallFacts facts;
    facts.origin = origin_;
    facts.method = &method;
    facts.method_slot = method.index;
    facts.vote = true;
    bool check = policy_.verify_block_hash(method);
    Result<eth::Verdict> verdict = fail(Errc::invalid_input, "block hash not checked");
    if (method.kind == engine::MethodKind::new_payload) {
        // Decoded even when hashes are not checked: the block hash says which copies are one
        // call, the timestamp how fresh the client is. Hashed before anything is sent, so only
        // a payload that matches its hash is shared with (or answered from) another's copy.
        if (!decode_payload(sink, request, method, entry, now_ns)) return;
        const eth::ExecutionPayload& p = verifier_.last_payload().payload;
        bool trusted = true;
        if (check) {
            bump(metrics_.block_hash_checked);
            verdict = verifier_.hash_decoded();
            trusted = verdict && verdict->match;
        }
        facts.has_block_hash = facts.has_timestamp = trusted;
        facts.block_hash = p.block_hash;
        facts.timestamp = p.timestamp;
    } else if (method.kind == engine::MethodKind::forkchoice_updated) {
        read_forkchoice_facts(*requests_, entry, facts);
    }
    GateDecision d = gate_->admit(facts, now_ns);
    gate_notice(d.notice);
    if (d.verdict == GateDecision::Verdict::answer) {
        error_.clear();
        jsonrpc::write_result(error_, request.id.empty() ? "null" : request.id, d.result);
        deliver(sink, 200, error_.view(), now_ns);
        return;
    }
    if (d.verdict == GateDecision::Verdict::join) {
        join_vote(d.call, sink, request.id, method.index, received_ns);
        return;
    }
    uint32_t i = take_vote(sink, request.id, method, received_ns, now_ns);
    if (i == CallPool<int>::none) return;
    gate_->started(facts, i, now_ns);  // before start: a call with nobody to ask answers at once
    Entry<VoteCall>& e = (*votes_)[i];
    note_head(e, method, entry, method.kind == engine::MethodKind::new_payload);
    Actions sends;
    e.call.start(method, request.id, raw, check, received_ns, now_ns, sends);
    carry_out(*votes_, i, kind_vote, sends, now_ns);
    if (!check) return;
    Actions verdict_actions;
    e.call.on_hash(verdict, shell_.now_ns(), verdict_actions);
    carry_out(*votes_, i, kind_vote, verdict_actions, shell_.now_ns());
}

void PipelineCore::join_vote(uint32_t call, const Sink& sink, std::string_view id,
                             size_t method_slot, uint64_t received_ns) {
    Entry<VoteCall>& e = (*votes_)[call];
    EM_ASSERT(e.call.state() == VoteCall::State::collecting);
    if (e.waiting == e.waiters.size()) e.waiters.push_back(std::make_unique<Waiter>());
    Waiter& w = *e.waiters[e.waiting++];
    w.sink = sink;
    w.method_slot = method_slot;
    w.received_ns = received_ns;
    w.id.clear();
    w.id.append(id.empty() ? std::string_view("null") : id);
}

void PipelineCore::answer_waiters(Entry<VoteCall>& e, uint32_t index, std::string_view answer,
                                  uint64_t now_ns) {
    if (!gate_) return;
    rewrite_.clear();
    rewrite_.append(answer);
    auto parsed = responses_.parse(rewrite_.data(), rewrite_.size(),
                                   rewrite_.capacity() + ByteBuffer::padding_bytes);
    auto told = static_cast<engine::Status>(e.call.told());
    bool status = parsed && !parsed->is_error && e.call.told() != VoteRecord::told_error;
    gate_->answered(index, status ? &told : nullptr, status ? parsed->result : "", now_ns);
    for (size_t k = 0; k < e.waiting; k++) {
        Waiter& w = *e.waiters[k];
        waiter_answer_.clear();
        if (!parsed) {
            jsonrpc::write_error(waiter_answer_, w.id.view(), jsonrpc::code::internal_error,
                                 "the shared call's answer could not be read");
        } else if (parsed->is_error) {
            jsonrpc::write_error_object(waiter_answer_, w.id.view(), parsed->error_raw);
        } else {
            jsonrpc::write_result(waiter_answer_, w.id.view(), parsed->result);
        }
        metrics_.request_latency[w.method_slot].record_us(elapsed_ns(w.received_ns, now_ns) / 1000);
        deliver(w.sink, 200, waiter_answer_.view(), now_ns);
    }
    e.waiting = 0;
}

void PipelineCore::tell_gate(const engine::MethodInfo* method, size_t slot, uint64_t now_ns) {
    if (!gate_) return;
    CallFacts facts;
    facts.origin = origin_;
    facts.method = method;
    facts.method_slot = slot;
    gate_notice(gate_->admit(facts, now_ns).notice);
}

void PipelineCore::gate_notice(std::string_view notice) {
    if (notice.empty()) return;
    EM_LOG_LIMITED(LogLevel::warn, 5, "%.*s", static_cast<int>(notice.size()), notice.data());
}

void PipelineCore::start_best_of(const Sink& sink, const jsonrpc::Request& request,
                                 const engine::MethodInfo& method, size_t entry,
                                 uint64_t received_ns, uint64_t now_ns) {
    engine::PayloadId id{};
    if (!read_payload_id(*requests_, entry, id)) {
        return deliver_error(sink, request.id, jsonrpc::code::invalid_params,
                             "invalid params: expected [payloadId] with 8 bytes of 0x-hex",
                             method.index, now_ns);
    }
    std::span<const engine::NodePayloadId> builders;
    if (payload_ids_) builders = payload_ids_->lookup(id, now_ns);
    if (builders.empty()) {
        bump(metrics_.payload_ids_unknown);
        return deliver_error(sink, request.id, jsonrpc::code::unknown_payload, "Unknown payload",
                             method.index, now_ns);
    }
    uint32_t i = take_call(*gathers_, sink, method.index, received_ns);
    if (i == CallPool<int>::none) return at_limit(sink, request.id, method.index, now_ns);
    Entry<GatherCall>& e = (*gathers_)[i];
    Actions sends;
    e.call.start_best_of(method, request.id, builders, received_ns, now_ns, sends);
    carry_out(*gathers_, i, kind_gather, sends, now_ns);
}

void PipelineCore::start_builder(const Sink& sink, const jsonrpc::Request& request,
                                 std::string_view raw, const engine::MethodInfo& method,
                                 size_t entry, uint64_t received_ns, uint64_t now_ns) {
    const BuilderSettings& settings = *policy_.builder();
    BuilderCall::Start start;
    start.method = &method;
    start.id = request.id;
    start.body = raw;
    if (method.kind == engine::MethodKind::forkchoice_updated) {
        read_fork_attributes(*requests_, entry, start.attributes);
    } else if (method.kind == engine::MethodKind::get_payload &&
               !read_payload_id(*requests_, entry, start.payload_id)) {
        return deliver_error(sink, request.id, jsonrpc::code::invalid_params,
                             "invalid params: expected [payloadId] with 8 bytes of 0x-hex",
                             method.index, now_ns);
    }
    start.mode = settings.shared->mode();  // once: route() may have read the one before
    start.flow = engine::builder_flow(method.kind, start.attributes.present,
                                      start.attributes.no_tx_pool, start.mode);
    uint32_t i = take_call(*builders_, sink, method.index, received_ns);
    if (i == CallPool<int>::none) return at_limit(sink, request.id, method.index, now_ns);
    Actions sends;
    (*builders_)[i].call.start(start, received_ns, now_ns, sends);
    carry_out(*builders_, i, kind_builder, sends, now_ns);
}

void PipelineCore::start_gather(const Sink& sink, CallKind kind, const jsonrpc::Request& request,
                                std::string_view raw, const engine::MethodInfo& method,
                                uint64_t received_ns, uint64_t now_ns) {
    uint32_t i = take_call(*gathers_, sink, method.index, received_ns);
    if (i == CallPool<int>::none) return at_limit(sink, request.id, method.index, now_ns);
    Entry<GatherCall>& e = (*gathers_)[i];
    Actions sends;
    e.call.start_merge(kind, method, request.id, raw, received_ns, now_ns, sends);
    carry_out(*gathers_, i, kind_gather, sends, now_ns);
}

void PipelineCore::start_forward(const Sink& sink, std::string_view body, std::string_view ids,
                                 bool batch, size_t method_slot, const engine::MethodInfo* method,
                                 bool read_only, uint64_t received_ns, uint64_t now_ns,
                                 const Route& route) {
    uint32_t i = take_call(*forwards_, sink, method_slot, received_ns);
    if (i == CallPool<int>::none) return at_limit(sink, batch ? "null" : ids, method_slot, now_ns);
    Entry<ForwardCall>& e = (*forwards_)[i];
    Actions sends;
    e.call.start(body, ids, batch, method_slot, method, read_only, received_ns, now_ns, sends,
                 route);
    carry_out(*forwards_, i, kind_forward, sends, now_ns);
}

void PipelineCore::start_batch(uint64_t client, std::span<const jsonrpc::Entry> entries,
                               uint64_t received_ns, uint64_t now_ns) {
    uint32_t b = take_call(*batches_, Sink{client}, method_slot_other, received_ns);
    if (b == CallPool<int>::none) return at_limit(Sink{client}, "null", method_slot_other, now_ns);
    Entry<BatchCall>& batch = (*batches_)[b];
    batch.call.start(entries.size());
    for (size_t i = 0; i < entries.size(); i++) batch.call.want(i, entries[i].wants_response());
    for (size_t i = 0; i < entries.size(); i++) {
        const jsonrpc::Entry& e = entries[i];
        Sink element{client, b, static_cast<uint32_t>(i)};
        if (!e.ok) {
            deliver_error(element, e.request.id, e.error_code, e.error_message, method_slot_other,
                          now_ns);
        } else {
            route(element, e.request, e.request.raw, i, received_ns, now_ns);
        }
    }
    Actions done;
    batch.call.started(done);
    finish_batch(b, done, now_ns);
}

void PipelineCore::forward_batch(uint64_t client, std::span<const jsonrpc::Entry> entries,
                                 std::string_view body, uint64_t received_ns, uint64_t now_ns) {
    tell_gate(nullptr, method_slot_other, now_ns);  // counted once, as the request it is
    // Keep every id that expects an answer, to answer each if no node can.
    scratch_.clear();
    bool read_only = true;
    for (const jsonrpc::Entry& e : entries) {
        read_only = read_only && e.ok && engine::read_only(e.request.method);
        bump(metrics_.requests[method_slot_other]);
        if (!e.wants_response()) continue;
        if (!scratch_.empty()) scratch_.push_back('\n');
        scratch_.append(e.request.id.empty() ? std::string_view("null") : e.request.id);
    }
    start_forward(Sink{client}, body, scratch_.view(), true, method_slot_other, nullptr, read_only,
                  received_ns, now_ns);
}

// ---------------------------------------------------------------------------------------------
// Replies in, actions out

void PipelineCore::on_reply(uint64_t call, const NodeReply& reply, uint64_t now_ns) {
    // The completion rule: a reply never arrives from inside a send (or anything else here).
    EM_ASSERT(!in_event_);
    in_event_ = true;
    uint64_t kind = call >> 32 & 0xff;
    uint32_t i = static_cast<uint32_t>(call);
    Actions actions;
    if (kind == kind_builder) {
        (*builders_)[i].call.on_reply(reply, static_cast<uint8_t>(call >> 40), now_ns, actions);
        carry_out(*builders_, i, kind, actions, now_ns);
    } else if (kind == kind_vote) {
        (*votes_)[i].call.on_reply(reply, now_ns, actions);
        carry_out(*votes_, i, kind, actions, now_ns);
    } else if (kind == kind_gather) {
        (*gathers_)[i].call.on_reply(reply, now_ns, actions);
        carry_out(*gathers_, i, kind, actions, now_ns);
    } else {
        EM_ASSERT(kind == kind_forward);
        Entry<ForwardCall>& e = (*forwards_)[i];
        bool waiting = e.sink.batch != CallPool<int>::none || shell_.client_waiting(e.sink.client);
        e.call.on_reply(reply, waiting, now_ns, actions);
        carry_out(*forwards_, i, kind, actions, now_ns);
    }
    in_event_ = false;
}

void PipelineCore::on_wake(uint64_t call, uint64_t now_ns) {
    EM_ASSERT(!in_event_ && call >> 32 == kind_forward);
    in_event_ = true;
    uint32_t i = static_cast<uint32_t>(call);
    Actions actions;
    Entry<ForwardCall>& e = (*forwards_)[i];
    bool waiting = e.sink.batch != CallPool<int>::none || shell_.client_waiting(e.sink.client);
    e.call.on_wake(waiting, now_ns, actions);
    carry_out(*forwards_, i, kind_forward, actions, now_ns);
    in_event_ = false;
}

template <typename T>
uint32_t PipelineCore::take_call(CallPool<Entry<T>>& pool, const Sink& sink, size_t method_slot,
                                 uint64_t received_ns) {
    if (in_use_ >= config_.in_flight_max) return CallPool<int>::none;
    uint32_t i = pool.take(config_.in_flight_max, [&] {
        if constexpr (std::is_constructible_v<T, CallEnv&, size_t>)
            return std::make_unique<Entry<T>>(env_, config_.body_bytes_max);
        else
            return std::make_unique<Entry<T>>();
    });
    if (i == CallPool<int>::none) return i;
    in_use_++;
    Entry<T>& e = pool[i];
    e.sink = sink;
    e.method_slot = method_slot;
    e.received_ns = received_ns;
    return i;
}

template <typename T>
void PipelineCore::carry_out(CallPool<Entry<T>>& pool, uint32_t index, uint64_t kind,
                             const Actions& actions, uint64_t now_ns) {
    Entry<T>& e = pool[index];
    for (const Action& a : actions.view()) {
        switch (a.kind) {
            case Action::Kind::send:
                shell_.send((kind | uint64_t{a.sub} << 8) << 32 | index, a.node, a.bytes, a.ordered,
                            a.deadline_ns);
                break;
            case Action::Kind::answer:
                deliver(e.sink, a.http_status, a.bytes, now_ns);
                if constexpr (std::is_same_v<T, VoteCall>) {
                    answer_waiters(e, index, a.bytes, now_ns);
                }
                break;
            case Action::Kind::node_failed:
                shell_.node_failed(a.node, *a.error);
                break;
            case Action::Kind::learned:
                if (gate_) gate_->learned(a.learn, a.key, a.bytes, a.node, now_ns);
                break;
            case Action::Kind::wake:
                shell_.wake(kind << 32 | index, a.deadline_ns);
                break;
            case Action::Kind::served:
                if (gate_) gate_->served(a.client, a.node, a.block);
                break;
            case Action::Kind::disagreement:
                EM_LOG_LIMITED_FIELDS(LogLevel::warn, 5,
                                      (log_field("method", a.method), log_field("answer", a.told),
                                       log_field("reason", a.reason)),
                                      "%.*s", static_cast<int>(a.bytes.size()), a.bytes.data());
                break;
        }
    }
    if (!e.call.done()) return;
    if constexpr (std::is_same_v<T, VoteCall>) report_head(e, now_ns);
    // A split eth_getLogs' piece is no client's request: its LogsCall records the one there is.
    if (e.sink.logs == CallPool<int>::none)
        metrics_.request_latency[e.method_slot].record_us(elapsed_ns(e.received_ns, now_ns) / 1000);
    e.call.release_grown_buffers();
    pool.release(index);
    in_use_--;
}

void PipelineCore::deliver(const Sink& sink, int http_status, std::string_view body,
                           uint64_t now_ns) {
    if (sink.logs != CallPool<int>::none) {  // a piece of a split eth_getLogs
        Actions actions;
        (*logs_)[sink.logs].call.set(sink.element, body, actions);
        carry_out(*logs_, sink.logs, kind_logs, actions, now_ns);
        return;
    }
    if (sink.batch == CallPool<int>::none) {
        shell_.answer(sink.client, http_status, body);
        return;
    }
    shell_.element_decided(sink.client, body);
    Actions done;
    (*batches_)[sink.batch].call.set(sink.element, body, done);
    finish_batch(sink.batch, done, now_ns);
}

void PipelineCore::finish_batch(uint32_t index, const Actions& actions, uint64_t now_ns) {
    Entry<BatchCall>& batch = (*batches_)[index];
    for (const Action& a : actions.view()) {
        EM_ASSERT(a.kind == Action::Kind::answer);
        shell_.answer(batch.sink.client, a.http_status, a.bytes);
    }
    if (!batch.call.done()) return;
    metrics_.request_latency[method_slot_other].record_us(elapsed_ns(batch.received_ns, now_ns) /
                                                          1000);
    batch.call.release_grown_buffers();
    batches_->release(index);
    in_use_--;
}

void PipelineCore::deliver_error(const Sink& sink, std::string_view id, int code,
                                 std::string_view message, size_t method_slot, uint64_t now_ns) {
    bump(metrics_.request_errors[method_slot]);
    error_.clear();
    jsonrpc::write_error(error_, id.empty() ? "null" : id, code, message);
    deliver(sink, 200, error_.view(), now_ns);
}

void PipelineCore::at_limit(const Sink& sink, std::string_view id, size_t method_slot,
                            uint64_t now_ns) {
    deliver_error(sink, id, jsonrpc::code::server_error,
                  "enginemux is at its in-flight request limit", method_slot, now_ns);
}

}  // namespace em::pipeline
