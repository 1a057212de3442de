// Portable 64-bit Keccak-f[1600] and sponge: the oracle for the SIMD variants.
#include <cstring>

#include "eth/keccak/keccak.h"
#include "eth/keccak/keccak_internal.h"

namespace em::eth {

namespace {

constexpr uint64_t round_constants[24] = {
    0x0000000000000001ull, 0x0000000000008082ull, 0x800000000000808aull, 0x8000000080008000ull,
    0x000000000000808bull, 0x0000000080000001ull, 0x8000000080008081ull, 0x8000000000008009ull,
    0x000000000000008aull, 0x0000000000000088ull, 0x0000000080008009ull, 0x000000008000000aull,
    0x000000008000808bull, 0x800000000000008bull, 0x8000000000008089ull, 0x8000000000008003ull,
    0x8000000000008002ull, 0x8000000000000080ull, 0x000000000000800aull, 0x800000008000000aull,
    0x8000000080008081ull, 0x8000000000008080ull, 0x0000000080000001ull, 0x8000000080008008ull,
};

inline uint64_t rotl(uint64_t x, int n) { return (x << n) | (x >> ((64 - n) & 63)); }

}  // namespace

void keccak_f1600_portable(uint64_t a[25]) {
    for (int round = 0; round < 24; round++) {
        uint64_t c[5], d[5];
        for (int x = 0; x < 5; x++) c[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];
        for (int x = 0; x < 5; x++) d[x] = c[(x + 4) % 5] ^ rotl(c[(x + 1) % 5], 1);
        for (int i = 0; i < 25; i++) a[i] ^= d[i % 5];
        // rho + pi
        uint64_t b[25];
        static constexpr int rho[25] = {0,  1,  62, 28, 27, 36, 44, 6,  55, 20, 3,  10, 43,
                                        25, 39, 41, 45, 15, 21, 8,  18, 2,  61, 56, 14};
        for (int x = 0; x < 5; x++)
            for (int y = 0; y < 5; y++) b[y + 5 * ((2 * x + 3 * y) % 5)] = rotl(a[x + 5 * y], rho[x + 5 * y]);
        // chi
        for (int y = 0; y < 5; y++)
            for (int x = 0; x < 5; x++)
                a[x + 5 * y] = b[x + 5 * y] ^ (~b[(x + 1) % 5 + 5 * y] & b[(x + 2) % 5 + 5 * y]);
        a[0] ^= round_constants[round];
    }
}

void keccak256_portable(std::span<const uint8_t> data, uint8_t out[32]) {
    uint64_t a[25] = {};
    const uint8_t* p = data.data();
    size_t n = data.size();
    uint64_t permutations = 0;
    while (n >= keccak_rate_bytes) {
        for (size_t i = 0; i < keccak_rate_bytes / 8; i++) {
            uint64_t w;
            std::memcpy(&w, p + 8 * i, 8);
            a[i] ^= w;
        }
        keccak_f1600_portable(a);
        permutations++;
        p += keccak_rate_bytes;
        n -= keccak_rate_bytes;
    }
    uint8_t block[keccak_rate_bytes] = {};
    if (n) std::memcpy(block, p, n);
    block[n] ^= 0x01;
    block[keccak_rate_bytes - 1] ^= 0x80;
    for (size_t i = 0; i < keccak_rate_bytes / 8; i++) {
        uint64_t w;
        std::memcpy(&w, block + 8 * i, 8);
        a[i] ^= w;
    }
    keccak_f1600_portable(a);
    permutations++;
    keccak_count_permutations(permutations);
    std::memcpy(out, a, 32);
}

}  // namespace em::eth
