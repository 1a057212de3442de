// Internal to src/base: per-ISA entry points of the hex digit decoder (see hex.h).
#pragma once

#include <cstddef>
#include <cstdint>

namespace em {

/// AVX2 decoder; only call when cpu_features().avx2. Same contract as hex_decode_digits().
size_t hex_decode_digits_avx2(const char* in, uint8_t* out, size_t out_bytes);

}  // namespace em
