// http::Server and the process-wide budget of buffered request bodies (issue 19, defect 4), on
// a real io_uring loop on 127.0.0.1: a body is charged from the end of its head (its
// Content-Length; a chunked body as it grows; a body that came with its head when the request
// is complete) until its answer has left; one that would take the total over the budget is
// answered 503 with Retry-After and the connection closed. Buffers that grew past
// buffer_keep_bytes_max for a request shrink back when it is done.
//
// The clients run on the test thread between the loop's turns (run_until's predicate).
#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <string>

#include "base/budget.h"
#include "net/server.h"
#include "net_test_util.h"

namespace em::http {
namespace {

using test::run_until;

/// Answers "echo:<body size>" at once, or holds the request (answer_held() later); records how
/// many receive-buffer bytes each request's body had behind it (the buffer's capacity).
struct Holder : Handler {
    bool hold = false;
    ConnRef held;
    int requests = 0;
    size_t last_readable_bytes = 0;
    void on_request(ServerConn& conn, const Request& request) override {
        requests++;
        last_readable_bytes = conn.readable_bytes_from(request.body.data());
        if (hold) {
            held = conn.ref();
            return;
        }
        conn.respond(200, "text/plain", "echo:" + std::to_string(request.body.size()));
    }
    void answer_held() {
        ASSERT_TRUE(held.valid());
        held.conn->respond(200, "text/plain", "held");
    }
};

std::string head_for_body(size_t body_bytes, bool expect_continue = false) {
    return "POST / HTTP/1.1\r\nHost: x\r\n" +
           std::string(expect_continue ? "Expect: 100-continue\r\n" : "") +
           "Content-Length: " + std::to_string(body_bytes) + "\r\n\r\n";
}

std::string chunk(size_t bytes) {
    char size[32];
    std::snprintf(size, sizeof size, "%zx\r\n", bytes);
    return size + std::string(bytes, 'c') + "\r\n";
}

struct BodyBudget : ::testing::Test {
    std::unique_ptr<io::Loop> loop = test::make_loop();
    Holder handler;
    Server server;
    std::unique_ptr<ByteBudget> budget;

