// Helpers for request targets (RFC 9112 §3.2, RFC 3986 §2.1): percent-decoding a path segment
// such as the NAME of the admin API's DELETE /nodes/NAME.
//
// Any thread; pure functions, no allocation (the caller provides the output bytes).
#pragma once

#include <span>
#include <string_view>

#include "base/result.h"

namespace em::http {

/// Decodes the percent escapes of one path segment into out and returns the decoded bytes (a
/// view into out). Strict: every '%' must start an escape of exactly two hex digits (either
/// case); "%zz", "%4" and a trailing "%" are errors (Errc::invalid_input) naming the offset.
/// Other bytes are copied unchanged ('+' stays '+': that is form encoding, not a path's). A
/// result longer than out is Errc::too_large.
Result<std::string_view> percent_decode(std::string_view segment, std::span<char> out);

}  // namespace em::http
