// RLP (Recursive Length Prefix, Ethereum yellow paper appendix B): a strict encoder and decoder.
//
// Any thread; pure functions, no allocation. The encoder writes into caller-provided memory:
// compute the exact size first with the *_bytes() functions (so a parent list header can be
// written before its children without a copy), then put_*() at a pointer, or append to a
// bounded em::ByteBuffer. The decoder returns views (RlpItem) into the caller's input and
// accepts only canonical encodings: single bytes < 0x80 unprefixed, the short form for lengths
// <= 55, long-form lengths without leading zero bytes, items that fit their parent exactly.
// Every rejection names the byte offset in the input and the reason
// ("rlp: offset 7: leading zero byte in length").
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "base/buffer.h"
#include "base/result.h"

namespace em::eth {

using Bytes = std::span<const uint8_t>;

/// Largest header: 1 prefix byte + 8 length bytes.
inline constexpr size_t rlp_header_bytes_max = 9;
/// Nesting limit of rlp_validate() (and the fuzz round trip); deeper input is rejected.
inline constexpr uint32_t rlp_depth_max = 128;

// ---- sizes -------------------------------------------------------------------------------

/// Number of bytes needed for the big-endian length n (0 for n == 0).
inline size_t rlp_be_length(uint64_t n) {
    return n == 0 ? 0 : (71 - static_cast<size_t>(__builtin_clzll(n))) / 8;
}
/// Header bytes in front of a string payload of `payload_bytes` whose first byte is `first`
/// (0 when it is a single byte < 0x80 that encodes itself).
inline size_t rlp_string_header_bytes(size_t payload_bytes, uint8_t first) {
    if (payload_bytes == 1 && first < 0x80) return 0;
    return payload_bytes <= 55 ? 1 : 1 + rlp_be_length(payload_bytes);
}
/// Encoded size of the byte string s.
inline size_t rlp_string_bytes(Bytes s) {
    return rlp_string_header_bytes(s.size(), s.empty() ? 0 : s[0]) + s.size();
}
/// Header bytes of a list whose children take `payload_bytes`.
inline size_t rlp_list_header_bytes(size_t payload_bytes) {
    return payload_bytes <= 55 ? 1 : 1 + rlp_be_length(payload_bytes);
}
/// Encoded size of the integer v (minimal big-endian; 0 is the empty string 0x80).
inline size_t rlp_u64_bytes(uint64_t v) {
    return v < 0x80 ? 1 : 1 + rlp_be_length(v);
}
/// Encoded size of a big-endian unsigned integer of any width (leading zero bytes dropped).
size_t rlp_uint_be_bytes(Bytes be);

// ---- encoding at a pointer (caller reserved the size computed above) --------------------

/// Writes the header of a string payload (see rlp_string_header_bytes); returns the end.
uint8_t* rlp_put_string_header(uint8_t* out, size_t payload_bytes, uint8_t first);
/// Writes the byte string s; returns the end.
uint8_t* rlp_put_string(uint8_t* out, Bytes s);
/// Writes a list header for `payload_bytes` of children; returns the end.
uint8_t* rlp_put_list_header(uint8_t* out, size_t payload_bytes);
/// Writes the integer v; returns the end.
uint8_t* rlp_put_u64(uint8_t* out, uint64_t v);
/// Writes a big-endian unsigned integer (leading zero bytes dropped); returns the end.
uint8_t* rlp_put_uint_be(uint8_t* out, Bytes be);

// ---- encoding into a ByteBuffer (false when the buffer's bytes_max is reached) ----------

/// Appends the byte string s.
[[nodiscard]] bool rlp_append_string(ByteBuffer& out, Bytes s);
/// Appends a list header for `payload_bytes` of children.
[[nodiscard]] bool rlp_append_list_header(ByteBuffer& out, size_t payload_bytes);
/// Appends the integer v.
[[nodiscard]] bool rlp_append_u64(ByteBuffer& out, uint64_t v);

// ---- decoding ---------------------------------------------------------------------------

/// One decoded item: a view into the input it was decoded from.
struct RlpItem {
    size_t offset = 0;          ///< offset of the item's first (header) byte in the input
    uint32_t header_bytes = 0;  ///< 0 for a single byte < 0x80
    bool is_list = false;
    Bytes payload;  ///< the string's bytes, or the list's concatenated children

    /// Offset one past the item's last byte.
    size_t end() const { return offset + header_bytes + payload.size(); }
    /// Offset of the payload's first byte.
    size_t payload_offset() const { return offset + header_bytes; }
};

/// Decodes the item starting at input[offset]; it must end at or before input[limit].
[[nodiscard]] Result<RlpItem> rlp_item_at(Bytes input, size_t offset, size_t limit);
/// Decodes input as exactly one item (no trailing bytes). Children are not checked.
[[nodiscard]] Result<RlpItem> rlp_decode_one(Bytes input);
/// Checks that input is exactly one item and every nested item is canonical, to depth_max.
[[nodiscard]] Result<void> rlp_validate(Bytes input, uint32_t depth_max = rlp_depth_max);
/// Reads a string item as a canonical integer of at most 8 bytes (no leading zero byte).
[[nodiscard]] Result<uint64_t> rlp_to_u64(const RlpItem& item);

/// Walks the children of one list item in order. Errors carry offsets into the same input.
class RlpListReader {
  public:
    /// `input` is the buffer `list` was decoded from; list.is_list must be true.
    RlpListReader(Bytes input, const RlpItem& list);
    /// True when every child has been read.
    bool done() const { return cursor_ == end_; }
    /// The next child (it must fit inside the list's payload).
    [[nodiscard]] Result<RlpItem> next();

  private:
    Bytes input_;
    size_t cursor_;
    size_t end_;
};

}  // namespace em::eth
