#include "base/log.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include <simdjson.h>

namespace em {
namespace {

TEST(Log, ParsesLevelsAndNamesBadOnes) {
    EXPECT_EQ(*parse_log_level("WARN"), LogLevel::warn);
    EXPECT_EQ(*parse_log_level("debug"), LogLevel::debug);
    auto bad = parse_log_level("loud");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().message(), "log level 'loud' is not one of error, warn, info, debug");
}

// 2026-01-02T03:04:05.678Z
constexpr uint64_t t0_ns = 1'767'323'045'678'000'000ull;

std::string render(LogFormat format, std::span<const LogField> fields, std::string_view message,
                   size_t cap = log_line_bytes_max) {
    std::string out(cap, '\0');
    size_t n = log_render(format, LogLevel::warn, t0_ns, fields, message, out.data(), cap);
    EXPECT_LE(n, cap);
    out.resize(n);
    return out;
}

/// The line parsed strictly as one JSON object (simdjson validates UTF-8 and escapes).
simdjson::dom::object parse(simdjson::dom::parser& parser, const std::string& line) {
    EXPECT_FALSE(line.empty());
    EXPECT_EQ(line.back(), '\n');
    EXPECT_EQ(line.find('\n'), line.size() - 1) << "one object per line";
    simdjson::dom::object object;
    auto error = parser.parse(line).get(object);
    EXPECT_EQ(error, simdjson::SUCCESS) << simdjson::error_message(error) << " in: " << line;
    return object;
}

std::string_view text_of(simdjson::dom::object o, const char* key) {
    std::string_view v;
    if (o[key].get(v) != simdjson::SUCCESS) return "<missing>";
    return v;
}

TEST(Log, ParsesFormatsAndNamesBadOnes) {
    EXPECT_EQ(*parse_log_format("JSON"), LogFormat::json);
    EXPECT_EQ(*parse_log_format("text"), LogFormat::text);
    auto bad = parse_log_format("yaml");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().message(), "log format 'yaml' is not one of text, json");
}

TEST(Log, TextFormatIsTimeLevelMessage) {
    const LogField fields[] = {log_field("node", "el1")};
    EXPECT_EQ(render(LogFormat::text, fields, "node el1 is dead: refused"),
              "2026-01-02T03:04:05.678Z WARN  node el1 is dead: refused\n");
}

TEST(Log, JsonHasStableKeysThenTypedFields) {
    const LogField fields[] = {log_field("node", std::string_view("el1")),
                               log_field("head", int64_t{-3}), log_field("probes", 7u),
                               log_field("primary", true)};
    std::string line = render(LogFormat::json, fields, "node el1 is synced");
    EXPECT_EQ(line,
              "{\"ts\":\"2026-01-02T03:04:05.678Z\",\"level\":\"warn\",\"msg\":\"node el1 is "
              "synced\",\"node\":\"el1\",\"head\":-3,\"probes\":7,\"primary\":true}\n");
    simdjson::dom::parser parser;
    simdjson::dom::object o = parse(parser, line);
    int64_t head = 0;
    ASSERT_EQ(o["head"].get(head), simdjson::SUCCESS);
    EXPECT_EQ(head, -3);
}

TEST(Log, JsonEscapesQuotesControlsAndBadUtf8) {
    // Quotes, backslash, newline, tab, a bell, valid 2-, 3- and 4-byte UTF-8, then bytes that
    // are not UTF-8: a lone continuation, an overlong '/', a surrogate, a cut sequence.
    std::string nasty =
        "a\"b\\c\nd\te\x07"
        "f \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \x80 \xc0\xaf "
        "\xed\xa0\x80 \xe2\x82";
    const LogField fields[] = {log_field("validation_error", nasty)};
    std::string line = render(LogFormat::json, fields, nasty);
    simdjson::dom::parser parser;
    simdjson::dom::object o = parse(parser, line);
    std::string want =
        "a\"b\\c\nd\te\x07"
        "f \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xef\xbf\xbd "
        "\xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd "
        "\xef\xbf\xbd\xef\xbf\xbd";
    EXPECT_EQ(text_of(o, "msg"), want);
    EXPECT_EQ(text_of(o, "validation_error"), want);
    EXPECT_NE(line.find("\\u0007"), std::string::npos);
}

TEST(Log, JsonSkipsReservedKeys) {
    const LogField fields[] = {log_field("msg", "spoofed"), log_field("level", "error"),
                               log_field("ts", "0"), log_field("node", "el2")};
    std::string line = render(LogFormat::json, fields, "real");
    EXPECT_EQ(line.find("spoofed"), std::string::npos);
    simdjson::dom::parser parser;
    simdjson::dom::object o = parse(parser, line);
    EXPECT_EQ(text_of(o, "msg"), "real");
    EXPECT_EQ(text_of(o, "level"), "warn");
    EXPECT_EQ(text_of(o, "node"), "el2");
}

