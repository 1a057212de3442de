// Daemon configuration: defaults, the TOML file (--config) and executionbackup-compatible flags
// (a flag overrides the file). Loaded by main() on start-up, and again by a reload (SIGHUP,
// POST /reload), which applies what app/reload.h lists as live. A new key must be listed in
// reload.cpp's diff_settings, as live or restart-only.
//
// Every limit the daemon enforces has a named field here with its default, so an operator can
// find and change it, and `enginemux check-config FILE` validates a file without starting.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "app/builder_config.h"
#include "base/log.h"
#include "base/result.h"

namespace em::app {

enum class NodeRole : uint8_t { voter, mirror };

/// One execution client, from `--nodes URL[#jwt-secret=PATH][#timeout=MS][#do-not-use][#name=N]`
/// or a [[nodes]] table.
struct NodeConfig {
    std::string name;             ///< unique, base/name.h's rule; default "node<N>" (1-based)
    std::string url;              ///< as given
    bool tls = false;             ///< https
    std::string host;             ///< host part of the URL
    uint16_t port = 0;            ///< explicit or 80/443
    std::string path = "/";       ///< request target
    std::string jwt_secret_path;  ///< "" = use the daemon's --jwt-secret
    uint32_t timeout_ms = 0;      ///< 0 = the global --timeout, else the method's spec timeout
    NodeRole role = NodeRole::voter;
    /// ws_url (`#ws=URL`, [[nodes]] ws_url): the EL's WebSocket for eth_subscribe feeds
    /// (issue 17); "" = none. ws://host[:port][/path] only.
    std::string ws_url;
    std::string ws_host;
    uint16_t ws_port = 0;
    std::string ws_path = "/";
};

/// Parses one --nodes element. Errors name the element and what is wrong with it.
Result<NodeConfig> parse_node_spec(std::string_view spec);
/// Parses an http(s)://host[:port][/path] URL into node's tls/host/port/path.
Result<void> parse_node_url(std::string_view url, NodeConfig& node);
/// Parses a ws://host[:port][/path] URL into node's ws_url/ws_host/ws_port/ws_path.
Result<void> parse_ws_url(std::string_view url, NodeConfig& node);

struct LimitsConfig {
    uint64_t body_bytes_max = 32u << 20;            ///< request/response body (over: 413)
    uint64_t buffered_body_bytes_max = 256u << 20;  ///< request bodies buffered at once (503)
    uint32_t header_bytes_max = 16u << 10;          ///< request head (over: 431)
    uint32_t connections_max = 4096;                ///< client connections per shard
    uint32_t batch_entries_max = 1000;              ///< JSON-RPC batch elements
    uint32_t in_flight_max = 4096;                  ///< requests being proxied per shard
    uint32_t upstream_connections_max = 64;         ///< keep-alive connections per node per shard
    uint32_t header_timeout_ms = 10'000;      ///< deadline: request start to end of head (408)
    uint32_t body_timeout_ms = 60'000;        ///< deadline: end of head to end of body; a send
    uint32_t body_rate_min_bytes_s = 65'536;  ///< a body after its first second (408; 0 = none)
    uint32_t idle_timeout_ms = 120'000;       ///< keep-alive connection without a byte of a request
    uint32_t connect_timeout_ms = 2'000;      ///< upstream TCP/TLS connect
    uint32_t lane_queue_max = 256;            ///< engine calls queued per node lane
    uint32_t shutdown_drain_ms = 10'000;      ///< graceful shutdown: wait for in-flight requests
};

struct HealthConfig {
    uint32_t interval_ms = 5'000;        ///< probe period per node
    uint32_t timeout_ms = 2'000;         ///< probe deadline
    uint32_t block_age_max_s = 120;      ///< head older than this: syncing (0 = not checked)
    uint32_t failback_hold_ms = 30'000;  ///< a recovered node must stay healthy this long first
};

/// The admin API. Writes (POST, DELETE) need the token in token_file and are refused (403)
/// without one; reads (GET) are open unless protect_reads. See admin/access.h.
struct AdminConfig {
    std::string listen = "127.0.0.1:9551";       ///< "" disables the admin API
    std::string token_file;                      ///< bearer token file; "" = writes refused
    bool protect_reads = false;                  ///< GETs need the token too (needs token_file)
    std::string secrets_dir = "/etc/enginemux";  ///< run-time nodes' #jwt-secret= files lie here
};

struct EngineConfig {
    double fcu_majority = 0.6;        ///< quorum fraction of answering voters (executionbackup's)
    uint32_t timeout_ms = 0;          ///< --timeout: per-node deadline cap (0 = spec timeouts)
    uint32_t eth_timeout_ms = 1'000;  ///< --eth-timeout: one attempt of an eth_* call
    bool verify_block_hash = true;    ///< rebuild and check every newPayload's block hash
    /// The engine shard polls instead of sleeping while an engine call is in flight, at most
    /// this long after it was sent (µs; 0 = sleep at once). Costs CPU only around engine calls.
    /// 20 ms by default: measured to cut newPayload's added p50 by a sixth for about 0.5 ms of
    /// CPU per 12-s slot (docs/PERFORMANCE.md, 2026-12-07).
    uint32_t poll_us = 20'000;
    bool strict_payload_fields = false;   ///< reject unknown fields inside executionPayload
    uint32_t payload_id_lifetime_s = 36;  ///< minted payloadIds expire (3 slots)
    uint32_t payload_ids_max = 64;        ///< bounded payloadId map
};

/// A consensus client with its own JWT secret ([[sync.clients]]): a token whose `id` claim is
/// `name` must be signed with this secret (others use the global --jwt-secret).
struct SyncClientConfig {
    std::string name;             ///< base/name.h's rule; unique
    std::string jwt_secret_path;  ///< required
    friend bool operator==(const SyncClientConfig&, const SyncClientConfig&) = default;
};

/// The sync role ([sync]): several consensus clients; the ELs follow the best one.
struct SyncConfig {
    uint32_t best_stale_ms = 24'000;  ///< the best client quiet this long is replaced
    uint32_t future_slack_s = 60;     ///< timestamps further ahead of the clock are not believed
    /// IP addresses or CIDRs whose X-Forwarded-For / X-Real-IP headers name the client.
    std::vector<std::string> trusted_proxies;
    /// Other proxies (enginemux, sync-proxy) every engine call is mirrored to, fire-and-forget:
    /// URL[#jwt-secret=PATH][#name=N] (tokens signed with the global secret without one).
    std::vector<std::string> proxies;
    uint32_t proxy_request_timeout_ms = 2'000;  ///< deadline of a mirrored call
    uint32_t dedup_window_ms = 12'000;          ///< a final newPayload answer is reused this long
    std::vector<SyncClientConfig> clients;
};

/// A method's own deadline ([rpc.method_timeouts_ms]: method = ms).
struct RpcMethodTimeout {
    std::string method;
    uint32_t timeout_ms = 0;
    friend bool operator==(const RpcMethodTimeout&, const RpcMethodTimeout&) = default;
};

/// A read answered only when this many nodes of different clients agree ([rpc.agree]:
/// method = nodes).
struct RpcMethodAgree {
    std::string method;
    uint32_t nodes = 0;
    friend bool operator==(const RpcMethodAgree&, const RpcMethodAgree&) = default;
};

/// [rpc.limits]: per client address and per API key (0 = no limit).
struct RpcLimitsConfig {
    double client_rps = 0;            ///< requests per second per client address
    double client_burst = 0;          ///< bucket size (0: max(1, client_rps))
    uint32_t client_concurrency = 0;  ///< requests in progress per client address
    double key_rps = 0;               ///< requests per second per API key
    double key_burst = 0;             ///< bucket size (0: max(1, key_rps))
    friend bool operator==(const RpcLimitsConfig&, const RpcLimitsConfig&) = default;
};

/// [rpc.redis]: the cache and rate limits shared by several instances through Redis.
struct RpcRedisConfig {
    /// redis://[[user]:password@]host[:port][/db]; "" = no Redis (embedded cache and budgets).
    std::string url;
    uint32_t timeout_ms = 50;               ///< each Redis command's deadline
    std::string key_prefix = "enginemux:";  ///< of every key (instances of other chains: another)
    friend bool operator==(const RpcRedisConfig&, const RpcRedisConfig&) = default;
};

/// [rpc.ws]: JSON-RPC over WebSocket on the rpc port (issue 17; listener/rpc_ws.h).
struct RpcWsSettings {
    uint64_t send_queue_bytes = 4u << 20;  ///< per client; over it: closed with 1008
    uint32_t close_linger_ms = 2000;       ///< after our close frame, read and discard this long
    uint32_t connections_max = 1024;       ///< WebSocket connections at once (then 503)
    uint32_t subscriptions_per_connection_max = 100;  ///< for eth_subscribe (not yet served)
    uint64_t message_bytes_max = 0;  ///< one incoming message (0: [limits] body_bytes_max)
    /// What idle connections may keep, all together, of buffers a large message or answer grew
    /// (beyond 4 KiB each); past it they shrink back (0: always shrink).
    uint64_t grown_buffers_bytes_max = 64u << 20;
};

/// The rpc role ([rpc]): public eth_* JSON-RPC spread over the nodes (issue 16).
struct RpcConfig {
    std::string listen;  ///< "ADDR:PORT"; "" = no rpc listener (role rpc: listen_addr:port)
    /// Globs ('*' matches any run) of the methods clients may call; empty: the default, the
    /// read-only eth_*, net_*, web3_* methods (filters included) and eth_sendRawTransaction.
    std::vector<std::string> allow_methods;
    std::string api_keys_file;                 ///< one key a line; "" = no keys needed
    std::vector<std::string> trusted_proxies;  ///< whose X-Forwarded-For names the client
    uint32_t max_head_lag_blocks = 2;          ///< "at the head": within this of the highest
    uint64_t response_bytes_max = 32u << 20;   ///< a node's answer larger than this fails
    uint64_t max_logs_block_range = 10'000;    ///< eth_getLogs blocks a request (0 = any)
    bool logs_split = true;                    ///< a wider range is split (false: refused)
    uint32_t logs_split_pieces_max = 16;       ///< pieces of one split (more: refused)
    std::string sticky = "off";                ///< per-client stickiness: off, key or address
    uint32_t sticky_clients_max = 65'536;      ///< clients remembered per shard (sticky)
    double hedge_max_ratio = 0.1;              ///< reads hedged at most (0 = no hedging)
    double shadow_ratio = 0;        ///< reads also sent to a second node and compared (0 = none)
    uint32_t breaker_failures = 5;  ///< failures in a row that open it (0 = none)
    uint32_t breaker_window_ms = 10'000;    ///< ... all within this
    uint32_t breaker_cooldown_ms = 5'000;   ///< open this long, then one probe
    uint64_t cache_bytes_max = 256u << 20;  ///< the answer cache (0 = no cache)
    uint32_t default_timeout_ms = 10'000;   ///< a method without its own timeout
    std::vector<RpcMethodTimeout> method_timeouts;
    std::vector<RpcMethodAgree> agree;  ///< [rpc.agree]
    RpcLimitsConfig limits;
    RpcRedisConfig redis;
    RpcWsSettings ws;
};

struct Config {
    /// mux (one CL), sync (several CLs: [sync]), rpc (only [rpc]) or builder (an OP Stack
    /// sequencer's sidecar: [l2], [[builders]], [builder]; app/builder_config.h)
    std::string role = "mux";
    std::string listen_addr = "127.0.0.1";  ///< executionbackup binds 0.0.0.0; we do not by default
    uint16_t port = 7000;
    std::string jwt_secret_path;  ///< the CL's secret (and the nodes' default)
    std::vector<NodeConfig> nodes;
    LogLevel log_level = LogLevel::info;
    LogFormat log_format = LogFormat::text;  ///< text lines, or one JSON object per line
    int shards = 0;                          ///< 0 = cores - 1 (at least 1)
    uint32_t spin_us = 0;       ///< shard polls this long after an event before sleeping
    std::string tls_ca_file;    ///< CAs for https nodes; "" = the system's store
    bool node_timings = false;  ///< log node latencies at each health check
    EngineConfig engine;
    LimitsConfig limits;
    HealthConfig health;
    AdminConfig admin;
    SyncConfig sync;
    RpcConfig rpc;
    BuilderRoleConfig builder;  ///< the builder role's ELs and settings
    std::string config_path;    ///< the --config file, if any
    /// port or listen_addr came from the file or a flag (else the sync role listens on
    /// sync-proxy's 127.0.0.1:25590); not a setting of its own.
    bool listen_set = false;
    /// Said once at start-up (e.g. rollup-boost flags that mean nothing here); not a setting.
    std::vector<std::string> warnings;
};

/// The API keys in `text` ([rpc] api_keys_file): one key a line, blank lines and lines starting
/// with '#' skipped, surrounding blanks trimmed; a key is 8..256 characters of A-Z a-z 0-9 and
/// . _ ~ + / = -. Errors name the line and what is wrong, never quote a key.
Result<std::vector<std::string>> parse_api_keys(std::string_view text);
/// parse_api_keys of the file at `path` (at most 1 MiB); errors name the file.
Result<std::vector<std::string>> read_api_keys(const std::string& path);

/// The usage text of the daemon's flags.
std::string usage_text();

/// What load() found: a config to run, or a request to print help/version and exit.
enum class LoadOutcome : uint8_t { run, help, version };

/// Loads defaults, then --config FILE (if given), then flags. Unknown flags, unknown TOML keys
/// and bad values are errors naming which and why. Validates cross-field rules (at least one
/// node, unique names, a JWT secret for every node, protect_reads only with a token, an
/// absolute secrets_dir, a body budget that holds at least one largest body).
/// In the builder role, rollup-boost's environment variables (L2_URL, BUILDER_URL, ...) are
/// read through `env` for the settings whose flags were not given (app/builder_flags.h).
Result<LoadOutcome> load(int argc, const char* const* argv, Config& out,
                         const char* (*env)(const char*) = nullptr);
/// The process environment (getenv), for load()'s `env`.
const char* environment(const char* name);
/// Loads only a TOML file (for `check-config`); same validation as load().
Result<Config> load_file(const std::string& path);
/// Cross-field validation (called by load and load_file).
Result<void> validate(Config& config);

}  // namespace em::app
