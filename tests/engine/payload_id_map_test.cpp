// PayloadIdMap: mint / lookup / expiry / eviction / absent nodes, and the SipHash behind ids.
#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "engine/payload_id_map.h"

namespace em::engine {
namespace {

constexpr uint64_t second_ns = 1'000'000'000ull;

std::array<uint8_t, 16> key_0_to_15() {
    std::array<uint8_t, 16> k;
    for (int i = 0; i < 16; i++) k[i] = static_cast<uint8_t>(i);
    return k;
}

PayloadId el_id(uint8_t tag) {
    PayloadId id;
    id.bytes.fill(tag);
    return id;
}

std::unique_ptr<PayloadIdMap> make_map(size_t capacity, uint64_t lifetime_ns = 36 * second_ns) {
    PayloadIdMap::Config c;
    c.capacity = capacity;
    c.lifetime_ns = lifetime_ns;
    c.key = key_0_to_15();
    auto m = PayloadIdMap::create(c);
    EXPECT_TRUE(m);
    return std::move(*m);
}

TEST(SipHash, ReferenceVectors) {
    // From the SipHash paper / reference implementation (key 00..0f, message 00..len-1).
    std::vector<uint8_t> msg;
    EXPECT_EQ(siphash24(key_0_to_15(), msg), 0x726fdb47dd0e0e31ull);
    for (uint8_t i = 0; i < 15; i++) msg.push_back(i);
    EXPECT_EQ(siphash24(key_0_to_15(), msg), 0xa129ca6149be45e5ull);
}

TEST(PayloadIdMap, MintThenLookupReturnsEachNodesId) {
    auto map = make_map(8);
    std::vector<NodePayloadId> nodes = {{0, el_id(0xa0)}, {2, el_id(0xa2)}};  // node 1: no id
    auto id = map->mint(nodes, 100);
    ASSERT_TRUE(id);
    auto found = map->lookup(*id, 200);
    ASSERT_EQ(found.size(), 2u);
    EXPECT_EQ(found[0].node, 0u);
    EXPECT_EQ(found[0].id, el_id(0xa0));
    EXPECT_EQ(found[1].node, 2u);
    EXPECT_EQ(found[1].id, el_id(0xa2));
    PayloadId other = *id;
    other.bytes[0] ^= 1;
    EXPECT_TRUE(map->lookup(other, 200).empty());
}

TEST(PayloadIdMap, IdsAreDistinctAndDeterministicForAKey) {
    auto a = make_map(64);
    auto b = make_map(64);
    std::set<uint64_t> seen;
    std::vector<NodePayloadId> nodes = {{0, el_id(1)}};
    for (int i = 0; i < 64; i++) {
        auto x = a->mint(nodes, 1);
        auto y = b->mint(nodes, 1);
        ASSERT_TRUE(x && y);
        EXPECT_EQ(*x, *y);
        uint64_t v = 0;
        for (uint8_t byte : x->bytes) v = v << 8 | byte;
        EXPECT_TRUE(seen.insert(v).second);
    }
    // Another key gives other ids.
    PayloadIdMap::Config c;
    c.key = key_0_to_15();
    c.key[0] ^= 0x80;
    auto other = PayloadIdMap::create(c);
    ASSERT_TRUE(other);
    auto z = (*other)->mint(nodes, 1);
    auto first = make_map(4)->mint(nodes, 1);
    EXPECT_NE(*z, *first);
}

TEST(PayloadIdMap, EntriesExpireAfterTheirLifetime) {
    auto map = make_map(8, 36 * second_ns);
    std::vector<NodePayloadId> nodes = {{3, el_id(3)}};
    uint64_t t0 = 1000 * second_ns;
    auto id = map->mint(nodes, t0);
    ASSERT_TRUE(id);
    EXPECT_EQ(map->lookup(*id, t0 + 36 * second_ns - 1).size(), 1u);
    EXPECT_TRUE(map->lookup(*id, t0 + 36 * second_ns).empty());
    // The next mint drops it for good.
    auto id2 = map->mint(nodes, t0 + 40 * second_ns);
    ASSERT_TRUE(id2);
    EXPECT_EQ(map->expired(), 1u);
    EXPECT_EQ(map->size(), 1u);
    EXPECT_EQ(map->lookup(*id2, t0 + 41 * second_ns).size(), 1u);
}

TEST(PayloadIdMap, WhenFullTheOldestIsEvicted) {
    auto map = make_map(4);
    std::vector<PayloadId> ids;
    for (uint8_t i = 0; i < 10; i++) {
        std::vector<NodePayloadId> nodes = {{i, el_id(i)}};
        auto id = map->mint(nodes, 10 + i);
        ASSERT_TRUE(id);
        ids.push_back(*id);
        EXPECT_LE(map->size(), 4u);
    }
    EXPECT_EQ(map->evicted(), 6u);
    for (size_t i = 0; i < 10; i++) {
        auto found = map->lookup(ids[i], 20);
        if (i < 6) {
            EXPECT_TRUE(found.empty()) << i;
        } else {
            ASSERT_EQ(found.size(), 1u) << i;
            EXPECT_EQ(found[0].id, el_id(static_cast<uint8_t>(i)));
        }
    }
}

TEST(PayloadIdMap, IndexSurvivesLongChurn) {
    // Many mints through a small map exercise the index's backward-shift deletion.
    auto map = make_map(16);
    std::vector<PayloadId> recent;
    for (uint32_t i = 0; i < 5000; i++) {
        std::vector<NodePayloadId> nodes = {{i, el_id(static_cast<uint8_t>(i))}};
        auto id = map->mint(nodes, i);
        ASSERT_TRUE(id);
        recent.push_back(*id);
        if (recent.size() > 16) recent.erase(recent.begin());
        for (size_t k = 0; k < recent.size(); k++) {
            auto found = map->lookup(recent[k], i);
            ASSERT_EQ(found.size(), 1u) << "mint " << i << " entry " << k;
            EXPECT_EQ(found[0].node, i + 1 - recent.size() + k);
        }
    }
}

TEST(PayloadIdMap, AdoptedIdsMapTheLocalElsIdToBuildersThatAnswerLater) {
    // The builder role: op-node gets the local EL's id; builders' ids join as they answer.
    auto m = make_map(4, 10 * second_ns);
    PayloadId local = el_id(0x42);
    ASSERT_TRUE(m->adopt(local, {}, 0));
    EXPECT_TRUE(m->lookup(local, 1).empty());  // known, no builder yet
    EXPECT_TRUE(m->attach(local, {3, el_id(0xb3)}, 2 * second_ns));
    EXPECT_TRUE(m->attach(local, {1, el_id(0xb1)}, 3 * second_ns));  // a late builder
    auto ids = m->lookup(local, 4 * second_ns);
    ASSERT_EQ(ids.size(), 2u);
    EXPECT_EQ(ids[0].node, 3u);
    EXPECT_EQ(ids[1].id, el_id(0xb1));
    // The same node again replaces its id; the same local id again keeps the entry.
    EXPECT_TRUE(m->attach(local, {3, el_id(0xc3)}, 5 * second_ns));
    ASSERT_TRUE(m->adopt(local, std::vector<NodePayloadId>{{5, el_id(0xb5)}}, 6 * second_ns));
    ids = m->lookup(local, 6 * second_ns);
    ASSERT_EQ(ids.size(), 3u);
    EXPECT_EQ(ids[0].id, el_id(0xc3));
    EXPECT_EQ(ids[2].node, 5u);
    // The lifetime runs from the first adopt: an answer after it is not mapped.
    EXPECT_TRUE(m->lookup(local, 10 * second_ns).empty());
    EXPECT_FALSE(m->attach(local, {7, el_id(0xb7)}, 11 * second_ns));
    EXPECT_FALSE(m->attach(el_id(0x43), {7, el_id(0xb7)}, 1));  // never adopted
    // Adopting it again after expiry starts afresh, and minted ids never collide with it.
    ASSERT_TRUE(m->adopt(local, {}, 12 * second_ns));
    EXPECT_TRUE(m->lookup(local, 12 * second_ns).empty());
    auto minted = m->mint(std::vector<NodePayloadId>{{0, el_id(1)}}, 12 * second_ns);
    ASSERT_TRUE(minted);
    EXPECT_NE(*minted, local);
    EXPECT_EQ(m->lookup(*minted, 12 * second_ns).size(), 1u);
}

TEST(PayloadIdMap, AdoptedEntriesAreBoundedLikeMintedOnes) {
    auto m = make_map(2);
    for (uint8_t i = 1; i <= 3; i++) ASSERT_TRUE(m->adopt(el_id(i), {}, i));
    EXPECT_EQ(m->size(), 2u);
    EXPECT_EQ(m->evicted(), 1u);
    EXPECT_FALSE(m->attach(el_id(1), {0, el_id(9)}, 4));  // evicted
    EXPECT_TRUE(m->attach(el_id(3), {0, el_id(9)}, 4));
    std::vector<NodePayloadId> full;
    for (uint32_t n = 0; n < PayloadIdMap::nodes_per_entry_max; n++) full.push_back({n, el_id(7)});
    ASSERT_TRUE(m->adopt(el_id(4), full, 5));
    EXPECT_FALSE(m->attach(el_id(4), {99, el_id(8)}, 5));  // no room for one more node
    full.push_back({99, el_id(8)});
    EXPECT_FALSE(m->adopt(el_id(5), full, 5));
}

TEST(PayloadIdMap, RejectsBadArguments) {
    auto map = make_map(4);
    auto none = map->mint({}, 1);
    ASSERT_FALSE(none);
    EXPECT_EQ(none.error().code(), Errc::invalid_input);
    std::vector<NodePayloadId> too_many(PayloadIdMap::nodes_per_entry_max + 1);
    EXPECT_FALSE(map->mint(too_many, 1));
    std::vector<NodePayloadId> max(PayloadIdMap::nodes_per_entry_max);
    EXPECT_TRUE(map->mint(max, 1));
    PayloadIdMap::Config c;
    c.capacity = 0;
    EXPECT_FALSE(PayloadIdMap::create(c));
    c.capacity = PayloadIdMap::capacity_max + 1;
    EXPECT_FALSE(PayloadIdMap::create(c));
    c.capacity = 4;
    c.lifetime_ns = 0;
    EXPECT_FALSE(PayloadIdMap::create(c));
}

}  // namespace
}  // namespace em::engine
