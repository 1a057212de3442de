// eth_getLogs block ranges for the rpc role (issue 16 item 6, [rpc] max_logs_block_range): how
// wide a filter's fromBlock..toBlock is, how a wide one is cut into sub-ranges, and how the
// sub-ranges' answers are merged back into one.
//
//  - logs_span: the filter's numeric span, to judge its width. fromBlock and toBlock default to
//    "latest"; a tag (latest, safe, finalized, pending) is the head the caller knows (unknown
//    head: the span is unknown, unless both ends are the same tag: one block), "earliest" is 0.
//    A blockHash filter, a malformed filter and from > to are not ours to judge (the EL answers
//    them).
//  - resolve_logs_ends: the ends of a range to split, as the numbers the pieces are sent with:
//    "latest" (or absent) is the highest head known, "finalized" the finalized block the caller
//    trusts, "earliest" 0; "safe" and "pending" are not resolved (no node's safe block is known
//    here; pending logs live on one node), nor a tag whose block is not known.
//  - split_range: [from, to] in consecutive pieces of at most `max` blocks, in order.
//  - logs_filter_rest / write_logs_piece: a piece's request, the client's filter with the
//    piece's numbers in place of its ends (the other members minified, in the client's order).
//  - merge_logs: the pieces' results (JSON arrays of log objects, in range order) as one array:
//    each piece's logs must lie in its range in block order, so the array is the pieces'
//    contents one after the other, each log's bytes as the node sent them.
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
/// The same into `out` (cleared first; its capacity reused).
void split_range(uint64_t from, uint64_t to, uint64_t max, std::vector<BlockRange>& out);

/// What the tags of a range to split stand for (-1: not known).
struct KnownBlocks {
    int64_t latest = -1;     ///< the highest head known
    int64_t finalized = -1;  ///< the finalized block the caller trusts
};

/// A range's ends as numbers, or why they are not.
struct LogsEnds {
    bool ok = false;
    uint64_t from = 0;
    uint64_t to = 0;
    std::string_view why;  ///< !ok: what could not be resolved (static text)
};
/// The ends of eth_getLogs' params ([filter]) for splitting (see the file comment).
[[nodiscard]] LogsEnds resolve_logs_ends(std::string_view params, KnownBlocks known);

/// The filter's members but fromBlock and toBlock, minified and comma-separated, into `out`
/// (empty for none). False when params is not [filter object] or `out` is too small.
[[nodiscard]] bool logs_filter_rest(std::string_view params, ByteBuffer& out);

/// A piece's JSON-RPC request into `out`: id `id`, eth_getLogs of [{"fromBlock":"0x..",
/// "toBlock":"0x.."} with `rest` (logs_filter_rest) after them]. False when `out` is too small.
[[nodiscard]] bool write_logs_piece(ByteBuffer& out, uint64_t id, BlockRange range,
                                    std::string_view rest);

/// One piece's answer: its range and its result (a JSON array of log objects, followed by at
/// least 64 readable bytes: it is parsed in place).
struct LogsPiece {
    BlockRange range;
    std::string_view result;
};

/// The pieces' results (in range order) as one array into `out`, each log's bytes as its node
/// sent them. An error names the range of the first piece that is not an array of logs within
/// its range in block order (blockNumber a QUANTITY), or says the answer is over out's limit.
[[nodiscard]] Result<void> merge_logs(std::span<const LogsPiece> pieces, ByteBuffer& out);

}  // namespace em::pipeline::rpc
