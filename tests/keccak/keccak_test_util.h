// Helpers shared by the Keccak tests: deterministic random messages, hex, and the list of
// variants with the CPU feature each needs (for GTEST_SKIP messages).
#pragma once

#include <cstdint>
#include <cstdio>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "eth/keccak/keccak.h"

namespace em::eth::test {

inline constexpr KeccakImpl all_impls[] = {KeccakImpl::portable, KeccakImpl::avx2x4,
                                           KeccakImpl::avx512x8};

/// What a CPU must have to run impl (for skip messages).
inline const char* impl_requirement(KeccakImpl impl) {
    switch (impl) {
        case KeccakImpl::portable:
            return "nothing";
        case KeccakImpl::avx2x4:
            return "AVX2";
        case KeccakImpl::avx512x8:
            return "AVX512F+AVX512VL";
    }
    return "?";
}

inline std::string to_hex(std::span<const uint8_t> bytes) {
    std::string s;
    char buf[3];
    for (uint8_t b : bytes) {
        std::snprintf(buf, sizeof buf, "%02x", b);
        s += buf;
    }
    return s;
}

inline std::vector<uint8_t> from_hex(const std::string& hex) {
    std::vector<uint8_t> out;
    for (size_t i = 0; i + 1 < hex.size(); i += 2)
        out.push_back(static_cast<uint8_t>(std::stoul(hex.substr(i, 2), nullptr, 16)));
    return out;
}

/// n pseudo-random bytes (deterministic per seed).
inline std::vector<uint8_t> random_bytes(std::mt19937_64& rng, size_t n) {
    std::vector<uint8_t> v(n);
    for (auto& b : v) b = static_cast<uint8_t>(rng());
    return v;
}

/// Messages with the given lengths, each placed at a pseudo-random misalignment inside its own
/// buffer so kernels see unaligned pointers.
struct MessageSet {
    std::vector<std::vector<uint8_t>> storage;
    std::vector<std::span<const uint8_t>> spans;

    MessageSet(std::mt19937_64& rng, const std::vector<size_t>& lengths) {
        storage.reserve(lengths.size());
        for (size_t len : lengths) {
            size_t misalign = rng() % 8;
            storage.push_back(random_bytes(rng, len + misalign));
            spans.emplace_back(storage.back().data() + misalign, len);
        }
    }
};

}  // namespace em::eth::test
