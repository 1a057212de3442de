// Portable lowercase hex decoder and the CPUID dispatch (see hexdata.h).
#include "eth/hexdata.h"

#include <atomic>

#include "base/assert.h"
#include "base/cpu.h"
#include "eth/hexdata_internal.h"

namespace em::eth {

namespace {

// 0..15 for [0-9a-f], 0xff for everything else (uppercase included).
constexpr auto make_table() {
    struct Table {
        uint8_t v[256];
    } t{};
    for (int i = 0; i < 256; i++) t.v[i] = 0xff;
    for (int i = 0; i < 10; i++) t.v['0' + i] = static_cast<uint8_t>(i);
    for (int i = 0; i < 6; i++) t.v['a' + i] = static_cast<uint8_t>(10 + i);
    return t;
}
constexpr auto hex_table = make_table();

std::atomic<int> g_hex_impl{-1};

}  // namespace

size_t hex_decode_lower_portable(const char* in, uint8_t* out, size_t out_bytes) {
    for (size_t i = 0; i < out_bytes; i++) {
        uint8_t hi = hex_table.v[static_cast<uint8_t>(in[2 * i])];
        uint8_t lo = hex_table.v[static_cast<uint8_t>(in[2 * i + 1])];
        if ((hi | lo) == 0xff) return hi == 0xff ? 2 * i : 2 * i + 1;
        out[i] = static_cast<uint8_t>(hi << 4 | lo);
    }
    return hex_ok;
}

bool hex_supported(HexImpl impl) {
    return impl == HexImpl::portable || cpu_features().avx2;
}

void hex_force(HexImpl impl) {
    EM_ASSERT(hex_supported(impl));
    g_hex_impl.store(static_cast<int>(impl), std::memory_order_relaxed);
}

size_t hex_decode_lower(const char* in, uint8_t* out, size_t out_bytes) {
    int impl = g_hex_impl.load(std::memory_order_relaxed);
    if (impl < 0) {
        impl = static_cast<int>(hex_supported(HexImpl::avx2) ? HexImpl::avx2 : HexImpl::portable);
        g_hex_impl.store(impl, std::memory_order_relaxed);
    }
    if (impl == static_cast<int>(HexImpl::avx2)) return hex_decode_lower_avx2(in, out, out_bytes);
    return hex_decode_lower_portable(in, out, out_bytes);
}

}  // namespace em::eth
