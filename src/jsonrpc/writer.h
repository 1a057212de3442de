// JSON-RPC 2.0 writers: results, error objects, batches and JSON strings, appended to a ByteBuffer.
//
// Any thread, on a buffer that thread owns. No allocation once the buffer has grown to its
// working size. Each function returns false when the buffer refused to grow past its bytes_max
// (out.overflowed() then stays set until clear()); the caller answers "too large".
//
// Ids, results and data are raw JSON texts written verbatim (they come from the parsers); an
// empty id is written as null. Strings are escaped by write_json_string: '"', '\\' and control
// characters are escaped (\b \f \n \r \t, others \u00XX); valid UTF-8 is copied as is; each byte
// that is not part of valid UTF-8 (RFC 3629: no overlongs, surrogates or > U+10FFFF) becomes the
// escape \ufffd, so the output is always valid JSON.
#pragma once

#include <string_view>

#include "base/buffer.h"

namespace em::jsonrpc {

/// Appends {"jsonrpc":"2.0","id":<id>,"result":<result_json>}.
bool write_result(ByteBuffer& out, std::string_view id, std::string_view result_json);

/// Appends
/// {"jsonrpc":"2.0","id":<id>,"error":{"code":<code>,"message":"<message>"[,"data":<data_json>]}};
/// message is escaped, data_json (raw JSON) is omitted when empty.
bool write_error(ByteBuffer& out, std::string_view id, int code, std::string_view message,
                 std::string_view data_json = {});

/// Appends {"jsonrpc":"2.0","id":<id>,"error":<error_json>}: an error object as another
/// response carried it (raw JSON, written verbatim), under a new id.
bool write_error_object(ByteBuffer& out, std::string_view id, std::string_view error_json);

/// Appends '[' (start of a batch answer).
bool begin_batch(ByteBuffer& out);
/// Appends ',' (between two batch elements).
bool batch_separator(ByteBuffer& out);
/// Appends ']' (end of a batch answer).
bool end_batch(ByteBuffer& out);

/// Appends text as a quoted, escaped JSON string (see the header comment for the rules).
bool write_json_string(ByteBuffer& out, std::string_view text);

/// The id enginemux sends a node in place of a client's numeric id that some ELs refuse, when
/// it answers under the client's own id bytes anyway (the rpc role): anvil and reth
/// (jsonrpsee: an id is a u64, a string or null) answer 1e0, -1, 0.5 or 18446744073709551617
/// with -32600 and id null, and JavaScript clients read integers past 2^53 inexactly. Not 1,
/// 2 or 3, the health probe's ids, so that an EL's log tells the two apart.
inline constexpr std::string_view upstream_id = "4";

/// True for an id some EL may refuse or misread: a number that is not a plain integer of at
/// most 15 digits (an exponent, a fraction, a sign, a leading zero, or 2^53 and beyond may be).
/// Strings and null go to nodes as they are.
bool id_needs_replacing(std::string_view id);

/// Appends `request` (a request object's raw text) with its id replaced by `with`; `id` must
/// be a view into `request` (the parser's). False, with nothing appended, when it is not.
bool write_with_id(ByteBuffer& out, std::string_view request, std::string_view id,
                   std::string_view with);

}  // namespace em::jsonrpc
