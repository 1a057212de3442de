// Fuzz target: the strict RLP decoder never crashes, and whatever it accepts re-encodes (with
// the product's encoder) to exactly the input bytes; canonical integers round-trip too.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "eth/rlp.h"

namespace {

using em::eth::Bytes;
using em::eth::RlpItem;

// Re-encodes item (decoded from input) into out; returns false on any decode error.
bool reencode(Bytes input, const RlpItem& item, std::vector<uint8_t>& out, int depth) {
    if (!item.is_list) {
        size_t at = out.size();
        out.resize(at + em::eth::rlp_string_bytes(item.payload));
        em::eth::rlp_put_string(out.data() + at, item.payload);
        auto v = em::eth::rlp_to_u64(item);
        if (v) {
            uint8_t buffer[em::eth::rlp_header_bytes_max];
            uint8_t* end = em::eth::rlp_put_u64(buffer, *v);
            size_t n = static_cast<size_t>(end - buffer);
            if (n != item.header_bytes + item.payload.size() ||
                std::memcmp(buffer, input.data() + item.offset, n) != 0)
                std::abort();  // an accepted integer must be its own canonical encoding
        }
        return true;
    }
    if (depth > static_cast<int>(em::eth::rlp_depth_max)) return false;
    std::vector<uint8_t> children;
    em::eth::RlpListReader reader(input, item);
    while (!reader.done()) {
        auto child = reader.next();
        if (!child) return false;
        if (!reencode(input, *child, children, depth + 1)) return false;
    }
    size_t at = out.size();
    out.resize(at + em::eth::rlp_list_header_bytes(children.size()));
    em::eth::rlp_put_list_header(out.data() + at, children.size());
    out.insert(out.end(), children.begin(), children.end());
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    Bytes input(data, size);
    auto valid = em::eth::rlp_validate(input);
    auto root = em::eth::rlp_decode_one(input);
    if (!valid) return 0;
    if (!root) std::abort();  // validate accepted what decode_one rejects
    std::vector<uint8_t> out;
    if (!reencode(input, *root, out, 0)) std::abort();  // validate accepted a bad child
    if (out.size() != size || std::memcmp(out.data(), data, size) != 0) std::abort();
    return 0;
}
