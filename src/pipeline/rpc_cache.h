// The rpc role's answer cache (issue 16), without I/O: which eth_* answers can never change
// (the rules below), and a bounded, shared store of them.
//
// An answer is reused only when no later block can change it:
//   - eth_chainId, net_version;
//   - anything addressed by block hash (eth_getBlockByHash, ...ByBlockHashAndIndex, an EIP-1898
//     {"blockHash": ...} block parameter, eth_getLogs with blockHash);
//   - anything addressed by a block number at or below the finalized block (or "earliest"):
//     blocks, their transactions and uncles, and state reads (balance, code, nonce, storage,
//     eth_call) at that block, eth_getLogs with both ends at or below it;
//   - a transaction or its receipt looked up by hash, once the block the answer names is final.
// Never: "latest", "pending", "safe", "finalized" (they move), a missing block parameter (means
// latest), filters, sends, anything unknown. A null result (not found yet) and errors are never
// stored, whatever the rule.
//
// Keys are the method and the params as the client wrote them, minified: two spellings of one
// request (whitespace) share an entry; other spellings (hex case) just miss.
//
// Threads: AnswerCache is shared by every shard: stripes, each with its own mutex, LRU list and
// byte budget; a lookup copies the answer out under its stripe's lock (off the socket path: the
// answer is written to the client after). classify() and answer_final() are pure.
#pragma once

#include <array>
#include <cstdint>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/buffer.h"

namespace em::pipeline::rpc {

enum class Reuse : uint8_t {
    never,            ///< the answer may change
    immutable,        ///< the request names one final thing: store a non-null result
    if_answer_final,  ///< store once the block the answer names is at or below finalized
};

/// The rule for `method` with `params` (raw JSON, "" = absent); `finalized`: the highest
/// finalized block number known, or -1 when none is known yet (then only what needs no
/// finality is reusable).
[[nodiscard]] Reuse classify(std::string_view method, std::string_view params, int64_t finalized);

/// For Reuse::if_answer_final: the result (raw JSON) is an object whose "blockNumber" is at or
/// below `finalized`. False for null, pending (no block) and anything malformed.
[[nodiscard]] bool answer_final(std::string_view result, int64_t finalized);

/// The cache key of a request: method, a NUL, the params minified. False when the params are
/// not valid JSON (such a request is not cached).
[[nodiscard]] bool cache_key(std::string_view method, std::string_view params, std::string& key);

struct CacheStats {
    uint64_t hits = 0, misses = 0, inserts = 0, evictions = 0, bytes = 0, entries = 0;
};

class AnswerCache {
  public:
    /// `bytes_max`: keys and answers together, over every stripe (each gets an equal share).
    explicit AnswerCache(size_t bytes_max);
    AnswerCache(const AnswerCache&) = delete;
    AnswerCache& operator=(const AnswerCache&) = delete;

    /// Appends the stored result for `key` to `out` and marks it recently used; false on a miss.
    bool lookup(std::string_view key, ByteBuffer& out);
    /// Stores (or refreshes) `result` under `key`, evicting the least recently used entries of
    /// its stripe to stay within budget. An entry larger than a stripe's budget is not stored.
    void insert(std::string_view key, std::string_view result);
    CacheStats stats() const;

  private:
    static constexpr size_t stripes = 16;
    struct Entry {
        std::string key;
        std::string result;
        size_t bytes() const { return key.size() + result.size(); }
    };
    struct Hash {
        using is_transparent = void;
        size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };
    struct Stripe {
        mutable std::mutex mutex;
        std::list<Entry> lru;  ///< most recently used first
        std::unordered_map<std::string_view, std::list<Entry>::iterator, Hash, std::equal_to<>>
            index;
        size_t bytes = 0;
        uint64_t hits = 0, misses = 0, inserts = 0, evictions = 0;
    };
    Stripe& stripe_of(std::string_view key) { return stripes_[Hash{}(key) % stripes]; }

    size_t stripe_bytes_max_;
    std::array<Stripe, stripes> stripes_;
};

}  // namespace em::pipeline::rpc
