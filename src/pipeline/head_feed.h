// The newHeads feed's pure parts (issue 17 item 4): what a head is (number, hash, parentHash),
// the recent heads already delivered to clients, and the gap plan that keeps a feed gap-free and
// duplicate-free across a failover: given what was delivered and the next head an upstream feed
// sends, deliver it, drop it (already delivered), or first fetch the numbers in between with
// eth_getBlockByNumber. A block fetched that way is cut to the newHeads shape (block_as_head).
//
// Threads: any; pure functions and plain values (the parsers use a thread-local simdjson
// parser). Memory: DeliveredHeads is a fixed ring; block_as_head writes into the caller's string.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace em::pipeline::subs {

using Hash = std::array<uint8_t, 32>;

/// What identifies a head and links it to its parent.
struct HeadId {
    uint64_t number = 0;
    Hash hash{};
    Hash parent{};
};

/// number, hash and parentHash of a header (a newHeads result) or a block object. Errors name
/// the member that is missing or malformed.
[[nodiscard]] Result<HeadId> parse_head_id(std::string_view json);

/// A block object (eth_getBlockByNumber's result, with or without full transactions) in the
/// newHeads notification's shape: the same members with the EL's bytes, in the EL's order, less
/// the members that are not header fields (transactions, uncles, size, totalDifficulty,
/// withdrawals). Errors: not a JSON object. `out` is replaced.
[[nodiscard]] Result<void> block_as_head(std::string_view block, std::string& out);

/// The last heads delivered to clients (number and hash), newest last; a fixed ring.
class DeliveredHeads {
  public:
    static constexpr size_t capacity = 128;
    void push(uint64_t number, const Hash& hash);
    /// True if (number, hash) is among the remembered heads.
    [[nodiscard]] bool seen(uint64_t number, const Hash& hash) const;
    [[nodiscard]] bool empty() const { return count_ == 0; }
    /// The newest delivered head's number (only when !empty()).
    [[nodiscard]] uint64_t last_number() const;
    void clear() { count_ = 0; }

  private:
    struct Entry {
        uint64_t number = 0;
        Hash hash{};
    };
    std::array<Entry, capacity> ring_{};
    size_t next_ = 0;
    size_t count_ = 0;
};

/// What to do with the next head a feed sends.
struct GapPlan {
    enum class Kind : uint8_t {
        deliver,  ///< the next number, the first head, or a reorg (a head not seen): pass it on
        drop,     ///< already delivered (same number and hash)
        fill,     ///< fetch [fetch_from, fetch_to] in order, deliver them, then this head
    };
    Kind kind = Kind::deliver;
    uint64_t fetch_from = 0;
    uint64_t fetch_to = 0;
    /// Numbers left out because the gap was wider than gap_blocks_max (not fetched; counted).
    uint64_t skipped = 0;
};

/// The plan for `next` after `delivered`. A number at or below the last delivered one is a
/// duplicate when its hash was delivered, else a reorg, which is passed on as the EL sent it; a
/// number more than one past the last is a gap: the missing numbers are fetched (the last
/// gap_blocks_max of them at most, gap_blocks_max >= 1).
[[nodiscard]] GapPlan plan_gap(const DeliveredHeads& delivered, const HeadId& next,
                               uint64_t gap_blocks_max);

}  // namespace em::pipeline::subs
