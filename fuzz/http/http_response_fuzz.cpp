// Fuzzes ResponseParser: parsed whole and split in two (offset derived from the input, the
// second part in a moved buffer); both must agree, including after finish_on_eof. Bit 0 of the last
// byte says "answer to HEAD", bit 1 "answer to a WebSocket upgrade" (a 101 is final). Exactly-sized
// buffers let AddressSanitizer catch reads or writes past len.
#include <cstdint>
#include <cstring>
#include <vector>

#include "../fuzz_check.h"
#include "http/parser.h"

namespace {

using em::http::Limits;
using em::http::ParseStatus;
using em::http::Response;
using em::http::ResponseParser;

Limits fuzz_limits() {
    Limits l;
    l.header_bytes_max = 1024;
    l.body_bytes_max = 4096;
    l.header_count_max = 16;
    l.chunk_line_bytes_max = 64;
    return l;
}

/// Parses data[0, at) in `buf`, then (if needed) all of it from a new buffer `moved` that takes
/// over buf's bytes as the parser left them; buf is freed, like a ByteBuffer that grew.
ParseStatus run(ResponseParser& p, std::vector<char>& buf, std::vector<char>& moved, size_t size,
                size_t at, const uint8_t* data) {
    ParseStatus st = p.parse(buf.data(), at);
    if (st != ParseStatus::incomplete) return st;
    moved.assign(buf.begin(), buf.begin() + static_cast<ptrdiff_t>(at));
    moved.insert(moved.end(), data + at, data + size);
    std::vector<char>().swap(buf);
    st = p.parse(moved.data(), size);
    if (st == ParseStatus::incomplete) st = p.finish_on_eof(moved.data(), size);
    return st;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static ResponseParser whole(fuzz_limits());
    static ResponseParser split(fuzz_limits());
    bool head = size && (data[size - 1] & 1);
    std::vector<char> a(data, data + size);
    size_t at = size ? (data[0] * 131u + data[size - 1]) % (size + 1) : 0;
    std::vector<char> b(data, data + at);  // exactly the bytes "received" so far
    whole.reset();
    split.reset();
    if (head) {
        whole.expect_no_body();
        split.expect_no_body();
    }
    bool upgrade = size && (data[size - 1] & 2);
    if (upgrade) {
        whole.expect_upgrade();
        split.expect_upgrade();
    }
    std::vector<char> b_moved;
    ParseStatus sa = whole.parse(a.data(), size);
    if (sa == ParseStatus::incomplete) sa = whole.finish_on_eof(a.data(), size);
    ParseStatus sb = run(split, b, b_moved, size, at, data);
    FUZZ_CHECK(sa == sb);
    FUZZ_CHECK(sa != ParseStatus::incomplete);  // after EOF there is always an answer
    if (sa == ParseStatus::error) {
        FUZZ_CHECK(whole.error_status() == split.error_status());
        FUZZ_CHECK(whole.error_reason() == split.error_reason() && !whole.error_reason().empty());
        return 0;
    }
    const Response& x = whole.response();
    const Response& y = split.response();
    FUZZ_CHECK(whole.consumed() == split.consumed() && whole.consumed() <= size);
    bool switched = upgrade && x.status == 101;  // the final answer to our WebSocket handshake
    FUZZ_CHECK(x.status == y.status && (x.status >= 200 || switched) && x.status <= 599);
    FUZZ_CHECK(!switched || x.body.empty());
    FUZZ_CHECK(x.keep_alive == y.keep_alive && x.chunked == y.chunked && x.body == y.body);
    FUZZ_CHECK(x.content_type == y.content_type && x.headers.size() == y.headers.size());
    FUZZ_CHECK(x.body.size() <= whole.limits().body_bytes_max);
    FUZZ_CHECK(!head || x.body.empty());
    return 0;
}
