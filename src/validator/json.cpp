#include "validator/json.h"

#include <charconv>
#include <cstring>

#include "base/assert.h"

namespace em::validator {

namespace {

std::string_view type_name(simdjson::dom::element_type t) {
    using T = simdjson::dom::element_type;
    switch (t) {
        case T::ARRAY:
            return "an array";
        case T::OBJECT:
            return "an object";
        case T::INT64:
        case T::UINT64:
        case T::DOUBLE:
            return "a number";
        case T::STRING:
            return "a string";
        case T::BOOL:
            return "a boolean";
        case T::NULL_VALUE:
            return "null";
    }
    return "?";
}

Unexpected wrong_type(std::string_view what, std::string_view expected, JsonValue v) {
    std::string_view got = type_name(v.type());
    return failf(Errc::invalid_input, "%.*s: expected %.*s, got %.*s",
                 static_cast<int>(what.size()), what.data(), static_cast<int>(expected.size()),
                 expected.data(), static_cast<int>(got.size()), got.data());
}

}  // namespace

JsonParser::JsonParser(size_t bytes_max)
    : bytes_max_(bytes_max), copy_(bytes_max, bytes_max), parser_(bytes_max) {
    // Allocate once: parse() never grows beyond bytes_max.
    auto error = parser_.allocate(bytes_max);
    EM_ASSERT(!error);
}

Result<JsonValue> JsonParser::parse(std::string_view text) {
    if (text.size() > bytes_max_) {
        return failf(Errc::too_large, "JSON document of %zu bytes exceeds the limit of %zu",
                     text.size(), bytes_max_);
    }
    copy_.clear();
    copy_.append(text);
    std::memset(copy_.data() + copy_.size(), 0, ByteBuffer::padding_bytes);
    JsonValue root;
    auto error = parser_.parse(copy_.data(), copy_.size(), false).get(root);
    if (error) {
        return failf(Errc::invalid_input, "malformed JSON: %s", simdjson::error_message(error));
    }
    return root;
}

Result<int> FieldSet::index(std::string_view key) {
    int i = 0;
    for (std::string_view name : names_) {
        if (name == key) {
            if (has(i)) {
                return failf(Errc::invalid_input, "duplicate field '%.*s'",
                             static_cast<int>(key.size()), key.data());
            }
            seen_ |= 1u << i;
            return i;
        }
        i++;
    }
    if (allow_unknown_) return -1;
    return failf(Errc::invalid_input, "unknown field '%.*s'",
                 static_cast<int>(key.size() > 40 ? 40 : key.size()), key.data());
}

Result<void> FieldSet::require(std::initializer_list<int> required) const {
    for (int i : required) {
        if (!has(i)) {
            std::string_view name = names_[static_cast<size_t>(i)];
            return failf(Errc::invalid_input, "missing field '%.*s'", static_cast<int>(name.size()),
                         name.data());
        }
    }
    return {};
}

Result<JsonObject> json_object(JsonValue v, std::string_view what) {
    JsonObject o;
    if (v.get(o)) return wrong_type(what, "an object", v);
    return o;
}

Result<std::string_view> json_string(JsonValue v, std::string_view what) {
    std::string_view s;
    if (v.get(s)) return wrong_type(what, "a string", v);
    return s;
}

Result<bool> json_bool(JsonValue v, std::string_view what) {
    bool b;
    if (v.get(b)) return wrong_type(what, "a boolean", v);
    return b;
}

Result<int64_t> json_int(JsonValue v, std::string_view what, int64_t lo, int64_t hi) {
    if (v.type() != simdjson::dom::element_type::INT64) {
        if (v.type() == simdjson::dom::element_type::STRING) {
            return failf(Errc::invalid_input, "%.*s: expected a number, got a string",
                         static_cast<int>(what.size()), what.data());
        }
        if (v.type() == simdjson::dom::element_type::DOUBLE ||
            v.type() == simdjson::dom::element_type::UINT64) {
            return failf(Errc::invalid_input, "%.*s: expected an integer in %lld..%lld",
                         static_cast<int>(what.size()), what.data(), static_cast<long long>(lo),
                         static_cast<long long>(hi));
        }
        return wrong_type(what, "a number", v);
    }
    int64_t x = 0;
    if (v.get(x)) return wrong_type(what, "a number", v);
    if (x < lo || x > hi) {
        return failf(Errc::invalid_input, "%.*s: %lld is outside %lld..%lld",
                     static_cast<int>(what.size()), what.data(), static_cast<long long>(x),
                     static_cast<long long>(lo), static_cast<long long>(hi));
    }
    return x;
}

Result<int64_t> parse_decimal(std::string_view text, std::string_view what, int64_t lo,
                              int64_t hi) {
    auto bad = [&](const char* why) {
        return failf(Errc::invalid_input, "%.*s: %s", static_cast<int>(what.size()), what.data(),
                     why);
    };
    if (text.empty()) return bad("empty number");
    std::string_view digits = text;
    if (digits[0] == '-') {
        if (lo >= 0) return bad("must not be negative");
        digits.remove_prefix(1);
        if (digits.empty()) return bad("not a decimal integer");
    }
    for (char c : digits) {
        if (c < '0' || c > '9') return bad("not a decimal integer");
    }
    if (digits.size() > 1 && digits[0] == '0') return bad("leading zero");
    if (text == "-0") return bad("negative zero");
    int64_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size()) return bad("out of int64 range");
    if (v < lo || v > hi) {
        return failf(Errc::invalid_input, "%.*s: %lld is outside %lld..%lld",
                     static_cast<int>(what.size()), what.data(), static_cast<long long>(v),
                     static_cast<long long>(lo), static_cast<long long>(hi));
    }
    return v;
}

