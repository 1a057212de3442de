// Fuzz target for ResponseParser: parse() and parse_batch() never crash; accepted responses have
// views inside the input, exactly one of result/error, and re-parse alone (raw) to the same parts;
// results round-trip through write_result. simdjson's DOM parser is the oracle for "is JSON".
#include <simdjson.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "../fuzz_check.h"
#include "jsonrpc/jsonrpc.h"

namespace {

using namespace em::jsonrpc;

constexpr Limits fuzz_limits{.batch_entries_max = 64, .body_bytes_max = 1 << 20, .depth_max = 32};

bool inside(std::string_view s, const char* data, size_t size) {
    return s.data() >= data && s.data() + s.size() <= data + size;
}

std::vector<char> padded_copy(std::string_view s) {
    std::vector<char> out(s.size() + simdjson::SIMDJSON_PADDING);
    if (!s.empty()) std::memcpy(out.data(), s.data(), s.size());
    return out;
}

void check_response(const Response& r, const char* data, size_t size) {
    FUZZ_CHECK(inside(r.raw, data, size) && inside(r.id, data, size) && !r.id.empty());
    FUZZ_CHECK(r.is_error == r.result.empty());
    if (r.is_error) {
        FUZZ_CHECK(inside(r.error_raw, data, size) && inside(r.error_message, data, size));
        FUZZ_CHECK(r.error_data.empty() || inside(r.error_data, data, size));
    } else {
        FUZZ_CHECK(inside(r.result, data, size));
    }
    static ResponseParser again(fuzz_limits);
    auto raw = padded_copy(r.raw);
    auto x = again.parse(raw.data(), r.raw.size(), raw.size());
    FUZZ_CHECK(x.has_value());
    FUZZ_CHECK(x->id == r.id && x->result == r.result && x->is_error == r.is_error);
    FUZZ_CHECK(x->error_code == r.error_code && x->error_message == r.error_message);
    FUZZ_CHECK(x->error_data == r.error_data && x->error_raw == r.error_raw);
    if (r.is_error) return;
    static em::ByteBuffer out(2 << 20);
    out.clear();
    FUZZ_CHECK(write_result(out, r.id, r.result));
    auto written = padded_copy(out.view());
    auto y = again.parse(written.data(), out.size(), written.size());
    FUZZ_CHECK(y.has_value() && y->result == r.result && same_id(y->id, r.id));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static ResponseParser parser(fuzz_limits);
    static simdjson::dom::parser dom(1 << 20);
    std::vector<char> padded(size + simdjson::SIMDJSON_PADDING);
    if (size) std::memcpy(padded.data(), data, size);
    simdjson::dom::element root;
    auto dom_error =
        dom.parse(reinterpret_cast<const uint8_t*>(padded.data()), size, false).get(root);
    bool dom_strict_only = dom_error == simdjson::NUMBER_ERROR ||
                           dom_error == simdjson::STRING_ERROR ||
                           dom_error == simdjson::DEPTH_ERROR;

    auto single = parser.parse(padded.data(), size, padded.size());
    if (single) {
        FUZZ_CHECK(dom_error == simdjson::SUCCESS || dom_strict_only);
        check_response(*single, padded.data(), size);
    } else {
        FUZZ_CHECK(!single.error().message().empty());
    }
    auto batch = parser.parse_batch(padded.data(), size, padded.size());
    if (batch) {
        FUZZ_CHECK(dom_error == simdjson::SUCCESS || dom_strict_only);
        FUZZ_CHECK(batch->batch || batch->responses.size() == 1);
        for (const Response& r : batch->responses) check_response(r, padded.data(), size);
    }
    return 0;
}
