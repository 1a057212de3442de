#include "base/log.h"

#include <unistd.h>

#include <cstdarg>
#include <cstdio>
#include <ctime>

#include "base/assert.h"
#include "base/clock.h"

namespace em {

namespace detail {
std::atomic<uint8_t> g_log_level{static_cast<uint8_t>(LogLevel::info)};
}

static bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); i++) {
        char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] + 32) : a[i];
        if (x != b[i]) return false;
    }
    return true;
}

Result<LogLevel> parse_log_level(std::string_view text) {
    if (iequals(text, "error")) return LogLevel::error;
    if (iequals(text, "warn") || iequals(text, "warning")) return LogLevel::warn;
    if (iequals(text, "info")) return LogLevel::info;
    if (iequals(text, "debug") || iequals(text, "trace")) return LogLevel::debug;
    return failf(Errc::invalid_input, "log level '%.*s' is not one of error, warn, info, debug",
                 static_cast<int>(text.size()), text.data());
}

void log_set_level(LogLevel level) {
    detail::g_log_level.store(static_cast<uint8_t>(level), std::memory_order_relaxed);
}

LogLevel log_level() { return static_cast<LogLevel>(detail::g_log_level.load()); }

void log_write(LogLevel level, const char* format, ...) {
    static const char* names[] = {"ERROR", "WARN ", "INFO ", "DEBUG"};
    char line[2048];
    uint64_t now = wall_ns();
    time_t secs = static_cast<time_t>(now / 1'000'000'000ull);
    struct tm tm_utc;
    gmtime_r(&secs, &tm_utc);
    int n = std::snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ %s ",
                          tm_utc.tm_year + 1900, tm_utc.tm_mon + 1, tm_utc.tm_mday, tm_utc.tm_hour,
                          tm_utc.tm_min, tm_utc.tm_sec,
                          static_cast<unsigned>((now / 1'000'000ull) % 1000),
                          names[static_cast<int>(level) & 3]);
    va_list args;
    va_start(args, format);
    int m = std::vsnprintf(line + n, sizeof line - static_cast<size_t>(n) - 1, format, args);
    va_end(args);
    size_t len = static_cast<size_t>(n) + (m < 0 ? 0 : static_cast<size_t>(m));
    if (len > sizeof line - 2) len = sizeof line - 2;
    line[len++] = '\n';
    ssize_t ignored = ::write(STDERR_FILENO, line, len);
    (void)ignored;
}

bool LogRateLimit::allow() {
    uint64_t now = mono_ns();
    if (!primed_.exchange(true, std::memory_order_relaxed)) {
        tokens_.store(burst_, std::memory_order_relaxed);
        last_ns_.store(now, std::memory_order_relaxed);
    }
    uint64_t last = last_ns_.load(std::memory_order_relaxed);
    uint64_t elapsed = now - last;
    uint64_t refill = per_second_ == 0 ? 0 : elapsed * per_second_ / 1'000'000'000ull;
    if (refill > 0 && last_ns_.compare_exchange_strong(last, now, std::memory_order_relaxed)) {
        uint32_t t = tokens_.load(std::memory_order_relaxed);
        uint64_t nt = t + refill;
        tokens_.store(static_cast<uint32_t>(nt > burst_ ? burst_ : nt), std::memory_order_relaxed);
    }
    uint32_t t = tokens_.load(std::memory_order_relaxed);
    while (t > 0) {
        if (tokens_.compare_exchange_weak(t, t - 1, std::memory_order_relaxed)) return true;
    }
    suppressed_.fetch_add(1, std::memory_order_relaxed);
    return false;
}

void assert_fail(const char* condition, const char* file, int line) {
    char text[512];
    int n = std::snprintf(text, sizeof text, "enginemux: assertion failed: %s (%s:%d)\n", condition,
                          file, line);
    ssize_t ignored = ::write(STDERR_FILENO, text, n > 0 ? static_cast<size_t>(n) : 0);
    (void)ignored;
    __builtin_trap();
}

}  // namespace em
