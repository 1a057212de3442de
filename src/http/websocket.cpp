#include "http/websocket.h"

#include <openssl/sha.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "base/assert.h"
#include "http/writer.h"

namespace em::http {

namespace {

constexpr std::string_view ws_guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
constexpr char b64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

bool is_b64(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

/// A Sec-WebSocket-Key is base64 (with padding) of 16 bytes: 22 characters and "==".
bool key_valid(std::string_view key) {
    if (key.size() != ws_key_chars || key.substr(22) != "==") return false;
    return std::all_of(key.begin(), key.begin() + 22, is_b64);
}

std::string_view trim_ows(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

/// True if the comma-separated list holds `token` (ASCII case-insensitive).
bool list_has(std::string_view list, std::string_view token) {
    while (!list.empty()) {
        size_t comma = list.find(',');
        std::string_view item = trim_ows(list.substr(0, comma));
        if (iequals(item, token)) return true;
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
    }
    return false;
}

/// True if any field named `name` holds `token` in its list.
bool fields_have(std::span<const Header> headers, std::string_view name, std::string_view token) {
    return std::any_of(headers.begin(), headers.end(), [&](const Header& h) {
        return iequals(h.name, name) && list_has(h.value, token);
    });
}

/// The one field named `name`: its value, "" with *count 0 if absent; *count says how many.
std::string_view single_field(std::span<const Header> headers, std::string_view name,
                              size_t* count) {
    std::string_view value;
    *count = 0;
    for (const Header& h : headers) {
        if (!iequals(h.name, name)) continue;
        if ((*count)++ == 0) value = h.value;
    }
    return value;
}

/// An `incomplete` step that used n bytes (more may follow in the same parse() call).
WsEvent progress(size_t n) {
    WsEvent ev;
    ev.consumed = n;
    return ev;
}

/// Standard base64 with '=' padding of n bytes into out (4 * ceil(n / 3) characters).
void b64_encode(const uint8_t* in, size_t n, char* out) {
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = uint32_t{in[i]} << 16;
        if (i + 1 < n) v |= uint32_t{in[i + 1]} << 8;
        if (i + 2 < n) v |= in[i + 2];
        *out++ = b64_alphabet[(v >> 18) & 63];
        *out++ = b64_alphabet[(v >> 12) & 63];
        *out++ = i + 1 < n ? b64_alphabet[(v >> 6) & 63] : '=';
        *out++ = i + 2 < n ? b64_alphabet[v & 63] : '=';
    }
}

int clamp_len(std::string_view s) {
    return static_cast<int>(std::min<size_t>(s.size(), 40));
}

}  // namespace

Result<WsUpgrade> ws_check_upgrade(const Request& req) {
    if (req.method != Method::get) {
        return failf(Errc::invalid_input, "WebSocket upgrade must be GET, not %.*s",
                     clamp_len(req.method_text), req.method_text.data());
    }
    if (req.version_minor < 1) return fail(Errc::invalid_input, "WebSocket upgrade needs HTTP/1.1");
    if (!fields_have(req.headers, "upgrade", "websocket")) {
        return fail(Errc::invalid_input, "Upgrade does not name websocket");
    }
    if (!fields_have(req.headers, "connection", "upgrade")) {
        return fail(Errc::invalid_input, "Connection does not list upgrade");
    }
    size_t n = 0;
    std::string_view version = single_field(req.headers, "sec-websocket-version", &n);
    if (n == 0) return fail(Errc::invalid_input, "no Sec-WebSocket-Version");
    if (n > 1 || version != "13") {
        return failf(Errc::unsupported, "Sec-WebSocket-Version %.*s is not supported (13 is)",
                     clamp_len(version), version.data());
    }
    std::string_view key = single_field(req.headers, "sec-websocket-key", &n);
    if (n == 0) return fail(Errc::invalid_input, "no Sec-WebSocket-Key");
    if (n > 1) return fail(Errc::invalid_input, "Sec-WebSocket-Key sent more than once");
    if (!key_valid(key)) {
        return failf(Errc::invalid_input, "Sec-WebSocket-Key \"%.*s\" is not base64 of 16 bytes",
                     clamp_len(key), key.data());
    }
    return WsUpgrade{key};
}

std::array<char, ws_accept_chars> ws_accept(std::string_view key) {
    EM_ASSERT(key.size() <= 64);
    char joined[64 + ws_guid.size()];
    std::memcpy(joined, key.data(), key.size());
    std::memcpy(joined + key.size(), ws_guid.data(), ws_guid.size());
    uint8_t digest[SHA_DIGEST_LENGTH];
    SHA1(reinterpret_cast<const uint8_t*>(joined), key.size() + ws_guid.size(), digest);
    std::array<char, ws_accept_chars> out{};
    b64_encode(digest, sizeof digest, out.data());
    return out;
}

bool ws_write_accept(ByteBuffer& out, const WsUpgrade& up) {
    std::array<char, ws_accept_chars> accept = ws_accept(up.key);
    return out.append(
               "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Accept: ") &&
           out.append(std::string_view(accept.data(), accept.size())) && out.append("\r\n\r\n");
}

bool ws_write_rejection(ByteBuffer& out, const Error& why) {
    int status = why.code() == Errc::unsupported ? 426 : 400;
    bool ok = out.append("HTTP/1.1 ") && out.append_u64(static_cast<uint64_t>(status)) &&
              out.push_back(' ') && out.append(status_reason(status)) && out.append("\r\n");
    if (status == 426) ok = ok && out.append("Sec-WebSocket-Version: 13\r\n");
    return ok && out.append("Content-Type: text/plain\r\nConnection: close\r\nContent-Length: ") &&
           out.append_u64(why.message().size() + 1) && out.append("\r\n\r\n") &&
           out.append(why.message()) && out.push_back('\n');
}

std::array<char, ws_key_chars> ws_key(const std::array<uint8_t, 16>& nonce) {
    std::array<char, ws_key_chars> out{};
    b64_encode(nonce.data(), nonce.size(), out.data());
    return out;
}

bool ws_write_upgrade_request(ByteBuffer& out, std::string_view host, std::string_view target,
                              std::string_view key) {
    return out.append("GET ") && out.append(target) && out.append(" HTTP/1.1\r\nHost: ") &&
           out.append(host) &&
           out.append("\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ") &&
           out.append(key) && out.append("\r\nSec-WebSocket-Version: 13\r\n\r\n");
}

Result<void> ws_check_accept(int status, std::span<const Header> headers, std::string_view key) {
    if (status != 101) return failf(Errc::invalid_input, "upgrade answered %d, not 101", status);
    if (!fields_have(headers, "upgrade", "websocket")) {
        return fail(Errc::invalid_input, "101 without Upgrade: websocket");
    }
    if (!fields_have(headers, "connection", "upgrade")) {
        return fail(Errc::invalid_input, "101 without Connection: upgrade");
    }
    size_t n = 0;
    std::string_view accept = single_field(headers, "sec-websocket-accept", &n);
    std::array<char, ws_accept_chars> want = ws_accept(key);
    if (n != 1 || accept != std::string_view(want.data(), want.size())) {
        return failf(Errc::invalid_input, "Sec-WebSocket-Accept \"%.*s\" does not match the key",
                     clamp_len(accept), accept.data());
    }
    // We asked for no extension and no subprotocol: a server that names one is broken.
    for (std::string_view name : {"sec-websocket-extensions", "sec-websocket-protocol"}) {
        single_field(headers, name, &n);
        if (n > 0) {
            return failf(Errc::unsupported, "101 names %.*s, which was not asked for",
                         clamp_len(name), name.data());
        }
    }
    return {};
}

bool ws_close_code_valid(uint16_t code) {
    if (code >= 1000 && code <= 1003) return true;
    if (code >= 1007 && code <= 1014) return true;
    return code >= 3000 && code <= 4999;
}

void ws_unmask(uint8_t* p, size_t n, const uint8_t mask[4], size_t phase) {
    uint8_t m[8];
    for (size_t i = 0; i < 8; i++) m[i] = mask[(phase + i) & 3];
    uint64_t k;
    std::memcpy(&k, m, 8);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        std::memcpy(&w, p + i, 8);
        w ^= k;
        std::memcpy(p + i, &w, 8);
    }
    for (; i < n; i++) p[i] ^= m[i & 7];  // i - (i & 7) is a multiple of 4: same mask byte
}

// --- The parser ---

void WsParser::reset() {
    phase_ = Phase::header;
    header_len_ = 0;
    remaining_ = 0;
    in_message_ = false;
    message_bytes_ = 0;
    utf8_.reset();
    control_len_ = 0;
    error_code_ = 0;
    error_len_ = 0;
    error_reason_[0] = '\0';
}

WsEvent WsParser::fail(uint16_t code, const char* format, ...) {
    phase_ = Phase::failed;
    error_code_ = code;
    va_list ap;
    va_start(ap, format);
    int n = std::vsnprintf(error_reason_, sizeof error_reason_, format, ap);
    va_end(ap);
    error_len_ = static_cast<uint8_t>(std::clamp<int>(n, 0, error_reason_bytes_max));
    WsEvent ev;
    ev.kind = WsEventKind::error;
    return ev;
}

WsEvent WsParser::parse(std::span<uint8_t> in) {
    size_t used = 0;
    while (true) {
        WsEvent ev;
        std::span<uint8_t> rest = in.subspan(used);
        switch (phase_) {
            case Phase::failed:
                ev.kind = WsEventKind::error;
                break;
            case Phase::closed:
                ev.consumed = rest.size();
                break;  // nothing follows a close
            case Phase::header:
                ev = parse_header(rest);
                break;
            case Phase::payload:
                ev = parse_payload(rest);
                break;
        }
        ev.consumed += used;
        if (ev.kind != WsEventKind::incomplete) return ev;
        used = ev.consumed;
        // An empty frame (or an empty last fragment) whose header ended the input is complete.
        bool empty_frame_due = phase_ == Phase::payload && remaining_ == 0;
        if (used == in.size() && !empty_frame_due) return ev;
    }
}

/// Gathers the header (it may arrive cut anywhere); when whole, checks it and moves on to the
/// payload. Returns `incomplete` with the bytes it used.
WsEvent WsParser::parse_header(std::span<uint8_t> in) {
    size_t used = 0;
    while (true) {
        size_t need = 2;
        if (header_len_ >= 2) {
            uint8_t len7 = header_[1] & 0x7F;
            need += (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + ((header_[1] & 0x80) ? 4 : 0);
        }
        if (header_len_ == need) break;
        if (used == in.size()) return progress(used);
        header_[header_len_++] = in[used++];
    }
    header_len_ = 0;
    if (!check_header()) {
        WsEvent ev = progress(used);
        ev.kind = WsEventKind::error;
        return ev;
    }
    phase_ = Phase::payload;
    return progress(used);
}

/// Checks the whole header in header_ against RFC 6455 and the limits and starts the frame.
bool WsParser::check_header() {
    uint8_t b0 = header_[0], b1 = header_[1];
    auto op = static_cast<WsOpcode>(b0 & 0x0F);
    bool fin = (b0 & 0x80) != 0, masked = (b1 & 0x80) != 0;
    uint64_t len = b1 & 0x7F;
    size_t at = 2;
    if (len == 126 || len == 127) {
        size_t bytes = len == 126 ? 2 : 8;
        len = 0;
        for (size_t i = 0; i < bytes; i++) len = len << 8 | header_[at++];
    }
    unsigned opcode = b0 & 0x0F;
    bool control = (opcode & 0x08) != 0;
    const char* p = nullptr;  // the first problem, all with 1002
    if (b0 & 0x70) {
        p = "reserved bits set (no extension was negotiated)";
    } else if (opcode > 0x2 && opcode != 0x8 && opcode != 0x9 && opcode != 0xA) {
        p = "unknown opcode";
    } else if (role_ == WsRole::server && !masked) {
        p = "unmasked frame from a client";
    } else if (role_ == WsRole::client && masked) {
        p = "masked frame from a server";
    } else if (len >> 63) {
        p = "64-bit frame length with its most significant bit set";
    } else if (control && !fin) {
        p = "fragmented control frame";
    } else if (control && len > control_bytes_max) {
        p = "control frame over 125 bytes";
    } else if (op == WsOpcode::continuation && !in_message_) {
        p = "continuation frame with no message to continue";
    } else if (!control && op != WsOpcode::continuation && in_message_) {
        p = "new data frame inside a fragmented message";
    }
    if (p) {
        (void)fail(ws_close::protocol_error, "%s (opcode 0x%x, %llu bytes)", p, opcode,
                   static_cast<unsigned long long>(len));
        return false;
    }
    if (len > limits_.frame_bytes_max) {
        (void)fail(ws_close::too_big, "frame of %llu bytes exceeds the frame limit of %llu",
                   static_cast<unsigned long long>(len),
                   static_cast<unsigned long long>(limits_.frame_bytes_max));
        return false;
    }
    if (!control) {
        uint64_t so_far = op == WsOpcode::continuation ? message_bytes_ : 0;
        if (so_far > limits_.message_bytes_max || len > limits_.message_bytes_max - so_far) {
            (void)fail(ws_close::too_big,
                       "message of %llu bytes or more exceeds the message limit of %llu",
                       static_cast<unsigned long long>(so_far) + len,
                       static_cast<unsigned long long>(limits_.message_bytes_max));
            return false;
        }
        if (op != WsOpcode::continuation) {
            in_message_ = true;
            message_ = op;
            message_bytes_ = 0;
            utf8_.reset();
        }
    }
    opcode_ = op;
    frame_fin_ = fin;
    masked_ = masked;
    if (masked) std::memcpy(mask_, header_ + at, 4);
    mask_phase_ = 0;
    remaining_ = len;
    control_len_ = 0;
    return true;
}

WsEvent WsParser::parse_payload(std::span<uint8_t> in) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, in.size()));
    if (!(static_cast<uint8_t>(opcode_) & 0x08)) return data_piece(in, n);
    if (n) std::memcpy(control_ + control_len_, in.data(), n);  // in.data() may be null when empty
    if (masked_) ws_unmask(control_ + control_len_, n, mask_, mask_phase_);
    mask_phase_ = static_cast<uint8_t>((mask_phase_ + n) & 3);
    control_len_ = static_cast<uint8_t>(control_len_ + n);
    remaining_ -= n;
    if (remaining_ > 0) return progress(n);
    return control_frame(n);
}

