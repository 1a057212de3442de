// A strict reader for the small JSON objects inside a JWT (header and claims): RFC 8259 grammar,
// UTF-8 checked, escapes decoded, nesting bounded. It walks the top-level members one by one;
// nested values are validated and skipped. Internal to src/http (jwt.cpp, tests, fuzzer).
//
// Any thread; one reader per object, over caller memory. Decoded keys and string values are
// written to the caller's scratch buffer (at most the input's size is needed); no allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/result.h"

namespace em::http::detail {

enum class JsonKind : uint8_t { string, number, boolean, null, object, array };

/// One top-level member of the object.
struct JsonMember {
    std::string_view key;  ///< decoded (escapes resolved), in the scratch buffer
    JsonKind kind = JsonKind::null;
    std::string_view raw;   ///< the value's JSON text
    std::string_view text;  ///< for strings: the decoded value, in the scratch buffer
};

class JsonObjectReader {
  public:
    static constexpr int depth_max = 16;  ///< nesting of arrays/objects inside a value

    /// Reads `json`, which must hold exactly one object (whitespace around it allowed).
    JsonObjectReader(std::string_view json, char* scratch, size_t scratch_bytes)
        : p_(json.data()),
          begin_(json.data()),
          end_(json.data() + json.size()),
          scratch_(scratch),
          scratch_left_(scratch_bytes) {}

    /// The next member: true with `m` filled, false after the closing brace (and nothing but
    /// whitespace after it), or an error naming the offset of the first bad byte.
    [[nodiscard]] Result<bool> next(JsonMember& m);

  private:
    void skip_ws();
    Result<void> expect(char c);
    Result<void> string(std::string_view* decoded);
    Result<void> escape(char*& out);
    Result<void> utf8(char*& out);
    Result<void> number();
    Result<void> literal(std::string_view word);
    Result<JsonKind> value(int depth, std::string_view* decoded);
    Result<void> container(char close, int depth);
    Unexpected error(const char* what) const;

    const char* p_;
    const char* begin_;
    const char* end_;
    char* scratch_;
    size_t scratch_left_;
    bool started_ = false;
    bool done_ = false;
};

/// Whole seconds of a JSON number (a NumericDate): an optional fraction is truncated; exponents
/// and values beyond ±10^15 are rejected.
[[nodiscard]] Result<int64_t> json_seconds(std::string_view raw);

}  // namespace em::http::detail
