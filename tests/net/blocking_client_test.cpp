// http::blocking_exchange against a canned server on 127.0.0.1 (a thread with a plain socket):
// what it sends, and how it reads Content-Length, chunked and close-delimited answers, HEAD,
// garbage and a server that is not there. Also http::read_token_file and bearer_matches.
#include "net/blocking_client.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "http/bearer.h"

namespace em::http {
namespace {

/// Accepts one connection, records the request's bytes, answers `answer` and closes. With
/// byte_gap_ms, the answer goes one byte at a time with that pause between bytes (until the
/// client goes away). The thread does not take SIGALRM (a test's timer interrupts the client).
class CannedServer {
  public:
    explicit CannedServer(std::string answer, int byte_gap_ms = 0)
        : answer_(std::move(answer)), byte_gap_ms_(byte_gap_ms) {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
        socklen_t n = sizeof a;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &n);
        port_ = ntohs(a.sin_port);
        ::listen(fd_, 1);
        thread_ = std::thread([this] {
            sigset_t alarm;
            sigemptyset(&alarm);
            sigaddset(&alarm, SIGALRM);
            pthread_sigmask(SIG_BLOCK, &alarm, nullptr);
            int c = ::accept(fd_, nullptr, nullptr);
            char buffer[4096];
            ssize_t got = ::recv(c, buffer, sizeof buffer, 0);  // our requests fit in one read
            if (got > 0) request_.assign(buffer, static_cast<size_t>(got));
            if (byte_gap_ms_ == 0) {
                ::send(c, answer_.data(), answer_.size(), MSG_NOSIGNAL);
            } else {
                for (char ch : answer_) {
                    if (::send(c, &ch, 1, MSG_NOSIGNAL) != 1) break;
                    std::this_thread::sleep_for(std::chrono::milliseconds(byte_gap_ms_));
                }
            }
            ::close(c);
        });
    }
    ~CannedServer() {
        thread_.join();
        ::close(fd_);
    }
    io::Address address() const { return *io::resolve("127.0.0.1:" + std::to_string(port_)); }
    const std::string& request() {
        thread_.join();
        thread_ = std::thread([] {});
        return request_;
    }

