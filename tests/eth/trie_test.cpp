// Ordered trie roots against the recursive reference (tests/eth/reference.cpp) on random lists
// of 0..1100 items, for every Keccak variant this CPU runs; multi-list batching; limits.
#include "eth/trie.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "reference.h"

namespace em::eth {
namespace {

using ref::B;

std::vector<Bytes> views(const std::vector<B>& values) {
    std::vector<Bytes> v;
    for (const auto& x : values) v.emplace_back(x.data(), x.size());
    return v;
}

B to_b(const Hash32& h) {
    return B(h.begin(), h.end());
}

std::vector<B> random_values(std::mt19937_64& rng, size_t n) {
    std::vector<B> values;
    for (size_t i = 0; i < n; i++) {
        // Mostly small (inlined leaves and branches) or transaction-sized values.
        size_t len =
            rng() % 3 == 0 ? 1 + rng() % 8 : (rng() % 2 ? 1 + rng() % 40 : 100 + rng() % 300);
        values.push_back(ref::random_bytes(rng, len));
    }
    return values;
}

TEST(Trie, EmptyRoot) {
    Arena arena(1 << 16);
    auto root = ordered_trie_root(nullptr, 0, arena);
    ASSERT_TRUE(root);
    EXPECT_EQ(to_b(*root), ref::keccak(B{0x80}));
    EXPECT_EQ(to_b(empty_trie_root),
              ref::from_hex("0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421"));
}

TEST(Trie, SingleSmallValueRootIsStillHashed) {
    Arena arena(1 << 16);
    B value = {0x01};
    Bytes v(value);
    auto root = ordered_trie_root(&v, 1, arena);
    ASSERT_TRUE(root);
    // One leaf: [hex-prefix(nibbles 8 0, leaf) = 0x20 0x80, value], 5 bytes, hashed anyway.
    EXPECT_EQ(to_b(*root), ref::trie_root({value}));
    EXPECT_EQ(to_b(*root),
              ref::keccak(ref::rlp_list({ref::rlp_string({0x20, 0x80}), ref::rlp_string(value)})));
}

class TrieKeccakTest : public testing::TestWithParam<KeccakImpl> {
  protected:
    void SetUp() override {
        if (!keccak_supported(GetParam())) GTEST_SKIP() << "CPU or build lacks this Keccak variant";
        saved_ = keccak_selected();
        keccak_force(GetParam());
    }
    void TearDown() override { keccak_force(saved_); }
    KeccakImpl saved_ = KeccakImpl::portable;
};

TEST_P(TrieKeccakTest, RandomListsMatchReference) {
    std::mt19937_64 rng(21);
    Arena arena(64 << 20);
    std::vector<size_t> sizes = {0, 1, 2, 3, 15, 16, 17, 127, 128, 129, 255, 256, 257, 1100};
    for (int i = 0; i < 40; i++) sizes.push_back(rng() % 1101);
    for (size_t n : sizes) {
        arena.reset();
        auto values = random_values(rng, n);
        auto v = views(values);
        auto root = ordered_trie_root(v.data(), v.size(), arena);
        ASSERT_TRUE(root) << root.error().message();
        EXPECT_EQ(to_b(*root), ref::trie_root(values)) << "n=" << n;
    }
}

TEST_P(TrieKeccakTest, SeveralListsAndExtrasInOneCall) {
    std::mt19937_64 rng(22);
    Arena arena(64 << 20);
    for (int round = 0; round < 20; round++) {
        arena.reset();
        std::vector<std::vector<B>> lists;
        std::vector<std::vector<Bytes>> list_views;
        std::vector<TrieList> tl;
        size_t count = 1 + rng() % 4;
        for (size_t i = 0; i < count; i++) lists.push_back(random_values(rng, rng() % 300));
        for (auto& l : lists) list_views.push_back(views(l));
        for (auto& v : list_views) tl.push_back({v.data(), v.size()});
        std::vector<B> extras;
        for (size_t i = 0; i < rng() % 4; i++)
            extras.push_back(ref::random_bytes(rng, rng() % 500));
        auto extra_views = views(extras);
        std::vector<Hash32> roots(count), extra_outs(extras.size());
        ASSERT_TRUE(ordered_trie_roots(tl, roots.data(), arena, extra_views, extra_outs.data()));
        for (size_t i = 0; i < count; i++) EXPECT_EQ(to_b(roots[i]), ref::trie_root(lists[i]));
        for (size_t i = 0; i < extras.size(); i++)
            EXPECT_EQ(to_b(extra_outs[i]), ref::keccak(extras[i]));
    }
}

TEST_P(TrieKeccakTest, LeavesEncodedInPlaceInHeadroom) {
    std::mt19937_64 rng(25);
    Arena arena(64 << 20);
    for (size_t n : {1, 2, 17, 200, 1100}) {
        arena.reset();
        auto values = random_values(rng, n);
        values[0].clear();  // an empty value has no headroom: it takes the copying path
        // Each value sits after trie_leaf_headroom_bytes of scratch, with a guard byte after it.
        std::vector<B> storage;
        std::vector<Bytes> v;
        for (const auto& x : values) {
            B buffer(trie_leaf_headroom_bytes + x.size() + 1, 0xee);
            std::copy(x.begin(), x.end(), buffer.begin() + trie_leaf_headroom_bytes);
            buffer.back() = 0x5a;
            storage.push_back(std::move(buffer));
        }
        for (size_t i = 0; i < n; i++)
            v.emplace_back(storage[i].data() + trie_leaf_headroom_bytes, values[i].size());
        TrieList list{v.data(), v.size(), trie_leaf_headroom_bytes};
        Hash32 root;
        ASSERT_TRUE(ordered_trie_roots(std::span<const TrieList>(&list, 1), &root, arena));
        EXPECT_EQ(to_b(root), ref::trie_root(values)) << "n=" << n;
        for (size_t i = 0; i < n; i++) {
            EXPECT_EQ(B(v[i].begin(), v[i].end()), values[i]) << "value changed";
            EXPECT_EQ(storage[i].back(), 0x5a) << "wrote past the value";
        }
    }
}

INSTANTIATE_TEST_SUITE_P(All, TrieKeccakTest,
                         testing::Values(KeccakImpl::portable, KeccakImpl::avx2x4,
                                         KeccakImpl::avx512x8),
                         [](const auto& info) {
                             return std::string(keccak_impl_name(info.param));
                         });

TEST(Trie, ArenaFullIsAnError) {
    std::mt19937_64 rng(23);
    auto values = random_values(rng, 500);
    auto v = views(values);
    Arena small(4096);
    auto root = ordered_trie_root(v.data(), v.size(), small);
    ASSERT_FALSE(root);
    EXPECT_EQ(root.error().code(), Errc::too_large);
}

TEST(Trie, ChangingAnyValueChangesTheRoot) {
    std::mt19937_64 rng(24);
    Arena arena(8 << 20);
    auto values = random_values(rng, 300);
    auto v = views(values);
    Hash32 base = *ordered_trie_root(v.data(), v.size(), arena);
    for (size_t i = 0; i < values.size(); i++) {
        arena.reset();
        size_t at = rng() % values[i].size();
        values[i][at] ^= 0x20;
        EXPECT_NE(*ordered_trie_root(v.data(), v.size(), arena), base) << i;
        values[i][at] ^= 0x20;
    }
}

}  // namespace
}  // namespace em::eth
