// Loading the builder role's settings (app/builder_config.h): its TOML tables ([l2],
// [[builders]], [builder]), rollup-boost's command-line flags and environment variables (so an
// operator's rollup-boost command line and .env keep working), and their cross-field checks.
// Used by app/config.cpp's load() and validate().
//
// Precedence, as everywhere: defaults < --config file < environment (role builder only, and
// only for a setting whose flag was not given) < flags. Every error names the flag, variable or
// key and what is wrong with it; an inline JWT secret is never quoted.
//
// Threads: start-up and reload (the main or control thread). Allocates.
#pragma once

#include <toml++/toml.h>
#include <CLI/CLI.hpp>

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "app/config.h"

namespace em::app {

/// getenv, or a test's table.
using EnvLookup = const char* (*)(const char* name);

/// A root key of the TOML file that is the builder role's ([l2], [[builders]], [builder]):
/// loaded into c.builder (true); any other key: false, nothing done. Errors name the key.
[[nodiscard]] Result<bool> load_builder_toml(std::string_view key, const toml::node& value,
                                             Config& c);

/// One --builder-url element: URL[#name=NAME]. Errors name the element.
[[nodiscard]] Result<BuilderEndpointConfig> parse_builder_spec(std::string_view spec);
/// A JWT secret given inline (--l2-jwt-token): 64 hex digits, 0x and surrounding blanks
/// allowed, returned as 64 lowercase digits. Errors name `what`, never the value.
[[nodiscard]] Result<std::string> parse_jwt_hex(std::string_view text, std::string_view what);

/// The daemon's generic flags that the environment must not override.
struct GivenFlags {
    bool listen = false;  ///< --listen-addr or --port
    bool log_level = false;
    bool log_format = false;
};

/// rollup-boost's flags (each with its environment variable) and the ones that mean nothing
/// here (accepted with a warning naming them).
class RollupBoostFlags {
  public:
    enum Index : uint8_t {
        l2_url,
        l2_jwt_path,
        l2_jwt_token,
        l2_timeout,
        builder_url,
        builder_jwt_path,
        builder_jwt_token,
        builder_timeout,
        rpc_host,
        rpc_port,
        execution_mode,
        block_selection_policy,
        get_payload_deadline_ms,
        health_check_interval,
        max_unsafe_interval,
        debug_host,
        debug_server_port,
        count
    };
    struct Spec {
        const char* flag;
        const char* env;
        bool repeatable;  ///< may be given several times, or as a comma list
    };
    static const std::array<Spec, count> specs;

    /// Declares the flags on `cli`.
    void add(CLI::App& cli);
    /// The first of these flags that was given ("" if none).
    std::string_view first_given() const;
    /// Role builder: the environment's values (for flags not given), then the flags, into c;
    /// warnings for the meaningless flags into c.warnings. Another role: an error if any of
    /// these flags was given.
    [[nodiscard]] Result<void> apply(Config& c, EnvLookup env, const GivenFlags& given) const;

  private:
    /// One setting's values and where they came from (a flag or a variable's name).
    struct Values {
        std::vector<std::string> list;
        const char* from = "";
    };
    Values effective(Index i, EnvLookup env) const;
    [[nodiscard]] Result<void> apply_l2(Config& c, const std::array<Values, count>& v) const;
    [[nodiscard]] Result<void> apply_builders(Config& c, const std::array<Values, count>& v) const;
    [[nodiscard]] Result<void> apply_role(Config& c, const std::array<Values, count>& v,
                                          const GivenFlags& given) const;
    void warn_ignored(Config& c) const;

    std::array<std::vector<std::string>, count> values_;
    std::array<CLI::Option*, count> options_{};
    bool metrics_ = false, tracing_ = false, ignore_unhealthy_ = false;
    std::string metrics_host_, metrics_port_, otlp_endpoint_;
    std::array<CLI::Option*, 3> ignored_valued_{};
};

/// The builder role's cross-field checks (validate() calls it in that role): an L2 with a URL
/// and one secret, 1..builders_max builders with unique names, URLs and one secret each, the
/// getPayload deadline within the spec's 1 s; the listen port defaults to rollup-boost's 8081.
[[nodiscard]] Result<void> validate_builder(Config& c);

}  // namespace em::app
