#include "app/config.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>

#include <toml++/toml.h>
#include <CLI/CLI.hpp>

#include "app/builder_flags.h"
#include "app/toml_values.h"
#include "base/name.h"
#include "io/ip.h"
#include "pipeline/sync_board.h"
#include "redis/client.h"

namespace em::app {

namespace {

Result<uint64_t> parse_u64(std::string_view text, std::string_view what) {
    uint64_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size())
        return failf(Errc::invalid_input, "%.*s: '%.*s' is not a non-negative integer",
                     static_cast<int>(what.size()), what.data(), static_cast<int>(text.size()),
                     text.data());
    return v;
}

bool starts_with(std::string_view s, std::string_view p) {
    return s.substr(0, p.size()) == p;
}

}  // namespace

Result<void> parse_node_url(std::string_view url, NodeConfig& node) {
    std::string_view rest;
    if (starts_with(url, "http://")) {
        node.tls = false;
        rest = url.substr(7);
    } else if (starts_with(url, "https://")) {
        node.tls = true;
        rest = url.substr(8);
    } else {
        return failf(Errc::invalid_input, "node URL '%.*s' must start with http:// or https://",
                     static_cast<int>(url.size()), url.data());
    }
    size_t slash = rest.find('/');
    std::string_view authority = rest.substr(0, slash);
    node.path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
    if (authority.empty())
        return failf(Errc::invalid_input, "node URL '%.*s' has no host",
                     static_cast<int>(url.size()), url.data());
    size_t colon = authority.rfind(':');
    bool bracketed = !authority.empty() && authority.front() == '[';
    size_t close = authority.find(']');
    if (colon != std::string_view::npos &&
        (!bracketed || (close != std::string_view::npos && colon > close))) {
        auto port = parse_u64(authority.substr(colon + 1), "node URL port");
        if (!port || *port == 0 || *port > 65535)
            return failf(Errc::invalid_input, "node URL '%.*s': port must be 1..65535",
                         static_cast<int>(url.size()), url.data());
        node.port = static_cast<uint16_t>(*port);
        node.host = std::string(authority.substr(0, colon));
    } else {
        node.port = node.tls ? 443 : 80;
        node.host = std::string(authority);
    }
    if (node.host.size() >= 2 && node.host.front() == '[' && node.host.back() == ']')
        node.host = node.host.substr(1, node.host.size() - 2);
    if (node.host.empty())
        return failf(Errc::invalid_input, "node URL '%.*s' has no host",
                     static_cast<int>(url.size()), url.data());
    node.url = std::string(url);
    return {};
}

Result<void> parse_ws_url(std::string_view url, NodeConfig& node) {
    int n = static_cast<int>(std::min<size_t>(url.size(), 200));
    if (starts_with(url, "wss://")) {
        return failf(Errc::unsupported,
                     "ws_url '%.*s': wss:// is not supported yet (use ws:// on a trusted network)",
                     n, url.data());
    }
    if (!starts_with(url, "ws://")) {
        return failf(Errc::invalid_input, "ws_url '%.*s' must start with ws://", n, url.data());
    }
    NodeConfig parsed;
    auto ok = parse_node_url("http://" + std::string(url.substr(5)), parsed);
    if (!ok) return Unexpected(ok.error().prefix("ws_url"));
    node.ws_url = std::string(url);
    node.ws_host = parsed.host;
    node.ws_port = parsed.port;
    node.ws_path = parsed.path;
    return {};
}

