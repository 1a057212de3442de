#include "base/log.h"

#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <thread>

#include "base/assert.h"
#include "base/clock.h"
#include "base/queue.h"

namespace em {

namespace detail {
std::atomic<uint8_t> g_log_level{static_cast<uint8_t>(LogLevel::info)};
}

namespace {
std::atomic<uint8_t> g_log_format{static_cast<uint8_t>(LogFormat::text)};
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

LogLevel log_level() {
    return static_cast<LogLevel>(detail::g_log_level.load());
}

Result<LogFormat> parse_log_format(std::string_view text) {
    if (iequals(text, "text")) return LogFormat::text;
    if (iequals(text, "json")) return LogFormat::json;
    return failf(Errc::invalid_input, "log format '%.*s' is not one of text, json",
                 static_cast<int>(text.size()), text.data());
}

void log_set_format(LogFormat format) {
    g_log_format.store(static_cast<uint8_t>(format), std::memory_order_relaxed);
}

LogFormat log_format() {
    return static_cast<LogFormat>(g_log_format.load(std::memory_order_relaxed));
}

namespace {

/// One formatted line in the async queue.
struct LogLine {
    uint32_t len = 0;
    char text[log_line_bytes_max];
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

/// `2026-01-02T03:04:05.678Z` (24 characters and a NUL; room for any year) into out.
void format_time(uint64_t wall_ns, char (&out)[64]) {
    time_t secs = static_cast<time_t>(wall_ns / 1'000'000'000ull);
    struct tm tm_utc;
    gmtime_r(&secs, &tm_utc);
    std::snprintf(out, sizeof out, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm_utc.tm_year + 1900,
                  tm_utc.tm_mon + 1, tm_utc.tm_mday, tm_utc.tm_hour, tm_utc.tm_min, tm_utc.tm_sec,
                  static_cast<unsigned>((wall_ns / 1'000'000ull) % 1000));
}

/// Appends to a fixed buffer, keeping `reserve` bytes free for the line's closing part: what
/// does not fit sets `cut` and is left out (a string is cut between characters, never inside
/// an escape or a UTF-8 sequence).
struct LineOut {
    char* p;
    size_t limit;  ///< capacity minus the reserve
    size_t n = 0;
    bool cut = false;

    bool fits(size_t k) const { return !cut && n + k <= limit; }
    void raw(std::string_view s) {
        if (!fits(s.size())) {
            cut = true;
            return;
        }
        std::memcpy(p + n, s.data(), s.size());
        n += s.size();
    }
    /// A JSON string with its quotes; the closing quote always fits (reserved by the caller).
    void json_string(std::string_view s);
};

/// Length of the valid UTF-8 sequence at s[i], or 0 when the bytes there are not one
/// (overlong forms, surrogates, code points past U+10FFFF, truncated sequences).
size_t utf8_sequence(std::string_view s, size_t i) {
    auto byte = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
    uint8_t b = byte(i);
    size_t len;
    uint32_t cp;
    if (b >= 0xc2 && b <= 0xdf)
        len = 2, cp = b & 0x1f;
    else if (b >= 0xe0 && b <= 0xef)
        len = 3, cp = b & 0x0f;
    else if (b >= 0xf0 && b <= 0xf4)
        len = 4, cp = b & 0x07;
    else
        return 0;
    if (i + len > s.size()) return 0;
    for (size_t k = 1; k < len; k++) {
        if ((byte(i + k) & 0xc0) != 0x80) return 0;
        cp = cp << 6 | (byte(i + k) & 0x3f);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return len;
}

void LineOut::json_string(std::string_view s) {
    if (!fits(2)) {
        cut = true;
        return;
    }
    p[n++] = '"';
    limit -= 1;  // the closing quote
    for (size_t i = 0; i < s.size() && !cut;) {
        uint8_t c = static_cast<uint8_t>(s[i]);
        char esc[8];
        std::string_view piece;
        size_t used = 1;
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = static_cast<char>(c);
            piece = std::string_view(esc, 2);
        } else if (c == '\n' || c == '\r' || c == '\t') {
            esc[0] = '\\';
            esc[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
            piece = std::string_view(esc, 2);
        } else if (c < 0x20) {
            std::snprintf(esc, sizeof esc, "\\u%04x", c);
            piece = std::string_view(esc, 6);
        } else if (c < 0x80) {
            piece = s.substr(i, 1);
        } else if (size_t len = utf8_sequence(s, i); len > 0) {
            piece = s.substr(i, len);
            used = len;
        } else {
            piece = "\\ufffd";  // not UTF-8: JSON text must be
        }
        raw(piece);
        i += used;
    }
    limit += 1;
    p[n++] = '"';
}

/// `"truncated":true}` and a newline, or `}` and a newline.
constexpr size_t json_reserve = sizeof(",\"truncated\":true}\n");

size_t render_json(LogLevel level, const char* time, std::span<const LogField> fields,
                   std::string_view message, bool message_cut, char* out, size_t cap) {
    static const char* names[] = {"error", "warn", "info", "debug"};
    LineOut o{out, cap - json_reserve};
    o.raw("{\"ts\":\"");
    o.raw(time);
    o.raw("\",\"level\":\"");
    o.raw(names[static_cast<int>(level) & 3]);
    o.raw("\",\"msg\":");
    o.json_string(message);
    for (const LogField& f : fields) {
        std::string_view key = f.key;
        if (key.empty() || key == "ts" || key == "level" || key == "msg") continue;
        char number[24];
        std::string_view value;
        if (f.kind == LogField::Kind::i64) {
            int m = std::snprintf(number, sizeof number, "%lld", static_cast<long long>(f.i64));
            value = std::string_view(number, static_cast<size_t>(m));
        } else if (f.kind == LogField::Kind::u64) {
            int m = std::snprintf(number, sizeof number, "%llu",
                                  static_cast<unsigned long long>(f.u64));
            value = std::string_view(number, static_cast<size_t>(m));
        } else if (f.kind == LogField::Kind::boolean) {
            value = f.u64 ? "true" : "false";
        }
        // The key and at least an empty string or the whole number, or nothing of the field.
        size_t need = key.size() + 4 + (f.kind == LogField::Kind::text ? 2 : value.size());
        if (!o.fits(need)) {
            o.cut = true;
            break;
        }
        o.raw(",\"");
        o.raw(key);
        o.raw("\":");
        if (f.kind == LogField::Kind::text)
            o.json_string(f.text);
        else
            o.raw(value);
    }
    o.limit = cap;
    if (o.cut || message_cut) {
        o.cut = false;
        o.raw(",\"truncated\":true");
    }
    o.raw("}\n");
    return o.n;
}

/// `<UTC time> <LEVEL> <message>` and a newline, cut to cap.
size_t render_text(LogLevel level, const char* time, std::string_view message, char* out,
                   size_t cap) {
    static const char* names[] = {"ERROR", "WARN ", "INFO ", "DEBUG"};
    int n = std::snprintf(out, cap, "%s %s ", time, names[static_cast<int>(level) & 3]);
    size_t len = n < 0 ? 0 : static_cast<size_t>(n);
    if (len > cap - 1) len = cap - 1;
    size_t room = cap - 1 - len;
    size_t take = message.size() < room ? message.size() : room;
    std::memcpy(out + len, message.data(), take);
    len += take;
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
    char message[96];
    int m = std::snprintf(message, sizeof message,
                          "log: %llu lines dropped so far (stderr did not keep up)",
                          static_cast<unsigned long long>(dropped));
    const LogField fields[] = {log_field("dropped", dropped)};
    char line[256];
    size_t n = log_render(log_format(), LogLevel::warn, wall_ns(), fields,
                          std::string_view(message, m < 0 ? 0 : static_cast<size_t>(m)), line,
                          sizeof line);
    write_all(line, n);
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

void log_emit(LogLevel level, std::span<const LogField> fields, const char* format, va_list args) {
    char message[log_line_bytes_max];
    int m = std::vsnprintf(message, sizeof message, format, args);
    size_t len = m < 0 ? 0 : static_cast<size_t>(m);
    bool message_cut = len >= sizeof message;
    if (message_cut) len = sizeof message - 1;
    LogLine line;
    LogFormat f = log_format();
    uint64_t now = wall_ns();
    if (f == LogFormat::json && message_cut) {
        // Rendered here to pass the cut on: log_render cannot see it.
        char time[64];
        format_time(now, time);
        line.len =
            static_cast<uint32_t>(render_json(level, time, fields, std::string_view(message, len),
                                              true, line.text, sizeof line.text));
    } else {
        line.len = static_cast<uint32_t>(log_render(
            f, level, now, fields, std::string_view(message, len), line.text, sizeof line.text));
    }
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

}  // namespace

size_t log_render(LogFormat format, LogLevel level, uint64_t wall_ns,
                  std::span<const LogField> fields, std::string_view message, char* out,
                  size_t cap) {
    EM_ASSERT(cap >= 128);
    char time[64];
    format_time(wall_ns, time);
    if (format == LogFormat::json)
        return render_json(level, time, fields, message, false, out, cap);
    return render_text(level, time, message, out, cap);
}

void log_write(LogLevel level, const char* format, ...) {
    va_list args;
    va_start(args, format);
    log_emit(level, {}, format, args);
    va_end(args);
}

void log_write_fields(LogLevel level, std::span<const LogField> fields, const char* format, ...) {
    va_list args;
    va_start(args, format);
    log_emit(level, fields, format, args);
    va_end(args);
}

void log_failure(const char* program, std::string_view message) {
    char line[log_line_bytes_max];
    size_t n;
    if (log_format() == LogFormat::json) {
        char text[log_line_bytes_max];
        int m = std::snprintf(text, sizeof text, "%s: %.*s", program,
                              static_cast<int>(message.size()), message.data());
        size_t len = m < 0 ? 0 : static_cast<size_t>(m);
        if (len > sizeof text - 1) len = sizeof text - 1;
        n = log_render(LogFormat::json, LogLevel::error, wall_ns(), {}, std::string_view(text, len),
                       line, sizeof line);
    } else {
        int m = std::snprintf(line, sizeof line - 1, "%s: %.*s", program,
                              static_cast<int>(message.size()), message.data());
        n = m < 0 ? 0 : static_cast<size_t>(m);
        if (n > sizeof line - 2) n = sizeof line - 2;
        line[n++] = '\n';
    }
    write_all(line, n);
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

uint64_t log_dropped_total() {
    return g_dropped.load(std::memory_order_relaxed);
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
    int n = std::snprintf(text, sizeof text, "enginemux: assertion failed: %s (%s:%d)", condition,
                          file, line);
    size_t len = n > 0 ? static_cast<size_t>(n) : 0;
    if (len > sizeof text - 1) len = sizeof text - 1;
    char out[1024];
    size_t out_len;
    if (log_format() == LogFormat::json) {
        out_len = log_render(LogFormat::json, LogLevel::error, wall_ns(), {},
                             std::string_view(text, len), out, sizeof out);
    } else {
        std::memcpy(out, text, len);
        out[len] = '\n';
        out_len = len + 1;
    }
    ssize_t ignored = ::write(STDERR_FILENO, out, out_len);
    (void)ignored;
    __builtin_trap();
}

}  // namespace em
