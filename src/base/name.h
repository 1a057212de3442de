// The one rule for names an operator gives to things enginemux reports on: nodes (`#name=`,
// [[nodes]] name, POST /nodes) and the validator guard's hosts. Such names end up in log lines,
// Prometheus label values, JSON and URL paths (DELETE /nodes/NAME), so they are restricted to
// characters that need no escaping in any of them: [A-Za-z0-9._-], 1..name_chars_max.
//
// Any thread; pure functions, no allocation.
#pragma once

#include <cstddef>
#include <string_view>

#include "base/result.h"

namespace em {

/// Longest name, in characters (bytes: every allowed character is ASCII).
inline constexpr size_t name_chars_max = 63;

/// True for the characters a name may use: A-Z a-z 0-9 . _ -
constexpr bool name_char_allowed(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

/// Checks a name against the rule. The error (Errc::invalid_input) names the first offending
/// character and its offset, a printable one quoted and others in hex ("character 0x0a at
/// offset 2 is not allowed in a name ..."), or the length; it never repeats the name itself,
/// which may hold a line break. Callers prefix it with where the name came from.
Result<void> check_name(std::string_view name);

}  // namespace em
