#include "proxy/proxy.h"

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
#include "proxy/contexts.h"

namespace em::proxy {

namespace {

/// How often removed nodes are checked for retired() while any is retiring.
constexpr uint64_t reap_interval_ns = 10'000'000;

bool json_content_type(std::string_view ct) {
    if (ct.empty()) return true;
    std::string_view base = ct.substr(0, ct.find(';'));
    while (!base.empty() && base.back() == ' ') base.remove_suffix(1);
    return http::iequals(base, "application/json");
}

}  // namespace

Proxy::Proxy(io::Loop& loop, const ProxyConfig& config, upstream::Registry& registry,
             upstream::HealthBoard& board, ShardMetrics& metrics)
    : loop_(loop),
      config_(config),
      registry_(registry),
      board_(board),
      metrics_(metrics),
      quorum_(*engine::Quorum::from_fraction(config.fcu_majority)),
      jwt_(config.cl_secret),
      parser_(config.batch_entries_max, config.body_bytes_max),
      response_parser_(jsonrpc::Limits{.batch_entries_max = config.batch_entries_max,
                                       .body_bytes_max = config.body_bytes_max}),
      verifier_(eth::VerifierConfig{
          .arena_bytes = static_cast<size_t>(config.body_bytes_max) * 3 / 2 + (1u << 20),
          .request_bytes_max = config.body_bytes_max,
          .decode = {.unknown_fields = config.strict_payload_fields ? eth::UnknownFields::reject
                                                                      : eth::UnknownFields::ignore,
                     .limits = {}}}),
      scratch_(config.body_bytes_max + 65536) {
    reap_timer_.fn = on_reap_timer;
    reap_timer_.owner = this;
    retiring_.reserve(upstream::nodes_max);
    if (config.is_engine_shard) {
        engine::PayloadIdMap::Config ids;
        ids.capacity = config.payload_ids_max;
        ids.lifetime_ns = uint64_t{config.payload_id_lifetime_s} * 1'000'000'000ull;
        uint64_t seed[2] = {wall_ns(), reinterpret_cast<uintptr_t>(this) ^ mono_ns()};
        std::memcpy(ids.key.data(), seed, sizeof seed);
        payload_ids_ = std::move(*engine::PayloadIdMap::create(ids));
    }
    for (size_t i = 0; i < upstream::nodes_max; i++) sync_node(i);
}

Proxy::~Proxy() {
    // Teardown after the loop ended: the nodes go first, while the contexts whose calls they
    // may still list are alive.
    loop_.timer_cancel(&reap_timer_);
    retiring_.clear();
    for (auto& node : nodes_) node.reset();
}

void Proxy::sync_node(size_t i) {
    const upstream::NodeInfo* info = registry_.get(i);
    if (info == infos_[i]) return;
    std::unique_ptr<upstream::Node> old = std::move(nodes_[i]);
    infos_[i] = info;
    engine_suspect_[i] = false;
    if (info) nodes_[i] = std::make_unique<upstream::Node>(loop_, info->options);
    // Retired after the slot changed: the calls it fails may fail over, never back to it.
    if (old) retire_node(std::move(old));
}

void Proxy::retire_node(std::unique_ptr<upstream::Node> node) {
    retiring_.push_back(std::move(node));
    retiring_.back()->retire();
    if (!reap_timer_.armed()) loop_.timer_start(&reap_timer_, loop_.now_ns() + reap_interval_ns);
}

void Proxy::on_reap_timer(io::Timer* timer) {
    static_cast<Proxy*>(timer->owner)->reap_retired();
}

void Proxy::reap_retired() {
    // A timer callback runs outside every completion, so a retired Node may be freed here.
    for (size_t k = 0; k < retiring_.size();) {
        if (!retiring_[k]->retired()) {
            k++;
            continue;
        }
        EM_LOG_INFO("removed node %s: its calls are done and its connections closed",
                    retiring_[k]->name().c_str());
        retiring_[k] = std::move(retiring_.back());
        retiring_.pop_back();
    }
    if (!retiring_.empty()) loop_.timer_start(&reap_timer_, loop_.now_ns() + reap_interval_ns);
}

uint64_t Proxy::deadline_ns(size_t i, uint32_t method_timeout_ms) const {
    uint64_t ms = method_timeout_ms ? method_timeout_ms : 60'000;
    if (infos_[i] && infos_[i]->timeout_ms && infos_[i]->timeout_ms < ms) ms = infos_[i]->timeout_ms;
    if (config_.timeout_ms && config_.timeout_ms < ms) ms = config_.timeout_ms;
    return loop_.now_ns() + ms * 1'000'000ull;
}

int Proxy::pick_node(uint32_t skip_mask) const {
    int primary = board_.primary();
    auto usable = [&](int i) {
        return i >= 0 && nodes_[i] && infos_[i] && !(skip_mask & (1u << i)) &&
               infos_[i]->role == upstream::NodeRole::voter;
    };
    if (usable(primary) && board_.read(static_cast<size_t>(primary)).state != upstream::NodeState::dead)
        return primary;
    // Failover order: synced voters by latency, then syncing, then anything not dead, then any.
    upstream::NodeHealth health[upstream::nodes_max];
    for (size_t i = 0; i < upstream::nodes_max; i++)
        if (usable(static_cast<int>(i))) health[i] = board_.read(i);
    for (upstream::NodeState want : {upstream::NodeState::synced, upstream::NodeState::syncing,
                                     upstream::NodeState::unknown, upstream::NodeState::dead}) {
        int best = -1;
        for (size_t i = 0; i < upstream::nodes_max; i++) {
            if (!usable(static_cast<int>(i)) || health[i].state != want) continue;
            if (best < 0 || health[i].latency_ewma_us < health[best].latency_ewma_us) best = static_cast<int>(i);
        }
        if (best >= 0) return best;
    }
    return -1;
}

void Proxy::reply_error(http::ServerConn& conn, std::string_view id, int code,
                        std::string_view message, size_t method_slot) {
    bump(metrics_.request_errors[method_slot]);
    ByteBuffer& out = conn.out();
    out.clear();
    size_t mark = http::begin_response(out, 200, "application/json", conn.keep_alive());
    jsonrpc::write_error(out, id.empty() ? "null" : id, code, message);
    http::end_response(out, mark);
    conn.send();
}

void Proxy::reply_envelope_error(http::ServerConn& conn, const Error& error) {
    bump(metrics_.jsonrpc_parse_errors);
    reply_error(conn, "null", jsonrpc::error_code_of(error), error.message(), method_slot_other);
}

void Proxy::on_request(http::ServerConn& conn, const http::Request& request) {
    if (request.method != http::Method::post) {
        bump(metrics_.http_bad_requests);
        conn.respond(405, "application/json",
                     "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32600,\"message\":"
                     "\"use POST with a JSON-RPC body\"}}");
        return;
    }
    if (!json_content_type(request.content_type)) {
        bump(metrics_.http_bad_requests);
        conn.respond(415, "application/json",
                     "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32600,\"message\":"
                     "\"Content-Type must be application/json\"}}");
        return;
    }
    if (auto auth = jwt_.verify_authorization(request.authorization, wall_s()); !auth) {
        bump(metrics_.http_unauthorized);
        EM_LOG_LIMITED(LogLevel::warn, 1, "rejected a consensus-client request: %s",
                       auth.error().c_str());
        ByteBuffer& out = conn.out();
        out.clear();
        size_t mark = http::begin_response(out, 401, "application/json", conn.keep_alive());
        jsonrpc::write_error(out, "null", jsonrpc::code::server_error, auth.error().message());
        http::end_response(out, mark);
        conn.send();
        return;
    }
    handle_body(conn, request);
}

void Proxy::handle_body(http::ServerConn& conn, const http::Request& request) {
    std::string_view body = request.body;
    size_t capacity = conn.readable_bytes_from(body.data());
    auto envelope = parser_.parse(body.data(), body.size(), capacity);
    if (!envelope) {
        reply_envelope_error(conn, envelope.error());
        return;
    }
    if (!envelope->batch) {
        const jsonrpc::Entry& entry = envelope->entries[0];
        if (!entry.ok) {
            reply_error(conn, entry.request.id, entry.error_code, entry.error_message, method_slot_other);
            return;
        }
        const jsonrpc::Request& r = entry.request;
        const engine::MethodInfo* method = engine::find_method(r.method);
        size_t slot = method ? method->index : method_slot_other;
        bump(metrics_.requests[slot]);
        Sink sink{conn.ref(), nullptr, 0};
        if (method) route_engine(sink, conn, r, *method, body, 0);
        else forward(sink, conn, body, r.id, false, slot);
        return;
    }
    // Batches without engine calls go whole to the primary, bytes unchanged. A batch holding
    // engine calls is answered element by element (each vote on its own) and then as one array.
    for (const jsonrpc::Entry& e : envelope->entries) {
        if (e.ok && engine::find_method(e.request.method)) {
            handle_batch(conn, envelope->entries);
            return;
        }
    }
    for (size_t i = 0; i < envelope->entries.size(); i++) bump(metrics_.requests[method_slot_other]);
    forward(Sink{conn.ref(), nullptr, 0}, conn, body, {}, true, method_slot_other, envelope->entries);
}

}  // namespace em::proxy
