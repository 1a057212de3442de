// CPU features detected at start-up (CPUID), used to pick the Keccak, hex and JSON kernels and
// reported by `enginemux --version`.
//
// Any thread; detection runs once (thread-safe static) and is immutable afterwards.
#pragma once

namespace em {

struct CpuFeatures {
    bool sse42 = false;
    bool pclmulqdq = false;
    bool popcnt = false;
    bool avx2 = false;  ///< and the OS saves the YMM registers
    bool bmi1 = false;
    bool bmi2 = false;
    bool lzcnt = false;
    bool avx512f = false;  ///< the AVX-512 bits: the CPU has it and the OS saves ZMM and k0-7
    bool avx512dq = false;
    bool avx512cd = false;
    bool avx512bw = false;
    bool avx512vl = false;
    bool avx512vbmi = false;
    bool avx512vbmi2 = false;
};

/// Features of this CPU that the OS has enabled (checks XGETBV for AVX/AVX-512 state).
const CpuFeatures& cpu_features();

}  // namespace em
