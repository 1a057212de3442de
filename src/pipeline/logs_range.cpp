#include "pipeline/logs_range.h"

#include <simdjson.h>

#include <cstdio>

#include "base/hex.h"
#include "jsonrpc/writer.h"

namespace em::pipeline::rpc {

namespace {

simdjson::dom::parser& json_parser() {
    static thread_local simdjson::dom::parser parser;
    return parser;
}

/// One end of a range: a number, or a tag that needs the head.
struct End {
    bool ok = false;      ///< a block reference we understand
    bool tag = false;     ///< latest/safe/finalized/pending: the head
    uint64_t number = 0;  ///< !tag
    std::string_view text;
};

/// The filter object, params[0] (false when params is not `[{...}, ...]`). Valid until the next
/// parse with json_parser().
bool filter_of(std::string_view params, simdjson::dom::object& filter) {
    simdjson::dom::element doc;
    simdjson::dom::array array;
    return !params.empty() &&
           json_parser().parse(params.data(), params.size()).get(doc) == simdjson::SUCCESS &&
           doc.get_array().get(array) == simdjson::SUCCESS &&
           array.at(0).get_object().get(filter) == simdjson::SUCCESS;
}

End end_of(simdjson::dom::object filter, const char* key) {
    End e;
    simdjson::dom::element value;
    if (filter[key].get(value) != simdjson::SUCCESS || value.is_null()) {
        e.ok = e.tag = true;  // absent: "latest"
        e.text = "latest";
        return e;
    }
    if (value.get_string().get(e.text) != simdjson::SUCCESS) return e;
    if (e.text == "latest" || e.text == "safe" || e.text == "finalized" || e.text == "pending") {
        e.ok = e.tag = true;
    } else if (e.text == "earliest") {
        e.ok = true;
    } else if (auto n = parse_quantity(e.text)) {
        e.ok = true;
        e.number = *n;
    }
    return e;
}

}  // namespace

LogsSpan logs_span(std::string_view params, int64_t head) {
    LogsSpan span;
    simdjson::dom::object filter;
    simdjson::dom::element hash;
    if (!filter_of(params, filter) || filter["blockHash"].get(hash) == simdjson::SUCCESS)
        return span;
    End from = end_of(filter, "fromBlock");
    End to = end_of(filter, "toBlock");
    if (!from.ok || !to.ok) return span;
    if (from.tag && to.tag && from.text == to.text) {
        span.kind = LogsSpan::Kind::known;  // one block, whichever the head is
        return span;
    }
    if ((from.tag || to.tag) && head < 0) {
        span.kind = LogsSpan::Kind::unknown;
        return span;
    }
    span.from = from.tag ? static_cast<uint64_t>(head) : from.number;
    span.to = to.tag ? static_cast<uint64_t>(head) : to.number;
    span.kind = span.from <= span.to ? LogsSpan::Kind::known : LogsSpan::Kind::not_a_range;
    return span;
}

void split_range(uint64_t from, uint64_t to, uint64_t max, std::vector<BlockRange>& out) {
    out.clear();
    if (max == 0 || from > to) return;
    for (uint64_t start = from;;) {
        uint64_t end = to - start < max ? to : start + max - 1;
        out.push_back({start, end});
        if (end == to) break;
        start = end + 1;
    }
}

std::vector<BlockRange> split_range(uint64_t from, uint64_t to, uint64_t max) {
    std::vector<BlockRange> pieces;
    split_range(from, to, max, pieces);
    return pieces;
}

LogsEnds resolve_logs_ends(std::string_view params, KnownBlocks known) {
    LogsEnds r;
    simdjson::dom::object filter;
    if (!filter_of(params, filter)) {
        r.why = "the filter is not an object";
        return r;
    }
    const End ends[2] = {end_of(filter, "fromBlock"), end_of(filter, "toBlock")};
    uint64_t numbers[2] = {};
    for (int k = 0; k < 2; k++) {
        const End& e = ends[k];
        if (!e.ok) {
            r.why = "a block number is not a QUANTITY or a tag";
            return r;
        }
        int64_t block = e.tag ? -1 : static_cast<int64_t>(e.number);
        if (!e.tag) {
            numbers[k] = e.number;
            continue;
        }
        if (e.text == "latest") {
            block = known.latest;
            r.why = "no head is known yet";
        } else if (e.text == "finalized") {
            block = known.finalized;
            r.why = "no finalized block is known yet";
        } else {
            r.why = e.text == "safe" ? "\"safe\" is not resolved here (no node's safe block is "
                                       "known)"
                                     : "\"pending\" is not resolved here (pending logs live on "
                                       "one node)";
            return r;
        }
        if (block < 0) return r;
        numbers[k] = static_cast<uint64_t>(block);
    }
    r = LogsEnds{.ok = true, .from = numbers[0], .to = numbers[1], .why = {}};
    return r;
}

bool logs_filter_rest(std::string_view params, ByteBuffer& out) {
    out.clear();
    simdjson::dom::object filter;
    if (!filter_of(params, filter)) return false;
    bool first = true;
    for (simdjson::dom::key_value_pair member : filter) {
        if (member.key == "fromBlock" || member.key == "toBlock") continue;
        if (!first) out.push_back(',');
        first = false;
        jsonrpc::write_json_string(out, member.key);
        out.push_back(':');
        out.append(simdjson::minify(member.value));
    }
    return !out.overflowed();
}

bool write_logs_piece(ByteBuffer& out, uint64_t id, BlockRange range, std::string_view rest) {
    out.clear();
    out.append(R"({"jsonrpc":"2.0","id":)");
    out.append_u64(id);
    out.append(R"(,"method":"eth_getLogs","params":[{"fromBlock":")");
    append_quantity(out, range.from);
    out.append(R"(","toBlock":")");
    append_quantity(out, range.to);
    out.push_back('"');
    if (!rest.empty()) {
        out.push_back(',');
        out.append(rest);
    }
    out.append("}]}");
    return !out.overflowed();
}

namespace {

std::string_view trim(std::string_view s) {
    auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
    while (!s.empty() && space(s.front())) s.remove_prefix(1);
    while (!s.empty() && space(s.back())) s.remove_suffix(1);
    return s;
}

/// Why a piece's result is not an array of logs of its range in block order ("" when it is).
const char* piece_problem(const LogsPiece& piece, uint64_t* bad_block) {
    simdjson::dom::element doc;
    simdjson::dom::array array;
    if (json_parser().parse(piece.result.data(), piece.result.size(), false).get(doc) !=
            simdjson::SUCCESS ||
        doc.get_array().get(array) != simdjson::SUCCESS)
        return "the answer is not a JSON array";
    uint64_t last = piece.range.from;
    for (simdjson::dom::element e : array) {
        std::string_view text;
        if (e["blockNumber"].get_string().get(text) != simdjson::SUCCESS)
            return "a log has no blockNumber";
        auto block = parse_quantity(text);
        if (!block) return "a log's blockNumber is not a QUANTITY";
        if (*block < piece.range.from || *block > piece.range.to || *block < last)
            *bad_block = *block;
        if (*block < piece.range.from || *block > piece.range.to)
            return "a log is outside the piece's range";
        if (*block < last) return "the logs are not in block order";
        last = *block;
    }
    return "";
}

}  // namespace

Result<void> merge_logs(std::span<const LogsPiece> pieces, ByteBuffer& out) {
    out.clear();
    out.push_back('[');
    bool first = true;
    for (const LogsPiece& piece : pieces) {
        uint64_t block = UINT64_MAX;
        const char* problem = piece_problem(piece, &block);
        char at[40] = "";
        if (block != UINT64_MAX)
            std::snprintf(at, sizeof at, " (block %llu)", static_cast<unsigned long long>(block));
        if (*problem)
            return Unexpected(Error::fmt(Errc::invalid_input, "blocks %llu..%llu: %s%s",
                                         static_cast<unsigned long long>(piece.range.from),
                                         static_cast<unsigned long long>(piece.range.to), problem,
                                         at));
        std::string_view inner = trim(trim(piece.result).substr(1));
        inner.remove_suffix(1);  // the ']' (an array: parsed above)
        inner = trim(inner);
        if (inner.empty()) continue;
        if (!first) out.push_back(',');
        first = false;
        out.append(inner);
    }
    out.push_back(']');
    if (out.overflowed())
        return Unexpected(Error::fmt(Errc::too_large,
                                     "the merged answer is over this endpoint's limit of %zu bytes",
                                     out.bytes_max()));
    return {};
}

}  // namespace em::pipeline::rpc
