// Fuzzes the WebSocket codec (http/websocket.h). Each input is used three ways:
// 1. As wire bytes to a server parser and to a client parser, whole and cut in two at an offset
//    derived from the input (each piece in a buffer of exactly its size, so AddressSanitizer
//    catches a read or write past it): both feedings must agree on every message, control frame
//    and error, and every event must keep the contract (views inside the input, limits held,
//    text and close reasons valid UTF-8, close codes sendable, errors 1002/1007/1009 with a
//    reason).
// 2. As a script of messages written by one end's writer and read by the other end's parser,
//    cut at a derived offset: parse(write(x)) == x.
// 3. As text for the UTF-8 validator, against a decoder written here from RFC 3629, whole and fed
//    in pieces.
// 4. As an HTTP request: when it parses, the upgrade check either names a problem or yields a
//    key whose 101 answer carries its accept value.
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "../fuzz_check.h"
#include "http/parser.h"
#include "http/utf8.h"
#include "http/websocket.h"

namespace {

using namespace em::http;

WsLimits fuzz_limits() {
    WsLimits l;
    l.frame_bytes_max = 1024;  // small limits so the fuzzer reaches them
    l.message_bytes_max = 3000;
    return l;
}

/// RFC 3629 by arithmetic, independent of Utf8Validator's byte ranges.
bool reference_utf8(const uint8_t* p, size_t n) {
    for (size_t i = 0; i < n;) {
        uint8_t b = p[i];
        size_t len = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
        if (len == 0 || i + len > n) return false;
        uint32_t cp = len == 1 ? b : b & (0x7Fu >> len);
        for (size_t j = 1; j < len; j++) {
            if ((p[i + j] & 0xC0) != 0x80) return false;
            cp = cp << 6 | (p[i + j] & 0x3F);
        }
        const uint32_t min_cp[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min_cp[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        i += len;
    }
    return true;
}

/// Everything observable about one feeding, as owning values.
struct Outcome {
    std::vector<std::string> records;
    uint16_t error_code = 0;
    std::string error_reason;
    bool operator==(const Outcome&) const = default;
};

const uint8_t* as_bytes(const std::string& s) {
    return reinterpret_cast<const uint8_t*>(s.data());
}

/// Checks one event against the parser's contract and records it.
void note(const WsEvent& ev, std::span<uint8_t> in, const WsParser& p, std::string& message,
          Outcome& out) {
    FUZZ_CHECK(ev.consumed <= in.size());
    if (ev.kind == WsEventKind::incomplete) FUZZ_CHECK(ev.consumed == in.size());
    std::string body(ev.payload.begin(), ev.payload.end());
    switch (ev.kind) {
        case WsEventKind::incomplete:
            break;
        case WsEventKind::data:
            // Data pieces are views into this call's input, within what it consumed.
            FUZZ_CHECK(ev.payload.empty() ||
                       (ev.payload.data() >= in.data() &&
                        ev.payload.data() + ev.payload.size() <= in.data() + ev.consumed));
            message += body;
            FUZZ_CHECK(message.size() <= p.limits().message_bytes_max);
            if (ev.fin) {
                if (ev.message == WsOpcode::text) {
                    FUZZ_CHECK(reference_utf8(as_bytes(message), message.size()));
                }
                out.records.push_back((ev.message == WsOpcode::text ? "t:" : "b:") + message);
                message.clear();
            }
            break;
        case WsEventKind::ping:
        case WsEventKind::pong:
            FUZZ_CHECK(body.size() <= WsParser::control_bytes_max);
            out.records.push_back((ev.kind == WsEventKind::ping ? "ping:" : "pong:") + body);
            break;
        case WsEventKind::close:
            FUZZ_CHECK(ev.close_code == ws_close::no_status || ws_close_code_valid(ev.close_code));
            FUZZ_CHECK(
                reference_utf8(as_bytes(std::string(ev.close_reason)), ev.close_reason.size()));
            FUZZ_CHECK(p.closed());
            out.records.push_back("close:" + std::to_string(ev.close_code) + ":" +
                                  std::string(ev.close_reason));
            break;
        case WsEventKind::error:
            FUZZ_CHECK(p.error_close_code() == ws_close::protocol_error ||
                       p.error_close_code() == ws_close::invalid_payload ||
                       p.error_close_code() == ws_close::too_big);
            FUZZ_CHECK(!p.error_reason().empty() &&
                       p.error_reason().size() <= WsParser::error_reason_bytes_max);
            out.error_code = p.error_close_code();
            out.error_reason = std::string(p.error_reason());
            break;
    }
}

/// Feeds wire[0, cut) then wire[cut, end), each in a buffer of exactly its size.
Outcome feed(const uint8_t* data, size_t size, size_t cut, WsRole role) {
    WsParser p(fuzz_limits(), role);
    Outcome out;
    std::string message;
    const size_t bounds[] = {0, cut, size};
    for (int piece = 0; piece < 2; piece++) {
        std::vector<uint8_t> buf(data + bounds[piece], data + bounds[piece + 1]);
        std::span<uint8_t> in(buf);
        while (out.error_code == 0) {
            WsEvent ev = p.parse(in);
            note(ev, in, p, message, out);
            in = in.subspan(ev.consumed);
            if (ev.kind == WsEventKind::incomplete) break;
        }
    }
    return out;
}

/// Builds messages from the input, writes them with the sending end's writer (masked from a
/// client) and parses them with the other end's parser cut at `cut`: the same must come out.
void round_trip(const uint8_t* data, size_t size, bool from_client) {
    em::ByteBuffer wire(1 << 16);  // 32 messages of at most 900 bytes and their frames fit
    std::vector<std::string> expected;
    WsMask mask{{0xA5, size > 0 ? data[0] : uint8_t{0}, 0x3C, static_cast<uint8_t>(size)}};
    const WsMask* m = from_client ? &mask : nullptr;
    size_t at = 0;
    while (at < size && expected.size() < 32) {
        uint8_t ctl = data[at++];
        size_t len = std::min<size_t>(size - at, ctl & 0x3F ? (ctl & 0x3F) * 7u : 900);
        std::span<const uint8_t> body(data + at, len);
        at += len;
        if (ctl & 0x40) {  // a ping (its payload cut to 125 bytes)
            body = body.first(std::min<size_t>(len, WsParser::control_bytes_max));
            FUZZ_CHECK(ws_write_frame(wire, WsOpcode::ping, body, true, m));
            expected.push_back("ping:" + std::string(body.begin(), body.end()));
            continue;
        }
        bool text = (ctl & 0x80) && utf8_valid(body.data(), body.size());
        // Two fragments with a pong between them when the body is long enough.
        size_t half = len > 8 ? len / 2 : len;
        FUZZ_CHECK(ws_write_frame(wire, text ? WsOpcode::text : WsOpcode::binary, body.first(half),
                                  half == len, m));
        if (half != len) {
            FUZZ_CHECK(ws_write_frame(wire, WsOpcode::pong, body.first(3), true, m));
            expected.push_back("pong:" + std::string(body.begin(), body.begin() + 3));
            FUZZ_CHECK(ws_write_frame(wire, WsOpcode::continuation, body.subspan(half), true, m));
        }
        expected.push_back((text ? "t:" : "b:") + std::string(body.begin(), body.end()));
    }
    FUZZ_CHECK(ws_write_close(wire, 1000, "done", m));
    expected.push_back("close:1000:done");
    const auto* bytes = reinterpret_cast<const uint8_t*>(wire.data());
    size_t cut = size ? (data[size - 1] * 977u) % (wire.size() + 1) : 0;
    Outcome got = feed(bytes, wire.size(), cut, from_client ? WsRole::server : WsRole::client);
    FUZZ_CHECK(got.error_code == 0);
    FUZZ_CHECK(got.records == expected);
}

void check_utf8(const uint8_t* data, size_t size) {
    bool want = reference_utf8(data, size);
    FUZZ_CHECK(utf8_valid(data, size) == want);
    Utf8Validator v;
    bool ok = true;
    for (size_t at = 0; at < size;) {
        size_t n = std::min<size_t>(size - at, 1 + data[at] % 11);
        std::vector<uint8_t> piece(data + at, data + at + n);
        ok = v.feed(piece.data(), piece.size()) && ok;
        at += n;
    }
    FUZZ_CHECK((ok && v.complete()) == want);
}

void check_upgrade(const uint8_t* data, size_t size) {
    static RequestParser parser(Limits{});
    parser.reset();
    std::vector<char> buf(data, data + size);
    if (parser.parse(buf.data(), buf.size()) != ParseStatus::complete) return;
    em::Result<WsUpgrade> up = ws_check_upgrade(parser.request());
    if (!up) {
        FUZZ_CHECK(!up.error().message().empty());
        return;
    }
    FUZZ_CHECK(up->key.size() == ws_key_chars);
    em::ByteBuffer out(4096);
    FUZZ_CHECK(ws_write_accept(out, *up));
    std::array<char, ws_accept_chars> accept = ws_accept(up->key);
    FUZZ_CHECK(out.view().find(std::string_view(accept.data(), accept.size())) !=
               std::string_view::npos);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    size_t cut = size ? (data[0] * 131u + data[size - 1]) % (size + 1) : 0;
    for (WsRole role : {WsRole::server, WsRole::client}) {
        Outcome whole = feed(data, size, size, role);
        Outcome split = feed(data, size, cut, role);
        FUZZ_CHECK(whole == split);
    }
    round_trip(data, size, true);
    round_trip(data, size, false);
    check_utf8(data, size);
    check_upgrade(data, size);
    return 0;
}
