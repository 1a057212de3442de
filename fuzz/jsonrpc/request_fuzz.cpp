// Fuzz target for RequestParser: any input either fails as a whole with -32700/-32600, or gives
// entries whose views lie inside the input (or in parser scratch for an unescaped method), whose
// `raw` re-parses alone to the same method/id/params, and whose error answers round-trip through
// the writer and the response parser. simdjson's DOM parser is the oracle for "is this JSON".
#include <simdjson.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "../fuzz_check.h"
#include "jsonrpc/jsonrpc.h"

namespace {

using namespace em::jsonrpc;

constexpr Limits fuzz_limits{.batch_entries_max = 64,
                             .body_bytes_max = 1 << 20,
                             .depth_max = 32,
                             .method_bytes_max = 64,
                             .request_members_max = 16};

bool inside(std::string_view s, const char* data, size_t size) {
    return s.data() >= data && s.data() + s.size() <= data + size;
}

// True if simdjson's DOM parser says the input is not JSON for a reason we must agree with
// (it is stricter about big numbers and lone surrogate escapes, which are valid JSON text).
bool dom_rejects(const std::vector<char>& padded, size_t size, bool* dom_accepts) {
    static simdjson::dom::parser dom(1 << 20);
    simdjson::dom::element root;
    auto error = dom.parse(reinterpret_cast<const uint8_t*>(padded.data()), size, false).get(root);
    *dom_accepts = error == simdjson::SUCCESS;
    return error != simdjson::SUCCESS && error != simdjson::NUMBER_ERROR &&
           error != simdjson::STRING_ERROR && error != simdjson::DEPTH_ERROR &&
           error != simdjson::CAPACITY;
}

void check_reparse(const Entry& e) {
    static RequestParser again(fuzz_limits);
    std::vector<char> copy(e.request.raw.size() + 64);
    std::memcpy(copy.data(), e.request.raw.data(), e.request.raw.size());
    auto r = again.parse(copy.data(), e.request.raw.size(), copy.size());
    FUZZ_CHECK(r.has_value());
    FUZZ_CHECK(!r->batch && r->entries.size() == 1);
    const Entry& x = r->entries[0];
    FUZZ_CHECK(x.ok);
    FUZZ_CHECK(x.request.method == e.request.method);
    FUZZ_CHECK(x.request.id == e.request.id);
    FUZZ_CHECK(x.request.params == e.request.params);
    FUZZ_CHECK(x.request.raw == e.request.raw);
}

void check_answer(const Entry& e) {
    static em::ByteBuffer out(1 << 16);
    static ResponseParser responses(fuzz_limits);
    out.clear();
    bool written = e.ok ? write_result(out, e.request.id, "null")
                        : write_error(out, e.request.id, e.error_code, e.error_message);
    FUZZ_CHECK(written);
    // ByteBuffer keeps padding_bytes readable past capacity(), as simdjson needs.
    auto r =
        responses.parse(out.data(), out.size(), out.capacity() + em::ByteBuffer::padding_bytes);
    FUZZ_CHECK(r.has_value());
    FUZZ_CHECK(r->is_error == !e.ok);
    FUZZ_CHECK(same_id(r->id, e.request.id.empty() ? "null" : e.request.id));
}

void check_entry(RequestParser& parser, const Envelope& env, size_t i, const char* data,
                 size_t size) {
    const Entry& e = env.entries[i];
    FUZZ_CHECK(inside(e.request.raw, data, size) && !e.request.raw.empty());
    FUZZ_CHECK(e.request.params.empty() || inside(e.request.params, data, size));
    FUZZ_CHECK(e.request.id.empty() || inside(e.request.id, data, size) || e.request.id == "null");
    FUZZ_CHECK(e.request.method.size() <= fuzz_limits.method_bytes_max);
    if (!e.ok) {
        FUZZ_CHECK(e.error_code == code::invalid_request && e.error_message != nullptr);
        FUZZ_CHECK(!e.request.id.empty());
    } else {
        FUZZ_CHECK(!e.request.method.empty() && e.error_message == nullptr);
        check_reparse(e);
        if (!e.request.params.empty()) {
            auto v = parser.rewind_to_params(i);
            FUZZ_CHECK(v.error() == simdjson::SUCCESS);
            FUZZ_CHECK(v.value_unsafe().raw_json_token().data() == e.request.params.data());
        }
    }
    check_answer(e);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static RequestParser parser(fuzz_limits);
    std::vector<char> padded(size + simdjson::SIMDJSON_PADDING);
    if (size) std::memcpy(padded.data(), data, size);
    bool dom_accepts;
    bool not_json = dom_rejects(padded, size, &dom_accepts);
    auto r = parser.parse(padded.data(), size, padded.size());
    if (!r) {
        int code = error_code_of(r.error());
        FUZZ_CHECK(code == code::parse_error || code == code::invalid_request);
        FUZZ_CHECK(!r.error().message().empty());
        // Valid JSON is never called a parse error.
        FUZZ_CHECK(!(dom_accepts && code == code::parse_error));
        return 0;
    }
    FUZZ_CHECK(!not_json);  // what we accept, the DOM parser accepts (modulo its extra strictness)
    FUZZ_CHECK(!r->entries.empty());
    FUZZ_CHECK(r->batch || r->entries.size() == 1);
    for (size_t i = 0; i < r->entries.size(); i++) {
        check_entry(parser, *r, i, padded.data(), size);
    }
    return 0;
}
