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

#include "base/result.h"

namespace em::jsonrpc::detail {

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

/// Index of the member name with raw content `raw` (escapes allowed: "\u0069d" is "id") in
/// names, or -1. Names must be at most 15 bytes.
int match_key(std::string_view raw, std::span<const std::string_view> names);

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
    /// Validates an object key whose raw content starts at raw; returns the raw content.
    bool key(const char* raw, std::string_view* content);
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

}  // namespace em::jsonrpc::detail
