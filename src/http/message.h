// HTTP/1.1 message views shared by the parsers (parser.h) and the writers (writer.h): limits,
// methods, header fields, and the parsed request and response.
//
// Any thread; plain values. A parsed Request/Response holds views into the caller's receive
// buffer plus a span over the parser's own header array: it is valid until that buffer changes
// or the parser is reset. Nothing here allocates.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace em::http {

/// Configured maxima for one parsed message (DESIGN.md: headers 16 KiB, body 32 MiB).
struct Limits {
    size_t header_bytes_max =
        16 * 1024;                       ///< start line + header fields + blank line; also trailers
    size_t body_bytes_max = 32u << 20;   ///< Content-Length, or the de-chunked body size
    size_t header_count_max = 64;        ///< header fields per message (parser array size)
    size_t chunk_line_bytes_max = 1024;  ///< one chunk-size line including extensions and CRLF
};

enum class Method : uint8_t { get, head, post, put, delete_, options, patch, other };

/// One header field as received: name as sent (compare case-insensitively), value without OWS.
struct Header {
    std::string_view name;
    std::string_view value;
};

/// A parsed request: views into the caller's buffer; valid until the buffer changes.
struct Request {
    Method method = Method::other;
    std::string_view method_text;  ///< the method token as sent (for Method::other)
    std::string_view target;
    uint8_t version_minor = 1;  ///< HTTP/1.<version_minor>
    bool keep_alive = true;  ///< HTTP/1.1 unless "Connection: close"; HTTP/1.0 only with keep-alive
    bool expect_continue = false;  ///< "Expect: 100-continue" on an HTTP/1.1 request
    bool chunked = false;          ///< the body arrived with Transfer-Encoding: chunked
    uint64_t content_length = 0;   ///< the declared Content-Length (0 if chunked or absent)
    std::string_view authorization, content_type, host, upgrade;  ///< "" if absent
    std::span<const Header> headers;                              ///< all fields, in order
    std::string_view body;  ///< contiguous (chunked bodies are de-chunked in place)
};

/// A parsed (final, non-1xx) response: views into the caller's buffer.
struct Response {
    int status = 0;
    uint8_t version_minor = 1;
    bool keep_alive = true;  ///< false after a close-delimited body or "Connection: close"
    bool chunked = false;    ///< the body arrived with Transfer-Encoding: chunked
    std::span<const Header> headers;
    std::string_view content_type;  ///< "" if absent
    std::string_view body;
};

enum class ParseStatus : uint8_t { incomplete, complete, error };

/// "GET", "POST", ... ("OTHER" for Method::other).
const char* method_name(Method m);

/// True if a and b are equal ignoring ASCII case.
bool iequals(std::string_view a, std::string_view b);

/// Value of the first header named `name` (case-insensitive), "" if absent.
std::string_view find_header(std::span<const Header> headers, std::string_view name);

}  // namespace em::http
