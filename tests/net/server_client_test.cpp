// http::Server and http::ClientConn on real io_uring sockets on 127.0.0.1: keep-alive reuse,
// pipelining, limits (413/431), slow clients (408), deadlines, the keep-alive retry, clients
// that go away while their request is being handled.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "http/writer.h"
#include "net/client.h"
#include "net/server.h"
#include "net_test_util.h"

namespace em::http {
namespace {

using test::run_until;

/// Answers "echo:<body>" at once, or after delay_ms, or never (hang).
struct EchoHandler : Handler {
    io::Loop* loop = nullptr;
    uint32_t delay_ms = 0;
    bool hang = false;
    int requests = 0;
    std::vector<ConnRef> held;
    struct Later {
        io::Timer timer;
        ConnRef ref;
        std::string body;
        bool stale = false;
    };
    std::vector<std::unique_ptr<Later>> later;

    void on_request(ServerConn& conn, const Request& request) override {
        requests++;
        std::string body = "echo:" + std::string(request.body);
        if (hang) {
            held.push_back(conn.ref());
            return;
        }
        if (delay_ms == 0) {
            conn.respond(200, "text/plain", body);
            return;
        }
        auto l = std::make_unique<Later>();
        l->ref = conn.ref();
        l->body = body;
        l->timer.owner = l.get();
        l->timer.fn = [](io::Timer* t) {
            auto* self = static_cast<Later*>(t->owner);
            if (!self->ref.valid()) {
                self->stale = true;
                return;
            }
            self->ref.conn->respond(200, "text/plain", self->body);
        };
        loop->timer_start(&l->timer, loop->now_ns() + delay_ms * 1'000'000ull);
        later.push_back(std::move(l));
    }
};

struct Outcome : ClientCallback {
    int done = 0;
    int status = 0;
    std::string body;
    Errc error = Errc::ok;
    std::string error_text;
    void on_response(ClientConn&, const Response* response, const Error* e) override {
        done++;
        if (response) {
            status = response->status;
            body = std::string(response->body);
            error = Errc::ok;
        } else {
            error = e->code();
            error_text = std::string(e->message());
        }
    }
};

struct Fixture : ::testing::Test {
    std::unique_ptr<io::Loop> loop = test::make_loop();
    EchoHandler handler;
    Server server;
    Endpoint endpoint;

