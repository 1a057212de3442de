// Keccak-256: published vectors, the unrolled portable permutation against the reference one,
// every SIMD variant (single and batch, mixed lengths, every batch count 0..17) against the
// portable and reference code, dispatch, and the permutation counter.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "base/cpu.h"
#include "eth/keccak/keccak.h"
#include "eth/keccak/keccak_internal.h"
#include "keccak_test_util.h"

namespace em::eth {
namespace {

using test::all_impls;
using test::from_hex;
using test::MessageSet;
using test::to_hex;

std::span<const uint8_t> text_span(const char* s) {
    return {reinterpret_cast<const uint8_t*>(s), std::strlen(s)};
}

struct Vector {
    std::vector<uint8_t> message;
    const char* digest_hex;
};

// Published Keccak-256 digests (Ethereum's padding): the Keccak team's ShortMsgKAT_256 entries
// for 0xcc and 0x41fb, Ethereum constants (empty trie root = keccak(rlp("")), empty ommers hash
// = keccak(rlp([])), the ERC-20 Transfer event topic), and common library test vectors.
std::vector<Vector> known_vectors() {
    auto text = [](const char* s) {
        auto sp = text_span(s);
        return std::vector<uint8_t>(sp.begin(), sp.end());
    };
    return {
        {{}, "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"},
        {text("abc"), "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"},
        {text("hello world"), "47173285a8d7341e5e972fc677286384f802f8ef42a5ec5f03bbfa254cb01fad"},
        {text("testing"), "5f16f4c7f149ac4f9510d9cf8cf384038ad348b3bcdc01915f95de12df9d1b02"},
        {from_hex("cc"), "eead6dbfc7340a56caedc044696a168870549a6a7f6f56961e84a54bd9970b8a"},
        {from_hex("41fb"), "a8eaceda4d47b3281a795ad9e1ea2122b407baf9aabcb9e18b5717b7873537d2"},
        {from_hex("80"), "56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421"},
        {from_hex("c0"), "1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347"},
        {text("Transfer(address,address,uint256)"),
         "ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"},
    };
}

TEST(Keccak, KnownVectorsPortableAndReference) {
    for (const auto& v : known_vectors()) {
        uint8_t out[32];
        keccak256_portable(v.message, out);
        EXPECT_EQ(to_hex(out), v.digest_hex) << "portable, message " << to_hex(v.message);
        keccak256_reference(v.message, out);
        EXPECT_EQ(to_hex(out), v.digest_hex) << "reference, message " << to_hex(v.message);
        EXPECT_EQ(to_hex(keccak256(v.message)), v.digest_hex) << "selected variant";
    }
}

TEST(Keccak, PermutationOfZeroStateMatchesPublishedValue) {
    // KeccakF-1600-IntermediateValues.txt: the first two lanes of Keccak-f[1600](0).
    uint64_t ref[25] = {}, fast[25] = {};
    keccak_f1600_reference(ref);
    keccak_f1600_portable(fast);
    EXPECT_EQ(ref[0], 0xF1258F7940E1DDE7ull);
    EXPECT_EQ(ref[1], 0x84D5CCF933C0478Aull);
    EXPECT_EQ(std::memcmp(ref, fast, sizeof ref), 0);
}

TEST(Keccak, PortablePermutationMatchesReferenceOnRandomStates) {
    std::mt19937_64 rng(1);
    for (int trial = 0; trial < 2000; trial++) {
        uint64_t ref[25], fast[25];
        for (auto& w : ref) w = rng();
        std::memcpy(fast, ref, sizeof ref);
        keccak_f1600_reference(ref);
        keccak_f1600_portable(fast);
        ASSERT_EQ(std::memcmp(ref, fast, sizeof ref), 0) << "trial " << trial;
    }
}

TEST(Keccak, PortableSpongeMatchesReferenceAtEveryLengthUpTo700) {
    std::mt19937_64 rng(2);
    auto data = test::random_bytes(rng, 700);
    for (size_t len = 0; len <= data.size(); len++) {
        uint8_t a[32], b[32];
        keccak256_portable({data.data(), len}, a);
        keccak256_reference({data.data(), len}, b);
        ASSERT_EQ(to_hex(a), to_hex(b)) << "length " << len;
    }
}

class KeccakVariant : public ::testing::TestWithParam<KeccakImpl> {
  protected:
    void SetUp() override {
        if (!keccak_supported(GetParam()))
            GTEST_SKIP() << keccak_impl_name(GetParam()) << " needs "
                         << test::impl_requirement(GetParam()) << ", which this CPU lacks";
    }
    KeccakImpl impl() const { return GetParam(); }

