// Differential fuzz target: ordered trie roots (several lists and extra messages in one batched
// call, with the selected Keccak variant) against a plain recursive trie over a sorted map of
// nibble keys hashed with the portable Keccak. Input: byte 0 = flags (lists, expansion), then
// values as [length byte][bytes].
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <vector>

#include "base/arena.h"
#include "eth/trie.h"

namespace {

using B = std::vector<uint8_t>;
using em::eth::Bytes;

B keccak(const B& data) {
    B out(32);
    em::eth::keccak256_portable(Bytes(data), out.data());
    return out;
}

B with_header(const B& payload, uint8_t short_base, uint8_t long_base) {
    B out;
    size_t n = payload.size();
    if (n <= 55) {
        out.push_back(static_cast<uint8_t>(short_base + n));
    } else {
        B len;
        for (size_t v = n; v; v >>= 8) len.insert(len.begin(), static_cast<uint8_t>(v));
        out.push_back(static_cast<uint8_t>(long_base + len.size()));
        out.insert(out.end(), len.begin(), len.end());
    }
    out.insert(out.end(), payload.begin(), payload.end());
    return out;
}
B str(const B& s) {
    return s.size() == 1 && s[0] < 0x80 ? s : with_header(s, 0x80, 0xb7);
}
B list(const std::vector<B>& items) {
    B payload;
    for (const auto& i : items) payload.insert(payload.end(), i.begin(), i.end());
    return with_header(payload, 0xc0, 0xf7);
}

using Items = std::vector<std::pair<B, B>>;  // nibbles, value

B hp(const B& nib, size_t from, size_t to, bool leaf) {
    B out;
    size_t i = from;
    uint8_t flag = leaf ? 0x20 : 0x00;
    if ((to - from) % 2)
        out.push_back(static_cast<uint8_t>(flag + 0x10 + nib[i++]));
    else
        out.push_back(flag);
    for (; i < to; i += 2) out.push_back(static_cast<uint8_t>(nib[i] << 4 | nib[i + 1]));
    return out;
}

B node(const Items& items, size_t depth);
B child_ref(const B& enc) {
    return enc.size() < 32 ? enc : str(keccak(enc));
}

B node(const Items& items, size_t depth) {
    if (items.size() == 1)
        return list(
            {str(hp(items[0].first, depth, items[0].first.size(), true)), str(items[0].second)});
    const B& a = items.front().first;
    const B& b = items.back().first;  // sorted: the common prefix of all = that of first and last
    size_t common = 0;
    while (depth + common < a.size() && depth + common < b.size() &&
           a[depth + common] == b[depth + common])
        common++;
    if (common)
        return list(
            {str(hp(a, depth, depth + common, false)), child_ref(node(items, depth + common))});
    std::vector<B> slots(17, B{0x80});
    for (uint8_t n = 0; n < 16; n++) {
        Items sub;
        for (const auto& it : items)
            if (it.first[depth] == n) sub.push_back(it);
        if (!sub.empty()) slots[n] = child_ref(node(sub, depth + 1));
    }
    return list(slots);
}

B reference_root(const std::vector<B>& values) {
    if (values.empty()) return keccak(B{0x80});
    std::map<B, B> sorted;
    for (size_t i = 0; i < values.size(); i++) {
        B key;
        if (i == 0)
            key = {0x80};
        else if (i < 0x80)
            key = {static_cast<uint8_t>(i)};
        else {
            B be;
            for (size_t v = i; v; v >>= 8) be.insert(be.begin(), static_cast<uint8_t>(v));
            key = be;
            key.insert(key.begin(), static_cast<uint8_t>(0x80 + be.size()));
        }
        B nib;
        for (uint8_t k : key) {
            nib.push_back(k >> 4);
            nib.push_back(k & 15);
        }
        sorted[nib] = values[i];
    }
    return keccak(node(Items(sorted.begin(), sorted.end()), 0));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 2 || size > 65536) return 0;
    uint8_t flags = data[0];
    size_t list_count = 1 + flags % 3;
    std::vector<B> parsed;
    for (size_t at = 2; at < size;) {
        size_t len = data[at++];
        if (len > size - at) len = size - at;
        parsed.emplace_back(data + at, data + at + len);
        at += len;
    }
    // Expansion: up to 1100 items derived from the parsed ones (so small inputs reach big tries).
    if ((flags & 0x40) && !parsed.empty()) {
        size_t n = (static_cast<size_t>(data[1]) * 5) % 1101;
        std::vector<B> grown;
        for (size_t i = 0; i < n; i++) {
            B v = parsed[i % parsed.size()];
            v.push_back(static_cast<uint8_t>(i));
            grown.push_back(v);
        }
        parsed = grown;
    }
    std::vector<std::vector<B>> lists(list_count);
    for (size_t i = 0; i < parsed.size(); i++) lists[(i * 7 / 3) % list_count].push_back(parsed[i]);
    std::vector<std::vector<Bytes>> views(list_count);
    std::vector<em::eth::TrieList> tl;
    for (size_t l = 0; l < list_count; l++) {
        for (const auto& v : lists[l]) views[l].emplace_back(v.data(), v.size());
        tl.push_back({views[l].data(), views[l].size()});
    }
    B extra(data, data + size);
    Bytes extras[1] = {Bytes(extra)};
    size_t extra_count = (flags & 0x80) ? 1 : 0;
    static em::Arena arena(32 << 20);
    arena.reset();
    em::eth::Hash32 roots[3];
    em::eth::Hash32 extra_out[1];
    auto r = em::eth::ordered_trie_roots(tl, roots, arena,
                                         std::span<const Bytes>(extras, extra_count), extra_out);
    if (!r) std::abort();
    for (size_t l = 0; l < list_count; l++) {
        B expected = reference_root(lists[l]);
        if (std::memcmp(expected.data(), roots[l].data(), 32) != 0) std::abort();
    }
    if (extra_count && std::memcmp(keccak(extra).data(), extra_out[0].data(), 32) != 0)
        std::abort();
    return 0;
}
