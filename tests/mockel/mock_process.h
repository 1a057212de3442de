// Test helpers for the enginemux-mock-el integration tests: start the real binary ($EM_MOCK_EL,
// set by meson) as a subprocess on 127.0.0.1 with --port 0, and talk HTTP/1.1 to it over real
// blocking sockets with deadlines (so hangs, closes and resets are observable).
//
// Test thread only; allocates freely.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "base/buffer.h"
#include "http/parser.h"

extern char** environ;

namespace em::test {

/// Path of the binary under test ("" when meson did not set EM_MOCK_EL).
inline std::string mock_el_path() {
    const char* p = std::getenv("EM_MOCK_EL");
    return p ? p : "";
}

inline uint64_t now_ms() {
    using namespace std::chrono;
    return static_cast<uint64_t>(
        duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count());
}

/// Reads from fd until `stop(text)` or the deadline; returns what arrived.
template <typename Stop>
std::string read_until(int fd, uint64_t timeout_ms, Stop stop, bool* eof = nullptr) {
    std::string text;
    uint64_t deadline = now_ms() + timeout_ms;
    while (!stop(text)) {
        uint64_t now = now_ms();
        if (now >= deadline) break;
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(deadline - now)) <= 0) continue;
        char buf[65536];
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n <= 0) {
            if (eof) *eof = true;
            break;
        }
        text.append(buf, static_cast<size_t>(n));
    }
    return text;
}

/// The mock EL as a child process.
class MockProcess {
  public:
    MockProcess() = default;
    MockProcess(const MockProcess&) = delete;
    MockProcess& operator=(const MockProcess&) = delete;
    ~MockProcess() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
        if (out_fd_ >= 0) ::close(out_fd_);
        if (err_fd_ >= 0) ::close(err_fd_);
    }

    /// Starts the binary with args (add "--port", "0" yourself) and waits for its first stdout
    /// line "listening on ADDR:PORT". False (with error()) if it did not come.
    bool start(const std::vector<std::string>& args) {
        if (!spawn(args)) return false;
        bool eof = false;
        std::string line = read_until(
            out_fd_, 10'000, [](const std::string& t) { return t.find('\n') != t.npos; }, &eof);
        const std::string prefix = "listening on 127.0.0.1:";
        if (line.rfind(prefix, 0) != 0) {
            error_ =
                "no 'listening on' line; stdout: '" + line + "' stderr: '" + drain_stderr() + "'";
            return false;
        }
        port_ = static_cast<uint16_t>(std::atoi(line.c_str() + prefix.size()));
        return port_ != 0;
    }

    /// Runs the binary to completion (for bad command lines): exit status, stderr text.
    int run_to_exit(const std::vector<std::string>& args, std::string* stderr_text,
                    uint64_t timeout_ms = 10'000) {
        if (!spawn(args)) return -1;
        bool eof = false;
        std::string err = read_until(
            err_fd_, timeout_ms, [](const std::string&) { return false; }, &eof);
        if (stderr_text) *stderr_text = err;
        return wait_exit(timeout_ms);
    }

    /// SIGTERM, then the exit status (-1 if it did not exit in time or died from a signal).
    int stop(uint64_t timeout_ms = 10'000) {
        if (pid_ <= 0) return -1;
        ::kill(pid_, SIGTERM);
        return wait_exit(timeout_ms);
    }

    uint16_t port() const { return port_; }
    const std::string& error() const { return error_; }
    pid_t pid() const { return pid_; }

  private:
    bool spawn(const std::vector<std::string>& args) {
        std::string path = mock_el_path();
        if (path.empty()) {
            error_ = "EM_MOCK_EL is not set (meson sets it to the built binary)";
            return false;
        }
        int out[2], err[2];
        if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) {
            error_ = "pipe failed";
            return false;
        }
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, out[1], 1);
        posix_spawn_file_actions_adddup2(&fa, err[1], 2);
        std::vector<char*> argv;
        argv.push_back(path.data());
        for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        int rc = posix_spawn(&pid_, path.c_str(), &fa, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&fa);
        ::close(out[1]);
        ::close(err[1]);
        out_fd_ = out[0];
        err_fd_ = err[0];
        if (rc != 0) {
            error_ = "cannot start " + path + ": " + std::strerror(rc);
            pid_ = -1;
            return false;
        }
        return true;
    }

    std::string drain_stderr() {
        return read_until(err_fd_, 200, [](const std::string&) { return false; });
    }

    int wait_exit(uint64_t timeout_ms) {
        uint64_t deadline = now_ms() + timeout_ms;
        int status = 0;
        for (;;) {
            pid_t r = ::waitpid(pid_, &status, WNOHANG);
            if (r == pid_) break;
            if (now_ms() > deadline) return -1;
            ::usleep(5'000);
        }
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }

    pid_t pid_ = -1;
    int out_fd_ = -1;
    int err_fd_ = -1;
    uint16_t port_ = 0;
    std::string error_;
};

