// Block headers rebuilt from newPayload calls, for every fork, and the block hash
// keccak256(rlp(header)).
//
// Any thread; pure functions. Scratch memory (trie nodes, withdrawal encodings) comes from the
// caller's em::Arena; the header itself is encoded on the stack (at most header_rlp_bytes_max).
// Field order and derivations follow execution-specs' Header (engine-api-notes.md section 3):
// ommersHash = keccak256(rlp([])), difficulty 0, nonce 8 zero bytes, transactionsRoot and
// withdrawalsRoot are ordered trie roots, requestsHash is EIP-7685's SHA-256 over the requests,
// blockAccessListHash = keccak256(blockAccessList bytes). The OP Stack Isthmus variant takes
// withdrawalsRoot verbatim from the payload.
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/arena.h"
#include "base/result.h"
#include "eth/payload.h"

namespace em::eth {

/// Upper bound of rlp(header) for any fork (extraData <= 32 bytes): about 780 bytes.
inline constexpr size_t header_rlp_bytes_max = 1024;

/// keccak256(rlp([])) = 0x1dcc4de8...49347: ommersHash after the merge, and the empty BAL hash.
inline constexpr Hash32 empty_list_hash = {
    0x1d, 0xcc, 0x4d, 0xe8, 0xde, 0xc7, 0x5d, 0x7a, 0xab, 0x85, 0xb5, 0x67, 0xb6, 0xcc, 0xd4, 0x1a,
    0xd3, 0x12, 0x45, 0x1b, 0x94, 0x8a, 0x74, 0x13, 0xf0, 0xa1, 0x42, 0xfd, 0x40, 0xd4, 0x93, 0x47};

/// sha256("") = 0xe3b0c442...b855: requestsHash of a block without requests.
inline constexpr Hash32 empty_requests_hash = {
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55};

/// A post-merge header. Fields after base_fee_per_gas are encoded only from their fork on.
struct Header {
    Fork fork = Fork::paris;
    Hash32 parent_hash{};
    Hash32 ommers_hash = empty_list_hash;
    Address coinbase{};
    Hash32 state_root{};
    Hash32 transactions_root{};
    Hash32 receipts_root{};
    Bloom logs_bloom{};
    uint64_t number = 0;
    uint64_t gas_limit = 0;
    uint64_t gas_used = 0;
    uint64_t timestamp = 0;
    Bytes extra_data;  ///< at most extra_data_bytes_max
    Hash32 mix_hash{};
    U256 base_fee_per_gas{};
    Hash32 withdrawals_root{};          ///< Shanghai
    uint64_t blob_gas_used = 0;         ///< Cancun
    uint64_t excess_blob_gas = 0;       ///< Cancun
    Hash32 parent_beacon_block_root{};  ///< Cancun
    Hash32 requests_hash{};             ///< Prague
    Hash32 block_access_list_hash{};    ///< Amsterdam
    uint64_t slot_number = 0;           ///< Amsterdam
};

/// Size of rlp(header).
size_t header_rlp_bytes(const Header& header);
/// Writes rlp(header) to out (header_rlp_bytes(header) bytes); returns the size.
size_t encode_header(const Header& header, uint8_t* out);
/// keccak256(rlp(header)).
Hash32 header_hash(const Header& header);

/// EIP-7685: sha256(sha256(r_0) || sha256(r_1) || ...) over requests longer than one byte.
Hash32 requests_hash(std::span<const Bytes> requests);

/// rlp([index, validatorIndex, address, amount]) into out; returns the end. Size: see below.
uint8_t* encode_withdrawal(const Withdrawal& w, uint8_t* out);
/// Size of encode_withdrawal(w).
size_t withdrawal_rlp_bytes(const Withdrawal& w);

/// Builds the header of p (computing the tries, requestsHash and BAL hash, batched through
/// keccak256_batch). Errors: too_large when the arena is full.
[[nodiscard]] Result<void> header_from_payload(const NewPayload& p, Arena& arena, Header& out);

/// header_hash(header_from_payload(p)).
[[nodiscard]] Result<Hash32> compute_block_hash(const NewPayload& p, Arena& arena);

}  // namespace em::eth
