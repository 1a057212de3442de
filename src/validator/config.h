// Configuration of the validator guard: the [validator] table of a TOML file (the daemon's own
// config file can carry it next to its other tables). Strict: unknown keys, wrong types and
// out-of-range values are errors naming the key; cross-field rules (fence margin longer than the
// stop timeout, renewals well inside the TTL, a loopback control endpoint, a private secret
// file) are checked before anything starts.
//
// Loaded once at start-up on the calling thread (blocking file reads); immutable afterwards.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"

namespace em::validator {

struct ValidatorConfig {
    // [validator]
    std::string name;                                ///< this host, unique among the guards
    bool preferred = false;                          ///< the host to fail back to
    std::string data_dir;                            ///< the guard's own durable record lives here
    std::string state_file;                          ///< CometBFT's priv_validator_state.json
    std::string rpc_url = "http://127.0.0.1:26657";  ///< the local CometBFT RPC
    std::string validator_pub_key;  ///< base64 validator_info.pub_key.value expected
    std::string control_listen = "127.0.0.1:9560";  ///< promote/demote/status (loopback only)
    /// Bearer token that POST /promote and /demote need (mode 0600); "" = they are refused.
    std::string control_token_file;
    uint32_t tick_ms = 100;  ///< decision period
    uint32_t state_file_bytes_max = 64 * 1024;
    std::string log_format = "text";  ///< "text" or "json" (one object per line); --log-format wins

    // [validator.health]
    uint32_t health_interval_ms = 1'000;
    uint32_t health_timeout_ms = 800;
    uint32_t failures_before_failover = 3;  ///< K
    uint32_t min_peers = 1;
    uint32_t block_time_ms = 6'000;
    uint32_t stale_blocks = 5;
    uint32_t start_grace_ms = 30'000;  ///< health failures ignored after the validator starts

    // [validator.process]
    std::string process_mode = "commands";  ///< "commands" (systemd) or "child"
    std::string start_command;
    std::string stop_command;
    std::string status_command;    ///< exit 0 while the validator runs
    std::string permit_file;       ///< commands mode: the permit the validator's supervisor reads
    std::string run_command;       ///< child mode: runs the validator (exec it)
    std::string follower_command;  ///< child mode: runs the node without the key (optional)
    uint32_t stop_timeout_ms = 20'000;  ///< stop must be confirmed within this
    uint32_t command_timeout_ms = 60'000;

    // [validator.lease]
    std::string backend = "peer";  ///< "peer" or "etcd"
    uint32_t ttl_ms = 45'000;
    uint32_t renew_interval_ms = 3'000;
    uint32_t fence_margin_ms = 30'000;  ///< > stop_timeout_ms
    uint32_t takeover_margin_ms = 5'000;
    uint32_t request_timeout_ms = 1'500;
    uint32_t failback_grace_ms = 600'000;
    uint32_t hwm_margin_heights = 2;
    uint32_t retry_ms = 10'000;
    uint32_t acquire_defer_ms = 3'000;  ///< a lower-ranked host waits this long for a better one

    // [validator.peer]
    std::string peer_name;
    std::string peer_listen;   ///< where the other guard reaches us ("10.0.0.1:9561")
    std::string peer_address;  ///< where we reach it
    std::string secret_file;   ///< >= 32 bytes, not readable by group or others
    uint32_t replay_window_ms = 30'000;
    bool takeover_on_silence = true;
    uint32_t peer_body_bytes_max = 16 * 1024;

    // [validator.etcd]
    std::string etcd_endpoint;  ///< "127.0.0.1:2379" (JSON gateway, plain HTTP)
    std::string etcd_prefix = "/enginemux/validator";
};

/// Reads the [validator] table of the TOML file at `path` and checks it.
Result<ValidatorConfig> load_validator_config(const std::string& path);
/// Parses TOML text (for tests); `origin` names it in errors.
Result<ValidatorConfig> parse_validator_config(std::string_view toml_text, std::string_view origin);
/// Cross-field rules (also run by the loaders).
Result<void> check_validator_config(const ValidatorConfig& config);
/// Reads and checks the shared peer secret (>= 32 bytes, mode without group/other access).
Result<std::vector<uint8_t>> load_peer_secret(const std::string& path);

}  // namespace em::validator
