// Command line of enginemux-mock-el: strict parsing into the mock's configuration and rules.
//
// Main thread, at start-up only (allocates freely). Every error names the flag or rule and what
// is wrong; main() prints it and exits 2.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "base/log.h"
#include "base/result.h"
#include "mockel/rules.h"
#include "mockel/shared_state.h"

namespace em::mockel {

/// Most loop threads (--threads).
inline constexpr int threads_max = 64;

struct Options {
    MockConfig config;  ///< everything but payloads (main loads them)
    std::unique_ptr<RuleSet> rules = std::make_unique<RuleSet>();  ///< --rule / --rules-file
    std::string listen_addr = "127.0.0.1";                         ///< --listen-addr
    uint16_t port = 0;            ///< --port (required; 0 = any free port)
    std::string jwt_secret_path;  ///< --jwt-secret
    std::string payload_file;     ///< --payload-file
    uint64_t gas_used = 0;     ///< --gas-used: the synthetic payloads' gasUsed (a mock builder's)
    int threads = 1;           ///< --threads
    int ws_port = -1;          ///< --ws-port (-1: no WebSocket port; 0: any free port)
    uint32_t block_ms = 1000;  ///< --block-ms: the WebSocket chain's block interval
    LogLevel log_level = LogLevel::info;     ///< --log-level
    LogFormat log_format = LogFormat::text;  ///< --log-format
    std::string failed_rule;  ///< on a rule error: the whole rule text (for the message)
};

enum class ParseOutcome : uint8_t { run, help, version };

/// Parses argv. On error, `out.failed_rule` holds the offending rule when a rule was bad.
[[nodiscard]] Result<ParseOutcome> parse_options(int argc, const char* const* argv, Options& out);

/// The --help text.
const char* usage_text();

}  // namespace em::mockel
