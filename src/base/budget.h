// ByteBudget: a bound on the bytes that many holders on several threads may hold at once, with
// reservation semantics: a holder reserves before it takes memory and releases what it reserved
// when done. enginemux has one, for the request bodies every http::Server buffers ([limits]
// buffered_body_bytes_max): the engine shard's listener and the admin API's, on two threads.
//
// Threads: any; try_reserve() and release() are lock-free. The counter is a relaxed atomic: it
// bounds a sum and orders nothing else (no holder reads memory another holder wrote through
// it). Ownership: the daemon owns the budget and it outlives every server using it; each holder
// remembers how much it reserved and releases exactly that. Fixed size, no allocation.
#pragma once

#include <atomic>
#include <cstdint>

namespace em {

class ByteBudget {
  public:
    explicit ByteBudget(uint64_t bytes_max) : bytes_max_(bytes_max) {}
    ByteBudget(const ByteBudget&) = delete;
    ByteBudget& operator=(const ByteBudget&) = delete;

    /// Reserves `bytes` if the total stays within bytes_max(); else reserves nothing and
    /// returns false.
    [[nodiscard]] bool try_reserve(uint64_t bytes) {
        uint64_t held = reserved_.load(std::memory_order_relaxed);
        do {
            if (bytes > bytes_max_ - held) return false;
        } while (!reserved_.compare_exchange_weak(held, held + bytes, std::memory_order_relaxed));
        return true;
    }
    /// Gives back bytes reserved earlier (never more than were reserved).
    void release(uint64_t bytes) { reserved_.fetch_sub(bytes, std::memory_order_relaxed); }
    /// Bytes reserved now (a snapshot, for metrics).
    uint64_t reserved_bytes() const { return reserved_.load(std::memory_order_relaxed); }
    uint64_t bytes_max() const { return bytes_max_; }

  private:
    const uint64_t bytes_max_;
    std::atomic<uint64_t> reserved_{0};
};

}  // namespace em
