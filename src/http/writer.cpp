#include "http/writer.h"

#include <cstring>

#include "base/assert.h"
#include "http/scan.h"

namespace em::http {

namespace {

constexpr std::string_view content_length_prefix = "Content-Length: ";
constexpr std::string_view head_end = "\r\n\r\n";

/// Copies pieces into memory already reserved with ByteBuffer::prepare.
class Writer {
  public:
    explicit Writer(char* p) : p_(p), start_(p) {}
    void put(std::string_view s) {
        std::memcpy(p_, s.data(), s.size());
        p_ += s.size();
    }
    void put_status(int status) {
        p_[0] = static_cast<char>('0' + status / 100);
        p_[1] = static_cast<char>('0' + status / 10 % 10);
        p_[2] = static_cast<char>('0' + status % 10);
        p_ += 3;
    }
    /// The placeholder: content_length_digits_max spaces, filled in by patch_length.
    void put_length_placeholder() {
        put(content_length_prefix);
        std::memset(p_, ' ', content_length_digits_max);
        p_ += content_length_digits_max;
        put(head_end);
    }
    size_t written() const { return static_cast<size_t>(p_ - start_); }

  private:
    char* p_;
    char* start_;
};

/// For the debug assertions: no control bytes (so no CR/LF header injection), SIMD-scanned.
[[maybe_unused]] bool has_no_crlf(std::string_view s) {
    return detail::find_ctl(s.data(), s.data() + s.size()) == s.data() + s.size();
}

size_t header_bytes(std::string_view name, std::string_view value) {
    return value.empty() ? 0 : name.size() + value.size() + 2;
}

constexpr size_t length_field_bytes =
    content_length_prefix.size() + content_length_digits_max + head_end.size();

/// Writes the decimal body length right-aligned into the placeholder before `mark`.
void patch_length(ByteBuffer& out, size_t mark, size_t body) {
    if (out.overflowed()) return;  // incomplete message: the caller must not send it
    EM_ASSERT(mark >= length_field_bytes && mark <= out.size());
    char* digits_end = out.data() + mark - head_end.size();
    size_t n = 0;
    do {
        EM_ASSERT(n < content_length_digits_max);
        *(digits_end - 1 - n) = static_cast<char>('0' + body % 10);
        body /= 10;
        n++;
    } while (body);
}

bool bodyless(int status) {
    return status < 200 || status == 204 || status == 304;
}

/// Decimal digits of v, most significant first, into digits (at least 10 bytes); the count.
size_t decimal_u32(uint32_t v, char* digits) {
    char tmp[10];
    size_t n = 0;
    do {
        tmp[n++] = static_cast<char>('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++) digits[i] = tmp[n - 1 - i];
    return n;
}

/// Status line and optional headers; `with_length` adds the placeholder, else just CRLF CRLF.
size_t write_response_head(ByteBuffer& out, int status, std::string_view content_type,
                           bool keep_alive, bool with_length, uint32_t retry_after_s = 0) {
    EM_ASSERT(status >= 100 && status <= 599);
    EM_DEBUG_ASSERT(has_no_crlf(content_type));
    std::string_view reason = status_reason(status);
    constexpr std::string_view close = "Connection: close\r\n";
    constexpr std::string_view retry_after = "Retry-After: ";
    char seconds[10];
    std::string_view retry_value(seconds, retry_after_s ? decimal_u32(retry_after_s, seconds) : 0);
    size_t n = 9 + 3 + 1 + reason.size() + 2 + header_bytes("Content-Type: ", content_type) +
               header_bytes(retry_after, retry_value) + (keep_alive ? 0 : close.size()) +
               (with_length ? length_field_bytes : 2);
    char* p = out.prepare(n);
    if (!p) return out.size();
    Writer w(p);
    w.put("HTTP/1.1 ");
    w.put_status(status);
    w.put(" ");
    w.put(reason);
    w.put("\r\n");
    if (!content_type.empty()) {
        w.put("Content-Type: ");
        w.put(content_type);
        w.put("\r\n");
    }
    if (!retry_value.empty()) {
        w.put(retry_after);
        w.put(retry_value);
        w.put("\r\n");
    }
    if (!keep_alive) w.put(close);
    if (with_length) {
        w.put_length_placeholder();
    } else {
        w.put("\r\n");
    }
    EM_ASSERT(w.written() == n);
    out.commit(n);
    return out.size();
}

}  // namespace

size_t begin_response(ByteBuffer& out, int status, std::string_view content_type, bool keep_alive,
                      uint32_t retry_after_s) {
    EM_ASSERT(!bodyless(status));
    return write_response_head(out, status, content_type, keep_alive, true, retry_after_s);
}

void end_response(ByteBuffer& out, size_t mark) {
    patch_length(out, mark, out.size() - mark);
}

void write_response(ByteBuffer& out, int status, std::string_view content_type,
                    std::string_view body, bool keep_alive) {
    if (bodyless(status)) {
        EM_ASSERT(body.empty());
        write_response_head(out, status, content_type, keep_alive, false);
        return;
    }
    size_t mark = write_response_head(out, status, content_type, keep_alive, true);
    out.append(body);
    patch_length(out, mark, out.size() - mark);
}

void write_continue(ByteBuffer& out) {
    out.append("HTTP/1.1 100 Continue\r\n\r\n");
}

size_t begin_request(ByteBuffer& out, std::string_view method, std::string_view host,
                     std::string_view target, std::string_view bearer_token,
                     std::string_view content_type) {
    EM_ASSERT(!method.empty() && !target.empty());
    EM_DEBUG_ASSERT(has_no_crlf(method) && has_no_crlf(host) && has_no_crlf(target) &&
                    has_no_crlf(bearer_token) && has_no_crlf(content_type));
    constexpr std::string_view auth = "Authorization: Bearer ";
    size_t n = method.size() + 1 + target.size() + 11 + 6 + host.size() + 2 +
               (bearer_token.empty() ? 0 : auth.size() + bearer_token.size() + 2) +
               header_bytes("Content-Type: ", content_type) + length_field_bytes;
    char* p = out.prepare(n);
    if (!p) return out.size();
    Writer w(p);
    w.put(method);
    w.put(" ");
    w.put(target);
    w.put(" HTTP/1.1\r\nHost: ");
    w.put(host);
    w.put("\r\n");
    if (!bearer_token.empty()) {
        w.put(auth);
        w.put(bearer_token);
        w.put("\r\n");
    }
    if (!content_type.empty()) {
        w.put("Content-Type: ");
        w.put(content_type);
        w.put("\r\n");
    }
    w.put_length_placeholder();
    EM_ASSERT(w.written() == n);
    out.commit(n);
    return out.size();
}

void end_request(ByteBuffer& out, size_t mark) {
    patch_length(out, mark, out.size() - mark);
}

void end_request_head(ByteBuffer& out, size_t mark, size_t body_bytes) {
    EM_ASSERT(out.overflowed() || out.size() == mark);
    patch_length(out, mark, body_bytes);
}

const char* status_reason(int status) {
    switch (status) {
        case 100:
            return "Continue";
        case 101:
            return "Switching Protocols";
        case 200:
            return "OK";
        case 201:
            return "Created";
        case 202:
            return "Accepted";
        case 204:
            return "No Content";
        case 304:
            return "Not Modified";
        case 400:
            return "Bad Request";
        case 401:
            return "Unauthorized";
        case 403:
            return "Forbidden";
        case 404:
            return "Not Found";
        case 405:
            return "Method Not Allowed";
        case 408:
            return "Request Timeout";
        case 411:
            return "Length Required";
        case 413:
            return "Content Too Large";
        case 414:
            return "URI Too Long";
        case 415:
            return "Unsupported Media Type";
        case 417:
            return "Expectation Failed";
        case 426:
            return "Upgrade Required";
        case 429:
            return "Too Many Requests";
        case 431:
            return "Request Header Fields Too Large";
        case 500:
            return "Internal Server Error";
        case 501:
            return "Not Implemented";
        case 502:
            return "Bad Gateway";
        case 503:
            return "Service Unavailable";
        case 504:
            return "Gateway Timeout";
        case 505:
            return "HTTP Version Not Supported";
        default:
            return "Unknown";
    }
}

}  // namespace em::http
