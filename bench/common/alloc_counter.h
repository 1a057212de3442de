// Counts heap allocations (malloc family and operator new, all threads) in this process, so
// benchmarks can report allocations per iteration (the data path must read zero in steady state).
//
// Link bench_common_dep (tests: compile bench/common/alloc_counter.cpp in; no Google Benchmark
// needed). Usage in a benchmark:
//   em::bench::AllocScope scope;  ... loop ...;  state.counters["allocs_per_iter"] =
//       em::bench::per_iteration(scope.allocations(), state.iterations());
#pragma once

#include <cstdint>

namespace em::bench {

/// Total allocations since process start, all threads (0 under AddressSanitizer).
uint64_t allocations_total();
/// False under AddressSanitizer, which owns malloc: nothing is counted then.
bool allocations_counted();

class AllocScope {
  public:
    AllocScope() : start_(allocations_total()) {}
    uint64_t allocations() const { return allocations_total() - start_; }

  private:
    uint64_t start_;
};

/// count / iterations, for a benchmark counter (benchmark::Counter converts from double).
inline double per_iteration(uint64_t count, int64_t iterations) {
    return static_cast<double>(count) / static_cast<double>(iterations ? iterations : 1);
}

}  // namespace em::bench
