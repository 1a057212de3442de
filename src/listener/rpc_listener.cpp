#include "listener/rpc_listener.h"

#include <sys/random.h>

#include <cstdio>
#include <cstring>

#include "base/clock.h"
#include "base/hex.h"
#include "base/log.h"
#include "engine/payload_id_map.h"
#include "eth/keccak/keccak.h"
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

std::array<uint8_t, 16> random_sticky_key() {
    std::array<uint8_t, 16> key{};
    if (getrandom(key.data(), key.size(), 0) != static_cast<ssize_t>(key.size())) {
        uint64_t seed[2] = {wall_ns(), mono_ns()};
        std::memcpy(key.data(), seed, sizeof seed);
    }
    return key;
}

RpcListener::RpcListener(io::Loop& loop, const ListenerConfig& config, const RpcListenerConfig& rpc,
                         const RpcShared& shared, upstream::Registry& registry,
                         upstream::HealthBoard& board, pipeline::ShardMetrics& metrics)
    : policy_(rpc.policy, shared.cache, metrics.rpc, shared.tables),
      config_(rpc),
      shared_(shared),
      metrics_(metrics),
      keys_(rpc.keys.begin(), rpc.keys.end()),
      parser_(config.core.batch_entries_max, config.core.body_bytes_max),
      body_(64u << 20, 4096),
      body_bytes_max_(config.core.body_bytes_max),
      loop_(loop),
      ws_(*this, rpc.ws, metrics.http) {
    sticky_key_ = shared.sticky_key;
    if (sticky_key_ == std::array<uint8_t, 16>{}) sticky_key_ = random_sticky_key();
    if (shared.heads) ws_.enable_subscriptions(loop, *shared.heads);
    Role* role = this;  // a private base: converted here, where it is accessible
    engine_ = std::make_unique<EngineListener>(loop, config, registry, board, metrics, role);
    policy_.set_nodes(engine_->node_table());
    policy_.set_cl_head(shared.cl_head);
    if (shared.redis) {
        redis_ = std::make_unique<redis::Client>(loop, *shared.redis);
        tier_ = std::make_unique<redis::SharedTier>(*redis_, shared.tier);
        policy_.set_shared(this);
        redis_->start();
        redis_timer_.fn = on_redis_timer;
        redis_timer_.owner = this;
        publish_redis();
        loop_.timer_start(&redis_timer_, loop_.now_ns() + 250'000'000ull);
    }
}

RpcListener::~RpcListener() {
    if (redis_timer_.armed()) loop_.timer_cancel(&redis_timer_);
}

bool RpcListener::get(uint64_t ticket, std::string_view key) {
    pipeline::RpcMetrics& m = metrics_.rpc;
    uint32_t i;
    if (!free_lookups_.empty()) {
        i = free_lookups_.back();
        free_lookups_.pop_back();
    } else {
        i = static_cast<uint32_t>(lookups_.size());
        lookups_.push_back(std::make_unique<Lookup>());
        lookups_.back()->index = i;
    }
    Lookup& l = *lookups_[i];
    l.get.done = this;
    l.get.owner = &l;
    l.get.tag = ticket;
    if (!tier_->get(l.get, key)) {  // benched (or full): the node is asked now
        free_lookups_.push_back(i);
        pipeline::bump(m.redis_cache_fallbacks);
        return false;
    }
    l.key.assign(key);  // grows once, then reused
    pipeline::bump(m.redis_lookups);
    return true;
}

void RpcListener::on_cache(redis::CacheGet& get, redis::CacheOutcome outcome,
                           std::string_view value) {
    pipeline::RpcMetrics& m = metrics_.rpc;
    Lookup& l = *static_cast<Lookup*>(get.owner);
    bool hit = outcome == redis::CacheOutcome::hit;
    if (hit) {
        pipeline::bump(m.redis_hits);
        if (shared_.cache) shared_.cache->insert(l.key, value);
    } else {
        pipeline::bump(outcome == redis::CacheOutcome::miss ? m.redis_misses
                                                            : m.redis_cache_fallbacks);
    }
    free_lookups_.push_back(l.index);
    engine_->resume(get.tag, hit, value);
}

