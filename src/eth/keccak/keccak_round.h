// Internal to src/eth/keccak: one Keccak-f[1600] round, written once for every lane type.
//
// The including translation unit defines, in an anonymous namespace, a type `Lane` (uint64_t,
// __m256i or __m512i) and these operations on it; the macros below expand to straight-line code
// over 25 named variables (A00..A24, index x + 5y), so the state stays in registers:
//   Lane k_xor(Lane a, Lane b)                      a ^ b
//   Lane k_xor5(Lane a, Lane b, Lane c, Lane d, Lane e)
//   template <int n> Lane k_rol(Lane a)             rotate each 64-bit lane left by n (1..63)
//   Lane k_chi(Lane a, Lane b, Lane c)              a ^ (~b & c)  (EM_KECCAK_CHI_ROW only)
//   Lane k_iota(Lane a, uint64_t rc)                a ^ rc in every 64-bit lane
// A round reads state A and writes state E (theta, rho, pi, chi, iota; row by row so only five
// rho/pi temporaries are live at once); callers alternate A->E and E->A to avoid copies.
// No functions are defined here, so nothing compiled with one TU's flags is shared.
#pragma once

#include <cstddef>
#include <cstdint>

namespace em::eth {

// constexpr at namespace scope: internal linkage, one private copy per TU (no shared symbol).
constexpr uint64_t keccak_round_constants[24] = {
    0x0000000000000001ull, 0x0000000000008082ull, 0x800000000000808aull, 0x8000000080008000ull,
    0x000000000000808bull, 0x0000000080000001ull, 0x8000000080008081ull, 0x8000000000008009ull,
    0x000000000000008aull, 0x0000000000000088ull, 0x0000000080008009ull, 0x000000008000000aull,
    0x000000008000808bull, 0x800000000000008bull, 0x8000000000008089ull, 0x8000000000008003ull,
    0x8000000000008002ull, 0x8000000000000080ull, 0x000000000000800aull, 0x800000008000000aull,
    0x8000000080008081ull, 0x8000000000008080ull, 0x0000000080000001ull, 0x8000000080008008ull,
};

}  // namespace em::eth

// Declares the 25 lanes of a state named P (P00..P24).
#define EM_KECCAK_DECLARE(P)                                                                 \
    Lane P##00, P##01, P##02, P##03, P##04, P##05, P##06, P##07, P##08, P##09, P##10, P##11, \
        P##12, P##13, P##14, P##15, P##16, P##17, P##18, P##19, P##20, P##21, P##22, P##23, P##24

