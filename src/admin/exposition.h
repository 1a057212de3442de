// Label sets for /metrics in the Prometheus text exposition format (version 0.0.4), with label
// values escaped as the format says: backslash, double quote and line feed become \\, \" and \n.
// Every label value that is not a literal in the code (node names, and the method, reason and
// status names of fixed tables) goes through here, so a value can never end a label early or
// start a forged line. Method labels come only from the known method table ("other" for the
// rest): a method name sent by a client never becomes a label.
//
// Any thread; a LabelSet is a stack value (no allocation).
#pragma once

#include <cstddef>
#include <string_view>

#include "base/buffer.h"

namespace em::admin {

/// Appends printf-formatted text to `out`, whole however long it is (a help text, a long label
/// set): formatted in place in the buffer, never through a fixed-size line.
void appendf(ByteBuffer& out, const char* format, ...) __attribute__((format(printf, 2, 3)));

/// `name="value",name="value"` for one sample, built on the stack.
class LabelSet {
  public:
    /// Room for the escaped pairs: node names (63 chars, base/name.h), method names, states.
    static constexpr size_t bytes_max = 480;

    /// Appends name="value" (after a comma if not the first pair), the value escaped. A pair
    /// that does not fit is dropped whole and ok() turns false: never a torn escape.
    LabelSet& add(std::string_view name, std::string_view value);
    /// The pairs, without braces ("" when none).
    std::string_view text() const { return {text_, size_}; }
    /// False once a pair was dropped for lack of room.
    bool ok() const { return ok_; }

  private:
    char text_[bytes_max];
    size_t size_ = 0;
    bool ok_ = true;
};

/// Bytes of value once escaped as a label value.
size_t escaped_label_value_bytes(std::string_view value);

}  // namespace em::admin
