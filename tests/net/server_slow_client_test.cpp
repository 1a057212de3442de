// http::Server against slow and hoarding clients (issue 19, defect 3: slowloris), on a real
// io_uring loop on 127.0.0.1: header_timeout_ms and body_timeout_ms are deadlines for the whole
// head / body (a byte now and then does not extend them), a body slower than
// body_rate_min_bytes_s is cut after its first second, an answer must leave within
// body_timeout_ms, and at connections_max a new connection evicts the connection that has waited
// longest without a complete request (then the longest idle one) instead of being refused.
//
// The clients run on the test thread between the loop's turns (run_until's predicate), so the
// byte-by-byte timing needs no second thread. Time bounds are generous: they check that a
// deadline cut the connection, not how fast.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include "http/writer.h"
#include "net/client.h"
#include "net/server.h"
#include "net_test_util.h"

namespace em::http {
namespace {

using test::run_until;

constexpr uint64_t ms_ns = 1'000'000;

/// Answers "echo:<body>" at once.
struct Echo : Handler {
    int requests = 0;
    void on_request(ServerConn& conn, const Request& request) override {
        requests++;
        conn.respond(200, "text/plain", "echo:" + std::string(request.body));
    }
};

/// A raw client that sends its bytes `step_bytes` at a time, one step every `interval_ms`,
/// driven by poll() calls from the loop's turns; it collects what the server sends.
struct Trickler {
    Trickler(uint16_t port, std::string wire_bytes, size_t step, uint32_t interval_ms)
        : client(port),
          wire(std::move(wire_bytes)),
          step_bytes(step),
          interval_ns(interval_ms * ms_ns) {}
    test::RawClient client;
    std::string wire;
    size_t step_bytes;
    uint64_t interval_ns;
    size_t sent = 0;
    uint64_t next_ns = 0;
    uint64_t first_ns = 0;   ///< when the first byte left
    uint64_t closed_ns = 0;  ///< when the server's close was seen
    std::string got;
    bool closed = false;

    /// Sends the next step if it is due; reads what arrived. Returns closed.
    bool poll() {
        uint64_t now = mono_ns();
        if (!closed && sent < wire.size() && now >= next_ns) {
            size_t n = std::min(step_bytes, wire.size() - sent);
            ssize_t r = ::send(client.fd(), wire.data() + sent, n, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (r > 0) {
                if (sent == 0) first_ns = now;
                sent += static_cast<size_t>(r);
            }
            next_ns = now + interval_ns;
        }
        if (!closed) {
            got += client.receive_available(&closed);
            if (closed) closed_ns = mono_ns();
        }
        return closed;
    }
    /// Milliseconds from the first byte sent to the close seen.
    uint64_t cut_after_ms() const { return (closed_ns - first_ns) / ms_ns; }
    bool answered(std::string_view status_line) const {
        return got.compare(0, status_line.size(), status_line) == 0;
    }
};

std::string head_with_padding(size_t pad_bytes) {
    return "POST / HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(pad_bytes, 'p') +
           "\r\nContent-Length: 2\r\n\r\nhi";
}

std::string head_for_body(size_t body_bytes) {
    return "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body_bytes) +
           "\r\n\r\n";
}

struct SlowClients : ::testing::Test {
    std::unique_ptr<io::Loop> loop = test::make_loop();
    Echo handler;
    Server server;