// Applies OP(P##nn, nn, arg) to all 25 lanes (used to load and store a state).
#define EM_KECCAK_FOR_LANES(OP, P, arg) \
    OP(P##00, 0, arg);                  \
    OP(P##01, 1, arg);                  \
    OP(P##02, 2, arg);                  \
    OP(P##03, 3, arg);                  \
    OP(P##04, 4, arg);                  \
    OP(P##05, 5, arg);                  \
    OP(P##06, 6, arg);                  \
    OP(P##07, 7, arg);                  \
    OP(P##08, 8, arg);                  \
    OP(P##09, 9, arg);                  \
    OP(P##10, 10, arg);                 \
    OP(P##11, 11, arg);                 \
    OP(P##12, 12, arg);                 \
    OP(P##13, 13, arg);                 \
    OP(P##14, 14, arg);                 \
    OP(P##15, 15, arg);                 \
    OP(P##16, 16, arg);                 \
    OP(P##17, 17, arg);                 \
    OP(P##18, 18, arg);                 \
    OP(P##19, 19, arg);                 \
    OP(P##20, 20, arg);                 \
    OP(P##21, 21, arg);                 \
    OP(P##22, 22, arg);                 \
    OP(P##23, 23, arg);                 \
    OP(P##24, 24, arg)

// One output row of chi from its five rho/pi lanes b0..b4.
#define EM_KECCAK_CHI_ROW(e0, e1, e2, e3, e4, x0, x1, x2, x3, x4)         \
    do {                                                                  \
        const Lane b0 = (x0), b1 = (x1), b2 = (x2), b3 = (x3), b4 = (x4); \
        e0 = k_chi(b0, b1, b2);                                           \
        e1 = k_chi(b1, b2, b3);                                           \
        e2 = k_chi(b2, b3, b4);                                           \
        e3 = k_chi(b3, b4, b0);                                           \
        e4 = k_chi(b4, b0, b1);                                           \
    } while (0)

// One round from state A into state E with round constant rc; ROW0..ROW4 compute chi for
// output rows y = 0..4 (EM_KECCAK_CHI_ROW, or variants for a lane-complemented state). Output
// lane (X, Y) takes input lane ((X + 3Y) mod 5, X) rotated by its rho offset (pi inverted).
#define EM_KECCAK_ROUND_ROWS(A, E, rc, ROW0, ROW1, ROW2, ROW3, ROW4)                               \
    do {                                                                                           \
        const Lane c0 = k_xor5(A##00, A##05, A##10, A##15, A##20);                                 \
        const Lane c1 = k_xor5(A##01, A##06, A##11, A##16, A##21);                                 \
        const Lane c2 = k_xor5(A##02, A##07, A##12, A##17, A##22);                                 \
        const Lane c3 = k_xor5(A##03, A##08, A##13, A##18, A##23);                                 \
        const Lane c4 = k_xor5(A##04, A##09, A##14, A##19, A##24);                                 \
        const Lane d0 = k_xor(c4, k_rol<1>(c1));                                                   \
        const Lane d1 = k_xor(c0, k_rol<1>(c2));                                                   \
        const Lane d2 = k_xor(c1, k_rol<1>(c3));                                                   \
        const Lane d3 = k_xor(c2, k_rol<1>(c4));                                                   \
        const Lane d4 = k_xor(c3, k_rol<1>(c0));                                                   \
        ROW0(E##00, E##01, E##02, E##03, E##04, k_xor(A##00, d0), k_rol<44>(k_xor(A##06, d1)),     \
             k_rol<43>(k_xor(A##12, d2)), k_rol<21>(k_xor(A##18, d3)),                             \
             k_rol<14>(k_xor(A##24, d4)));                                                         \
        E##00 = k_iota(E##00, rc);                                                                 \
        ROW1(E##05, E##06, E##07, E##08, E##09, k_rol<28>(k_xor(A##03, d3)),                       \
             k_rol<20>(k_xor(A##09, d4)), k_rol<3>(k_xor(A##10, d0)), k_rol<45>(k_xor(A##16, d1)), \
             k_rol<61>(k_xor(A##22, d2)));                                                         \
        ROW2(E##10, E##11, E##12, E##13, E##14, k_rol<1>(k_xor(A##01, d1)),                        \
             k_rol<6>(k_xor(A##07, d2)), k_rol<25>(k_xor(A##13, d3)), k_rol<8>(k_xor(A##19, d4)),  \
             k_rol<18>(k_xor(A##20, d0)));                                                         \
        ROW3(E##15, E##16, E##17, E##18, E##19, k_rol<27>(k_xor(A##04, d4)),                       \
             k_rol<36>(k_xor(A##05, d0)), k_rol<10>(k_xor(A##11, d1)),                             \
             k_rol<15>(k_xor(A##17, d2)), k_rol<56>(k_xor(A##23, d3)));                            \
        ROW4(E##20, E##21, E##22, E##23, E##24, k_rol<62>(k_xor(A##02, d2)),                       \
             k_rol<55>(k_xor(A##08, d3)), k_rol<39>(k_xor(A##14, d4)),                             \
             k_rol<41>(k_xor(A##15, d0)), k_rol<2>(k_xor(A##21, d1)));                             \
    } while (0)

// One plain round (chi as a ^ (~b & c) everywhere).
#define EM_KECCAK_ROUND(A, E, rc)                                                           \
    EM_KECCAK_ROUND_ROWS(A, E, rc, EM_KECCAK_CHI_ROW, EM_KECCAK_CHI_ROW, EM_KECCAK_CHI_ROW, \
                         EM_KECCAK_CHI_ROW, EM_KECCAK_CHI_ROW)

// The whole permutation on state (25 Lanes in memory, read and written through the TU's
// Lane k_load(state, i) and void k_store(state, i, Lane)) with round macro ROUND(A, E, rc):
// loads it into registers, runs 24 rounds two at a time (A->E->A), stores it back.
#define EM_KECCAK_PERMUTE_WITH(state, ROUND)                  \
    do {                                                      \
        EM_KECCAK_DECLARE(A);                                 \
        EM_KECCAK_DECLARE(E);                                 \
        EM_KECCAK_FOR_LANES(EM_KECCAK_LOAD_LANE_, A, state);  \
        for (size_t round_ = 0; round_ < 24; round_ += 2) {   \
            ROUND(A, E, keccak_round_constants[round_]);      \
            ROUND(E, A, keccak_round_constants[round_ + 1]);  \
        }                                                     \
        EM_KECCAK_FOR_LANES(EM_KECCAK_STORE_LANE_, A, state); \
    } while (0)
#define EM_KECCAK_PERMUTE(state) EM_KECCAK_PERMUTE_WITH(state, EM_KECCAK_ROUND)
#define EM_KECCAK_LOAD_LANE_(v, i, state) v = k_load(state, i)
#define EM_KECCAK_STORE_LANE_(v, i, state) k_store(state, i, v)
