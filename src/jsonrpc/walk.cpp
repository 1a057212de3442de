// Walker: full JSON validation over an On-Demand document (see walk.h).
#include "jsonrpc/walk.h"

#include <cstring>
#include <new>

#include "base/assert.h"
#include "jsonrpc/json_text.h"

namespace em::jsonrpc {
inline namespace EM_JSON_KERNEL_NS {
namespace detail {

namespace {
constexpr size_t initial_index_bytes = 64 * 1024;
}  // namespace

Document::Document(size_t body_bytes_max, size_t depth_max)
    : body_bytes_max_(body_bytes_max), depth_max_(depth_max), parser_(body_bytes_max) {
    size_t initial = body_bytes_max < initial_index_bytes ? body_bytes_max : initial_index_bytes;
    if (parser_.allocate(initial, depth_max) != simdjson::SUCCESS) throw std::bad_alloc();
}

Result<void> Document::reserve(size_t len) {
    if (len <= parser_.capacity()) return {};
    size_t capacity = parser_.capacity() * 2;
    if (capacity < len) capacity = len;
    if (capacity > body_bytes_max_) capacity = body_bytes_max_;
    if (parser_.allocate(capacity, depth_max_) != simdjson::SUCCESS) {
        return failf(Errc::internal, "body: cannot allocate a %zu-byte JSON index", capacity);
    }
    return {};
}

Result<void> Document::iterate(const char* data, size_t len, size_t capacity_bytes,
                               const char* context) {
    EM_ASSERT(capacity_bytes >= len + simdjson::SIMDJSON_PADDING);
    if (len > body_bytes_max_) {
        return failf(Errc::too_large, "%s: %zu bytes exceeds body_bytes_max %zu", context, len,
                     body_bytes_max_);
    }
    EM_TRY_VOID(reserve(len));
    auto error = parser_.iterate(data, len, capacity_bytes).get(doc_);
    if (error == simdjson::EMPTY) return failf(Errc::invalid_input, "%s: empty", context);
    if (error != simdjson::SUCCESS) {
        return failf(Errc::invalid_input, "%s: not JSON: %s", context,
                     simdjson::error_message(error));
    }
    return {};
}

bool Walker::value(od::value& v, size_t depth, std::string_view* text) {
    std::string_view token = v.raw_json_token();
    od::json_type t;
    if (!token_type(token, &t)) return syntax("expected a value", token.data());
    if (t == od::json_type::array || t == od::json_type::object) {
        if (!container(v, t, depth, token.data())) return false;
        if (text)
            *text = std::string_view(token.data(),
                                     static_cast<size_t>(end_of_consumed() - token.data()));
        return true;
    }
    if (!scalar(t, token)) return false;
    if (text) *text = trim_json_space_right(token);
    return true;
}

bool Walker::container(od::value& v, od::json_type t, size_t depth, const char* at) {
    if (!check_depth(depth, at)) return false;
    if (t == od::json_type::array) {
        od::array a;
        if (v.get_array().get(a) != simdjson::SUCCESS) return syntax("malformed array", at);
        for (auto element : a) {
            od::value e;
            if (std::move(element).get(e) != simdjson::SUCCESS) {
                return syntax("malformed array", position());
            }
            if (!value(e, depth + 1)) return false;
        }
        return true;
    }
    od::object o;
    if (v.get_object().get(o) != simdjson::SUCCESS) return syntax("malformed object", at);
    for (auto m : o) {
        std::string_view k;
        bool has_escape;
        od::field* f = member(m, &k, &has_escape);
        if (!f || !value(f->value(), depth + 1)) return false;
    }
    return true;
}

bool Walker::scalar(od::json_type t, std::string_view token) {
    std::string_view text = trim_json_space_right(token);
    switch (t) {
        case od::json_type::string: {
            std::string_view content;
            return string(token, &content);
        }
        case od::json_type::number:
            if (!is_json_number(text)) return syntax("invalid number", token.data());
            return separated(token);
        case od::json_type::boolean:
            if (text != "true" && text != "false") return syntax("invalid literal", token.data());
            return separated(token);
        case od::json_type::null:
            if (text != "null") return syntax("invalid literal", token.data());
            return separated(token);
        default:
            return syntax("expected a value", token.data());
    }
}

bool Walker::check_depth(size_t depth, const char* at) {
    if (depth <= depth_max_) return true;
    return fail(Errc::too_large, "nesting deeper than depth_max", at);
}

const char* Walker::position() {
    const char* p;
    if (doc_.current_location().get(p) != simdjson::SUCCESS) return nullptr;
    return p;
}

const char* Walker::end_of_consumed() {
    const char* p = position();
    if (!p) p = body_end_;
    while (p > body_ && is_json_space(p[-1])) p--;
    return p;
}

bool Walker::at_document_end() {
    const char* p;
    auto e = doc_.current_location().get(p);
    return e == simdjson::OUT_OF_BOUNDS;
}

bool Walker::syntax(const char* what, const char* at) {
    return fail(Errc::invalid_input, what, at);
}

bool Walker::fail(Errc code, const char* what, const char* at) {
    if (code_ == Errc::ok) {
        code_ = code;
        what_ = what;
        at_ = at;
    }
    return false;
}

Error Walker::error(std::string_view context) const {
    const char* what = what_ ? what_ : "invalid JSON";
    if (at_ && at_ >= body_ && at_ <= body_end_) {
        return Error::fmt(code_, "%.*s: %s at byte %zu", static_cast<int>(context.size()),
                          context.data(), what, static_cast<size_t>(at_ - body_));
    }
    return Error::fmt(code_, "%.*s: %s", static_cast<int>(context.size()), context.data(), what);
}

}  // namespace detail
}  // namespace EM_JSON_KERNEL_NS
}  // namespace em::jsonrpc
