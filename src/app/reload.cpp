#include "app/reload.h"

#include <cstdio>

namespace em::app {

namespace {

std::string text(const std::string& s) {
    return "\"" + s + "\"";
}
std::string text(bool b) {
    return b ? "true" : "false";
}
std::string text(uint64_t n) {
    return std::to_string(n);
}
std::string text(uint32_t n) {
    return std::to_string(n);
}
std::string text(uint16_t n) {
    return std::to_string(n);
}
std::string text(int n) {
    return std::to_string(n);
}
std::string text(double d) {
    char out[32];
    std::snprintf(out, sizeof out, "%g", d);
    return out;
}
std::string text(LogLevel level) {
    static const char* const names[] = {"error", "warn", "info", "debug"};
    return names[static_cast<size_t>(level) & 3];
}
std::string text(LogFormat format) {
    return format == LogFormat::json ? "json" : "text";
}
std::string text(const std::vector<std::string>& list) {
    std::string out = "[";
    for (const std::string& item : list) out += (out.size() > 1 ? ", " : "") + text(item);
    return out + "]";
}
std::string text(const std::vector<SyncClientConfig>& clients) {
    std::vector<std::string> list;
    list.reserve(clients.size());
    for (const SyncClientConfig& c : clients) list.push_back(c.name + "=" + c.jwt_secret_path);
    return text(list);
}

std::string text(const std::vector<RpcMethodTimeout>& timeouts) {
    std::vector<std::string> list;
    list.reserve(timeouts.size());
    for (const RpcMethodTimeout& t : timeouts)
        list.push_back(t.method + "=" + std::to_string(t.timeout_ms));
    return text(list);
}

std::string text(const std::vector<RpcMethodAgree>& agree) {
    std::vector<std::string> list;
    list.reserve(agree.size());
    for (const RpcMethodAgree& a : agree) list.push_back(a.method + "=" + std::to_string(a.nodes));
    return text(list);
}

struct Differ {
    const Config& a;
    const Config& b;
    SettingsDiff out;

