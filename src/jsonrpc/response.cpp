// ResponseParser and same_id (see response.h).
#include "jsonrpc/response.h"

#include <cstdio>

#include "base/assert.h"
#include "jsonrpc/json_text.h"

namespace em::jsonrpc {

namespace od = simdjson::ondemand;
using detail::Walker;

namespace {

enum ResponseKey { key_jsonrpc = 0, key_id = 1, key_result = 2, key_error = 3 };
constexpr std::string_view response_keys[] = {"jsonrpc", "id", "result", "error"};
enum ErrorKey { key_code = 0, key_message = 1, key_data = 2 };
constexpr std::string_view error_keys[] = {"code", "message", "data"};

bool has(unsigned seen, int key) {
    return (seen & (1u << key)) != 0;
}

std::string_view span_of(const char* start, const char* end) {
    return std::string_view(start, static_cast<size_t>(end - start));
}

}  // namespace

ResponseParser::ResponseParser(const Limits& limits)
    : limits_(limits),
      document_(limits.body_bytes_max, limits.depth_max),
      responses_(std::make_unique<Response[]>(limits.batch_entries_max)) {
    EM_ASSERT(limits.batch_entries_max >= 1);
    EM_ASSERT(limits.depth_max >= 2);
}

ResponseParser::ResponseParser(size_t batch_entries_max, size_t body_bytes_max)
    : ResponseParser(
          Limits{.batch_entries_max = batch_entries_max, .body_bytes_max = body_bytes_max}) {}

Result<Response> ResponseParser::parse(const char* data, size_t len, size_t capacity_bytes) {
    EM_TRY_VOID(document_.iterate(data, len, capacity_bytes, "response"));
    return parse_single(data, len, "response");
}

Result<Response> ResponseParser::parse_single(const char* data, size_t len, const char* context) {
    od::document& doc = document_.doc();
    Walker w(doc, data, len, limits_.depth_max);
    od::object object;
    od::json_type type;
    if (doc.type().get(type) != simdjson::SUCCESS || type != od::json_type::object) {
        return failf(Errc::invalid_input, "%s: not a JSON object", context);
    }
    if (doc.get_object().get(object) != simdjson::SUCCESS) {
        return failf(Errc::invalid_input, "%s: not JSON: unterminated object or trailing bytes",
                     context);
    }
    const char* start = data;
    while (is_json_space(*start)) start++;  // the object's '{' follows
    Response r;
    if (!parse_response(object, 1, r, w)) return Unexpected(w.error(context));
    if (!w.at_document_end()) {
        w.syntax("trailing bytes after the response", w.position());
        return Unexpected(w.error(context));
    }
    r.raw = span_of(start, w.end_of_consumed());
    return r;
}

Result<ResponseBatch> ResponseParser::parse_batch(const char* data, size_t len,
                                                  size_t capacity_bytes) {
    EM_TRY_VOID(document_.iterate(data, len, capacity_bytes, "response batch"));
    od::document& doc = document_.doc();
    od::json_type type;
    if (doc.type().get(type) == simdjson::SUCCESS && type == od::json_type::object) {
        responses_[0] = EM_TRY(parse_single(data, len, "response batch"));
        return ResponseBatch{.batch = false, .responses = {responses_.get(), 1}};
    }
    od::array array;
    if (doc.get_array().get(array) != simdjson::SUCCESS) {
        return fail(Errc::invalid_input, "response batch: not a JSON array or object");
    }
    Walker w(doc, data, len, limits_.depth_max);
    size_t count = 0;
    char context[48];
    for (auto element : array) {
        std::snprintf(context, sizeof context, "response batch[%zu]", count);
        od::value v;
        od::object object;
        if (std::move(element).get(v) != simdjson::SUCCESS) {
            w.syntax("malformed array", w.position());
            return Unexpected(w.error(context));
        }
        if (count == limits_.batch_entries_max) {
            return failf(Errc::too_large, "response batch: more than batch_entries_max %zu",
                         limits_.batch_entries_max);
        }
        const char* start = v.raw_json_token().data();
        if (v.type().get(type) != simdjson::SUCCESS || type != od::json_type::object ||
            v.get_object().get(object) != simdjson::SUCCESS) {
            if (w.value(v, 2)) w.syntax("not an object", start);
            return Unexpected(w.error(context));
        }
        Response& r = responses_[count];
        r = Response{};
        if (!parse_response(object, 2, r, w)) return Unexpected(w.error(context));
        r.raw = span_of(start, w.end_of_consumed());
        count++;
    }
    if (!w.at_document_end()) {
        w.syntax("trailing bytes after the batch", w.position());
        return Unexpected(w.error("response batch"));
    }
    return ResponseBatch{.batch = true, .responses = {responses_.get(), count}};
}

bool ResponseParser::parse_response(od::object& object, size_t depth, Response& out, Walker& w) {
    unsigned seen = 0;
    const char* start = nullptr;
    for (auto m : object) {
        std::string_view key;
        bool has_escape;
        od::field* member = w.member(m, &key, &has_escape);
        if (!member) return false;
        od::field& field = *member;
        if (!start) start = key.data() - 1;
        int kind = detail::match_key(key, has_escape, response_keys);
        od::value& v = field.value();
        if (kind < 0) {
            if (!w.value(v, depth + 1)) return false;
            continue;
        }
        if (has(seen, kind)) return w.syntax("duplicate member", key.data() - 1);
        seen |= 1u << kind;
        if (!parse_member(kind, v, depth + 1, out, w)) return false;
    }
    if (!has(seen, key_jsonrpc) && !limits_.jsonrpc_member_optional) {
        return w.syntax("jsonrpc: missing", start);
    }
    if (!has(seen, key_id)) return w.syntax("id: missing", start);
    if (has(seen, key_result) && has(seen, key_error)) {
        return w.syntax("both result and error present", start);
    }
    if (!has(seen, key_result) && !has(seen, key_error)) {
        return w.syntax("neither result nor error present", start);
    }
    return true;
}

bool ResponseParser::parse_member(int kind, od::value& v, size_t depth, Response& out, Walker& w) {
    std::string_view token = v.raw_json_token();
    od::json_type type;
    if (v.type().get(type) != simdjson::SUCCESS) return w.syntax("expected a value", token.data());
    std::string_view content;
    switch (kind) {
        case key_jsonrpc:
            if (type != od::json_type::string)
                return w.syntax("jsonrpc: must be \"2.0\"", token.data());
            if (!w.string(token, &content)) return false;
            if (!json_string_content_equal(content, "2.0")) {
                return w.syntax("jsonrpc: must be \"2.0\"", token.data());
            }
            return true;
        case key_id:
            if (type != od::json_type::string && type != od::json_type::number &&
                type != od::json_type::null) {
                return w.syntax("id: must be a string, number or null", token.data());
            }
            if (!w.scalar(type, token)) return false;
            out.id = trim_json_space_right(token);
            return true;
        case key_result:
            return w.value(v, depth, &out.result);
        default:
            return parse_error(v, depth, out, w);
    }
}

bool ResponseParser::parse_error(od::value& v, size_t depth, Response& out, Walker& w) {
    const char* start = v.raw_json_token().data();
    od::json_type type;
    od::object object;
    if (v.type().get(type) != simdjson::SUCCESS || type != od::json_type::object ||
        v.get_object().get(object) != simdjson::SUCCESS) {
        return w.syntax("error: must be an object", start);
    }
    if (!w.check_depth(depth, start)) return false;
    unsigned seen = 0;
    for (auto m : object) {
        std::string_view key;
        bool has_escape;
        od::field* member = w.member(m, &key, &has_escape);
        if (!member) return false;
        od::field& field = *member;
        int kind = detail::match_key(key, has_escape, error_keys);
        od::value& value = field.value();
        if (kind >= 0 && has(seen, kind))
            return w.syntax("error: duplicate member", key.data() - 1);
        if (kind >= 0) seen |= 1u << kind;
        std::string_view token = value.raw_json_token();
        od::json_type t;
        if (value.type().get(t) != simdjson::SUCCESS)
            return w.syntax("expected a value", token.data());
        if (kind == key_code) {
            int32_t code;
            if (t != od::json_type::number ||
                !parse_json_int32(trim_json_space_right(token), &code)) {
                return w.syntax("error.code: must be an integer", token.data());
            }
            out.error_code = code;
        } else if (kind == key_message) {
            if (t != od::json_type::string)
                return w.syntax("error.message: must be a string", token.data());
            if (!w.string(token, &out.error_message)) return false;
        } else {
            std::string_view text;
            if (!w.value(value, depth + 1, &text)) return false;
            if (kind == key_data) out.error_data = text;
        }
    }
    if (!has(seen, key_code)) return w.syntax("error.code: missing", start);
    if (!has(seen, key_message)) return w.syntax("error.message: missing", start);
    out.is_error = true;
    out.error_raw = span_of(start, w.end_of_consumed());
    return true;
}

bool same_id(std::string_view a, std::string_view b) {
    a = trim_json_space(a);
    b = trim_json_space(b);
    if (a == b) return true;
    if (a.empty() || b.empty()) return false;
    if (a[0] == '"' || b[0] == '"') {
        if (a[0] != b[0] || a.size() < 2 || b.size() < 2 || a.back() != '"' || b.back() != '"') {
            return false;
        }
        return json_string_content_equal(a.substr(1, a.size() - 2), b.substr(1, b.size() - 2));
    }
    return json_number_equal(a, b);
}

}  // namespace em::jsonrpc
