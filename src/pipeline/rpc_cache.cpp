#include "pipeline/rpc_cache.h"

#include <simdjson.h>

#include "base/hex.h"

namespace em::pipeline::rpc {

namespace {

simdjson::dom::parser& json_parser() {
    static thread_local simdjson::dom::parser parser;
    return parser;
}

/// A block parameter: a number, a tag, or an EIP-1898 object. Reusable when it names a hash,
/// the genesis ("earliest") or a number at or below `finalized`.
bool block_is_final(simdjson::dom::element block, int64_t finalized) {
    std::string_view text;
    if (block.get_string().get(text) == simdjson::SUCCESS) {
        if (text == "earliest") return true;
        auto number = parse_quantity(text);  // tags ("latest", ...) are no quantity: never
        return number && finalized >= 0 && *number <= static_cast<uint64_t>(finalized);
    }
    simdjson::dom::object object;
    if (block.get_object().get(object) != simdjson::SUCCESS) return false;
    std::string_view hash;
    if (object["blockHash"].get_string().get(hash) == simdjson::SUCCESS)
        return hash.size() == 66 && data_bytes(hash).has_value();
    simdjson::dom::element number;
    if (object["blockNumber"].get(number) == simdjson::SUCCESS)
        return block_is_final(number, finalized);
    return false;
}

/// params[position] is a final block (absent: "latest", never).
bool param_final(simdjson::dom::array params, size_t position, int64_t finalized) {
    simdjson::dom::element block;
    if (params.at(position).get(block) != simdjson::SUCCESS) return false;
    return block_is_final(block, finalized);
}

bool logs_final(simdjson::dom::array params, int64_t finalized) {
    simdjson::dom::object filter;
    if (params.at(0).get_object().get(filter) != simdjson::SUCCESS) return false;
    std::string_view hash;
    if (filter["blockHash"].get_string().get(hash) == simdjson::SUCCESS)
        return hash.size() == 66 && data_bytes(hash).has_value();
    simdjson::dom::element from, to;  // a missing end means "latest"
    if (filter["fromBlock"].get(from) != simdjson::SUCCESS ||
        filter["toBlock"].get(to) != simdjson::SUCCESS)
        return false;
    return block_is_final(from, finalized) && block_is_final(to, finalized);
}

struct Rule {
    std::string_view method;
    enum Kind : uint8_t { constant, by_hash, block_at, logs, by_tx_hash } kind;
    uint8_t position = 0;  ///< block_at: index of the block parameter
};

constexpr Rule rules[] = {
    {"eth_chainId", Rule::constant},
    {"net_version", Rule::constant},
    {"eth_getBlockByHash", Rule::by_hash},
    {"eth_getBlockTransactionCountByHash", Rule::by_hash},
    {"eth_getTransactionByBlockHashAndIndex", Rule::by_hash},
    {"eth_getUncleCountByBlockHash", Rule::by_hash},
    {"eth_getUncleByBlockHashAndIndex", Rule::by_hash},
    {"eth_getBlockByNumber", Rule::block_at, 0},
    {"eth_getBlockTransactionCountByNumber", Rule::block_at, 0},
    {"eth_getTransactionByBlockNumberAndIndex", Rule::block_at, 0},
    {"eth_getUncleCountByBlockNumber", Rule::block_at, 0},
    {"eth_getUncleByBlockNumberAndIndex", Rule::block_at, 0},
    {"eth_getBlockReceipts", Rule::block_at, 0},
    {"eth_getBalance", Rule::block_at, 1},
    {"eth_getCode", Rule::block_at, 1},
    {"eth_getTransactionCount", Rule::block_at, 1},
    {"eth_call", Rule::block_at, 1},
    {"eth_getStorageAt", Rule::block_at, 2},
    {"eth_getProof", Rule::block_at, 2},
    {"eth_getLogs", Rule::logs},
    {"eth_getTransactionByHash", Rule::by_tx_hash},
    {"eth_getTransactionReceipt", Rule::by_tx_hash},
};

}  // namespace

Reuse classify(std::string_view method, std::string_view params, int64_t finalized) {
    const Rule* rule = nullptr;
    for (const Rule& r : rules)
        if (r.method == method) rule = &r;
    if (!rule) return Reuse::never;
    if (rule->kind == Rule::constant) return Reuse::immutable;
    if (params.empty()) return Reuse::never;
    simdjson::dom::element doc;
    simdjson::dom::array array;
    if (json_parser().parse(params.data(), params.size()).get(doc) != simdjson::SUCCESS ||
        doc.get_array().get(array) != simdjson::SUCCESS)
        return Reuse::never;
    switch (rule->kind) {
        case Rule::by_hash:
            return Reuse::immutable;
        case Rule::block_at:
            // eth_getBlockReceipts and EIP-1898 take a hash in the block position too.
            return param_final(array, rule->position, finalized) ? Reuse::immutable : Reuse::never;
        case Rule::logs:
            return logs_final(array, finalized) ? Reuse::immutable : Reuse::never;
        case Rule::by_tx_hash:
            return finalized >= 0 ? Reuse::if_answer_final : Reuse::never;
        case Rule::constant:
            break;
    }
    return Reuse::never;
}

bool answer_final(std::string_view result, int64_t finalized) {
    if (finalized < 0) return false;
    simdjson::dom::element doc;
    simdjson::dom::object object;
    std::string_view number;
    if (json_parser().parse(result.data(), result.size()).get(doc) != simdjson::SUCCESS ||
        doc.get_object().get(object) != simdjson::SUCCESS ||
        object["blockNumber"].get_string().get(number) != simdjson::SUCCESS)
        return false;
    auto n = parse_quantity(number);
    return n && *n <= static_cast<uint64_t>(finalized);
}

bool cache_key(std::string_view method, std::string_view params, std::string& key) {
    key.assign(method);
    key.push_back('\0');
    if (params.empty()) return true;
    size_t start = key.size();
    key.resize(start + params.size());
    size_t written = 0;
    if (simdjson::minify(params.data(), params.size(), key.data() + start, written) !=
        simdjson::SUCCESS)
        return false;
    key.resize(start + written);
    // minify() does not validate: a key is only made of valid JSON.
    simdjson::dom::element doc;
    return json_parser().parse(params.data(), params.size()).get(doc) == simdjson::SUCCESS;
}

AnswerCache::AnswerCache(size_t bytes_max) : stripe_bytes_max_(bytes_max / stripes) {}

bool AnswerCache::lookup(std::string_view key, ByteBuffer& out) {
    Stripe& s = stripe_of(key);
    std::lock_guard lock(s.mutex);
    auto found = s.index.find(key);
    if (found == s.index.end()) {
        s.misses++;
        return false;
    }
    s.lru.splice(s.lru.begin(), s.lru, found->second);
    s.hits++;
    out.append(found->second->result);
    return true;
}

void AnswerCache::insert(std::string_view key, std::string_view result) {
    size_t bytes = key.size() + result.size();
    if (bytes > stripe_bytes_max_) return;
    Stripe& s = stripe_of(key);
    std::lock_guard lock(s.mutex);
    if (auto found = s.index.find(key); found != s.index.end()) {
        auto entry = found->second;
        s.index.erase(found);
        s.bytes -= entry->bytes();
        s.lru.erase(entry);
    }
    while (!s.lru.empty() && s.bytes + bytes > stripe_bytes_max_) {
        s.bytes -= s.lru.back().bytes();
        s.index.erase(s.lru.back().key);
        s.lru.pop_back();
        s.evictions++;
    }
    s.lru.push_front(Entry{std::string(key), std::string(result)});
    s.index.emplace(s.lru.front().key, s.lru.begin());
    s.bytes += bytes;
    s.inserts++;
}

CacheStats AnswerCache::stats() const {
    CacheStats out;
    for (const Stripe& s : stripes_) {
        std::lock_guard lock(s.mutex);
        out.hits += s.hits;
        out.misses += s.misses;
        out.inserts += s.inserts;
        out.evictions += s.evictions;
        out.bytes += s.bytes;
        out.entries += s.lru.size();
    }
    return out;
}

}  // namespace em::pipeline::rpc
