// Portable 64-bit Keccak-f[1600] (unrolled, state in named locals) and the Keccak-256 sponge:
// the single-message path on CPUs without a faster one, and the baseline every variant is
// compared with. Plain C++ on uint64_t: runs on any architecture and byte order.
#include <bit>
#include <cstring>

#include "eth/keccak/keccak.h"
#include "eth/keccak/keccak_internal.h"
#include "eth/keccak/keccak_round.h"

namespace em::eth {

namespace {

using Lane = uint64_t;

inline Lane k_xor(Lane a, Lane b) {
    return a ^ b;
}
inline Lane k_xor5(Lane a, Lane b, Lane c, Lane d, Lane e) {
    return a ^ b ^ c ^ d ^ e;
}
template <int n>
inline Lane k_rol(Lane a) {
    return (a << n) | (a >> (64 - n));
}
inline Lane k_chi(Lane a, Lane b, Lane c) {
    return a ^ (~b & c);
}
inline Lane k_iota(Lane a, uint64_t rc) {
    return a ^ rc;
}
inline Lane k_load(const uint64_t* s, size_t i) {
    return s[i];
}
inline void k_store(uint64_t* s, size_t i, Lane v) {
    s[i] = v;
}

/// 8 bytes at p as a little-endian word.
inline uint64_t load_le64(const uint8_t* p) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    if constexpr (std::endian::native == std::endian::big) w = __builtin_bswap64(w);
    return w;
}

}  // namespace

void keccak_f1600_portable(uint64_t state[25]) {
    EM_KECCAK_PERMUTE(state);
}

void keccak256_portable(std::span<const uint8_t> data, uint8_t out[32]) {
    uint64_t a[keccak_state_words] = {};
    const uint8_t* p = data.data();
    size_t n = data.size();
    uint64_t permutations = 1;
    for (; n >= keccak_rate_bytes; n -= keccak_rate_bytes, p += keccak_rate_bytes) {
        for (size_t i = 0; i < keccak_rate_words; i++) a[i] ^= load_le64(p + 8 * i);
        keccak_f1600_portable(a);
        permutations++;
    }
    // Last block: whole words, then the partial word with the first padding byte, then the
    // final padding bit in the last byte of the rate.
    size_t words = n / 8;
    for (size_t i = 0; i < words; i++) a[i] ^= load_le64(p + 8 * i);
    uint8_t tail[8] = {};
    if (n % 8) std::memcpy(tail, p + 8 * words, n % 8);
    tail[n % 8] = 0x01;
    a[words] ^= load_le64(tail);
    a[keccak_rate_words - 1] ^= 0x80ull << 56;
    keccak_f1600_portable(a);
    keccak_count_permutations(permutations);
    for (size_t i = 0; i < 4; i++) {
        uint64_t w = a[i];
        if constexpr (std::endian::native == std::endian::big) w = __builtin_bswap64(w);
        std::memcpy(out + 8 * i, &w, 8);
    }
}

}  // namespace em::eth
