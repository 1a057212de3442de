// Logging: leveled, one line per call to stderr, rate-limited per call site.
//
// Any thread. Nothing is logged on the success path of a request (counters are); logs are for
// start-up, state changes and errors.
//
// Two formats (log_set_format(), `--log-format`, `log_format` in the configs):
//   text  `<UTC time> <LEVEL> <message>`: details are in the message as prose or key=value;
//   json  one object per line: `{"ts":"<UTC time>","level":"info","msg":"<message>",...}` and,
//         after the three stable keys, the call site's structured fields (EM_LOG_FIELDS:
//         `"node":"el1","head":123`). The message is the same text in both formats, so both
//         carry the same events; the fields repeat the message's details as typed values.
// Rendering uses fixed buffers only (a line is at most log_line_bytes_max bytes): no allocation.
// JSON strings are escaped (quotes, backslashes, control characters as \n, \t, \u00XX; bytes
// that are not valid UTF-8 as \ufffd), and a line cut at the limit stays valid JSON (the last
// string is closed and `"truncated":true` is added).
//
// Two modes. Until log_start_async() (tools, start-up), a line is one blocking write(2). After
// it (the daemons), a caller only formats the line into a bounded queue and never blocks: a
// writer thread of its own drains the queue to stderr. When stderr stops taking bytes (journald
// stalls, a pipe nobody reads) the writer blocks, the queue fills, and further lines are dropped
// and counted (log_dropped_total(); the writer reports the count when stderr moves again). So no
// event loop, least of all the validator guard's, can be stalled by its own log.
#pragma once

#include <atomic>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "base/result.h"

namespace em {

enum class LogLevel : uint8_t { error = 0, warn = 1, info = 2, debug = 3 };
enum class LogFormat : uint8_t { text = 0, json = 1 };

/// Longest line in either format, newline included (longer ones are cut).
inline constexpr size_t log_line_bytes_max = 2044;

/// Parses "error|warn|info|debug" (also "warning", "trace" = debug); case-insensitive.
Result<LogLevel> parse_log_level(std::string_view text);
void log_set_level(LogLevel level);
LogLevel log_level();
inline bool log_enabled(LogLevel level);

/// Parses "text|json"; case-insensitive. Errors name the text.
Result<LogFormat> parse_log_format(std::string_view text);
/// Any thread; takes effect from the next line. Set it before the threads that log start.
void log_set_format(LogFormat format);
LogFormat log_format();

/// One structured field of a log event. `key` is a string literal of [a-z0-9_] (written as
/// is; "ts", "level" and "msg" are reserved and skipped); a text value is escaped. Views only:
/// the field must not outlive the values it points to (it lives for one log call).
struct LogField {
    enum class Kind : uint8_t { text, i64, u64, boolean };
    const char* key = "";
    Kind kind = Kind::text;
    std::string_view text;
    int64_t i64 = 0;
    uint64_t u64 = 0;
};

constexpr LogField log_field(const char* key, std::string_view value) {
    return LogField{key, LogField::Kind::text, value, 0, 0};
}
constexpr LogField log_field(const char* key, const char* value) {
    return log_field(key, std::string_view(value ? value : ""));
}
template <std::integral T>
constexpr LogField log_field(const char* key, T value) {
    if constexpr (std::same_as<T, bool>) {
        return LogField{key, LogField::Kind::boolean, {}, 0, value ? 1u : 0u};
    } else if constexpr (std::signed_integral<T>) {
        return LogField{key, LogField::Kind::i64, {}, static_cast<int64_t>(value), 0};
    } else {
        return LogField{key, LogField::Kind::u64, {}, 0, static_cast<uint64_t>(value)};
    }
}

[[gnu::format(printf, 2, 3)]] void log_write(LogLevel level, const char* format, ...);
/// log_write with structured fields (rendered in the json format; the text format shows the
/// message only, which should say the same in words).
[[gnu::format(printf, 3, 4)]] void log_write_fields(LogLevel level,
                                                    std::span<const LogField> fields,
                                                    const char* format, ...);

/// Renders one line, newline included, into out[cap] (cap >= 128) and returns its length: the
/// pure part of log_write (tests; the writer thread's own lines). `wall_ns` is the timestamp.
size_t log_render(LogFormat format, LogLevel level, uint64_t wall_ns,
                  std::span<const LogField> fields, std::string_view message, char* out,
                  size_t cap);

/// A program's failure to start or run, for its last words: `<program>: <message>` as a plain
/// line in the text format (as scripts and systemd show it), an error object in the json format.
/// Blocking write (call it after log_stop_async(), or before log_start_async()).
void log_failure(const char* program, std::string_view message);

/// Switches to non-blocking logging through a queue of `lines_max` lines and a writer thread.
/// Call once, from the main thread, before the threads that log start. Idempotent.
void log_start_async(uint32_t lines_max = 1024);
/// Back to blocking writes: waits up to `flush_ms` for the writer to drain the queue (a writer
/// stuck on a blocked stderr is left behind; its lines are lost). For orderly exits.
void log_stop_async(uint32_t flush_ms = 1000);
/// Lines dropped because the queue was full (stderr not keeping up), since start.
uint64_t log_dropped_total();

/// Per-call-site token bucket: allows `burst` lines, refilled at `per_second` lines/s.
class LogRateLimit {
  public:
    constexpr LogRateLimit(uint32_t per_second, uint32_t burst)
        : per_second_(per_second), burst_(burst) {}
    /// True if a line may be written now; counts suppressed lines otherwise.
    bool allow();
    /// Lines suppressed since the last allowed one (reset by that call).
    uint64_t take_suppressed() { return suppressed_.exchange(0, std::memory_order_relaxed); }

