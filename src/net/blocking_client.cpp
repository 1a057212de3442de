#include "net/blocking_client.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/clock.h"
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

/// Waits until fd is ready for `events` or the deadline passes (a signal does not end the
/// wait); `what` names the step in the error.
Result<void> wait_ready(int fd, short events, uint64_t deadline_ns, const char* what) {
    for (;;) {
        uint64_t now = mono_ns();
        if (now >= deadline_ns) return failf(Errc::timeout, "%s: no answer in time", what);
        int ms = static_cast<int>((deadline_ns - now + 999'999) / 1'000'000);
        pollfd p{fd, events, 0};
        int n = ::poll(&p, 1, ms);
        if (n > 0) return {};
        if (n < 0 && errno != EINTR) return Unexpected(Error::sys(errno, what));
    }
}

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
    uint64_t deadline = mono_ns() + uint64_t(request.timeout_ms) * 1'000'000;
    Fd s{::socket(address.family(), SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)};
    if (s.fd < 0) return Unexpected(Error::sys(errno, "socket"));
    if (::connect(s.fd, address.get(), address.length) != 0) {
        if (errno != EINPROGRESS && errno != EINTR) return Unexpected(Error::sys(errno, "connect"));
        EM_TRY_VOID(wait_ready(s.fd, POLLOUT, deadline, "connect"));
        int error = 0;
        socklen_t bytes = sizeof error;
        getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &error, &bytes);
        if (error != 0) return Unexpected(Error::sys(error, "connect"));
    }
    std::string out = request_text(request);
    for (size_t sent = 0; sent < out.size();) {
        ssize_t n = ::send(s.fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
        if (n > 0) {
            sent += static_cast<size_t>(n);
        } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
            return Unexpected(Error::sys(n < 0 ? errno : EPIPE, "send"));
        } else {
            EM_TRY_VOID(wait_ready(s.fd, POLLOUT, deadline, "send"));
        }
    }
    std::string in;
    char buffer[65536];
    for (;;) {
        ssize_t n = ::recv(s.fd, buffer, sizeof buffer, 0);
        if (n == 0) break;
        if (n > 0) {
            in.append(buffer, static_cast<size_t>(n));
        } else if (errno != EAGAIN && errno != EINTR) {
            return Unexpected(Error::sys(errno, "receive"));
        } else {
            EM_TRY_VOID(wait_ready(s.fd, POLLIN, deadline, "receive"));
        }
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
