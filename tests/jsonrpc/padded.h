// Test helper: a copy of a JSON text followed by simdjson's 64 bytes of readable padding, as the
// parsers require of received buffers. Views returned by a parser point into it, so keep it alive.
#pragma once

#include <cstring>
#include <string_view>
#include <vector>

namespace em::test {

class Padded {
  public:
    static constexpr size_t padding_bytes = 64;
    explicit Padded(std::string_view text)
        : bytes_(text.size() + padding_bytes, '\0'), size_(text.size()) {
        if (!text.empty()) std::memcpy(bytes_.data(), text.data(), text.size());
    }
    const char* data() const { return bytes_.data(); }
    size_t size() const { return size_; }
    size_t capacity() const { return bytes_.size(); }
    std::string_view view() const { return {bytes_.data(), size_}; }
    /// True if s lies inside the text.
    bool contains(std::string_view s) const {
        return s.data() >= data() && s.data() + s.size() <= data() + size_;
    }

  private:
    std::vector<char> bytes_;
    size_t size_;
};

}  // namespace em::test
