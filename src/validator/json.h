// Strict JSON helpers for the validator guard: a reusable bounded parser (simdjson DOM), field
// lookup that rejects duplicates (and, where asked, unknown fields), cmtjson-style int64-as-string
// numbers, and a small writer for the guard's own messages and files.
//
// Owned by one thread (the guard's loop; each parser keeps its own buffers). Nothing here does
// I/O. Every error names the field and what was wrong with it ("height: leading zero").
#pragma once

#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string_view>

#include "base/buffer.h"
#include "base/result.h"

namespace em::validator {

using JsonValue = simdjson::dom::element;
using JsonObject = simdjson::dom::object;

/// A reusable simdjson DOM parser for documents up to bytes_max (allocated at construction).
class JsonParser {
  public:
    explicit JsonParser(size_t bytes_max);
    /// Parses `text` (copied into a padded buffer). The result is valid until the next parse.
    /// Errors: too_large over bytes_max, invalid_input for malformed JSON.
    Result<JsonValue> parse(std::string_view text);
    size_t bytes_max() const { return bytes_max_; }

  private:
    size_t bytes_max_;
    ByteBuffer copy_;
    simdjson::dom::parser parser_;
};

/// Tracks which of up to 32 known field names an object has: rejects duplicates, and unknown
/// names when `allow_unknown` is false.
class FieldSet {
  public:
    /// `names` must outlive the FieldSet (use a static constexpr array).
    FieldSet(std::span<const std::string_view> names, bool allow_unknown)
        : names_(names), allow_unknown_(allow_unknown) {}
    /// Index of `key` in the names, or -1 for an allowed unknown field. Errors name the key.
    Result<int> index(std::string_view key);
    /// True if field `i` was present.
    bool has(int i) const { return (seen_ & (1u << i)) != 0; }
    /// Error naming the first name in `required` (indices) that was absent, if any.
    Result<void> require(std::initializer_list<int> required) const;

  private:
    std::span<const std::string_view> names_;
    bool allow_unknown_;
    uint32_t seen_ = 0;
};

/// The value as an object / string / bool / int64 (JSON number) or an error naming `what`.
Result<JsonObject> json_object(JsonValue v, std::string_view what);
Result<std::string_view> json_string(JsonValue v, std::string_view what);
Result<bool> json_bool(JsonValue v, std::string_view what);
Result<int64_t> json_int(JsonValue v, std::string_view what, int64_t lo, int64_t hi);
/// A decimal integer written as a JSON string (cmtjson int64, etcd int64), canonical form only:
/// "0" or [1-9][0-9]*, optionally with a leading '-' when lo < 0; within [lo, hi].
Result<int64_t> json_int_string(JsonValue v, std::string_view what, int64_t lo, int64_t hi);
/// Same for text already extracted.
Result<int64_t> parse_decimal(std::string_view text, std::string_view what, int64_t lo, int64_t hi);
/// Unsigned variant (etcd lease IDs are int64 on the wire but we keep them as text anyway).
Result<uint64_t> parse_decimal_u64(std::string_view text, std::string_view what);

/// Appends JSON to a ByteBuffer. Strings are escaped; keys are our own constants. Callers check
/// out.overflowed() once at the end (a write past bytes_max leaves the buffer incomplete).
class JsonWriter {
  public:
    explicit JsonWriter(ByteBuffer& out) : out_(out) {}
    JsonWriter& begin_object();
    JsonWriter& end_object();
    JsonWriter& begin_array();
    JsonWriter& end_array();
    /// Writes "key": (with a comma before it when needed).
    JsonWriter& key(std::string_view k);
    JsonWriter& string(std::string_view s);
    JsonWriter& boolean(bool b);
    JsonWriter& number(int64_t v);
    /// An int64 as a JSON string ("123"), as cmtjson and etcd write them.
    JsonWriter& number_string(int64_t v);
    JsonWriter& unsigned_string(uint64_t v);
    /// Already-valid JSON text, inserted as a value.
    JsonWriter& raw(std::string_view json);
    ByteBuffer& out() { return out_; }

  private:
    void comma();
    ByteBuffer& out_;
    bool need_comma_ = false;
};

/// Appends `s` as a quoted, escaped JSON string.
void json_append_string(ByteBuffer& out, std::string_view s);

}  // namespace em::validator
