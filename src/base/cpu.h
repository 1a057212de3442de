// CPU features detected at start-up (CPUID), used to pick the Keccak variant and reported by
// `enginemux --version`.
//
// Any thread; detection runs once (thread-safe static) and is immutable afterwards.
#pragma once

namespace em {

struct CpuFeatures {
    bool avx2 = false;
    bool bmi2 = false;
    bool avx512f = false;
    bool avx512vl = false;
    bool avx512bw = false;
};

/// Features of this CPU that the OS has enabled (checks XGETBV for AVX/AVX-512 state).
const CpuFeatures& cpu_features();

}  // namespace em