    /// Hashes set with impl's batch call and checks each digest against the reference.
    void expect_batch_matches_reference(const MessageSet& set, const std::string& what) {
        std::vector<Hash32> outs(set.spans.size() + 1);
        const Hash32 sentinel = {0xA5, 0x5A};
        outs.back() = sentinel;
        keccak256_batch_using(impl(), set.spans.data(), outs.data(), set.spans.size());
        for (size_t i = 0; i < set.spans.size(); i++) {
            uint8_t want[32];
            keccak256_reference(set.spans[i], want);
            ASSERT_EQ(to_hex(outs[i]), to_hex(want))
                << what << ": message " << i << " of " << set.spans.size() << ", length "
                << set.spans[i].size();
        }
        EXPECT_EQ(outs.back(), sentinel) << what << ": wrote past the last output";
    }
};

TEST_P(KeccakVariant, KnownVectorsSingleAndBatch) {
    auto vectors = known_vectors();
    std::vector<std::span<const uint8_t>> spans;
    for (const auto& v : vectors) {
        uint8_t out[32];
        keccak256_using(impl(), v.message, out);
        EXPECT_EQ(to_hex(out), v.digest_hex) << "single, message " << to_hex(v.message);
        spans.emplace_back(v.message);
    }
    std::vector<Hash32> outs(spans.size());
    keccak256_batch_using(impl(), spans.data(), outs.data(), spans.size());
    for (size_t i = 0; i < vectors.size(); i++)
        EXPECT_EQ(to_hex(outs[i]), vectors[i].digest_hex) << "batch, message " << i;
}

TEST_P(KeccakVariant, SingleMatchesPortableAtEveryLength0To300AndRandomTo2000) {
    std::mt19937_64 rng(3);
    std::vector<size_t> lengths;
    for (size_t len = 0; len <= 300; len++) lengths.push_back(len);
    for (int i = 0; i < 300; i++) lengths.push_back(rng() % 2001);
    MessageSet set(rng, lengths);
    for (auto msg : set.spans) {
        uint8_t got[32], want[32];
        keccak256_using(impl(), msg, got);
        keccak256_portable(msg, want);
        ASSERT_EQ(to_hex(got), to_hex(want)) << "length " << msg.size();
    }
}

TEST_P(KeccakVariant, BatchEveryCount0To17WithMixedLengths) {
    std::mt19937_64 rng(4);
    for (size_t count = 0; count <= 17; count++) {
        for (int trial = 0; trial < 8; trial++) {
            std::vector<size_t> lengths;
            for (size_t i = 0; i < count; i++) {
                // Mostly short (one block), some around the rate, some several blocks long.
                switch (rng() % 4) {
                    case 0:
                        lengths.push_back(rng() % 136);
                        break;
                    case 1:
                        lengths.push_back(120 + rng() % 161);
                        break;
                    case 2:
                        lengths.push_back(rng() % 2001);
                        break;
                    default:
                        lengths.push_back(rng() % 33);
                        break;
                }
            }
            expect_batch_matches_reference(MessageSet(rng, lengths),
                                           "count " + std::to_string(count));
        }
    }
}

TEST_P(KeccakVariant, BatchEveryLength120To280AroundTheRate) {
    std::mt19937_64 rng(5);
    std::vector<size_t> up, down;
    for (size_t len = 120; len <= 280; len++) up.push_back(len);
    down.assign(up.rbegin(), up.rend());
    // 161 messages: several kernel chunks; ascending and descending orders refill lanes at
    // different times.
    expect_batch_matches_reference(MessageSet(rng, up), "ascending 120..280");
    expect_batch_matches_reference(MessageSet(rng, down), "descending 280..120");
}

TEST_P(KeccakVariant, BatchRandomLengthsTo2000AndOneLongMessage) {
    std::mt19937_64 rng(6);
    std::vector<size_t> lengths;
    for (int i = 0; i < 200; i++) lengths.push_back(rng() % 2001);
    expect_batch_matches_reference(MessageSet(rng, lengths), "200 random lengths");
    // One long lane next to many short ones: short lanes refill while the long one runs.
    lengths.assign(40, 32);
    lengths[3] = 20000;
    expect_batch_matches_reference(MessageSet(rng, lengths), "one long among short");
}

TEST_P(KeccakVariant, BatchOfEqualMessagesGivesEqualDigests) {
    std::mt19937_64 rng(7);
    auto msg = test::random_bytes(rng, 64);
    std::vector<std::span<const uint8_t>> spans(9, std::span<const uint8_t>(msg));
    std::vector<Hash32> outs(spans.size());
    keccak256_batch_using(impl(), spans.data(), outs.data(), spans.size());
    uint8_t want[32];
    keccak256_reference(msg, want);
    for (const auto& h : outs) EXPECT_EQ(to_hex(h), to_hex(want));
}

TEST_P(KeccakVariant, CountsPermutations) {
    std::mt19937_64 rng(8);
    MessageSet set(rng, {0, 135, 136, 300, 64, 64, 64, 64, 64, 1000});
    uint64_t blocks = 0;
    for (auto m : set.spans) blocks += m.size() / keccak_rate_bytes + 1;
    std::vector<Hash32> outs(set.spans.size());
    uint64_t before = keccak_permutations_thread();
    keccak256_batch_using(impl(), set.spans.data(), outs.data(), set.spans.size());
    uint64_t used = keccak_permutations_thread() - before;
    size_t lanes = impl() == KeccakImpl::portable ? 1 : impl() == KeccakImpl::avx2x4 ? 4 : 8;
    // Every lane-permutation is counted: at least one per block, whole kernel calls, and lane
    // refilling keeps the waste below one permutation per lane per message.
    EXPECT_GE(used, blocks);
    EXPECT_EQ(used % lanes, 0u);
    if (lanes == 1) {
        EXPECT_EQ(used, blocks);
    }
    EXPECT_LE(used, blocks + lanes * set.spans.size());
    before = keccak_permutations_thread();
    uint8_t out[32];
    keccak256_using(impl(), set.spans[3], out);
    EXPECT_GE(keccak_permutations_thread() - before, 3u);
}

TEST_P(KeccakVariant, BatchOfZeroMessagesTouchesNothing) {
    keccak256_batch_using(impl(), nullptr, nullptr, 0);
    SUCCEED();
}

INSTANTIATE_TEST_SUITE_P(AllVariants, KeccakVariant, ::testing::ValuesIn(all_impls),
                         [](const auto& info) {
                             return std::string(keccak_impl_name(info.param));
                         });

TEST(KeccakDispatch, SelectsTheWidestSupportedVariant) {
    const CpuFeatures& cpu = cpu_features();
    KeccakImpl selected = keccak_selected();
    EXPECT_TRUE(keccak_supported(selected));
    EXPECT_TRUE(keccak_supported(KeccakImpl::portable));
    EXPECT_EQ(keccak_supported(KeccakImpl::avx2x4) && !cpu.avx2, false);
    EXPECT_EQ(keccak_supported(KeccakImpl::avx512x8) && !(cpu.avx512f && cpu.avx512vl), false);
    if (keccak_supported(KeccakImpl::avx512x8)) {
        EXPECT_EQ(selected, KeccakImpl::avx512x8);
    } else if (keccak_supported(KeccakImpl::avx2x4)) {
        EXPECT_EQ(selected, KeccakImpl::avx2x4);
    } else {
        EXPECT_EQ(selected, KeccakImpl::portable);
    }
#if defined(__x86_64__)
    EXPECT_EQ(keccak_supported(KeccakImpl::avx2x4), cpu.avx2);
#endif
}

TEST(KeccakDispatch, ForceOverridesAndLanesFollow) {
    KeccakImpl original = keccak_selected();
    const size_t lanes[] = {1, 4, 8};
    for (KeccakImpl impl : all_impls) {
        if (!keccak_supported(impl)) continue;
        keccak_force(impl);
        EXPECT_EQ(keccak_selected(), impl);
        EXPECT_EQ(keccak_lanes(), lanes[static_cast<int>(impl)]);
        auto h = keccak256(text_span("abc"));
        EXPECT_EQ(to_hex(h), "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");
    }
    keccak_force(original);
    EXPECT_EQ(keccak_selected(), original);
    EXPECT_STREQ(keccak_impl_name(KeccakImpl::portable), "portable");
    EXPECT_STREQ(keccak_impl_name(KeccakImpl::avx2x4), "avx2x4");
    EXPECT_STREQ(keccak_impl_name(KeccakImpl::avx512x8), "avx512x8");
}

TEST(KeccakDispatchDeathTest, ForcingAnUnsupportedVariantAsserts) {
    for (KeccakImpl impl : all_impls) {
        if (keccak_supported(impl)) continue;
        EXPECT_DEATH(keccak_force(impl), "keccak_supported");
        return;
    }
    GTEST_SKIP() << "this CPU supports every variant";
}

}  // namespace
}  // namespace em::eth