/// Unmasks and checks the next n payload bytes of a data frame, in place.
WsEvent WsParser::data_piece(std::span<uint8_t> in, size_t n) {
    uint8_t* p = in.data();
    if (masked_) ws_unmask(p, n, mask_, mask_phase_);
    mask_phase_ = static_cast<uint8_t>((mask_phase_ + n) & 3);
    remaining_ -= n;
    message_bytes_ += n;
    bool text = message_ == WsOpcode::text;
    if (text && !utf8_.feed(p, n)) {
        return fail(ws_close::invalid_payload, "text message is not valid UTF-8");
    }
    bool frame_done = remaining_ == 0;
    bool fin = frame_done && frame_fin_;
    if (frame_done) phase_ = Phase::header;
    if (fin) {
        if (text && !utf8_.complete()) {
            return fail(ws_close::invalid_payload, "text message ends inside a UTF-8 sequence");
        }
        in_message_ = false;
    }
    WsEvent ev;
    ev.consumed = n;
    if (n == 0 && !fin) return ev;  // nothing new (an empty fragment, or no bytes yet)
    ev.kind = WsEventKind::data;
    ev.message = message_;
    ev.fin = fin;
    ev.payload = std::span<const uint8_t>(p, n);
    return ev;
}

WsEvent WsParser::control_frame(size_t consumed) {
    phase_ = Phase::header;
    if (opcode_ == WsOpcode::close) return close_frame(consumed);
    WsEvent ev;
    ev.kind = opcode_ == WsOpcode::ping ? WsEventKind::ping : WsEventKind::pong;
    ev.consumed = consumed;
    ev.payload = std::span<const uint8_t>(control_, control_len_);
    return ev;
}

