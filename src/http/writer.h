// HTTP/1.1 writers: append a response (to the CL) or a request (to an EL) to an em::ByteBuffer.
//
// Owned by the caller's thread; pure functions over the caller's buffer. They allocate nothing
// once the buffer has grown to its working size. begin_* writes the head with a fixed-width
// Content-Length placeholder and returns a mark; the caller then appends the body straight into
// the buffer (e.g. a JSON-RPC answer) and end_* patches the real length in. If the buffer hit
// its bytes_max meanwhile, out.overflowed() is set and the message is incomplete: the caller
// must not send it (answer 413/500, or drop the upstream call) and clear the buffer.
//
// Strings passed in come from our own code and configuration (never raw peer bytes) and must
// not contain control bytes (CR, LF, ...); debug builds assert it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/buffer.h"

namespace em::http {

/// Width of the Content-Length placeholder: bodies up to 9'999'999'999 bytes.
inline constexpr size_t content_length_digits_max = 10;

/// Writes a response head (HTTP/1.1 status line, Content-Type unless empty, "Retry-After: N"
/// when retry_after_s > 0 (for 503 and 429), "Connection: close" unless keep_alive,
/// Content-Length placeholder) and returns the mark for end_response. status must be 200..599
/// and not 204/304 (those have no body: use write_response).
size_t begin_response(ByteBuffer& out, int status, std::string_view content_type, bool keep_alive,
                      uint32_t retry_after_s = 0);
/// Patches Content-Length with the bytes appended since begin_response returned `mark`.
void end_response(ByteBuffer& out, size_t mark);
/// A whole response with `body` (for 1xx/204/304 the body must be empty and no length is sent).
void write_response(ByteBuffer& out, int status, std::string_view content_type,
                    std::string_view body, bool keep_alive);
/// "HTTP/1.1 100 Continue" (for a request that said Expect: 100-continue).
void write_continue(ByteBuffer& out);

/// Writes an HTTP/1.1 request head (Host, "Authorization: Bearer <token>" unless the token is
/// empty, Content-Type unless empty, Content-Length placeholder); returns the mark for end_request.
size_t begin_request(ByteBuffer& out, std::string_view method, std::string_view host,
                     std::string_view target, std::string_view bearer_token,
                     std::string_view content_type);
/// Patches Content-Length with the bytes appended since begin_request returned `mark`.
void end_request(ByteBuffer& out, size_t mark);
/// Ends a request head written by begin_request whose body of `body_bytes` is sent from
/// elsewhere (ClientConn::set_body): nothing is appended after `mark`.
void end_request_head(ByteBuffer& out, size_t mark, size_t body_bytes);

/// Reason phrase of a status code ("OK", "Request Header Fields Too Large"); "Unknown" if unknown.
const char* status_reason(int status);

}  // namespace em::http
