#include "pipeline/logs_range.h"

#include <simdjson.h>

#include <algorithm>
#include <string>

#include "base/hex.h"

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
    simdjson::dom::element doc;
    simdjson::dom::array array;
    simdjson::dom::object filter;
    simdjson::dom::element hash;
    if (params.empty() ||
        json_parser().parse(params.data(), params.size()).get(doc) != simdjson::SUCCESS ||
        doc.get_array().get(array) != simdjson::SUCCESS ||
        array.at(0).get_object().get(filter) != simdjson::SUCCESS ||
        filter["blockHash"].get(hash) == simdjson::SUCCESS)
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

std::vector<BlockRange> split_range(uint64_t from, uint64_t to, uint64_t max) {
    std::vector<BlockRange> pieces;
    if (max == 0 || from > to) return pieces;
    for (uint64_t start = from;;) {
        uint64_t end = to - start < max ? to : start + max - 1;
        pieces.push_back({start, end});
        if (end == to) break;
        start = end + 1;
    }
    return pieces;
}

Result<void> merge_logs(std::span<const std::string_view> results, ByteBuffer& out) {
    struct Log {
        uint64_t block;
        uint64_t index;
        std::string bytes;  ///< the log object, minified
    };
    std::vector<Log> logs;
    std::string copy;  // simdjson wants padding past the bytes: each piece is copied once
    for (size_t p = 0; p < results.size(); p++) {
        copy.assign(results[p]);
        simdjson::dom::element doc;
        simdjson::dom::array array;
        if (json_parser().parse(copy).get(doc) != simdjson::SUCCESS ||
            doc.get_array().get(array) != simdjson::SUCCESS)
            return Unexpected(
                Error::fmt(Errc::invalid_input, "eth_getLogs piece %zu is not a JSON array", p));
        for (simdjson::dom::element e : array) {
            simdjson::dom::object log;
            std::string_view block, index;
            if (e.get_object().get(log) != simdjson::SUCCESS ||
                log["blockNumber"].get_string().get(block) != simdjson::SUCCESS ||
                log["logIndex"].get_string().get(index) != simdjson::SUCCESS)
                return Unexpected(Error::fmt(
                    Errc::invalid_input,
                    "eth_getLogs piece %zu has a log without blockNumber and logIndex", p));
            auto b = parse_quantity(block);
            auto i = parse_quantity(index);
            if (!b || !i)
                return Unexpected(Error::fmt(
                    Errc::invalid_input,
                    "eth_getLogs piece %zu: a log's blockNumber or logIndex is not a QUANTITY", p));
            logs.push_back({*b, *i, simdjson::minify(e)});
        }
    }
    std::stable_sort(logs.begin(), logs.end(), [](const Log& a, const Log& b) {
        return a.block != b.block ? a.block < b.block : a.index < b.index;
    });
    out.clear();
    out.push_back('[');
    for (size_t k = 0; k < logs.size(); k++) {
        if (k) out.push_back(',');
        out.append(logs[k].bytes);
    }
    out.push_back(']');
    if (out.overflowed())
        return fail(Errc::too_large, "the merged eth_getLogs answer is over the buffer's limit");
    return {};
}

}  // namespace em::pipeline::rpc
