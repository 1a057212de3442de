// Counts heap allocations (see alloc_counter.h): malloc-family calls are interposed over glibc's
// (operator new goes through malloc), so ByteBuffer growth and library allocations count too.
// Under AddressSanitizer the sanitizer owns malloc: counting is then disabled (reads 0).
#include "alloc_counter.h"

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EM_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define EM_ASAN 1
#endif

namespace {
std::atomic<uint64_t> g_allocations{0};
}

namespace em::bench {
uint64_t allocations_total() {
    return g_allocations.load(std::memory_order_relaxed);
}
#ifdef EM_ASAN
bool allocations_counted() {
    return false;
}
#else
bool allocations_counted() {
    return true;
}
#endif
}  // namespace em::bench

#ifndef EM_ASAN
extern "C" {
void* __libc_malloc(size_t);
void* __libc_calloc(size_t, size_t);
void* __libc_realloc(void*, size_t);
void* __libc_memalign(size_t, size_t);
void __libc_free(void*);

void* malloc(size_t n) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    return __libc_malloc(n);
}
void* calloc(size_t n, size_t m) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    return __libc_calloc(n, m);
}
void* realloc(void* p, size_t n) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    return __libc_realloc(p, n);
}
void* aligned_alloc(size_t align, size_t n) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    return __libc_memalign(align, n);
}
void* memalign(size_t align, size_t n) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    return __libc_memalign(align, n);
}
int posix_memalign(void** out, size_t align, size_t n) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    void* p = __libc_memalign(align, n);
    if (!p) return 12;  // ENOMEM
    *out = p;
    return 0;
}
void free(void* p) {
    __libc_free(p);
}
}
#endif
