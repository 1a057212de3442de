#include "http/parser.h"

#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "base/assert.h"
#include "base/hex.h"
#include "http/scan.h"

namespace em::http::detail {

namespace {

enum SingleField : uint8_t {
    field_host = 1,
    field_authorization = 2,
    field_content_type = 4,
    field_upgrade = 8,
};

/// Printable length for "%.*s" of a peer-supplied token in an error message.
int clip(std::string_view s, size_t n = 32) {
    return static_cast<int>(s.size() < n ? s.size() : n);
}

Method method_of(std::string_view m) {
    switch (m.size()) {
        case 3:
            if (m == "GET") return Method::get;
            if (m == "PUT") return Method::put;
            break;
        case 4:
            if (m == "POST") return Method::post;
            if (m == "HEAD") return Method::head;
            break;
        case 5:
            if (m == "PATCH") return Method::patch;
            break;
        case 6:
            if (m == "DELETE") return Method::delete_;
            break;
        case 7:
            if (m == "OPTIONS") return Method::options;
            break;
        default:
            break;
    }
    return Method::other;
}

/// Calls f(element) for each non-empty, OWS-trimmed element of a comma-separated list; stops
/// early when f returns false. Returns the number of elements seen, or -1 if f stopped.
template <typename F>
int for_each_element(std::string_view list, F&& f) {
    int count = 0;
    while (!list.empty()) {
        size_t comma = list.find(',');
        std::string_view el = trim_ows(list.substr(0, comma));
        list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
        if (el.empty()) continue;
        count++;
        if (!f(el)) return -1;
    }
    return count;
}

}  // namespace

MessageParser::MessageParser(const Limits& limits, bool response)
    : limits_(limits),
      response_(response),
      headers_(std::make_unique<Header[]>(limits.header_count_max)) {
    EM_ASSERT(limits.header_bytes_max > 0 && limits.chunk_line_bytes_max >= 3);
}

// Field by field on purpose: `s_ = State{}` compiles to `rep stos`, which cost ~20% of a
// typical request's parse. req_/resp_ are not cleared: each field is written before it is valid.
void MessageParser::begin_message(size_t at, uint32_t interim_count) {
    s_.phase = Phase::start_line;
    s_.headers_done = s_.cl_seen = s_.te_seen = s_.te_chunked = false;
    s_.conn_close = s_.conn_keep_alive = s_.expect_continue = false;
    s_.version_minor = 1;
    s_.seen_single = 0;
    s_.line_no = 0;
    s_.interim_count = interim_count;
    s_.status = 0;
    s_.start = s_.pos = s_.scan = s_.section = s_.body_start = at;
    s_.header_count = s_.body_len = 0;
    s_.remaining = s_.content_length = 0;
    s_.content_length_text = s_.content_type = s_.authorization = s_.host = s_.upgrade = {};
}

void MessageParser::reset() {
    begin_message(0, 0);
    base_ = nullptr;
    expect_no_body_ = false;
    expect_upgrade_ = false;
    error_status_ = 0;
    error_len_ = 0;
    error_reason_[0] = 0;
}

bool MessageParser::fail(int status, const char* format, ...) {
    va_list args;
    va_start(args, format);
    int n = std::vsnprintf(error_reason_, sizeof error_reason_, format, args);
    va_end(args);
    if (n < 0) n = 0;
    error_len_ = static_cast<uint8_t>(static_cast<size_t>(n) < sizeof error_reason_
                                          ? static_cast<size_t>(n)
                                          : sizeof error_reason_ - 1);
    error_status_ = status;
    s_.phase = Phase::failed;
    return false;
}

ParseStatus MessageParser::parse(char* buf, size_t len) {
    EM_ASSERT(len >= s_.pos);
    if (buf != base_) rebase(buf);
    while (step(buf, len)) {
    }
    if (s_.phase == Phase::done) return ParseStatus::complete;
    if (s_.phase == Phase::failed) return ParseStatus::error;
    return ParseStatus::incomplete;
}

// The caller moved the buffer (e.g. a ByteBuffer grew) with its bytes: re-point every view
// taken so far in this message. Offsets are computed on integers because the old buffer may be
// freed already. req_/resp_ views from an earlier message are stale and left alone.
void MessageParser::rebase(const char* buf) {
    if (base_ != nullptr) {
        const uintptr_t from = reinterpret_cast<uintptr_t>(base_);
        const uintptr_t to = reinterpret_cast<uintptr_t>(buf);
        auto move = [from, to](std::string_view& v) {
            if (v.data() == nullptr) return;
            uintptr_t at = reinterpret_cast<uintptr_t>(v.data()) - from + to;
            v = std::string_view(reinterpret_cast<const char*>(at), v.size());
        };
        for (size_t i = 0; i < s_.header_count; i++) {
            move(headers_[i].name);
            move(headers_[i].value);
        }
        for (std::string_view* v : {&s_.content_length_text, &s_.content_type, &s_.authorization,
                                    &s_.host, &s_.upgrade}) {
            move(*v);
        }
        if (!response_ && s_.phase != Phase::start_line) {
            move(req_.method_text);
            move(req_.target);
        }
        if (s_.headers_done) {
            for (std::string_view* v : {&req_.authorization, &req_.content_type, &req_.host,
                                        &req_.upgrade, &resp_.content_type}) {
                move(*v);
            }
        }
        if (s_.phase == Phase::done) {
            move(req_.body);
            move(resp_.body);
        }
    }
    base_ = buf;
}

bool MessageParser::step(char* buf, size_t len) {
    switch (s_.phase) {
        case Phase::start_line:
        case Phase::fields:
            return step_head(buf, len);
        case Phase::body_length: {
            size_t avail = len - s_.pos;
            if (avail < s_.remaining) {
                s_.pos += avail;
                s_.remaining -= avail;
                return false;
            }
            s_.pos += s_.remaining;
            s_.remaining = 0;
            s_.body_len = s_.content_length;
            return finish(buf);
        }
        case Phase::chunk_size:
            return step_chunk_size(buf, len);
        case Phase::chunk_data:
            return step_chunk_data(buf, len);
        case Phase::chunk_crlf:
            return step_chunk_crlf(buf, len);
        case Phase::trailers:
            return step_trailers(buf, len);
        case Phase::body_until_close:
            return step_until_close(len);
        case Phase::done:
        case Phase::failed:
            return false;
    }
    return false;
}

// Finds the CRLF ending the line that starts at s_.pos, checking every byte on the way: control
// bytes other than HTAB, bare CR and bare LF are errors. The line including its CRLF must end
// within line_bytes_max of s_.section. On `found`, `line` excludes the CRLF and s_.pos moves
// past it.
MessageParser::Line MessageParser::next_line(const char* buf, size_t len, size_t line_bytes_max,
                                             std::string_view& line) {
    size_t limit_end = s_.section + line_bytes_max;
    size_t end = len < limit_end ? len : limit_end;
    const char* p = buf + s_.scan;
    for (;;) {
        const char* q = find_ctl(p, buf + end);
        if (q == buf + end) {
            s_.scan = end;
            return len >= limit_end ? Line::too_long : Line::incomplete;
        }
        if (*q == '\t') {
            p = q + 1;
            continue;
        }
        size_t i = static_cast<size_t>(q - buf);
        if (*q == '\n') return Line::bare_lf;
        if (*q != '\r') {
            s_.scan = i;
            return Line::control;
        }
        if (i + 1 >= limit_end) return Line::too_long;
        if (i + 1 >= len) {
            s_.scan = i;
            return Line::incomplete;
        }
        if (buf[i + 1] != '\n') return Line::bare_cr;
        line = std::string_view(buf + s_.pos, i - s_.pos);
        s_.pos = s_.scan = i + 2;
        return Line::found;
    }
}

bool MessageParser::fail_line(Line r, const char* buf, const char* where) {
    switch (r) {
        case Line::bare_lf:
            return fail(400, "bare LF in %s (lines must end with CRLF)", where);
        case Line::bare_cr:
            return fail(400, "bare CR in %s (lines must end with CRLF)", where);
        case Line::control:
            return fail(400, "control byte 0x%02x in %s", static_cast<uint8_t>(buf[s_.scan]),
                        where);
        default:
            return fail(400, "malformed %s", where);
    }
}

bool MessageParser::fail_head_line(Line r, const char* buf) {
    if (r == Line::too_long) {
        return fail(431, "header block exceeds limit %zu bytes", limits_.header_bytes_max);
    }
    char where[32];
    if (s_.phase == Phase::start_line) {
        std::snprintf(where, sizeof where, "%s", response_ ? "status line" : "request line");
    } else {
        std::snprintf(where, sizeof where, "header line %u", s_.line_no + 1);
    }
    return fail_line(r, buf, where);
}

bool MessageParser::step_head(const char* buf, size_t len) {
    for (;;) {
        std::string_view line;
        Line r = next_line(buf, len, limits_.header_bytes_max, line);
        if (r == Line::incomplete) return false;
        if (r != Line::found) return fail_head_line(r, buf);
        s_.line_no++;
        if (s_.phase == Phase::start_line) {
            if (line.empty() && !response_) {  // RFC 9112 §2.2: skip CRLFs before a request
                continue;
            }
            bool ok = response_ ? parse_status_line(line) : parse_request_line(line);
            if (!ok) return false;
            s_.phase = Phase::fields;
            continue;
        }
        if (line.empty()) return end_of_head(buf);
        if (!parse_field_line(line, false)) return false;
    }
}

bool MessageParser::parse_version(std::string_view v) {
    if (v.size() != 8 || std::memcmp(v.data(), "HTTP/", 5) != 0 || v[6] != '.' || v[5] < '0' ||
        v[5] > '9' || v[7] < '0' || v[7] > '9') {
        return fail(400, "bad HTTP version \"%.*s\"", clip(v, 16), v.data());
    }
    if (v[5] != '1') return fail(505, "HTTP version %c.%c not supported (only 1.x)", v[5], v[7]);
    s_.version_minor = static_cast<uint8_t>(v[7] - '0');
    return true;
}

bool MessageParser::parse_request_line(std::string_view line) {
    const char* p = line.data();
    const char* e = p + line.size();
    const char* m = p;
    while (m < e && is_tchar(static_cast<uint8_t>(*m))) m++;
    if (m == p || m == e || *m != ' ') {
        return fail(400, "request line \"%.*s\" is not METHOD SP TARGET SP HTTP/1.x", clip(line),
                    p);
    }
    const char* t = m + 1;
    const char* te = find_non_vchar(t, e);
    if (te == t) return fail(400, "empty request target");
    if (te == e) return fail(400, "request line has no HTTP version");
    if (*te != ' ') {
        return fail(400, "request target contains byte 0x%02x", static_cast<uint8_t>(*te));
    }
    if (!parse_version(std::string_view(te + 1, static_cast<size_t>(e - te - 1)))) return false;
    req_.method_text = std::string_view(p, static_cast<size_t>(m - p));
    req_.method = method_of(req_.method_text);
    req_.target = std::string_view(t, static_cast<size_t>(te - t));
    req_.version_minor = s_.version_minor;
    return true;
}

bool MessageParser::parse_status_line(std::string_view line) {
    if (line.size() < 12 || line[8] != ' ') {
        return fail(400, "status line \"%.*s\" is not HTTP/1.x SP CODE SP REASON", clip(line),
                    line.data());
    }
    if (!parse_version(line.substr(0, 8))) return false;
    int status = 0;
    for (size_t i = 9; i < 12; i++) {
        if (line[i] < '0' || line[i] > '9') {
            return fail(400, "status code \"%.*s\" is not 3 digits", 3, line.data() + 9);
        }
        status = status * 10 + (line[i] - '0');
    }
    if (line.size() > 12 && line[12] != ' ') {
        return fail(400, "status code \"%.*s\" is not 3 digits", clip(line.substr(9), 8),
                    line.data() + 9);
    }
    if (status < 100 || status > 599) return fail(400, "status code %d out of range", status);
    s_.status = status;
    return true;
}

bool MessageParser::parse_field_line(std::string_view line, bool trailer) {
    const char* p = line.data();
    const char* e = p + line.size();
    unsigned n_line = s_.line_no;
    if (*p == ' ' || *p == '\t') {
        return fail(400, "obsolete line folding at %s line %u (continuation lines not accepted)",
                    trailer ? "trailer" : "header", n_line);
    }
    const char* n = find_simple_name_end(p, e);
    if (!n) {
        n = p;
        while (n < e && is_tchar(static_cast<uint8_t>(*n))) n++;
    }
    if (n == e) return fail(400, "%s line %u has no colon", trailer ? "trailer" : "header", n_line);
    if (*n != ':') {
        const char* w = n;
        while (w < e && (*w == ' ' || *w == '\t')) w++;
        if (w < e && *w == ':') {
            return fail(400, "whitespace between header name \"%.*s\" and colon",
                        clip(std::string_view(p, static_cast<size_t>(n - p))), p);
        }
        return fail(400, "header name contains byte 0x%02x (%s line %u)", static_cast<uint8_t>(*n),
                    trailer ? "trailer" : "header", n_line);
    }
    if (n == p)
        return fail(400, "empty header name (%s line %u)", trailer ? "trailer" : "header", n_line);
    if (trailer) return true;  // trailer fields are checked and dropped
    if (s_.header_count == limits_.header_count_max) {
        return fail(431, "more than %zu header fields", limits_.header_count_max);
    }
    std::string_view name(p, static_cast<size_t>(n - p));
    std::string_view value = trim_ows(std::string_view(n + 1, static_cast<size_t>(e - n - 1)));
    headers_[s_.header_count++] = Header{name, value};
    return note_field(name, value);
}

bool MessageParser::note_field(std::string_view name, std::string_view value) {
    switch (name.size()) {
        case 4:
            if (token_is<"host">(name)) return note_single(s_.host, field_host, value, "Host");
            break;
        case 6:
            if (token_is<"expect">(name) && iequals_lower(value, "100-continue")) {
                s_.expect_continue = true;
            }
            break;
        case 7:
            if (token_is<"upgrade">(name) && !(s_.seen_single & field_upgrade)) {
                s_.seen_single |= field_upgrade;
                s_.upgrade = value;
            }
            break;
        case 10:
            if (token_is<"connection">(name)) note_connection(value);
            break;
        case 12:
            if (token_is<"content-type">(name)) {
                return note_single(s_.content_type, field_content_type, value, "Content-Type");
            }
            break;
        case 13:
            if (token_is<"authorization">(name)) {
                return note_single(s_.authorization, field_authorization, value, "Authorization");
            }
            break;
        case 14:
            if (token_is<"content-length">(name)) return note_content_length(value);
            break;
        case 17:
            if (token_is<"transfer-encoding">(name)) return note_transfer_encoding(value);
            break;
        default:
            break;
    }
    return true;
}

bool MessageParser::note_single(std::string_view& slot, uint8_t bit, std::string_view value,
                                const char* what) {
    if (s_.seen_single & bit) return fail(400, "more than one %s header", what);
    s_.seen_single |= bit;
    slot = value;
    return true;
}

void MessageParser::note_connection(std::string_view value) {
    for_each_element(value, [this](std::string_view el) {
        if (iequals_lower(el, "close")) s_.conn_close = true;
        if (iequals_lower(el, "keep-alive")) s_.conn_keep_alive = true;
        return true;
    });
}

bool MessageParser::note_content_length(std::string_view value) {
    bool ok = true;
    int count = for_each_element(value, [&](std::string_view el) {
        uint64_t v = 0;
        bool overflow = false;
        for (char c : el) {
            if (c < '0' || c > '9') {
                ok = fail(400, "Content-Length \"%.*s\" is not a number", clip(el), el.data());
                return false;
            }
            uint64_t d = static_cast<uint64_t>(c - '0');
            if (v > (UINT64_MAX - d) / 10) overflow = true;
            v = overflow ? UINT64_MAX : v * 10 + d;
        }
        if (s_.cl_seen && v != s_.content_length) {
            ok = fail(400, "conflicting Content-Length values \"%.*s\" and \"%.*s\"",
                      clip(s_.content_length_text), s_.content_length_text.data(), clip(el),
                      el.data());
            return false;
        }
        s_.cl_seen = true;
        s_.content_length = v;
        s_.content_length_text = el;
        return true;
    });
    if (!ok) return false;
    if (count == 0) return fail(400, "empty Content-Length");
    return true;
}

bool MessageParser::note_transfer_encoding(std::string_view value) {
    s_.te_seen = true;
    bool ok = true;
    int count = for_each_element(value, [&](std::string_view el) {
        if (s_.te_chunked) {
            ok = fail(400, "Transfer-Encoding lists \"%.*s\" after chunked (chunked must be last)",
                      clip(el), el.data());
            return false;
        }
        if (!iequals_lower(el, "chunked")) {
            ok = fail(501, "Transfer-Encoding \"%.*s\" not supported (only chunked)", clip(el),
                      el.data());
            return false;
        }
        s_.te_chunked = true;
        return true;
    });
    if (!ok) return false;
    if (count == 0 && !s_.te_chunked) return fail(400, "empty Transfer-Encoding");
    return true;
}

bool MessageParser::end_of_head(const char* buf) {
    s_.body_start = s_.pos;
    return response_ ? end_of_response_head(buf) : end_of_request_head(buf);
}

bool MessageParser::end_of_request_head(const char* buf) {
    if (s_.version_minor >= 1 && !(s_.seen_single & field_host)) {
        return fail(400, "HTTP/1.1 request without Host header");
    }
    req_.keep_alive = s_.version_minor >= 1 ? !s_.conn_close : s_.conn_keep_alive && !s_.conn_close;
    req_.expect_continue = s_.expect_continue && s_.version_minor >= 1;
    req_.authorization = s_.authorization;
    req_.content_type = s_.content_type;
    req_.host = s_.host;
    req_.upgrade = s_.upgrade;
    req_.chunked = false;
    req_.content_length = s_.cl_seen ? s_.content_length : 0;
    req_.headers = std::span<const Header>(headers_.get(), s_.header_count);
    s_.headers_done = true;
    return start_body(buf, false);
}

bool MessageParser::end_of_response_head(const char* buf) {
    bool switched = s_.status == 101 && expect_upgrade_;
    if (s_.status < 200 && !switched) {
        if (s_.status == 101) return fail(400, "unexpected 101 Switching Protocols");
        if (++s_.interim_count > interim_responses_max) {
            return fail(400, "more than %u interim 1xx responses", interim_responses_max);
        }
        begin_message(s_.pos, s_.interim_count);
        return true;
    }
    resp_.status = s_.status;
    resp_.version_minor = s_.version_minor;
    resp_.keep_alive =
        s_.version_minor >= 1 ? !s_.conn_close : s_.conn_keep_alive && !s_.conn_close;
    resp_.content_type = s_.content_type;
    resp_.chunked = false;
    resp_.headers = std::span<const Header>(headers_.get(), s_.header_count);
    s_.headers_done = true;
    if (expect_no_body_ || switched || s_.status == 204 || s_.status == 304) return finish(buf);
    return start_body(buf, true);
}

// Decides the body framing once the head is parsed (RFC 9112 §6.3).
bool MessageParser::start_body(const char* buf, bool may_read_until_close) {
    const char* what = response_ ? "response" : "request";
    if (s_.te_seen) {
        if (s_.cl_seen) {
            return fail(400, "both Content-Length and Transfer-Encoding in %s (request smuggling)",
                        what);
        }
        if (s_.version_minor == 0) return fail(400, "Transfer-Encoding in an HTTP/1.0 %s", what);
        req_.chunked = resp_.chunked = true;
        s_.section = s_.pos;
        s_.phase = Phase::chunk_size;
        return true;
    }
    if (s_.cl_seen) {
        if (s_.content_length > limits_.body_bytes_max) {
            return fail(413, "Content-Length %.*s exceeds body limit %zu",
                        clip(s_.content_length_text, 40), s_.content_length_text.data(),
                        limits_.body_bytes_max);
        }
        s_.remaining = s_.content_length;
        s_.phase = Phase::body_length;
        return true;
    }
    if (may_read_until_close) {
        resp_.keep_alive = false;
        s_.phase = Phase::body_until_close;
        return true;
    }
    return finish(buf);
}

bool MessageParser::step_chunk_size(const char* buf, size_t len) {
    std::string_view line;
    Line r = next_line(buf, len, limits_.chunk_line_bytes_max, line);
    if (r == Line::incomplete) return false;
    if (r == Line::too_long) {
        return fail(400, "chunk size line exceeds %zu bytes", limits_.chunk_line_bytes_max);
    }
    if (r != Line::found) return fail_line(r, buf, "chunk size line");
    size_t i = 0;
    uint64_t size = 0;
    bool overflow = false;
    for (; i < line.size(); i++) {
        int d = hex_digit_value(line[i]);
        if (d < 0) break;
        if (size >> 60) overflow = true;
        size = (size << 4) | static_cast<uint64_t>(d);
    }
    size_t j = i;
    while (j < line.size() && (line[j] == ' ' || line[j] == '\t')) j++;
    if (i == 0 || (i < line.size() && (j == line.size() || line[j] != ';'))) {
        return fail(400, "bad chunk size line \"%.*s\"", clip(line), line.data());
    }
    if (overflow || size > limits_.body_bytes_max - s_.body_len) {
        return fail(413, "chunked body exceeds body limit %zu", limits_.body_bytes_max);
    }
    s_.section = s_.pos;
    if (size == 0) {
        s_.line_no = 0;
        s_.phase = Phase::trailers;
        return true;
    }
    s_.remaining = size;
    s_.phase = Phase::chunk_data;
    return true;
}

bool MessageParser::step_chunk_data(char* buf, size_t len) {
    size_t avail = len - s_.pos;
    size_t n = avail < s_.remaining ? avail : static_cast<size_t>(s_.remaining);
    size_t to = s_.body_start + s_.body_len;
    if (to != s_.pos && n) std::memmove(buf + to, buf + s_.pos, n);
    s_.body_len += n;
    s_.pos += n;
    s_.remaining -= n;
    if (s_.remaining) return false;
    s_.phase = Phase::chunk_crlf;
    return true;
}

bool MessageParser::step_chunk_crlf(const char* buf, size_t len) {
    if (len == s_.pos) return false;
    if (buf[s_.pos] != '\r' || (len > s_.pos + 1 && buf[s_.pos + 1] != '\n')) {
        return fail(400, "chunk data not followed by CRLF (chunk size wrong?)");
    }
    if (len == s_.pos + 1) return false;
    s_.pos += 2;
    s_.scan = s_.section = s_.pos;
    s_.phase = Phase::chunk_size;
    return true;
}

bool MessageParser::step_trailers(const char* buf, size_t len) {
    for (;;) {
        std::string_view line;
        Line r = next_line(buf, len, limits_.header_bytes_max, line);
        if (r == Line::incomplete) return false;
        if (r == Line::too_long) {
            return fail(431, "trailer section exceeds limit %zu bytes", limits_.header_bytes_max);
        }
        if (r != Line::found) return fail_line(r, buf, "trailer section");
        s_.line_no++;
        if (line.empty()) return finish(buf);
        if (!parse_field_line(line, true)) return false;
    }
}

bool MessageParser::step_until_close(size_t len) {
    if (len - s_.body_start > limits_.body_bytes_max) {
        return fail(413, "close-delimited body exceeds body limit %zu", limits_.body_bytes_max);
    }
    s_.pos = len;
    return false;
}

bool MessageParser::finish(const char* buf) {
    std::string_view body(buf + s_.body_start, s_.body_len);
    if (response_) {
        resp_.body = body;
    } else {
        req_.body = body;
    }
    s_.phase = Phase::done;
    return false;
}

ParseStatus MessageParser::finish_on_eof(char* buf, size_t len) {
    ParseStatus st = parse(buf, len);
    if (st != ParseStatus::incomplete) return st;
    if (s_.phase == Phase::body_until_close) {
        s_.body_len = len - s_.body_start;
        s_.pos = len;
        finish(buf);
        return ParseStatus::complete;
    }
    if (s_.phase == Phase::start_line && len == s_.start) {
        fail(502, "connection closed before %s",
             s_.interim_count ? "the final response" : "a response");
    } else if (s_.phase == Phase::start_line || s_.phase == Phase::fields) {
        fail(502, "connection closed inside the header block");
    } else if (s_.phase == Phase::body_length) {
        fail(502, "connection closed after %llu of %llu body bytes",
             static_cast<unsigned long long>(s_.content_length - s_.remaining),
             static_cast<unsigned long long>(s_.content_length));
    } else {
        fail(502, "connection closed inside the chunked body");
    }
    return ParseStatus::error;
}

}  // namespace em::http::detail
