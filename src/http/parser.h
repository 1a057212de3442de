// Sans-IO HTTP/1.1 parsers: RequestParser (what a CL sends us) and ResponseParser (what an EL
// answers). They take the caller's receive buffer and return a status; they never do I/O and
// never allocate after construction (the header array is allocated once, header_count_max long).
//
// One parser per connection, used by the thread that owns the connection. The caller owns the
// buffer; the parser keeps offsets into it and may rewrite bytes of the message being parsed
// (chunked bodies are compacted in place so the body is contiguous) but never touches a byte
// at or past `len`. Parsed views (request()/response()) stay valid until the buffer changes or
// reset() is called.
//
// Incremental use: call parse(buf, len) whenever more bytes arrived, with a larger len. It
// resumes where it stopped; no byte is scanned twice except a CR whose LF has not arrived yet.
// Between calls the caller may move the message to another address (a ByteBuffer that grew,
// say) as long as it moves bytes [0, previous len) unchanged, including any the parser rewrote:
// the parser re-points its views when `buf` changes. After `complete`, consumed() bytes belong to
// the message; a pipelined next message starts there (the caller moves it to the buffer start, or
// passes buf+consumed(), then calls reset()).
//
// Strictness (RFC 9112), chosen because enginemux is a proxy and must never disagree with a
// backend about where a message ends:
// - Lines end with CRLF. A bare LF or bare CR anywhere in the head, a chunk-size line or the
//   trailers is a 400 (RFC 9112 §2.2 lets a recipient accept bare LF; we do not: every CL and EL
//   HTTP stack sends CRLF, and lenient line endings are a classic request-smuggling vector).
// - Empty lines before the request line are skipped (RFC 9112 §2.2); not before a status line.
// - obs-fold (a field line starting with SP/HTAB) is a 400, as is whitespace between a field
//   name and its colon, a control byte in a line, and a non-token byte in a method or name.
// - Content-Length and Transfer-Encoding together is a 400 (smuggling). Content-Length lists or
//   repeats must all hold the same number (else 400). Transfer-Encoding must be exactly
//   "chunked" (other codings: 501; a coding after chunked: 400; any TE on HTTP/1.0: 400).
// - HTTP/1.1 requests need exactly one Host; Host, Authorization and Content-Type may not repeat.
// - Versions other than HTTP/1.x: 505.
// - Limits: a head over header_bytes_max or more than header_count_max fields: 431; a body over
//   body_bytes_max: 413, decided from Content-Length before the body is read, or while
//   de-chunking. Chunk extensions are skipped; trailer fields are checked and dropped.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "http/message.h"

namespace em::http {

namespace detail {

/// The shared state machine behind RequestParser and ResponseParser.
class MessageParser {
  public:
    static constexpr size_t error_reason_bytes_max = 127;
    static constexpr uint32_t interim_responses_max = 8;  ///< 1xx responses skipped per message

    MessageParser(const Limits& limits, bool response);

    ParseStatus parse(char* buf, size_t len);
    ParseStatus finish_on_eof(char* buf, size_t len);
    void reset();
    void expect_no_body() { expect_no_body_ = true; }
    void expect_upgrade() { expect_upgrade_ = true; }

    const Request& request() const { return req_; }
    const Response& response() const { return resp_; }
    size_t consumed() const { return s_.pos; }
    bool headers_done() const { return s_.headers_done; }
    size_t head_bytes() const { return s_.body_start; }
    int error_status() const { return error_status_; }
    std::string_view error_reason() const { return {error_reason_, error_len_}; }
    const Limits& limits() const { return limits_; }

  private:
    enum class Phase : uint8_t {
        start_line,
        fields,
        body_length,
        chunk_size,
        chunk_data,
        chunk_crlf,
        trailers,
        body_until_close,
        done,
        failed,
    };
    enum class Line : uint8_t { found, incomplete, too_long, bare_lf, bare_cr, control };

    /// Per-message state; reset() value-initialises it.
    struct State {
        Phase phase = Phase::start_line;
        bool headers_done = false;
        bool cl_seen = false;
        bool te_seen = false;
        bool te_chunked = false;
        bool conn_close = false;
        bool conn_keep_alive = false;
        bool expect_continue = false;
        uint8_t version_minor = 1;
        uint8_t seen_single = 0;  // bit per single-valued field (host, authorization, ...)
        uint32_t line_no = 0;     // lines of the current head/trailer section read so far
        uint32_t interim_count = 0;
        int status = 0;
        size_t start = 0;    // first byte of the current head (moves past skipped 1xx responses)
        size_t pos = 0;      // next unparsed byte
        size_t scan = 0;     // where the line-end search resumes
        size_t section = 0;  // first byte of the section the current line limit counts from
        size_t header_count = 0;
        size_t body_start = 0;
        size_t body_len = 0;  // de-chunked bytes so far
        uint64_t remaining = 0;
        uint64_t content_length = 0;
        std::string_view content_length_text;
        std::string_view content_type, authorization, host, upgrade;
    };

