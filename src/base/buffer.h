// ByteBuffer: a contiguous, bounded, reusable byte buffer for building output (HTTP responses,
// JSON-RPC bodies, upstream requests) and for accumulating input.
//
// Owned by one thread. It grows by doubling up to `bytes_max` (a configured limit) and shrinks
// only when its owner asks (shrink_to), so a reused buffer allocates nothing in steady state.
// Appending past bytes_max fails (returns false, sets overflowed()) instead of growing: the
// caller answers "too large".
// The allocation always keeps `padding_bytes` (64) readable bytes past capacity() so the content
// can be handed to simdjson without a copy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <span>
#include <string_view>
#include <utility>

namespace em {

class ByteBuffer {
  public:
    static constexpr size_t padding_bytes = 64;

    explicit ByteBuffer(size_t bytes_max = 64u << 20, size_t initial_bytes = 4096)
        : bytes_max_(bytes_max) {
        reserve(initial_bytes < bytes_max ? initial_bytes : bytes_max);
    }
    ~ByteBuffer() { std::free(data_); }
    ByteBuffer(const ByteBuffer&) = delete;
    ByteBuffer& operator=(const ByteBuffer&) = delete;
    ByteBuffer(ByteBuffer&& o) noexcept { swap(o); }
    ByteBuffer& operator=(ByteBuffer&& o) noexcept {
        swap(o);
        return *this;
    }

    char* data() { return data_; }
    const char* data() const { return data_; }
    size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    size_t capacity() const { return capacity_; }
    size_t bytes_max() const { return bytes_max_; }
    void set_bytes_max(size_t n) { bytes_max_ = n; }
    /// True once an append or reserve was refused for exceeding bytes_max (cleared by clear()).
    bool overflowed() const { return overflowed_; }
    std::string_view view() const { return {data_, size_}; }
    std::span<const uint8_t> bytes() const {
        return {reinterpret_cast<const uint8_t*>(data_), size_};
    }

    void clear() {
        size_ = 0;
        overflowed_ = false;
    }
    /// Ensures capacity >= n (n <= bytes_max). False (and overflowed) if n > bytes_max.
    bool reserve(size_t n) {
        if (n <= capacity_) return true;
        if (n > bytes_max_) {
            overflowed_ = true;
            return false;
        }
        size_t cap = capacity_ ? capacity_ : 256;
        while (cap < n) cap *= 2;
        if (cap > bytes_max_) cap = bytes_max_;
        char* p = static_cast<char*>(std::realloc(data_, cap + padding_bytes));
        if (!p) throw std::bad_alloc();
        data_ = p;
        capacity_ = cap;
        return true;
    }
    bool append(const void* p, size_t n) {
        if (n == 0)
            return true;  // p may be null then (an empty string_view): memcpy must not see it
        if (!reserve(size_ + n)) return false;
        std::memcpy(data_ + size_, p, n);
        size_ += n;
        return true;
    }
    bool append(std::string_view s) { return append(s.data(), s.size()); }
    bool push_back(char c) { return append(&c, 1); }
    /// Appends the decimal text of v.
    bool append_u64(uint64_t v) {
        char tmp[20];
        int n = 0;
        do {
            tmp[19 - n++] = static_cast<char>('0' + v % 10);
            v /= 10;
        } while (v);
        return append(tmp + 20 - n, static_cast<size_t>(n));
    }
    bool append_i64(int64_t v) {
        if (v < 0) {
            if (!push_back('-')) return false;
            return append_u64(static_cast<uint64_t>(0) - static_cast<uint64_t>(v));
        }
        return append_u64(static_cast<uint64_t>(v));
    }
    /// Makes n bytes writable at the end and returns them; commit(k) then adds k of them.
    char* prepare(size_t n) { return reserve(size_ + n) ? data_ + size_ : nullptr; }
    void commit(size_t n) { size_ += n; }
    /// Gives memory back: when capacity() > bytes and the content fits in `bytes`, moves it to a
    /// new allocation of that capacity (plus padding; none for 0) and frees the old one. A fresh
    /// block, not realloc, so the allocator cannot keep the large one in place. Returns true if
    /// it shrank (false also when the new block could not be had: the buffer stays as it was).
    /// Between uses: when the buffer grew past keep_bytes (one large request), empties it and
    /// shrinks it back to initial_bytes, so one large request does not pin its memory.
    void release_if_grown(size_t keep_bytes, size_t initial_bytes) {
        if (capacity_ <= keep_bytes) return;
        clear();
        shrink_to(initial_bytes);
    }
    bool shrink_to(size_t bytes) {
        if (capacity_ <= bytes || size_ > bytes) return false;
        char* p = nullptr;
        if (bytes > 0) {
            p = static_cast<char*>(std::malloc(bytes + padding_bytes));
            if (!p) return false;
            std::memcpy(p, data_, size_);
        }
        std::free(data_);
        data_ = p;
        capacity_ = bytes;
        return true;
    }
    /// Drops the first n bytes (memmove of the rest).
    void consume_front(size_t n) {
        if (n >= size_) {
            size_ = 0;
            return;
        }
        std::memmove(data_, data_ + n, size_ - n);
        size_ -= n;
    }
    void resize(size_t n) {
        if (reserve(n)) size_ = n;
    }

  private:
    void swap(ByteBuffer& o) noexcept {
        std::swap(data_, o.data_);
        std::swap(size_, o.size_);
        std::swap(capacity_, o.capacity_);
        std::swap(bytes_max_, o.bytes_max_);
        std::swap(overflowed_, o.overflowed_);
    }
    char* data_ = nullptr;
    size_t size_ = 0;
    size_t capacity_ = 0;
    size_t bytes_max_ = 0;
    bool overflowed_ = false;
};

}  // namespace em
