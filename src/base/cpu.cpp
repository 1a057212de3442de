#include "base/cpu.h"

#include <cpuid.h>
#include <cstdint>

namespace em {

static uint64_t xgetbv0() {
    uint32_t eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return (static_cast<uint64_t>(edx) << 32) | eax;
}

static CpuFeatures detect() {
    CpuFeatures f;
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return f;
    f.sse42 = (ecx & (1u << 20)) != 0;
    f.pclmulqdq = (ecx & (1u << 1)) != 0;
    f.popcnt = (ecx & (1u << 23)) != 0;
    unsigned max_extended = __get_cpuid_max(0x80000000u, nullptr);
    if (max_extended >= 0x80000001u) {
        unsigned a, b, c, d;
        __cpuid(0x80000001u, a, b, c, d);
        f.lzcnt = (c & (1u << 5)) != 0;  // ABM: LZCNT
    }
    if (__get_cpuid_max(0, nullptr) >= 7) {
        unsigned a, b, c, d;
        __cpuid_count(7, 0, a, b, c, d);
        f.bmi1 = (b & (1u << 3)) != 0;  // scalar, no OS state needed
        f.bmi2 = (b & (1u << 8)) != 0;
    }
    bool osxsave = (ecx & (1u << 27)) != 0;
    bool avx = (ecx & (1u << 28)) != 0;
    if (!osxsave || !avx) return f;
    uint64_t xcr0 = xgetbv0();
    bool ymm_state = (xcr0 & 0x6) == 0x6;
    bool zmm_state = (xcr0 & 0xe6) == 0xe6;
    if (__get_cpuid_max(0, nullptr) < 7) return f;
    __cpuid_count(7, 0, eax, ebx, ecx, edx);
    f.avx2 = ymm_state && (ebx & (1u << 5));
    f.avx512f = zmm_state && (ebx & (1u << 16));
    f.avx512dq = zmm_state && (ebx & (1u << 17));
    f.avx512cd = zmm_state && (ebx & (1u << 28));
    f.avx512bw = zmm_state && (ebx & (1u << 30));
    f.avx512vl = zmm_state && (ebx & (1u << 31));
    f.avx512vbmi = zmm_state && (ecx & (1u << 1));
    f.avx512vbmi2 = zmm_state && (ecx & (1u << 6));
    return f;
}

const CpuFeatures& cpu_features() {
    static const CpuFeatures features = detect();
    return features;
}

}  // namespace em
