// enginemux-load command line: the flags, their limits and defaults, and the parser that turns
// argv into Options (every bad flag is an error naming the flag; the caller exits 2).
//
// Main thread, at start-up only (allocates freely). Options is a plain value the workers read.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace em::load {

/// Named maxima of every flag (TigerBeetle: put a limit on everything).
struct OptionLimits {
    static constexpr uint32_t connections_max = 10'000;      ///< TCP connections in total
    static constexpr uint32_t threads_max = 256;             ///< loop threads
    static constexpr uint32_t batch_max = 1024;              ///< JSON-RPC calls per HTTP request
    static constexpr double rate_max_rps = 10'000'000.0;     ///< open-loop requests per second
    static constexpr uint64_t duration_max_ms = 86'400'000;  ///< --duration and --warmup (24 h)
    static constexpr uint32_t timeout_max_ms = 600'000;      ///< --timeout
    static constexpr int64_t jwt_cache_max_s = 55;           ///< token reuse (iat window is ±60 s)
};

/// Defaults (documented in --help and the README).
struct OptionDefaults {
    static constexpr uint32_t connections = 64;
    static constexpr uint64_t duration_ms = 10'000;
    static constexpr uint64_t warmup_ms = 2'000;
    static constexpr uint32_t timeout_ms = 10'000;
    static constexpr int64_t jwt_cache_s = 5;
};

struct Options {
    std::string target;           ///< --target http://HOST:PORT[/path]
    std::string jwt_secret_path;  ///< --jwt-secret FILE ("" = no Authorization header)
    int64_t jwt_cache_s = OptionDefaults::jwt_cache_s;   ///< --jwt-cache S (0: mint per request)
    double rate_rps = 0;                                 ///< --rate N[/s]; 0 = closed loop
    uint32_t connections = OptionDefaults::connections;  ///< --connections C
    uint64_t duration_ms = OptionDefaults::duration_ms;  ///< --duration
    uint64_t warmup_ms = OptionDefaults::warmup_ms;      ///< --warmup
    uint32_t threads = 1;                                ///< --threads T
    bool pin = true;                                     ///< false with --no-pin
    std::string mix_path;                                ///< --mix FILE
    std::string method;                                  ///< --method NAME
    std::string params = "[]";                           ///< --params JSON (with --method)
    uint32_t batch = 1;                                  ///< --batch N
    uint32_t timeout_ms = OptionDefaults::timeout_ms;    ///< --timeout MS
    uint64_t seed = 1;                                   ///< --seed N (request mix choice)
    std::string latency_csv_path;  ///< --latency-csv FILE: percentile spectrum for plots
    bool json = false;             ///< --json
    bool quiet = false;            ///< --quiet
    bool help = false;             ///< --help
    bool version = false;          ///< --version
    bool open_loop() const { return rate_rps > 0; }
};

/// Parses argv[1..argc). Errors (Errc::invalid_input) start with the flag they are about,
/// e.g. "--rate: 'fast' is not a rate (requests per second)" or "unknown flag --bogus".
[[nodiscard]] Result<Options> parse_options(int argc, const char* const* argv);

/// Parses a duration: "10s", "1.5s", "500ms", "2m", "1h", or a bare number of seconds.
[[nodiscard]] Result<uint64_t> parse_duration_ms(std::string_view text);

/// The parts of --target http://HOST[:PORT][/path] (HOST: name, IPv4 or [IPv6]; port 80 if absent).
struct TargetUrl {
    std::string host;  ///< without brackets
    uint16_t port = 80;
    std::string host_header;  ///< HOST:PORT as written (with brackets for IPv6)
    std::string path = "/";   ///< request target
};

/// Parses a target URL; errors start with "--target:" and say what is wrong.
[[nodiscard]] Result<TargetUrl> parse_target_url(std::string_view url);

/// The --help text.
const char* usage_text();

}  // namespace em::load
