// KernelChoice: the one CPU-feature dispatcher of the SIMD kernels (Keccak, hex digits): the
// best kernel this CPU supports, chosen at first use, or one forced by tests and benchmarks
// that compare kernels. One choice per process, the same for every thread (as simdjson keeps
// one active implementation).
//
// Threads: any. Racing first uses compute the same answer; a force() in between wins.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>

#include "base/assert.h"

namespace em {

template <typename Impl, size_t N>
class KernelChoice {
  public:
    /// `supported`: whether this CPU can run a kernel; `best_first`: every kernel, the best
    /// first and the baseline (always supported) last.
    constexpr KernelChoice(bool (*supported)(Impl), std::array<Impl, N> best_first)
        : supported_(supported), best_first_(best_first) {}

    Impl selected() {
        int s = selected_.load(std::memory_order_relaxed);
        if (s >= 0) return static_cast<Impl>(s);
        for (Impl impl : best_first_) {
            if (!supported_(impl)) continue;
            int expected = -1;
            selected_.compare_exchange_strong(expected, static_cast<int>(impl),
                                              std::memory_order_relaxed);
            break;
        }
        return static_cast<Impl>(selected_.load(std::memory_order_relaxed));
    }

    /// Uses `impl` from now on (it must be supported).
    void force(Impl impl) {
        EM_ASSERT(supported_(impl));
        selected_.store(static_cast<int>(impl), std::memory_order_relaxed);
    }

  private:
    bool (*supported_)(Impl);
    std::array<Impl, N> best_first_;
    std::atomic<int> selected_{-1};
};

}  // namespace em
