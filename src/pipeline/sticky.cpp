#include "pipeline/sticky.h"

#include "base/assert.h"

namespace em::pipeline::rpc {

StickyTable::StickyTable(size_t clients_max) {
    size_t buckets = 1;
    while (buckets * ways < clients_max) buckets *= 2;
    entries_.resize(buckets * ways);
    mask_ = buckets - 1;
}

bool StickyTable::find(uint64_t client, StickyEntry& out) const {
    if (client == 0) return false;
    size_t b = bucket_of(client);
    std::lock_guard lock(lock_of(client));
    for (size_t w = 0; w < ways; w++) {
        if (entries_[b + w].client != client) continue;
        out = entries_[b + w];
        return true;
    }
    return false;
}

bool StickyTable::served(uint64_t client, int node, int64_t block) {
    EM_ASSERT(client != 0 && node >= 0);
    size_t b = bucket_of(client);
    uint64_t now = clock_.fetch_add(1, std::memory_order_relaxed) + 1;
    std::lock_guard lock(lock_of(client));
    StickyEntry* slot = nullptr;
    StickyEntry* oldest = &entries_[b];
    for (size_t w = 0; w < ways; w++) {
        StickyEntry& e = entries_[b + w];
        if (e.client == client) {
            slot = &e;
            break;
        }
        if (!slot && e.client == 0) slot = &e;
        if (e.served < oldest->served) oldest = &e;
    }
    bool evicted = false;
    if (!slot) {  // the bucket is full of other clients: forget the least recently served
        slot = oldest;
        evicted = true;
    }
    if (slot->client != client) *slot = StickyEntry{.client = client};
    slot->node = node;
    if (block > slot->floor) slot->floor = block;
    if (now > slot->served) slot->served = now;
    return evicted;
}

}  // namespace em::pipeline::rpc
