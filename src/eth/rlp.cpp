// Strict RLP encoder and decoder (see rlp.h).
#include "eth/rlp.h"

#include <cstring>

#include "base/assert.h"

namespace em::eth {

namespace {

uint8_t* put_be(uint8_t* out, uint64_t n, size_t bytes) {
    for (size_t i = 0; i < bytes; i++) out[i] = static_cast<uint8_t>(n >> (8 * (bytes - 1 - i)));
    return out + bytes;
}

uint8_t* put_header(uint8_t* out, size_t payload_bytes, uint8_t short_base, uint8_t long_base) {
    if (payload_bytes <= 55) {
        *out = static_cast<uint8_t>(short_base + payload_bytes);
        return out + 1;
    }
    size_t n = rlp_be_length(payload_bytes);
    *out = static_cast<uint8_t>(long_base + n);
    return put_be(out + 1, payload_bytes, n);
}

Bytes strip_leading_zeros(Bytes be) {
    size_t i = 0;
    while (i < be.size() && be[i] == 0) i++;
    return be.subspan(i);
}

Unexpected rlp_error(size_t offset, const char* reason) {
    return failf(Errc::invalid_input, "rlp: offset %zu: %s", offset, reason);
}

// An item whose length reaches past `limit`: past the input, or only past its enclosing list.
Unexpected overrun_error(Bytes input, size_t offset, size_t limit, size_t end) {
    if (limit < input.size() && end <= input.size())
        return rlp_error(offset, "item runs past the end of its list");
    return rlp_error(offset, "length exceeds input");
}

}  // namespace

size_t rlp_uint_be_bytes(Bytes be) {
    return rlp_string_bytes(strip_leading_zeros(be));
}

uint8_t* rlp_put_string_header(uint8_t* out, size_t payload_bytes, uint8_t first) {
    if (payload_bytes == 1 && first < 0x80) return out;
    return put_header(out, payload_bytes, 0x80, 0xb7);
}

uint8_t* rlp_put_string(uint8_t* out, Bytes s) {
    out = rlp_put_string_header(out, s.size(), s.empty() ? 0 : s[0]);
    if (!s.empty()) std::memcpy(out, s.data(), s.size());
    return out + s.size();
}

uint8_t* rlp_put_list_header(uint8_t* out, size_t payload_bytes) {
    return put_header(out, payload_bytes, 0xc0, 0xf7);
}

uint8_t* rlp_put_u64(uint8_t* out, uint64_t v) {
    if (v == 0) {
        *out = 0x80;
        return out + 1;
    }
    if (v < 0x80) {
        *out = static_cast<uint8_t>(v);
        return out + 1;
    }
    size_t n = rlp_be_length(v);
    *out = static_cast<uint8_t>(0x80 + n);
    return put_be(out + 1, v, n);
}

uint8_t* rlp_put_uint_be(uint8_t* out, Bytes be) {
    return rlp_put_string(out, strip_leading_zeros(be));
}

bool rlp_append_string(ByteBuffer& out, Bytes s) {
    char* p = out.prepare(rlp_string_bytes(s));
    if (!p) return false;
    uint8_t* end = rlp_put_string(reinterpret_cast<uint8_t*>(p), s);
    out.commit(static_cast<size_t>(end - reinterpret_cast<uint8_t*>(p)));
    return true;
}

bool rlp_append_list_header(ByteBuffer& out, size_t payload_bytes) {
    char* p = out.prepare(rlp_list_header_bytes(payload_bytes));
    if (!p) return false;
    uint8_t* end = rlp_put_list_header(reinterpret_cast<uint8_t*>(p), payload_bytes);
    out.commit(static_cast<size_t>(end - reinterpret_cast<uint8_t*>(p)));
    return true;
}

bool rlp_append_u64(ByteBuffer& out, uint64_t v) {
    char* p = out.prepare(rlp_u64_bytes(v));
    if (!p) return false;
    uint8_t* end = rlp_put_u64(reinterpret_cast<uint8_t*>(p), v);
    out.commit(static_cast<size_t>(end - reinterpret_cast<uint8_t*>(p)));
    return true;
}

Result<RlpItem> rlp_item_at(Bytes input, size_t offset, size_t limit) {
    EM_ASSERT(limit <= input.size());
    if (offset >= limit) return rlp_error(offset, "unexpected end of input");
    uint8_t b = input[offset];
    RlpItem item;
    item.offset = offset;
    if (b < 0x80) {
        item.payload = input.subspan(offset, 1);
        return item;
    }
    item.is_list = b >= 0xc0;
    uint8_t base = item.is_list ? 0xc0 : 0x80;
    size_t available = limit - offset - 1;
    size_t length;
    if (b - base <= 55) {
        length = b - base;
        item.header_bytes = 1;
        if (length > available) return overrun_error(input, offset, limit, offset + 1 + length);
        if (!item.is_list && length == 1 && input[offset + 1] < 0x80)
            return rlp_error(offset, "single byte below 0x80 must not have a prefix");
    } else {
        size_t length_bytes = b - base - 55;
        if (length_bytes > available) return rlp_error(offset, "length of length exceeds input");
        if (input[offset + 1] == 0) return rlp_error(offset + 1, "leading zero byte in length");
        length = 0;
        for (size_t i = 0; i < length_bytes; i++) length = length << 8 | input[offset + 1 + i];
        if (length <= 55) return rlp_error(offset, "long form used for a length <= 55");
        item.header_bytes = static_cast<uint32_t>(1 + length_bytes);
        if (length > available - length_bytes) {
            size_t end = length > input.size() ? SIZE_MAX : offset + item.header_bytes + length;
            return overrun_error(input, offset, limit, end);
        }
    }
    item.payload = input.subspan(offset + item.header_bytes, length);
    return item;
}

Result<RlpItem> rlp_decode_one(Bytes input) {
    RlpItem item = EM_TRY(rlp_item_at(input, 0, input.size()));
    if (item.end() != input.size()) return rlp_error(item.end(), "trailing bytes after the item");
    return item;
}

namespace {

Result<void> validate_list(Bytes input, const RlpItem& list, uint32_t depth_left) {
    if (depth_left == 0) return rlp_error(list.offset, "nesting too deep");
    RlpListReader reader(input, list);
    while (!reader.done()) {
        RlpItem child = EM_TRY(reader.next());
        if (child.is_list) EM_TRY_VOID(validate_list(input, child, depth_left - 1));
    }
    return {};
}

}  // namespace

Result<void> rlp_validate(Bytes input, uint32_t depth_max) {
    RlpItem root = EM_TRY(rlp_decode_one(input));
    if (root.is_list) EM_TRY_VOID(validate_list(input, root, depth_max));
    return {};
}

Result<uint64_t> rlp_to_u64(const RlpItem& item) {
    if (item.is_list) return rlp_error(item.offset, "expected an integer, got a list");
    if (item.payload.size() > 8) return rlp_error(item.offset, "integer wider than 64 bits");
    if (!item.payload.empty() && item.payload[0] == 0)
        return rlp_error(item.payload_offset(), "leading zero byte in integer");
    uint64_t v = 0;
    for (uint8_t b : item.payload) v = v << 8 | b;
    return v;
}

RlpListReader::RlpListReader(Bytes input, const RlpItem& list)
    : input_(input), cursor_(list.payload_offset()), end_(list.end()) {
    EM_ASSERT(list.is_list && end_ <= input.size());
}

Result<RlpItem> RlpListReader::next() {
    RlpItem item = EM_TRY(rlp_item_at(input_, cursor_, end_));
    cursor_ = item.end();
    return item;
}

}  // namespace em::eth
