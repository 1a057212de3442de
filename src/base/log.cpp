#include "base/log.h"

#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <ctime>
#include <thread>

#include "base/assert.h"
#include "base/clock.h"
#include "base/queue.h"

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

namespace {

constexpr size_t line_bytes_max = 2048;

/// One formatted line in the async queue.
struct LogLine {
    uint32_t len = 0;
    char text[line_bytes_max - sizeof(uint32_t)];
};

/// The writer thread and its queue. Allocated once by log_start_async() and never freed: a
/// producer may still hold the pointer while log_stop_async() gives up on a stuck writer.
struct AsyncLog {
    explicit AsyncLog(uint32_t lines_max) : queue(lines_max) {}
    MpscQueue<LogLine> queue;
    std::atomic<uint32_t> posted{0};  ///< bumped (and notified) after every push
    std::atomic<bool> stop{false};
    std::atomic<bool> finished{false};
    std::thread thread;
};

std::atomic<AsyncLog*> g_async{nullptr};
AsyncLog* g_async_kept = nullptr;  ///< keeps the never-freed writer reachable (LeakSanitizer)
std::atomic<uint64_t> g_dropped{0};

/// `<UTC time> <LEVEL> ` into out; returns its length.
size_t format_prefix(LogLevel level, char* out, size_t cap) {
    static const char* names[] = {"ERROR", "WARN ", "INFO ", "DEBUG"};
    uint64_t now = wall_ns();
    time_t secs = static_cast<time_t>(now / 1'000'000'000ull);
    struct tm tm_utc;
    gmtime_r(&secs, &tm_utc);
    int n = std::snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ %s ",
                          tm_utc.tm_year + 1900, tm_utc.tm_mon + 1, tm_utc.tm_mday, tm_utc.tm_hour,
                          tm_utc.tm_min, tm_utc.tm_sec,
                          static_cast<unsigned>((now / 1'000'000ull) % 1000),
                          names[static_cast<int>(level) & 3]);
    return n < 0 ? 0 : static_cast<size_t>(n);
}

/// A whole line with its newline into out (cap >= 2); returns its length.
size_t format_line(LogLevel level, char* out, size_t cap, const char* format, va_list args) {
    size_t n = format_prefix(level, out, cap);
    int m = std::vsnprintf(out + n, cap - n - 1, format, args);
    size_t len = n + (m < 0 ? 0 : static_cast<size_t>(m));
    if (len > cap - 2) len = cap - 2;
    out[len++] = '\n';
    return len;
}

/// Blocking write of all bytes (the writer thread, or the synchronous mode).
void write_all(const char* p, size_t n) {
    while (n > 0) {
        ssize_t w = ::write(STDERR_FILENO, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return;  // stderr closed or broken: nothing to be done
        p += w;
        n -= static_cast<size_t>(w);
    }
}

void report_dropped(uint64_t dropped) {
    char line[160];
    size_t n = format_prefix(LogLevel::warn, line, sizeof line);
    int m = std::snprintf(line + n, sizeof line - n,
                          "log: %llu lines dropped so far (stderr did not keep up)\n",
                          static_cast<unsigned long long>(dropped));
    write_all(line, n + (m < 0 ? 0 : static_cast<size_t>(m)));
}

void writer_main(AsyncLog* a) {
    uint64_t reported = 0;
    for (;;) {
        uint32_t seen = a->posted.load(std::memory_order_acquire);
        while (auto line = a->queue.pop()) write_all(line->text, line->len);
        uint64_t dropped = g_dropped.load(std::memory_order_relaxed);
        if (dropped != reported) {
            report_dropped(dropped);
            reported = dropped;
        }
        if (a->stop.load(std::memory_order_acquire) && a->queue.size_approx() == 0) break;
        a->posted.wait(seen, std::memory_order_acquire);
    }
    a->finished.store(true, std::memory_order_release);
}

}  // namespace

void log_write(LogLevel level, const char* format, ...) {
    LogLine line;
    va_list args;
    va_start(args, format);
    line.len = static_cast<uint32_t>(format_line(level, line.text, sizeof line.text, format, args));
    va_end(args);
    AsyncLog* a = g_async.load(std::memory_order_acquire);
    if (a == nullptr) {
        write_all(line.text, line.len);
        return;
    }
    if (!a->queue.push(std::move(line))) {
        g_dropped.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    a->posted.fetch_add(1, std::memory_order_release);
    a->posted.notify_one();
}

void log_start_async(uint32_t lines_max) {
    if (g_async.load(std::memory_order_acquire) != nullptr) return;
    auto* a = new AsyncLog(lines_max);
    g_async_kept = a;
    a->thread = std::thread(writer_main, a);
    g_async.store(a, std::memory_order_release);
}

void log_stop_async(uint32_t flush_ms) {
    AsyncLog* a = g_async.exchange(nullptr, std::memory_order_acq_rel);
    if (a == nullptr) return;
    a->stop.store(true, std::memory_order_release);
    a->posted.fetch_add(1, std::memory_order_release);
    a->posted.notify_one();
    uint64_t deadline = mono_ns() + ms_to_ns(flush_ms);
    while (!a->finished.load(std::memory_order_acquire) && mono_ns() < deadline) {
        ::usleep(1000);
    }
    if (a->finished.load(std::memory_order_acquire)) {
        a->thread.join();
    } else {
        a->thread.detach();  // blocked on stderr: its lines are lost, the process may exit
    }
}

uint64_t log_dropped_total() { return g_dropped.load(std::memory_order_relaxed); }

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
