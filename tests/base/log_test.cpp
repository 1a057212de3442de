#include "base/log.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

namespace em {
namespace {

TEST(Log, ParsesLevelsAndNamesBadOnes) {
    EXPECT_EQ(*parse_log_level("WARN"), LogLevel::warn);
    EXPECT_EQ(*parse_log_level("debug"), LogLevel::debug);
    auto bad = parse_log_level("loud");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().message(), "log level 'loud' is not one of error, warn, info, debug");
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