bool RpcListener::ask_redis_rates(http::ServerConn& conn, const http::Request& request,
                                  uint32_t t) {
    const Ticket& ticket = tickets_[t];
    auto* client = shared_.client_budgets;
    auto* keys = shared_.key_budgets;
    bool client_rate = client && client->config().rate_per_s > 0;
    bool key_rate = keys && ticket.key_counted && keys->config().rate_per_s > 0;
    if (!tier_ || (!client_rate && !key_rate)) return false;
    if (!redis_->admitted() || !EngineListener::runnable(request) ||
        request.body.size() > body_bytes_max_) {
        pipeline::bump(metrics_.rpc.redis_rate_fallbacks);  // the embedded verdict stands
        return false;
    }
    uint32_t i;
    if (!free_deferred_.empty()) {
        i = free_deferred_.back();
        free_deferred_.pop_back();
    } else {
        i = static_cast<uint32_t>(deferred_.size());
        deferred_.push_back(std::make_unique<Deferred>(body_bytes_max_, i));
    }
    Deferred& d = *deferred_[i];
    d.waiting = 0;
    d.client_over = d.key_over = false;
    d.retry_after_ms = 0;
    char name[80];
    if (client_rate) {
        const pipeline::rpc::BudgetConfig& b = client->config();
        std::snprintf(name, sizeof name, "c:%.64s", ticket.address.c_str());
        d.client_check.done = this;
        d.client_check.owner = &d;
        if (tier_->admit(d.client_check, name, b.rate_per_s, b.burst)) d.waiting++;
    }
    if (key_rate) {
        // Redis keeps rate keys in clear: a hash of the API key, never the key.
        const pipeline::rpc::BudgetConfig& b = keys->config();
        uint8_t hash[32];
        eth::keccak256({reinterpret_cast<const uint8_t*>(ticket.key.data()), ticket.key.size()},
                       hash);
        name[0] = 'k';
        name[1] = ':';
        hex_encode(std::span<const uint8_t>(hash, 16), name + 2);
        d.key_check.done = this;
        d.key_check.owner = &d;
        if (tier_->admit(d.key_check, std::string_view(name, 34), b.rate_per_s, b.burst))
            d.waiting++;
    }
    if (d.waiting == 0) {  // refused at once: the embedded verdict stands
        free_deferred_.push_back(i);
        pipeline::bump(metrics_.rpc.redis_rate_fallbacks);
        return false;
    }
    pipeline::bump(metrics_.rpc.redis_rate_checks, d.waiting);
    d.conn = conn.ref();
    d.ticket = t;
    d.body.clear();
    d.body.append(request.body);
    return true;
}

void RpcListener::on_rate(redis::RateCheck& check, redis::RateOutcome outcome,
                          uint32_t retry_after_ms) {
    Deferred& d = *static_cast<Deferred*>(check.owner);
    if (outcome == redis::RateOutcome::over) {
        (&check == &d.client_check ? d.client_over : d.key_over) = true;
        if (retry_after_ms > d.retry_after_ms) d.retry_after_ms = retry_after_ms;
    } else if (outcome == redis::RateOutcome::unavailable) {
        pipeline::bump(metrics_.rpc.redis_rate_fallbacks);  // the embedded verdict stands
    }
    if (--d.waiting == 0) finish_deferred(d);
}

void RpcListener::finish_deferred(Deferred& d) {
    pipeline::Origin origin{d.ticket, wall_s(), sticky_of(d.ticket)};
    size_t capacity = d.body.capacity() + ByteBuffer::padding_bytes;
    if (!d.conn.valid()) {
        answered(origin);  // the client went away while Redis was asked
    } else if (d.client_over || d.key_over) {
        char message[192];
        const std::string& address = tickets_[d.ticket].address;
        if (d.client_over)
            std::snprintf(message, sizeof message,
                          "rate limit: client %s is over [rpc.limits] client_rps (shared)",
                          address.c_str());
        else
            std::snprintf(message, sizeof message,
                          "rate limit: this API key is over [rpc.limits] key_rps (shared)");
        reply_over_budget(*d.conn.conn, d.body.view(), capacity, message, d.retry_after_ms);
        answered(origin);
    } else {
        engine_->run_deferred(*d.conn.conn, origin, d.body.view(), capacity);
    }
    free_deferred_.push_back(d.index);
}

void RpcListener::put(std::string_view key, std::string_view result) {
    tier_->put(key, result);
    pipeline::bump(metrics_.rpc.redis_stores);
}

void RpcListener::publish_redis() {
    pipeline::RpcMetrics& m = metrics_.rpc;
    const redis::ClientStats& s = redis_->stats();
    m.redis_state.store(redis_->admitted() ? 1 : 0, std::memory_order_relaxed);
    m.redis_timeouts.store(s.timeouts, std::memory_order_relaxed);
    m.redis_errors.store(s.connection_failures + s.error_replies, std::memory_order_relaxed);
    m.redis_benched.store(s.benched, std::memory_order_relaxed);
}

