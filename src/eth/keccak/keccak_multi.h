// Internal to src/eth/keccak: the multi-buffer Keccak-256 sponge, shared by the AVX2 (4-lane)
// and AVX-512 (8-lane) kernels. Included only by the SIMD translation units.
//
// Any thread; no state outside the call (everything lives on the caller's stack, ~2 KiB).
// KeccakMultiSponge<Kernel> hashes any number of messages of any lengths: each SIMD lane takes
// the next message as soon as its current one is done (its state lane is zeroed), so lanes of
// unequal length never wait for each other and a batch costs about sum(blocks) / lanes
// permutations. A lane's digest is taken right after the permutation of its final block.
//
// Kernel (a type in the including TU's anonymous namespace, so every instantiation here has
// internal linkage and no code compiled with one TU's -m flags is shared with another TU):
//   static constexpr size_t lanes;             N, at most 8
//   void zero();                               all lanes to the zero state
//   void absorb(const uint64_t* block);        XOR word j of lane i, block[j * N + i], j < 17
//   void permute();                            Keccak-f[1600] on every lane
//   void extract(uint64_t* words);             words[k * N + i] = lane i's state word k, k < 4
//   void reset(unsigned lane_mask);            zero the state of the lanes in lane_mask
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "eth/keccak/keccak_internal.h"

namespace em::eth {

template <class Kernel>
class KeccakMultiSponge {
  public:
    static constexpr size_t lanes = Kernel::lanes;
    static_assert(lanes >= 1 && lanes <= 8);

    /// outs[i] (32 bytes) = keccak256(ptrs[i][0..lens[i])) for i < count. Returns the
    /// lane-permutations executed (lanes per permutation call).
    static uint64_t run(const uint8_t* const* ptrs, const size_t* lens, uint8_t* const* outs,
                        size_t count) {
        KeccakMultiSponge sponge(ptrs, lens, outs, count);
        return sponge.run_all();
    }

  private:
    KeccakMultiSponge(const uint8_t* const* ptrs, const size_t* lens, uint8_t* const* outs,
                      size_t count)
        : ptrs_(ptrs), lens_(lens), outs_(outs), count_(count) {}

    uint64_t run_all() {
        kernel_.zero();
        // Idle lanes absorb whatever their column holds; start from zeros, not indeterminate.
        std::memset(block_, 0, sizeof block_);
        for (size_t i = 0; i < lanes; i++) take_next(i);
        uint64_t calls = 0;
        while (active_) {
            unsigned finishing = 0;
            for (size_t i = 0; i < lanes; i++) {
                if (!(active_ >> i & 1u)) continue;
                if (left_[i] >= keccak_rate_bytes) {
                    load_block(i, p_[i]);
                    p_[i] += keccak_rate_bytes;
                    left_[i] -= keccak_rate_bytes;
                } else {
                    load_last_block(i, p_[i], left_[i]);
                    finishing |= 1u << i;
                }
            }
            kernel_.absorb(block_);
            kernel_.permute();
            calls++;
            if (finishing) finish_lanes(finishing);
        }
        return calls * lanes;
    }

    /// Gives lane i the next message (marks it active) or marks it idle.
    bool take_next(size_t i) {
        if (next_ >= count_) {
            active_ &= ~(1u << i);
            return false;
        }
        p_[i] = ptrs_[next_];
        left_[i] = lens_[next_];
        out_[i] = outs_[next_];
        next_++;
        active_ |= 1u << i;
        return true;
    }

    /// Writes the digests of the lanes in `finishing` and refills them.
    void finish_lanes(unsigned finishing) {
        kernel_.extract(digest_);
        unsigned refill = 0;
        for (size_t i = 0; i < lanes; i++) {
            if (!(finishing >> i & 1u)) continue;
            for (size_t k = 0; k < 4; k++) std::memcpy(out_[i] + 8 * k, &digest_[k * lanes + i], 8);
            if (take_next(i)) refill |= 1u << i;
        }
        if (refill) kernel_.reset(refill);
    }

    static uint64_t load64(const uint8_t* p) {
        uint64_t w;
        std::memcpy(&w, p, 8);  // x86_64 only: little-endian
        return w;
    }

    void load_block(size_t lane, const uint8_t* p) {
        for (size_t j = 0; j < keccak_rate_words; j++) block_[j * lanes + lane] = load64(p + 8 * j);
    }

    /// The final (padded) block of a message with n < 136 bytes left at p.
    void load_last_block(size_t lane, const uint8_t* p, size_t n) {
        size_t words = n / 8;
        for (size_t j = 0; j < words; j++) block_[j * lanes + lane] = load64(p + 8 * j);
        uint8_t tail[8] = {};
        if (n % 8) std::memcpy(tail, p + 8 * words, n % 8);
        tail[n % 8] = 0x01;
        block_[words * lanes + lane] = load64(tail);
        for (size_t j = words + 1; j < keccak_rate_words; j++) block_[j * lanes + lane] = 0;
        block_[(keccak_rate_words - 1) * lanes + lane] ^= 0x80ull << 56;
    }

    const uint8_t* const* ptrs_;
    const size_t* lens_;
    uint8_t* const* outs_;
    size_t count_;
    size_t next_ = 0;
    unsigned active_ = 0;
    Kernel kernel_;
    const uint8_t* p_[lanes];
    size_t left_[lanes];
    uint8_t* out_[lanes];
    alignas(64) uint64_t block_[keccak_rate_words * lanes];
    alignas(64) uint64_t digest_[4 * lanes];
};

}  // namespace em::eth