// A line at the limit is cut, never broken: every cap from the smallest allowed up, with long
// escapes and multi-byte characters at every position, still parses and says it was cut.
TEST(Log, JsonCutAtAnyLengthStaysValid) {
    std::string message;
    for (int i = 0; i < 40; i++) message += "x\"\xe2\x82\xac\x01";
    const LogField fields[] = {log_field("node", message), log_field("calls", 123456789u)};
    simdjson::dom::parser parser;
    size_t cut_seen = 0;
    for (size_t cap = 128; cap <= 700; cap++) {
        std::string line = render(LogFormat::json, fields, message, cap);
        simdjson::dom::object o = parse(parser, line);
        if (::testing::Test::HasFailure()) FAIL() << "cap " << cap;
        bool cut = false;
        if (o["truncated"].get(cut) == simdjson::SUCCESS && cut)
            cut_seen++;
        else
            EXPECT_EQ(text_of(o, "node"), message) << "cap " << cap;
    }
    EXPECT_GT(cut_seen, 400u);
    std::string whole = render(LogFormat::json, fields, message);
    EXPECT_EQ(whole.find("truncated"), std::string::npos);
}

TEST(Log, MessageLongerThanALineIsMarkedCut) {
    int pipe_fds[2];
    ASSERT_EQ(pipe2(pipe_fds, O_CLOEXEC), 0);
    int saved_stderr = dup(STDERR_FILENO);
    ASSERT_EQ(dup2(pipe_fds[1], STDERR_FILENO), STDERR_FILENO);
    log_set_format(LogFormat::json);
    std::string big(5000, 'y');
    EM_LOG_FIELDS(LogLevel::error, (log_field("node", "el3"), log_field("head", 5)), "big %s",
                  big.c_str());
    EM_LOG_LIMITED_FIELDS(LogLevel::error, 1, (log_field("reason", "quorum")), "small");
    log_set_format(LogFormat::text);
    dup2(saved_stderr, STDERR_FILENO);
    close(saved_stderr);
    close(pipe_fds[1]);
    std::string text;
    char buffer[16384];
    ssize_t n;
    while ((n = read(pipe_fds[0], buffer, sizeof buffer)) > 0)
        text.append(buffer, static_cast<size_t>(n));
    close(pipe_fds[0]);
    size_t first_end = text.find('\n');
    ASSERT_NE(first_end, std::string::npos);
    std::string first = text.substr(0, first_end + 1), second = text.substr(first_end + 1);
    EXPECT_LE(first.size(), log_line_bytes_max);
    simdjson::dom::parser parser;
    simdjson::dom::object o = parse(parser, first);
    bool cut = false;
    EXPECT_EQ(o["truncated"].get(cut), simdjson::SUCCESS);
    EXPECT_TRUE(cut);
    EXPECT_EQ(text_of(o, "level"), "error");
    simdjson::dom::parser parser2;
    simdjson::dom::object o2 = parse(parser2, second);
    EXPECT_EQ(text_of(o2, "msg"), "small");
    EXPECT_EQ(text_of(o2, "reason"), "quorum");
}

TEST(Log, RateLimitAllowsBurstThenSuppresses) {
    LogRateLimit limit(1, 3);
    int allowed = 0;
    for (int i = 0; i < 10; i++) allowed += limit.allow() ? 1 : 0;
    EXPECT_EQ(allowed, 3);
    EXPECT_EQ(limit.take_suppressed(), 7u);
}

// A stderr nobody reads (a stalled journald, a full pipe) must not stall the threads that log:
// with the async writer, log_write() returns, lines beyond the queue are dropped and counted,
// and the writer reports the count once stderr moves again.
TEST(Log, AsyncWriterNeverBlocksTheCallerWhenStderrIsBlocked) {
    int pipe_fds[2];
    ASSERT_EQ(pipe2(pipe_fds, O_CLOEXEC), 0);
    int saved_stderr = dup(STDERR_FILENO);
    ASSERT_GE(saved_stderr, 0);
    ASSERT_EQ(dup2(pipe_fds[1], STDERR_FILENO), STDERR_FILENO);
    log_start_async(16);

    // Far more than the pipe (64 KiB) and the queue (16 lines) hold, from another thread so a
    // blocked caller shows up as a thread that never finishes rather than a hung test binary.
    std::atomic<bool> done{false};
    std::thread caller([&] {
        for (int i = 0; i < 5000; i++) log_write(LogLevel::error, "line %d %0200d", i, 0);
        done = true;
    });
    for (int waited_ms = 0; !done && waited_ms < 20'000; waited_ms += 10) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    bool returned = done;
    uint64_t dropped = log_dropped_total();

    // Unblock stderr: read what the writer wrote; it must end with the drop report.
    ASSERT_EQ(fcntl(pipe_fds[0], F_SETFL, O_NONBLOCK), 0);
    std::string text;
    char buffer[65536];
    for (int idle_ms = 0; idle_ms < 500;) {
        ssize_t n = read(pipe_fds[0], buffer, sizeof buffer);
        if (n > 0) {
            text.append(buffer, static_cast<size_t>(n));
            idle_ms = 0;
        } else {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
            idle_ms += 10;
        }
        if (text.find("lines dropped") != std::string::npos && idle_ms > 50) break;
    }
    log_stop_async(2000);
    dup2(saved_stderr, STDERR_FILENO);
    close(saved_stderr);
    caller.join();
    close(pipe_fds[0]);
    close(pipe_fds[1]);

    EXPECT_TRUE(returned) << "log_write blocked on a stderr nobody reads";
    EXPECT_GT(dropped, 0u);
    EXPECT_LT(dropped, 5000u);
    EXPECT_NE(text.find("line 0 "), std::string::npos);
    EXPECT_NE(text.find("lines dropped so far (stderr did not keep up)"), std::string::npos);
    // After the stop, logging is synchronous again (and goes to the restored stderr).
    log_write(LogLevel::debug, "synchronous again");
}

}  // namespace
}  // namespace em