WsEvent WsParser::close_frame(size_t consumed) {
    WsEvent ev;
    ev.kind = WsEventKind::close;
    ev.consumed = consumed;
    ev.payload = std::span<const uint8_t>(control_, control_len_);
    if (control_len_ == 1) return fail(ws_close::protocol_error, "close frame with a 1-byte body");
    if (control_len_ >= 2) {
        ev.close_code = static_cast<uint16_t>(control_[0] << 8 | control_[1]);
        if (!ws_close_code_valid(ev.close_code)) {
            return fail(ws_close::protocol_error, "close code %u may not be sent", ev.close_code);
        }
        if (!utf8_valid(control_ + 2, control_len_ - 2u)) {
            return fail(ws_close::invalid_payload, "close reason is not valid UTF-8");
        }
        ev.close_reason =
            std::string_view(reinterpret_cast<const char*>(control_ + 2), control_len_ - 2u);
    }
    phase_ = Phase::closed;
    return ev;
}

// --- The writers ---

bool ws_write_frame(ByteBuffer& out, WsOpcode op, std::span<const uint8_t> payload, bool fin,
                    const WsMask* mask) {
    uint64_t n = payload.size();
    EM_ASSERT(!(static_cast<uint8_t>(op) & 0x08) || (fin && n <= WsParser::control_bytes_max));
    uint8_t h[WsParser::header_bytes_max];
    size_t hl = 0;
    h[hl++] = static_cast<uint8_t>((fin ? 0x80 : 0) | static_cast<uint8_t>(op));
    uint8_t mask_bit = mask ? 0x80 : 0;
    if (n < 126) {
        h[hl++] = static_cast<uint8_t>(mask_bit | n);
    } else if (n <= 0xFFFF) {
        h[hl++] = mask_bit | 126;
        h[hl++] = static_cast<uint8_t>(n >> 8);
        h[hl++] = static_cast<uint8_t>(n);
    } else {
        h[hl++] = mask_bit | 127;
        for (int shift = 56; shift >= 0; shift -= 8) h[hl++] = static_cast<uint8_t>(n >> shift);
    }
    if (mask) {
        std::memcpy(h + hl, mask->key.data(), 4);
        hl += 4;
    }
    char* dst = out.prepare(hl + n);
    if (!dst) return false;
    std::memcpy(dst, h, hl);
    if (n) std::memcpy(dst + hl, payload.data(), n);
    if (mask) ws_unmask(reinterpret_cast<uint8_t*>(dst + hl), n, mask->key.data(), 0);
    out.commit(hl + n);
    return true;
}

bool ws_write_text(ByteBuffer& out, std::string_view text, const WsMask* mask) {
    return ws_write_frame(
        out, WsOpcode::text,
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()), true,
        mask);
}

bool ws_write_close(ByteBuffer& out, uint16_t code, std::string_view reason, const WsMask* mask) {
    EM_ASSERT(ws_close_code_valid(code));
    size_t cut = std::min<size_t>(reason.size(), WsParser::control_bytes_max - 2);
    // Cut at a code point's first byte (a byte that is not 10xxxxxx).
    while (cut < reason.size() && cut > 0 && (static_cast<uint8_t>(reason[cut]) & 0xC0) == 0x80) {
        cut--;
    }
    uint8_t body[WsParser::control_bytes_max];
    body[0] = static_cast<uint8_t>(code >> 8);
    body[1] = static_cast<uint8_t>(code);
    if (cut) std::memcpy(body + 2, reason.data(), cut);
    return ws_write_frame(out, WsOpcode::close, std::span<const uint8_t>(body, cut + 2), true,
                          mask);
}

}  // namespace em::http