  private:
    int fd_ = -1;
    uint16_t port_ = 0;
    std::string answer_;
    int byte_gap_ms_ = 0;
    std::string request_;
    std::thread thread_;
};

TEST(BlockingExchange, SendsTheRequestAndReadsAContentLengthAnswer) {
    CannedServer server("HTTP/1.1 201 Created\r\nContent-Length: 11\r\n\r\n{\"ok\":true}");
    BlockingRequest r;
    r.method = "POST";
    r.target = "/nodes";
    r.host = "127.0.0.1:9551";
    r.authorization = "Bearer t0k3n";
    r.body = "http://x";
    auto reply = blocking_exchange(server.address(), r);
    ASSERT_TRUE(reply) << reply.error().c_str();
    EXPECT_EQ(reply->status, 201);
    EXPECT_EQ(reply->body, "{\"ok\":true}");
    const std::string& sent = server.request();
    EXPECT_EQ(sent.rfind("POST /nodes HTTP/1.1\r\nHost: 127.0.0.1:9551\r\n", 0), 0u) << sent;
    EXPECT_NE(sent.find("\r\nAuthorization: Bearer t0k3n\r\n"), std::string::npos) << sent;
    EXPECT_NE(sent.find("\r\nContent-Length: 8\r\n\r\nhttp://x"), std::string::npos) << sent;
}

// A signal (here a 1-ms interval timer with a handler installed without SA_RESTART, as a tool's
// SIGWINCH or SIGCHLD handler may be) interrupts the waits, but not the exchange.
TEST(BlockingExchange, ASignalDoesNotEndTheExchange) {
    CannedServer server("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 5);
    struct sigaction action {
    }, saved{};
    action.sa_handler = [](int) {};
    sigemptyset(&action.sa_mask);
    ASSERT_EQ(sigaction(SIGALRM, &action, &saved), 0);
    itimerval every_ms{{0, 1000}, {0, 1000}}, off{};
    setitimer(ITIMER_REAL, &every_ms, nullptr);
    auto reply = blocking_exchange(server.address(), BlockingRequest{});
    setitimer(ITIMER_REAL, &off, nullptr);
    sigaction(SIGALRM, &saved, nullptr);
    ASSERT_TRUE(reply) << reply.error().c_str();
    EXPECT_EQ(reply->body, "ok");
}

// timeout_ms bounds the whole exchange: a server that trickles its answer (a byte every 20 ms,
// about 1.5 s in all) does not hold a 300-ms exchange open by sending now and then.
TEST(BlockingExchange, TheTimeoutIsADeadlineNotAnIdleTimer) {
    CannedServer server("HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\n" + std::string(40, 'x'), 20);
    BlockingRequest r;
    r.timeout_ms = 300;
    auto reply = blocking_exchange(server.address(), r);
    ASSERT_FALSE(reply) << "read the whole trickled answer past the deadline";
    EXPECT_NE(std::string(reply.error().c_str()).find("no answer in time"), std::string::npos)
        << reply.error().c_str();
}

TEST(BlockingExchange, ReadsChunkedAndCloseDelimitedAnswers) {
    {
        CannedServer server(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: "
            "chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
        auto reply = blocking_exchange(server.address(), BlockingRequest{});
        ASSERT_TRUE(reply) << reply.error().c_str();
        EXPECT_EQ(reply->body, "abcde");
    }
    {
        CannedServer server("HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\nbusy");
        auto reply = blocking_exchange(server.address(), BlockingRequest{});
        ASSERT_TRUE(reply) << reply.error().c_str();
        EXPECT_EQ(reply->status, 503);
        EXPECT_EQ(reply->body, "busy");
    }
}

TEST(BlockingExchange, AHeadAnswerHasNoBody) {
    CannedServer server("HTTP/1.1 200 OK\r\nContent-Length: 42\r\n\r\n");
    BlockingRequest r;
    r.method = "HEAD";
    auto reply = blocking_exchange(server.address(), r);
    ASSERT_TRUE(reply) << reply.error().c_str();
    EXPECT_EQ(reply->status, 200);
    EXPECT_TRUE(reply->body.empty());
}

TEST(BlockingExchange, GarbageAndCutAnswersAreErrorsThatSaySo) {
    {
        CannedServer server("SSH-2.0-OpenSSH_9.2\r\n");
        auto reply = blocking_exchange(server.address(), BlockingRequest{});
        ASSERT_FALSE(reply);
        EXPECT_NE(std::string(reply.error().c_str()).find("not an HTTP answer"), std::string::npos);
    }
    {
        CannedServer server("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort");
        auto reply = blocking_exchange(server.address(), BlockingRequest{});
        ASSERT_FALSE(reply) << "a body cut short must not pass for an answer";
    }
}

TEST(BlockingExchange, NobodyListeningIsAConnectError) {
    io::Address address;
    {
        CannedServer server("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        address = server.address();
        (void)blocking_exchange(address, BlockingRequest{});
    }
    auto reply = blocking_exchange(address, BlockingRequest{});
    ASSERT_FALSE(reply);
    EXPECT_NE(std::string(reply.error().c_str()).find("connect"), std::string::npos)
        << reply.error().c_str();
}

TEST(TokenFile, ReadsTrimsAndRefusesWhatIsUnsafe) {
    char dir[] = "/tmp/em-token-XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    auto write = [&](const char* name, const std::string& text, mode_t mode) {
        std::string path = std::string(dir) + "/" + name;
        FILE* f = std::fopen(path.c_str(), "w");
        std::fwrite(text.data(), 1, text.size(), f);
        std::fclose(f);
        ::chmod(path.c_str(), mode);
        return path;
    };
    std::string good = write("good", "0123456789abcdef0123\n", 0600);
    auto token = read_token_file(good, true);
    ASSERT_TRUE(token) << token.error().c_str();
    EXPECT_EQ(*token, "0123456789abcdef0123");
    EXPECT_TRUE(bearer_matches("Bearer 0123456789abcdef0123", *token));
    EXPECT_FALSE(bearer_matches("Bearer 0123456789abcdef0124", *token));

    std::string open = write("open", "0123456789abcdef0123\n", 0644);
    EXPECT_TRUE(read_token_file(open, false));
    auto refused = read_token_file(open, true);
    ASSERT_FALSE(refused);
    EXPECT_NE(std::string(refused.error().c_str()).find("chmod 600"), std::string::npos);

    std::string empty = write("empty", "\n", 0600);
    auto e = read_token_file(empty, true);
    ASSERT_FALSE(e);
    EXPECT_NE(std::string(e.error().c_str()).find("is empty"), std::string::npos);
    std::string short_one = write("short", "abc\n", 0600);
    auto s = read_token_file(short_one, true);
    ASSERT_FALSE(s);
    EXPECT_NE(std::string(s.error().c_str()).find("shorter than 16"), std::string::npos);
    EXPECT_EQ(std::string(s.error().c_str()).find("abc"), std::string::npos) << "never quote it";
    EXPECT_FALSE(read_token_file(std::string(dir) + "/missing", true));
    std::string cmd = std::string("rm -rf ") + dir;
    EXPECT_EQ(std::system(cmd.c_str()), 0);
}

}  // namespace
}  // namespace em::http