/// What happened to one HTTP exchange.
struct Reply {
    enum class Kind { response, closed, reset, timeout, bad } kind = Kind::bad;
    int status = 0;
    std::string body;
    std::string content_type;
    bool keep_alive = true;
};

/// A keep-alive HTTP/1.1 client connection to 127.0.0.1:port.
class Client {
  public:
    explicit Client(uint16_t port) {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
        int one = 1;
        ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    ~Client() { ::close(fd_); }
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    bool connected() const { return connected_; }
    int fd() const { return fd_; }

    /// Sends raw bytes (whole).
    bool send_raw(const std::string& data) {
        size_t sent = 0;
        while (sent < data.size()) {
            ssize_t n = ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
            if (n <= 0) return false;
            sent += static_cast<size_t>(n);
        }
        return true;
    }

    /// Sends one request (POST with a JSON body unless method says otherwise).
    bool send_request(const std::string& body, const std::string& target = "/",
                      const std::string& method = "POST", const std::string& extra_headers = "") {
        std::string req =
            method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra_headers;
        if (method == "POST" || !body.empty())
            req +=
                "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
                "\r\n";
        req += "\r\n" + body;
        return send_raw(req);
    }

    /// Reads one response (or notes close/reset/timeout).
    Reply read_reply(uint64_t timeout_ms = 5'000) {
        Reply r;
        http::Limits limits;
        limits.body_bytes_max = size_t{256} << 20;
        http::ResponseParser parser(limits);
        uint64_t deadline = now_ms() + timeout_ms;
        for (;;) {
            if (!pending_.empty()) {
                http::ParseStatus s = parser.parse(pending_.data(), pending_.size());
                if (s == http::ParseStatus::complete) {
                    const http::Response& resp = parser.response();
                    r.kind = Reply::Kind::response;
                    r.status = resp.status;
                    r.body = std::string(resp.body);
                    r.content_type = std::string(resp.content_type);
                    r.keep_alive = resp.keep_alive;
                    pending_.erase(0, parser.consumed());
                    return r;
                }
                if (s == http::ParseStatus::error) return r;  // Kind::bad
            }
            uint64_t now = now_ms();
            if (now >= deadline) {
                r.kind = Reply::Kind::timeout;
                return r;
            }
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(deadline - now)) <= 0) continue;
            char buf[65536];
            ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
            if (n == 0) {
                r.kind = Reply::Kind::closed;
                return r;
            }
            if (n < 0) {
                r.kind = errno == ECONNRESET ? Reply::Kind::reset : Reply::Kind::bad;
                return r;
            }
            pending_.append(buf, static_cast<size_t>(n));
        }
    }

    /// send_request + read_reply.
    Reply call(const std::string& body, const std::string& target = "/",
               const std::string& method = "POST", const std::string& extra_headers = "",
               uint64_t timeout_ms = 5'000) {
        if (!send_request(body, target, method, extra_headers)) {
            Reply r;
            r.kind = Reply::Kind::bad;
            return r;
        }
        return read_reply(timeout_ms);
    }

  private:
    int fd_ = -1;
    bool connected_ = false;
    std::string pending_;
};

}  // namespace em::test
