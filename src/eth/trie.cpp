// Ordered Merkle-Patricia trie roots, hashed level by level in keccak256_batch() calls.
//
// Keys rlp(0), rlp(1), ... are generated in sorted (nibble-lexicographic) order: 1..127, 0,
// 128.. (rlp(0) = 0x80 sorts after 0x7f; longer keys start with 0x81, 0x82, ...). RLP is a
// prefix-free code, so no key is a prefix of another and branch nodes never carry a value.
// The trie is built recursively over sorted key ranges (depth <= 2 * key bytes), each node's
// height is 1 + its tallest child's, and nodes are encoded and hashed in order of height.
#include "eth/trie.h"

#include <cstring>

#include "base/assert.h"

namespace em::eth {

namespace {

constexpr size_t key_nibbles_max = 10;  // rlp(i) for i < 2^32: at most 5 bytes
constexpr uint32_t no_child = UINT32_MAX;
constexpr size_t height_max = 2 * key_nibbles_max + 2;

enum class Kind : uint8_t { leaf, extension, branch };

struct Key {
    uint8_t nibbles[key_nibbles_max];
    uint8_t length;
};

struct Node {
    Kind kind;
    uint8_t depth;     // nibble offset at which this node's path starts
    uint8_t path_len;  // leaf/extension: nibbles in the path
    uint8_t height;    // 0 for leaves
    uint32_t key;      // sorted key whose nibbles give the path
    uint32_t link;     // leaf: value index; extension: child node; branch: first of 16 slots
    uint32_t enc_len;
    bool hashed;
    const uint8_t* enc;   // the node's RLP encoding
    const uint8_t* hash;  // keccak256(enc) when hashed
};

struct Trie {
    const Bytes* values;
    size_t headroom_bytes;
    uint32_t count;
    Key* keys;
    uint32_t* order;  // order[k] = index of the value whose key sorts k-th
    Node* nodes;
    uint32_t node_count;
    uint32_t* slots;
    uint32_t slot_count;
    uint32_t root;
};

// Writes the nibbles of rlp(index) into k (in place: returning a Key by value costs
// store-forwarding stalls that showed up as a third of the trie's own time).
void make_key(uint32_t index, Key& k) {
    uint8_t bytes[5];
    size_t n;
    if (index == 0) {
        bytes[0] = 0x80;
        n = 1;
    } else if (index < 0x80) {
        bytes[0] = static_cast<uint8_t>(index);
        n = 1;
    } else {
        size_t len = rlp_be_length(index);
        bytes[0] = static_cast<uint8_t>(0x80 + len);
        for (size_t i = 0; i < len; i++)
            bytes[1 + i] = static_cast<uint8_t>(index >> (8 * (len - 1 - i)));
        n = 1 + len;
    }
    for (size_t i = 0; i < n; i++) {
        k.nibbles[2 * i] = bytes[i] >> 4;
        k.nibbles[2 * i + 1] = bytes[i] & 15;
    }
    k.length = static_cast<uint8_t>(2 * n);
}

uint32_t build(Trie& t, uint32_t lo, uint32_t hi, uint8_t depth) {
    uint32_t id = t.node_count++;
    Node& node = t.nodes[id];
    node = Node{};
    node.depth = depth;
    node.key = lo;
    const Key& first = t.keys[lo];
    if (hi - lo == 1) {
        node.kind = Kind::leaf;
        node.path_len = static_cast<uint8_t>(first.length - depth);
        node.link = t.order[lo];
        return id;
    }
    const Key& last = t.keys[hi - 1];
    uint8_t common = 0;
    while (depth + common < first.length && depth + common < last.length &&
           first.nibbles[depth + common] == last.nibbles[depth + common])
        common++;
    EM_ASSERT(depth + common < first.length);  // keys are prefix-free
    if (common > 0) {
        node.kind = Kind::extension;
        node.path_len = common;
        node.link = build(t, lo, hi, static_cast<uint8_t>(depth + common));
        node.height = static_cast<uint8_t>(t.nodes[node.link].height + 1);
        return id;
    }
    node.kind = Kind::branch;
    node.link = t.slot_count;
    t.slot_count += 16;
    for (int i = 0; i < 16; i++) t.slots[node.link + i] = no_child;
    uint8_t height = 0;
    uint32_t run = lo;
    while (run < hi) {
        uint8_t nibble = t.keys[run].nibbles[depth];
        uint32_t end = run + 1;
        while (end < hi && t.keys[end].nibbles[depth] == nibble) end++;
        uint32_t child = build(t, run, end, static_cast<uint8_t>(depth + 1));
        t.slots[node.link + nibble] = child;
        if (t.nodes[child].height > height) height = t.nodes[child].height;
        run = end;
    }
    node.height = static_cast<uint8_t>(height + 1);
    return id;
}

Result<void> prepare(Trie& t, const TrieList& list, Arena& arena) {
    if (list.count > trie_items_max)
        return failf(Errc::too_large, "trie: %zu items (limit %zu)", list.count, trie_items_max);
    uint32_t n = static_cast<uint32_t>(list.count);
    t.values = list.values;
    t.headroom_bytes = list.headroom_bytes;
    t.count = n;
    t.keys = arena.alloc_array<Key>(n).data();
    t.order = arena.alloc_array<uint32_t>(n).data();
    t.nodes = arena.alloc_array<Node>(3 * size_t{n}).data();
    t.slots = arena.alloc_array<uint32_t>(16 * size_t{n}).data();
    if (!t.keys || !t.order || !t.nodes || !t.slots)
        return fail(Errc::too_large, "trie: scratch arena full");
    uint32_t k = 0;
    for (uint32_t i = 1; i < n && i < 0x80; i++) t.order[k++] = i;
    t.order[k++] = 0;
    for (uint32_t i = 0x80; i < n; i++) t.order[k++] = i;
    for (uint32_t j = 0; j < n; j++) make_key(t.order[j], t.keys[j]);
    t.node_count = 0;
    t.slot_count = 0;
    t.root = build(t, 0, n, 0);
    return {};
}

// Hex-prefix encoding of the node's path (Yellow Paper appendix C) into out; returns its size.
size_t hex_prefix(const Trie& t, const Node& node, bool leaf,
                  uint8_t out[key_nibbles_max / 2 + 1]) {
    const uint8_t* nib = t.keys[node.key].nibbles + node.depth;
    size_t len = node.path_len;
    uint8_t flag = leaf ? 2 : 0;
    size_t o = 0;
    size_t i = 0;
    if (len % 2) {
        out[o++] = static_cast<uint8_t>((flag + 1) << 4 | nib[0]);
        i = 1;
    } else {
        out[o++] = static_cast<uint8_t>(flag << 4);
    }
    for (; i < len; i += 2) out[o++] = static_cast<uint8_t>(nib[i] << 4 | nib[i + 1]);
    return o;
}

size_t ref_bytes(const Node& child) {
    return child.hashed ? 33 : child.enc_len;
}

uint8_t* put_ref(uint8_t* out, const Node& child) {
    if (child.hashed) {
        *out = 0xa0;
        std::memcpy(out + 1, child.hash, 32);
        return out + 33;
    }
    std::memcpy(out, child.enc, child.enc_len);
    return out + child.enc_len;
}

// Writes the leaf's list header, path and value header into the headroom in front of value,
// so that the encoding ends exactly where the value does.
void encode_leaf_in_place(Node& node, size_t payload, size_t total, Bytes path, Bytes value) {
    auto* start = const_cast<uint8_t*>(value.data()) - (total - value.size());
    uint8_t* out = rlp_put_list_header(start, payload);
    out = rlp_put_string(out, path);
    out = rlp_put_string_header(out, value.size(), value[0]);
    EM_ASSERT(out == value.data());
    node.enc = start;
    node.enc_len = static_cast<uint32_t>(total);
}

Result<void> encode(const Trie& t, Node& node, Arena& arena) {
    uint8_t hp[key_nibbles_max / 2 + 1];
    size_t payload = 0;
    Bytes value;
    Bytes path;
    if (node.kind == Kind::branch) {
        for (int i = 0; i < 16; i++) {
            uint32_t c = t.slots[node.link + i];
            payload += c == no_child ? 1 : ref_bytes(t.nodes[c]);
        }
        payload += 1;  // empty value
    } else {
        path = Bytes(hp, hex_prefix(t, node, node.kind == Kind::leaf, hp));
        payload = rlp_string_bytes(path);
        if (node.kind == Kind::leaf) {
            value = t.values[node.link];
            payload += rlp_string_bytes(value);
        } else {
            payload += ref_bytes(t.nodes[node.link]);
        }
    }
    size_t total = rlp_list_header_bytes(payload) + payload;
    if (node.kind == Kind::leaf && t.headroom_bytes >= trie_leaf_headroom_bytes && !value.empty() &&
        total - value.size() <= t.headroom_bytes) {
        encode_leaf_in_place(node, payload, total, path, value);
        return {};
    }
    auto* out = static_cast<uint8_t*>(arena.alloc(total, 1));
    if (!out) return fail(Errc::too_large, "trie: scratch arena full");
    node.enc = out;
    node.enc_len = static_cast<uint32_t>(total);
    out = rlp_put_list_header(out, payload);
    if (node.kind == Kind::branch) {
        for (int i = 0; i < 16; i++) {
            uint32_t c = t.slots[node.link + i];
            if (c == no_child) {
                *out++ = 0x80;
            } else {
                out = put_ref(out, t.nodes[c]);
            }
        }
        *out++ = 0x80;
    } else if (node.kind == Kind::leaf) {
        out = rlp_put_string(out, path);
        out = rlp_put_string(out, value);
    } else {
        out = rlp_put_string(out, path);
        out = put_ref(out, t.nodes[node.link]);
    }
    EM_ASSERT(out == node.enc + total);
    return {};
}

struct NodeRef {
    uint32_t trie;
    uint32_t node;
};

}  // namespace

Result<void> ordered_trie_roots(std::span<const TrieList> lists, Hash32* roots, Arena& arena,
                                std::span<const Bytes> extra, Hash32* extra_outs) {
    EM_ASSERT(extra.empty() || extra_outs);
    auto tries = arena.alloc_array<Trie>(lists.size());
    if (!tries.data() && !lists.empty()) return fail(Errc::too_large, "trie: scratch arena full");
    size_t total = 0;
    size_t per_height[height_max] = {};
    for (size_t i = 0; i < lists.size(); i++) {
        tries[i].count = 0;
        tries[i].node_count = 0;
        if (lists[i].count == 0) {
            roots[i] = empty_trie_root;
            continue;
        }
        EM_TRY_VOID(prepare(tries[i], lists[i], arena));
        total += tries[i].node_count;
        for (uint32_t n = 0; n < tries[i].node_count; n++) per_height[tries[i].nodes[n].height]++;
    }
    // Counting sort of all nodes by height; then one keccak batch per height.
    size_t start[height_max + 1] = {};
    for (size_t h = 0; h < height_max; h++) start[h + 1] = start[h] + per_height[h];
    size_t slots = total + extra.size();
    auto sorted = arena.alloc_array<NodeRef>(total);
    auto msgs = arena.alloc_array<Bytes>(slots);
    auto outs = arena.alloc_array<Hash32>(slots);
    auto targets = arena.alloc_array<NodeRef>(slots);
    if (slots > 0 && (!msgs.data() || !outs.data() || !targets.data() || (total && !sorted.data())))
        return fail(Errc::too_large, "trie: scratch arena full");
    size_t fill[height_max];
    std::memcpy(fill, start, sizeof fill);
    for (size_t i = 0; i < lists.size(); i++)
        for (uint32_t n = 0; n < tries[i].node_count; n++)
            sorted[fill[tries[i].nodes[n].height]++] = {static_cast<uint32_t>(i), n};
    constexpr uint32_t extra_tag = UINT32_MAX;
    size_t batch = 0;
    for (size_t e = 0; e < extra.size(); e++) {
        msgs[batch] = extra[e];
        targets[batch++] = {extra_tag, static_cast<uint32_t>(e)};
    }
    size_t at = 0;  // first slot of this height's batch in msgs/outs/targets
    for (size_t h = 0; h < height_max; h++) {
        for (size_t s = start[h]; s < start[h + 1]; s++) {
            Trie& t = tries[sorted[s].trie];
            Node& node = t.nodes[sorted[s].node];
            EM_TRY_VOID(encode(t, node, arena));
            if (node.enc_len >= 32 || sorted[s].node == t.root) {
                msgs[at + batch] = Bytes(node.enc, node.enc_len);
                targets[at + batch++] = sorted[s];
            }
        }
        if (batch == 0) continue;
        keccak256_batch(msgs.data() + at, outs.data() + at, batch);
        for (size_t b = at; b < at + batch; b++) {
            NodeRef r = targets[b];
            if (r.trie == extra_tag) {
                extra_outs[r.node] = outs[b];
                continue;
            }
            Node& node = tries[r.trie].nodes[r.node];
            node.hashed = true;
            node.hash = outs[b].data();
            if (r.node == tries[r.trie].root) roots[r.trie] = outs[b];
        }
        at += batch;
        batch = 0;
    }
    return {};
}

Result<Hash32> ordered_trie_root(const Bytes* values, size_t count, Arena& arena) {
    Hash32 root;
    TrieList list{values, count};
    EM_TRY_VOID(ordered_trie_roots(std::span<const TrieList>(&list, 1), &root, arena));
    return root;
}

}  // namespace em::eth
