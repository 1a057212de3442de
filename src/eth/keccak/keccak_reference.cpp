// Reference Keccak-f[1600] and Keccak-256, written as the specification reads: the oracle that
// the unrolled portable and the SIMD variants are tested against. Never on a hot path.
#include "eth/keccak/keccak_internal.h"
#include "eth/keccak/keccak_round.h"

namespace em::eth {

namespace {

constexpr int rho_offsets[25] = {0,  1,  62, 28, 27, 36, 44, 6,  55, 20, 3,  10, 43,
                                 25, 39, 41, 45, 15, 21, 8,  18, 2,  61, 56, 14};

uint64_t rotl(uint64_t x, int n) {
    return n == 0 ? x : (x << n) | (x >> (64 - n));
}

}  // namespace

void keccak_f1600_reference(uint64_t a[25]) {
    for (size_t round = 0; round < keccak_rounds; round++) {
        uint64_t c[5], d[5], b[25];
        for (int x = 0; x < 5; x++) c[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];
        for (int x = 0; x < 5; x++) d[x] = c[(x + 4) % 5] ^ rotl(c[(x + 1) % 5], 1);
        for (int i = 0; i < 25; i++) a[i] ^= d[i % 5];
        // rho and pi: B[y, 2x + 3y] = rot(A[x, y], r[x, y])
        for (int x = 0; x < 5; x++)
            for (int y = 0; y < 5; y++)
                b[y + 5 * ((2 * x + 3 * y) % 5)] = rotl(a[x + 5 * y], rho_offsets[x + 5 * y]);
        // chi
        for (int y = 0; y < 5; y++)
            for (int x = 0; x < 5; x++)
                a[x + 5 * y] = b[x + 5 * y] ^ (~b[(x + 1) % 5 + 5 * y] & b[(x + 2) % 5 + 5 * y]);
        // iota
        a[0] ^= keccak_round_constants[round];
    }
}

void keccak256_reference(std::span<const uint8_t> data, uint8_t out[32]) {
    // Byte-wise sponge: byte i of the rate is byte (i % 8) of lane i / 8, little-endian, on any
    // host byte order.
    uint64_t a[25] = {};
    uint64_t permutations = 0;
    size_t offset = 0;
    auto absorb_byte = [&a](size_t i, uint8_t v) { a[i / 8] ^= uint64_t{v} << (8 * (i % 8)); };
    for (uint8_t byte : data) {
        absorb_byte(offset++, byte);
        if (offset == keccak_rate_bytes) {
            keccak_f1600_reference(a);
            permutations++;
            offset = 0;
        }
    }
    absorb_byte(offset, 0x01);  // Keccak's pad10*1 (0x01 ... 0x80), not SHA-3's 0x06
    absorb_byte(keccak_rate_bytes - 1, 0x80);
    keccak_f1600_reference(a);
    permutations++;
    keccak_count_permutations(permutations);
    for (size_t i = 0; i < 32; i++) out[i] = static_cast<uint8_t>(a[i / 8] >> (8 * (i % 8)));
}

}  // namespace em::eth
