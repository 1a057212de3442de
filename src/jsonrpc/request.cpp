// RequestParser: JSON-RPC 2.0 request envelopes over simdjson On-Demand (see request.h).
#include "jsonrpc/request.h"

#include <cstdio>
#include <cstring>
#include <new>

#include "base/assert.h"
#include "jsonrpc/json_text.h"
#include "jsonrpc/walk.h"

namespace em::jsonrpc {
inline namespace EM_JSON_KERNEL_NS {

namespace od = simdjson::ondemand;
using detail::token_type;
using detail::Walker;

namespace detail {
enum class MemberKey : uint8_t { jsonrpc = 0, method = 1, params = 2, id = 3, other = 4 };
}  // namespace detail
using Key = detail::MemberKey;

namespace {

constexpr std::string_view null_id = "null";

// Member names in MemberKey order.
constexpr std::string_view request_keys[] = {"jsonrpc", "method", "params", "id"};

// Fast path for the four members written without escapes: compares the raw key in place,
// including its closing quote (the body is padded, so reading 8 bytes is safe). -1 otherwise.
int plain_request_key(const char* raw) {
    switch (raw[0]) {
        case 'j':
            return std::memcmp(raw, "jsonrpc\"", 8) == 0 ? 0 : -1;
        case 'm':
            return std::memcmp(raw, "method\"", 7) == 0 ? 1 : -1;
        case 'p':
            return std::memcmp(raw, "params\"", 7) == 0 ? 2 : -1;
        case 'i':
            return std::memcmp(raw, "id\"", 3) == 0 ? 3 : -1;
        default:
            return -1;
    }
}

// Marks the entry invalid with the first problem found (later ones keep the first message).
void reject(Entry& entry, const char* message) {
    if (!entry.ok) return;
    entry.ok = false;
    entry.error_code = code::invalid_request;
    entry.error_message = message;
}

const char* first_non_space(const char* p, const char* end) {
    while (p < end && is_json_space(*p)) p++;
    return p;
}

}  // namespace

// Members seen so far in one request object (for duplicate detection).
struct RequestParser::Members {
    uint8_t seen = 0;     // bit per known Key
    size_t count = 0;     // all members
    size_t unknown = 0;   // entries used in unknown_keys_
    bool id_bad = false;  // an id member that is not a string/number/null
};

RequestParser::RequestParser(const Limits& limits)
    : limits_(limits),
      document_(limits.body_bytes_max, limits.depth_max),
      entries_(std::make_unique<Entry[]>(limits.batch_entries_max)),
      unknown_keys_(std::make_unique<std::string_view[]>(limits.request_members_max)),
      method_scratch_(limits.batch_entries_max * limits.method_bytes_max) {
    EM_ASSERT(limits.batch_entries_max >= 1);
    EM_ASSERT(limits.depth_max >= 2);  // a batch of objects is two deep
    EM_ASSERT(limits.method_bytes_max >= 1);
}

RequestParser::RequestParser(size_t batch_entries_max, size_t body_bytes_max)
    : RequestParser(
          Limits{.batch_entries_max = batch_entries_max, .body_bytes_max = body_bytes_max}) {}

Result<Envelope> RequestParser::parse(const char* data, size_t len, size_t capacity_bytes) {
    parsed_ = false;
    entry_count_ = 0;
    method_scratch_.reset();
    EM_TRY_VOID(document_.iterate(data, len, capacity_bytes, "body"));
    od::json_type type;
    if (doc().type().get(type) != simdjson::SUCCESS) {
        return fail(Errc::invalid_input, "body: not JSON: expected a value at the start");
    }
    batch_ = type == od::json_type::array;
    if (type == od::json_type::object) {
        EM_TRY_VOID(parse_single(data, len));
    } else if (batch_) {
        EM_TRY_VOID(parse_batch(data, len));
    } else {
        EM_TRY_VOID(parse_scalar(data, len));
    }
    parsed_ = true;
    return Envelope{.batch = batch_, .entries = {entries_.get(), entry_count_}};
}

Result<void> RequestParser::parse_single(const char* data, size_t len) {
    Walker w(doc(), data, len, limits_.depth_max);
    od::object object;
    if (doc().get_object().get(object) != simdjson::SUCCESS) {
        return fail(Errc::invalid_input, "body: not JSON: unterminated object or trailing bytes");
    }
    Entry& entry = entries_[0];
    entry = Entry{};
    entry.ok = true;
    entry_count_ = 1;
    const char* start = first_non_space(data, data + len);
    if (!parse_request(object, 1, entry, w)) return Unexpected(w.error("body"));
    if (!w.at_document_end()) {
        w.syntax("trailing bytes after the request", w.position());
        return Unexpected(w.error("body"));
    }
    entry.request.raw = std::string_view(start, static_cast<size_t>(w.end_of_consumed() - start));
    return {};
}

Result<void> RequestParser::parse_batch(const char* data, size_t len) {
    Walker w(doc(), data, len, limits_.depth_max);
    od::array array;
    if (doc().get_array().get(array) != simdjson::SUCCESS) {
        return fail(Errc::invalid_input, "body: not JSON: unterminated array or trailing bytes");
    }
    for (auto element : array) {
        od::value v;
        if (std::move(element).get(v) != simdjson::SUCCESS) {
            w.syntax("malformed array", w.position());
            return Unexpected(w.error("batch"));
        }
        if (entry_count_ == limits_.batch_entries_max) {
            return failf(Errc::too_large, "batch: more than batch_entries_max %zu elements",
                         limits_.batch_entries_max);
        }
        Entry& entry = entries_[entry_count_];
        entry = Entry{};
        entry.ok = true;
        std::string_view token = v.raw_json_token();
        od::json_type type;
        od::object object;
        bool is_object = token_type(token, &type) && type == od::json_type::object &&
                         v.get_object().get(object) == simdjson::SUCCESS;
        std::string_view text;
        if (is_object ? !parse_request(object, 2, entry, w) : !w.value(v, 2, &text)) {
            char context[40];
            std::snprintf(context, sizeof context, "batch[%zu]", entry_count_);
            return Unexpected(w.error(context));
        }
        if (is_object) {
            text = std::string_view(token.data(),
                                    static_cast<size_t>(w.end_of_consumed() - token.data()));
        } else {
            reject(entry, "batch element: not an object");
            entry.request.id = null_id;
        }
        entry.request.raw = text;
        entry_count_++;
    }
    if (entry_count_ == 0) return fail(Errc::unsupported, "batch: empty");
    if (!w.at_document_end()) {
        w.syntax("trailing bytes after the batch", w.position());
        return Unexpected(w.error("body"));
    }
    return {};
}

Result<void> RequestParser::parse_scalar(const char* data, size_t len) {
    Walker w(doc(), data, len, limits_.depth_max);
    std::string_view token;
    od::json_type type;
    if (doc().raw_json_token().get(token) != simdjson::SUCCESS ||
        doc().type().get(type) != simdjson::SUCCESS || !w.scalar(type, token)) {
        if (w.failure_code() == Errc::ok) w.syntax("expected a value", nullptr);
        return Unexpected(w.error("body"));
    }
    if (token.data() + token.size() != data + len) {
        w.syntax("trailing bytes after the value", token.data() + token.size());
        return Unexpected(w.error("body"));
    }
    return fail(Errc::unsupported, "body: not a request object or batch array");
}

bool RequestParser::parse_request(od::object& object, size_t depth, Entry& entry, Walker& w) {
    Members m;  // depth_max >= 2 (asserted), so a request object is never too deep
    for (auto member : object) {
        if (member.error() != simdjson::SUCCESS) {
            return w.syntax("malformed object member", w.position());
        }
        od::field& field = member.value_unsafe();
        if (!parse_member(m, field, depth + 1, entry, w)) return false;
    }
    if (!(m.seen & (1u << static_cast<int>(Key::method)))) reject(entry, "method: missing");
    if (!(m.seen & (1u << static_cast<int>(Key::jsonrpc))) && !limits_.jsonrpc_member_optional) {
        reject(entry, "jsonrpc: missing");
    }
    if (!entry.ok && (m.id_bad || entry.request.id.empty())) entry.request.id = null_id;
    return true;
}

bool RequestParser::parse_member(Members& m, od::field& field, size_t depth, Entry& entry,
                                 Walker& w) {
    const char* raw = field.key().raw();
    int index = plain_request_key(raw);
    std::string_view key;
    if (index >= 0) {
        key = std::string_view(raw, request_keys[index].size());
    } else {
        bool has_escape;
        if (!w.key(raw, &key, &has_escape)) return false;
        index = detail::match_key(key, has_escape, request_keys);
    }
    Key kind = index < 0 ? Key::other : static_cast<Key>(index);
    bool duplicate = false;
    if (++m.count > limits_.request_members_max) {
        reject(entry, "request: more than request_members_max members");
    } else if (kind != Key::other) {
        uint8_t bit = static_cast<uint8_t>(1u << static_cast<int>(kind));
        duplicate = (m.seen & bit) != 0;
        m.seen |= bit;
    } else {
        for (size_t i = 0; i < m.unknown && !duplicate; i++) {
            duplicate = json_string_content_equal(unknown_keys_[i], key);
        }
        unknown_keys_[m.unknown++] = key;
    }
    od::value& v = field.value();
    if (duplicate) reject(entry, "duplicate member in request");
    if (duplicate || kind == Key::other) return w.value(v, depth);
    return parse_known(kind, m, v, depth, entry, w);
}

bool RequestParser::parse_known(Key kind, Members& m, od::value& v, size_t depth, Entry& entry,
                                Walker& w) {
    std::string_view token = v.raw_json_token();
    od::json_type type;
    if (!token_type(token, &type)) return w.syntax("expected a value", token.data());
    bool is_string = type == od::json_type::string;
    std::string_view content;
    switch (kind) {
        case Key::jsonrpc:
            if (!is_string) break;
            if (!w.string(token, &content)) return false;
            if (!(content.size() == 3 && content[0] == '2' && content[1] == '.' &&
                  content[2] == '0') &&
                !json_string_content_equal(content, "2.0")) {
                reject(entry, "jsonrpc: must be \"2.0\"");
            }
            return true;
        case Key::method:
            if (!is_string) break;
            if (!w.string(token, &content)) return false;
            set_method(content, entry);
            return true;
        case Key::params:
            if (type != od::json_type::array && type != od::json_type::object) break;
            return w.value(v, depth, &entry.request.params);
        case Key::id:
            if (type == od::json_type::boolean || type == od::json_type::array ||
                type == od::json_type::object) {
                m.id_bad = true;
                break;
            }
            if (!w.scalar(type, token)) return false;
            entry.request.id = trim_json_space_right(token);
            return true;
        case Key::other:
            break;
    }
    static constexpr const char* wrong_type[] = {
        "jsonrpc: must be the string \"2.0\"", "method: must be a string",
        "params: must be an array or object", "id: must be a string, number or null"};
    if (kind != Key::other) reject(entry, wrong_type[static_cast<int>(kind)]);
    return w.value(v, depth);
}

void RequestParser::set_method(std::string_view content, Entry& entry) {
    if (!has_backslash(content)) {
        if (content.empty()) return reject(entry, "method: empty");
        if (content.size() > limits_.method_bytes_max) {
            return reject(entry, "method: longer than method_bytes_max");
        }
        entry.request.method = content;
        return;
    }
    // One method per entry at most, so the scratch (batch_entries_max * method_bytes_max) fits.
    char* out = static_cast<char*>(method_scratch_.alloc(limits_.method_bytes_max, 1));
    EM_ASSERT(out != nullptr);
    ptrdiff_t n = json_unescape(content, out, limits_.method_bytes_max);
    if (n < 0) return reject(entry, "method: unpaired surrogate escape or too long");
    if (n == 0) return reject(entry, "method: empty");
    entry.request.method = std::string_view(out, static_cast<size_t>(n));
}

simdjson::simdjson_result<od::value> RequestParser::rewind_to_params(size_t entry_index) {
    if (!parsed_ || entry_index >= entry_count_) return simdjson::INDEX_OUT_OF_BOUNDS;
    const Entry& entry = entries_[entry_index];
    if (!entry.ok || entry.request.params.empty()) return simdjson::NO_SUCH_FIELD;
    doc().rewind();
    od::object object;
    if (!batch_) {
        if (auto e = doc().get_object().get(object)) return e;
    } else {
        od::array array;
        if (auto e = doc().get_array().get(array)) return e;
        size_t i = 0;
        for (auto element : array) {
            if (i++ != entry_index) continue;
            od::value v;
            if (auto e = std::move(element).get(v)) return e;
            if (auto e = v.get_object().get(object)) return e;
            break;
        }
    }
    for (auto member : object) {
        od::field field;
        if (auto e = std::move(member).get(field)) return e;
        od::value v = field.value();
        if (v.raw_json_token().data() == entry.request.params.data()) return v;
    }
    return simdjson::NO_SUCH_FIELD;
}

int error_code_of(const Error& error) {
    switch (error.code()) {
        case Errc::invalid_input:
            return code::parse_error;
        case Errc::too_large:
        case Errc::unsupported:
            return code::invalid_request;
        default:
            return code::internal_error;
    }
}

}  // namespace EM_JSON_KERNEL_NS
}  // namespace em::jsonrpc
