// upstream::Node against a real http::Server on 127.0.0.1: pooled calls run concurrently, lane
// calls run strictly in order one at a time, queued calls time out by their deadline, a full
// lane refuses at once, every call is signed with the node's JWT.
#include "upstream/node.h"

#include <gtest/gtest.h>

#include <algorithm>

#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include "http/jwt.h"
#include "net/server.h"
#include "net_test_util.h"

namespace em::upstream {
namespace {

using test::run_until;

/// Records request bodies in arrival order, verifies the JWT, answers after delay_ms.
struct RecordingEl : http::Handler {
    io::Loop* loop = nullptr;
    http::JwtVerifier* jwt = nullptr;
    uint32_t delay_ms = 0;
    std::vector<std::string> bodies;
    int concurrent = 0;
    int concurrent_max = 0;
    int unauthorized = 0;
    struct Later {
        io::Timer timer;
        http::ConnRef ref;
        std::string body;
        RecordingEl* el;
    };
    std::vector<std::unique_ptr<Later>> later;

    void on_request(http::ServerConn& conn, const http::Request& request) override {
        if (!jwt->verify_authorization(request.authorization, wall_s())) unauthorized++;
        bodies.emplace_back(request.body);
        concurrent++;
        if (concurrent > concurrent_max) concurrent_max = concurrent;
        auto l = std::make_unique<Later>();
        l->ref = conn.ref();
        l->body = std::string(request.body);
        l->el = this;
        l->timer.owner = l.get();
        l->timer.fn = [](io::Timer* t) {
            auto* self = static_cast<Later*>(t->owner);
            self->el->concurrent--;
            if (self->ref.valid()) self->ref.conn->respond(200, "application/json", self->body);
        };
        loop->timer_start(&l->timer, loop->now_ns() + delay_ms * 1'000'000ull);
        later.push_back(std::move(l));
    }
};

struct Results : CallDone {
    std::vector<std::string> answers;  // in completion order
    std::vector<Errc> errors;
    void on_call_done(Call&, const http::Response* response, const Error* error) override {
        if (response)
            answers.emplace_back(response->body);
        else
            errors.push_back(error->code());
    }
};

/// Declared right after a Node: at scope exit, retires it and runs the loop until retired(), so
/// it is destroyed with no call and no io_uring operation left (upstream/node.h).
struct RetireAtExit {
    io::Loop& loop;
    Node& node;
    ~RetireAtExit() {
        node.retire();
        EXPECT_TRUE(run_until(
            loop, [&] { return node.retired(); }, 5000));
    }
};

struct NodeFixture : ::testing::Test {
    std::unique_ptr<io::Loop> loop = test::make_loop();
    http::JwtSecret secret = *http::parse_jwt_secret(std::string(64, 'a'));
    http::JwtVerifier verifier{secret};
    RecordingEl el;
    http::Server server;
    NodeOptions options;

