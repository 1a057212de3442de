// The logic of `enginemux blockhash [FILE|-]` as a pure function (the app reads the file or
// stdin into a padded buffer, calls blockhash_tool() and writes `out` to stdout, `err` to stderr).
//
// Any thread; allocates only inside the BlockHashVerifier it creates (one per call).
// Input: one JSON-RPC engine_newPayloadV1..V5 request object, or a JSON array of them.
// Output: one line per request, `<id> <computed-hash> match|mismatch`, the id bare as written in
// the request (string ids without their quotes), the hash as 0x + 64 lowercase hex digits.
// A request that cannot be decoded gets no output line but a line in `err` naming its index and
// the problem ("request 3 (id 7): params[0].gasUsed: leading zero digit in quantity"); the
// remaining requests are still checked unless the JSON itself is broken.
#pragma once

#include <simdjson.h>

#include "base/buffer.h"
#include "eth/verify.h"

namespace em::eth {

inline constexpr int blockhash_exit_all_match = 0;
inline constexpr int blockhash_exit_mismatch = 1;
inline constexpr int blockhash_exit_bad_input = 2;

/// Runs the subcommand over `input`. Returns 0 when every request matches, 1 when any block
/// hash mismatches (and no input was bad), 2 on bad input (err says which request and why).
int blockhash_tool(simdjson::padded_string_view input, ByteBuffer& out, ByteBuffer& err,
                   const VerifierConfig& config = {});

}  // namespace em::eth
