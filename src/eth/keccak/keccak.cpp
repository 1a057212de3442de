// Keccak-256 dispatcher: picks the variant once (CPUID) and routes single and batch calls.
#include "eth/keccak/keccak.h"

#include <atomic>

#include "base/assert.h"
#include "base/cpu.h"
#include "eth/keccak/keccak_internal.h"

namespace em::eth {

namespace {
thread_local uint64_t t_permutations = 0;
std::atomic<int> g_selected{-1};
}  // namespace

void keccak_count_permutations(uint64_t n) { t_permutations += n; }
uint64_t keccak_permutations_thread() { return t_permutations; }

const char* keccak_impl_name(KeccakImpl impl) {
    switch (impl) {
        case KeccakImpl::portable: return "portable";
        case KeccakImpl::avx2x4: return "avx2x4";
        case KeccakImpl::avx512x8: return "avx512x8";
    }
    return "unknown";
}

bool keccak_supported(KeccakImpl impl) {
    switch (impl) {
        case KeccakImpl::portable: return true;
        // The SIMD variants are not built yet; see src/eth/keccak/README in a later change.
        case KeccakImpl::avx2x4: return false;
        case KeccakImpl::avx512x8: return false;
    }
    return false;
}

void keccak_force(KeccakImpl impl) {
    EM_ASSERT(keccak_supported(impl));
    g_selected.store(static_cast<int>(impl), std::memory_order_relaxed);
}

KeccakImpl keccak_selected() {
    int s = g_selected.load(std::memory_order_relaxed);
    if (s >= 0) return static_cast<KeccakImpl>(s);
    KeccakImpl best = KeccakImpl::portable;
    if (keccak_supported(KeccakImpl::avx2x4)) best = KeccakImpl::avx2x4;
    if (keccak_supported(KeccakImpl::avx512x8)) best = KeccakImpl::avx512x8;
    g_selected.store(static_cast<int>(best), std::memory_order_relaxed);
    return best;
}

size_t keccak_lanes() {
    switch (keccak_selected()) {
        case KeccakImpl::portable: return 1;
        case KeccakImpl::avx2x4: return 4;
        case KeccakImpl::avx512x8: return 8;
    }
    return 1;
}

void keccak256(std::span<const uint8_t> data, uint8_t out[32]) { keccak256_portable(data, out); }

void keccak256_batch(const std::span<const uint8_t>* msgs, Hash32* outs, size_t count) {
    for (size_t i = 0; i < count; i++) keccak256_portable(msgs[i], outs[i].data());
}

}  // namespace em::eth
