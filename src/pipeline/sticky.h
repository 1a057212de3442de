// StickyTable: the rpc role's per-client stickiness ([rpc] sticky, issue 16 item 3), so that one
// client's consecutive reads never go back in time. For each client (a 64-bit keyed hash of its
// API key or address, made by the listener: Origin::sticky) it remembers the node that last
// answered it and its floor: the newest block it has been served (a read of the head: the
// answering node's head; a read of block N: N, at most that node's head). The policy sends the
// client's reads to that node while it is usable and at the head; otherwise only to a node whose
// head is known and at least the floor (Route::prefer, Route::floor_head).
//
// Bounded: a fixed table of `clients_max` entries (rounded up to a power of two, at least 4) in
// buckets of 4, allocated at construction; a client's bucket is its hash's low bits. A new
// client takes a free entry of its bucket, else the entry of the bucket's least recently served
// client, which is forgotten (evicted: its next read starts afresh, at any node at the head).
//
// Threads: one table per shard (the policy's), used on that shard's thread only: no locks. A
// client whose connections land on different shards has an entry on each (today the rpc
// listener runs on one shard).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace em::pipeline::rpc {

struct StickyEntry {
    uint64_t client = 0;  ///< 0: free
    int64_t floor = -1;   ///< the newest block served to the client (-1: none yet)
    uint64_t served = 0;  ///< the table's clock at the client's last answer (for eviction)
    int node = -1;        ///< the node that answered last
};

class StickyTable {
  public:
    static constexpr size_t ways = 4;  ///< entries per bucket

    explicit StickyTable(size_t clients_max);
    /// The client's entry (client != 0), or null when it is not remembered.
    [[nodiscard]] const StickyEntry* find(uint64_t client) const;
    /// `node` answered the client a read that showed it block `block` (-1: none): the client's
    /// node is now `node`, its floor at least `block`. True when another client was evicted
    /// to make room.
    bool served(uint64_t client, int node, int64_t block);
    /// Entries in all (the configured size, rounded).
    [[nodiscard]] size_t capacity() const { return entries_.size(); }

  private:
    size_t bucket_of(uint64_t client) const { return (client & mask_) * ways; }

    std::vector<StickyEntry> entries_;
    uint64_t mask_ = 0;   ///< buckets - 1
    uint64_t clock_ = 0;  ///< counts answers, for least-recently-served
};

}  // namespace em::pipeline::rpc
