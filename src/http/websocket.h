// WebSocket (RFC 6455) without I/O: the opening handshake's checks and 101 answer, an incremental
// frame parser, and frame writers, for both ends (the rpc listener is a server; a connection to
// an EL's ws_url is a client).
//
// Owned by the thread that owns the connection; plain values and pure functions over the
// caller's memory. The parser keeps at most one frame header and one control frame's payload
// (125 bytes) of its own; it allocates nothing. Data payloads are unmasked in place in the
// caller's receive buffer and handed back as views into it, piece by piece as they arrive: the
// caller assembles a message (within WsLimits::message_bytes_max, which the parser enforces).
//
// Incremental use: parse(in) consumes bytes from the front of `in` and returns one event and how
// many bytes it used; call it again with the rest (or with more bytes later). A frame header cut
// anywhere is kept until it is whole; a payload cut anywhere yields its pieces. Nothing at or past
// in.size() is read or written.
//
// Strictness (RFC 6455 §5): RSV bits, unknown opcodes, a masked frame to a client or an unmasked
// one to a server, a 64-bit length with its top bit set, a control frame over 125 bytes or
// fragmented, a continuation with no message started, a data frame inside a fragmented message,
// and a close payload of 1 byte or with a code that may not be sent all fail with 1002; text that
// is not UTF-8 (checked across fragments, and whole at the message's end) or a close reason that
// is not fails with 1007; a frame or message over the limits fails with 1009, decided from the
// frame header before its payload is read. Length encodings longer than needed are accepted.
// Extensions are never negotiated (permessage-deflate is declined by not echoing it), so no RSV
// bit has a meaning here.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "base/buffer.h"
#include "base/result.h"
#include "http/message.h"
#include "http/utf8.h"

namespace em::http {

// --- The opening handshake (RFC 6455 §4.2) ---

/// Characters of a Sec-WebSocket-Accept value (base64 of a SHA-1 digest).
inline constexpr size_t ws_accept_chars = 28;
/// Characters of a Sec-WebSocket-Key value (base64 of 16 bytes).
inline constexpr size_t ws_key_chars = 24;

/// What a valid upgrade request carries that the answer needs.
struct WsUpgrade {
    std::string_view key;  ///< Sec-WebSocket-Key as sent (a view into the request)
};

/// Checks a parsed request is a WebSocket opening handshake: GET, HTTP/1.1, "Upgrade: websocket",
/// "upgrade" in the Connection token list, Sec-WebSocket-Version 13 and one Sec-WebSocket-Key that
/// base64-decodes to 16 bytes. Errors name what was wrong; Errc::unsupported (a version other than
/// 13) is answered 426 with "Sec-WebSocket-Version: 13" (ws_write_rejection), any other 400.
[[nodiscard]] Result<WsUpgrade> ws_check_upgrade(const Request& req);
/// Sec-WebSocket-Accept for a key: base64(SHA-1(key + the RFC's GUID)).
std::array<char, ws_accept_chars> ws_accept(std::string_view key);
/// Appends "101 Switching Protocols" with Upgrade, Connection and Sec-WebSocket-Accept. No
/// extension or subprotocol is echoed (permessage-deflate is declined). False if out overflowed.
bool ws_write_accept(ByteBuffer& out, const WsUpgrade& up);
/// Appends the answer to a refused handshake (426 with Sec-WebSocket-Version: 13 for
/// Errc::unsupported, else 400), the error's message as a text/plain body, Connection: close.
bool ws_write_rejection(ByteBuffer& out, const Error& why);

// The client's side (a connection to an EL's ws_url).

/// Sec-WebSocket-Key for a 16-byte nonce the caller drew at random (RFC 6455 §4.1).
std::array<char, ws_key_chars> ws_key(const std::array<uint8_t, 16>& nonce);
/// Appends the opening handshake: GET target, Host, Upgrade, Connection, the key, version 13; no
/// extension or subprotocol is asked for. False if out overflowed.
bool ws_write_upgrade_request(ByteBuffer& out, std::string_view host, std::string_view target,
                              std::string_view key);
/// Checks the server's answer to our handshake: 101, Upgrade websocket, Connection upgrade,
/// Sec-WebSocket-Accept matching `key`, and no extension or subprotocol (none was asked for).
/// Errors name what was wrong. (ResponseParser takes a 101 for an error today: the client
/// connection will need a mode that accepts it.)
[[nodiscard]] Result<void> ws_check_accept(int status, std::span<const Header> headers,
                                           std::string_view key);

// --- Frames (RFC 6455 §5) ---

enum class WsOpcode : uint8_t {
    continuation = 0x0,
    text = 0x1,
    binary = 0x2,
    close = 0x8,
    ping = 0x9,
    pong = 0xA,
};

/// Close codes the parser fails with (RFC 6455 §7.4.1).
namespace ws_close {
inline constexpr uint16_t normal = 1000;
inline constexpr uint16_t going_away = 1001;
inline constexpr uint16_t protocol_error = 1002;
inline constexpr uint16_t unsupported_data = 1003;
inline constexpr uint16_t no_status = 1005;  ///< never sent: a close frame without a code
inline constexpr uint16_t invalid_payload = 1007;
inline constexpr uint16_t policy_violation = 1008;
inline constexpr uint16_t too_big = 1009;
inline constexpr uint16_t internal_error = 1011;
}  // namespace ws_close

/// True if a close frame may carry `code` (1000-1003, 1007-1014, 3000-4999); 1004-1006, 1015 and
/// other codes below 3000 are reserved, codes from 5000 undefined.
bool ws_close_code_valid(uint16_t code);

/// Configured maxima of one connection's incoming frames ([rpc.ws] message_bytes_max).
struct WsLimits {
    uint64_t frame_bytes_max = 32u << 20;    ///< one frame's payload
    uint64_t message_bytes_max = 32u << 20;  ///< a whole message, all its fragments together
};

/// Which end this parser is: a server reads masked frames, a client unmasked ones.
enum class WsRole : uint8_t { server, client };

enum class WsEventKind : uint8_t {
    incomplete,  ///< all of `in` was used; call again when more bytes came
    data,        ///< the next piece of a text or binary message (`fin`: the message ends here)
    ping,        ///< a whole ping; answer with a pong carrying `payload`
    pong,        ///< a whole pong
    close,       ///< a whole close frame: `close_code` (1005 if none), `close_reason`
    error,       ///< the connection must be failed: error_close_code(), error_reason()
};

/// One step of the parser. Views point into the caller's buffer (data) or into the parser
/// (control payloads): valid until the next parse() or reset().
struct WsEvent {
    WsEventKind kind = WsEventKind::incomplete;
    size_t consumed = 0;                        ///< bytes of `in` this step used
    WsOpcode message = WsOpcode::binary;        ///< data: the message's type (text or binary)
    bool fin = false;                           ///< data: this piece ends the message
    std::span<const uint8_t> payload;           ///< data piece, or a control frame's payload
    uint16_t close_code = ws_close::no_status;  ///< close
    std::string_view close_reason;              ///< close (valid UTF-8)
};

/// Incremental frame parser for one connection. After a close event the rest of the input is
/// consumed and ignored (RFC 6455 §5.5.1: nothing follows a close); after an error, parse()
/// returns the same error again.
class WsParser {
  public:
    static constexpr size_t error_reason_bytes_max = 123;  ///< fits a close frame's reason
    static constexpr size_t control_bytes_max = 125;
    static constexpr size_t header_bytes_max = 14;

