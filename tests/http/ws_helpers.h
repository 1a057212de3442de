// Test helpers for the WebSocket codec: a frame builder written independently of ws_write_frame
// (so the parser is not tested only against our own writer), and a driver that feeds wire bytes
// to a WsParser in given pieces and records what came out as owning strings, so the results of
// different feeding strategies (whole, byte by byte, every two-part split) can be compared.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "http/websocket.h"

namespace em::http::test {

/// The RFC 6455 §5.7 example masking key.
inline constexpr uint8_t example_mask[4] = {0x37, 0xfa, 0x21, 0x3d};

/// One frame on the wire: first byte b0 (FIN, RSV, opcode), masked with example_mask when
/// `masked`; length in the shortest form unless len_form is 126 or 127.
inline std::string raw_frame(uint8_t b0, const std::string& payload, bool masked = true,
                             int len_form = 0) {
    std::string f(1, static_cast<char>(b0));
    uint64_t n = payload.size();
    uint8_t m = masked ? 0x80 : 0;
    int form = len_form ? len_form : n < 126 ? 0 : n <= 0xFFFF ? 126 : 127;
    if (form == 0) {
        f += static_cast<char>(m | n);
    } else {
        f += static_cast<char>(m | form);
        for (int i = (form == 126 ? 1 : 7); i >= 0; i--) f += static_cast<char>(n >> (8 * i));
    }
    if (masked) f.append(reinterpret_cast<const char*>(example_mask), 4);
    for (size_t i = 0; i < payload.size(); i++) {
        f += static_cast<char>(payload[i] ^ (masked ? example_mask[i % 4] : 0));
    }
    return f;
}

/// A whole frame with FIN set: opcode op, masked (a client's).
inline std::string frame(uint8_t op, const std::string& payload, bool masked = true) {
    return raw_frame(static_cast<uint8_t>(0x80 | op), payload, masked);
}
/// A fragment without FIN.
inline std::string fragment(uint8_t op, const std::string& payload, bool masked = true) {
    return raw_frame(op, payload, masked);
}
/// A close frame's payload: the code's two bytes and the reason.
inline std::string close_body(uint16_t code, const std::string& reason = "") {
    return std::string{static_cast<char>(code >> 8), static_cast<char>(code & 0xFF)} + reason;
}

/// Records of one parse: "text:<payload>", "binary:<payload>", "ping:<payload>",
/// "pong:<payload>", "close:<code>:<reason>", "error:<code>". Data pieces are assembled into
/// whole messages (a message cut by an error is not recorded).
struct Outcome {
    std::vector<std::string> records;
    std::string error_reason;
    bool operator==(const Outcome&) const = default;
};

/// Feeds `wire` cut at the offsets in `cuts` (ascending), each piece in a buffer of exactly its
/// size, as a receive buffer would hold it.
inline Outcome feed(const std::string& wire, const std::vector<size_t>& cuts,
                    WsRole role = WsRole::server, WsLimits limits = {}) {
    WsParser p(limits, role);
    Outcome out;
    std::string message;
    size_t start = 0;
    for (size_t i = 0; i <= cuts.size(); i++) {
        size_t end = i < cuts.size() ? cuts[i] : wire.size();
        std::vector<uint8_t> buf(wire.begin() + static_cast<ptrdiff_t>(start),
                                 wire.begin() + static_cast<ptrdiff_t>(end));
        start = end;
        std::span<uint8_t> in(buf);
        while (true) {
            WsEvent ev = p.parse(in);
            in = in.subspan(ev.consumed);
            std::string body(ev.payload.begin(), ev.payload.end());
            switch (ev.kind) {
                case WsEventKind::incomplete:
                    break;
                case WsEventKind::data:
                    message += body;
                    if (ev.fin) {
                        out.records.push_back((ev.message == WsOpcode::text ? "text:" : "binary:") +
                                              message);
                        message.clear();
                    }
                    continue;
                case WsEventKind::ping:
                    out.records.push_back("ping:" + body);
                    continue;
                case WsEventKind::pong:
                    out.records.push_back("pong:" + body);
                    continue;
                case WsEventKind::close:
                    out.records.push_back("close:" + std::to_string(ev.close_code) + ":" +
                                          std::string(ev.close_reason));
                    continue;
                case WsEventKind::error:
                    out.records.push_back("error:" + std::to_string(p.error_close_code()));
                    out.error_reason = std::string(p.error_reason());
                    return out;
            }
            break;  // incomplete: this piece is used up
        }
    }
    return out;
}

/// Feeds `wire` whole.
inline Outcome feed_whole(const std::string& wire, WsRole role = WsRole::server,
                          WsLimits limits = {}) {
    return feed(wire, {}, role, limits);
}

/// Feeds `wire` one byte at a time.
inline Outcome feed_bytewise(const std::string& wire, WsRole role = WsRole::server,
                             WsLimits limits = {}) {
    std::vector<size_t> cuts;
    for (size_t i = 1; i < wire.size(); i++) cuts.push_back(i);
    return feed(wire, cuts, role, limits);
}

using Records = std::vector<std::string>;

/// Parses `wire` whole, byte by byte, in pieces of 997 bytes and (up to 4 KiB) cut in two at every
/// offset; all must agree. Returns the whole parse's outcome.
inline Outcome parse_all_ways(const std::string& wire, WsRole role = WsRole::server,
                              WsLimits limits = {}) {
    Outcome whole = feed_whole(wire, role, limits);
    EXPECT_EQ(feed_bytewise(wire, role, limits), whole);
    std::vector<size_t> chops;
    for (size_t c = 997; c < wire.size(); c += 997) chops.push_back(c);
    EXPECT_EQ(feed(wire, chops, role, limits), whole);
    for (size_t cut = 0; wire.size() <= 4096 && cut <= wire.size(); cut++) {
        Outcome two = feed(wire, {cut}, role, limits);
        EXPECT_EQ(two, whole) << "cut at " << cut;
        if (two != whole) break;
    }
    return whole;
}

}  // namespace em::http::test
