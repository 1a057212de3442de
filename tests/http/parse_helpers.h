// Test helpers for the HTTP parsers: copy a parse result into owning strings so results of
// different feeding strategies (whole, every prefix, two-part splits) can be compared.
#pragma once

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "http/parser.h"

namespace em::http::test {

/// Everything observable about one parse, as owning values.
struct Snapshot {
    ParseStatus status = ParseStatus::incomplete;
    int error_status = 0;
    std::string error_reason;
    size_t consumed = 0;
    int status_code = 0;  // responses
    Method method = Method::other;
    std::string method_text, target;
    int version_minor = -1;
    bool keep_alive = false, expect_continue = false, chunked = false;
    uint64_t content_length = 0;
    std::string authorization, content_type, host, upgrade;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;

    bool operator==(const Snapshot&) const = default;
};

inline Snapshot snapshot(const RequestParser& p, ParseStatus st) {
    Snapshot s;
    s.status = st;
    if (st == ParseStatus::error) {
        s.error_status = p.error_status();
        s.error_reason = std::string(p.error_reason());
        return s;
    }
    if (st != ParseStatus::complete) return s;
    const Request& r = p.request();
    s.consumed = p.consumed();
    s.method = r.method;
    s.method_text = r.method_text;
    s.target = r.target;
    s.version_minor = r.version_minor;
    s.keep_alive = r.keep_alive;
    s.expect_continue = r.expect_continue;
    s.chunked = r.chunked;
    s.content_length = r.content_length;
    s.authorization = r.authorization;
    s.content_type = r.content_type;
    s.host = r.host;
    s.upgrade = r.upgrade;
    for (const Header& h : r.headers) s.headers.emplace_back(h.name, h.value);
    s.body = r.body;
    return s;
}

inline Snapshot snapshot(const ResponseParser& p, ParseStatus st) {
    Snapshot s;
    s.status = st;
    if (st == ParseStatus::error) {
        s.error_status = p.error_status();
        s.error_reason = std::string(p.error_reason());
        return s;
    }
    if (st != ParseStatus::complete) return s;
    const Response& r = p.response();
    s.consumed = p.consumed();
    s.status_code = r.status;
    s.version_minor = r.version_minor;
    s.keep_alive = r.keep_alive;
    s.chunked = r.chunked;
    s.content_type = r.content_type;
    for (const Header& h : r.headers) s.headers.emplace_back(h.name, h.value);
    s.body = r.body;
    return s;
}

/// A receive buffer that holds only the bytes "received" so far; the rest is 0xFF garbage, so
/// a parser that peeked past len would see different bytes than in a whole parse.
struct Wire {
    explicit Wire(const std::string& data) : bytes(data), buf(data.size() + 1, '\xff') {}
    /// Copies bytes [received, n) in: the parser may have rewritten earlier ones in place.
    void receive(size_t n) {
        if (n > received) std::memcpy(buf.data() + received, bytes.data() + received, n - received);
        if (n > received) received = n;
    }
    std::string bytes;
    std::vector<char> buf;
    size_t received = 0;
};

/// Parses `data` in one call (EOF handling for responses only when `eof`).
template <typename Parser>
Snapshot parse_whole(Parser& p, const std::string& data, bool eof = false) {
    Wire w(data);
    w.receive(data.size());
    ParseStatus st = p.parse(w.buf.data(), data.size());
    if constexpr (requires { p.finish_on_eof(nullptr, 0); }) {
        if (eof && st == ParseStatus::incomplete) st = p.finish_on_eof(w.buf.data(), data.size());
    }
    return snapshot(p, st);
}

/// Feeds `data` one byte more per call (every prefix) until the parser stops asking.
template <typename Parser>
Snapshot parse_bytewise(Parser& p, const std::string& data, bool eof = false) {
    Wire w(data);
    ParseStatus st = ParseStatus::incomplete;
    for (size_t k = 0; k <= data.size() && st == ParseStatus::incomplete; k++) {
        w.receive(k);
        st = p.parse(w.buf.data(), k);
    }
    if constexpr (requires { p.finish_on_eof(nullptr, 0); }) {
        if (eof && st == ParseStatus::incomplete) st = p.finish_on_eof(w.buf.data(), data.size());
    }
    return snapshot(p, st);
}

/// Feeds data[0, split) then all of it.
template <typename Parser>
Snapshot parse_split(Parser& p, const std::string& data, size_t split, bool eof = false) {
    Wire w(data);
    w.receive(split);
    ParseStatus st = p.parse(w.buf.data(), split);
    if (st == ParseStatus::incomplete) {
        w.receive(data.size());
        st = p.parse(w.buf.data(), data.size());
    }
    if constexpr (requires { p.finish_on_eof(nullptr, 0); }) {
        if (eof && st == ParseStatus::incomplete) st = p.finish_on_eof(w.buf.data(), data.size());
    }
    return snapshot(p, st);
}

/// Feeds data[0, split) from one buffer, then moves those bytes (as the parser left them) with
/// the rest to a new buffer, frees the first one and parses again: views must follow the move.
template <typename Parser>
Snapshot parse_moved(Parser& p, const std::string& data, size_t split, bool eof = false) {
    auto first = std::make_unique<char[]>(split + 1);
    std::memcpy(first.get(), data.data(), split);
    ParseStatus st = p.parse(first.get(), split);
    auto second = std::make_unique<char[]>(data.size() + 1);
    std::memcpy(second.get(), first.get(), split);
    std::memcpy(second.get() + split, data.data() + split, data.size() - split);
    first.reset();
    if (st == ParseStatus::incomplete) st = p.parse(second.get(), data.size());
    if constexpr (requires { p.finish_on_eof(nullptr, 0); }) {
        if (eof && st == ParseStatus::incomplete) st = p.finish_on_eof(second.get(), data.size());
    }
    if (st == ParseStatus::error) return snapshot(p, st);
    // A parse that completed in the first buffer has views into it; re-point them by parsing
    // the (complete) message again from the second buffer: it answers `complete` at once.
    if (st == ParseStatus::complete) st = p.parse(second.get(), data.size());
    return snapshot(p, st);
}

}  // namespace em::http::test
