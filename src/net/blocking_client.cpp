#include "net/blocking_client.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "http/parser.h"

namespace em::http {

namespace {

/// Closes the fd at scope exit.
struct Fd {
    int fd;
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
};

std::string request_text(const BlockingRequest& r) {
    std::string out;
    out.reserve(256 + r.body.size());
    out.append(r.method).append(" ").append(r.target).append(" HTTP/1.1\r\nHost: ");
    out.append(r.host).append("\r\nConnection: close\r\n");
    if (!r.authorization.empty())
        out.append("Authorization: ").append(r.authorization).append("\r\n");
    if (!r.body.empty()) out.append("Content-Type: ").append(r.content_type).append("\r\n");
    out.append("Content-Length: ").append(std::to_string(r.body.size())).append("\r\n\r\n");
    out.append(r.body);
    return out;
}

}  // namespace

Result<BlockingReply> blocking_exchange(const io::Address& address,
                                        const BlockingRequest& request) {
    Fd s{::socket(address.family(), SOCK_STREAM | SOCK_CLOEXEC, 0)};
    if (s.fd < 0) return Unexpected(Error::sys(errno, "socket"));
    timeval tv{request.timeout_ms / 1000, (request.timeout_ms % 1000) * 1000};
    setsockopt(s.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(s.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (::connect(s.fd, address.get(), address.length) != 0)
        return Unexpected(Error::sys(errno, "connect"));
    std::string out = request_text(request);
    for (size_t sent = 0; sent < out.size();) {
        ssize_t n = ::send(s.fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) return Unexpected(Error::sys(n < 0 ? errno : EPIPE, "send"));
        sent += static_cast<size_t>(n);
    }
    std::string in;
    char buffer[65536];
    for (;;) {
        ssize_t n = ::recv(s.fd, buffer, sizeof buffer, 0);
        if (n == 0) break;
        if (n < 0) return Unexpected(Error::sys(errno, "receive"));
        in.append(buffer, static_cast<size_t>(n));
    }
    Limits limits;
    limits.body_bytes_max = in.size() + 1;
    ResponseParser parser(limits);
    if (request.method == "HEAD") parser.expect_no_body();
    in.reserve(in.size() + 64);  // the parser may look a little past the end
    ParseStatus st = parser.parse(in.data(), in.size());
    if (st == ParseStatus::incomplete) st = parser.finish_on_eof(in.data(), in.size());
    if (st != ParseStatus::complete) {
        std::string_view why = st == ParseStatus::error ? parser.error_reason() : "cut short";
        return failf(Errc::io, "not an HTTP answer (%zu bytes): %.*s", in.size(),
                     static_cast<int>(why.size()), why.data());
    }
    BlockingReply reply;
    reply.status = parser.response().status;
    reply.body.assign(parser.response().body);
    return reply;
}

}  // namespace em::http