Result<NodeConfig> parse_node_spec(std::string_view spec) {
    NodeConfig node;
    size_t hash = spec.find('#');
    EM_TRY_VOID(parse_node_url(spec.substr(0, hash), node));
    while (hash != std::string_view::npos) {
        size_t next = spec.find('#', hash + 1);
        std::string_view option =
            spec.substr(hash + 1, next == std::string_view::npos ? next : next - hash - 1);
        hash = next;
        size_t eq = option.find('=');
        std::string_view key = option.substr(0, eq);
        std::string_view value =
            eq == std::string_view::npos ? std::string_view() : option.substr(eq + 1);
        if (key == "jwt-secret" && eq != std::string_view::npos && !value.empty()) {
            node.jwt_secret_path = std::string(value);
        } else if (key == "timeout" && eq != std::string_view::npos) {
            auto ms = parse_u64(value, "node #timeout");
            if (!ms || *ms == 0 || *ms > 600'000)
                return failf(Errc::invalid_input, "node '%.*s': #timeout=%.*s must be 1..600000 ms",
                             static_cast<int>(spec.size()), spec.data(),
                             static_cast<int>(value.size()), value.data());
            node.timeout_ms = static_cast<uint32_t>(*ms);
        } else if (key == "ws" && !value.empty()) {
            EM_TRY_VOID(parse_ws_url(value, node));
        } else if (key == "do-not-use" && eq == std::string_view::npos) {
            node.role = NodeRole::mirror;
        } else if (key == "name" && !value.empty()) {
            if (auto ok = check_name(value); !ok)
                return Unexpected(ok.error().prefix("node #name="));
            node.name = std::string(value);
        } else {
            return failf(Errc::invalid_input,
                         "node '%.*s': unknown option '#%.*s' (known: #jwt-secret=PATH, "
                         "#timeout=MS, #do-not-use, #name=NAME, #ws=URL)",
                         static_cast<int>(spec.size()), spec.data(),
                         static_cast<int>(option.size()), option.data());
        }
    }
    return node;
}

Result<std::vector<std::string>> parse_api_keys(std::string_view text) {
    std::vector<std::string> keys;
    std::set<std::string_view> seen;
    size_t line = 0;
    while (!text.empty()) {
        size_t nl = text.find('\n');
        std::string_view key = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
        line++;
        while (!key.empty() && (key.back() == '\r' || key.back() == ' ' || key.back() == '\t'))
            key.remove_suffix(1);
        while (!key.empty() && (key.front() == ' ' || key.front() == '\t')) key.remove_prefix(1);
        if (key.empty() || key.front() == '#') continue;
        if (key.size() < 8 || key.size() > 256)
            return failf(Errc::invalid_input, "line %zu: a key must be 8..256 characters (%zu)",
                         line, key.size());
        for (size_t i = 0; i < key.size(); i++) {
            char c = key[i];
            bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '_' || c == '~' || c == '+' || c == '/' || c == '=' ||
                      c == '-';
            if (!ok)
                return failf(Errc::invalid_input,
                             "line %zu: character 0x%02x at offset %zu is not allowed in a key",
                             line, static_cast<unsigned>(static_cast<unsigned char>(c)), i);
        }
        if (!seen.insert(key).second)
            return failf(Errc::invalid_input, "line %zu: the same key is listed twice", line);
        keys.emplace_back(key);
    }
    if (keys.empty()) return fail(Errc::invalid_input, "holds no key (one key a line)");
    return keys;
}

Result<std::vector<std::string>> read_api_keys(const std::string& path) {
    FILE* f = std::fopen(path.c_str(), "rb");
    if (!f)
        return failf(Errc::invalid_input, "[rpc] api_keys_file %s: %s", path.c_str(),
                     std::strerror(errno));
    std::string text;
    char buffer[8192];
    size_t n;
    while ((n = std::fread(buffer, 1, sizeof buffer, f)) > 0 && text.size() <= (1u << 20))
        text.append(buffer, n);
    std::fclose(f);
    if (text.size() > (1u << 20))
        return failf(Errc::invalid_input, "[rpc] api_keys_file %s: larger than 1 MiB",
                     path.c_str());
    auto keys = parse_api_keys(text);
    if (!keys) return Unexpected(keys.error().prefix("[rpc] api_keys_file " + path));
    return keys;
}

std::string usage_text() {
    return "enginemux — one consensus client, several execution clients, one safe answer\n"
           "\n"
           "usage: enginemux [flags]                 run the daemon (mux, sync, rpc or builder)\n"
           "       enginemux blockhash [FILE|-]      check newPayload block hashes\n"
           "       enginemux check-config FILE       validate a config file\n"
           "       enginemux tune --check|--apply P  kernel tuning profiles\n"
           "       enginemux payload-example [--help] synthetic newPayload requests\n"
           "       enginemux validator --config F    CometBFT validator guard "
           "(status|promote|demote)\n"
           "       enginemux top [--admin A:P] [--once]  live view of a running daemon (--help)\n"
           "       enginemux tokens-service --config F  JWTs for nginx auth_request (--help)\n"
           "       enginemux builder set-execution-mode MODE | get-execution-mode  (--help)\n"
           "       enginemux --version               version, build and detected features\n"
           "\n"
           "flags (executionbackup-compatible first; a flag overrides --config):\n"
           "  --role mux|sync|rpc|builder  mux: one CL (default); sync: several CLs, ELs follow\n"
           "                         the best (highest timestamp); settings in [sync]:\n"
           "                         best_stale_ms, future_slack_s, trusted_proxies,\n"
           "                         dedup_window_ms, [[sync.clients]] name + jwt_secret;\n"
           "                         rpc: only the public eth_* listener ([rpc]), on\n"
           "                         [rpc] listen or else --listen-addr/--port\n"
           "  --rpc-listen A:P       the public eth_* JSON-RPC listener beside the mux or sync\n"
           "                         role (no JWT; keys, limits, cache in [rpc])\n"
           "  --nodes URL[#jwt-secret=PATH][#timeout=MS][#do-not-use][#name=N][#ws=URL],...\n"
           "                         execution clients' authrpc URLs (http:// or https://)\n"
           "  --jwt-secret PATH      the CL's JWT secret (also used for nodes without one)\n"
           "  --port N               listen port for the CL (default 7000; 0 = any free port)\n"
           "  --listen-addr ADDR     listen address (default 127.0.0.1)\n"
           "  --timeout MS           cap on every node's deadline (default: spec timeouts)\n"
           "  --eth-timeout MS       deadline of one attempt of an eth_* call (1000); a read\n"
           "                         is then asked of the next node\n"
           "  --fcu-majority Q       vote quorum, fraction of answering voters (default 0.6)\n"
           "  --log-level L          error|warn|info|debug (default info)\n"
           "  --log-format F         text|json: json is one object per line with ts, level,\n"
           "                         msg and fields such as node, method, answer (default text)\n"
           "  --node-timings         log each node's probe latency\n"
           "  --config FILE.toml     every setting (see /etc/enginemux/enginemux.toml)\n"
           "  --shards N             shard threads (default cores-1, at least 1)\n"
           "  --tls-ca-file PEM      CA certificates for https:// nodes (default: system store)\n"
           "  --spin-us N            the engine shard polls N us after each event before it\n"
           "                         sleeps (default 0; spends its core to skip wake-ups)\n"
           "  --admin-listen A:P     admin API address (default 127.0.0.1:9551, '' = off)\n"
           "  --admin-token-file F   the admin API's bearer token; without it POST and DELETE\n"
           "                         (add/remove nodes, recheck, reload) are refused with 403\n"
           "  --admin-protect-reads  GET on the admin API needs the token too (default: open)\n"
           "  --admin-secrets-dir D  #jwt-secret= files of nodes added through the admin API\n"
           "                         must lie under D (default /etc/enginemux)\n"
           "\n"
           "sync role (--role sync), flashbots sync-proxy's flags (one dash works too):\n"
           "  --addr HOST:PORT       listen address (default 127.0.0.1:25590 in this role)\n"
           "  --builders URL,...     the ELs, as --nodes (#jwt-secret=, #timeout=, #name=)\n"
           "  --request-timeout MS   cap on every EL's deadline (default 2000 in this role)\n"
           "  --proxies URL[#jwt-secret=PATH][#name=N],...  mirror every engine call to\n"
           "                         other proxies, fire-and-forget (failures counted)\n"
           "  --proxy-request-timeout MS  deadline of a mirrored call (default 2000)\n"
           "  --loglevel L           as --log-level\n"
           "  --json                 JSON log lines (as --log-format json)\n"
           "\n"
           "builder role (--role builder: an OP Stack sidecar, rollup-boost's flags; each has\n"
           "its environment variable, e.g. L2_URL, BUILDER_URL=URL,URL; settings in [l2],\n"
           "[[builders]] and [builder]; README, \"Builder role\"):\n"
           "  --l2-url URL           the sequencer's own EL (authrpc)\n"
           "  --l2-jwt-path PATH | --l2-jwt-token HEX   its JWT secret (also op-node's)\n"
           "  --l2-timeout MS        its calls' deadline (1000)\n"
           "  --builder-url URL[#name=N]   a builder (repeatable, or a comma list)\n"
           "  --builder-jwt-path P | --builder-jwt-token HEX | --builder-timeout MS\n"
           "                         once (shared) or once per --builder-url (paired)\n"
           "  --rpc-host H --rpc-port N   where op-node connects (127.0.0.1:8081)\n"
           "  --execution-mode M     enabled|dry-run|disabled (enabled)\n"
           "  --block-selection-policy P  gas-used|block-value|priority (gas-used)\n"
           "  --get-payload-deadline-ms MS  getPayload's one deadline (500, at most 1000)\n"
           "  --max-unsafe-interval S  /healthz: the local EL's answers older than S: 503 (10)\n"
           "  --debug-host H --debug-server-port N  debug_setExecutionMode (127.0.0.1:5555)\n"
           "  -h, --help             this text\n"
           "\n"
           "signals: SIGTERM/SIGINT drain in-flight requests and exit; SIGHUP re-reads the\n"
           "configuration and applies what can change live (nodes, secrets, log level, health,\n"
           "quorum and deadlines), or refuses it whole and says why.\n";
}

namespace {

constexpr uint32_t spin_us_max = 60'000'000;  // a minute: longer than any slot

// --- TOML -----------------------------------------------------------------------------------

}  // namespace

// The TOML helpers (app/toml_values.h), shared with app/builder_config.cpp.
Result<void> toml_string(const toml::node& node, std::string_view key, std::string& out) {
    auto s = node.value<std::string>();
    if (!s || !node.is_string())
        return failf(Errc::invalid_input, "%.*s: expected a string", static_cast<int>(key.size()),
                     key.data());
    out = *s;
    return {};
}

Result<void> toml_bool(const toml::node& node, std::string_view key, bool& out) {
    if (!node.is_boolean())
        return failf(Errc::invalid_input, "%.*s: expected true or false",
                     static_cast<int>(key.size()), key.data());
    out = *node.value<bool>();
    return {};
}

Result<void> unknown_key(std::string_view table, std::string_view key) {
    return failf(Errc::invalid_input, "unknown setting '%.*s%s%.*s'",
                 static_cast<int>(table.size()), table.data(), table.empty() ? "" : ".",
                 static_cast<int>(key.size()), key.data());
}

namespace {

Result<void> load_limits(const toml::table& t, LimitsConfig& l) {
    for (auto&& [k, v] : t) {
        std::string_view key = k.str();
        std::string full = "limits." + std::string(key);
        if (key == "body_bytes_max")
            EM_TRY_VOID(toml_number(v, full, l.body_bytes_max, 1024, 1u << 30));
        else if (key == "buffered_body_bytes_max")
            EM_TRY_VOID(toml_number(v, full, l.buffered_body_bytes_max, 1024, 1ull << 40));
        else if (key == "header_bytes_max")
            EM_TRY_VOID(toml_number(v, full, l.header_bytes_max, 1024, 1u << 20));
        else if (key == "connections_max")
            EM_TRY_VOID(toml_number(v, full, l.connections_max, 1, 1'000'000));
        else if (key == "batch_entries_max")
            EM_TRY_VOID(toml_number(v, full, l.batch_entries_max, 1, 100'000));
        else if (key == "in_flight_max")
            EM_TRY_VOID(toml_number(v, full, l.in_flight_max, 1, 1'000'000));
        else if (key == "upstream_connections_max")
            EM_TRY_VOID(toml_number(v, full, l.upstream_connections_max, 1, 10'000));
        else if (key == "header_timeout_ms")
            EM_TRY_VOID(toml_number(v, full, l.header_timeout_ms, 1, 3'600'000));
        else if (key == "body_timeout_ms")
            EM_TRY_VOID(toml_number(v, full, l.body_timeout_ms, 1, 3'600'000));
        else if (key == "body_rate_min_bytes_s")
            EM_TRY_VOID(toml_number(v, full, l.body_rate_min_bytes_s, 0, 1u << 30));
        else if (key == "idle_timeout_ms")
            EM_TRY_VOID(toml_number(v, full, l.idle_timeout_ms, 1, 86'400'000));
        else if (key == "connect_timeout_ms")
            EM_TRY_VOID(toml_number(v, full, l.connect_timeout_ms, 1, 600'000));
        else if (key == "lane_queue_max")
            EM_TRY_VOID(toml_number(v, full, l.lane_queue_max, 1, 100'000));
        else if (key == "shutdown_drain_ms")
            EM_TRY_VOID(toml_number(v, full, l.shutdown_drain_ms, 0, 600'000));
        else
            return unknown_key("limits", key);
    }
    return {};
}

Result<void> load_health(const toml::table& t, HealthConfig& h) {
    for (auto&& [k, v] : t) {
        std::string_view key = k.str();
        std::string full = "health." + std::string(key);
        if (key == "interval_ms")
            EM_TRY_VOID(toml_number(v, full, h.interval_ms, 100, 3'600'000));
        else if (key == "timeout_ms")
            EM_TRY_VOID(toml_number(v, full, h.timeout_ms, 10, 600'000));
        else if (key == "block_age_max_s")
            EM_TRY_VOID(toml_number(v, full, h.block_age_max_s, 0, 86'400));
        else if (key == "failback_hold_ms")
            EM_TRY_VOID(toml_number(v, full, h.failback_hold_ms, 0, 3'600'000));
        else
            return unknown_key("health", key);
    }
    return {};
}

Result<void> load_engine(const toml::table& t, EngineConfig& e) {
    for (auto&& [k, v] : t) {
        std::string_view key = k.str();
        std::string full = "engine." + std::string(key);
        if (key == "fcu_majority")
            EM_TRY_VOID(toml_number(v, full, e.fcu_majority, 0.0, 1.0));
        else if (key == "timeout_ms")
            EM_TRY_VOID(toml_number(v, full, e.timeout_ms, 0, 600'000));
        else if (key == "eth_timeout_ms")
            EM_TRY_VOID(toml_number(v, full, e.eth_timeout_ms, 10, 600'000));
        else if (key == "verify_block_hash")
            EM_TRY_VOID(toml_bool(v, full, e.verify_block_hash));
        else if (key == "poll_us")
            EM_TRY_VOID(toml_number(v, full, e.poll_us, 0, 1'000'000));
        else if (key == "strict_payload_fields")
            EM_TRY_VOID(toml_bool(v, full, e.strict_payload_fields));
        else if (key == "payload_id_lifetime_s")
            EM_TRY_VOID(toml_number(v, full, e.payload_id_lifetime_s, 1, 3600));
        else if (key == "payload_ids_max")
            EM_TRY_VOID(toml_number(v, full, e.payload_ids_max, 1, 100'000));
        else
            return unknown_key("engine", key);
    }
    return {};
}

Result<void> load_admin(const toml::table& t, AdminConfig& a) {
    for (auto&& [k, v] : t) {
        std::string_view key = k.str();
        std::string full = "admin." + std::string(key);
        if (key == "listen")
            EM_TRY_VOID(toml_string(v, full, a.listen));
        else if (key == "token_file")
            EM_TRY_VOID(toml_string(v, full, a.token_file));
        else if (key == "protect_reads")
            EM_TRY_VOID(toml_bool(v, full, a.protect_reads));
        else if (key == "secrets_dir")
            EM_TRY_VOID(toml_string(v, full, a.secrets_dir));
        else
            return unknown_key("admin", key);
    }
    return {};
}

}  // namespace

Result<void> toml_strings(const toml::node& node, std::string_view key,
                          std::vector<std::string>& out) {
    if (!node.is_array())
        return failf(Errc::invalid_input, "%.*s: expected an array of strings",
                     static_cast<int>(key.size()), key.data());
    out.clear();
    for (auto&& element : *node.as_array()) {
        std::string text;
        std::string where = std::string(key) + "[" + std::to_string(out.size()) + "]";
        EM_TRY_VOID(toml_string(element, where, text));
        out.push_back(std::move(text));
    }
    return {};
}

namespace {

Result<void> load_sync_client(const toml::table& t, size_t index, SyncClientConfig& c) {
    std::string where = "sync.clients[" + std::to_string(index) + "]";
    for (auto&& [k, v] : t) {
        std::string_view key = k.str();
        std::string full = where + "." + std::string(key);
        if (key == "name") {
            EM_TRY_VOID(toml_string(v, full, c.name));
            if (auto ok = check_name(c.name); !ok) return Unexpected(ok.error().prefix(full));
        } else if (key == "jwt_secret") {
            EM_TRY_VOID(toml_string(v, full, c.jwt_secret_path));
        } else {
            return unknown_key(where, key);
        }
    }
    if (c.name.empty() || c.jwt_secret_path.empty())
        return failf(Errc::invalid_input, "%s: name and jwt_secret are required", where.c_str());
    return {};
}

Result<void> load_sync(const toml::table& t, SyncConfig& s) {
    for (auto&& [k, v] : t) {
        std::string_view key = k.str();
        std::string full = "sync." + std::string(key);
        if (key == "best_stale_ms")
            EM_TRY_VOID(toml_number(v, full, s.best_stale_ms, 100, 3'600'000));
        else if (key == "future_slack_s")
            EM_TRY_VOID(toml_number(v, full, s.future_slack_s, 0, 86'400));
        else if (key == "trusted_proxies")
            EM_TRY_VOID(toml_strings(v, full, s.trusted_proxies));
        else if (key == "proxies")
            EM_TRY_VOID(toml_strings(v, full, s.proxies));
        else if (key == "proxy_request_timeout_ms")
            EM_TRY_VOID(toml_number(v, full, s.proxy_request_timeout_ms, 1, 600'000));
        else if (key == "dedup_window_ms")
            EM_TRY_VOID(toml_number(v, full, s.dedup_window_ms, 0, 3'600'000));
        else if (key == "clients" && v.is_array_of_tables()) {
            s.clients.clear();
            for (auto&& element : *v.as_array()) {
                SyncClientConfig c;
                EM_TRY_VOID(load_sync_client(*element.as_table(), s.clients.size(), c));
                s.clients.push_back(std::move(c));
            }
        } else
            return unknown_key("sync", key);
    }
    return {};
}

Result<void> load_rpc_limits(const toml::table& t, RpcLimitsConfig& l) {
    for (auto&& [k, v] : t) {
        std::string_view key = k.str();
        std::string full = "rpc.limits." + std::string(key);
        if (key == "client_rps")
            EM_TRY_VOID(toml_number(v, full, l.client_rps, 0, 1e9));
        else if (key == "client_burst")
            EM_TRY_VOID(toml_number(v, full, l.client_burst, 0, 1e9));
        else if (key == "client_concurrency")
            EM_TRY_VOID(toml_number(v, full, l.client_concurrency, 0, 1'000'000));
        else if (key == "key_rps")
            EM_TRY_VOID(toml_number(v, full, l.key_rps, 0, 1e9));
        else if (key == "key_burst")
            EM_TRY_VOID(toml_number(v, full, l.key_burst, 0, 1e9));
        else
            return unknown_key("rpc.limits", key);
    }
    return {};
}

Result<void> load_rpc_redis(const toml::table& t, RpcRedisConfig& r) {
    for (auto&& [k, v] : t) {
        std::string_view key = k.str();
        std::string full = "rpc.redis." + std::string(key);
        if (key == "url")
            EM_TRY_VOID(toml_string(v, full, r.url));
        else if (key == "timeout_ms")
            EM_TRY_VOID(toml_number(v, full, r.timeout_ms, 1, 60'000));
        else if (key == "key_prefix")
            EM_TRY_VOID(toml_string(v, full, r.key_prefix));
        else
            return unknown_key("rpc.redis", key);
    }
    return {};
}

Result<void> load_rpc_ws(const toml::table& t, RpcWsSettings& w) {
    for (auto&& [k, v] : t) {
        std::string_view key = k.str();
        std::string full = "rpc.ws." + std::string(key);
        if (key == "send_queue_bytes")
            EM_TRY_VOID(toml_number(v, full, w.send_queue_bytes, 4096, 1ull << 30));
        else if (key == "close_linger_ms")
            EM_TRY_VOID(toml_number(v, full, w.close_linger_ms, 0, 60'000));
        else if (key == "connections_max")
            EM_TRY_VOID(toml_number(v, full, w.connections_max, 1, 1'000'000));
        else if (key == "subscriptions_per_connection_max")
            EM_TRY_VOID(toml_number(v, full, w.subscriptions_per_connection_max, 1, 100'000));
        else if (key == "message_bytes_max")
            EM_TRY_VOID(toml_number(v, full, w.message_bytes_max, 0, 1ull << 30));
        else if (key == "grown_buffers_bytes_max")
            EM_TRY_VOID(toml_number(v, full, w.grown_buffers_bytes_max, 0, 1ull << 40));
        else
            return unknown_key("rpc.ws", key);
    }
    return {};
}

Result<void> load_rpc_timeouts(const toml::table& t, RpcConfig& r) {
    r.method_timeouts.clear();
    for (auto&& [k, v] : t) {
        std::string_view key = k.str();
        std::string full = "rpc.method_timeouts_ms." + std::string(key);
        uint32_t ms = 0;
        EM_TRY_VOID(toml_number(v, full, ms, 1, 600'000));
        if (key == "default")
            r.default_timeout_ms = ms;
        else
            r.method_timeouts.push_back({std::string(key), ms});
    }
    return {};
}

/// Methods `agree` cannot apply to: writes, filters (one node holds a filter) and eth_getLogs'
/// splitting (its pieces go to different nodes by design).
bool agree_refused(std::string_view method) {
    return method == "eth_sendRawTransaction" || method == "eth_sendTransaction" ||
           method.starts_with("eth_newFilter") || method == "eth_newBlockFilter" ||
           method == "eth_newPendingTransactionFilter" || method == "eth_getFilterChanges" ||
           method == "eth_getFilterLogs" || method == "eth_uninstallFilter" ||
           method == "eth_subscribe" || method == "eth_unsubscribe";
}

Result<void> load_rpc_agree(const toml::table& t, RpcConfig& r) {
    r.agree.clear();
    for (auto&& [k, v] : t) {
        std::string_view key = k.str();
        std::string full = "rpc.agree." + std::string(key);
        uint32_t nodes = 0;
        EM_TRY_VOID(toml_number(v, full, nodes, 1, 8));
        if (key.empty() || key.size() > 128)
            return fail(Errc::invalid_input,
                        "[rpc.agree]: a method name is empty or longer than 128 characters");
        if (agree_refused(key))
            return failf(Errc::invalid_input,
                         "[rpc.agree] %.*s: only reads can be agreed on (not sends, filters or "
                         "subscriptions)",
                         static_cast<int>(key.size()), key.data());
        if (nodes > 1) r.agree.push_back({std::string(key), nodes});
    }
    return {};
}

// tidy: long because it is one flat list of the [rpc] keys
Result<void> load_rpc(const toml::table& t, RpcConfig& r) {
    for (auto&& [k, v] : t) {
        std::string_view key = k.str();
        std::string full = "rpc." + std::string(key);
        if (key == "listen") {
            EM_TRY_VOID(toml_string(v, full, r.listen));
        } else if (key == "allow_methods") {
            // [] is the default (the read-only methods), as is leaving the key out.
            EM_TRY_VOID(toml_strings(v, full, r.allow_methods));
        } else if (key == "api_keys_file") {
            EM_TRY_VOID(toml_string(v, full, r.api_keys_file));
        } else if (key == "trusted_proxies") {
            EM_TRY_VOID(toml_strings(v, full, r.trusted_proxies));
        } else if (key == "max_head_lag_blocks") {
            EM_TRY_VOID(toml_number(v, full, r.max_head_lag_blocks, 0, 1'000'000));
        } else if (key == "response_bytes_max") {
            EM_TRY_VOID(toml_number(v, full, r.response_bytes_max, 1024, 64u << 20));
        } else if (key == "max_logs_block_range") {
            EM_TRY_VOID(toml_number(v, full, r.max_logs_block_range, 0, 1e12));
        } else if (key == "logs_split") {
            EM_TRY_VOID(toml_bool(v, full, r.logs_split));
        } else if (key == "logs_split_pieces_max") {
            EM_TRY_VOID(toml_number(v, full, r.logs_split_pieces_max, 1, 1024));
        } else if (key == "sticky") {
            EM_TRY_VOID(toml_string(v, full, r.sticky));
            if (r.sticky != "off" && r.sticky != "key" && r.sticky != "address")
                return failf(Errc::invalid_input,
                             "%s: '%s' is not off, key (by API key) or address (by client address)",
                             full.c_str(), r.sticky.c_str());
        } else if (key == "sticky_clients_max") {
            EM_TRY_VOID(toml_number(v, full, r.sticky_clients_max, 4, 1u << 24));
        } else if (key == "hedge_max_ratio") {
            EM_TRY_VOID(toml_number(v, full, r.hedge_max_ratio, 0, 1));
        } else if (key == "shadow_ratio") {
            EM_TRY_VOID(toml_number(v, full, r.shadow_ratio, 0, 1));
        } else if (key == "breaker_failures") {
            EM_TRY_VOID(toml_number(v, full, r.breaker_failures, 0, 1'000'000));
        } else if (key == "breaker_window_ms") {
            EM_TRY_VOID(toml_number(v, full, r.breaker_window_ms, 1, 3'600'000));
        } else if (key == "breaker_cooldown_ms") {
            EM_TRY_VOID(toml_number(v, full, r.breaker_cooldown_ms, 1, 3'600'000));
        } else if (key == "cache_bytes_max") {
            EM_TRY_VOID(toml_number(v, full, r.cache_bytes_max, 0, 1ull << 40));
        } else if (key == "method_timeouts_ms" && v.is_table()) {
            EM_TRY_VOID(load_rpc_timeouts(*v.as_table(), r));
        } else if (key == "agree" && v.is_table()) {
            EM_TRY_VOID(load_rpc_agree(*v.as_table(), r));
        } else if (key == "limits" && v.is_table()) {
            EM_TRY_VOID(load_rpc_limits(*v.as_table(), r.limits));
        } else if (key == "redis" && v.is_table()) {
            EM_TRY_VOID(load_rpc_redis(*v.as_table(), r.redis));
        } else if (key == "ws" && v.is_table()) {
            EM_TRY_VOID(load_rpc_ws(*v.as_table(), r.ws));
        } else {
            return unknown_key("rpc", key);
        }
    }
    return {};
}

Result<void> load_node(const toml::table& t, size_t index, NodeConfig& n) {
    char where[48];
    std::snprintf(where, sizeof where, "nodes[%zu]", index);
    bool have_url = false;
    for (auto&& [k, v] : t) {
        std::string_view key = k.str();
        std::string full = std::string(where) + "." + std::string(key);
        if (key == "url") {
            std::string url;
            EM_TRY_VOID(toml_string(v, full, url));
            auto parsed = parse_node_url(url, n);
            if (!parsed) return Unexpected(parsed.error().prefix(full));
            have_url = true;
        } else if (key == "name") {
            EM_TRY_VOID(toml_string(v, full, n.name));
            if (auto ok = check_name(n.name); !ok) return Unexpected(ok.error().prefix(full));
        } else if (key == "jwt_secret") {
            EM_TRY_VOID(toml_string(v, full, n.jwt_secret_path));
        } else if (key == "ws_url") {
            std::string url;
            EM_TRY_VOID(toml_string(v, full, url));
            auto parsed = url.empty() ? Result<void>{} : parse_ws_url(url, n);  // "" = none
            if (!parsed) return Unexpected(parsed.error().prefix(full));
        } else if (key == "timeout_ms") {
            EM_TRY_VOID(toml_number(v, full, n.timeout_ms, 0, 600'000));
        } else if (key == "role") {
            std::string role;
            EM_TRY_VOID(toml_string(v, full, role));
            if (role == "voter")
                n.role = NodeRole::voter;
            else if (role == "mirror" || role == "do-not-use")
                n.role = NodeRole::mirror;
            else
                return failf(Errc::invalid_input, "%s: role '%s' is not voter or mirror",
                             full.c_str(), role.c_str());
        } else {
            return unknown_key(where, key);
        }
    }
    if (!have_url) return failf(Errc::invalid_input, "%s: url is required", where);
    return {};
}

Result<void> load_toml(const std::string& path, Config& c) {
    toml::table root;
    try {
        root = toml::parse_file(path);
    } catch (const toml::parse_error& e) {
        const auto& where = e.source().begin;
        return failf(Errc::invalid_input, "%s:%u:%u: %.*s", path.c_str(), where.line, where.column,
                     static_cast<int>(e.description().size()), e.description().data());
    }
    c.config_path = path;
    for (auto&& [k, v] : root) {
        std::string_view key = k.str();
        std::string full(key);
        Result<void> r;
        if (key == "role")
            r = toml_string(v, full, c.role);
        else if (key == "listen_addr")
            r = toml_string(v, full, c.listen_addr);
        else if (key == "port")
            r = toml_number(v, full, c.port, 0, 65535);
        else if (key == "jwt_secret")
            r = toml_string(v, full, c.jwt_secret_path);
        else if (key == "log_level") {
            std::string text;
            r = toml_string(v, full, text);
            if (r) {
                auto level = parse_log_level(text);
                if (!level)
                    r = Unexpected(level.error());
                else
                    c.log_level = *level;
            }
        } else if (key == "log_format") {
            std::string text;
            r = toml_string(v, full, text);
            if (r) {
                auto format = parse_log_format(text);
                if (!format)
                    r = Unexpected(format.error().prefix("log_format"));
                else
                    c.log_format = *format;
            }
        } else if (key == "shards")
            r = toml_number(v, full, c.shards, 0, 1024);
        else if (key == "spin_us")
            r = toml_number(v, full, c.spin_us, 0, spin_us_max);
        else if (key == "tls_ca_file")
            r = toml_string(v, full, c.tls_ca_file);
        else if (key == "node_timings")
            r = toml_bool(v, full, c.node_timings);
        else if (key == "limits" && v.is_table())
            r = load_limits(*v.as_table(), c.limits);
        else if (key == "health" && v.is_table())
            r = load_health(*v.as_table(), c.health);
        else if (key == "engine" && v.is_table())
            r = load_engine(*v.as_table(), c.engine);
        else if (key == "admin" && v.is_table())
            r = load_admin(*v.as_table(), c.admin);
        else if (key == "sync" && v.is_table())
            r = load_sync(*v.as_table(), c.sync);
        else if (key == "rpc" && v.is_table())
            r = load_rpc(*v.as_table(), c.rpc);
        else if (auto b = load_builder_toml(key, v, c); !b || *b)  // [l2], [[builders]] ...
            r = b ? Result<void>() : Result<void>(Unexpected(b.error()));
        else if (key == "nodes" && v.is_array_of_tables()) {
            c.nodes.clear();
            size_t i = 0;
            for (auto&& element : *v.as_array()) {
                NodeConfig n;
                r = load_node(*element.as_table(), i++, n);
                if (!r) break;
                c.nodes.push_back(std::move(n));
            }
        } else
            r = unknown_key("", key);
        if (!r) return Unexpected(r.error().prefix(path));
        if (key == "listen_addr" || key == "port") c.listen_set = true;
    }
    return {};
}

Result<void> validate_admin(const AdminConfig& a) {
    if (a.protect_reads && a.token_file.empty())
        return fail(Errc::invalid_input,
                    "[admin] protect_reads = true needs a token: set [admin] token_file "
                    "(--admin-token-file)");
    if (a.secrets_dir.empty() || a.secrets_dir.front() != '/')
        return failf(Errc::invalid_input,
                     "[admin] secrets_dir '%s' must be an absolute path (default /etc/enginemux)",
                     a.secrets_dir.c_str());
    return {};
}

Result<void> validate_sync(const SyncConfig& s) {
    for (size_t i = 0; i < s.trusted_proxies.size(); i++) {
        if (auto ok = io::IpNetwork::parse(s.trusted_proxies[i]); !ok)
            return Unexpected(ok.error().prefix("[sync] trusted_proxies[" + std::to_string(i) +
                                                "] (an IP address or CIDR)"));
    }
    if (s.proxies.size() > pipeline::sync_proxies_max)
        return failf(Errc::invalid_input, "[sync] proxies: %zu proxies, at most %zu",
                     s.proxies.size(), pipeline::sync_proxies_max);
    for (size_t i = 0; i < s.proxies.size(); i++) {
        if (auto ok = parse_node_spec(s.proxies[i]); !ok)
            return Unexpected(ok.error().prefix("[sync] proxies[" + std::to_string(i) + "]"));
    }
    std::set<std::string> names;
    for (const SyncClientConfig& c : s.clients) {
        if (!names.insert(c.name).second)
            return failf(Errc::invalid_input, "[[sync.clients]]: two clients are named '%s'",
                         c.name.c_str());
    }
    return {};
}

Result<void> validate_rpc(const RpcConfig& r) {
    for (size_t i = 0; i < r.trusted_proxies.size(); i++) {
        if (auto ok = io::IpNetwork::parse(r.trusted_proxies[i]); !ok)
            return Unexpected(ok.error().prefix("[rpc] trusted_proxies[" + std::to_string(i) +
                                                "] (an IP address or CIDR)"));
    }
    for (const std::string& glob : r.allow_methods) {
        if (glob.empty() || glob.size() > 128)
            return fail(Errc::invalid_input,
                        "[rpc] allow_methods: a glob is empty or longer "
                        "than 128 characters");
    }
    for (const RpcMethodTimeout& t : r.method_timeouts) {
        if (t.method.empty() || t.method.size() > 128)
            return fail(Errc::invalid_input,
                        "[rpc.method_timeouts_ms]: a method name is empty or longer than 128 "
                        "characters");
    }
    auto finite = [](double v) { return std::isfinite(v); };
    const RpcLimitsConfig& l = r.limits;
    if (!finite(l.client_rps) || !finite(l.client_burst) || !finite(l.key_rps) ||
        !finite(l.key_burst))
        return fail(Errc::invalid_input, "[rpc.limits]: rates and bursts must be finite numbers");
    if (!r.redis.url.empty()) {
        // Parsed here (check-config); resolved when the rpc listener starts.
        if (auto url = redis::parse_url(r.redis.url); !url)
            return Unexpected(url.error().prefix("[rpc.redis] url"));
    }
    if (r.redis.key_prefix.size() > 64)
        return fail(Errc::invalid_input, "[rpc.redis] key_prefix: longer than 64 characters");
    if (!r.listen.empty() && r.listen.rfind(':') == std::string::npos)
        return failf(Errc::invalid_input,
                     "[rpc] listen '%s' is not ADDR:PORT (e.g. 127.0.0.1:8545)", r.listen.c_str());
    return {};
}

}  // namespace

Result<void> validate(Config& c) {
    if (c.role != "mux" && c.role != "sync" && c.role != "rpc" && c.role != "builder")
        return failf(Errc::invalid_input,
                     "role '%s' is not supported (supported: mux, sync, rpc, builder)",
                     c.role.c_str());
    EM_TRY_VOID(validate_rpc(c.rpc));
    // The builder role's ELs are [l2] and [[builders]]; the CL's secret defaults to the L2's.
    if (c.role == "builder") EM_TRY_VOID(validate_builder(c));
    if (c.role == "sync") {
        EM_TRY_VOID(validate_sync(c.sync));
        // sync-proxy's defaults: its port, and its request timeout as every node's deadline cap.
        if (!c.listen_set) c.port = 25590;
        if (c.engine.timeout_ms == 0) c.engine.timeout_ms = 2'000;
    }
    if (c.nodes.empty() && c.role != "builder")
        return fail(Errc::invalid_input, "no execution clients: give --nodes URL,... or [[nodes]]");
    std::set<std::string> names;
    for (size_t i = 0; i < c.nodes.size(); i++) {
        NodeConfig& n = c.nodes[i];
        if (n.name.empty()) n.name = "node" + std::to_string(i + 1);
        if (auto ok = check_name(n.name); !ok) return Unexpected(ok.error().prefix("node name"));
        if (!names.insert(n.name).second)
            return failf(Errc::invalid_input, "two nodes are named '%s'", n.name.c_str());
        if (n.jwt_secret_path.empty() && c.jwt_secret_path.empty())
            return failf(Errc::invalid_input,
                         "node %s has no JWT secret: give --jwt-secret PATH or #jwt-secret=PATH",
                         n.name.c_str());
    }
    bool any_voter = false;
    for (auto& n : c.nodes) any_voter |= n.role == NodeRole::voter;
    if (!any_voter && c.role != "builder")
        return fail(Errc::invalid_input, "every node is do-not-use: at least one must vote");
    // The rpc role alone has no consensus client (its clients need no JWT); its nodes still
    // need their secrets (checked above).
    if (c.jwt_secret_path.empty() && c.role != "rpc" && c.role != "builder")
        return fail(Errc::invalid_input,
                    "no JWT secret for the consensus client: give --jwt-secret PATH");
    if (!(c.engine.fcu_majority > 0.0 && c.engine.fcu_majority <= 1.0))
        return failf(Errc::invalid_input, "fcu-majority %g must be in (0, 1]",
                     c.engine.fcu_majority);
    if (c.limits.buffered_body_bytes_max < c.limits.body_bytes_max)
        return failf(Errc::invalid_input,
                     "[limits] buffered_body_bytes_max %llu is below body_bytes_max %llu: a "
                     "largest body could never be taken",
                     static_cast<unsigned long long>(c.limits.buffered_body_bytes_max),
                     static_cast<unsigned long long>(c.limits.body_bytes_max));
    return validate_admin(c.admin);
}

Result<Config> load_file(const std::string& path) {
    Config c;
    EM_TRY_VOID(load_toml(path, c));
    EM_TRY_VOID(validate(c));
    return c;
}

namespace {

/// Parses a comma-separated list in --nodes syntax (also --builders).
Result<void> parse_node_list(std::string_view all, std::vector<NodeConfig>& nodes) {
    nodes.clear();
    while (!all.empty()) {
        size_t comma = all.find(',');
        std::string_view one = all.substr(0, comma);
        if (!one.empty()) nodes.push_back(EM_TRY(parse_node_spec(one)));
        all = comma == std::string_view::npos ? std::string_view() : all.substr(comma + 1);
    }
    return {};
}

/// flashbots sync-proxy's flags, accepted in the sync role so that an operator's command line
/// works as it was (Go's flag package takes -name and --name alike).
struct SyncProxyFlags {
    static constexpr const char* names[] = {
        "addr",     "builders", "request-timeout", "proxies", "proxy-request-timeout",
        "loglevel", "json"};
    std::string addr, builders, proxies, loglevel;
    int64_t request_timeout = 0, proxy_timeout = 0;
    bool json = false;
    CLI::Option *o_addr = nullptr, *o_builders = nullptr, *o_request_timeout = nullptr,
                *o_proxies = nullptr, *o_proxy_timeout = nullptr, *o_loglevel = nullptr;

    void add(CLI::App& cli) {
        o_addr = cli.add_option("--addr", addr);
        o_builders = cli.add_option("--builders", builders);
        o_request_timeout = cli.add_option("--request-timeout", request_timeout);
        o_proxies = cli.add_option("--proxies", proxies);
        o_proxy_timeout = cli.add_option("--proxy-request-timeout", proxy_timeout);
        o_loglevel = cli.add_option("--loglevel", loglevel);
        cli.add_flag("--json", json);
    }
    bool any() const {
        return o_addr->count() || o_builders->count() || o_request_timeout->count() ||
               o_proxies->count() || o_proxy_timeout->count() || o_loglevel->count() || json;
    }
    [[nodiscard]] Result<void> apply(Config& c) const;
};

Result<void> SyncProxyFlags::apply(Config& c) const {
    if (any() && c.role != "sync")
        return fail(Errc::invalid_input,
                    "--addr, --builders, --proxies, --loglevel, --json... are sync-proxy's flags: "
                    "they need --role sync");
    if (o_addr->count()) {
        size_t colon = addr.rfind(':');
        auto port = colon == std::string::npos
                        ? Result<uint64_t>(fail(Errc::invalid_input, "no port"))
                        : parse_u64(std::string_view(addr).substr(colon + 1), "--addr port");
        if (!port || *port > 65535)
            return failf(Errc::invalid_input, "--addr '%s' is not HOST:PORT (e.g. 127.0.0.1:25590)",
                         addr.c_str());
        std::string host = addr.substr(0, colon);
        if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
            host = host.substr(1, host.size() - 2);
        c.listen_addr = host.empty() ? "0.0.0.0" : host;  // Go's ":25590" is every address
        c.port = static_cast<uint16_t>(*port);
        c.listen_set = true;
    }
    if (o_builders->count()) EM_TRY_VOID(parse_node_list(builders, c.nodes));
    if (o_request_timeout->count()) {
        if (request_timeout < 1 || request_timeout > 600'000)
            return failf(Errc::invalid_input, "--request-timeout %lld is not 1..600000 ms",
                         static_cast<long long>(request_timeout));
        c.engine.timeout_ms = static_cast<uint32_t>(request_timeout);
    }
    if (o_proxies->count()) {
        c.sync.proxies.clear();
        std::string_view all = proxies;
        while (!all.empty()) {
            size_t comma = all.find(',');
            if (comma != 0) c.sync.proxies.emplace_back(all.substr(0, comma));
            all = comma == std::string_view::npos ? std::string_view() : all.substr(comma + 1);
        }
    }
    if (o_proxy_timeout->count()) {
        if (proxy_timeout < 1 || proxy_timeout > 600'000)
            return failf(Errc::invalid_input, "--proxy-request-timeout %lld is not 1..600000 ms",
                         static_cast<long long>(proxy_timeout));
        c.sync.proxy_request_timeout_ms = static_cast<uint32_t>(proxy_timeout);
    }
    if (o_loglevel->count()) {
        auto level = parse_log_level(loglevel);
        if (!level) return Unexpected(level.error().prefix("--loglevel"));
        c.log_level = *level;
    }
    if (json) c.log_format = LogFormat::json;
    return {};
}

/// argv with sync-proxy's one-dash forms (-addr, -builders=URL...) written with two dashes.
std::vector<std::string> two_dash_sync_proxy_flags(int argc, const char* const* argv) {
    std::vector<std::string> args(argv, argv + argc);
    for (size_t i = 1; i < args.size(); i++) {
        std::string& a = args[i];
        if (a.size() < 2 || a[0] != '-' || a[1] == '-') continue;
        std::string_view name = std::string_view(a).substr(1, a.find('=') - 1);
        for (const char* known : SyncProxyFlags::names) {
            if (name == known) {
                a.insert(0, "-");
                break;
            }
        }
    }
    return args;
}

/// The daemon's command line: each flag's value and its option (count() > 0: it was given).
struct Flags {
    std::string role, nodes, jwt, listen_addr, log_level, log_format, config_path, admin_listen,
        admin_token, tls_ca, secrets_dir, rpc_listen;
    int64_t port = 0, timeout = 0, eth_timeout = 0, shards = 0, spin = 0;
    double majority = 0;
    bool help = false, version = false, timings = false, protect_reads = false;
    CLI::Option *o_role = nullptr, *o_nodes = nullptr, *o_jwt = nullptr, *o_port = nullptr,
                *o_addr = nullptr, *o_timeout = nullptr, *o_eth_timeout = nullptr,
                *o_majority = nullptr, *o_level = nullptr, *o_format = nullptr, *o_config = nullptr,
                *o_shards = nullptr, *o_spin = nullptr, *o_tls_ca = nullptr, *o_admin = nullptr,
                *o_token = nullptr, *o_secrets_dir = nullptr, *o_rpc_listen = nullptr;
    SyncProxyFlags sync_proxy;      ///< flashbots sync-proxy's flags (the sync role)
    RollupBoostFlags rollup_boost;  ///< rollup-boost's flags (the builder role)

    /// Declares the flags on cli, bound to these members.
    void declare(CLI::App& cli);
    /// Overrides c's settings with the flags that were given, each checked.
    [[nodiscard]] Result<void> apply(Config& c) const;
    /// The numeric flags (ranges checked).
    [[nodiscard]] Result<void> apply_numbers(Config& c) const;
};

void Flags::declare(CLI::App& cli) {
    o_role = cli.add_option("--role", role);
    o_nodes = cli.add_option("--nodes,-n", nodes);
    o_jwt = cli.add_option("--jwt-secret,-j", jwt);
    o_port = cli.add_option("--port,-p", port);
    o_addr = cli.add_option("--listen-addr", listen_addr);
    o_timeout = cli.add_option("--timeout", timeout);
    o_eth_timeout = cli.add_option("--eth-timeout", eth_timeout);
    o_majority = cli.add_option("--fcu-majority", majority);
    o_level = cli.add_option("--log-level,-l", log_level);
    o_format = cli.add_option("--log-format", log_format);
    o_config = cli.add_option("--config,-c", config_path);
    o_shards = cli.add_option("--shards", shards);
    o_spin = cli.add_option("--spin-us", spin);
    o_tls_ca = cli.add_option("--tls-ca-file", tls_ca);
    o_admin = cli.add_option("--admin-listen", admin_listen);
    o_token = cli.add_option("--admin-token-file", admin_token);
    o_secrets_dir = cli.add_option("--admin-secrets-dir", secrets_dir);
    o_rpc_listen = cli.add_option("--rpc-listen", rpc_listen);
    cli.add_flag("--admin-protect-reads", protect_reads);
    cli.add_flag("--node-timings", timings);
    cli.add_flag("--help,-h", help);
    cli.add_flag("--version,-V", version);
    sync_proxy.add(cli);
    rollup_boost.add(cli);
}

Result<void> Flags::apply_numbers(Config& c) const {
    if (o_port->count()) {
        if (port < 0 || port > 65535)
            return failf(Errc::invalid_input, "--port %lld is not 0..65535 (0: any free port)",
                         static_cast<long long>(port));
        c.port = static_cast<uint16_t>(port);
        c.listen_set = true;
    }
    if (o_timeout->count()) {
        if (timeout < 1 || timeout > 600'000)
            return failf(Errc::invalid_input, "--timeout %lld is not 1..600000 ms",
                         static_cast<long long>(timeout));
        c.engine.timeout_ms = static_cast<uint32_t>(timeout);
    }
    if (o_eth_timeout->count()) {
        if (eth_timeout < 10 || eth_timeout > 600'000) {
            return failf(Errc::invalid_input, "--eth-timeout %lld is not 10..600000 ms",
                         static_cast<long long>(eth_timeout));
        }
        c.engine.eth_timeout_ms = static_cast<uint32_t>(eth_timeout);
    }
    if (o_majority->count()) {
        if (!(majority > 0.0 && majority <= 1.0))
            return failf(Errc::invalid_input, "--fcu-majority %g must be in (0, 1], e.g. 0.6",
                         majority);
        c.engine.fcu_majority = majority;
    }
    if (o_shards->count()) {
        if (shards < 0 || shards > 1024)
            return failf(Errc::invalid_input, "--shards %lld is not 0..1024",
                         static_cast<long long>(shards));
        c.shards = static_cast<int>(shards);
    }
    if (o_spin->count()) {
        if (spin < 0 || spin > spin_us_max)
            return failf(Errc::invalid_input, "--spin-us %lld is not 0..%u (µs; 0 = sleep at once)",
                         static_cast<long long>(spin), spin_us_max);
        c.spin_us = static_cast<uint32_t>(spin);
    }
    return {};
}

Result<void> Flags::apply(Config& c) const {
    if (o_role->count()) c.role = role;
    if (o_nodes->count()) EM_TRY_VOID(parse_node_list(nodes, c.nodes));
    if (o_jwt->count()) c.jwt_secret_path = jwt;
    if (o_addr->count()) {
        c.listen_addr = listen_addr;
        c.listen_set = true;
    }
    EM_TRY_VOID(apply_numbers(c));
    if (o_level->count()) c.log_level = EM_TRY(parse_log_level(log_level));
    if (o_format->count()) {
        auto format = parse_log_format(log_format);
        if (!format) return Unexpected(format.error().prefix("--log-format"));
        c.log_format = *format;
    }
    if (o_tls_ca->count()) c.tls_ca_file = tls_ca;
    if (o_admin->count()) c.admin.listen = admin_listen;
    if (o_token->count()) c.admin.token_file = admin_token;
    if (o_secrets_dir->count()) c.admin.secrets_dir = secrets_dir;
    if (o_rpc_listen->count()) c.rpc.listen = rpc_listen;
    if (protect_reads) c.admin.protect_reads = true;
    if (timings) c.node_timings = true;
    return sync_proxy.apply(c);
}

}  // namespace

const char* environment(const char* name) {
    return std::getenv(name);  // NOLINT(concurrency-mt-unsafe): start-up and reload only
}

Result<LoadOutcome> load(int argc, const char* const* argv, Config& out,
                         const char* (*env)(const char*)) {
    CLI::App cli("enginemux", "enginemux");
    cli.set_help_flag();  // we print our own usage
    Flags flags;
    flags.declare(cli);
    std::vector<std::string> args = two_dash_sync_proxy_flags(argc, argv);
    std::vector<const char*> arg_pointers;
    arg_pointers.reserve(args.size());
    for (const std::string& a : args) arg_pointers.push_back(a.c_str());
    try {
        cli.parse(static_cast<int>(arg_pointers.size()), arg_pointers.data());
    } catch (const CLI::ParseError& e) {
        return failf(Errc::invalid_input, "%s (see enginemux --help)", e.what());
    }
    if (flags.help) return LoadOutcome::help;
    if (flags.version) return LoadOutcome::version;

    Config c;
    if (flags.o_config->count()) EM_TRY_VOID(load_toml(flags.config_path, c));
    EM_TRY_VOID(flags.apply(c));
    GivenFlags given{flags.o_addr->count() || flags.o_port->count(), flags.o_level->count() > 0,
                     flags.o_format->count() > 0};
    EM_TRY_VOID(flags.rollup_boost.apply(c, env, given));
    EM_TRY_VOID(validate(c));
    out = std::move(c);
    return LoadOutcome::run;
}

}  // namespace em::app