    void begin_message(size_t at, uint32_t interim_count);
    void rebase(const char* buf);
    bool step(char* buf, size_t len);
    bool step_head(const char* buf, size_t len);
    bool step_chunk_size(const char* buf, size_t len);
    bool step_chunk_data(char* buf, size_t len);
    bool step_chunk_crlf(const char* buf, size_t len);
    bool step_trailers(const char* buf, size_t len);
    bool step_until_close(size_t len);
    Line next_line(const char* buf, size_t len, size_t line_bytes_max, std::string_view& line);
    bool fail_line(Line r, const char* buf, const char* where);
    bool fail_head_line(Line r, const char* buf);
    bool parse_request_line(std::string_view line);
    bool parse_status_line(std::string_view line);
    bool parse_version(std::string_view text);
    bool parse_field_line(std::string_view line, bool trailer);
    bool note_field(std::string_view name, std::string_view value);
    bool note_single(std::string_view& slot, uint8_t bit, std::string_view value, const char* what);
    bool note_content_length(std::string_view value);
    bool note_transfer_encoding(std::string_view value);
    void note_connection(std::string_view value);
    bool end_of_head(const char* buf);
    bool end_of_request_head(const char* buf);
    bool end_of_response_head(const char* buf);
    bool start_body(const char* buf, bool may_read_until_close);
    bool finish(const char* buf);
    [[gnu::format(printf, 3, 4)]] bool fail(int status, const char* format, ...);

    const Limits limits_;
    const bool response_;
    bool expect_no_body_ = false;
    bool expect_upgrade_ = false;
    const char* base_ = nullptr;  // the buffer of the previous parse() call
    std::unique_ptr<Header[]> headers_;
    State s_;
    Request req_;
    Response resp_;
    int error_status_ = 0;
    uint8_t error_len_ = 0;
    char error_reason_[error_reason_bytes_max + 1] = {};
};

}  // namespace detail

/// Parses requests from a client (the CL, or the admin API's callers).
class RequestParser {
  public:
    explicit RequestParser(const Limits& limits) : core_(limits, false) {}

    /// Parses the message at the start of buf[0, len). Incremental: after `incomplete`, call
    /// again with a larger len (same buffer, or the same bytes moved elsewhere). May rewrite
    /// bytes of this message in place (chunked bodies are compacted); never touches bytes at or
    /// past len.
    ParseStatus parse(char* buf, size_t len) { return core_.parse(buf, len); }
    /// The parsed request: valid after `complete`; its head fields already after headers_done().
    const Request& request() const { return core_.request(); }
    /// Wire bytes of the complete message (pipelining: the next one starts there).
    size_t consumed() const { return core_.consumed(); }
    /// True once the header block is parsed (e.g. to send 100 Continue).
    bool headers_done() const { return core_.headers_done(); }
    /// Once headers_done(): buffer bytes before the body (skipped empty lines and the head).
    size_t head_bytes() const { return core_.head_bytes(); }
    /// After `error`: 400, 413, 431, 501 (unknown Transfer-Encoding) or 505.
    int error_status() const { return core_.error_status(); }
    /// After `error`: what was wrong, e.g. "Content-Length 40000000 exceeds body limit 33554432".
    std::string_view error_reason() const { return core_.error_reason(); }
    /// Ready for the next message (keeps the limits and the header array).
    void reset() { core_.reset(); }
    /// The limits this parser enforces.
    const Limits& limits() const { return core_.limits(); }

  private:
    detail::MessageParser core_;
};

/// Parses responses from an upstream EL. Same contract as RequestParser; 1xx interim responses
/// (except 101, an error here) are skipped, 204/304 and answers to HEAD have no body, and a
/// response without Content-Length or chunked framing ends when the peer closes.
class ResponseParser {
  public:
    explicit ResponseParser(const Limits& limits) : core_(limits, true) {}

    /// As RequestParser::parse.
    ParseStatus parse(char* buf, size_t len) { return core_.parse(buf, len); }
    /// The peer closed after buf[0, len): completes a close-delimited body, else `error` (502).
    ParseStatus finish_on_eof(char* buf, size_t len) { return core_.finish_on_eof(buf, len); }
    /// The request was HEAD: the response has no body whatever its headers say (until reset()).
    void expect_no_body() { core_.expect_no_body(); }
    /// The request asked to switch protocols (a WebSocket handshake): a 101 is the final
    /// response, complete at the end of its head (consumed() bytes; what follows is the new
    /// protocol's), until reset(). Without it a 101 is an error.
    void expect_upgrade() { core_.expect_upgrade(); }
    /// The final response: valid after `complete`.
    const Response& response() const { return core_.response(); }
    /// Wire bytes of the complete message, including skipped 1xx responses.
    size_t consumed() const { return core_.consumed(); }
    /// True once the final response's header block is parsed.
    bool headers_done() const { return core_.headers_done(); }
    /// After `error`: the class of problem (400 malformed, 413/431 limits, 501 coding, 505
    /// version, 502 closed early); the proxy answers its own client 502 whatever it is.
    int error_status() const { return core_.error_status(); }
    /// After `error`: what was wrong.
    std::string_view error_reason() const { return core_.error_reason(); }
    /// Ready for the next response (also clears expect_no_body()).
    void reset() { core_.reset(); }
    /// The limits this parser enforces.
    const Limits& limits() const { return core_.limits(); }

  private:
    detail::MessageParser core_;
};

}  // namespace em::http
