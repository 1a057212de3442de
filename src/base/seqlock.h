// Seqlocked<T>: one value written by one thread and read by any, without locks (a seqlock in
// Boehm's form: the value is held as relaxed atomic words, so a reader racing the writer reads
// stale words, which the sequence check discards, and there is no data race for
// ThreadSanitizer to report). For the shard's records that the admin thread renders: the last
// votes (pipeline/metrics.h VoteLog) and the sync role's clients (pipeline/sync_board.h).
//
// Threads: store() from the one writer thread only; load() from any thread. T must be
// trivially copyable. No allocation.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace em {

template <typename T>
class Seqlocked {
    static_assert(std::is_trivially_copyable_v<T>);

  public:
    /// Writer thread only.
    void store(const T& value) {
        uint64_t seq = sequence_.load(std::memory_order_relaxed);
        sequence_.store(seq + 1, std::memory_order_release);  // odd: being written
        std::atomic_thread_fence(std::memory_order_release);
        uint64_t w[words] = {};
        std::memcpy(w, &value, sizeof value);
        for (size_t i = 0; i < words; i++) words_[i].store(w[i], std::memory_order_relaxed);
        sequence_.store(seq + 2, std::memory_order_release);
    }
    /// Any thread: true with `out` set to a whole value, false when every attempt met a write
    /// in progress (the caller skips it or tries later).
    bool load(T& out, int attempts = 3) const {
        for (int attempt = 0; attempt < attempts; attempt++) {
            uint64_t before = sequence_.load(std::memory_order_acquire);
            if (before & 1) continue;
            uint64_t w[words];
            for (size_t i = 0; i < words; i++) w[i] = words_[i].load(std::memory_order_relaxed);
            std::atomic_thread_fence(std::memory_order_acquire);
            if (sequence_.load(std::memory_order_relaxed) == before) {
                std::memcpy(&out, w, sizeof out);
                return true;
            }
        }
        return false;
    }

  private:
    static constexpr size_t words = (sizeof(T) + 7) / 8;
    std::atomic<uint64_t> sequence_{0};
    std::atomic<uint64_t> words_[words]{};
};

}  // namespace em