    /// Adds "key a -> b" to the live or the restart-only list when the field differs.
    template <typename T>
    void field(const char* key, T Config::*member, bool live) {
        compare(key, a.*member, b.*member, live);
    }
    template <typename Section, typename T>
    void field(const char* key, Section Config::*section, T Section::*member, bool live) {
        compare(key, (a.*section).*member, (b.*section).*member, live);
    }
    template <typename T>
    void compare(const char* key, const T& x, const T& y, bool live) {
        if (x == y) return;
        (live ? out.live : out.restart_only)
            .push_back(std::string(key) + " " + text(x) + " -> " + text(y));
    }
};

}  // namespace

// tidy: long because it is one flat list of every key, live or restart-only
SettingsDiff diff_settings(const Config& running, const Config& next) {
    Differ d{running, next, {}};
    constexpr bool live = true, restart = false;
    d.field("role", &Config::role, restart);
    d.field("listen_addr", &Config::listen_addr, restart);
    d.field("port", &Config::port, restart);
    d.field("jwt_secret", &Config::jwt_secret_path, live);
    d.field("log_level", &Config::log_level, live);
    // A log collector parses one format: switching it mid-stream would break that.
    d.field("log_format", &Config::log_format, restart);
    d.field("shards", &Config::shards, restart);
    d.field("spin_us", &Config::spin_us, restart);
    d.field("tls_ca_file", &Config::tls_ca_file, restart);
    d.field("node_timings", &Config::node_timings, live);

    using L = LimitsConfig;
    auto limits = &Config::limits;
    d.field("limits.body_bytes_max", limits, &L::body_bytes_max, restart);
    d.field("limits.buffered_body_bytes_max", limits, &L::buffered_body_bytes_max, restart);
    d.field("limits.header_bytes_max", limits, &L::header_bytes_max, restart);
    d.field("limits.connections_max", limits, &L::connections_max, live);
    d.field("limits.batch_entries_max", limits, &L::batch_entries_max, restart);
    d.field("limits.in_flight_max", limits, &L::in_flight_max, restart);
    d.field("limits.upstream_connections_max", limits, &L::upstream_connections_max, restart);
    d.field("limits.header_timeout_ms", limits, &L::header_timeout_ms, live);
    d.field("limits.body_timeout_ms", limits, &L::body_timeout_ms, live);
    d.field("limits.body_rate_min_bytes_s", limits, &L::body_rate_min_bytes_s, live);
    d.field("limits.idle_timeout_ms", limits, &L::idle_timeout_ms, live);
    d.field("limits.connect_timeout_ms", limits, &L::connect_timeout_ms, restart);
    d.field("limits.lane_queue_max", limits, &L::lane_queue_max, restart);
    d.field("limits.shutdown_drain_ms", limits, &L::shutdown_drain_ms, live);

    using H = HealthConfig;
    auto health = &Config::health;
    d.field("health.interval_ms", health, &H::interval_ms, live);
    d.field("health.timeout_ms", health, &H::timeout_ms, live);
    d.field("health.block_age_max_s", health, &H::block_age_max_s, live);
    d.field("health.failback_hold_ms", health, &H::failback_hold_ms, live);

    using E = EngineConfig;
    auto engine = &Config::engine;
    d.field("engine.fcu_majority", engine, &E::fcu_majority, live);
    d.field("engine.timeout_ms", engine, &E::timeout_ms, live);
    d.field("engine.eth_timeout_ms", engine, &E::eth_timeout_ms, live);
    d.field("engine.verify_block_hash", engine, &E::verify_block_hash, live);
    d.field("engine.poll_us", engine, &E::poll_us, live);
    d.field("engine.strict_payload_fields", engine, &E::strict_payload_fields, restart);
    d.field("engine.payload_id_lifetime_s", engine, &E::payload_id_lifetime_s, restart);
    d.field("engine.payload_ids_max", engine, &E::payload_ids_max, restart);

    using A = AdminConfig;
    auto admin = &Config::admin;
    d.field("admin.listen", admin, &A::listen, restart);
    d.field("admin.token_file", admin, &A::token_file, restart);
    d.field("admin.protect_reads", admin, &A::protect_reads, restart);
    d.field("admin.secrets_dir", admin, &A::secrets_dir, restart);

    using S = SyncConfig;
    auto sync = &Config::sync;
    d.field("sync.best_stale_ms", sync, &S::best_stale_ms, live);
    d.field("sync.future_slack_s", sync, &S::future_slack_s, live);
    d.field("sync.trusted_proxies", sync, &S::trusted_proxies, live);
    d.field("sync.proxies", sync, &S::proxies, restart);
    d.field("sync.proxy_request_timeout_ms", sync, &S::proxy_request_timeout_ms, restart);
    d.field("sync.dedup_window_ms", sync, &S::dedup_window_ms, live);
    // Each listed client's verifier is built at start (its secret file read then).
    d.field("sync.clients", sync, &S::clients, restart);

    // The builder role's ELs and settings are read at start; a token may be inline: not shown.
    if (!(running.builder == next.builder))
        d.out.restart_only.push_back("[l2], [[builders]] or [builder] (changed; not shown)");

    // The rpc listener's settings are read when its shard starts (its keys, its budgets).
    using R = RpcConfig;
    auto rpc = &Config::rpc;
    d.field("rpc.listen", rpc, &R::listen, restart);
    d.field("rpc.allow_methods", rpc, &R::allow_methods, restart);
    d.field("rpc.api_keys_file", rpc, &R::api_keys_file, restart);
    d.field("rpc.trusted_proxies", rpc, &R::trusted_proxies, restart);
    d.field("rpc.max_head_lag_blocks", rpc, &R::max_head_lag_blocks, restart);
    d.field("rpc.response_bytes_max", rpc, &R::response_bytes_max, restart);
    d.field("rpc.max_logs_block_range", rpc, &R::max_logs_block_range, restart);
    d.field("rpc.logs_split", rpc, &R::logs_split, restart);
    d.field("rpc.logs_split_pieces_max", rpc, &R::logs_split_pieces_max, restart);
    d.field("rpc.sticky", rpc, &R::sticky, restart);
    d.field("rpc.sticky_clients_max", rpc, &R::sticky_clients_max, restart);
    d.field("rpc.hedge_max_ratio", rpc, &R::hedge_max_ratio, restart);
    d.field("rpc.shadow_ratio", rpc, &R::shadow_ratio, restart);
    d.field("rpc.breaker_failures", rpc, &R::breaker_failures, restart);
    d.field("rpc.breaker_window_ms", rpc, &R::breaker_window_ms, restart);
    d.field("rpc.breaker_cooldown_ms", rpc, &R::breaker_cooldown_ms, restart);
    d.field("rpc.cache_bytes_max", rpc, &R::cache_bytes_max, restart);
    d.field("rpc.method_timeouts_ms.default", rpc, &R::default_timeout_ms, restart);
    d.field("rpc.method_timeouts_ms", rpc, &R::method_timeouts, restart);
    d.field("rpc.agree", rpc, &R::agree, restart);
    d.compare("rpc.limits.client_rps", running.rpc.limits.client_rps, next.rpc.limits.client_rps,
              restart);
    d.compare("rpc.limits.client_burst", running.rpc.limits.client_burst,
              next.rpc.limits.client_burst, restart);
    d.compare("rpc.limits.client_concurrency", running.rpc.limits.client_concurrency,
              next.rpc.limits.client_concurrency, restart);
    d.compare("rpc.limits.key_rps", running.rpc.limits.key_rps, next.rpc.limits.key_rps, restart);
    d.compare("rpc.limits.key_burst", running.rpc.limits.key_burst, next.rpc.limits.key_burst,
              restart);
    // [rpc.ws]: read when the rpc listener's shard starts.
    const RpcWsSettings& ws_now = running.rpc.ws;
    const RpcWsSettings& ws_next = next.rpc.ws;
    d.compare("rpc.ws.send_queue_bytes", ws_now.send_queue_bytes, ws_next.send_queue_bytes,
              restart);
    d.compare("rpc.ws.close_linger_ms", ws_now.close_linger_ms, ws_next.close_linger_ms, restart);
    d.compare("rpc.ws.connections_max", ws_now.connections_max, ws_next.connections_max, restart);
    d.compare("rpc.ws.subscriptions_per_connection_max", ws_now.subscriptions_per_connection_max,
              ws_next.subscriptions_per_connection_max, restart);
    d.compare("rpc.ws.message_bytes_max", ws_now.message_bytes_max, ws_next.message_bytes_max,
              restart);
    d.compare("rpc.ws.grown_buffers_bytes_max", ws_now.grown_buffers_bytes_max,
              ws_next.grown_buffers_bytes_max, restart);
    // The Redis client is made when the rpc listener's shard starts.
    // The URL may hold a password: say that it changed, never what it says.
    if (running.rpc.redis.url != next.rpc.redis.url)
        d.out.restart_only.push_back("rpc.redis.url (changed; not shown: it may hold a password)");
    d.compare("rpc.redis.timeout_ms", running.rpc.redis.timeout_ms, next.rpc.redis.timeout_ms,
              restart);
    d.compare("rpc.redis.key_prefix", running.rpc.redis.key_prefix, next.rpc.redis.key_prefix,
              restart);
    return std::move(d.out);
}

std::string join(const std::vector<std::string>& parts, const char* separator) {
    std::string out;
    for (const std::string& p : parts) {
        if (!out.empty()) out += separator;
        out += p;
    }
    return out;
}

}  // namespace em::app
