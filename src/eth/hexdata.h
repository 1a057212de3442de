// Strict lowercase hex decoding for Engine API DATA and QUANTITY values (^0x[0-9a-f]*$).
//
// Any thread; pure functions, no allocation. The decoder is chosen once from CPUID (AVX2 when
// available, else portable; hexdata_avx2.cpp is compiled with -mavx2 on its own) and can be
// forced for tests. Uppercase digits are rejected: the Engine API's encoding is lowercase.
#pragma once

#include <cstddef>
#include <cstdint>

namespace em::eth {

inline constexpr size_t hex_ok = SIZE_MAX;

enum class HexImpl : uint8_t { portable = 0, avx2 = 1 };

/// Decodes 2*out_bytes lowercase hex digits from `in` into `out`. Returns hex_ok, or the index
/// (into `in`) of the first character that is not [0-9a-f]; `out` is then partly written.
size_t hex_decode_lower(const char* in, uint8_t* out, size_t out_bytes);

/// The portable decoder (the oracle for tests).
size_t hex_decode_lower_portable(const char* in, uint8_t* out, size_t out_bytes);

/// True if this CPU can run `impl`.
bool hex_supported(HexImpl impl);
/// Forces a decoder (must be supported). Call at start-up or in single-threaded tests only.
void hex_force(HexImpl impl);

}  // namespace em::eth