void RpcListener::on_redis_timer(io::Timer* timer) {
    auto* self = static_cast<RpcListener*>(timer->owner);
    self->publish_redis();
    self->loop_.timer_start(timer, self->loop_.now_ns() + 250'000'000ull);
}

void RpcListener::reply_unauthorized(http::ServerConn& conn, std::string_view message) {
    pipeline::bump(metrics_.http_unauthorized);
    pipeline::bump(metrics_.rpc.unauthorized);
    ByteBuffer& out = conn.out();
    out.clear();
    if (conn.websocket()) {  // a WebSocket message: the JSON-RPC error alone
        jsonrpc::write_error(out, "null", jsonrpc::code::server_error, message);
        conn.ws_send_text(out.view());
        return;
    }
    size_t mark = http::begin_response(out, 401, "application/json", conn.keep_alive());
    jsonrpc::write_error(out, "null", jsonrpc::code::server_error, message);
    http::end_response(out, mark);
    conn.send();
}

void RpcListener::reply_over_budget(http::ServerConn& conn, std::string_view body, size_t capacity,
                                    std::string_view message, uint32_t retry_after_ms) {
    body_.clear();
    auto envelope = body.empty() ? Result<jsonrpc::Envelope>(fail(Errc::invalid_input, "empty"))
                                 : parser_.parse(body.data(), body.size(), capacity);
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
    if (conn.websocket()) {  // a WebSocket message: no HTTP status, the JSON-RPC errors alone
        conn.ws_send_text(body_.view());
        return;
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
    if (RpcWebSocket::wanted(request)) {
        ws_.upgrade(conn, request, key);
        return;
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
            reply_over_budget(conn, request.body, conn.readable_bytes_from(request.body.data()),
                              message, retry_ms);
            return;
        }
        client_counted = true;
    }
    bool key_counted = false;
    if (shared_.key_budgets && !key.empty()) {
        auto v = shared_.key_budgets->admit(key, now, &retry_ms);
        if (v != pipeline::rpc::Verdict::allowed) {
            if (client_counted) shared_.client_budgets->done(who.address);
            reply_over_budget(conn, request.body, conn.readable_bytes_from(request.body.data()),
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
    if (ask_redis_rates(conn, request, t)) return;
    admitting_ = t;
    engine_->on_request(conn, request);
    // Answered without reaching admit (405, 415): nothing will call answered() for it.
    if (admitting_ != UINT32_MAX) answered(pipeline::Origin{t, 0});
}

Result<pipeline::Origin> RpcListener::admit(const http::ServerConn&, const http::Request&) {
    uint32_t t = admitting_;
    admitting_ = UINT32_MAX;
    return pipeline::Origin{t, wall_s(), sticky_of(t)};
}

uint64_t RpcListener::sticky_of(uint32_t t) const {
    using pipeline::rpc::StickyBy;
    StickyBy by = config_.policy.sticky;
    if (by == StickyBy::off) return 0;
    const Ticket& ticket = tickets_[t];
    bool by_key = by == StickyBy::key && !ticket.key.empty();
    const std::string& who = by_key ? ticket.key : ticket.address;
    uint64_t h =
        engine::siphash24(sticky_key_, {reinterpret_cast<const uint8_t*>(who.data()), who.size()});
    if (by_key) {  // a key and an address that are the same text are two clients
        h = engine::siphash24(sticky_key_, {reinterpret_cast<const uint8_t*>(&h), sizeof h});
    }
    return h ? h : 1;  // 0 means none
}

void RpcListener::answered(const pipeline::Origin& origin) {
    Ticket& ticket = tickets_[origin.client];
    if (ticket.client_counted) shared_.client_budgets->done(ticket.address);
    if (ticket.key_counted) shared_.key_budgets->done(ticket.key);
    ticket.client_counted = ticket.key_counted = false;
    free_tickets_.push_back(origin.client);
}

bool RpcListener::node_blocked(size_t i) const {
    return shared_.breakers && !shared_.breakers->admits(i, mono_ns());
}

void RpcListener::node_sending(size_t i) {
    if (shared_.breakers) shared_.breakers->sending(i, mono_ns());
}

void RpcListener::node_replied(const pipeline::NodeReply& reply) {
    if (shared_.breakers) shared_.breakers->replied(reply, mono_ns());
}

}  // namespace em::listener
