// eth_getLogs block ranges for the rpc role (issue 16 item 6, [rpc] max_logs_block_range): how
// wide a filter's fromBlock..toBlock is, how a wide one is cut into sub-ranges, and how the
// sub-ranges' answers are merged back into one.
//
//  - logs_span: the filter's numeric span. fromBlock and toBlock default to "latest"; a tag
//    (latest, safe, finalized, pending) is the head the caller knows (unknown head: the span
//    is unknown, unless both ends are the same tag: one block), "earliest" is 0. A blockHash
//    filter, a malformed filter and from > to are not ours to judge (the EL answers them).
//  - split_range: [from, to] in consecutive pieces of at most `max` blocks, in order.
//  - merge_logs: the sub-ranges' results (JSON arrays of log objects, in range order) as one
//    array ordered by blockNumber, then logIndex; each log's bytes kept as the node sent them.
//
// Threads: any; pure functions (merge_logs parses with a thread-local simdjson parser).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "base/buffer.h"
#include "base/result.h"

namespace em::pipeline::rpc {

struct LogsSpan {
    enum class Kind : uint8_t {
        not_a_range,  ///< blockHash, malformed, or from > to: the EL judges it
        known,        ///< from..to are numbers
        unknown,      ///< a tag needs the head, which is not known
    };
    Kind kind = Kind::not_a_range;
    uint64_t from = 0;
    uint64_t to = 0;
    /// Blocks in the range (known only).
    [[nodiscard]] uint64_t blocks() const { return to - from + 1; }
};

/// The span of eth_getLogs' params ([filter]); `head`: the highest head known (-1 unknown).
[[nodiscard]] LogsSpan logs_span(std::string_view params, int64_t head);

struct BlockRange {
    uint64_t from = 0;
    uint64_t to = 0;
};
/// [from, to] cut into pieces of at most `max` blocks (max >= 1), in order.
[[nodiscard]] std::vector<BlockRange> split_range(uint64_t from, uint64_t to, uint64_t max);

/// The results (each a JSON array of log objects) as one array into `out`, ordered by
/// blockNumber then logIndex (a stable order: equal keys keep their input order). An error
/// names the piece that is not an array of logs with those two QUANTITY fields.
[[nodiscard]] Result<void> merge_logs(std::span<const std::string_view> results, ByteBuffer& out);

}  // namespace em::pipeline::rpc