    void SetUp() override {
        el.loop = loop.get();
        el.jwt = &verifier;
        ASSERT_TRUE(server.listen(*loop, *io::resolve("127.0.0.1:0"), el, http::ServerConfig{}));
        options.name = "el1";
        options.endpoint.address = server.address();
        options.endpoint.host_header = "127.0.0.1";
        options.secret = secret;
        options.connections_max = 4;
        options.lane_queue_max = 8;
    }
};

TEST_F(NodeFixture, LaneDeliversInOrderOneAtATime) {
    el.delay_ms = 5;
    Node node(*loop, options);
    RetireAtExit retire_at_exit{*loop, node};
    Results results;
    std::vector<std::string> bodies;
    std::vector<Call> calls(8);
    for (int i = 0; i < 8; i++) bodies.push_back("{\"n\":" + std::to_string(i) + "}");
    for (int i = 0; i < 8; i++) {
        calls[i].body = bodies[i];
        calls[i].deadline_ns = loop->now_ns() + 5'000'000'000ull;
        calls[i].done = &results;
        node.submit_ordered(calls[i]);
    }
    ASSERT_TRUE(run_until(
        *loop, [&] { return results.answers.size() == 8; }, 10'000))
        << "answers " << results.answers.size() << " errors " << results.errors.size() << " at EL "
        << el.bodies.size();
    EXPECT_EQ(el.bodies, bodies);        // arrival order at the EL
    EXPECT_EQ(results.answers, bodies);  // completion order
    EXPECT_EQ(el.concurrent_max, 1);
    EXPECT_EQ(el.unauthorized, 0);
    EXPECT_TRUE(node.quiet());
}

TEST_F(NodeFixture, PoolRunsCallsConcurrentlyUpToTheLimit) {
    el.delay_ms = 30;
    Node node(*loop, options);
    RetireAtExit retire_at_exit{*loop, node};
    Results results;
    std::vector<Call> calls(10);
    std::string body = "{}";
    for (auto& c : calls) {
        c.body = body;
        c.deadline_ns = loop->now_ns() + 5'000'000'000ull;
        c.done = &results;
        node.submit(c);
    }
    EXPECT_EQ(node.pool_waiting(), 6u);
    ASSERT_TRUE(run_until(
        *loop, [&] { return results.answers.size() == 10; }, 10'000));
    EXPECT_EQ(el.concurrent_max, 4);
    EXPECT_EQ(server.stats().accepted, 4u);
}

TEST_F(NodeFixture, QueuedCallsTimeOutAndFullLaneRefuses) {
    el.delay_ms = 300;
    options.lane_queue_max = 2;
    Node node(*loop, options);
    RetireAtExit retire_at_exit{*loop, node};
    Results results;
    std::vector<Call> calls(4);
    std::string body = "{}";
    for (auto& c : calls) {
        c.body = body;
        c.deadline_ns = loop->now_ns() + 100'000'000ull;  // 100 ms: the first call hogs the lane
        c.done = &results;
        node.submit_ordered(c);
    }
    // 1 in flight, 2 queued, the 4th refused: from the loop's next turn, not inside submit.
    EXPECT_EQ(results.errors.size(), 0u);
    ASSERT_TRUE(run_until(
        *loop, [&] { return results.errors.size() == 1; }, 50));
    EXPECT_EQ(results.errors[0], Errc::busy);
    ASSERT_TRUE(run_until(
        *loop, [&] { return results.errors.size() == 4; }, 5000));
    for (Errc e : results.errors) EXPECT_TRUE(e == Errc::busy || e == Errc::timeout);
    EXPECT_EQ(node.stats().timeouts, 3u);
}

// Issue 19: DELETE /nodes/NAME destroyed the Node once quiet(), with its idle keep-alive
// connections' multishot recvs still armed. Their fds were closed but the ring kept the sockets
// open (the EL saw the connections stay up), and when the EL later closed them the completions
// arrived in freed memory (ASan: heap-use-after-free in io::Loop::dispatch).
TEST_F(NodeFixture, RetiredNodeClosesEveryConnectionBeforeItIsFreed) {
    el.delay_ms = 5;
    auto node = std::make_unique<Node>(*loop, options);
    Results results;
    std::vector<Call> calls(2);
    std::string body = "{}";
    for (auto& c : calls) {
        c.body = body;
        c.deadline_ns = loop->now_ns() + 5'000'000'000ull;
        c.done = &results;
    }
    node->submit(calls[0]);
    node->submit_ordered(calls[1]);
    ASSERT_TRUE(run_until(
        *loop, [&] { return results.answers.size() == 2; }, 5000));
    ASSERT_EQ(server.connections(), 2u);  // a pooled one and the lane's, both idle
    node->retire();
    EXPECT_FALSE(node->retired());  // the closes are still pending in the ring
    ASSERT_TRUE(run_until(
        *loop, [&] { return node->retired(); }, 5000));
    node.reset();
    EXPECT_TRUE(run_until(
        *loop, [&] { return server.connections() == 0; }, 5000))
        << server.connections() << " connections still open at the EL";
    // Nothing may arrive for the freed node any more, whatever the EL does now.
    server.shutdown();
    run_until(
        *loop, [] { return false; }, 100);
}

// Removal with calls in every state: queued calls fail at once (never sent), calls on the wire
// finish (answered, or failed by their deadline), and only then is the Node retired.
TEST_F(NodeFixture, RetireFailsQueuedCallsAndLetsCallsOnTheWireFinish) {
    el.delay_ms = 50;
    auto node = std::make_unique<Node>(*loop, options);
    Results results;
    std::vector<Call> calls(4);
    std::string body = "{}";
    for (auto& c : calls) {
        c.body = body;
        c.deadline_ns = loop->now_ns() + 5'000'000'000ull;
        c.done = &results;
    }
    node->submit(calls[0]);                                      // on the wire (pool)
    for (int i = 1; i < 4; i++) node->submit_ordered(calls[i]);  // 1 on the wire, 2 queued
    ASSERT_TRUE(run_until(
        *loop, [&] { return el.bodies.size() == 2; }, 5000));
    node->retire();
    EXPECT_EQ(results.errors.size(), 0u);  // never inside retire()
    EXPECT_FALSE(node->retired());
    ASSERT_TRUE(run_until(
        *loop, [&] { return results.errors.size() == 2; }, 50));
    for (Errc e : results.errors) EXPECT_EQ(e, Errc::closed);  // the queued lane calls
    EXPECT_FALSE(node->retired());
    ASSERT_TRUE(run_until(
        *loop, [&] { return node->retired(); }, 5000));
    EXPECT_EQ(results.answers.size(), 2u);  // the two calls on the wire were answered
    EXPECT_EQ(el.bodies.size(), 2u);        // the queued ones never reached the EL
    node.reset();
    EXPECT_TRUE(run_until(
        *loop, [&] { return server.connections() == 0; }, 5000));
    server.shutdown();
    run_until(
        *loop, [] { return false; }, 100);
}

// A call on the wire to an EL that does not answer ends by its deadline; then the Node retires.
TEST_F(NodeFixture, RetireWaitsForAHungCallsDeadline) {
    el.delay_ms = 10'000;  // longer than the test: the EL hangs
    auto node = std::make_unique<Node>(*loop, options);
    Results results;
    Call call;
    std::string body = "{}";
    call.body = body;
    call.deadline_ns = loop->now_ns() + 150'000'000ull;
    call.done = &results;
    node->submit_ordered(call);
    ASSERT_TRUE(run_until(
        *loop, [&] { return el.bodies.size() == 1; }, 5000));
    node->retire();
    ASSERT_TRUE(run_until(
        *loop, [&] { return node->retired(); }, 5000));
    ASSERT_EQ(results.errors.size(), 1u);
    EXPECT_EQ(results.errors[0], Errc::timeout);
    node.reset();
    EXPECT_TRUE(run_until(
        *loop, [&] { return server.connections() == 0; }, 5000));
}

// The completion rule: no callback runs inside the call that started it. Every way a call can
// fail at once (a full lane, a request larger than the buffer, removal of the node) is reported
// from the loop's next turn, so a caller never needs a guard against its own callback.
TEST_F(NodeFixture, NoCallbackRunsInsideTheCallThatStartedIt) {
    el.delay_ms = 200;
    options.lane_queue_max = 1;
    options.response_limits.body_bytes_max = 1 << 20;
    auto node = std::make_unique<Node>(*loop, options);
    struct Guarded final : CallDone {
        bool inside = false;
        int callbacks = 0, inside_callbacks = 0;
        std::vector<Errc> errors;
        void on_call_done(Call&, const http::Response*, const Error* e) override {
            callbacks++;
            if (inside) inside_callbacks++;
            if (e) errors.push_back(e->code());
        }
    } done;
    std::string small = "{}";
    std::string huge(65u << 20, 'x');  // beyond the connection's 64 MiB request buffer
    std::vector<Call> calls(5);
    for (auto& c : calls) {
        c.deadline_ns = loop->now_ns() + 5'000'000'000ull;
        c.done = &done;
        c.body = small;
    }
    calls[3].body = huge;
    done.inside = true;
    node->submit_ordered(calls[0]);  // on the wire
    node->submit_ordered(calls[1]);  // queued (the lane holds one)
    node->submit_ordered(calls[2]);  // the lane is full
    node->submit(calls[3]);          // too large for the buffer
    node->submit(calls[4]);          // on the wire (pool)
    node->retire();                  // fails the queued call
    done.inside = false;
    EXPECT_EQ(done.inside_callbacks, 0);
    EXPECT_EQ(done.callbacks, 0);
    ASSERT_TRUE(run_until(
        *loop, [&] { return done.callbacks == 5; }, 5000));
    EXPECT_EQ(done.inside_callbacks, 0);
    std::vector<Errc> expected{Errc::busy, Errc::closed, Errc::too_large};
    std::sort(done.errors.begin(), done.errors.end());
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(done.errors, expected)
        << "a full lane, a removed node's queue and an oversized request";
    ASSERT_TRUE(run_until(
        *loop, [&] { return node->retired(); }, 5000));
    node.reset();
    server.shutdown();
    run_until(
        *loop, [] { return false; }, 100);
}

}  // namespace
}  // namespace em::upstream