    void start(ServerConfig config = {}) {
        handler.loop = loop.get();
        auto address = io::resolve("127.0.0.1:0");
        ASSERT_TRUE(address);
        ASSERT_TRUE(server.listen(*loop, *address, handler, config));
        endpoint.address = server.address();
        endpoint.host_header = "127.0.0.1";
    }
    void request(ClientConn& conn, Outcome& outcome, std::string_view body,
                 uint64_t timeout_ms = 5000) {
        size_t mark =
            begin_request(conn.request(), "POST", endpoint.host_header, "/", "", "text/plain");
        conn.request().append(body);
        end_request(conn.request(), mark);
        int before = outcome.done;
        conn.start(&outcome, loop->now_ns() + timeout_ms * 1'000'000ull);
        ASSERT_TRUE(run_until(
            *loop, [&] { return outcome.done > before; }, 10'000));
    }
};

TEST_F(Fixture, KeepAliveReusesOneConnection) {
    start();
    ClientConn conn(*loop, endpoint, Limits{}, 1000);
    test::CloseAtExit close_conn_at_exit{*loop, conn};
    Outcome outcome;
    for (int i = 0; i < 50; i++) {
        std::string body = "ping " + std::to_string(i);
        request(conn, outcome, body);
        ASSERT_EQ(outcome.error, Errc::ok) << outcome.error_text;
        EXPECT_EQ(outcome.status, 200);
        EXPECT_EQ(outcome.body, "echo:" + body);
    }
    EXPECT_EQ(conn.reuse_count(), 50u);
    EXPECT_EQ(server.stats().accepted, 1u);
    EXPECT_EQ(loop->buffers_held(), 0u);
}

TEST_F(Fixture, LargeBodiesBothWays) {
    start();
    ClientConn conn(*loop, endpoint, Limits{}, 1000);
    test::CloseAtExit close_conn_at_exit{*loop, conn};
    Outcome outcome;
    std::string big(3 << 20, 'x');
    for (size_t i = 0; i < big.size(); i += 7) big[i] = static_cast<char>('a' + i % 26);
    request(conn, outcome, big);
    ASSERT_EQ(outcome.error, Errc::ok) << outcome.error_text;
    EXPECT_EQ(outcome.body.size(), big.size() + 5);
    EXPECT_TRUE(outcome.body == "echo:" + big);
}

TEST_F(Fixture, AsyncAnswersAndClientDeadline) {
    start();
    handler.delay_ms = 20;
    ClientConn conn(*loop, endpoint, Limits{}, 1000);
    test::CloseAtExit close_conn_at_exit{*loop, conn};
    Outcome outcome;
    request(conn, outcome, "slow");
    ASSERT_EQ(outcome.error, Errc::ok);
    EXPECT_EQ(outcome.body, "echo:slow");
    handler.hang = true;
    uint64_t t0 = mono_ns();
    request(conn, outcome, "never", 100);
    EXPECT_EQ(outcome.error, Errc::timeout);
    EXPECT_GE(mono_ns() - t0, 90'000'000u);
    EXPECT_NE(outcome.error_text.find("did not answer in time"), std::string::npos);
    // The timed-out connection was dropped; the server sees the client go away.
    EXPECT_TRUE(run_until(
        *loop, [&] { return !handler.held.back().valid(); }, 5000));
    handler.hang = false;
    request(conn, outcome, "again");
    ASSERT_EQ(outcome.error, Errc::ok) << outcome.error_text;
    EXPECT_EQ(outcome.body, "echo:again");
}

TEST_F(Fixture, ConnectionRefusedIsAnError) {
    start();
    Endpoint nowhere = endpoint;
    auto address = io::resolve("127.0.0.1:1");
    nowhere.address = *address;
    ClientConn conn(*loop, nowhere, Limits{}, 1000);
    test::CloseAtExit close_conn_at_exit{*loop, conn};
    Outcome outcome;
    size_t mark = begin_request(conn.request(), "POST", "x", "/", "", "");
    end_request(conn.request(), mark);
    conn.start(&outcome, loop->now_ns() + 2'000'000'000ull);
    ASSERT_TRUE(run_until(
        *loop, [&] { return outcome.done == 1; }, 5000));
    EXPECT_EQ(outcome.error, Errc::io);
    EXPECT_NE(outcome.error_text.find("Connection refused"), std::string::npos);
}

TEST_F(Fixture, StaleKeepAliveIsRetriedOnAFreshConnection) {
    ServerConfig config;
    config.idle_timeout_ms = 50;  // the server drops idle keep-alive connections quickly
    start(config);
    ClientConn conn(*loop, endpoint, Limits{}, 1000);
    test::CloseAtExit close_conn_at_exit{*loop, conn};
    Outcome outcome;
    request(conn, outcome, "one");
    ASSERT_EQ(outcome.error, Errc::ok);
    // Wait until the server closed the idle connection (the client may or may not notice).
    ASSERT_TRUE(run_until(
        *loop, [&] { return server.connections() == 0; }, 5000));
    request(conn, outcome, "two");
    ASSERT_EQ(outcome.error, Errc::ok) << outcome.error_text;
    EXPECT_EQ(outcome.body, "echo:two");
    EXPECT_EQ(server.stats().accepted, 2u);
}

TEST_F(Fixture, PipelinedRequestsAnswerInOrder) {
    start();
    handler.delay_ms = 5;
    std::string wire;
    for (int i = 0; i < 5; i++) {
        std::string body = "p" + std::to_string(i);
        wire += "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) +
                "\r\n\r\n" + body;
    }
    test::RawClient client(server.address().port());
    client.send(wire);
    std::string got;
    ASSERT_TRUE(run_until(
        *loop,
        [&] {
            got += client.receive_available();
            return got.find("echo:p4") != std::string::npos;
        },
        10'000));
    size_t at = 0;
    for (int i = 0; i < 5; i++) {
        size_t next = got.find("echo:p" + std::to_string(i), at);
        ASSERT_NE(next, std::string::npos) << i;
        at = next;
    }
}

TEST_F(Fixture, HeadGetsHeadersWithoutTheBody) {
    start();
    // HEAD, then a POST on the same connection: if the HEAD answer carried a body, the bytes
    // after its blank line would be "echo:" and not the next status line.
    test::RawClient client(server.address().port());
    client.send(
        "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n"
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nnext");
    std::string got;
    ASSERT_TRUE(run_until(
        *loop,
        [&] {
            got += client.receive_available();
            return got.find("echo:next") != std::string::npos;
        },
        10'000))
        << got;
    size_t end = got.find("\r\n\r\n");
    ASSERT_NE(end, std::string::npos);
    std::string head = got.substr(0, end + 4);
    EXPECT_EQ(head.substr(0, 13), "HTTP/1.1 200 ") << head;
    // Content-Length is the length the GET would have had ("echo:").
    size_t cl = head.find("Content-Length:");
    ASSERT_NE(cl, std::string::npos) << head;
    EXPECT_EQ(std::stoul(head.substr(cl + 15)), 5u) << head;
    EXPECT_EQ(got.substr(end + 4, 13), "HTTP/1.1 200 ") << got;
    EXPECT_EQ(handler.requests, 2);
}

TEST_F(Fixture, LimitsAndBadInputGetStatusCodesAndCloseOnlyThatConnection) {
    ServerConfig config;
    config.limits.header_bytes_max = 2048;
    config.limits.body_bytes_max = 4096;
    start(config);
    struct Case {
        std::string wire;
        const char* status_line;
    } cases[] = {
        {"POST / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4000, 'a') + "\r\n\r\n",
         "HTTP/1.1 431 "},
        {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n", "HTTP/1.1 413 "},
        {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
         "HTTP/1.1 400 "},
        {"GARBAGE\r\n\r\n", "HTTP/1.1 400 "},
        {"POST / HTTP/2.0\r\nHost: x\r\n\r\n", "HTTP/1.1 505 "},
    };
    ClientConn healthy(*loop, endpoint, Limits{}, 1000);
    test::CloseAtExit close_healthy_at_exit{*loop, healthy};
    Outcome outcome;
    request(healthy, outcome, "before");
    for (const Case& c : cases) {
        test::RawClient client(server.address().port());
        client.send(c.wire);
        std::string got;
        bool closed = false;
        ASSERT_TRUE(run_until(
            *loop,
            [&] {
                got += client.receive_available(&closed);
                return closed;
            },
            10'000))
            << c.status_line;
        EXPECT_EQ(got.substr(0, strlen(c.status_line)), c.status_line) << got;
        EXPECT_NE(got.find("{\"error\":\""), std::string::npos) << got;
    }
    // The keep-alive connection opened before is unaffected.
    request(healthy, outcome, "after");
    ASSERT_EQ(outcome.error, Errc::ok);
    EXPECT_EQ(healthy.reuse_count(), 2u);
    EXPECT_EQ(server.stats().bad_requests, 5u);
}

TEST_F(Fixture, SlowClientGets408) {
    ServerConfig config;
    config.header_timeout_ms = 100;
    start(config);
    test::RawClient client(server.address().port());
    client.send("POST / HTTP/1.1\r\nHost: x\r\n");  // never finishes its head
    std::string got;
    bool closed = false;
    ASSERT_TRUE(run_until(
        *loop,
        [&] {
            got += client.receive_available(&closed);
            return closed;
        },
        5000));
    EXPECT_EQ(got.substr(0, 13), "HTTP/1.1 408 ");
    EXPECT_EQ(server.stats().header_deadline, 1u);
}

TEST_F(Fixture, ClientGoneWhileHandledInvalidatesRef) {
    start();
    handler.hang = true;
    {
        test::RawClient client(server.address().port());
        client.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nx");
        ASSERT_TRUE(run_until(
            *loop, [&] { return handler.requests == 1; }, 5000));
        EXPECT_TRUE(handler.held[0].valid());
    }  // closes the socket
    ASSERT_TRUE(run_until(
        *loop, [&] { return !handler.held[0].valid(); }, 5000));
    EXPECT_EQ(server.stats().aborted, 1u);
    EXPECT_TRUE(run_until(
        *loop, [&] { return server.connections() == 0; }, 5000));
    EXPECT_EQ(server.requests_in_flight(), 0u);
}

TEST_F(Fixture, ShutdownLetsInFlightRequestsFinish) {
    start();
    handler.delay_ms = 50;
    ClientConn conn(*loop, endpoint, Limits{}, 1000);
    test::CloseAtExit close_conn_at_exit{*loop, conn};
    Outcome outcome;
    size_t mark = begin_request(conn.request(), "POST", "x", "/", "", "");
    conn.request().append("last");
    end_request(conn.request(), mark);
    conn.start(&outcome, loop->now_ns() + 5'000'000'000ull);
    ASSERT_TRUE(run_until(
        *loop, [&] { return server.requests_in_flight() == 1; }, 5000));
    server.shutdown();
    ASSERT_TRUE(run_until(
        *loop, [&] { return outcome.done == 1; }, 5000));
    EXPECT_EQ(outcome.error, Errc::ok);
    EXPECT_EQ(outcome.body, "echo:last");
    EXPECT_TRUE(run_until(
        *loop, [&] { return server.connections() == 0; }, 5000));
}

// The body named with set_body() is sent from the caller's buffer (a gathered send after the
// head): what arrives is the same as a copied body, on fresh and kept-alive connections.
TEST_F(Fixture, SetBodyIsSentFromTheCallersBuffer) {
    start();
    ClientConn conn(*loop, endpoint, Limits{}, 1000);
    test::CloseAtExit close_conn_at_exit{*loop, conn};
    Outcome outcome;
    std::string big(3 << 20, 'x');
    for (size_t i = 0; i < big.size(); i += 7) big[i] = static_cast<char>('a' + i % 26);
    for (std::string_view body : {std::string_view(big), std::string_view("small"),
                                  std::string_view(big).substr(1000, 70000)}) {
        size_t mark =
            begin_request(conn.request(), "POST", endpoint.host_header, "/", "", "text/plain");
        end_request_head(conn.request(), mark, body.size());
        conn.set_body(body);
        int before = outcome.done;
        conn.start(&outcome, loop->now_ns() + 5'000'000'000ull);
        ASSERT_TRUE(run_until(
            *loop, [&] { return outcome.done > before; }, 10'000));
        ASSERT_EQ(outcome.error, Errc::ok) << outcome.error_text;
        EXPECT_TRUE(outcome.body == "echo:" + std::string(body)) << body.size();
    }
    EXPECT_EQ(conn.reuse_count(), 3u);
}

/// Records whether a send still read the body when the callback came, and frees the body
/// there, as the pipeline does when a call ends.
struct BodyOutcome : ClientCallback {
    int done = 0;
    bool body_in_flight_at_callback = true;
    Errc error = Errc::ok;
    std::string error_text;
    std::string* body = nullptr;
    void on_response(ClientConn& conn, const Response*, const Error* e) override {
        done++;
        body_in_flight_at_callback = conn.body_in_flight();
        error = e ? e->code() : Errc::ok;
        error_text = e ? std::string(e->message()) : "";
        *body = std::string();  // freed: the kernel must not read it any more
        body->shrink_to_fit();
    }
};

/// A listening socket that accepts (or not) and never reads: a peer that stalls mid-request.
struct StalledPeer {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    uint16_t port = 0;
    StalledPeer() {
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int small = 4096;
        ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
        EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
        EXPECT_EQ(::listen(fd, 4), 0);
        socklen_t n = sizeof a;
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &n);
        port = ntohs(a.sin_port);
    }
    ~StalledPeer() { ::close(fd); }
};

void send_stalled(io::Loop& loop, uint16_t port, std::string_view head_target, BodyOutcome& outcome,
                  uint64_t timeout_ms) {
    Endpoint ep;
    ep.address = *io::resolve("127.0.0.1:" + std::to_string(port));
    ep.host_header = "127.0.0.1";
    ClientConn conn(loop, ep, Limits{}, 1000);
    test::CloseAtExit close_conn_at_exit{loop, conn};
    std::string body(48u << 20, 'b');  // more than every socket buffer on the way holds
    outcome.body = &body;
    size_t mark = begin_request(conn.request(), "POST", ep.host_header, head_target, "", "");
    end_request_head(conn.request(), mark, body.size());
    conn.set_body(body);
    conn.start(&outcome, loop.now_ns() + timeout_ms * 1'000'000ull);
    ASSERT_TRUE(run_until(
        loop, [&] { return outcome.done == 1; }, 10'000));
}

// A call that times out while its body is still being sent: the callback (after which the
// owner frees the body) waits for the cancelled send's completion.
TEST(ClientBody, TimeoutMidSendWaitsForTheSend) {
    auto loop = test::make_loop();
    StalledPeer peer;  // never accepts: the kernel completes the handshake, nobody reads
    BodyOutcome outcome;
    send_stalled(*loop, peer.port, "/", outcome, 100);
    EXPECT_EQ(outcome.error, Errc::timeout) << outcome.error_text;
    EXPECT_FALSE(outcome.body_in_flight_at_callback);
}

// An answer that comes before the body was all sent (an error status): the send still reads
// the body, so the answer becomes an error naming what happened, told once the send is done.
TEST(ClientBody, EarlyAnswerWaitsForTheSend) {
    auto loop = test::make_loop();
    StalledPeer peer;
    std::atomic<bool> stop{false};
    std::thread answerer([&] {
        int c = ::accept(peer.fd, nullptr, nullptr);
        if (c < 0) return;
        char head[4096];
        ssize_t n = ::recv(c, head, sizeof head, 0);  // the head (and a little body), no more
        (void)n;
        std::string_view answer =
            "HTTP/1.1 413 Content Too Large\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n";
        (void)::send(c, answer.data(), answer.size(), MSG_NOSIGNAL);
        while (!stop) std::this_thread::sleep_for(std::chrono::milliseconds(5));
        ::close(c);
    });
    BodyOutcome outcome;
    send_stalled(*loop, peer.port, "/", outcome, 5000);
    stop = true;
    answerer.join();
    EXPECT_EQ(outcome.error, Errc::invalid_input) << outcome.error_text;
    EXPECT_NE(outcome.error_text.find("answered HTTP 413 before the whole request was sent"),
              std::string::npos)
        << outcome.error_text;
    EXPECT_FALSE(outcome.body_in_flight_at_callback);
}

}  // namespace
}  // namespace em::http
