// Arena: a fixed-capacity bump allocator for per-request scratch memory.
//
// Owned and used by one thread. Memory is allocated once at construction; alloc() never grows
// it and returns nullptr when full (the caller turns that into a "too large" error). reset()
// frees everything at once, at the end of a request.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <span>

namespace em {

class Arena {
  public:
    explicit Arena(size_t capacity_bytes)
        : data_(static_cast<uint8_t*>(std::aligned_alloc(64, round64(capacity_bytes)))),
          capacity_(round64(capacity_bytes)) {
        if (!data_) throw std::bad_alloc();
    }
    ~Arena() { std::free(data_); }
    Arena(const Arena&) = delete;
    Arena& operator=(const Arena&) = delete;

    /// Aligned bytes, or nullptr when the arena cannot fit them.
    void* alloc(size_t bytes, size_t align = alignof(std::max_align_t)) {
        size_t at = (used_ + align - 1) & ~(align - 1);
        if (at > capacity_ || bytes > capacity_ - at) return nullptr;
        used_ = at + bytes;
        if (used_ > high_water_) high_water_ = used_;
        return data_ + at;
    }
    /// An uninitialised array of n trivially-constructible T, or an empty span when full.
    template <typename T>
    std::span<T> alloc_array(size_t n) {
        void* p = alloc(n * sizeof(T), alignof(T));
        if (!p) return {};
        return {static_cast<T*>(p), n};
    }
    void reset() { used_ = 0; }
    size_t used() const { return used_; }
    size_t capacity() const { return capacity_; }
    size_t high_water() const { return high_water_; }

  private:
    static size_t round64(size_t n) { return (n + 63) & ~size_t{63}; }
    uint8_t* data_;
    size_t capacity_;
    size_t used_ = 0;
    size_t high_water_ = 0;
};

}  // namespace em
