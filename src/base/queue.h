// Bounded lock-free queues for cross-thread hand-off (shard <-> shard, shard <-> control).
//
// SpscQueue: exactly one producer thread and one consumer thread.
// MpscQueue: any number of producer threads, one consumer thread (Vyukov's bounded queue).
// Capacity is fixed at construction (rounded up to a power of two) and allocated then; a push
// onto a full queue returns false and changes nothing: the caller decides (each call site
// documents what it does then: fail the request with "busy", or retry on the next loop turn).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <utility>

#include "base/assert.h"

namespace em {

inline constexpr size_t cache_line_bytes = 64;

inline size_t round_up_pow2(size_t n) {
    size_t p = 1;
    while (p < n) p <<= 1;
    return p;
}

/// Single-producer single-consumer bounded ring.
template <typename T>
class SpscQueue {
  public:
    explicit SpscQueue(size_t capacity)
        : mask_(round_up_pow2(capacity < 2 ? 2 : capacity) - 1),
          slots_(std::make_unique<Slot[]>(mask_ + 1)) {}

    /// Producer thread only. False when full (the item is not moved from).
    bool push(T&& item) {
        size_t tail = tail_.load(std::memory_order_relaxed);
        if (tail - head_cache_ > mask_) {
            head_cache_ = head_.load(std::memory_order_acquire);
            if (tail - head_cache_ > mask_) return false;
        }
        new (&slots_[tail & mask_].storage) T(std::move(item));
        tail_.store(tail + 1, std::memory_order_release);
        return true;
    }

    /// Consumer thread only. Empty optional when empty.
    std::optional<T> pop() {
        size_t head = head_.load(std::memory_order_relaxed);
        if (head == tail_cache_) {
            tail_cache_ = tail_.load(std::memory_order_acquire);
            if (head == tail_cache_) return std::nullopt;
        }
        T* p = std::launder(reinterpret_cast<T*>(&slots_[head & mask_].storage));
        std::optional<T> out(std::move(*p));
        p->~T();
        head_.store(head + 1, std::memory_order_release);
        return out;
    }

    /// Approximate number of queued items (any thread; for metrics).
    size_t size_approx() const {
        return tail_.load(std::memory_order_relaxed) - head_.load(std::memory_order_relaxed);
    }
    size_t capacity() const { return mask_ + 1; }

    ~SpscQueue() {
        while (pop()) {
        }
    }

  private:
    struct Slot {
        alignas(T) unsigned char storage[sizeof(T)];
    };
    const size_t mask_;
    std::unique_ptr<Slot[]> slots_;
    alignas(cache_line_bytes) std::atomic<size_t> head_{0};
    size_t tail_cache_ = 0;  // consumer's view of tail
    alignas(cache_line_bytes) std::atomic<size_t> tail_{0};
    size_t head_cache_ = 0;  // producer's view of head
};

/// Multi-producer single-consumer bounded queue (Dmitry Vyukov's bounded MPMC algorithm).
template <typename T>
class MpscQueue {
  public:
    explicit MpscQueue(size_t capacity)
        : mask_(round_up_pow2(capacity < 2 ? 2 : capacity) - 1),
          cells_(std::make_unique<Cell[]>(mask_ + 1)) {
        for (size_t i = 0; i <= mask_; i++) cells_[i].sequence.store(i, std::memory_order_relaxed);
    }

    /// Any thread. False when full (the item is not moved from).
    bool push(T&& item) {
        size_t pos = enqueue_.load(std::memory_order_relaxed);
        Cell* cell;
        for (;;) {
            cell = &cells_[pos & mask_];
            size_t seq = cell->sequence.load(std::memory_order_acquire);
            intptr_t diff = static_cast<intptr_t>(seq) - static_cast<intptr_t>(pos);
            if (diff == 0) {
                if (enqueue_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) break;
            } else if (diff < 0) {
                return false;
            } else {
                pos = enqueue_.load(std::memory_order_relaxed);
            }
        }
        new (&cell->storage) T(std::move(item));
        cell->sequence.store(pos + 1, std::memory_order_release);
        return true;
    }

    /// Consumer thread only.
    std::optional<T> pop() {
        size_t pos = dequeue_.load(std::memory_order_relaxed);
        Cell* cell = &cells_[pos & mask_];
        size_t seq = cell->sequence.load(std::memory_order_acquire);
        if (static_cast<intptr_t>(seq) - static_cast<intptr_t>(pos + 1) < 0) return std::nullopt;
        T* p = std::launder(reinterpret_cast<T*>(&cell->storage));
        std::optional<T> out(std::move(*p));
        p->~T();
        cell->sequence.store(pos + mask_ + 1, std::memory_order_release);
        dequeue_.store(pos + 1, std::memory_order_relaxed);
        return out;
    }

    size_t size_approx() const {
        size_t e = enqueue_.load(std::memory_order_relaxed);
        size_t d = dequeue_.load(std::memory_order_relaxed);
        return e >= d ? e - d : 0;
    }
    size_t capacity() const { return mask_ + 1; }

    ~MpscQueue() {
        while (pop()) {
        }
    }

  private:
    struct Cell {
        std::atomic<size_t> sequence;
        alignas(T) unsigned char storage[sizeof(T)];
    };
    const size_t mask_;
    std::unique_ptr<Cell[]> cells_;
    alignas(cache_line_bytes) std::atomic<size_t> enqueue_{0};
    alignas(cache_line_bytes) std::atomic<size_t> dequeue_{0};
};

}  // namespace em
