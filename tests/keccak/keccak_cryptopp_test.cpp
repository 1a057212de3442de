// Keccak-256 against an independent implementation, Crypto++'s CryptoPP::Keccak_256: the
// reference, the portable code and every variant the CPU supports (single and batch) on random
// lengths 0..2000, every length 120..280 (around the 136-byte rate) and every batch count 0..17.
// Exits 77 (Meson: SKIP) when the build found no Crypto++.
#include <gtest/gtest.h>

#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "eth/keccak/keccak.h"
#include "eth/keccak/keccak_internal.h"
#include "keccak_test_util.h"

#if EM_HAVE_CRYPTOPP
#include <cryptopp/keccak.h>

namespace em::eth {
namespace {

using test::MessageSet;
using test::to_hex;

std::string cryptopp_keccak256(std::span<const uint8_t> msg) {
    CryptoPP::Keccak_256 h;
    uint8_t out[32];
    h.Update(msg.data(), msg.size());
    h.Final(out);
    return to_hex(out);
}

/// Lengths 0..2000 at random, then every length 120..280.
std::vector<size_t> test_lengths(std::mt19937_64& rng) {
    std::vector<size_t> lengths;
    for (int i = 0; i < 400; i++) lengths.push_back(rng() % 2001);
    for (size_t len = 120; len <= 280; len++) lengths.push_back(len);
    return lengths;
}

TEST(KeccakCryptopp, ReferenceAndPortableAgree) {
    std::mt19937_64 rng(11);
    MessageSet set(rng, test_lengths(rng));
    for (auto msg : set.spans) {
        std::string want = cryptopp_keccak256(msg);
        uint8_t out[32];
        keccak256_reference(msg, out);
        ASSERT_EQ(to_hex(out), want) << "reference, length " << msg.size();
        keccak256_portable(msg, out);
        ASSERT_EQ(to_hex(out), want) << "portable, length " << msg.size();
    }
}

class KeccakCryptoppVariant : public ::testing::TestWithParam<KeccakImpl> {
  protected:
    void SetUp() override {
        if (!keccak_supported(GetParam()))
            GTEST_SKIP() << keccak_impl_name(GetParam()) << " needs "
                         << test::impl_requirement(GetParam()) << ", which this CPU lacks";
    }
};

TEST_P(KeccakCryptoppVariant, SingleAndOneBigBatch) {
    std::mt19937_64 rng(12);
    MessageSet set(rng, test_lengths(rng));
    std::vector<Hash32> outs(set.spans.size());
    keccak256_batch_using(GetParam(), set.spans.data(), outs.data(), set.spans.size());
    for (size_t i = 0; i < set.spans.size(); i++) {
        std::string want = cryptopp_keccak256(set.spans[i]);
        uint8_t out[32];
        keccak256_using(GetParam(), set.spans[i], out);
        ASSERT_EQ(to_hex(out), want) << "single, length " << set.spans[i].size();
        ASSERT_EQ(to_hex(outs[i]), want)
            << "batch, message " << i << ", length " << set.spans[i].size();
    }
}

TEST_P(KeccakCryptoppVariant, EveryBatchCount0To17) {
    std::mt19937_64 rng(13);
    for (size_t count = 0; count <= 17; count++) {
        std::vector<size_t> lengths;
        for (size_t i = 0; i < count; i++)
            lengths.push_back(rng() % 2 ? rng() % 300 : rng() % 2001);
        MessageSet set(rng, lengths);
        std::vector<Hash32> outs(count);
        keccak256_batch_using(GetParam(), set.spans.data(), outs.data(), count);
        for (size_t i = 0; i < count; i++)
            ASSERT_EQ(to_hex(outs[i]), cryptopp_keccak256(set.spans[i]))
                << "count " << count << ", message " << i << ", length " << lengths[i];
    }
}

INSTANTIATE_TEST_SUITE_P(AllVariants, KeccakCryptoppVariant, ::testing::ValuesIn(test::all_impls),
                         [](const auto& info) {
                             return std::string(keccak_impl_name(info.param));
                         });

}  // namespace
}  // namespace em::eth

int main(int argc, char** argv) {
    testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
#else
int main() {
    std::fprintf(stderr,
                 "skip: Crypto++ not found at configure time (apt-get install libcrypto++-dev)\n");
    return 77;
}
#endif
