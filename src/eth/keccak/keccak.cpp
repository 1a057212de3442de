// Keccak-256 dispatcher: picks the variant once (CPUID) and routes single and batch calls.
//
// Compiled with baseline flags only: this file runs before the CPUID check, so it must never
// contain AVX instructions; it reaches the SIMD kernels only through the function pointers
// below, after keccak_supported() said yes.
#include "eth/keccak/keccak.h"

#include "base/assert.h"
#include "base/cpu.h"
#include "base/kernel_choice.h"
#include "eth/keccak/keccak_internal.h"

namespace em::eth {

namespace {

thread_local uint64_t t_permutations = 0;

using ManyFn = uint64_t (*)(const uint8_t* const* ptrs, const size_t* lens, uint8_t* const* outs,
                            size_t count);

/// The multi-buffer kernel of impl (nullptr for portable). impl must be supported.
ManyFn many_fn(KeccakImpl impl) {
    switch (impl) {
        case KeccakImpl::portable:
            return nullptr;
#if defined(EM_KECCAK_X86_SIMD)
        case KeccakImpl::avx2x4:
            return &keccak256_many_avx2x4;
        case KeccakImpl::avx512x8:
            return &keccak256_many_avx512x8;
#else
        case KeccakImpl::avx2x4:
        case KeccakImpl::avx512x8:
            break;
#endif
    }
    EM_ASSERT(false && "keccak variant not built for this architecture");
    return nullptr;
}

/// True if single messages on AVX-512 CPUs go through the 8-lane kernel with one lane busy
/// rather than the portable code. Measured (bench_keccak, BM_Keccak256/portable/N vs
/// BM_Keccak256SingleViaKernel/avx512x8/N, AMD EPYC Zen 5): equal within 1-2% at 32..532 bytes,
/// so portable: it never wakes 512-bit units (no frequency-licence drop on Intel server parts).
/// The AVX2 kernel with one lane busy is ~1.7x slower than portable, so it is never used so.
constexpr bool single_avx512_uses_kernel = false;
bool single_uses_kernel(KeccakImpl impl) {
    return impl == KeccakImpl::avx512x8 && single_avx512_uses_kernel;
}

void single_with(KeccakImpl impl, std::span<const uint8_t> data, uint8_t out[32]) {
    if (!single_uses_kernel(impl)) return keccak256_portable(data, out);
    const uint8_t* ptr = data.data();
    size_t len = data.size();
    keccak_count_permutations(many_fn(impl)(&ptr, &len, &out, 1));
}

void batch_with(KeccakImpl impl, const std::span<const uint8_t>* msgs, Hash32* outs, size_t count) {
    ManyFn many = many_fn(impl);
    if (!many || count == 1) {
        for (size_t i = 0; i < count; i++) single_with(impl, msgs[i], outs[i].data());
        return;
    }
    // The kernels take plain arrays; convert the spans a chunk at a time (stack only).
    const uint8_t* ptrs[keccak_batch_chunk_max];
    size_t lens[keccak_batch_chunk_max];
    uint8_t* out_ptrs[keccak_batch_chunk_max];
    for (size_t done = 0; done < count;) {
        size_t n = count - done < keccak_batch_chunk_max ? count - done : keccak_batch_chunk_max;
        for (size_t i = 0; i < n; i++) {
            ptrs[i] = msgs[done + i].data();
            lens[i] = msgs[done + i].size();
            out_ptrs[i] = outs[done + i].data();
        }
        keccak_count_permutations(many(ptrs, lens, out_ptrs, n));
        done += n;
    }
}

}  // namespace

void keccak_count_permutations(uint64_t n) {
    t_permutations += n;
}
uint64_t keccak_permutations_thread() {
    return t_permutations;
}

const char* keccak_impl_name(KeccakImpl impl) {
    switch (impl) {
        case KeccakImpl::portable:
            return "portable";
        case KeccakImpl::avx2x4:
            return "avx2x4";
        case KeccakImpl::avx512x8:
            return "avx512x8";
    }
    return "unknown";
}

bool keccak_supported(KeccakImpl impl) {
    switch (impl) {
        case KeccakImpl::portable:
            return true;
#if defined(EM_KECCAK_X86_SIMD)
        case KeccakImpl::avx2x4:
            return cpu_features().avx2;
        case KeccakImpl::avx512x8:
            return cpu_features().avx512f && cpu_features().avx512vl;
#else
        case KeccakImpl::avx2x4:
        case KeccakImpl::avx512x8:
            return false;
#endif
    }
    return false;
}

namespace {
KernelChoice<KeccakImpl, 3> g_keccak_kernel{
    keccak_supported, {KeccakImpl::avx512x8, KeccakImpl::avx2x4, KeccakImpl::portable}};
}  // namespace

void keccak_force(KeccakImpl impl) {
    g_keccak_kernel.force(impl);
}

KeccakImpl keccak_selected() {
    return g_keccak_kernel.selected();
}

size_t keccak_lanes() {
    switch (keccak_selected()) {
        case KeccakImpl::portable:
            return 1;
        case KeccakImpl::avx2x4:
            return 4;
        case KeccakImpl::avx512x8:
            return 8;
    }
    return 1;
}

void keccak256(std::span<const uint8_t> data, uint8_t out[32]) {
    single_with(keccak_selected(), data, out);
}

void keccak256_batch(const std::span<const uint8_t>* msgs, Hash32* outs, size_t count) {
    batch_with(keccak_selected(), msgs, outs, count);
}

void keccak256_using(KeccakImpl impl, std::span<const uint8_t> data, uint8_t out[32]) {
    EM_ASSERT(keccak_supported(impl));
    single_with(impl, data, out);
}

void keccak256_batch_using(KeccakImpl impl, const std::span<const uint8_t>* msgs, Hash32* outs,
                           size_t count) {
    EM_ASSERT(keccak_supported(impl));
    batch_with(impl, msgs, outs, count);
}

}  // namespace em::eth
