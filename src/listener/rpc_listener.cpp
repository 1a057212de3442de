#include "listener/rpc_listener.h"

#include <cstdio>

#include "base/clock.h"
#include "base/log.h"
#include "http/writer.h"
#include "jsonrpc/codes.h"
#include "jsonrpc/writer.h"
#include "listener/sync_listener.h"

namespace em::listener {

namespace {

/// EIP-1474's "limit exceeded".
constexpr int limit_exceeded = -32005;

bool iequals_prefix(std::string_view s, std::string_view prefix) {
    if (s.size() < prefix.size()) return false;
    for (size_t i = 0; i < prefix.size(); i++) {
        char a = s[i], b = prefix[i];
        if (a >= 'A' && a <= 'Z') a = static_cast<char>(a - 'A' + 'a');
        if (a != b) return false;
    }
    return true;
}

}  // namespace

std::string_view api_key_of(std::string_view authorization, std::string_view target) {
    if (iequals_prefix(authorization, "bearer ")) {
        std::string_view key = authorization.substr(7);
        while (!key.empty() && key.front() == ' ') key.remove_prefix(1);
        while (!key.empty() && key.back() == ' ') key.remove_suffix(1);
        return key;
    }
    std::string_view path = target.substr(0, target.find('?'));
    if (path.size() > 1 && path.front() == '/') return path.substr(1);
    return {};
}

RpcListener::RpcListener(io::Loop& loop, const ListenerConfig& config, const RpcListenerConfig& rpc,
                         const RpcShared& shared, upstream::Registry& registry,
                         upstream::HealthBoard& board, pipeline::ShardMetrics& metrics)
    : policy_(rpc.policy, shared.cache, metrics.rpc),
      config_(rpc),
      shared_(shared),
      metrics_(metrics),
      keys_(rpc.keys.begin(), rpc.keys.end()),
      parser_(config.core.batch_entries_max, config.core.body_bytes_max),
      body_(64u << 20, 4096) {
    Role* role = this;  // a private base: converted here, where it is accessible
    engine_ = std::make_unique<EngineListener>(loop, config, registry, board, metrics, role);
    policy_.set_nodes(engine_->node_table());
}

RpcListener::~RpcListener() = default;

void RpcListener::reply_unauthorized(http::ServerConn& conn, std::string_view message) {
    pipeline::bump(metrics_.http_unauthorized);
    pipeline::bump(metrics_.rpc.unauthorized);
    ByteBuffer& out = conn.out();
    out.clear();
    size_t mark = http::begin_response(out, 401, "application/json", conn.keep_alive());
    jsonrpc::write_error(out, "null", jsonrpc::code::server_error, message);
    http::end_response(out, mark);
    conn.send();
}

void RpcListener::reply_over_budget(http::ServerConn& conn, const http::Request& request,
                                    std::string_view message, uint32_t retry_after_ms) {
    body_.clear();
    std::string_view body = request.body;
    auto envelope = body.empty() ? Result<jsonrpc::Envelope>(fail(Errc::invalid_input, "empty"))
                                 : parser_.parse(body.data(), body.size(),
                                                 conn.readable_bytes_from(body.data()));
    if (!envelope || !envelope->batch) {
        std::string_view id = envelope && !envelope->entries[0].request.id.empty()
                                  ? envelope->entries[0].request.id
                                  : std::string_view("null");
        if (envelope && envelope->entries[0].ok) {
            std::string_view method = envelope->entries[0].request.method;
            pipeline::bump(metrics_.rpc.methods[pipeline::rpc::method_slot(method)].rate_limited);
        }
        jsonrpc::write_error(body_, id, limit_exceeded, message);
    } else {
        jsonrpc::begin_batch(body_);
        bool first = true;
        for (const jsonrpc::Entry& e : envelope->entries) {
            if (e.ok) {
                size_t slot = pipeline::rpc::method_slot(e.request.method);
                pipeline::bump(metrics_.rpc.methods[slot].rate_limited);
            }
            if (!e.wants_response()) continue;
            if (!first) jsonrpc::batch_separator(body_);
            first = false;
            jsonrpc::write_error(body_, e.request.id.empty() ? "null" : e.request.id,
                                 limit_exceeded, message);
        }
        jsonrpc::end_batch(body_);
    }
    ByteBuffer& out = conn.out();
    out.clear();
    uint32_t retry_after_s = (retry_after_ms + 999) / 1000;
    size_t mark = http::begin_response(out, 429, "application/json", conn.keep_alive(),
                                       retry_after_s ? retry_after_s : 1);
    out.append(body_.view());
    http::end_response(out, mark);
    conn.send();
}

uint32_t RpcListener::take_ticket() {
    if (!free_tickets_.empty()) {
        uint32_t i = free_tickets_.back();
        free_tickets_.pop_back();
        return i;
    }
    tickets_.emplace_back();
    return static_cast<uint32_t>(tickets_.size() - 1);
}

void RpcListener::on_request(http::ServerConn& conn, const http::Request& request) {
    std::string_view key;
    if (config_.keys_required) {
        key = api_key_of(request.authorization, request.target);
        if (key.empty()) {
            reply_unauthorized(conn,
                               "an API key is required: send Authorization: Bearer KEY or use "
                               "the path /KEY");
            return;
        }
        if (keys_.find(key) == keys_.end()) {
            EM_LOG_LIMITED(LogLevel::warn, 1, "rpc: a request with an unknown API key");
            reply_unauthorized(conn, "unknown API key (not in [rpc] api_keys_file)");
            return;
        }
    }
    ClientIdentity who;
    identify({}, request.headers, conn.peer(), config_.trusted_proxies, who);
    uint64_t now = mono_ns();
    char message[192];
    uint32_t retry_ms = 0;
    bool client_counted = false;
    if (shared_.client_budgets) {
        auto v = shared_.client_budgets->admit(who.address, now, &retry_ms);
        if (v != pipeline::rpc::Verdict::allowed) {
            std::snprintf(message, sizeof message,
                          v == pipeline::rpc::Verdict::over_rate
                              ? "rate limit: client %.*s is over [rpc.limits] client_rps"
                              : "rate limit: client %.*s has [rpc.limits] client_concurrency "
                                "requests in progress",
                          static_cast<int>(who.address.size()), who.address.data());
            reply_over_budget(conn, request, message, retry_ms);
            return;
        }
        client_counted = true;
    }
    bool key_counted = false;
    if (shared_.key_budgets && !key.empty()) {
        auto v = shared_.key_budgets->admit(key, now, &retry_ms);
        if (v != pipeline::rpc::Verdict::allowed) {
            if (client_counted) shared_.client_budgets->done(who.address);
            reply_over_budget(conn, request,
                              "rate limit: this API key is over [rpc.limits] key_rps", retry_ms);
            return;
        }
        key_counted = true;
    }
    uint32_t t = take_ticket();
    Ticket& ticket = tickets_[t];
    ticket.address.assign(who.address);
    ticket.key.assign(key);
    ticket.client_counted = client_counted;
    ticket.key_counted = key_counted;
    admitting_ = t;
    engine_->on_request(conn, request);
    // Answered without reaching admit (405, 415): nothing will call answered() for it.
    if (admitting_ != UINT32_MAX) answered(pipeline::Origin{t, 0});
}

Result<pipeline::Origin> RpcListener::admit(const http::ServerConn&, const http::Request&) {
    uint32_t t = admitting_;
    admitting_ = UINT32_MAX;
    return pipeline::Origin{t, wall_s()};
}

void RpcListener::answered(const pipeline::Origin& origin) {
    Ticket& ticket = tickets_[origin.client];
    if (ticket.client_counted) shared_.client_budgets->done(ticket.address);
    if (ticket.key_counted) shared_.key_budgets->done(ticket.key);
    ticket.client_counted = ticket.key_counted = false;
    free_tickets_.push_back(origin.client);
}

}  // namespace em::listener