    WsParser(const WsLimits& limits, WsRole role) : limits_(limits), role_(role) {}

    /// Parses from the front of `in`; unmasks payload bytes in place. See the file comment.
    WsEvent parse(std::span<uint8_t> in);
    /// After `error`: the close code to fail the connection with (1002, 1007 or 1009).
    uint16_t error_close_code() const { return error_code_; }
    /// After `error`: what was wrong, e.g. "unmasked frame from a client" (fits a close reason).
    std::string_view error_reason() const { return {error_reason_, error_len_}; }
    /// True after a close event.
    bool closed() const { return phase_ == Phase::closed; }
    /// Bytes of the message being received so far (all its fragments).
    uint64_t message_bytes() const { return message_bytes_; }
    /// Ready for a new connection (keeps the limits and the role).
    void reset();
    const WsLimits& limits() const { return limits_; }

  private:
    enum class Phase : uint8_t { header, payload, closed, failed };

    WsEvent parse_header(std::span<uint8_t> in);
    bool check_header();
    WsEvent parse_payload(std::span<uint8_t> in);
    WsEvent data_piece(std::span<uint8_t> in, size_t n);
    WsEvent control_frame(size_t consumed);
    WsEvent close_frame(size_t consumed);
    [[gnu::format(printf, 3, 4)]] WsEvent fail(uint16_t code, const char* format, ...);

    const WsLimits limits_;
    const WsRole role_;
    Phase phase_ = Phase::header;
    // The frame being read.
    uint8_t header_[header_bytes_max] = {};
    uint8_t header_len_ = 0;
    WsOpcode opcode_ = WsOpcode::continuation;
    bool frame_fin_ = false;
    bool masked_ = false;
    uint8_t mask_[4] = {};
    uint8_t mask_phase_ = 0;  // payload bytes so far, mod 4
    uint64_t remaining_ = 0;  // payload bytes still to come
    // The data message being read (across fragments).
    bool in_message_ = false;
    WsOpcode message_ = WsOpcode::binary;
    uint64_t message_bytes_ = 0;
    Utf8Validator utf8_;
    // A control frame's payload, gathered whole.
    uint8_t control_[control_bytes_max] = {};
    uint8_t control_len_ = 0;
    uint16_t error_code_ = 0;
    uint8_t error_len_ = 0;
    char error_reason_[error_reason_bytes_max + 1] = {};
};

/// XORs p[0, n) with the 4-byte mask, starting at mask byte `phase` (bytes of this payload
/// already unmasked, mod 4); 8 bytes at a time.
void ws_unmask(uint8_t* p, size_t n, const uint8_t mask[4], size_t phase);

/// A client's masking key for one frame (RFC 6455 §5.3: unpredictable; the caller draws it).
struct WsMask {
    std::array<uint8_t, 4> key{};
};

/// Bytes of a frame header for a payload of n bytes (2, 4 or 10; 4 more when masked).
constexpr size_t ws_header_bytes(uint64_t n, bool masked) {
    return (n < 126 ? 2 : n <= 0xFFFF ? 4 : 10) + (masked ? 4 : 0);
}

/// Appends one frame: unmasked (a server's) when mask is null, else masked with *mask (a
/// client's). Control frames must be fin and at most 125 bytes (asserted). False if out
/// overflowed (the frame is then incomplete: the caller must not send it).
bool ws_write_frame(ByteBuffer& out, WsOpcode op, std::span<const uint8_t> payload, bool fin = true,
                    const WsMask* mask = nullptr);
/// As ws_write_frame for text.
bool ws_write_text(ByteBuffer& out, std::string_view text, const WsMask* mask = nullptr);
/// Appends a close frame with `code` (a valid code, asserted) and `reason` (cut to 123 bytes at a
/// UTF-8 boundary so the frame stays a valid control frame).
bool ws_write_close(ByteBuffer& out, uint16_t code, std::string_view reason,
                    const WsMask* mask = nullptr);

}  // namespace em::http