Result<uint64_t> parse_decimal_u64(std::string_view text, std::string_view what) {
    if (text.empty() || (text.size() > 1 && text[0] == '0')) {
        return failf(Errc::invalid_input, "%.*s: not a canonical decimal integer",
                     static_cast<int>(what.size()), what.data());
    }
    uint64_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size()) {
        return failf(Errc::invalid_input, "%.*s: not a decimal integer in uint64 range",
                     static_cast<int>(what.size()), what.data());
    }
    return v;
}

Result<int64_t> json_int_string(JsonValue v, std::string_view what, int64_t lo, int64_t hi) {
    std::string_view s;
    if (v.get(s)) {
        if (v.type() == simdjson::dom::element_type::INT64 ||
            v.type() == simdjson::dom::element_type::UINT64) {
            return failf(Errc::invalid_input, "%.*s: expected a decimal string, got a number",
                         static_cast<int>(what.size()), what.data());
        }
        return wrong_type(what, "a decimal string", v);
    }
    return parse_decimal(s, what, lo, hi);
}

// ---------------------------------------------------------------------------------------------

void json_append_string(ByteBuffer& out, std::string_view s) {
    static const char hex[] = "0123456789abcdef";
    out.push_back('"');
    size_t run = 0;
    for (size_t i = 0; i < s.size(); i++) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        out.append(s.data() + run, i - run);
        run = i + 1;
        char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
        if (c == '"' || c == '\\') {
            char two[2] = {'\\', static_cast<char>(c)};
            out.append(two, 2);
        } else if (c == '\n') {
            out.append("\\n");
        } else {
            out.append(esc, 6);
        }
    }
    out.append(s.data() + run, s.size() - run);
    out.push_back('"');
}

void JsonWriter::comma() {
    if (need_comma_) out_.push_back(',');
}

JsonWriter& JsonWriter::begin_object() {
    comma();
    out_.push_back('{');
    need_comma_ = false;
    return *this;
}

JsonWriter& JsonWriter::end_object() {
    out_.push_back('}');
    need_comma_ = true;
    return *this;
}

JsonWriter& JsonWriter::begin_array() {
    comma();
    out_.push_back('[');
    need_comma_ = false;
    return *this;
}

JsonWriter& JsonWriter::end_array() {
    out_.push_back(']');
    need_comma_ = true;
    return *this;
}

JsonWriter& JsonWriter::key(std::string_view k) {
    comma();
    json_append_string(out_, k);
    out_.push_back(':');
    need_comma_ = false;
    return *this;
}

JsonWriter& JsonWriter::string(std::string_view s) {
    comma();
    json_append_string(out_, s);
    need_comma_ = true;
    return *this;
}

JsonWriter& JsonWriter::boolean(bool b) {
    comma();
    out_.append(b ? "true" : "false");
    need_comma_ = true;
    return *this;
}

JsonWriter& JsonWriter::number(int64_t v) {
    comma();
    out_.append_i64(v);
    need_comma_ = true;
    return *this;
}

JsonWriter& JsonWriter::number_string(int64_t v) {
    comma();
    out_.push_back('"');
    out_.append_i64(v);
    out_.push_back('"');
    need_comma_ = true;
    return *this;
}

JsonWriter& JsonWriter::unsigned_string(uint64_t v) {
    comma();
    out_.push_back('"');
    out_.append_u64(v);
    out_.push_back('"');
    need_comma_ = true;
    return *this;
}

JsonWriter& JsonWriter::raw(std::string_view json) {
    comma();
    out_.append(json);
    need_comma_ = true;
    return *this;
}

}  // namespace em::validator
