// Fuzzes RequestParser: each input is parsed whole and split in two at an offset derived from
// the input (the second part in a moved buffer); both must agree on everything observable. The
// buffers are exactly `size` bytes, so AddressSanitizer catches any read or write past len.
// Pipelined messages after the first are parsed too.
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

#include "../fuzz_check.h"
#include "http/parser.h"

namespace {

using em::http::Limits;
using em::http::ParseStatus;
using em::http::Request;
using em::http::RequestParser;

Limits fuzz_limits() {
    Limits l;
    l.header_bytes_max = 1024;  // small limits so the fuzzer reaches them
    l.body_bytes_max = 4096;
    l.header_count_max = 16;
    l.chunk_line_bytes_max = 64;
    return l;
}

void check_same(const RequestParser& a, const RequestParser& b, ParseStatus sa, ParseStatus sb) {
    FUZZ_CHECK(sa == sb);
    if (sa == ParseStatus::error) {
        FUZZ_CHECK(a.error_status() == b.error_status() && a.error_reason() == b.error_reason());
        FUZZ_CHECK(!a.error_reason().empty());
        return;
    }
    if (sa != ParseStatus::complete) return;
    const Request& x = a.request();
    const Request& y = b.request();
    FUZZ_CHECK(a.consumed() == b.consumed());
    FUZZ_CHECK(x.method == y.method && x.method_text == y.method_text && x.target == y.target);
    FUZZ_CHECK(x.version_minor == y.version_minor && x.keep_alive == y.keep_alive);
    FUZZ_CHECK(x.expect_continue == y.expect_continue && x.chunked == y.chunked);
    FUZZ_CHECK(x.authorization == y.authorization && x.content_type == y.content_type);
    FUZZ_CHECK(x.host == y.host && x.upgrade == y.upgrade && x.body == y.body);
    FUZZ_CHECK(x.headers.size() == y.headers.size());
    for (size_t i = 0; i < x.headers.size(); i++) {
        FUZZ_CHECK(x.headers[i].name == y.headers[i].name &&
                   x.headers[i].value == y.headers[i].value);
    }
}

/// Checks a complete request's views lie inside buf[0, consumed).
void check_inside(const RequestParser& p, const char* buf) {
    const Request& r = p.request();
    auto inside = [&](std::string_view v) {
        FUZZ_CHECK(v.empty() || (v.data() >= buf && v.data() + v.size() <= buf + p.consumed()));
    };
    inside(r.target);
    inside(r.body);
    inside(r.host);
    FUZZ_CHECK(r.body.size() <= p.limits().body_bytes_max);
    FUZZ_CHECK(r.headers.size() <= p.limits().header_count_max);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static RequestParser whole(fuzz_limits());
    static RequestParser split(fuzz_limits());
    std::vector<char> a(data, data + size);
    size_t at = size ? (data[0] * 131u + data[size - 1]) % (size + 1) : 0;
    std::vector<char> b(data, data + at);  // exactly the bytes "received" so far

    whole.reset();
    split.reset();
    ParseStatus sa = whole.parse(a.data(), size);
    ParseStatus sb = split.parse(b.data(), at);
    std::vector<char> moved;
    if (sb == ParseStatus::incomplete) {
        // The second part arrives in a new buffer (as after a ByteBuffer grew): the bytes so far
        // move over as the parser left them, and the old buffer is freed.
        moved.assign(b.begin(), b.begin() + static_cast<ptrdiff_t>(at));
        moved.insert(moved.end(), data + at, data + size);
        std::vector<char>().swap(b);
        sb = split.parse(moved.data(), size);
    }
    check_same(whole, split, sa, sb);

    // Pipelining: keep parsing whatever follows a complete message.
    char* buf = a.data();
    size_t left = size;
    for (int n = 0; n < 16 && sa == ParseStatus::complete; n++) {
        FUZZ_CHECK(whole.consumed() <= left && whole.consumed() > 0);
        check_inside(whole, buf);
        buf += whole.consumed();
        left -= whole.consumed();
        whole.reset();
        sa = whole.parse(buf, left);
    }
    return 0;
}
