#include "admin/admin.h"

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <vector>

#include "admin/access.h"
#include "admin/builder_debug.h"
#include "admin/exposition.h"
#include "base/clock.h"
#include "base/hex.h"
#include "base/log.h"
#include "base/name.h"
#include "engine/methods.h"
#include "http/target.h"
#include "http/writer.h"
#include "jsonrpc/writer.h"
#include "listener/builder_health.h"

namespace em::admin {

namespace {

uint64_t load(const pipeline::Counter& c) {
    return c.load(std::memory_order_relaxed);
}

/// The client listener's connections (http::Server counters, summed over shards): accepted,
/// refused, evicted at connections_max, cut by a deadline or the idle timer, and requests refused
/// by the buffered-body budget.
void render_http_connections(ByteBuffer& out, std::span<pipeline::ShardMetrics* const> shards) {
    using Field = http::ServerStats::Counter http::ServerStats::*;
    auto sum = [&](Field field) {
        uint64_t total = 0;
        for (pipeline::ShardMetrics* s : shards) total += load(s->http.*field);
        return static_cast<unsigned long long>(total);
    };
    struct Sample {
        const char* name;
        const char* labels;
        Field field;
    };
    static constexpr const char* help[][2] = {
        {"enginemux_http_connections_accepted_total", "Client connections accepted."},
        {"enginemux_http_connections_refused_total",
         "Client connections closed at once: connections_max reached and every connection had a "
         "complete request in progress."},
        {"enginemux_http_connections_evicted_total",
         "Client connections closed to admit a new one at connections_max: waiting=\"partial\" "
         "had no complete request (answered 408), waiting=\"idle\" was a keep-alive connection "
         "between requests."},
        {"enginemux_http_deadline_cuts_total",
         "Client connections cut by a deadline: header (header_timeout_ms), body "
         "(body_timeout_ms), body_rate (body_rate_min_bytes_s), send (body_timeout_ms for the "
         "answer)."},
        {"enginemux_http_idle_closed_total",
         "Keep-alive client connections closed after idle_timeout_ms without a request."},
        {"enginemux_http_buffered_body_refused_total",
         "Client requests answered 503 (Retry-After) because their body would have taken the "
         "request bodies buffered at once over buffered_body_bytes_max."},
    };
    static constexpr Sample samples[] = {
        {help[0][0], "", &http::ServerStats::accepted},
        {help[1][0], "", &http::ServerStats::rejected_full},
        {help[2][0], "{waiting=\"partial\"}", &http::ServerStats::evicted_partial},
        {help[2][0], "{waiting=\"idle\"}", &http::ServerStats::evicted_idle},
        {help[3][0], "{deadline=\"header\"}", &http::ServerStats::header_deadline},
        {help[3][0], "{deadline=\"body\"}", &http::ServerStats::body_deadline},
        {help[3][0], "{deadline=\"body_rate\"}", &http::ServerStats::body_rate},
        {help[3][0], "{deadline=\"send\"}", &http::ServerStats::send_deadline},
        {help[4][0], "", &http::ServerStats::idle_closed},
        {help[5][0], "", &http::ServerStats::buffered_body_refused},
    };
    for (const auto& h : help) {
        appendf(out, "# HELP %s %s\n# TYPE %s counter\n", h[0], h[1], h[0]);
        for (const Sample& s : samples) {
            if (s.name == h[0]) appendf(out, "%s%s %llu\n", s.name, s.labels, sum(s.field));
        }
    }
}

/// The rpc listener's WebSocket connections (http::ServerStats ws_*, summed over shards).
void render_websocket(ByteBuffer& out, std::span<pipeline::ShardMetrics* const> shards) {
    using Field = http::ServerStats::Counter http::ServerStats::*;
    struct Metric {
        const char* name;
        const char* type;
        const char* help;
        Field field;
    };
    static constexpr Metric metrics[] = {
        {"enginemux_ws_upgrades_total", "counter", "WebSocket upgrades answered 101.",
         &http::ServerStats::ws_upgrades},
        {"enginemux_ws_refused_total", "counter",
         "WebSocket upgrades refused: bad handshake (400/426) or [rpc.ws] connections_max (503).",
         &http::ServerStats::ws_refused},
        {"enginemux_ws_connections_open", "gauge", "WebSocket connections open now.",
         &http::ServerStats::ws_open},
        {"enginemux_ws_messages_in_total", "counter", "WebSocket messages received.",
         &http::ServerStats::ws_messages_in},
        {"enginemux_ws_messages_out_total", "counter", "WebSocket messages queued to clients.",
         &http::ServerStats::ws_messages_out},
        {"enginemux_ws_closed_policy_total", "counter",
         "WebSocket clients closed with 1008: their send queue was over [rpc.ws] "
         "send_queue_bytes.",
         &http::ServerStats::ws_closed_policy},
        {"enginemux_ws_closed_protocol_total", "counter",
         "WebSocket clients closed for a protocol error (1002, 1007, 1009).",
         &http::ServerStats::ws_closed_protocol},
        {"enginemux_ws_queue_bytes", "gauge", "Bytes queued to WebSocket clients now.",
         &http::ServerStats::ws_queue_bytes},
        {"enginemux_ws_grown_kept_bytes", "gauge",
         "Bytes idle WebSocket connections keep of grown buffers (at most [rpc.ws] "
         "grown_buffers_bytes_max).",
         &http::ServerStats::ws_kept_bytes},
    };
    for (const Metric& m : metrics) {
        uint64_t total = 0;
        for (pipeline::ShardMetrics* s : shards) total += load(s->http.*m.field);
        appendf(out, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", m.name, m.help, m.name, m.type,
                m.name, static_cast<unsigned long long>(total));
    }
}

/// The NAME of DELETE /nodes/NAME: percent-decoded (strictly) and checked against the name rule,
/// so that every name that can be added can be removed, and a malformed one is a clear 400.
Result<std::string_view> node_name_in_path(std::string_view segment, std::span<char> out) {
    auto name = http::percent_decode(segment, out);
    if (!name) return Unexpected(name.error().prefix("DELETE /nodes/NAME"));
    if (auto ok = check_name(*name); !ok)
        return Unexpected(ok.error().prefix("DELETE /nodes/NAME"));
    return name;
}

std::string_view method_label(size_t slot) {
    if (slot >= engine::method_count) return "other";
    return engine::methods()[slot].name;
}

}  // namespace

AdminHandler::AdminHandler(AdminContext context)
    : ctx_(std::move(context)), body_(64u << 20, 65536) {}

void AdminHandler::reply_json(http::ServerConn& conn, int status, std::string_view body) {
    conn.respond(status, "application/json", body);
}

void AdminHandler::reply_error(http::ServerConn& conn, int status, const Error& error) {
    body_.clear();
    body_.append("{\"error\":");
    jsonrpc::write_json_string(body_, error.message());
    body_.append("}");
    reply_json(conn, status, body_.view());
}

bool AdminHandler::admit(http::ServerConn& conn, const http::Request& request) {
    AccessPolicy policy{ctx_.token, ctx_.protect_reads};
    switch (check_access(policy, request.method, request.authorization)) {
        case Access::allowed:
            return true;
        case Access::no_token:
            reply_json(
                conn, 403,
                "{\"error\":\"admin API: POST and DELETE (adding or removing nodes, recheck, "
                "reload) are "
                "refused while no admin token is configured; set [admin] token_file "
                "(--admin-token-file) to a file holding a token of 16+ characters and send it "
                "as 'Authorization: Bearer <token>'\"}");
            return false;
        case Access::unauthorized:
            reply_json(conn, 401, "{\"error\":\"admin API: missing or wrong bearer token\"}");
            return false;
    }
    return false;
}

void AdminHandler::on_request(http::ServerConn& conn, const http::Request& request) {
    if (!admit(conn, request)) return;
    std::string_view target = request.target.substr(0, request.target.find('?'));
    bool get = request.method == http::Method::get;
    bool post = request.method == http::Method::post;
    body_.clear();
    if (get && target == "/status") {
        render_status(body_);
        reply_json(conn, 200, body_.view());
    } else if (get && target == "/metrics") {
        render_metrics(body_);
        conn.respond(200, "text/plain; version=0.0.4", body_.view());
    } else if (get && target == "/healthz" && ctx_.builder.enabled) {
        engine::HealthVerdict v =
            listener::builder_health(*ctx_.builder.shared, *ctx_.board, mono_ns());
        reply_json(conn, v.http_status, v.body);
    } else if (get && target == "/healthz") {
        reply_json(conn, 200, "{\"ok\":true}");
    } else if (ctx_.builder.enabled && target == "/execution-mode" && (get || post)) {
        execution_mode(conn, request, post);
    } else if (get && target == "/readyz") {
        bool ready = ctx_.board->primary() >= 0;
        reply_json(
            conn, ready ? 200 : 503,
            ready ? "{\"ready\":true}" : "{\"ready\":false,\"reason\":\"no usable voting node\"}");
    } else if (post && target == "/recheck") {
        ctx_.actions->recheck();
        reply_json(conn, 200, "{\"ok\":true}");
    } else if (post && target == "/reload") {
        auto reloaded = ctx_.actions->reload();
        if (!reloaded) {
            reply_error(conn, 400, reloaded.error());
            return;
        }
        body_.append("{\"reloaded\":");
        jsonrpc::write_json_string(body_, *reloaded);
        body_.append("}");
        reply_json(conn, 200, body_.view());
    } else if (post && target == "/nodes") {
        std::string_view spec = request.body;
        while (!spec.empty() && (spec.back() == '\n' || spec.back() == '\r' || spec.back() == ' '))
            spec.remove_suffix(1);
        auto added = ctx_.actions->add_node(spec);
        if (!added) {
            reply_error(conn, 400, added.error());
            return;
        }
        body_.append("{\"added\":");
        jsonrpc::write_json_string(body_, *added);
        body_.append("}");
        reply_json(conn, 201, body_.view());
    } else if (request.method == http::Method::delete_ && target.substr(0, 7) == "/nodes/") {
        char name_bytes[name_chars_max + 1];
        Result<std::string_view> name = node_name_in_path(target.substr(7), name_bytes);
        if (!name) {
            reply_error(conn, 400, name.error());
            return;
        }
        auto removed = ctx_.actions->remove_node(*name);
        if (!removed) {
            reply_error(conn, removed.error().code() == Errc::not_found ? 404 : 400,
                        removed.error());
            return;
        }
        reply_json(conn, 200, "{\"removed\":true}");
    } else if (target == "/status" || target == "/metrics" || target == "/healthz" ||
               (ctx_.builder.enabled && target == "/execution-mode") || target == "/readyz" ||
               target == "/recheck" || target == "/reload" || target == "/nodes" ||
               target.substr(0, 7) == "/nodes/") {
        reply_json(conn, 405, "{\"error\":\"method not allowed on this path\"}");
    } else {
        reply_json(conn, 404,
                   "{\"error\":\"unknown path; try /status, /metrics, /healthz, /readyz, /recheck, "
                   "/reload, "
                   "/nodes\"}");
    }
}

void AdminHandler::execution_mode(http::ServerConn& conn, const http::Request& request, bool post) {
    if (!post) {
        reply_json(conn, 200, get_execution_mode(*ctx_.builder.shared));
        return;
    }
    char peer[64] = "?";
    conn.peer().format(peer, sizeof peer);
    std::string answer;
    int status =
        post_execution_mode(request.body, *ctx_.builder.shared,
                            std::string("admin API POST /execution-mode from ") + peer, answer);
    reply_json(conn, status, answer);
}

void AdminHandler::render_status(ByteBuffer& out) const {
    int primary = ctx_.board->primary();
    uint64_t now = mono_ns();
    appendf(out, "{\"version\":\"%s\",\"role\":\"%s\",\"quorum\":%g,\"uptime_s\":%llu,",
            ctx_.version, ctx_.role, ctx_.quorum,
            static_cast<unsigned long long>((now - ctx_.started_ns) / 1'000'000'000ull));
    const upstream::NodeInfo* primary_info =
        primary >= 0 ? ctx_.registry->get(static_cast<size_t>(primary)) : nullptr;
    out.append("\"primary\":");
    if (primary_info)
        jsonrpc::write_json_string(out, primary_info->name);
    else
        out.append("null");
    // executionbackup-style lists of URLs by state.
    const char* lists[] = {"alive", "syncing", "dead"};
    upstream::NodeState states[] = {upstream::NodeState::synced, upstream::NodeState::syncing,
                                    upstream::NodeState::dead};
    for (int k = 0; k < 3; k++) {
        appendf(out, ",\"%s\":[", lists[k]);
        bool first = true;
        for (size_t i = 0; i < upstream::nodes_max; i++) {
            const upstream::NodeInfo* info = ctx_.registry->get(i);
            if (!info) continue;
            upstream::NodeHealth h = ctx_.board->read(i);
            bool match =
                h.state == states[k] || (k == 2 && h.state == upstream::NodeState::unknown);
            if (!match) continue;
            if (!first) out.push_back(',');
            first = false;
            jsonrpc::write_json_string(out, info->url);
        }
        out.push_back(']');
    }
    out.append(",\"nodes\":[");
    bool first = true;
    for (size_t i = 0; i < upstream::nodes_max; i++) {
        const upstream::NodeInfo* info = ctx_.registry->get(i);
        if (!info) continue;
        upstream::NodeHealth h = ctx_.board->read(i);
        if (!first) out.push_back(',');
        first = false;
        out.append("{\"name\":");
        jsonrpc::write_json_string(out, info->name);
        out.append(",\"url\":");
        jsonrpc::write_json_string(out, info->url);
        appendf(
            out,
            ",\"role\":\"%s\",\"state\":\"%s\",\"primary\":%s,\"resp_time_us\":%u,"
            "\"last_resp_time_us\":%u,\"head_number\":%lld,\"head_age_s\":%lld,\"probes\":%llu,"
            "\"failures\":%llu,\"state_age_s\":%llu,\"reason\":",
            info->role == upstream::NodeRole::voter ? "voter" : "mirror",
            upstream::node_state_name(h.state), static_cast<int>(i) == primary ? "true" : "false",
            h.latency_ewma_us, h.last_latency_us, static_cast<long long>(h.head_number),
            static_cast<long long>(h.head_age_s), static_cast<unsigned long long>(h.probes),
            static_cast<unsigned long long>(h.failures),
            static_cast<unsigned long long>(h.changed_ns ? (now - h.changed_ns) / 1'000'000'000ull
                                                         : 0));
        jsonrpc::write_json_string(out, h.reason_text());
        uint64_t disagreements = 0, calls = 0, errors = 0;
        for (pipeline::ShardMetrics* s : ctx_.shards) {
            disagreements += load(s->node_disagreements[i]);
            for (size_t m = 0; m < pipeline::method_slots; m++) {
                calls += load(s->upstream[i][m].calls);
                errors += load(s->upstream[i][m].errors);
            }
        }
        appendf(out, ",\"calls\":%llu,\"errors\":%llu,\"disagreements\":%llu}",
                static_cast<unsigned long long>(calls), static_cast<unsigned long long>(errors),
                static_cast<unsigned long long>(disagreements));
    }
    out.append("],\"recent_votes\":");
    render_recent_votes(out, now);
    render_role_sections(out, now);
    out.append("}");
}

void AdminHandler::render_role_sections(ByteBuffer& out, uint64_t now) const {
    if (std::string_view(ctx_.role) == "sync") {
        out.append(",\"sync\":");
        render_sync(out, now);
    }
    if (ctx_.rpc) {
        out.append(",\"rpc\":");
        render_rpc(out);
    }
    if (ctx_.builder.enabled)
        render_builder_status(out, ctx_.builder, ctx_.shards, *ctx_.registry, *ctx_.board);
}

void AdminHandler::render_rpc(ByteBuffer& out) const {
    // The same rule as the rpc policy's (pipeline/rpc_policy.h), from the same health board.
    upstream::NodeHealth health[upstream::nodes_max];
    int64_t highest = -1;
    for (size_t i = 0; i < upstream::nodes_max; i++) {
        health[i] = ctx_.board->read(i);
        const upstream::NodeHealth& h = health[i];
        bool usable = ctx_.registry->get(i) && h.state != upstream::NodeState::dead;
        if (usable && h.head_number > highest) highest = h.head_number;
    }
    int64_t finalized = -1;
    for (pipeline::ShardMetrics* s : ctx_.shards) {
        int64_t f = s->rpc.finalized.load(std::memory_order_relaxed);
        if (f > finalized) finalized = f;
    }
    // Beside the mux or sync role, the CL's own calls say who is at the head (ClHead).
    pipeline::ClHead::View cl;
    if (ctx_.cl_head) cl = ctx_.cl_head->read(mono_ns());
    bool by_cl = cl.number >= 0 && cl.nodes != 0;
    appendf(out,
            "{\"highest_head\":%lld,\"finalized\":%lld,\"max_head_lag_blocks\":%u,"
            "\"cl_head\":%lld,\"head_from\":\"%s\",",
            static_cast<long long>(highest), static_cast<long long>(finalized),
            ctx_.rpc_max_head_lag_blocks, static_cast<long long>(cl.number),
            by_cl ? "cl" : "probe");
    render_rpc_redis(out);
    render_rpc_websocket(out);
    render_rpc_shards(out);
    out.append("\"nodes\":[");
    bool first = true;
    for (size_t i = 0; i < upstream::nodes_max; i++) {
        const upstream::NodeInfo* info = ctx_.registry->get(i);
        if (!info) continue;
        const upstream::NodeHealth& h = health[i];
        if (!first) out.push_back(',');
        first = false;
        out.append("{\"name\":");
        jsonrpc::write_json_string(out, info->name);
        long long lag = h.head_number >= 0 && highest >= 0 ? highest - h.head_number : -1;
        bool at_head =
            h.state != upstream::NodeState::dead && info->role == upstream::NodeRole::voter &&
            (by_cl ? ((cl.nodes >> i) & 1u) != 0
                   : highest < 0 ||
                         (lag >= 0 && lag <= static_cast<long long>(ctx_.rpc_max_head_lag_blocks)));
        appendf(out,
                ",\"state\":\"%s\",\"head\":%lld,\"finalized\":%lld,\"lag\":%lld,"
                "\"at_head\":%s",
                upstream::node_state_name(h.state), static_cast<long long>(h.head_number),
                static_cast<long long>(h.finalized_number), lag, at_head ? "true" : "false");
        out.append(",\"client\":");
        jsonrpc::write_json_string(out, h.client_text());
        if (ctx_.rpc_breakers) {
            std::string_view state = pipeline::rpc::breaker_state_name(ctx_.rpc_breakers->state(i));
            appendf(out, ",\"breaker\":\"%.*s\",\"breaker_opens\":%llu",
                    static_cast<int>(state.size()), state.data(),
                    static_cast<unsigned long long>(ctx_.rpc_breakers->opens(i)));
        }
        out.push_back('}');
    }
    out.append("]}");
}

namespace {

/// [rpc.redis] summed over the shards' rpc listeners (state: -1 none, 0 benched, 1 admitted;
/// with several clients, admitted only when every one is).
struct RedisTotals {
    int state = -1;
    uint64_t lookups = 0, hits = 0, misses = 0, cache_fallbacks = 0, stores = 0;
    uint64_t rate_checks = 0, rate_fallbacks = 0, timeouts = 0, errors = 0, benched = 0;
};

RedisTotals redis_totals(std::span<pipeline::ShardMetrics* const> shards) {
    RedisTotals t;
    for (const pipeline::ShardMetrics* s : shards) {
        const pipeline::RpcMetrics& m = s->rpc;
        int state = m.redis_state.load(std::memory_order_relaxed);
        if (state >= 0) t.state = t.state < 0 ? state : (t.state < state ? t.state : state);
        t.lookups += load(m.redis_lookups);
        t.hits += load(m.redis_hits);
        t.misses += load(m.redis_misses);
        t.cache_fallbacks += load(m.redis_cache_fallbacks);
        t.stores += load(m.redis_stores);
        t.rate_checks += load(m.redis_rate_checks);
        t.rate_fallbacks += load(m.redis_rate_fallbacks);
        t.timeouts += load(m.redis_timeouts);
        t.errors += load(m.redis_errors);
        t.benched += load(m.redis_benched);
    }
    return t;
}

}  // namespace

void AdminHandler::render_rpc_websocket(ByteBuffer& out) const {
    uint64_t open = 0, in = 0, sent = 0, policy = 0, protocol = 0, queued = 0, peak = 0, kept = 0;
    for (const pipeline::ShardMetrics* s : ctx_.shards) {
        const http::ServerStats& h = s->http;
        open += load(h.ws_open);
        in += load(h.ws_messages_in);
        sent += load(h.ws_messages_out);
        policy += load(h.ws_closed_policy);
        protocol += load(h.ws_closed_protocol);
        queued += load(h.ws_queue_bytes);
        peak = std::max<uint64_t>(peak, load(h.ws_queue_peak_bytes));
        kept += load(h.ws_kept_bytes);
    }
    appendf(out,
            "\"websocket\":{\"open\":%llu,\"messages_in\":%llu,\"messages_out\":%llu,"
            "\"closed_1008\":%llu,\"closed_protocol\":%llu,\"queue_bytes\":%llu,"
            "\"queue_peak_bytes\":%llu,\"grown_kept_bytes\":%llu},",
            static_cast<unsigned long long>(open), static_cast<unsigned long long>(in),
            static_cast<unsigned long long>(sent), static_cast<unsigned long long>(policy),
            static_cast<unsigned long long>(protocol), static_cast<unsigned long long>(queued),
            static_cast<unsigned long long>(peak), static_cast<unsigned long long>(kept));
}

void AdminHandler::render_rpc_shards(ByteBuffer& out) const {
    out.append("\"shards\":[");
    for (size_t k = 0; k < ctx_.rpc_shards.size(); k++) {
        const pipeline::ShardMetrics& s = *ctx_.rpc_shards[k];
        uint64_t hits = 0;
        for (const pipeline::RpcMethodMetrics& m : s.rpc.methods) hits += load(m.cache_hits);
        appendf(out, "%s{\"connections_accepted\":%llu,\"requests\":%llu,\"cache_hits\":%llu}",
                k ? "," : "", static_cast<unsigned long long>(load(s.http.accepted)),
                static_cast<unsigned long long>(load(s.http.requests)),
                static_cast<unsigned long long>(hits));
    }
    out.append("],");
}

void AdminHandler::render_rpc_redis(ByteBuffer& out) const {
    RedisTotals t = redis_totals(ctx_.shards);
    if (t.state < 0) {
        out.append("\"redis\":null,");
        return;
    }
    auto u = [](uint64_t v) { return static_cast<unsigned long long>(v); };
    appendf(out,
            "\"redis\":{\"state\":\"%s\",\"lookups\":%llu,\"hits\":%llu,\"misses\":%llu,"
            "\"cache_fallbacks\":%llu,\"rate_checks\":%llu,\"rate_fallbacks\":%llu,"
            "\"timeouts\":%llu,\"errors\":%llu,\"benched\":%llu},",
            t.state ? "admitted" : "benched", u(t.lookups), u(t.hits), u(t.misses),
            u(t.cache_fallbacks), u(t.rate_checks), u(t.rate_fallbacks), u(t.timeouts), u(t.errors),
            u(t.benched));
}

void AdminHandler::render_rpc_redis_metrics(ByteBuffer& out) const {
    RedisTotals t = redis_totals(ctx_.shards);
    if (t.state < 0) return;
    appendf(out,
            "# HELP enginemux_rpc_redis_admitted 1 while Redis is admitted, 0 while benched.\n"
            "# TYPE enginemux_rpc_redis_admitted gauge\nenginemux_rpc_redis_admitted %d\n",
            t.state);
    struct Row {
        const char* name;
        const char* help;
        uint64_t value;
    };
    const Row rows[] = {
        {"lookups", "Embedded cache misses asked of Redis", t.lookups},
        {"cache_hits", "rpc requests answered from Redis", t.hits},
        {"cache_misses", "Redis lookups that found nothing (sent to a node)", t.misses},
        {"cache_fallbacks", "Cache lookups Redis could not serve (benched, timeout)",
         t.cache_fallbacks},
        {"stores", "Answers put in Redis", t.stores},
        {"rate_checks", "Token buckets taken from Redis", t.rate_checks},
        {"rate_fallbacks", "Rate checks decided by the embedded budgets (Redis unavailable)",
         t.rate_fallbacks},
        {"timeouts", "Redis commands past [rpc.redis] timeout_ms", t.timeouts},
        {"errors", "Redis connection failures and error replies", t.errors},
        {"benched", "Times Redis was benched (admitted -> benched)", t.benched},
    };
    for (const Row& r : rows) {
        appendf(out,
                "# HELP enginemux_rpc_redis_%s_total %s.\n# TYPE enginemux_rpc_redis_%s_total "
                "counter\nenginemux_rpc_redis_%s_total %llu\n",
                r.name, r.help, r.name, r.name, static_cast<unsigned long long>(r.value));
    }
}

namespace {

/// The per-method families of enginemux_rpc_*.
struct RpcFamily {
    const char* name;
    const char* help;
    pipeline::Counter pipeline::RpcMethodMetrics::*counter;
};
constexpr RpcFamily rpc_families[] = {
    {"enginemux_rpc_requests_total", "rpc listener requests (batch entries each), by method",
     &pipeline::RpcMethodMetrics::requests},
    {"enginemux_rpc_errors_total", "rpc requests answered with a JSON-RPC error, by method",
     &pipeline::RpcMethodMetrics::errors},
    {"enginemux_rpc_retries_total", "rpc reads asked of another node after one failed",
     &pipeline::RpcMethodMetrics::retries},
    {"enginemux_rpc_cache_hits_total", "rpc requests answered from the answer cache",
     &pipeline::RpcMethodMetrics::cache_hits},
    {"enginemux_rpc_rate_limited_total", "rpc requests answered 429 (over a budget)",
     &pipeline::RpcMethodMetrics::rate_limited},
    {"enginemux_rpc_hedges_total",
     "rpc reads sent a second time to another node (the first was slower than its p95)",
     &pipeline::RpcMethodMetrics::hedges},
    {"enginemux_rpc_hedges_won_total", "rpc hedged reads the second copy answered first",
     &pipeline::RpcMethodMetrics::hedges_won},
};

}  // namespace

void AdminHandler::render_rpc_metrics(ByteBuffer& out) const {
    using pipeline::RpcMethodMetrics;
    const auto& families = rpc_families;
    auto total_of = [this](size_t m, pipeline::Counter RpcMethodMetrics::*counter) {
        uint64_t total = 0;
        for (pipeline::ShardMetrics* s : ctx_.shards) total += load(s->rpc.methods[m].*counter);
        return total;
    };
    // A method that was asked for (or refused) has every family's sample, zeros included, so
    // a rate of its retries or 429s reads 0 rather than "no data"; other methods have none.
    bool seen[pipeline::rpc::method_slots] = {};
    for (size_t m = 0; m < pipeline::rpc::method_slots; m++)
        for (const RpcFamily& f : families) seen[m] = seen[m] || total_of(m, f.counter) > 0;
    for (const RpcFamily& f : families) {
        appendf(out, "# HELP %s %s.\n# TYPE %s counter\n", f.name, f.help, f.name);
        for (size_t m = 0; m < pipeline::rpc::method_slots; m++) {
            if (!seen[m]) continue;
            uint64_t total = total_of(m, f.counter);
            std::string_view label = pipeline::rpc::method_label(m);
            appendf(out, "%s{method=\"%.*s\"} %llu\n", f.name, static_cast<int>(label.size()),
                    label.data(), static_cast<unsigned long long>(total));
        }
    }
    uint64_t unauthorized = 0, not_allowed = 0, stores = 0, broadcasts = 0, known = 0;
    for (pipeline::ShardMetrics* s : ctx_.shards) {
        unauthorized += load(s->rpc.unauthorized);
        not_allowed += load(s->rpc.not_allowed);
        stores += load(s->rpc.cache_stores);
        broadcasts += load(s->rpc.broadcasts);
        known += load(s->rpc.already_known);
    }
    appendf(out,
            "# HELP enginemux_rpc_unauthorized_total rpc requests answered 401 (API key).\n"
            "# TYPE enginemux_rpc_unauthorized_total counter\nenginemux_rpc_unauthorized_total "
            "%llu\n# HELP enginemux_rpc_not_allowed_total rpc requests refused -32601 "
            "(allow_methods).\n# TYPE enginemux_rpc_not_allowed_total counter\n"
            "enginemux_rpc_not_allowed_total %llu\n# HELP enginemux_rpc_cache_stores_total "
            "Answers put in the rpc answer cache.\n# TYPE enginemux_rpc_cache_stores_total "
            "counter\nenginemux_rpc_cache_stores_total %llu\n"
            "# HELP enginemux_rpc_broadcasts_total Transactions sent to every node.\n"
            "# TYPE enginemux_rpc_broadcasts_total counter\nenginemux_rpc_broadcasts_total %llu\n"
            "# HELP enginemux_rpc_already_known_total A node's \"already known\" taken as the "
            "transaction's success.\n# TYPE enginemux_rpc_already_known_total counter\n"
            "enginemux_rpc_already_known_total %llu\n",
            static_cast<unsigned long long>(unauthorized),
            static_cast<unsigned long long>(not_allowed), static_cast<unsigned long long>(stores),
            static_cast<unsigned long long>(broadcasts), static_cast<unsigned long long>(known));
    if (ctx_.rpc_cache) {
        pipeline::rpc::CacheStats c = ctx_.rpc_cache->stats();
        appendf(out,
                "# HELP enginemux_rpc_cache_bytes Bytes held by the rpc answer cache.\n"
                "# TYPE enginemux_rpc_cache_bytes gauge\nenginemux_rpc_cache_bytes %llu\n"
                "# HELP enginemux_rpc_cache_entries Answers held by the rpc answer cache.\n"
                "# TYPE enginemux_rpc_cache_entries gauge\nenginemux_rpc_cache_entries %llu\n",
                static_cast<unsigned long long>(c.bytes),
                static_cast<unsigned long long>(c.entries));
    }
    render_rpc_redis_metrics(out);
    render_rpc_split_sticky_metrics(out);
    render_rpc_breaker_metrics(out);
    render_heads_feed_metrics(out);
}

void AdminHandler::render_heads_feed_metrics(ByteBuffer& out) const {
    if (!ctx_.heads_feed) return;
    const listener::FeedCounters& c = *ctx_.heads_feed;
    struct Row {
        const char* name;
        const char* help;
        const std::atomic<uint64_t>& value;
    };
    const Row rows[] = {
        {"delivered", "Heads delivered to the shards' newHeads subscribers, each once",
         c.delivered},
        {"failovers", "Times the upstream newHeads subscription moved to another node",
         c.failovers},
        {"filled", "Heads fetched with eth_getBlockByNumber to fill a gap after a move", c.filled},
        {"duplicates", "Heads an upstream sent again, dropped", c.duplicates},
        {"skipped", "Heads that could not be filled (a gap over the limit): a gap clients saw",
         c.skipped},
        {"post_failures", "Heads a shard could not take (its post queue full): lost there",
         c.post_failures},
    };
    for (const Row& r : rows)
        appendf(out,
                "# HELP enginemux_ws_heads_%s_total %s.\n# TYPE enginemux_ws_heads_%s_total "
                "counter\nenginemux_ws_heads_%s_total %llu\n",
                r.name, r.help, r.name, r.name,
                static_cast<unsigned long long>(r.value.load(std::memory_order_relaxed)));
}

void AdminHandler::render_rpc_split_sticky_metrics(ByteBuffer& out) const {
    struct Row {
        const char* name;
        const char* help;
        pipeline::Counter pipeline::RpcMetrics::*counter;
    };
    static constexpr Row rows[] = {
        {"logs_splits", "eth_getLogs requests over max_logs_block_range run as pieces",
         &pipeline::RpcMetrics::logs_splits},
        {"logs_pieces", "Pieces of split eth_getLogs requests sent (each a read)",
         &pipeline::RpcMetrics::logs_pieces},
        {"logs_split_failures", "Split eth_getLogs requests answered an error (a piece failed)",
         &pipeline::RpcMetrics::logs_split_failures},
        {"logs_refused", "eth_getLogs requests over max_logs_block_range refused, not split",
         &pipeline::RpcMetrics::logs_refused},
        {"sticky_kept", "Reads of a sticky client sent to the node that last answered it",
         &pipeline::RpcMetrics::sticky_kept},
        {"sticky_moved", "Reads of a sticky client moved to a node at or past its newest block",
         &pipeline::RpcMetrics::sticky_moved},
        {"sticky_evicted", "Sticky clients forgotten to make room for another",
         &pipeline::RpcMetrics::sticky_evicted},
        {"sticky_no_node", "Reads of a sticky client no node at its newest block could take",
         &pipeline::RpcMetrics::sticky_no_node},
        {"agree_calls", "[rpc.agree] reads asked of several execution clients",
         &pipeline::RpcMetrics::agree_calls},
        {"agree_agreed", "[rpc.agree] reads answered: every client gave the same value",
         &pipeline::RpcMetrics::agree_agreed},
        {"agree_disagreed",
         "[rpc.agree] reads refused -32000: the clients differed, or one failed or erred",
         &pipeline::RpcMetrics::agree_disagreed},
        {"agree_short", "[rpc.agree] reads refused: fewer different clients usable than asked",
         &pipeline::RpcMetrics::agree_short},
        {"cl_head_reads", "Head reads sent only to the nodes at the head the CL chose",
         &pipeline::RpcMetrics::cl_head_reads},
        {"shadow_calls", "Reads in the shadow_ratio sample, also sent to a second node",
         &pipeline::RpcMetrics::shadow_calls},
        {"shadow_compared", "Shadow-compared reads whose two results were compared",
         &pipeline::RpcMetrics::shadow_compared},
        {"shadow_differences", "Shadow-compared reads whose two results differed (each logged)",
         &pipeline::RpcMetrics::shadow_differences},
    };
    for (const Row& r : rows) {
        uint64_t total = 0;
        for (pipeline::ShardMetrics* s : ctx_.shards) total += load(s->rpc.*r.counter);
        appendf(out,
                "# HELP enginemux_rpc_%s_total %s.\n# TYPE enginemux_rpc_%s_total counter\n"
                "enginemux_rpc_%s_total %llu\n",
                r.name, r.help, r.name, r.name, static_cast<unsigned long long>(total));
    }
}

void AdminHandler::render_rpc_breaker_metrics(ByteBuffer& out) const {
    if (!ctx_.rpc_breakers) return;
    const pipeline::rpc::BreakerBoard& b = *ctx_.rpc_breakers;
    out.append(
        "# HELP enginemux_rpc_breaker_state Each node's circuit breaker for rpc reads: 0 closed, "
        "1 open (no calls), 2 half-open (one probe out).\n"
        "# TYPE enginemux_rpc_breaker_state gauge\n");
    for (size_t i = 0; i < upstream::nodes_max; i++) {
        const upstream::NodeInfo* info = ctx_.registry->get(i);
        if (!info) continue;
        LabelSet labels;
        labels.add("node", info->name);
        appendf(out, "enginemux_rpc_breaker_state{%.*s} %d\n",
                static_cast<int>(labels.text().size()), labels.text().data(),
                static_cast<int>(b.state(i)));
    }
    out.append(
        "# HELP enginemux_rpc_breaker_opens_total Times each node's circuit breaker opened "
        "(failures in a row, or a failed probe).\n"
        "# TYPE enginemux_rpc_breaker_opens_total counter\n");
    for (size_t i = 0; i < upstream::nodes_max; i++) {
        const upstream::NodeInfo* info = ctx_.registry->get(i);
        if (!info) continue;
        LabelSet labels;
        labels.add("node", info->name);
        appendf(out, "enginemux_rpc_breaker_opens_total{%.*s} %llu\n",
                static_cast<int>(labels.text().size()), labels.text().data(),
                static_cast<unsigned long long>(b.opens(i)));
    }
}

void AdminHandler::render_sync(ByteBuffer& out, uint64_t now) const {
    // One engine shard runs the sync policy: its board is the first shard's.
    const pipeline::SyncBoard& board = ctx_.shards.front()->sync;
    int best = board.best();
    pipeline::SyncClientRecord c;
    out.append("{\"best\":");
    if (best >= 0 && board.read(static_cast<size_t>(best), c) && c.used) {
        jsonrpc::write_json_string(out, c.name_view());
    } else {
        out.append("null");
    }
    out.append(",\"clients\":[");
    bool first = true;
    for (size_t i = 0; i < pipeline::sync_clients_max; i++) {
        if (!board.read(i, c) || !c.used) continue;
        if (!first) out.push_back(',');
        first = false;
        out.append("{\"name\":");
        jsonrpc::write_json_string(out, c.name_view());
        out.append(",\"address\":");
        jsonrpc::write_json_string(out, c.address_view());
        out.append(",\"timestamp\":");
        if (c.has_timestamp) {
            appendf(out, "%llu", static_cast<unsigned long long>(c.timestamp));
        } else {
            out.append("null");
        }
        out.append(",\"head\":");
        if (c.has_head) {
            char head[70] = {'"'};
            format_data(c.head, head + 1);  // 0x + 64 digits
            head[67] = '"';
            out.append(std::string_view(head, 68));
        } else {
            out.append("null");
        }
        uint64_t calls = 0;
        for (uint64_t n : c.calls) calls += n;
        uint64_t age_ms = now > c.last_call_ns ? (now - c.last_call_ns) / 1'000'000 : 0;
        appendf(out, ",\"calls\":%llu,\"best\":%s,\"future\":%s,\"last_call_age_ms\":%llu}",
                static_cast<unsigned long long>(calls),
                static_cast<int>(i) == best ? "true" : "false", c.future ? "true" : "false",
                static_cast<unsigned long long>(age_ms));
    }
    out.append("]}");
}

void AdminHandler::render_sync_metrics(ByteBuffer& out) const {
    const pipeline::SyncBoard& board = ctx_.shards.front()->sync;
    int best = board.best();
    out.append(
        "# HELP enginemux_sync_best 1 for the consensus client the execution clients follow.\n"
        "# TYPE enginemux_sync_best gauge\n");
    pipeline::SyncClientRecord c;
    for (size_t i = 0; i < pipeline::sync_clients_max; i++) {
        if (!board.read(i, c) || !c.used) continue;
        LabelSet labels;
        labels.add("client", c.name_view());
        appendf(out, "enginemux_sync_best{%.*s} %d\n", static_cast<int>(labels.text().size()),
                labels.text().data(), static_cast<int>(i) == best ? 1 : 0);
    }
    out.append(
        "# HELP enginemux_sync_mirrored_total Engine calls mirrored to each other proxy.\n"
        "# TYPE enginemux_sync_mirrored_total counter\n"
        "# HELP enginemux_sync_mirror_failures_total Mirrored calls that failed or were "
        "dropped (too many in flight).\n"
        "# TYPE enginemux_sync_mirror_failures_total counter\n");
    for (size_t i = 0; i < ctx_.sync_proxies.size() && i < pipeline::sync_proxies_max; i++) {
        LabelSet labels;
        labels.add("proxy", ctx_.sync_proxies[i]);
        int n = static_cast<int>(labels.text().size());
        appendf(out, "enginemux_sync_mirrored_total{%.*s} %llu\n", n, labels.text().data(),
                static_cast<unsigned long long>(load(board.mirrored[i])));
        appendf(out, "enginemux_sync_mirror_failures_total{%.*s} %llu\n", n, labels.text().data(),
                static_cast<unsigned long long>(load(board.mirror_failures[i])));
    }
    out.append(
        "# HELP enginemux_sync_client_calls_total Requests from each consensus client, by "
        "method.\n"
        "# TYPE enginemux_sync_client_calls_total counter\n");
    for (size_t i = 0; i < pipeline::sync_clients_max; i++) {
        if (!board.read(i, c) || !c.used) continue;
        for (size_t m = 0; m < c.calls.size(); m++) {
            if (c.calls[m] == 0) continue;
            LabelSet labels;
            labels.add("client", c.name_view()).add("method", method_label(m));
            appendf(out, "enginemux_sync_client_calls_total{%.*s} %llu\n",
                    static_cast<int>(labels.text().size()), labels.text().data(),
                    static_cast<unsigned long long>(c.calls[m]));
        }
    }
}

namespace {

std::string_view told_name(uint8_t told) {
    if (told == pipeline::VoteRecord::told_error) return "error";
    return engine::status_name(static_cast<engine::Status>(told));
}

std::string_view reason_name(uint8_t reason) {
    if (reason == pipeline::VoteRecord::reason_block_hash) return "block_hash_mismatch";
    if (reason == pipeline::VoteRecord::reason_error) return "error";
    return engine::vote_reason_name(static_cast<engine::VoteReason>(reason));
}

std::string_view outcome_name(uint8_t outcome) {
    switch (outcome) {
        case pipeline::VoteRecord::no_answer:
            return "no-answer";
        case pipeline::VoteRecord::rpc_error:
            return "error";
        default:
            return engine::status_name(
                static_cast<engine::Status>(outcome - pipeline::VoteRecord::answered_valid));
    }
}

}  // namespace

void AdminHandler::render_recent_votes(ByteBuffer& out, uint64_t now) const {
    // Newest first, every shard's (one engine shard today), each node's answer by name.
    out.push_back('[');
    bool first = true;
    for (pipeline::ShardMetrics* s : ctx_.shards) {
        pipeline::VoteRecord votes[pipeline::VoteLog::capacity];
        size_t n = s->recent_votes.newest(votes, pipeline::VoteLog::capacity);
        for (size_t k = 0; k < n; k++) {
            const pipeline::VoteRecord& v = votes[k];
            if (!first) out.push_back(',');
            first = false;
            std::string_view method = engine::methods()[v.method_slot].name;
            appendf(out,
                    "{\"age_ms\":%llu,\"method\":\"%.*s\",\"told\":\"%.*s\",\"reason\":\"%.*s\","
                    "\"early\":%s,\"block_hash\":\"%s\",\"answers\":{",
                    static_cast<unsigned long long>(now > v.mono_ns ? (now - v.mono_ns) / 1'000'000
                                                                    : 0),
                    static_cast<int>(method.size()), method.data(),
                    static_cast<int>(told_name(v.told).size()), told_name(v.told).data(),
                    static_cast<int>(reason_name(v.reason).size()), reason_name(v.reason).data(),
                    v.early ? "true" : "false",
                    v.hash_check == 1   ? "match"
                    : v.hash_check == 2 ? "mismatch"
                                        : "not_checked");
            bool first_node = true;
            for (size_t i = 0; i < pipeline::nodes_max; i++) {
                if (v.outcome[i] == pipeline::VoteRecord::not_in_call) continue;
                const upstream::NodeInfo* info = ctx_.registry->get(i);
                if (!first_node) out.push_back(',');
                first_node = false;
                if (info) {
                    jsonrpc::write_json_string(out, info->name);
                } else {
                    appendf(out, "\"slot%zu\"", i);
                }
                std::string_view o = outcome_name(v.outcome[i]);
                bool mirror = !(v.voters & (1u << i));
                appendf(out, ":\"%.*s%s\"", static_cast<int>(o.size()), o.data(),
                        mirror ? " (mirror)" : "");
            }
            out.append("}}");
        }
    }
    out.push_back(']');
}

namespace {

using Shards = std::span<pipeline::ShardMetrics* const>;

/// A counter summed over the shards; get(shard) names the counter.
template <typename Get>
uint64_t sum_shards(Shards shards, Get get) {
    uint64_t total = 0;
    for (pipeline::ShardMetrics* s : shards) total += load(get(*s));
    return total;
}

/// One latency histogram's samples (buckets, sum, count), summed over the shards; get(shard)
/// names the histogram.
template <typename Get>
void render_histogram(ByteBuffer& out, Shards shards, const char* metric, const LabelSet& label_set,
                      Get get) {
    int labels_len = static_cast<int>(label_set.text().size());
    const char* labels = label_set.text().data();
    uint64_t cumulative = 0;
    for (size_t b = 0; b < pipeline::latency_buckets; b++) {
        cumulative += sum_shards(shards, [&](pipeline::ShardMetrics& s) -> pipeline::Counter& {
            return get(s).buckets[b];
        });
        if (b < pipeline::latency_bucket_bounds_us.size())
            appendf(out, "%s_bucket{%.*s,le=\"%g\"} %llu\n", metric, labels_len, labels,
                    static_cast<double>(pipeline::latency_bucket_bounds_us[b]) / 1e6,
                    static_cast<unsigned long long>(cumulative));
        else
            appendf(out, "%s_bucket{%.*s,le=\"+Inf\"} %llu\n", metric, labels_len, labels,
                    static_cast<unsigned long long>(cumulative));
    }
    appendf(out, "%s_sum{%.*s} %g\n", metric, labels_len, labels,
            static_cast<double>(sum_shards(
                shards,
                [&](pipeline::ShardMetrics& s) -> pipeline::Counter& { return get(s).sum_us; })) /
                1e6);
    appendf(out, "%s_count{%.*s} %llu\n", metric, labels_len, labels,
            static_cast<unsigned long long>(cumulative));
}

/// Requests from clients and their errors, by method; the CL-facing latencies by method.
void render_requests(ByteBuffer& out, Shards shards) {
    auto sum = [shards](auto counter) { return sum_shards(shards, counter); };
    // Requests from clients.
    out.append(
        "# HELP enginemux_requests_total JSON-RPC requests received from clients, by method.\n"
        "# TYPE enginemux_requests_total counter\n");
    for (size_t m = 0; m < pipeline::method_slots; m++) {
        uint64_t n =
            sum([&](pipeline::ShardMetrics& s) -> pipeline::Counter& { return s.requests[m]; });
        if (n == 0) continue;
        LabelSet labels;
        labels.add("method", method_label(m));
        appendf(out, "enginemux_requests_total{%.*s} %llu\n",
                static_cast<int>(labels.text().size()), labels.text().data(),
                static_cast<unsigned long long>(n));
    }
    out.append(
        "# HELP enginemux_request_errors_total Requests answered with a JSON-RPC error.\n"
        "# TYPE enginemux_request_errors_total counter\n");
    for (size_t m = 0; m < pipeline::method_slots; m++) {
        uint64_t n = sum(
            [&](pipeline::ShardMetrics& s) -> pipeline::Counter& { return s.request_errors[m]; });
        if (n == 0) continue;
        LabelSet labels;
        labels.add("method", method_label(m));
        appendf(out, "enginemux_request_errors_total{%.*s} %llu\n",
                static_cast<int>(labels.text().size()), labels.text().data(),
                static_cast<unsigned long long>(n));
    }
    // One histogram per method for the CL-facing latencies.
    using MethodHistograms =
        std::array<pipeline::LatencyHistogram, pipeline::method_slots> pipeline::ShardMetrics::*;
    auto per_method = [&](const char* metric, const char* help, MethodHistograms member) {
        appendf(out, "# HELP %s %s\n# TYPE %s histogram\n", metric, help, metric);
        for (size_t m = 0; m < pipeline::method_slots; m++) {
            if (sum([&](pipeline::ShardMetrics& s) -> pipeline::Counter& {
                    return (s.*member)[m].count;
                }) == 0)
                continue;
            LabelSet labels;
            labels.add("method", method_label(m));
            render_histogram(out, shards, metric, labels,
                             [&](pipeline::ShardMetrics& s) -> pipeline::LatencyHistogram& {
                                 return (s.*member)[m];
                             });
        }
    };
    per_method("enginemux_request_seconds", "Time from a complete request to its answer.",
               &pipeline::ShardMetrics::request_latency);
    per_method("enginemux_own_seconds",
               "Time a request spent in enginemux not waiting for an execution client "
               "(parsing, block-hash check, vote, queueing, wake-ups).",
               &pipeline::ShardMetrics::own_latency);
}

/// Calls to each node by method: counts, errors, timeouts, round trips.
void render_upstream(ByteBuffer& out, Shards shards, const upstream::Registry& registry) {
    auto sum = [shards](auto counter) { return sum_shards(shards, counter); };
    // Upstream calls per node and method.
    out.append(
        "# HELP enginemux_upstream_calls_total Calls sent to execution clients.\n"
        "# TYPE enginemux_upstream_calls_total counter\n"
        "# HELP enginemux_upstream_errors_total Calls that failed (transport, HTTP, malformed).\n"
        "# TYPE enginemux_upstream_errors_total counter\n"
        "# HELP enginemux_upstream_timeouts_total Calls that hit their deadline.\n"
        "# TYPE enginemux_upstream_timeouts_total counter\n"
        "# HELP enginemux_upstream_seconds Round trip of calls to execution clients.\n"
        "# TYPE enginemux_upstream_seconds histogram\n");
    for (size_t i = 0; i < upstream::nodes_max; i++) {
        const upstream::NodeInfo* info = registry.get(i);
        if (!info) continue;
        for (size_t m = 0; m < pipeline::method_slots; m++) {
            uint64_t calls = sum([&](pipeline::ShardMetrics& s) -> pipeline::Counter& {
                return s.upstream[i][m].calls;
            });
            if (calls == 0) continue;
            LabelSet labels;
            labels.add("node", info->name).add("method", method_label(m));
            int n = static_cast<int>(labels.text().size());
            const char* text = labels.text().data();
            appendf(out, "enginemux_upstream_calls_total{%.*s} %llu\n", n, text,
                    static_cast<unsigned long long>(calls));
            appendf(out, "enginemux_upstream_errors_total{%.*s} %llu\n", n, text,
                    static_cast<unsigned long long>(
                        sum([&](pipeline::ShardMetrics& s) -> pipeline::Counter& {
                            return s.upstream[i][m].errors;
                        })));
            appendf(out, "enginemux_upstream_timeouts_total{%.*s} %llu\n", n, text,
                    static_cast<unsigned long long>(
                        sum([&](pipeline::ShardMetrics& s) -> pipeline::Counter& {
                            return s.upstream[i][m].timeouts;
                        })));
            render_histogram(out, shards, "enginemux_upstream_seconds", labels,
                             [&](pipeline::ShardMetrics& s) -> pipeline::LatencyHistogram& {
                                 return s.upstream[i][m].latency;
                             });
        }
    }
}

/// Each node's health, probed head, primary flag, lane depth and disagreements: one metric
/// family after the other, every node's sample in each (the exposition format wants a family's
/// lines together).
void render_nodes(ByteBuffer& out, Shards shards, const upstream::Registry& registry,
                  const upstream::HealthBoard& board) {
    auto sum = [shards](auto counter) { return sum_shards(shards, counter); };
    struct Row {
        LabelSet node;
        upstream::NodeHealth health;
        size_t slot = 0;
    };
    std::vector<Row> rows;
    for (size_t i = 0; i < upstream::nodes_max; i++) {
        const upstream::NodeInfo* info = registry.get(i);
        if (!info) continue;
        Row& r = rows.emplace_back();
        r.node.add("node", info->name);
        r.health = board.read(i);
        r.slot = i;
    }
    auto each = [&](const char* head, auto sample) {
        out.append(head);
        for (const Row& r : rows)
            sample(r, static_cast<int>(r.node.text().size()), r.node.text().data());
    };
    each(
        "# HELP enginemux_node_state 1 for the node's current state.\n"
        "# TYPE enginemux_node_state gauge\n",
        [&](const Row& r, int n, const char* text) {
            for (upstream::NodeState st :
                 {upstream::NodeState::unknown, upstream::NodeState::synced,
                  upstream::NodeState::syncing, upstream::NodeState::dead})
                appendf(out, "enginemux_node_state{%.*s,state=\"%s\"} %d\n", n, text,
                        upstream::node_state_name(st), r.health.state == st ? 1 : 0);
        });
    each(
        "# HELP enginemux_node_head_block The node's head block number at its last health "
        "probe (absent until known).\n# TYPE enginemux_node_head_block gauge\n",
        [&](const Row& r, int n, const char* text) {
            if (r.health.head_number >= 0)
                appendf(out, "enginemux_node_head_block{%.*s} %lld\n", n, text,
                        static_cast<long long>(r.health.head_number));
        });
    each(
        "# HELP enginemux_node_latency_seconds Health-probe round trip (EWMA).\n"
        "# TYPE enginemux_node_latency_seconds gauge\n",
        [&](const Row& r, int n, const char* text) {
            appendf(out, "enginemux_node_latency_seconds{%.*s} %g\n", n, text,
                    r.health.latency_ewma_us / 1e6);
        });
    int primary = board.primary();
    each(
        "# HELP enginemux_node_primary 1 for the primary node.\n"
        "# TYPE enginemux_node_primary gauge\n",
        [&](const Row& r, int n, const char* text) {
            appendf(out, "enginemux_node_primary{%.*s} %d\n", n, text,
                    static_cast<int>(r.slot) == primary);
        });
    each(
        "# HELP enginemux_lane_queue_depth Engine calls waiting in the node's lane.\n"
        "# TYPE enginemux_lane_queue_depth gauge\n",
        [&](const Row& r, int n, const char* text) {
            appendf(out, "enginemux_lane_queue_depth{%.*s} %llu\n", n, text,
                    static_cast<unsigned long long>(
                        sum([&](pipeline::ShardMetrics& s) -> pipeline::Counter& {
                            return s.lane_depth[r.slot];
                        })));
        });
    each(
        "# HELP enginemux_node_disagreements_total Votes where this voter's answer left the "
        "plurality.\n# TYPE enginemux_node_disagreements_total counter\n",
        [&](const Row& r, int n, const char* text) {
            appendf(out, "enginemux_node_disagreements_total{%.*s} %llu\n", n, text,
                    static_cast<unsigned long long>(
                        sum([&](pipeline::ShardMetrics& s) -> pipeline::Counter& {
                            return s.node_disagreements[r.slot];
                        })));
        });
}

/// Votes by reason and what the CL was told, by status.
void render_votes(ByteBuffer& out, Shards shards) {
    auto sum = [shards](auto counter) { return sum_shards(shards, counter); };
    // Votes.
    out.append(
        "# HELP enginemux_votes_total Votes by outcome reason.\n# TYPE enginemux_votes_total "
        "counter\n");
    for (size_t r = 0; r < engine::vote_reason_count; r++) {
        LabelSet labels;
        labels.add("reason", engine::vote_reason_name(static_cast<engine::VoteReason>(r)));
        appendf(out, "enginemux_votes_total{%.*s} %llu\n", static_cast<int>(labels.text().size()),
                labels.text().data(),
                static_cast<unsigned long long>(
                    sum([&](pipeline::ShardMetrics& s) -> pipeline::Counter& {
                        return s.vote_reasons[r];
                    })));
    }
    out.append(
        "# HELP enginemux_vote_answers_total What the consensus client was told, by status.\n"
        "# TYPE enginemux_vote_answers_total counter\n");
    for (size_t st = 0; st < engine::status_count; st++) {
        LabelSet labels;
        labels.add("status", engine::status_name(static_cast<engine::Status>(st)));
        appendf(out, "enginemux_vote_answers_total{%.*s} %llu\n",
                static_cast<int>(labels.text().size()), labels.text().data(),
                static_cast<unsigned long long>(
                    sum([&](pipeline::ShardMetrics& s) -> pipeline::Counter& {
                        return s.vote_answers[st];
                    })));
    }
}

/// The pipeline's single counters (disagreements, block-hash checks, payload ids, ...).
void render_scalars(ByteBuffer& out, Shards shards) {
    auto sum = [shards](auto counter) { return sum_shards(shards, counter); };
    struct Scalar {
        const char* name;
        const char* help;
        pipeline::Counter pipeline::ShardMetrics::*field;
        /// Added to field: the listener's http::Server counts the requests its parser refused.
        http::ServerStats::Counter http::ServerStats::*parser = nullptr;
    } scalars[] = {
        {"enginemux_disagreements_total", "Votes where execution clients disagreed.",
         &pipeline::ShardMetrics::disagreements},
        {"enginemux_votes_early_total", "Votes answered before every voter had answered.",
         &pipeline::ShardMetrics::votes_early},
        {"enginemux_block_hash_checked_total", "newPayload block hashes rebuilt and checked.",
         &pipeline::ShardMetrics::block_hash_checked},
        {"enginemux_block_hash_mismatch_total", "newPayload calls whose block hash did not match.",
         &pipeline::ShardMetrics::block_hash_mismatch},
        {"enginemux_payload_decode_errors_total", "newPayload calls rejected with -32602.",
         &pipeline::ShardMetrics::payload_decode_errors},
        {"enginemux_payload_ids_minted_total", "payloadIds minted for forkchoiceUpdated.",
         &pipeline::ShardMetrics::payload_ids_minted},
        {"enginemux_payload_ids_unknown_total", "getPayload calls with an unknown payloadId.",
         &pipeline::ShardMetrics::payload_ids_unknown},
        {"enginemux_retries_total", "Calls retried on another node after the first failed.",
         &pipeline::ShardMetrics::retries},
        {"enginemux_http_unauthorized_total", "Requests refused for a missing or bad JWT.",
         &pipeline::ShardMetrics::http_unauthorized},
        {"enginemux_http_bad_requests_total",
         "Requests refused before JSON-RPC: malformed or over a limit (400, 413, 431, 501, 505 "
         "from "
         "the HTTP parser), or not a POST of JSON (405, 415).",
         &pipeline::ShardMetrics::http_bad_requests, &http::ServerStats::bad_requests},
        {"enginemux_jsonrpc_parse_errors_total", "Bodies that were not valid JSON-RPC.",
         &pipeline::ShardMetrics::jsonrpc_parse_errors},
    };
    for (const Scalar& sc : scalars) {
        uint64_t total =
            sum([&](pipeline::ShardMetrics& s) -> pipeline::Counter& { return s.*sc.field; }) +
            (sc.parser ? sum([&](pipeline::ShardMetrics& s) -> pipeline::Counter& {
                return s.http.*sc.parser;
            })
                       : 0);
        appendf(out, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", sc.name, sc.help, sc.name,
                sc.name, static_cast<unsigned long long>(total));
    }
}

}  // namespace

void AdminHandler::render_metrics(ByteBuffer& out) const {
    render_requests(out, ctx_.shards);
    render_upstream(out, ctx_.shards, *ctx_.registry);
    render_nodes(out, ctx_.shards, *ctx_.registry, *ctx_.board);
    render_votes(out, ctx_.shards);
    render_scalars(out, ctx_.shards);
    appendf(out,
            "# HELP enginemux_failovers_total Times the primary moved off a node (to another "
            "node, or to none).\n# TYPE enginemux_failovers_total counter\n"
            "enginemux_failovers_total %llu\n",
            static_cast<unsigned long long>(ctx_.board->failovers()));
    render_http_connections(out, ctx_.shards);
    render_websocket(out, ctx_.shards);
    if (ctx_.body_budget) {
        appendf(out,
                "# HELP enginemux_http_buffered_body_bytes Bytes of request bodies buffered now "
                "(reserved from buffered_body_bytes_max, every listener).\n"
                "# TYPE enginemux_http_buffered_body_bytes gauge\n"
                "enginemux_http_buffered_body_bytes %llu\n",
                static_cast<unsigned long long>(ctx_.body_budget->reserved_bytes()));
    }
    appendf(out,
            "# HELP enginemux_log_lines_dropped_total Log lines dropped because stderr did not "
            "keep up (the log writer's queue was full).\n"
            "# TYPE enginemux_log_lines_dropped_total counter\n"
            "enginemux_log_lines_dropped_total %llu\n",
            static_cast<unsigned long long>(log_dropped_total()));
    if (std::string_view(ctx_.role) == "sync") render_sync_metrics(out);
    if (ctx_.rpc) render_rpc_metrics(out);
    if (ctx_.builder.enabled)
        render_builder_metrics(out, ctx_.builder, ctx_.shards, *ctx_.registry);
}

}  // namespace em::admin
