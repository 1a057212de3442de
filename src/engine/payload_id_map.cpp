// PayloadIdMap: a FIFO ring of entries (mint order = expiry order, so the oldest is at the head)
// plus an open-addressing index (linear probing, backward-shift deletion) from our id to its
// ring position. Our ids are SipHash outputs, so their low bits index the table directly.
#include "engine/payload_id_map.h"

#include <cstring>

#include "base/assert.h"

namespace em::engine {
namespace {

uint64_t load_le64(const uint8_t* p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

void store_le64(uint64_t v, uint8_t* p) {
    for (int i = 0; i < 8; i++) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

uint64_t rotl(uint64_t x, int b) {
    return (x << b) | (x >> (64 - b));
}

struct SipState {
    uint64_t v0, v1, v2, v3;
    void round() {
        v0 += v1;
        v1 = rotl(v1, 13);
        v1 ^= v0;
        v0 = rotl(v0, 32);
        v2 += v3;
        v3 = rotl(v3, 16);
        v3 ^= v2;
        v0 += v3;
        v3 = rotl(v3, 21);
        v3 ^= v0;
        v2 += v1;
        v1 = rotl(v1, 17);
        v1 ^= v2;
        v2 = rotl(v2, 32);
    }
    void absorb(uint64_t m) {
        v3 ^= m;
        round();
        round();
        v0 ^= m;
    }
};

size_t index_size_for(size_t capacity) {
    size_t n = 1;
    while (n < 2 * capacity) n <<= 1;
    return n;
}

}  // namespace

uint64_t siphash24(const std::array<uint8_t, 16>& key, std::span<const uint8_t> data) {
    uint64_t k0 = load_le64(key.data());
    uint64_t k1 = load_le64(key.data() + 8);
    SipState s{k0 ^ 0x736f6d6570736575ull, k1 ^ 0x646f72616e646f6dull, k0 ^ 0x6c7967656e657261ull,
               k1 ^ 0x7465646279746573ull};
    size_t full = data.size() / 8 * 8;
    for (size_t i = 0; i < full; i += 8) s.absorb(load_le64(data.data() + i));
    uint64_t last = static_cast<uint64_t>(data.size() & 0xff) << 56;
    for (size_t i = full; i < data.size(); i++)
        last |= static_cast<uint64_t>(data[i]) << (8 * (i - full));
    s.absorb(last);
    s.v2 ^= 0xff;
    for (int i = 0; i < 4; i++) s.round();
    return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

Result<std::unique_ptr<PayloadIdMap>> PayloadIdMap::create(const Config& config) {
    if (config.capacity < 1 || config.capacity > capacity_max)
        return failf(Errc::invalid_input, "payload id map capacity %zu: must be 1..%zu",
                     config.capacity, capacity_max);
    if (config.lifetime_ns == 0)
        return fail(Errc::invalid_input, "payload id lifetime: must be > 0");
    return std::unique_ptr<PayloadIdMap>(new PayloadIdMap(config, index_size_for(config.capacity)));
}

PayloadIdMap::PayloadIdMap(const Config& config, size_t index_size)
    : capacity_(config.capacity),
      lifetime_ns_(config.lifetime_ns),
      sip_key_(config.key),
      entries_(std::make_unique<Entry[]>(config.capacity)),
      index_size_(index_size),
      index_(std::make_unique<uint32_t[]>(index_size)) {}

Result<PayloadId> PayloadIdMap::mint(std::span<const NodePayloadId> nodes, uint64_t now_ns) {
    if (nodes.empty()) return fail(Errc::invalid_input, "payload id: no node returned an id");
    if (nodes.size() > nodes_per_entry_max)
        return failf(Errc::invalid_input, "payload id: %zu nodes, at most %zu", nodes.size(),
                     nodes_per_entry_max);
    Entry& e = append(fresh_key(), now_ns);
    e.node_count = static_cast<uint8_t>(nodes.size());
    std::memcpy(e.nodes, nodes.data(), nodes.size() * sizeof(NodePayloadId));
    PayloadId id;
    store_le64(e.key, id.bytes.data());
    return id;
}

Result<void> PayloadIdMap::adopt(const PayloadId& id, std::span<const NodePayloadId> nodes,
                                 uint64_t now_ns) {
    if (nodes.size() > nodes_per_entry_max)
        return failf(Errc::invalid_input, "payload id: %zu nodes, at most %zu", nodes.size(),
                     nodes_per_entry_max);
    uint64_t key = load_le64(id.bytes.data());
    if (!live_entry(key, now_ns)) {
        // An expired entry under the same id still sits in the ring: drop the expired ones
        // first (append does), then make sure none is left under this key.
        while (size_ > 0 && !alive(entries_[head_], now_ns)) {
            drop_oldest();
            expired_++;
        }
        if (index_find(key) != index_size_) {
            // Dead but not at the head (lifetimes are equal, so this cannot happen): say so.
            return fail(Errc::internal, "payload id: an expired entry is not the oldest");
        }
        append(key, now_ns).node_count = 0;
    }
    for (const NodePayloadId& node : nodes) (void)attach(id, node, now_ns);
    return {};
}

bool PayloadIdMap::attach(const PayloadId& id, const NodePayloadId& node, uint64_t now_ns) {
    Entry* e = live_entry(load_le64(id.bytes.data()), now_ns);
    if (!e) return false;
    for (size_t i = 0; i < e->node_count; i++) {
        if (e->nodes[i].node == node.node) {
            e->nodes[i] = node;
            return true;
        }
    }
    if (e->node_count == nodes_per_entry_max) return false;
    e->nodes[e->node_count++] = node;
    return true;
}

PayloadIdMap::Entry& PayloadIdMap::append(uint64_t key, uint64_t now_ns) {
    while (size_ > 0 && !alive(entries_[head_], now_ns)) {
        drop_oldest();
        expired_++;
    }
    if (size_ == capacity_) {
        drop_oldest();
        evicted_++;
    }
    size_t pos = (head_ + size_) % capacity_;
    Entry& e = entries_[pos];
    e.key = key;
    e.minted_ns = now_ns;
    e.node_count = 0;
    size_++;
    index_insert(e.key, static_cast<uint32_t>(pos));
    return e;
}

PayloadIdMap::Entry* PayloadIdMap::live_entry(uint64_t key, uint64_t now_ns) {
    size_t at = index_find(key);
    if (at == index_size_) return nullptr;
    Entry& e = entries_[index_[at] - 1];
    return alive(e, now_ns) ? &e : nullptr;
}

std::span<const NodePayloadId> PayloadIdMap::lookup(const PayloadId& id, uint64_t now_ns) const {
    size_t at = index_find(load_le64(id.bytes.data()));
    if (at == index_size_) return {};
    const Entry& e = entries_[index_[at] - 1];
    if (!alive(e, now_ns)) return {};
    return {e.nodes, e.node_count};
}

bool PayloadIdMap::alive(const Entry& e, uint64_t now_ns) const {
    return now_ns < e.minted_ns || now_ns - e.minted_ns < lifetime_ns_;
}

uint64_t PayloadIdMap::fresh_key() {
    for (;;) {  // a repeat of a live id has probability ~capacity / 2^64: draw again
        uint8_t counter[8];
        store_le64(counter_++, counter);
        uint64_t key = siphash24(sip_key_, counter);
        if (index_find(key) == index_size_) return key;
    }
}

void PayloadIdMap::drop_oldest() {
    EM_ASSERT(size_ > 0);
    index_erase(entries_[head_].key);
    head_ = (head_ + 1) % capacity_;
    size_--;
}

size_t PayloadIdMap::index_find(uint64_t key) const {
    size_t mask = index_size_ - 1;
    for (size_t i = key & mask;; i = (i + 1) & mask) {
        uint32_t slot = index_[i];
        if (slot == 0) return index_size_;
        if (entries_[slot - 1].key == key) return i;
    }
}

void PayloadIdMap::index_insert(uint64_t key, uint32_t entry) {
    size_t mask = index_size_ - 1;
    size_t i = key & mask;
    while (index_[i] != 0) i = (i + 1) & mask;
    index_[i] = entry + 1;
}

void PayloadIdMap::index_erase(uint64_t key) {
    size_t hole = index_find(key);
    EM_ASSERT(hole != index_size_);
    size_t mask = index_size_ - 1;
    for (size_t j = (hole + 1) & mask; index_[j] != 0; j = (j + 1) & mask) {
        size_t home = entries_[index_[j] - 1].key & mask;
        // The element at j may fill the hole unless its home lies cyclically in (hole, j].
        bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
        if (stays) continue;
        index_[hole] = index_[j];
        hole = j;
    }
    index_[hole] = 0;
}

}  // namespace em::engine
