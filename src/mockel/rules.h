// Scripted behaviour of enginemux-mock-el: rules that change how it answers a JSON-RPC method.
//
// Syntax (one rule per --rule, per line of --rules-file, or per line of POST /mock/rules):
//
//   RULE    := PATTERN ':' ACTION (',' ACTION)*
//   PATTERN := method name with '*' as a wildcard for any run of characters ("engine_newPayload*",
//              "*"); characters A-Z a-z 0-9 _ and *
//   ACTION  := status=VALID|INVALID|SYNCING|ACCEPTED|INVALID_BLOCK_HASH
//            | lvh=null|block|parent|0x<64 hex>     latestValidHash of the answer
//            | validation_error=TEXT
//            | error=CODE[:MESSAGE]                 a JSON-RPC error object instead of a result
//            | delay=MS                             answer after MS milliseconds
//            | hang | close | reset | garbage | http=STATUS     (transport faults, at most one)
//            | huge=BYTES                           pad the HTTP body with spaces to BYTES
//            | wrong_id | no_payload_id | syncing | block_value=WEI
//            | bad_hash                             getPayload: the blockHash does not match
//            | times=N | after=N                    when the rule applies (see RuleSet::match)
//   In TEXT and MESSAGE, "\," is a comma and "\\" a backslash; spaces around keys and values are
//   trimmed. Keys may not repeat. Lines of a rules text that are blank or start with '#' are
//   skipped. Contradictions (error= with status=, two transport faults, delay with hang, ...)
//   are rejected.
//
// Threads: parsing is pure (any thread). A RuleSet is a plain value with no heap memory: the
// mock EL keeps one behind a mutex shared by its loop threads (shared_state.h). Bad rules are
// operating errors: the message names the action and what is wrong with it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/result.h"
#include "base/u256.h"
#include "engine/types.h"

namespace em::mockel {

/// Most rules in a set (more is a configuration error).
inline constexpr size_t rules_max = 64;
/// Longest method pattern.
inline constexpr size_t rule_pattern_bytes_max = 128;
/// Longest validation_error TEXT or error MESSAGE (after unescaping).
inline constexpr size_t rule_text_bytes_max = 256;
/// Longest rule line.
inline constexpr size_t rule_line_bytes_max = 2048;
/// Largest delay=MS.
inline constexpr uint32_t rule_delay_ms_max = 3'600'000;
/// Largest huge=BYTES (the answer buffer is bounded by this plus headroom).
inline constexpr uint64_t rule_huge_bytes_max = uint64_t{64} << 20;

/// PayloadStatus.status values a rule may force.
/// A payload status: the Engine API's own (one enum and one spelling with enginemux).
using engine::Status;
using engine::status_name;

/// What happens on the connection instead of (or around) a normal answer.
enum class Transport : uint8_t { none, hang, close, reset, garbage };
/// "none", "hang", "close", "reset", "garbage".
std::string_view transport_name(Transport t);

/// latestValidHash choice: unset = the default for the status.
enum class Lvh : uint8_t { unset, null, block, parent, fixed };

/// The effects of one rule (a plain value; texts are inline).
struct Action {
    bool has_status = false;
    Status status = Status::valid;
    Lvh lvh = Lvh::unset;
    std::array<uint8_t, 32> lvh_hash{};  ///< for Lvh::fixed
    bool has_validation_error = false;
    uint16_t validation_error_bytes = 0;
    char validation_error[rule_text_bytes_max] = {};
    bool has_error = false;
    int32_t error_code = 0;
    uint16_t error_message_bytes = 0;  ///< 0 = the code's standard message
    char error_message[rule_text_bytes_max] = {};
    uint32_t delay_ms = 0;
    Transport transport = Transport::none;
    uint16_t http_status = 0;  ///< 0 = 200
    uint64_t huge_bytes = 0;   ///< 0 = no padding
    bool wrong_id = false;
    bool no_payload_id = false;
    bool syncing = false;
    bool bad_hash = false;         ///< getPayload: one digit of the payload's blockHash changed
    bool has_block_value = false;  ///< false = the configured --block-value
    U256 block_value;

    std::string_view validation_error_text() const {
        return {validation_error, validation_error_bytes};
    }
    std::string_view error_message_text() const { return {error_message, error_message_bytes}; }
};

/// One rule: which methods, what to do, and when.
struct Rule {
    uint8_t pattern_bytes = 0;
    char pattern[rule_pattern_bytes_max] = {};
    Action action;
    uint64_t times = 0;  ///< applies to this many matching calls (0 = no limit)
    uint64_t after = 0;  ///< skips this many matching calls first
    uint64_t seen = 0;   ///< matching calls counted so far (state, reset with the set)

    std::string_view pattern_text() const { return {pattern, pattern_bytes}; }
};

/// An ordered list of rules with their call counters.
class RuleSet {
  public:
    /// Appends a rule; fails (too_large) past rules_max.
    [[nodiscard]] Result<void> add(const Rule& rule);
    void clear() { count_ = 0; }
    size_t size() const { return count_; }
    const Rule& operator[](size_t i) const { return rules_[i]; }

    /// Counts one call of `method` against every rule whose pattern matches it, then copies the
    /// action of the first of those rules that is active for this call into *out (active: the
    /// call is one of the `times` calls that follow the first `after` matching calls).
    /// Returns false (and leaves *out alone) when no rule applies.
    bool match(std::string_view method, Action* out);

  private:
    std::array<Rule, rules_max> rules_;
    size_t count_ = 0;
};

/// True if `name` matches `pattern` where '*' matches any run of characters (also empty).
bool glob_match(std::string_view pattern, std::string_view name);

/// Parses one rule (see the file comment). Errors name the action and the problem.
[[nodiscard]] Result<void> parse_rule(std::string_view text, Rule* out);

/// Parses a rules text, one rule per line (blank lines and '#' comments skipped), appending to
/// *out. Errors start with "line N: ". *error_line receives N (1-based) on failure.
[[nodiscard]] Result<void> parse_rules_text(std::string_view text, RuleSet* out,
                                            size_t* error_line = nullptr);

}  // namespace em::mockel
