// Whether two JSON texts are the same value, as the rpc role's `agree` compares the answers of
// different execution clients (issue 16 item 7): equal bytes are equal at once; otherwise both
// are parsed and compared as values, so the order of an object's members and insignificant
// whitespace do not count as a disagreement (clients write the same block's fields in different
// orders), while every string, number, array element and member present in one and not the
// other does. Strings compare as written (hex quantities and hashes are lowercase in every
// client's answers; "0xA" and "0xa" are a difference worth a look). Numbers compare by value.
//
// Any thread; the caller owns the parser (reused: allocation only when a text is larger than
// any before it). Depth is bounded by the parser (simdjson's default 1024).
#pragma once

#include <simdjson.h>

#include <string>
#include <string_view>

namespace em::jsonrpc {

struct JsonDifference {
    bool equal = true;
    /// Where they first differ ("result.transactions[3].gas"), or what could not be parsed.
    std::string where;
};

/// Compares JSON texts a and b (each a complete value). A text that does not parse is unequal
/// to anything but its own bytes.
JsonDifference json_equal(simdjson::dom::parser& parser_a, simdjson::dom::parser& parser_b,
                          std::string_view a, std::string_view b);

}  // namespace em::jsonrpc