  private:
    uint32_t per_second_;
    uint32_t burst_;
    std::atomic<uint64_t> last_ns_{0};
    std::atomic<uint32_t> tokens_{0};
    std::atomic<bool> primed_{false};
    std::atomic<uint64_t> suppressed_{0};
};

namespace detail {
extern std::atomic<uint8_t> g_log_level;
}

inline bool log_enabled(LogLevel level) {
    return static_cast<uint8_t>(level) <= detail::g_log_level.load(std::memory_order_relaxed);
}

}  // namespace em

#define EM_LOG(level, ...)                                                 \
    do {                                                                   \
        if (::em::log_enabled(level)) ::em::log_write(level, __VA_ARGS__); \
    } while (0)
/// EM_LOG_FIELDS(level, (log_field("node", name), log_field("head", head)), format, ...):
/// a line with structured fields; the field list is in parentheses and evaluated only when the
/// level is enabled.
#define EM_LOG_FIELDS(level, fields, ...)                                     \
    do {                                                                      \
        if (::em::log_enabled(level)) {                                       \
            const ::em::LogField em_log_fields_[] = {EM_LOG_UNPAREN_ fields}; \
            ::em::log_write_fields(level, em_log_fields_, __VA_ARGS__);       \
        }                                                                     \
    } while (0)
#define EM_LOG_UNPAREN_(...) __VA_ARGS__
#define EM_LOG_ERROR(...) EM_LOG(::em::LogLevel::error, __VA_ARGS__)
#define EM_LOG_WARN(...) EM_LOG(::em::LogLevel::warn, __VA_ARGS__)
#define EM_LOG_INFO(...) EM_LOG(::em::LogLevel::info, __VA_ARGS__)
#define EM_LOG_DEBUG(...) EM_LOG(::em::LogLevel::debug, __VA_ARGS__)

/// Logs at most `per_second` lines per second from this call site (burst of 5).
#define EM_LOG_LIMITED(level, per_second, ...)                  \
    do {                                                        \
        static ::em::LogRateLimit em_log_limit_(per_second, 5); \
        if (::em::log_enabled(level) && em_log_limit_.allow())  \
            ::em::log_write(level, __VA_ARGS__);                \
    } while (0)
/// EM_LOG_LIMITED with structured fields (as EM_LOG_FIELDS).
#define EM_LOG_LIMITED_FIELDS(level, per_second, fields, ...)                 \
    do {                                                                      \
        static ::em::LogRateLimit em_log_limit_(per_second, 5);               \
        if (::em::log_enabled(level) && em_log_limit_.allow()) {              \
            const ::em::LogField em_log_fields_[] = {EM_LOG_UNPAREN_ fields}; \
            ::em::log_write_fields(level, em_log_fields_, __VA_ARGS__);       \
        }                                                                     \
    } while (0)
