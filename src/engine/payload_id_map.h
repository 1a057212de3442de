// PayloadIdMap: the payloadIds enginemux mints for the CL, each mapped to the payloadIds the ELs
// returned for the same forkchoiceUpdated-with-attributes call.
//
// Owned and used by one shard thread (the one that owns the engine lanes); not thread-safe. All
// memory is allocated at construction (capacity entries + an index twice that size); mint() and
// lookup() allocate nothing. Time is passed in (now_ns, monotonic): no clock is read here.
// Bounded: when full, mint() evicts the oldest entry; entries also expire `lifetime_ns` after
// they were minted (default 3 slots of 12 s). An unknown or expired id is the caller's -38001.
//
// Our ids are SipHash-2-4(key, counter): unpredictable without the 128-bit key (the proxy draws
// it from getrandom at start), deterministic for tests that pass a fixed key.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "base/result.h"
#include "engine/types.h"

namespace em::engine {

/// One EL's own payloadId for one of our ids.
struct NodePayloadId {
    /// The caller's stable node id (e.g. its index in the node table).
    uint32_t node = 0;
    PayloadId id;
};

/// SipHash-2-4 of `data` under a 128-bit key (k0 = key bytes 0..7, k1 = 8..15, little-endian).
uint64_t siphash24(const std::array<uint8_t, 16>& key, std::span<const uint8_t> data);

class PayloadIdMap {
  public:
    /// Most ELs one entry maps (every node that can build: voters and mirrors).
    static constexpr size_t nodes_per_entry_max = voters_max;
    /// Default lifetime: 3 slots of 12 s.
    static constexpr uint64_t default_lifetime_ns = 36'000'000'000ull;
    /// Largest capacity accepted (the index uses 32-bit positions).
    static constexpr size_t capacity_max = 65536;

    struct Config {
        /// Entries kept (>= 1, <= capacity_max): older ones are evicted.
        size_t capacity = 64;
        /// An entry is unknown this long after mint().
        uint64_t lifetime_ns = default_lifetime_ns;
        /// SipHash key for minting ids: random in production, fixed in tests.
        std::array<uint8_t, 16> key{};
    };

    /// Allocates everything; Errc::invalid_input names a bad capacity or lifetime.
    [[nodiscard]] static Result<std::unique_ptr<PayloadIdMap>> create(const Config& config);

    /// Mints a new id for `nodes` (1..nodes_per_entry_max ELs that returned an id; nodes that
    /// returned none are simply absent). Drops expired entries and, when full, the oldest one.
    /// Errc::invalid_input when nodes is empty or too long.
    [[nodiscard]] Result<PayloadId> mint(std::span<const NodePayloadId> nodes, uint64_t now_ns);

    /// An entry under an id we did not mint (the builder role: the local EL's own payloadId,
    /// which op-node is given), mapping it to `nodes` (0..nodes_per_entry_max: builders that
    /// answered so far; later ones come through attach()). Expires and is evicted as a minted
    /// one. An id still alive keeps its entry and lifetime (an EL answers the same attributes
    /// with the same id) and gains `nodes`. Errc::invalid_input when nodes is too long.
    [[nodiscard]] Result<void> adopt(const PayloadId& id, std::span<const NodePayloadId> nodes,
                                     uint64_t now_ns);

    /// Adds (or replaces) node.node's id in the live entry for `id`: a builder whose answer
    /// came after the entry was made. False when `id` is unknown or expired, or the entry is
    /// full; the answer is then not used.
    bool attach(const PayloadId& id, const NodePayloadId& node, uint64_t now_ns);

    /// The ELs' ids for our `id`; empty when unknown or expired (answer -38001). The span is
    /// valid until the next mint() or adopt().
    std::span<const NodePayloadId> lookup(const PayloadId& id, uint64_t now_ns) const;

    /// Live entries plus expired ones not yet dropped.
    size_t size() const { return size_; }
    size_t capacity() const { return capacity_; }
    /// Entries dropped because the map was full (a metric: raise capacity if it grows).
    uint64_t evicted() const { return evicted_; }
    /// Entries dropped because they expired.
    uint64_t expired() const { return expired_; }

    PayloadIdMap(const PayloadIdMap&) = delete;
    PayloadIdMap& operator=(const PayloadIdMap&) = delete;

  private:
    struct Entry {
        uint64_t key = 0;  // our id as a little-endian integer
        uint64_t minted_ns = 0;
        uint8_t node_count = 0;
        NodePayloadId nodes[nodes_per_entry_max];
    };

    PayloadIdMap(const Config& config, size_t index_size);
    /// A new entry at the ring's tail for `key` (expired and, when full, the oldest dropped).
    Entry& append(uint64_t key, uint64_t now_ns);
    /// The live entry for `key`, or null.
    Entry* live_entry(uint64_t key, uint64_t now_ns);
    bool alive(const Entry& e, uint64_t now_ns) const;
    uint64_t fresh_key();
    void drop_oldest();
    void index_insert(uint64_t key, uint32_t entry);
    void index_erase(uint64_t key);
    /// Index position holding `key`, or index_size_ when absent.
    size_t index_find(uint64_t key) const;

    size_t capacity_;
    uint64_t lifetime_ns_;
    std::array<uint8_t, 16> sip_key_;
    uint64_t counter_ = 0;
    std::unique_ptr<Entry[]> entries_;  // ring: oldest at head_
    size_t head_ = 0;
    size_t size_ = 0;
    size_t index_size_;                  // power of two >= 2 * capacity
    std::unique_ptr<uint32_t[]> index_;  // entry position + 1, 0 = empty (linear probing)
    uint64_t evicted_ = 0;
    uint64_t expired_ = 0;
};

}  // namespace em::engine
