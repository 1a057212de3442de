// A WebSocket client for the integration tests, built on the project's codec (http/websocket.h,
// client role: masked frames, the strict parser) over a blocking socket on 127.0.0.1; used by
// ws_rpc_test and ws_subs_test. Test-only: one thread, blocking, deadlines by poll(2).
#pragma once

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <string_view>

#include "base/buffer.h"
#include "http/websocket.h"

namespace em::test {

/// What the client read: a whole message, the server's close frame, or the end of the stream.
struct WsRead {
    enum Kind { message, pong, close, eof, timeout, error } kind = timeout;
    std::string text;   ///< message or pong payload, close reason, or the parser's error
    uint16_t code = 0;  ///< close
};

/// A WebSocket client on the codec: blocking socket, masked frames, client-role parser.
class WsClient {
  public:
    /// Connects to 127.0.0.1:port; rcvbuf_bytes (if not 0) is set before connecting.
    explicit WsClient(uint16_t port, int rcvbuf_bytes = 0)
        : parser_(http::WsLimits{1u << 30, 1u << 30}, http::WsRole::client) {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (rcvbuf_bytes) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf_bytes, sizeof(int));
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
            ::close(fd_);
            fd_ = -1;
        }
    }
    ~WsClient() {
        if (fd_ >= 0) ::close(fd_);
    }
    bool send_raw(std::string_view bytes) {
        while (!bytes.empty()) {
            ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
            if (n <= 0) return false;
            bytes.remove_prefix(static_cast<size_t>(n));
        }
        return true;
    }
    /// Sends the opening handshake; returns the response's head ("" if none came).
    std::string handshake(const std::string& target = "/", const std::string& extra = "",
                          const std::string& version = "13") {
        std::string req = "GET " + target +
                          " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                          "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                          "Sec-WebSocket-Version: " +
                          version + "\r\n" + extra + "\r\n";
        if (!send_raw(req)) return "";
        while (buffered_.find("\r\n\r\n") == std::string::npos) {
            if (!fill(10000)) return buffered_;
        }
        size_t end = buffered_.find("\r\n\r\n") + 4;
        std::string head = buffered_.substr(0, end);
        // A refusal has a body (Content-Length): drop it; frames follow only a 101.
        buffered_.erase(0, end);
        return head;
    }
    /// One masked frame.
    bool send_frame(http::WsOpcode op, std::string_view payload, bool fin = true) {
        ByteBuffer out(64u << 20);
        http::WsMask mask{{0x12, 0x34, 0x56, 0x78}};
        std::span<const uint8_t> p(reinterpret_cast<const uint8_t*>(payload.data()),
                                   payload.size());
        EXPECT_TRUE(http::ws_write_frame(out, op, p, fin, &mask));
        return send_raw(out.view());
    }
    bool send_text(std::string_view text) { return send_frame(http::WsOpcode::text, text); }
    /// The next message, pong or close (or the end of the stream, or nothing within timeout).
    WsRead read(int timeout_ms = 15000) {
        WsRead r;
        for (;;) {
            while (!buffered_.empty()) {
                std::span<uint8_t> in(reinterpret_cast<uint8_t*>(buffered_.data()),
                                      buffered_.size());
                http::WsEvent e = parser_.parse(in);
                std::string payload(reinterpret_cast<const char*>(e.payload.data()),
                                    e.payload.size());
                buffered_.erase(0, e.consumed);
                if (e.kind == http::WsEventKind::data) {
                    message_ += payload;
                    if (!e.fin) continue;
                    r.kind = WsRead::message;
                    r.text.swap(message_);
                    return r;
                }
                if (e.kind == http::WsEventKind::pong) return {WsRead::pong, payload, 0};
                if (e.kind == http::WsEventKind::close)
                    return {WsRead::close, std::string(e.close_reason), e.close_code};
                if (e.kind == http::WsEventKind::error)
                    return {WsRead::error, std::string(parser_.error_reason()), 0};
                if (e.kind == http::WsEventKind::incomplete) break;
            }
            int got = fill_status(timeout_ms);
            if (got == 0) return {WsRead::eof, "", 0};
            if (got < 0) return {WsRead::timeout, "", 0};
        }
    }
    /// Reads until a close frame (skipping messages); its code, or 0 if none came.
    WsRead read_until_close(int timeout_ms = 15000) {
        for (;;) {
            WsRead r = read(timeout_ms);
            if (r.kind != WsRead::message && r.kind != WsRead::pong) return r;
        }
    }
    bool ok() const { return fd_ >= 0; }

  private:
    /// 1: bytes came; 0: end of stream; -1: nothing within timeout.
    int fill_status(int timeout_ms) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, timeout_ms) <= 0) return -1;
        char buf[65536];
        ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
        if (n <= 0) return 0;
        buffered_.append(buf, static_cast<size_t>(n));
        return 1;
    }
    bool fill(int timeout_ms) { return fill_status(timeout_ms) == 1; }
    int fd_ = -1;
    std::string buffered_;
    std::string message_;
    http::WsParser parser_;
};

}  // namespace em::test
