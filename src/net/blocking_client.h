// One HTTP/1.1 exchange over a new blocking TCP connection, for tools and tests (enginemux top,
// `enginemux validator status|promote|demote`, the test harnesses), never for the data path
// (which runs on io_uring: net/client.h). The answer is read to the end (Connection: close)
// and parsed by the project's strict response parser, so chunked and close-delimited bodies
// are handled and a malformed answer is an error, not a guess.
//
// Threads: any. Blocks at most timeout_ms in all (one deadline for connect, send and receive,
// not an idle timer); a signal that interrupts it does not end the exchange.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"
#include "io/socket.h"

namespace em::http {

struct BlockingRequest {
    std::string_view method = "GET";
    std::string_view target = "/";
    std::string_view host = "127.0.0.1";                 ///< the Host header
    std::string_view authorization;                      ///< the whole header value; "" = none
    std::string_view content_type = "application/json";  ///< sent when body is not empty
    std::string_view body;
    int timeout_ms = 5'000;  ///< the whole exchange's deadline
};

struct BlockingReply {
    int status = 0;
    std::string body;
};

/// Errors: Errc::io naming what failed (cannot connect, send, receive, timeout) or a malformed
/// answer. Any HTTP status is a reply, not an error.
Result<BlockingReply> blocking_exchange(const io::Address& address, const BlockingRequest& request);

}  // namespace em::http