    void start(uint64_t budget_bytes, ServerConfig config = {}) {
        budget = std::make_unique<ByteBudget>(budget_bytes);
        config.body_budget = budget.get();
        auto address = io::resolve("127.0.0.1:0");
        ASSERT_TRUE(address);
        ASSERT_TRUE(server.listen(*loop, *address, handler, config));
    }
    uint16_t port() const { return server.address().port(); }
    /// Turns the loop until `client` received something containing `want` (or closed).
    std::string wait_for(test::RawClient& client, std::string_view want, bool* closed = nullptr) {
        std::string got;
        bool gone = false;
        run_until(
            *loop,
            [&] {
                got += client.receive_available(&gone);
                return gone || got.find(want) != std::string::npos;
            },
            5000);
        if (closed) *closed = gone;
        return got;
    }
    /// Turns the loop until the budget holds `bytes`.
    bool budget_reaches(uint64_t bytes) {
        return run_until(
            *loop, [&] { return budget->reserved_bytes() == bytes; }, 5000);
    }
    void TearDown() override {
        if (budget) {
            EXPECT_TRUE(budget_reaches(0)) << budget->reserved_bytes() << " still reserved";
        }
    }
};

TEST_F(BodyBudget, ABodyOverTheBudgetIs503WithRetryAfterAndTheRestGoesOn) {
    start(100'000);
    test::RawClient first(port());
    first.send(head_for_body(80'000) + std::string(40'000, 'a'));  // half of its body
    ASSERT_TRUE(budget_reaches(80'000));
    test::RawClient second(port());
    second.send(head_for_body(30'000, true));
    bool closed = false;
    std::string refused = wait_for(second, "}", &closed);
    EXPECT_EQ(refused.substr(0, 13), "HTTP/1.1 503 ") << refused;
    EXPECT_NE(refused.find("\r\nRetry-After: 1\r\n"), std::string::npos) << refused;
    EXPECT_NE(refused.find("buffered_body_bytes_max (100000)"), std::string::npos) << refused;
    EXPECT_NE(refused.find("Connection: close"), std::string::npos) << refused;
    if (!closed) wait_for(second, "(nothing more comes)", &closed);
    EXPECT_TRUE(closed);
    EXPECT_EQ(server.stats().buffered_body_refused.load(), 1u);
    EXPECT_EQ(budget->reserved_bytes(), 80'000u);
    // The first body completes and is answered; its reservation goes back once the answer left.
    first.send(std::string(40'000, 'a'));
    EXPECT_NE(wait_for(first, "echo:80000").find("echo:80000"), std::string::npos);
    ASSERT_TRUE(budget_reaches(0));
    // Now the same request fits, on a new connection.
    test::RawClient third(port());
    third.send(head_for_body(30'000) + std::string(30'000, 'b'));
    EXPECT_NE(wait_for(third, "echo:30000").find("echo:30000"), std::string::npos);
    EXPECT_EQ(handler.requests, 2);
}

TEST_F(BodyBudget, AChunkedBodyIsChargedAsItGrowsAndRefusedMidway) {
    start(256 * 1024);
    test::RawClient client(port());
    client.send("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
    std::string got;
    bool closed = false;
    size_t sent = 0;
    // 32 KiB chunks until the server answers: it must refuse before 256 KiB + one step.
    run_until(
        *loop,
        [&] {
            if (sent < 1024 * 1024 && got.empty()) {
                client.send(chunk(32 * 1024));
                sent += 32 * 1024;
            }
            got += client.receive_available(&closed);
            return closed;
        },
        5000);
    EXPECT_EQ(got.substr(0, 13), "HTTP/1.1 503 ") << got;
    EXPECT_NE(got.find("Retry-After: 1"), std::string::npos) << got;
    EXPECT_GT(sent, 192u * 1024);
    EXPECT_LE(sent, 512u * 1024);
    EXPECT_EQ(server.stats().buffered_body_refused.load(), 1u);
    EXPECT_EQ(handler.requests, 0);
}

TEST_F(BodyBudget, ABodyThatCameWithItsHeadIsChargedToo) {
    start(1000);
    test::RawClient small(port());
    small.send(head_for_body(600) + std::string(600, 's'));
    EXPECT_NE(wait_for(small, "echo:600").find("echo:600"), std::string::npos);
    test::RawClient big(port());
    big.send(head_for_body(2000) + std::string(2000, 'b'));  // one segment: complete at once
    std::string got = wait_for(big, "}");
    EXPECT_EQ(got.substr(0, 13), "HTTP/1.1 503 ") << got;
    EXPECT_EQ(handler.requests, 1);
}

TEST_F(BodyBudget, ARequestBeingHandledHoldsItsBodyUntilItsAnswerLeft) {
    start(1'000'000);
    handler.hold = true;
    test::RawClient client(port());
    client.send(head_for_body(5000) + std::string(5000, 'h'));
    ASSERT_TRUE(run_until(
        *loop, [&] { return handler.requests == 1; }, 5000));
    EXPECT_EQ(budget->reserved_bytes(), 5000u);
    handler.answer_held();
    EXPECT_NE(wait_for(client, "held").find("held"), std::string::npos);
    EXPECT_TRUE(budget_reaches(0));
}

TEST_F(BodyBudget, BuffersGrownForALargeRequestShrinkBackWhenItIsDone) {
    ServerConfig config;
    config.buffer_keep_bytes_max = 1u << 20;
    start(64u << 20, config);
    test::RawClient client(port());
    size_t large = 3u << 20;
    client.send(head_for_body(large) + std::string(large, 'L'));
    EXPECT_NE(wait_for(client, "echo:3145728").find("echo:3145728"), std::string::npos);
    EXPECT_GT(handler.last_readable_bytes, large);
    // The next request on the same connection finds a buffer of the initial size again.
    client.send(head_for_body(10) + std::string(10, 's'));
    EXPECT_NE(wait_for(client, "echo:10").find("echo:10"), std::string::npos);
    EXPECT_LE(handler.last_readable_bytes, 4096u + 64u);
    // A buffer that stayed under buffer_keep_bytes_max is kept as it grew (no allocation).
    size_t medium = 200'000;
    client.send(head_for_body(medium) + std::string(medium, 'm'));
    EXPECT_NE(wait_for(client, "echo:200000").find("echo:200000"), std::string::npos);
    client.send(head_for_body(10) + std::string(10, 's'));
    EXPECT_NE(wait_for(client, "echo:10").find("echo:10"), std::string::npos);
    EXPECT_GT(handler.last_readable_bytes, medium);
}

}  // namespace
}  // namespace em::http
