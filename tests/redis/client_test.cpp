// redis::Client against a scripted fake server (a thread with a blocking socket on 127.0.0.1):
// what a real Redis never does on purpose. Replies dribbled one byte per write still match their
// commands in order; a malformed reply, an oversized one and a reply nobody asked for each fail
// the connection and bench the client, and the probe reconnects; stop() lets a command in
// flight finish and then refuses.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "../io/uring_skip.h"
#include "base/clock.h"
#include "io/loop.h"
#include "redis/client.h"

namespace em::redis {
namespace {

/// Answers each command (its arguments) with the bytes `answer` returns ("" = nothing).
using Answer = std::function<std::string(const std::vector<std::string>& args)>;

class FakeRedis {
  public:
    FakeRedis(Answer answer, bool dribble) : answer_(std::move(answer)), dribble_(dribble) {
        listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        EXPECT_EQ(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
        EXPECT_EQ(::listen(listen_fd_, 8), 0);
        socklen_t len = sizeof a;
        getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
        port_ = ntohs(a.sin_port);
        thread_ = std::thread([this] { serve(); });
    }
    ~FakeRedis() {
        stop_ = true;
        thread_.join();
        ::close(listen_fd_);
    }
    uint16_t port() const { return port_; }
    int connections() const { return connections_; }

  private:
    bool wait_readable(int fd) {
        pollfd p{fd, POLLIN, 0};
        while (!stop_)
            if (::poll(&p, 1, 20) > 0) return true;
        return false;
    }
    void serve() {
        while (wait_readable(listen_fd_)) {
            int fd = ::accept(listen_fd_, nullptr, nullptr);
            if (fd < 0) continue;
            connections_++;
            serve_connection(fd);
            ::close(fd);
        }
    }
    void serve_connection(int fd) {
        std::string in;
        Reader reader;
        char buf[4096];
        while (wait_readable(fd)) {
            ssize_t n = ::recv(fd, buf, sizeof buf, 0);
            if (n <= 0) return;
            in.append(buf, static_cast<size_t>(n));
            for (;;) {
                auto r = reader.parse(in);
                if (!r || !*r) break;
                Reply command = reader.reply(in);
                std::vector<std::string> args;
                for (size_t i = 0; i < command.size(); i++) args.emplace_back(command[i].str());
                in.erase(0, reader.consumed());
                reader.reset();
                std::string out = answer_(args);
                if (out == "<close>") return;
                write_out(fd, out);
            }
        }
    }
    void write_out(int fd, const std::string& out) {
        if (!dribble_) {
            (void)!::send(fd, out.data(), out.size(), MSG_NOSIGNAL);
            return;
        }
        for (char c : out) (void)!::send(fd, &c, 1, MSG_NOSIGNAL);
    }

    Answer answer_;
    bool dribble_;
    int listen_fd_ = -1;
    uint16_t port_ = 0;
    std::atomic<bool> stop_{false};
    std::atomic<int> connections_{0};
    std::thread thread_;
};

struct Got : ReplyHandler {
    std::vector<std::string> values;  ///< bulk strings, or "<kind>", or "error:<errc>"
    void on_reply(Command&, const Reply* reply, const Error* error) override {
        if (error)
            values.push_back(std::string("error:") + errc_name(error->code()));
        else if (reply->kind() == Kind::bulk)
            values.emplace_back(reply->str());
        else
            values.push_back(std::string("<") + kind_name(reply->kind()) + ">");
    }
};

class RedisClientTest : public ::testing::Test {
  protected:
    void SetUp() override {
        auto loop = io::Loop::create({});
        ASSERT_TRUE(loop) << loop.error().c_str();
        loop_ = std::move(*loop);
    }
    void TearDown() override {
        if (client_) {
            client_->stop();
            run_until([&] { return client_->stopped(); });
            client_.reset();
        }
    }
    bool run_until(const std::function<bool()>& pred, uint64_t timeout_ms = 10'000) {
        uint64_t end = mono_ns() + timeout_ms * 1'000'000ull;
        while (!pred() && mono_ns() < end) loop_->run_once(5'000'000);
        return pred();
    }
    Client& start(uint16_t port, const ReaderLimits& limits = {}) {
        ClientConfig base;
        base.timeout_ms = 2000;
        base.probe_interval_ms = 100;
        base.reply_limits = limits;
        auto config = client_config("redis://127.0.0.1:" + std::to_string(port), base);
        EXPECT_TRUE(config);
        client_ = std::make_unique<Client>(*loop_, *config);
        client_->start();
        EXPECT_TRUE(run_until([&] { return client_->admitted(); }));
        return *client_;
    }
    Result<void> get(Command& command, Got& got, std::string_view key) {
        command.handler = &got;
        std::string_view args[] = {"GET", key};
        return client_->send(command, args);
    }

