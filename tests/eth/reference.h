// An independent, deliberately simple implementation of what src/eth computes, for tests only:
// recursive RLP over std::vector, a recursive Merkle-Patricia trie over a std::map of nibble
// keys, headers built field by field, Crypto++ Keccak_256 and SHA256. Nothing here shares code
// with src/eth, so agreement between the two means something.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace em::eth::ref {

using B = std::vector<uint8_t>;

B keccak(const B& data);
B sha256(const B& data);

B rlp_string(const B& s);
B rlp_uint(uint64_t v);
/// Big-endian bytes of any width as an RLP integer (leading zeros dropped).
B rlp_uint_be(const B& be);
/// A list of already-encoded items.
B rlp_list(const std::vector<B>& items);

/// Ordered trie root: keys rlp(i), values[i].
B trie_root(const std::vector<B>& values);

struct Withdrawal {
    uint64_t index = 0;
    uint64_t validator_index = 0;
    B address;  // 20 bytes
    uint64_t amount = 0;
};

/// One engine_newPayloadV<version> call in plain containers.
struct Payload {
    int version = 1;
    B parent_hash, fee_recipient, state_root, receipts_root, logs_bloom, prev_randao;
    uint64_t block_number = 0, gas_limit = 0, gas_used = 0, timestamp = 0;
    B extra_data;
    B base_fee;  // 32 bytes big-endian
    B block_hash;
    std::vector<B> transactions;
    bool has_withdrawals = false;
    std::vector<Withdrawal> withdrawals;
    uint64_t blob_gas_used = 0, excess_blob_gas = 0;
    bool has_withdrawals_root = false;  // OP Stack Isthmus (V4)
    B withdrawals_root;
    B block_access_list;
    uint64_t slot_number = 0;
    std::vector<B> versioned_hashes;
    B parent_beacon_block_root;
    std::vector<B> requests;
};

/// keccak256(rlp(header)) rebuilt from p.
B block_hash(const Payload& p);

/// The JSON-RPC request text of p (lowercase hex, fields in spec order).
std::string to_request_json(const Payload& p, const std::string& id_json);

/// A random payload for engine_newPayloadV<version>; with_withdrawals only matters for V2,
/// isthmus only for V4. tx_count_max bounds the transactions. block_hash is left random.
Payload random_payload(std::mt19937_64& rng, int version, bool with_withdrawals, bool isthmus,
                       size_t tx_count_max = 40);

B random_bytes(std::mt19937_64& rng, size_t n);
std::string hex(const B& b);       // "0x..." lowercase
B from_hex(const std::string& s);  // accepts with or without 0x

}  // namespace em::eth::ref
