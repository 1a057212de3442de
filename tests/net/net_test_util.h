// Helpers for tests that drive an io::Loop on the test thread against real sockets.
#pragma once

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "base/clock.h"
#include "io/loop.h"
#include "net/client.h"

namespace em::test {

inline std::unique_ptr<io::Loop> make_loop() {
    io::LoopConfig config;
    config.name = "test";
    config.buffer_count = 256;
    config.buffer_bytes = 16384;
    auto loop = io::Loop::create(config);
    if (!loop) {
        std::fprintf(stderr, "loop: %s\n", loop.error().c_str());
        std::abort();
    }
    return std::move(*loop);
}

/// Runs loop turns until pred() is true or timeout_ms passes; returns pred().
template <typename Pred>
bool run_until(io::Loop& loop, Pred pred, uint64_t timeout_ms) {
    uint64_t deadline = mono_ns() + timeout_ms * 1'000'000ull;
    while (!pred()) {
        if (mono_ns() > deadline) return false;
        loop.run_once(2'000'000);
    }
    return true;
}

/// Declared right after a ClientConn: at scope exit, closes it and runs the loop until no
/// io_uring operation of it is pending, so it may be destroyed (net/client.h).
struct CloseAtExit {
    io::Loop& loop;
    http::ClientConn& conn;
    ~CloseAtExit() {
        conn.close();
        EXPECT_TRUE(run_until(
            loop, [&] { return !conn.ops_pending(); }, 5000));
    }
};

/// A plain non-blocking TCP client for sending raw bytes (malformed requests, pipelines).
class RawClient {
  public:
    explicit RawClient(uint16_t port) {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
        pollfd p{fd_, POLLOUT, 0};
        ::poll(&p, 1, 2000);
    }
    ~RawClient() { ::close(fd_); }
    void send(const std::string& data) {
        size_t sent = 0;
        while (sent < data.size()) {
            ssize_t n = ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
            if (n > 0)
                sent += static_cast<size_t>(n);
            else if (n < 0 && errno != EAGAIN)
                return;
            else {
                pollfd p{fd_, POLLOUT, 0};
                ::poll(&p, 1, 100);
            }
        }
    }
    /// Whatever has arrived (non-blocking); *closed set when the peer closed.
    std::string receive_available(bool* closed = nullptr) {
        std::string out;
        char buf[65536];
        for (;;) {
            ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
            if (n > 0) {
                out.append(buf, static_cast<size_t>(n));
                continue;
            }
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
                if (closed) *closed = true;
            }
            break;
        }
        return out;
    }
    int fd() const { return fd_; }

  private:
    int fd_ = -1;
};

}  // namespace em::test
