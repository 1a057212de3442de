#include "pipeline/sticky.h"

#include "base/assert.h"

namespace em::pipeline::rpc {

StickyTable::StickyTable(size_t clients_max) {
    size_t buckets = 1;
    while (buckets * ways < clients_max) buckets *= 2;
    entries_.resize(buckets * ways);
    mask_ = buckets - 1;
}

const StickyEntry* StickyTable::find(uint64_t client) const {
    if (client == 0) return nullptr;
    size_t b = bucket_of(client);
    for (size_t w = 0; w < ways; w++)
        if (entries_[b + w].client == client) return &entries_[b + w];
    return nullptr;
}

bool StickyTable::served(uint64_t client, int node, int64_t block) {
    EM_ASSERT(client != 0 && node >= 0);
    size_t b = bucket_of(client);
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
    slot->served = ++clock_;
    return evicted;
}

}  // namespace em::pipeline::rpc
