// The builder role's settings (issue 15: an OP Stack block-builder sidecar, rollup-boost's job
// with several builders): the local EL ([l2]), the external builders ([[builders]]) and how
// their blocks are used ([builder]). Loaded by app/builder_flags.h from the TOML file,
// rollup-boost's flags and its environment variables; part of app::Config.
//
// Threads: any (plain values). Secrets given inline (--l2-jwt-token) are held here as hex and
// never printed: errors name the flag, not the value.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/builder_select.h"

namespace em::app {

/// The sequencer's own execution client ([l2]; --l2-url ...): every engine call goes to it,
/// and its block is the fallback of every getPayload.
struct L2Config {
    std::string url;              ///< authrpc URL (http:// or https://)
    std::string jwt_secret_path;  ///< its JWT secret file (--l2-jwt-path, [l2] jwt_secret)
    std::string jwt_secret_hex;   ///< or the secret itself (--l2-jwt-token, L2_JWT_TOKEN)
    uint32_t timeout_ms = 1'000;  ///< each call's deadline (rollup-boost's --l2-timeout)
    friend bool operator==(const L2Config&, const L2Config&) = default;
};

/// One external block builder ([[builders]]; --builder-url URL[#name=N] ...).
struct BuilderEndpointConfig {
    std::string name;             ///< base/name.h's rule; default "builder<N>" (1-based)
    std::string url;              ///< authrpc URL (http:// or https://), without #name=
    std::string jwt_secret_path;  ///< its JWT secret file
    std::string jwt_secret_hex;   ///< or the secret itself (--builder-jwt-token)
    uint32_t timeout_ms = 1'000;  ///< each call's deadline (rollup-boost's --builder-timeout)
    friend bool operator==(const BuilderEndpointConfig&, const BuilderEndpointConfig&) = default;
};

/// The spec's getPayload timeout: the answer must reach op-node within it.
inline constexpr uint32_t get_payload_deadline_ms_max = 1'000;
/// Most builders one daemon drives (the L2 takes one more node slot).
inline constexpr size_t builders_max = 15;

/// [builder]: how the builders' blocks are used.
struct BuilderRoleConfig {
    L2Config l2;
    std::vector<BuilderEndpointConfig> builders;
    /// One deadline for a getPayload: local and builder answers, hash checks and the local
    /// EL's newPayload of a builder block (1..get_payload_deadline_ms_max).
    uint32_t get_payload_deadline_ms = 500;
    engine::BlockSelection block_selection = engine::BlockSelection::gas_used;
    engine::ExecutionMode execution_mode = engine::ExecutionMode::enabled;
    /// rollup-boost's health check interval (accepted; the [health] probes run instead).
    uint32_t health_check_interval_s = 60;
    /// /healthz: the local EL whose last good answer or probe is older than this is stale (503).
    uint32_t max_unsafe_interval_s = 10;
    /// rollup-boost's debug server (debug_setExecutionMode): ADDR:PORT (port 0: any free one),
    /// "" or "off": none.
    std::string debug_listen = "127.0.0.1:5555";
    /// Each builder's circuit breaker: this many invalid or late blocks within the window bench
    /// it (0: no breaker); benched, its next fork comes after the cooldown.
    uint32_t breaker_failures = 3;
    uint32_t breaker_window_s = 60;
    uint32_t breaker_cooldown_s = 30;
    friend bool operator==(const BuilderRoleConfig&, const BuilderRoleConfig&) = default;
};

}  // namespace em::app
