// Logging: leveled, one line per call to stderr, rate-limited per call site.
//
// Any thread. Nothing is logged on the success path of a request (counters are); logs are for
// start-up, state changes and errors. A line is `<UTC time> <level> <message>`; structured
// details go in the message as key=value pairs.
//
// Two modes. Until log_start_async() (tools, start-up), a line is one blocking write(2). After
// it (the daemons), a caller only formats the line into a bounded queue and never blocks: a
// writer thread of its own drains the queue to stderr. When stderr stops taking bytes (journald
// stalls, a pipe nobody reads) the writer blocks, the queue fills, and further lines are dropped
// and counted (log_dropped_total(); the writer reports the count when stderr moves again). So no
// event loop, least of all the validator guard's, can be stalled by its own log.
#pragma once

#include <atomic>
#include <cstdint>
#include <string_view>

#include "base/result.h"

namespace em {

enum class LogLevel : uint8_t { error = 0, warn = 1, info = 2, debug = 3 };

/// Parses "error|warn|info|debug" (also "warning", "trace" = debug); case-insensitive.
Result<LogLevel> parse_log_level(std::string_view text);
void log_set_level(LogLevel level);
LogLevel log_level();
inline bool log_enabled(LogLevel level);

[[gnu::format(printf, 2, 3)]] void log_write(LogLevel level, const char* format, ...);

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

#define EM_LOG(level, ...)                                              \
    do {                                                                \
        if (::em::log_enabled(level)) ::em::log_write(level, __VA_ARGS__); \
    } while (0)
#define EM_LOG_ERROR(...) EM_LOG(::em::LogLevel::error, __VA_ARGS__)
#define EM_LOG_WARN(...) EM_LOG(::em::LogLevel::warn, __VA_ARGS__)
#define EM_LOG_INFO(...) EM_LOG(::em::LogLevel::info, __VA_ARGS__)
#define EM_LOG_DEBUG(...) EM_LOG(::em::LogLevel::debug, __VA_ARGS__)

/// Logs at most `per_second` lines per second from this call site (burst of 5).
#define EM_LOG_LIMITED(level, per_second, ...)                          \
    do {                                                                \
        static ::em::LogRateLimit em_log_limit_(per_second, 5);         \
        if (::em::log_enabled(level) && em_log_limit_.allow()) ::em::log_write(level, __VA_ARGS__); \
    } while (0)