    std::unique_ptr<io::Loop> loop_;
    std::unique_ptr<Client> client_;
};

std::string echo_key(const std::vector<std::string>& args) {
    if (args[0] == "PING") return "+PONG\r\n";
    return "$" + std::to_string(args[1].size()) + "\r\n" + args[1] + "\r\n";
}

TEST_F(RedisClientTest, PipelinedRepliesDribbledOneByteAtATimeMatchTheirCommandsInOrder) {
    FakeRedis server(echo_key, true);
    Client& client = start(server.port());
    Got got;
    Command commands[50];
    std::vector<std::string> keys;
    for (int i = 0; i < 50; i++) {
        keys.push_back("key-" + std::to_string(i) + std::string(static_cast<size_t>(i * 7), 'x'));
        ASSERT_TRUE(get(commands[i], got, keys.back()));
    }
    EXPECT_EQ(client.in_flight(), 50u);
    EXPECT_TRUE(got.values.empty());  // never inside send()
    ASSERT_TRUE(run_until([&] { return got.values.size() == 50; }));
    EXPECT_EQ(got.values, keys);
    EXPECT_EQ(client.in_flight(), 0u);
    EXPECT_EQ(client.stats().benched, 0u);
}

TEST_F(RedisClientTest, AMalformedReplyFailsTheConnectionAndTheProbeReconnects) {
    std::atomic<int> gets{0};
    FakeRedis server(
        [&](const std::vector<std::string>& args) -> std::string {
            if (args[0] == "PING") return "+PONG\r\n";
            return gets++ == 0 ? "?what\r\n" : "$-1\r\n";
        },
        false);
    Client& client = start(server.port());
    Got got;
    Command a, b;
    ASSERT_TRUE(get(a, got, "k"));
    ASSERT_TRUE(get(b, got, "k2"));  // behind it on the same connection
    ASSERT_TRUE(run_until([&] { return got.values.size() == 2; }));
    EXPECT_EQ(got.values[0], "error:invalid_input");
    EXPECT_EQ(got.values[1], "error:invalid_input");
    EXPECT_FALSE(client.admitted());
    EXPECT_FALSE(get(a, got, "k"));  // benched: refused at once
    ASSERT_TRUE(run_until([&] { return client.admitted(); }));
    EXPECT_EQ(server.connections(), 2);
    ASSERT_TRUE(get(a, got, "k"));
    ASSERT_TRUE(run_until([&] { return got.values.size() == 3; }));
    EXPECT_EQ(got.values[2], "<null bulk string>");
}

TEST_F(RedisClientTest, AnOversizedReplyIsTooLarge) {
    FakeRedis server(
        [](const std::vector<std::string>& args) -> std::string {
            if (args[0] == "PING") return "+PONG\r\n";
            return "$100\r\n" + std::string(100, 'v') + "\r\n";
        },
        false);
    ReaderLimits limits;
    limits.bulk_bytes_max = 64;
    Client& client = start(server.port(), limits);
    Got got;
    Command a;
    ASSERT_TRUE(get(a, got, "big"));
    ASSERT_TRUE(run_until([&] { return got.values.size() == 1; }));
    EXPECT_EQ(got.values[0], "error:too_large");
    EXPECT_FALSE(client.admitted());
}

TEST_F(RedisClientTest, AReplyNobodyAskedForFailsTheConnection) {
    std::atomic<int> pings{0};
    FakeRedis server(
        [&](const std::vector<std::string>& args) -> std::string {
            if (args[0] != "PING") return "$-1\r\n";
            return pings++ == 0 ? "+PONG\r\n+OK\r\n" : "+PONG\r\n";  // one reply too many
        },
        false);
    ClientConfig base;
    base.probe_interval_ms = 100;
    auto config = client_config("redis://127.0.0.1:" + std::to_string(server.port()), base);
    ASSERT_TRUE(config);
    client_ = std::make_unique<Client>(*loop_, *config);
    client_->start();
    ASSERT_TRUE(run_until([&] { return client_->stats().connection_failures >= 1; }));
    ASSERT_TRUE(run_until([&] { return client_->admitted(); }));  // the next connection is fine
    EXPECT_EQ(server.connections(), 2);
}

TEST_F(RedisClientTest, StopLetsTheCommandInFlightFinishThenRefuses) {
    FakeRedis server(echo_key, false);
    Client& client = start(server.port());
    Got got;
    Command a, b;
    ASSERT_TRUE(get(a, got, "last"));
    client.stop();
    auto refused = get(b, got, "late");
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code(), Errc::closed);
    ASSERT_TRUE(run_until([&] { return client.stopped(); }));
    EXPECT_EQ(got.values, std::vector<std::string>{"last"});
}

}  // namespace
}  // namespace em::redis

int main(int argc, char** argv) {
    return em::test::run_io_uring_tests(argc, argv);
}
