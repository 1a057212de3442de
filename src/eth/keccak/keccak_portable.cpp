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
inline Lane k_iota(Lane a, uint64_t rc) {
    return a ^ rc;
}
// Lane complementing: the state is kept with lanes 1, 2, 8, 12, 17 and 20 inverted. With that
// pattern every chi row can be written with AND/OR and a single NOT (instead of five): for each
// output lane, given which of its three inputs are stored inverted (known from the pattern after
// theta and rho/pi) and that the output must come out inverted exactly on the pattern again, one
// of b0 ^ (b1 & b2), b0 ^ (b1 | b2) with one shared inverted input per row equals the inverted or
// plain a ^ (~b & c). The rows below were derived that way (exhaustively, over all eight input
// bit combinations) and are checked against the reference permutation by the tests.
constexpr uint64_t complemented(size_t i) {
    return (i == 1 || i == 2 || i == 8 || i == 12 || i == 17 || i == 20) ? ~uint64_t{0} : 0;
}
inline Lane k_load(const uint64_t* s, size_t i) {
    return s[i] ^ complemented(i);
}
inline void k_store(uint64_t* s, size_t i, Lane v) {
    s[i] = v ^ complemented(i);
}

// NOLINTBEGIN(bugprone-macro-parentheses): e0..e4 are assignment targets, always lane variables
#define EM_KECCAK_LC_ROW0(e0, e1, e2, e3, e4, x0, x1, x2, x3, x4)         \
    do {                                                                  \
        const Lane b0 = (x0), b1 = (x1), b2 = (x2), b3 = (x3), b4 = (x4); \
        const Lane n2 = ~b2;                                              \
        e0 = b0 ^ (b1 | b2);                                              \
        e1 = b1 ^ (n2 | b3);                                              \
        e2 = b2 ^ (b3 & b4);                                              \
        e3 = b3 ^ (b4 | b0);                                              \
        e4 = b4 ^ (b0 & b1);                                              \
    } while (0)
#define EM_KECCAK_LC_ROW1(e0, e1, e2, e3, e4, x0, x1, x2, x3, x4)         \
    do {                                                                  \
        const Lane b0 = (x0), b1 = (x1), b2 = (x2), b3 = (x3), b4 = (x4); \
        const Lane n4 = ~b4;                                              \
        e0 = b0 ^ (b1 | b2);                                              \
        e1 = b1 ^ (b2 & b3);                                              \
        e2 = b2 ^ (b3 | n4);                                              \
        e3 = b3 ^ (b4 | b0);                                              \
        e4 = b4 ^ (b0 & b1);                                              \
    } while (0)
#define EM_KECCAK_LC_ROW2(e0, e1, e2, e3, e4, x0, x1, x2, x3, x4)         \
    do {                                                                  \
        const Lane b0 = (x0), b1 = (x1), b2 = (x2), b3 = (x3), b4 = (x4); \
        const Lane n3 = ~b3;                                              \
        e0 = b0 ^ (b1 | b2);                                              \
        e1 = b1 ^ (b2 & b3);                                              \
        e2 = b2 ^ (n3 & b4);                                              \
        e3 = n3 ^ (b4 | b0);                                              \
        e4 = b4 ^ (b0 & b1);                                              \
    } while (0)
#define EM_KECCAK_LC_ROW3(e0, e1, e2, e3, e4, x0, x1, x2, x3, x4)         \
    do {                                                                  \
        const Lane b0 = (x0), b1 = (x1), b2 = (x2), b3 = (x3), b4 = (x4); \
        const Lane n3 = ~b3;                                              \
        e0 = b0 ^ (b1 & b2);                                              \
        e1 = b1 ^ (b2 | b3);                                              \
        e2 = b2 ^ (n3 | b4);                                              \
        e3 = n3 ^ (b4 & b0);                                              \
        e4 = b4 ^ (b0 | b1);                                              \
    } while (0)
#define EM_KECCAK_LC_ROW4(e0, e1, e2, e3, e4, x0, x1, x2, x3, x4)         \
    do {                                                                  \
        const Lane b0 = (x0), b1 = (x1), b2 = (x2), b3 = (x3), b4 = (x4); \
        const Lane n1 = ~b1;                                              \
        e0 = b0 ^ (n1 & b2);                                              \
        e1 = n1 ^ (b2 | b3);                                              \
        e2 = b2 ^ (b3 & b4);                                              \
        e3 = b3 ^ (b4 | b0);                                              \
        e4 = b4 ^ (b0 & b1);                                              \
    } while (0)
// NOLINTEND(bugprone-macro-parentheses)
#define EM_KECCAK_LC_ROUND(A, E, rc)                                                        \
    EM_KECCAK_ROUND_ROWS(A, E, rc, EM_KECCAK_LC_ROW0, EM_KECCAK_LC_ROW1, EM_KECCAK_LC_ROW2, \
                         EM_KECCAK_LC_ROW3, EM_KECCAK_LC_ROW4)

/// 8 bytes at p as a little-endian word.
inline uint64_t load_le64(const uint8_t* p) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    if constexpr (std::endian::native == std::endian::big) w = __builtin_bswap64(w);
    return w;
}

/// The n < 8 bytes at p as a little-endian word, followed by the padding byte 0x01.
inline uint64_t load_tail_le(const uint8_t* p, size_t n) {
    uint64_t w = uint64_t{1} << (8 * n);
    for (size_t k = 0; k < n; k++) w |= uint64_t{p[k]} << (8 * k);
    return w;
}

}  // namespace

void keccak_f1600_portable(uint64_t state[25]) {
    EM_KECCAK_PERMUTE_WITH(state, EM_KECCAK_LC_ROUND);
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
    // Last block: whole words, then the partial word with the first padding byte (assembled in
    // a register: a byte store followed by a word load would stall store forwarding), then the
    // final padding bit in the last byte of the rate.
    size_t words = n / 8;
    for (size_t i = 0; i < words; i++) a[i] ^= load_le64(p + 8 * i);
    a[words] ^= load_tail_le(p + 8 * words, n % 8);
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