    void start(const ServerConfig& config) {
        auto address = io::resolve("127.0.0.1:0");
        ASSERT_TRUE(address);
        ASSERT_TRUE(server.listen(*loop, *address, handler, config));
    }
    uint16_t port() const { return server.address().port(); }
    /// Turns the loop, stepping every trickler, until `done` or timeout_ms.
    template <typename Done>
    bool drive(std::vector<Trickler*> clients, Done done, uint64_t timeout_ms) {
        return run_until(
            *loop,
            [&] {
                for (Trickler* t : clients) t->poll();
                return done();
            },
            timeout_ms);
    }
    /// A complete request on a fresh raw connection; returns what came back once answered.
    std::string whole_request(test::RawClient& client, std::string_view body,
                              uint64_t timeout_ms = 5000) {
        client.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) +
                    "\r\n\r\n" + std::string(body));
        std::string got;
        std::string want = "echo:" + std::string(body);
        run_until(
            *loop,
            [&] {
                got += client.receive_available();
                return got.find(want) != std::string::npos;
            },
            timeout_ms);
        return got;
    }
};

TEST_F(SlowClients, HeaderTrickleIsCutAtTheHeaderDeadline) {
    ServerConfig config;
    config.header_timeout_ms = 500;
    start(config);
    // One byte every 100 ms: each byte comes well inside 500 ms of the previous one, but the
    // whole head (~240 bytes) would take 24 s.
    Trickler slow(port(), head_with_padding(200), 1, 100);
    ASSERT_TRUE(drive(
        {&slow}, [&] { return slow.closed; }, 4000))
        << "still open after 4 s, " << slow.sent << " bytes sent";
    EXPECT_TRUE(slow.answered("HTTP/1.1 408 ")) << slow.got;
    EXPECT_NE(slow.got.find("header_timeout_ms"), std::string::npos) << slow.got;
    EXPECT_GE(slow.cut_after_ms(), 400u);
    EXPECT_LT(slow.cut_after_ms(), 2000u);
    EXPECT_EQ(handler.requests, 0);
}

TEST_F(SlowClients, TrickleAfterAKeepAliveAnswerIsCutByTheHeaderDeadlineNotKeptIdle) {
    ServerConfig config;
    config.header_timeout_ms = 500;
    config.idle_timeout_ms = 60'000;
    start(config);
    Trickler client(port(), "", 1, 100);
    EXPECT_NE(whole_request(client.client, "first").find("echo:first"), std::string::npos);
    // Idle is fine: nothing is cut while the connection sends nothing.
    run_until(
        *loop, [&] { return client.poll(); }, 700);
    ASSERT_FALSE(client.closed) << "an idle keep-alive connection was cut by the header deadline";
    // Now its next request trickles in: the header deadline runs from its first byte.
    client.wire = head_with_padding(200);
    client.got.clear();
    ASSERT_TRUE(drive(
        {&client}, [&] { return client.closed; }, 4000))
        << "still open after 4 s, " << client.sent << " bytes sent";
    EXPECT_TRUE(client.answered("HTTP/1.1 408 ")) << client.got;
    EXPECT_GE(client.cut_after_ms(), 400u);
    EXPECT_LT(client.cut_after_ms(), 2000u);
}

TEST_F(SlowClients, BodyTrickleIsCutAtTheBodyDeadline) {
    ServerConfig config;
    config.body_timeout_ms = 500;
    start(config);
    // The head at once, then the 100-byte body one byte every 100 ms.
    std::string head = head_for_body(100);
    Trickler slow(port(), head + std::string(100, 'b'), 1, 100);
    slow.client.send(head);
    slow.sent = head.size();
    slow.first_ns = mono_ns();
    ASSERT_TRUE(drive(
        {&slow}, [&] { return slow.closed; }, 4000))
        << "still open after 4 s, " << slow.sent - head.size() << " body bytes sent";
    EXPECT_TRUE(slow.answered("HTTP/1.1 408 ")) << slow.got;
    EXPECT_NE(slow.got.find("body_timeout_ms"), std::string::npos) << slow.got;
    EXPECT_GE(slow.cut_after_ms(), 400u);
    EXPECT_LT(slow.cut_after_ms(), 2000u);
    EXPECT_EQ(handler.requests, 0);
}

TEST_F(SlowClients, ExpectContinueGetsItsInterimAnswerAndTheBodyKeepsItsDeadline) {
    ServerConfig config;
    config.body_timeout_ms = 500;
    start(config);
    // A prompt client: 100 Continue, then its body, then the answer on the same connection.
    test::RawClient prompt(port());
    prompt.send("POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
    std::string got;
    ASSERT_TRUE(run_until(
        *loop,
        [&] {
            got += prompt.receive_available();
            return got.find("\r\n\r\n") != std::string::npos;
        },
        5000));
    EXPECT_TRUE(got.starts_with("HTTP/1.1 100 Continue\r\n")) << got;
    prompt.send("body");
    ASSERT_TRUE(run_until(
        *loop,
        [&] {
            got += prompt.receive_available();
            return got.find("echo:body") != std::string::npos;
        },
        5000))
        << got;
    // A client that takes its 100 Continue and then trickles: the body deadline still holds.
    std::string head =
        "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 100\r\n\r\n";
    Trickler slow(port(), head + std::string(100, 'b'), 1, 100);
    slow.client.send(head);
    slow.sent = head.size();
    slow.first_ns = mono_ns();
    ASSERT_TRUE(drive(
        {&slow}, [&] { return slow.closed; }, 4000));
    EXPECT_TRUE(slow.answered("HTTP/1.1 100 Continue\r\n")) << slow.got;
    EXPECT_NE(slow.got.find("HTTP/1.1 408 "), std::string::npos) << slow.got;
    EXPECT_LT(slow.cut_after_ms(), 2000u);
    EXPECT_EQ(handler.requests, 1);
}

TEST_F(SlowClients, LargeBodyBelowTheMinimumRateIsCutAfterTheFirstSecond) {
    start(ServerConfig{});  // body_rate_min_bytes_s = 65536, body_timeout_ms = 60 s
    // 4 KiB every 100 ms is 40 KiB/s: under the minimum, so cut once the body has taken 1 s.
    const size_t body_bytes = 4u << 20;
    std::string head = head_for_body(body_bytes);
    Trickler slow(port(), head + std::string(body_bytes, 's'), 4096, 100);
    slow.client.send(head);
    slow.sent = head.size();
    slow.first_ns = mono_ns();
    ASSERT_TRUE(drive(
        {&slow}, [&] { return slow.closed; }, 5000))
        << "still open after 5 s, " << slow.sent - head.size() << " body bytes sent";
    EXPECT_TRUE(slow.answered("HTTP/1.1 408 ")) << slow.got.substr(0, 200);
    EXPECT_NE(slow.got.find("body_rate_min_bytes_s"), std::string::npos) << slow.got.substr(0, 200);
    EXPECT_GE(slow.cut_after_ms(), 900u);
    EXPECT_LT(slow.cut_after_ms(), 3000u);
    EXPECT_EQ(handler.requests, 0);
}

TEST_F(SlowClients, LargeBodyAtAGoodRatePassesEvenWhenItTakesSeconds) {
    start(ServerConfig{});
    // 32 KiB every 100 ms is 320 KiB/s, 5x the minimum: ~2.5 s for 800 KiB, never cut.
    const size_t body_bytes = 800u << 10;
    std::string head = head_for_body(body_bytes);
    Trickler steady(port(), head + std::string(body_bytes, 'g'), 32768, 100);
    steady.client.send(head);
    steady.sent = head.size();
    std::string want = "echo:" + std::string(64, 'g');
    ASSERT_TRUE(drive(
        {&steady}, [&] { return steady.got.find(want) != std::string::npos || steady.closed; },
        10'000));
    EXPECT_TRUE(steady.answered("HTTP/1.1 200 ")) << steady.got.substr(0, 200);
    EXPECT_FALSE(steady.closed);
    EXPECT_EQ(handler.requests, 1);
}

TEST_F(SlowClients, AnswerMustLeaveWithinTheBodyDeadlineForASlowReader) {
    ServerConfig config;
    config.body_timeout_ms = 1000;
    start(config);
    // A client with a 64 KiB receive window that reads 64 KiB every 20 ms (~3 MB/s) asks for a
    // 24 MiB answer: the server's sends complete piece by piece as the client drains (before the
    // fix each one restarted the timer and the connection was still sending after 8 s), but the
    // whole answer takes ~8 s.
    test::RawClient client(port());
    int rcvbuf = 65536;
    ASSERT_EQ(::setsockopt(client.fd(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf), 0);
    // Upload at full speed, between the loop's turns (the server must read as it arrives).
    const size_t body_bytes = 24u << 20;
    std::string wire = head_for_body(body_bytes) + std::string(body_bytes, 'r');
    size_t sent = 0;
    ASSERT_TRUE(run_until(
        *loop,
        [&] {
            if (sent < wire.size()) {
                ssize_t r = ::send(client.fd(), wire.data() + sent, wire.size() - sent,
                                   MSG_NOSIGNAL | MSG_DONTWAIT);
                if (r > 0) sent += static_cast<size_t>(r);
            }
            return handler.requests == 1;
        },
        10'000));
    uint64_t answer_ns = mono_ns();
    uint64_t next_read_ns = 0;
    size_t received = 0;
    std::vector<char> buf(65536);
    // The server's side is what counts: its connection (the slot) is gone. What the kernel
    // already buffered may still reach the client afterwards.
    ASSERT_TRUE(run_until(
        *loop,
        [&] {
            if (mono_ns() >= next_read_ns) {
                next_read_ns = mono_ns() + 20 * ms_ns;
                ssize_t n = ::recv(client.fd(), buf.data(), buf.size(), MSG_DONTWAIT);
                if (n > 0) received += static_cast<size_t>(n);
            }
            return server.connections() == 0;
        },
        8000))
        << "still open after 8 s, " << received << " bytes read";
    EXPECT_LT(received, body_bytes);
    EXPECT_LT((mono_ns() - answer_ns) / ms_ns, 6000u);
    EXPECT_EQ(server.stats().send_deadline, 1u);
}

/// Opens n clients that each send a partial head, one at a time, until the server holds them.
std::vector<std::unique_ptr<Trickler>> open_tricklers(SlowClients& t, size_t n) {
    std::vector<std::unique_ptr<Trickler>> out;
    uint32_t before = t.server.connections();
    for (size_t i = 0; i < n; i++) {
        out.push_back(std::make_unique<Trickler>(t.port(), head_with_padding(4000), 1, 100));
        Trickler* last = out.back().get();
        uint32_t want = before + static_cast<uint32_t>(i + 1);
        EXPECT_TRUE(run_until(
            *t.loop,
            [&] {
                last->poll();
                return t.server.connections() >= want && last->sent > 0;
            },
            5000))
            << "trickler " << i;
    }
    return out;
}

TEST_F(SlowClients, AtConnectionsMaxANewRequestEvictsTheOldestTrickler) {
    ServerConfig config;
    config.connections_max = 4;
    config.header_timeout_ms = 30'000;  // the deadline is not what frees a slot here
    start(config);
    auto tricklers = open_tricklers(*this, 4);
    ASSERT_EQ(server.connections(), 4u);
    std::vector<Trickler*> all;
    for (auto& t : tricklers) all.push_back(t.get());
    // Another trickler arrives first: it evicts the oldest (tricklers[0]) and takes its slot.
    Trickler late(port(), head_with_padding(4000), 1, 100);
    all.push_back(&late);
    ASSERT_TRUE(drive(
        all, [&] { return tricklers[0]->closed; }, 5000));
    EXPECT_TRUE(tricklers[0]->answered("HTTP/1.1 408 ")) << tricklers[0]->got;
    // Then a client with a complete request: served, and the next oldest (tricklers[1]) goes.
    test::RawClient fresh(port());
    std::string got;
    fresh.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nnow");
    ASSERT_TRUE(drive(
        all,
        [&] {
            got += fresh.receive_available();
            return got.find("echo:now") != std::string::npos;
        },
        5000))
        << "the complete request was not served: " << got;
    EXPECT_TRUE(got.starts_with("HTTP/1.1 200 ")) << got;
    ASSERT_TRUE(drive(
        all, [&] { return tricklers[1]->closed; }, 5000));
    EXPECT_TRUE(tricklers[1]->answered("HTTP/1.1 408 ")) << tricklers[1]->got;
    for (size_t i = 2; i < tricklers.size(); i++) EXPECT_FALSE(tricklers[i]->closed) << i;
    EXPECT_FALSE(late.closed);
    EXPECT_EQ(server.stats().evicted_partial, 2u);
    EXPECT_EQ(server.stats().rejected_full, 0u);
}

TEST_F(SlowClients, EvictionTakesPartialRequestsBeforeAnIdleKeepAliveConnection) {
    ServerConfig config;
    config.connections_max = 3;
    config.header_timeout_ms = 30'000;
    start(config);
    // The "CL": a keep-alive connection that completed a request and now waits for its next.
    Endpoint endpoint{server.address(), "127.0.0.1", "/", nullptr, ""};
    ClientConn cl(*loop, endpoint, Limits{}, 1000);
    test::CloseAtExit close_cl_at_exit{*loop, cl};
    struct Outcome : ClientCallback {
        int done = 0, status = 0;
        void on_response(ClientConn&, const Response* r, const Error*) override {
            done++;
            status = r ? r->status : 0;
        }
    } outcome;
    auto call = [&] {
        size_t mark = begin_request(cl.request(), "POST", "127.0.0.1", "/", "", "text/plain");
        cl.request().append("cl");
        end_request(cl.request(), mark);
        int before = outcome.done;
        cl.start(&outcome, loop->now_ns() + 5'000 * ms_ns);
        return run_until(
                   *loop, [&] { return outcome.done > before; }, 5000) &&
               outcome.status == 200;
    };
    ASSERT_TRUE(call());
    // Two tricklers fill the other slots; a flood of three more keeps evicting tricklers, never
    // the idle keep-alive connection that was there first.
    auto tricklers = open_tricklers(*this, 2);
    std::vector<std::unique_ptr<Trickler>> flood;
    for (int i = 0; i < 3; i++) {
        flood.push_back(std::make_unique<Trickler>(port(), head_with_padding(4000), 1, 100));
        Trickler* f = flood.back().get();
        ASSERT_TRUE(run_until(
            *loop,
            [&] {
                f->poll();
                for (auto& t : tricklers) t->poll();
                return server.stats().evicted_partial >= static_cast<uint64_t>(i + 1);
            },
            5000))
            << i;
    }
    EXPECT_EQ(server.stats().evicted_idle, 0u);
    ASSERT_TRUE(call());
    EXPECT_EQ(cl.reuse_count(), 2u) << "the idle keep-alive connection was closed";
}

TEST_F(SlowClients, WithoutPartialRequestsTheLongestIdleConnectionIsEvicted) {
    ServerConfig config;
    config.connections_max = 2;
    start(config);
    test::RawClient older(port());
    ASSERT_NE(whole_request(older, "older").find("echo:older"), std::string::npos);
    test::RawClient newer(port());
    ASSERT_NE(whole_request(newer, "newer").find("echo:newer"), std::string::npos);
    test::RawClient third(port());
    ASSERT_NE(whole_request(third, "third").find("echo:third"), std::string::npos)
        << "refused at connections_max with two idle connections";
    bool older_closed = false, newer_closed = false;
    ASSERT_TRUE(run_until(
        *loop,
        [&] {
            older.receive_available(&older_closed);
            return older_closed;
        },
        5000));
    newer.receive_available(&newer_closed);
    EXPECT_FALSE(newer_closed);
    EXPECT_EQ(server.stats().evicted_idle, 1u);
}

}  // namespace
}  // namespace em::http
