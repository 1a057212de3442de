// Ordered Merkle-Patricia trie roots: the root of the (unsecured) trie that maps rlp(i) to
// values[i], as Ethereum uses for transactionsRoot and withdrawalsRoot.
//
// Any thread; scratch memory comes from the caller's em::Arena (nothing else is allocated; the
// caller resets the arena when the request is done). Nodes whose encoding is shorter than 32
// bytes are inlined in their parent; the root is always hashed; an empty list has the root
// keccak256(rlp("")) = 0x56e81f17...b421.
//
// Hashing is done level by level (leaves first): every node of one height, across all the lists
// given to one call, goes through a single keccak256_batch() call, so the 4/8-lane Keccak
// variants hash independent nodes together. Messages that do not belong to a trie (e.g. the
// block access list) can ride along in the first batch.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "base/arena.h"
#include "base/result.h"
#include "eth/keccak/keccak.h"
#include "eth/rlp.h"

namespace em::eth {

/// Most values one trie may hold (keys rlp(i) stay within 4 bytes).
inline constexpr size_t trie_items_max = size_t{1} << 24;

/// keccak256(0x80): the root of an empty trie.
inline constexpr Hash32 empty_trie_root = {
    0x56, 0xe8, 0x1f, 0x17, 0x1b, 0xcc, 0x55, 0xa6, 0xff, 0x83, 0x45, 0xe6, 0x92, 0xc0, 0xf8, 0x6e,
    0x5b, 0x48, 0xe0, 0x1b, 0x99, 0x6c, 0xad, 0xc0, 0x01, 0x62, 0x2f, 0xb5, 0xe3, 0x63, 0xb4, 0x21};

/// Scratch bytes in front of each value that let a leaf be encoded in place (see TrieList).
inline constexpr size_t trie_leaf_headroom_bytes = 24;

/// One list whose ordered trie root is wanted: values[0..count) (views owned by the caller).
struct TrieList {
    const Bytes* values = nullptr;
    size_t count = 0;
    /// When trie_leaf_headroom_bytes, every non-empty value has that many writable scratch bytes
    /// right in front of it: leaves are then encoded there, around the value, without copying it
    /// (the newPayload decoder allocates transactions that way). 0: values are copied.
    size_t headroom_bytes = 0;
};

/// roots[i] = ordered trie root of lists[i]; extra_outs[j] = keccak256(extra[j]). Errors:
/// too_large when a list exceeds trie_items_max or the arena is full.
[[nodiscard]] Result<void> ordered_trie_roots(std::span<const TrieList> lists, Hash32* roots,
                                              Arena& arena, std::span<const Bytes> extra = {},
                                              Hash32* extra_outs = nullptr);

/// The ordered trie root of one list.
[[nodiscard]] Result<Hash32> ordered_trie_root(const Bytes* values, size_t count, Arena& arena);

}  // namespace em::eth
