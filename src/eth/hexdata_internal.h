// Internal to src/eth: per-ISA entry points of the hex decoder (see hexdata.h).
#pragma once

#include <cstddef>
#include <cstdint>

namespace em::eth {

/// AVX2 decoder; only call when cpu_features().avx2. Same contract as hex_decode_lower().
size_t hex_decode_lower_avx2(const char* in, uint8_t* out, size_t out_bytes);

}  // namespace em::eth
