// io::Loop on real sockets on 127.0.0.1: multishot accept and recv, sends, timers, cross-thread
// posts (MSG_RING and eventfd), buffer exhaustion and recovery.
#include "io/loop.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "io/socket.h"
#include "io/thread.h"

namespace em::io {
namespace {

std::unique_ptr<Loop> make_loop(unsigned buffers = 64, unsigned bytes = 4096) {
    LoopConfig config;
    config.name = "test";
    config.buffer_count = buffers;
    config.buffer_bytes = bytes;
    auto loop = Loop::create(config);
    EXPECT_TRUE(loop) << (loop ? "" : loop.error().c_str());
    return std::move(*loop);
}

int blocking_client(uint16_t port) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(0, ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a));
    return fd;
}

// An echo server: accepts, receives with multishot recv, echoes each buffer back.
struct EchoServer {
    explicit EchoServer(Loop* l) : loop(l) {}
    Loop* loop;
    int listen_fd = -1;
    Completion accept{};
    struct Conn {
        EchoServer* server;
        int fd;
        Completion recv{};
        Completion send{};
        std::string pending;
        std::string in_flight;
        bool closed = false;
    };
    std::vector<std::unique_ptr<Conn>> conns;
    int accepted = 0;
    size_t bytes = 0;

    void start() {
        auto address = resolve("127.0.0.1:0");
        ASSERT_TRUE(address);
        auto fd = listen_tcp(*address, 64);
        ASSERT_TRUE(fd);
        listen_fd = *fd;
        accept.owner = this;
        accept.fn = [](Completion* c, int32_t res, uint32_t flags) {
            auto* s = static_cast<EchoServer*>(c->owner);
            ASSERT_GE(res, 0);
            ASSERT_TRUE(cqe_more(flags));
            s->accepted++;
            auto conn = std::make_unique<Conn>();
            conn->server = s;
            conn->fd = res;
            conn->recv.owner = conn.get();
            conn->recv.fn = on_recv;
            conn->send.owner = conn.get();
            conn->send.fn = on_send;
            s->loop->recv_multishot(&conn->recv, res);
            s->conns.push_back(std::move(conn));
        };
        loop->accept_multishot(&accept, listen_fd);
    }
    uint16_t port() { return local_address(listen_fd)->port(); }

    static void on_recv(Completion* c, int32_t res, uint32_t flags) {
        auto* conn = static_cast<Conn*>(c->owner);
        Loop* loop = conn->server->loop;
        if (res > 0) {
            ASSERT_TRUE(cqe_has_buffer(flags));
            uint16_t id = cqe_buffer_id(flags);
            conn->pending.append(loop->buffer_data(id), static_cast<size_t>(res));
            conn->server->bytes += static_cast<size_t>(res);
            loop->release_buffer(id);
            flush(conn);
        }
        if (res <= 0 && res != -ENOBUFS) {
            conn->closed = true;
            return;
        }
        if (!cqe_more(flags)) loop->recv_multishot(&conn->recv, conn->fd);  // re-arm
    }
    static void flush(Conn* conn) {
        if (!conn->in_flight.empty() || conn->pending.empty()) return;
        conn->in_flight.swap(conn->pending);
        conn->server->loop->send(&conn->send, conn->fd, conn->in_flight.data(),
                                 conn->in_flight.size());
    }
    static void on_send(Completion* c, int32_t res, uint32_t) {
        auto* conn = static_cast<Conn*>(c->owner);
        ASSERT_GT(res, 0);
        conn->in_flight.erase(0, static_cast<size_t>(res));
        if (!conn->in_flight.empty()) {
            conn->server->loop->send(&conn->send, conn->fd, conn->in_flight.data(),
                                     conn->in_flight.size());
            return;
        }
        flush(conn);
    }
    ~EchoServer() {
        for (auto& c : conns) ::close(c->fd);
        if (listen_fd >= 0) ::close(listen_fd);
    }
};

TEST(Resolve, ANameWithAnIpv4AddressResolvesToIt) {
    // getaddrinfo may list ::1 first for localhost; ELs on "localhost" listen on 127.0.0.1.
    auto a = resolve("localhost", 8551);
    ASSERT_TRUE(a) << a.error().c_str();
    char text[64];
    EXPECT_STREQ(a->format(text, sizeof text), "127.0.0.1:8551");
    auto v6 = resolve("[::1]:8551");
    ASSERT_TRUE(v6);
    EXPECT_EQ(v6->family(), AF_INET6);
    auto bad = resolve("localhost:x");
    ASSERT_FALSE(bad);
}

