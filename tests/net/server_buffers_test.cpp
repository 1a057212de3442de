// http::Server's RequestBuffers (issue 19, defect 11): a connection holds its receive and answer
// buffers and parser only while it has a request, so idle keep-alive connections cost ~0.25 KiB
// instead of ~10 KiB; the buffers come from a pool (steady traffic allocates nothing) whose
// spares beyond recent need are freed every buffer_trim_interval_ms. On a real io_uring loop on
// 127.0.0.1; the clients run on the test thread between the loop's turns.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "net/server.h"
#include "net_test_util.h"

namespace em::http {
namespace {

using test::run_until;

/// Answers "ok" at once, or holds every request until release_all().
struct Handler2 : Handler {
    bool hold = false;
    std::vector<ConnRef> held;
    int requests = 0;
    void on_request(ServerConn& conn, const Request&) override {
        requests++;
        if (hold) {
            held.push_back(conn.ref());
            return;
        }
        conn.respond(200, "text/plain", "ok");
    }
    void release_all() {
        for (ConnRef& ref : held)
            if (ref.valid()) ref.conn->respond(200, "text/plain", "ok");
        held.clear();
    }
};

const std::string request = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi";

struct Buffers : ::testing::Test {
    std::unique_ptr<io::Loop> loop = test::make_loop();
    Handler2 handler;
    Server server;

    void start(ServerConfig config = {}) {
        auto address = io::resolve("127.0.0.1:0");
        ASSERT_TRUE(address);
        ASSERT_TRUE(server.listen(*loop, *address, handler, config));
    }
    uint16_t port() const { return server.address().port(); }
    /// Sends one request on each client and turns the loop until all are answered.
    void request_each(const std::vector<test::RawClient*>& clients) {
        std::vector<std::string> got(clients.size());
        for (test::RawClient* c : clients) c->send(request);
        ASSERT_TRUE(run_until(
            *loop,
            [&] {
                size_t answered = 0;
                for (size_t i = 0; i < clients.size(); i++) {
                    got[i] += clients[i]->receive_available();
                    answered += got[i].find("\r\n\r\nok") != std::string::npos;
                }
                return answered == clients.size();
            },
            5000));
    }
};

TEST_F(Buffers, IdleKeepAliveConnectionsHoldNoBuffers) {
    start();
    std::vector<std::unique_ptr<test::RawClient>> clients;
    for (int i = 0; i < 200; i++) {
        clients.push_back(std::make_unique<test::RawClient>(port()));
        request_each({clients.back().get()});  // one at a time: one set serves them all
    }
    EXPECT_EQ(server.connections(), 200u);
    EXPECT_EQ(server.request_buffers_lent(), 0u);
    EXPECT_EQ(server.request_buffers_spare(), 1u);
    // A connection that connected and sent nothing holds none either.
    test::RawClient silent(port());
    ASSERT_TRUE(run_until(
        *loop, [&] { return server.connections() == 201; }, 5000));
    EXPECT_EQ(server.request_buffers_lent(), 0u);
    // A connection in the middle of its head holds one, and gives it back once answered.
    clients[0]->send(request.substr(0, 10));
    ASSERT_TRUE(run_until(
        *loop, [&] { return server.request_buffers_lent() == 1; }, 5000));
    clients[0]->send(request.substr(10));
    std::string got;
    ASSERT_TRUE(run_until(
        *loop,
        [&] {
            got += clients[0]->receive_available();
            return got.find("ok") != std::string::npos;
        },
        5000));
    ASSERT_TRUE(run_until(
        *loop, [&] { return server.request_buffers_lent() == 0; }, 5000));
    EXPECT_EQ(server.request_buffers_spare(), 1u);
    EXPECT_EQ(handler.requests, 201);
}

TEST_F(Buffers, APipelinedNextRequestKeepsItsConnectionsBuffers) {
    start();
    test::RawClient client(port());
    client.send(request + request + request);
    std::string got;
    ASSERT_TRUE(run_until(
        *loop,
        [&] {
            got += client.receive_available();
            size_t n = 0;
            for (size_t at = got.find("ok"); at != std::string::npos; at = got.find("ok", at + 1))
                n++;
            return n == 3;
        },
        5000));
    ASSERT_TRUE(run_until(
        *loop, [&] { return server.request_buffers_lent() == 0; }, 5000));
    EXPECT_EQ(server.request_buffers_spare(), 1u);
    EXPECT_EQ(handler.requests, 3);
}

TEST_F(Buffers, SparesBeyondRecentNeedAreFreedAfterABurst) {
    ServerConfig config;
    config.buffer_trim_interval_ms = 50;
    start(config);
    handler.hold = true;
    const size_t burst = Server::spare_buffers_min + 100;
    std::vector<std::unique_ptr<test::RawClient>> clients;
    for (size_t i = 0; i < burst; i++) {
        clients.push_back(std::make_unique<test::RawClient>(port()));
        clients.back()->send(request);
    }
    ASSERT_TRUE(run_until(
        *loop, [&] { return handler.held.size() == burst; }, 5000));
    EXPECT_EQ(server.request_buffers_lent(), burst);
    handler.release_all();
    ASSERT_TRUE(run_until(
        *loop, [&] { return server.request_buffers_lent() == 0; }, 5000));
    EXPECT_EQ(server.request_buffers_spare(), burst);  // kept for now: the burst was recent
    // Two quiet intervals later only spare_buffers_min are left.
    EXPECT_TRUE(run_until(
        *loop, [&] { return server.request_buffers_spare() == Server::spare_buffers_min; }, 5000))
        << server.request_buffers_spare();
    // The connections still work (the next burst lends again).
    handler.hold = false;
    std::vector<test::RawClient*> all;
    for (auto& c : clients) all.push_back(c.get());
    request_each(all);
    ASSERT_TRUE(run_until(
        *loop, [&] { return server.request_buffers_lent() == 0; }, 5000));
}

}  // namespace
}  // namespace em::http
