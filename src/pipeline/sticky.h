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
// Threads: any. One table is shared by every shard's rpc policy (a client's connections may land
// on different shards, and its floor must hold on all of them): buckets are guarded by 64 lock
// stripes (a bucket's stripe: its index's low bits), each held for a bucket's four entries at
// most; find() copies the entry out. The clock is a relaxed atomic (eviction's order only).
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
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
    StickyTable(const StickyTable&) = delete;
    StickyTable& operator=(const StickyTable&) = delete;
    /// Copies the client's entry (client != 0) into `out`; false when it is not remembered.
    [[nodiscard]] bool find(uint64_t client, StickyEntry& out) const;
    /// `node` answered the client a read that showed it block `block` (-1: none): the client's
    /// node is now `node`, its floor at least `block`. True when another client was evicted
    /// to make room.
    bool served(uint64_t client, int node, int64_t block);
    /// Entries in all (the configured size, rounded).
    [[nodiscard]] size_t capacity() const { return entries_.size(); }

  private:
    static constexpr size_t lock_stripes = 64;
    size_t bucket_of(uint64_t client) const { return (client & mask_) * ways; }
    std::mutex& lock_of(uint64_t client) const { return locks_[(client & mask_) % lock_stripes]; }

    std::vector<StickyEntry> entries_;
    uint64_t mask_ = 0;               ///< buckets - 1
    std::atomic<uint64_t> clock_{0};  ///< counts answers, for least-recently-served
    mutable std::array<std::mutex, lock_stripes> locks_;
};

}  // namespace em::pipeline::rpc