TEST(Resolve, WhichTargetsReachAListener) {
    auto at = [](const char* text) {
        auto a = resolve(text);
        EXPECT_TRUE(a) << text;
        return *a;
    };
    EXPECT_TRUE(same_endpoint(at("127.0.0.1:8551"), at("localhost:8551")));
    EXPECT_FALSE(same_endpoint(at("127.0.0.1:8551"), at("127.0.0.1:8552")));
    EXPECT_FALSE(same_endpoint(at("127.0.0.1:8551"), at("127.0.0.2:8551")));
    EXPECT_FALSE(same_endpoint(at("127.0.0.1:8551"), at("[::1]:8551")));
    // A listener on one IP: only that IP and port.
    EXPECT_TRUE(reaches_listener(at("127.0.0.1:7000"), at("127.0.0.1:7000")));
    EXPECT_FALSE(reaches_listener(at("127.0.0.2:7000"), at("127.0.0.1:7000")));
    EXPECT_FALSE(reaches_listener(at("127.0.0.1:7001"), at("127.0.0.1:7000")));
    // A wildcard listener takes every loopback address, v4 and (from a v6 wildcard) v6.
    EXPECT_TRUE(reaches_listener(at("127.0.0.5:7000"), at("0.0.0.0:7000")));
    EXPECT_FALSE(reaches_listener(at("[::1]:7000"), at("0.0.0.0:7000")));
    EXPECT_TRUE(reaches_listener(at("[::1]:7000"), at("[::]:7000")));
    EXPECT_TRUE(reaches_listener(at("127.0.0.1:7000"), at("[::]:7000")));
    // 192.0.2.1 (TEST-NET-1) is nobody's interface address.
    EXPECT_FALSE(reaches_listener(at("192.0.2.1:7000"), at("0.0.0.0:7000")));
}

TEST(Loop, ProbeReportsFeatures) {
    auto features = Loop::probe();
    ASSERT_TRUE(features);
    EXPECT_TRUE(features->buffer_ring);
}

TEST(Loop, EchoOverLoopbackWithMultishotAcceptAndRecv) {
    auto loop = make_loop(16, 1024);  // small buffers: big messages span many completions
    EchoServer server(loop.get());
    server.start();
    uint16_t port = server.port();
    std::string message(200000, 0);
    for (size_t i = 0; i < message.size(); i++) message[i] = static_cast<char>('a' + i % 26);
    std::atomic<bool> done{false};
    std::string echoed;
    std::thread client([&] {
        for (int round = 0; round < 3; round++) {
            int fd = blocking_client(port);
            size_t sent = 0;
            std::string got;
            std::thread reader([&] {
                char buf[65536];
                while (got.size() < message.size()) {
                    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
                    if (n <= 0) break;
                    got.append(buf, static_cast<size_t>(n));
                }
            });
            while (sent < message.size()) {
                ssize_t n = ::send(fd, message.data() + sent, message.size() - sent, 0);
                ASSERT_GT(n, 0);
                sent += static_cast<size_t>(n);
            }
            reader.join();
            ::close(fd);
            echoed = got;
            if (got != message) break;
        }
        done = true;
    });
    uint64_t deadline = mono_ns() + 20'000'000'000ull;
    while (!done && mono_ns() < deadline) loop->run_once(10'000'000);
    client.join();
    EXPECT_EQ(echoed.size(), message.size());
    EXPECT_TRUE(echoed == message);
    EXPECT_EQ(server.accepted, 3);
    EXPECT_EQ(loop->buffers_held(), 0u);
}

TEST(Loop, TimersFireInDeadlineOrderAndCancel) {
    auto loop = make_loop();
    std::vector<int> fired;
    struct T {
        Timer timer;
        int id;
        std::vector<int>* out;
    };
    T timers[5];
    uint64_t now = mono_ns();
    int order[5] = {3, 1, 4, 0, 2};
    for (int i = 0; i < 5; i++) {
        timers[i].id = i;
        timers[i].out = &fired;
        timers[i].timer.owner = &timers[i];
        timers[i].timer.fn = [](Timer* t) {
            auto* self = static_cast<T*>(t->owner);
            self->out->push_back(self->id);
        };
        loop->timer_start(&timers[i].timer, now + 1'000'000ull * (order[i] + 1));
    }
    loop->timer_cancel(&timers[4].timer);  // deadline rank 2
    EXPECT_FALSE(timers[4].timer.armed());
    uint64_t deadline = mono_ns() + 2'000'000'000ull;
    while (fired.size() < 4 && mono_ns() < deadline) loop->run_once(50'000'000);
    EXPECT_EQ(fired, (std::vector<int>{3, 1, 0, 2}));
    EXPECT_EQ(loop->timers_armed(), 0u);
}

