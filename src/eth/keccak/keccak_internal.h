// Internal to src/eth/keccak: shared constants and the per-variant entry points.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "eth/keccak/keccak.h"

namespace em::eth {

inline constexpr size_t keccak_rate_bytes = 136;

/// In-place Keccak-f[1600] on a 25-lane state (portable).
void keccak_f1600_portable(uint64_t state[25]);

/// Adds n to this thread's permutation counter.
void keccak_count_permutations(uint64_t n);

}  // namespace em::eth
