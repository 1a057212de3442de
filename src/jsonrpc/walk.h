// Walker: full JSON validation over a simdjson On-Demand document, internal to src/jsonrpc.
//
// simdjson On-Demand validates only what it is asked for and skips the rest by counting
// brackets; the request and response parsers use Walker to validate every value they do not
// otherwise read (params, unknown members, non-object batch elements, results), so a body that is
// not JSON is always answered -32700 rather than forwarded. It also enforces the nesting limit
// (On-Demand does not). The thread that owns the parser uses it; it holds pointers into the
// caller's document and body and allocates nothing.
#pragma once

#include <simdjson.h>

#include <cstddef>
#include <span>
#include <string_view>

#include "base/json_kernel_ns.h"
#include "base/result.h"
#include "jsonrpc/json_text.h"

// Everything here is compiled once per JSON kernel (base/json_kernel_ns.h).
namespace em::jsonrpc {
inline namespace EM_JSON_KERNEL_NS {

/// True when the document's iterator has consumed everything (no trailing content).
inline bool at_document_end(simdjson::ondemand::document& doc) {
    return doc.current_location().error() == simdjson::OUT_OF_BOUNDS;
}

namespace detail {

namespace od = simdjson::ondemand;

/// A simdjson On-Demand parser and its current document. The JSON index is allocated at
/// construction (64 KiB of input, or body_bytes_max if smaller) and grows by doubling, never
/// past body_bytes_max, so steady-state parsing allocates nothing.
class Document {
  public:
    Document(size_t body_bytes_max, size_t depth_max);

    /// Indexes data[0, len) (capacity_bytes >= len + padding). Errors: len > body_bytes_max
    /// (Errc::too_large), empty or not JSON (Errc::invalid_input), out of memory (internal).
    Result<void> iterate(const char* data, size_t len, size_t capacity_bytes, const char* context);
    /// The document of the last successful iterate().
    od::document& doc() { return doc_; }

  private:
    Result<void> reserve(size_t len);

    size_t body_bytes_max_;
    size_t depth_max_;
    od::parser parser_;
    od::document doc_;
};

/// The JSON type of the value a raw token starts (by its first character, as simdjson decides);
/// false when no value starts with that character.
inline bool token_type(std::string_view token, od::json_type* type) {
    if (token.empty()) return false;
    switch (token[0]) {
        case '"':
            *type = od::json_type::string;
            return true;
        case '{':
            *type = od::json_type::object;
            return true;
        case '[':
            *type = od::json_type::array;
            return true;
        case 't':
        case 'f':
            *type = od::json_type::boolean;
            return true;
        case 'n':
            *type = od::json_type::null;
            return true;
        case '-':
        case '0':
        case '1':
        case '2':
        case '3':
        case '4':
        case '5':
        case '6':
        case '7':
        case '8':
        case '9':
            *type = od::json_type::number;
            return true;
        default:
            return false;
    }
}

/// Index of the member name with raw content `raw` (escapes allowed: "\u0069d" is "id") in
/// names, or -1. Names must be at most 15 bytes.
inline int match_key(std::string_view raw, bool has_escape,
                     std::span<const std::string_view> names) {
    char buffer[16];
    std::string_view k = raw;
    if (has_escape) {
        ptrdiff_t n = json_unescape(raw, buffer, sizeof buffer);
        if (n < 0) return -1;
        k = std::string_view(buffer, static_cast<size_t>(n));
    }
    for (size_t i = 0; i < names.size(); i++) {
        std::string_view name = names[i];
        if (k.size() != name.size()) continue;
        size_t j = 0;
        while (j < k.size() && k[j] == name[j]) j++;
        if (j == k.size()) return static_cast<int>(i);
    }
    return -1;
}

class Walker {
  public:
    /// body/body_bytes: the parsed text (for byte offsets); depth_max: deepest container allowed.
    Walker(od::document& doc, const char* body, size_t body_bytes, size_t depth_max)
        : doc_(doc), body_(body), body_end_(body + body_bytes), depth_max_(depth_max) {}

    /// Validates v completely and consumes it. depth: v's nesting depth (root container = 1).
    /// text (optional) receives v's raw JSON text without surrounding whitespace.
    bool value(od::value& v, size_t depth, std::string_view* text = nullptr);
    /// Validates a scalar token of type t (raw token, trailing whitespace allowed).
    bool scalar(od::json_type t, std::string_view token);
    /// Validates a string token ("..." + whitespace) and returns its raw content (no quotes).
    bool string(std::string_view token, std::string_view* content);
    /// Validates an object key whose raw content starts at raw; returns the raw content and
    /// whether it holds escapes.
    bool key(const char* raw, std::string_view* content, bool* has_escape);
    /// One member of an object being iterated, its key validated (as key()): the field, or
    /// null after recording the error.
    od::field* member(simdjson::simdjson_result<od::field>& m, std::string_view* name,
                      bool* has_escape) {
        if (m.error() != simdjson::SUCCESS) {
            syntax("malformed object member", position());
            return nullptr;
        }
        od::field& f = m.value_unsafe();
        return key(f.key().raw(), name, has_escape) ? &f : nullptr;
    }
    /// Checks what follows a scalar token: ',', ']', '}' or the end of the body. On-Demand
    /// skips an unread scalar without looking, and would take `"a":` inside an array for a key.
    bool separated(std::string_view token) {
        const char* next = token.data() + token.size();
        if (next >= body_end_ || *next == ',' || *next == ']' || *next == '}') return true;
        return syntax("expected ',' or a closing bracket", next);
    }
    /// Fails a container whose nesting depth exceeds depth_max; true when within the limit.
    bool check_depth(size_t depth, const char* at);

    /// One past the last byte of the container consumed last (trailing whitespace excluded).
    const char* end_of_consumed();
    /// True when the whole document has been consumed (nothing but whitespace follows).
    bool at_document_end();
    /// Position of the next unread token, or nullptr when unknown (e.g. after an error).
    const char* position();

    /// Records "not JSON" (Errc::invalid_input) at `at` (nullptr: no offset). Returns false.
    bool syntax(const char* what, const char* at);
    /// Records a failure of another kind (e.g. Errc::too_large). Returns false.
    bool fail(Errc code, const char* what, const char* at);
    /// The recorded failure as an Error: "<context>: <what> at byte N".
    Error error(std::string_view context) const;
    Errc failure_code() const { return code_; }

  private:
    bool container(od::value& v, od::json_type t, size_t depth, const char* at);

    od::document& doc_;
    const char* body_;
    const char* body_end_;
    size_t depth_max_;
    Errc code_ = Errc::ok;
    const char* what_ = nullptr;
    const char* at_ = nullptr;
};

inline bool Walker::string(std::string_view token, std::string_view* content) {
    // A string token runs from its opening quote to the next structural character, so after
    // trimming whitespace it ends with the closing quote (stage 1 guarantees the string is closed).
    std::string_view text = trim_json_space_right(token);
    if (text.size() < 2 || text.front() != '"' || text.back() != '"') {
        return syntax("malformed string", token.data());
    }
    *content = text.substr(1, text.size() - 2);
    if (has_backslash(*content) && !json_escapes_valid(*content)) {
        return syntax("invalid escape in string", token.data());
    }
    return separated(token);
}

inline bool Walker::key(const char* raw, std::string_view* content, bool* has_escape) {
    size_t n = json_string_content_length(raw, has_escape);
    *content = std::string_view(raw, n);
    if (*has_escape && !json_escapes_valid(*content)) {
        return syntax("invalid escape in member name", raw - 1);
    }
    return true;
}

}  // namespace detail
}  // namespace EM_JSON_KERNEL_NS
}  // namespace em::jsonrpc