TEST(Loop, SpinKeepsPollingAfterAnEventThenSleeps) {
    for (uint64_t spin : {uint64_t{0}, uint64_t{3600'000'000'000'000}}) {
        LoopConfig config;
        config.name = "test";
        config.buffer_count = 64;
        config.buffer_bytes = 4096;
        config.spin_ns = spin;
        auto created = Loop::create(config);
        ASSERT_TRUE(created) << created.error().c_str();
        Loop& loop = **created;
        loop.run_once(1'000'000);  // no event yet: sleeps either way
        EXPECT_EQ(loop.stats().polls.load(), 0u);
        int ran = 0;
        ASSERT_TRUE(loop.post(Task{[](void* p, uint64_t) { ++*static_cast<int*>(p); }, &ran, 0}));
        uint64_t deadline = mono_ns() + 2'000'000'000ull;
        while (ran == 0 && mono_ns() < deadline) loop.run_once(50'000'000);
        ASSERT_EQ(ran, 1);
        // After the event: a spinning loop polls instead of sleeping out the timeout.
        for (int i = 0; i < 3; i++) loop.run_once(spin ? 200'000'000 : 1'000'000);
        if (spin)
            EXPECT_EQ(loop.stats().polls.load(), 3u) << "spin " << spin;
        else
            EXPECT_EQ(loop.stats().polls.load(), 0u);
    }
}

TEST(Loop, PollUntilPollsUntilItsDeadlineOrUntilCancelled) {
    auto loop = make_loop();
    loop->run_once(1'000'000);
    ASSERT_EQ(loop->stats().polls.load(), 0u);
    // A deadline an hour away: every turn polls (none sleeps out its 200-ms timeout).
    loop->poll_until(mono_ns() + 3600'000'000'000ull);
    for (int i = 0; i < 3; i++) loop->run_once(200'000'000);
    EXPECT_EQ(loop->stats().polls.load(), 3u);
    // Cancelled: the loop sleeps again.
    loop->poll_until(0);
    loop->run_once(1'000'000);
    EXPECT_EQ(loop->stats().polls.load(), 3u);
    // A deadline already past: sleeps too.
    loop->poll_until(mono_ns() - 1);
    loop->run_once(1'000'000);
    EXPECT_EQ(loop->stats().polls.load(), 3u);
}

struct Counter {
    std::atomic<uint64_t> sum{0};
    std::atomic<uint64_t> count{0};
};

TEST(Loop, PostsFromPlainThreadsAndFromOtherLoops) {
    Counter counter;
    auto target = LoopThread::start(LoopConfig{.name = "target"}, -1, nullptr, nullptr, nullptr);
    ASSERT_TRUE(target);
    Loop& t = (*target)->loop();
    auto add = [](void* arg0, uint64_t arg1) {
        auto* c = static_cast<Counter*>(arg0);
        c->sum += arg1;
        c->count++;
    };
    // From a plain thread: eventfd wake-ups.
    for (uint64_t i = 1; i <= 1000; i++)
        while (!t.post(Task{add, &counter, i})) std::this_thread::yield();
    // From another loop's thread: MSG_RING wake-ups.
    struct Ctx {
        Loop* target;
        Counter* counter;
        void (*add)(void*, uint64_t);
    } ctx{&t, &counter, add};
    auto source = LoopThread::start(
        LoopConfig{.name = "source"}, -1,
        [](Loop& loop, void* p) -> Result<void> {
            auto* c = static_cast<Ctx*>(p);
            loop.post(Task{[](void* q, uint64_t) {
                               auto* c2 = static_cast<Ctx*>(q);
                               for (uint64_t i = 1001; i <= 2000; i++)
                                   while (!c2->target->post(Task{c2->add, c2->counter, i})) {
                                   }
                           },
                           c, 0});
            return {};
        },
        nullptr, &ctx);
    ASSERT_TRUE(source);
    uint64_t deadline = mono_ns() + 10'000'000'000ull;
    while (counter.count < 2000 && mono_ns() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    EXPECT_EQ(counter.count.load(), 2000u);
    EXPECT_EQ(counter.sum.load(), 2000u * 2001u / 2);
    (*source)->request_stop();
    (*source)->join();
    (*target)->request_stop();
    (*target)->join();
}

TEST(Loop, RecvSurvivesBufferExhaustion) {
    // 2 buffers of 64 B: a 10 KB burst must exhaust them; the app re-arms after releasing.
    auto loop = make_loop(2, 64);
    EchoServer server(loop.get());
    server.start();
    uint16_t port = server.port();
    std::string message(10000, 'x');
    std::atomic<bool> done{false};
    std::string got;
    std::thread client([&] {
        int fd = blocking_client(port);
        ASSERT_EQ(::send(fd, message.data(), message.size(), 0),
                  static_cast<ssize_t>(message.size()));
        char buf[4096];
        while (got.size() < message.size()) {
            ssize_t n = ::recv(fd, buf, sizeof buf, 0);
            if (n <= 0) break;
            got.append(buf, static_cast<size_t>(n));
        }
        ::close(fd);
        done = true;
    });
    uint64_t deadline = mono_ns() + 10'000'000'000ull;
    while (!done && mono_ns() < deadline) loop->run_once(10'000'000);
    client.join();
    EXPECT_EQ(got, message);
    EXPECT_GT(loop->stats().buffer_exhausted.load(), 0u) << "the test did not exhaust the ring";
}

}  // namespace
}  // namespace em::io
