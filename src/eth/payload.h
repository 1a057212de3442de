// The decoded form of an engine_newPayloadV1..V5 call: ExecutionPayload plus the extra params,
// and the fork whose header layout it uses.
//
// Any thread. Plain data: byte strings and lists are views (spans) into memory that the decoder
// took from the caller's em::Arena; they stay valid until that arena is reset. Fixed-size fields
// are held inline.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "base/u256.h"
#include "eth/keccak/keccak.h"
#include "eth/rlp.h"

namespace em::eth {

using Address = std::array<uint8_t, 20>;
using Bloom = std::array<uint8_t, 256>;

/// Header layouts. Osaka adds no header field, so Prague covers Prague and Osaka.
enum class Fork : uint8_t { paris, shanghai, cancun, prague, amsterdam };

/// "paris", "shanghai", "cancun", "prague" or "amsterdam".
const char* fork_name(Fork fork);
/// Number of header fields of the fork: 16, 17, 20, 21 or 23.
size_t fork_header_fields(Fork fork);

/// Most bytes of extraData (Engine API: DATA, 0 to 32 bytes).
inline constexpr size_t extra_data_bytes_max = 32;

/// WithdrawalV1 (amount in Gwei).
struct Withdrawal {
    uint64_t index = 0;
    uint64_t validator_index = 0;
    Address address{};
    uint64_t amount_gwei = 0;
};

/// ExecutionPayloadV1..V4 (field presence depends on the method version).
struct ExecutionPayload {
    Hash32 parent_hash{};
    Address fee_recipient{};
    Hash32 state_root{};
    Hash32 receipts_root{};
    Bloom logs_bloom{};
    Hash32 prev_randao{};
    uint64_t block_number = 0;
    uint64_t gas_limit = 0;
    uint64_t gas_used = 0;
    uint64_t timestamp = 0;
    Bytes extra_data;
    U256 base_fee_per_gas{};
    Hash32 block_hash{};
    std::span<const Bytes> transactions;  ///< EIP-2718 encodings, as given
    /// trie_leaf_headroom_bytes when every non-empty transaction has that many scratch bytes in
    /// front of it (the decoder allocates them; header building encodes trie leaves there
    /// instead of copying the transaction). 0 for transactions from anywhere else.
    size_t transactions_headroom_bytes = 0;
    bool has_withdrawals = false;  ///< V2 (Shanghai) and later
    std::span<const Withdrawal> withdrawals;
    bool has_blob_gas = false;  ///< V3 (Cancun) and later
    uint64_t blob_gas_used = 0;
    uint64_t excess_blob_gas = 0;
    bool has_withdrawals_root = false;  ///< OP Stack Isthmus: used verbatim in the header
    Hash32 withdrawals_root{};
    bool has_block_access_list = false;  ///< V4 payload (Amsterdam)
    Bytes block_access_list;             ///< RLP of the block access list, hashed as given
    uint64_t slot_number = 0;
};

/// One newPayload call: params[0] decoded plus params[1..3] where the version has them.
struct NewPayload {
    uint8_t version = 0;  ///< 1..5 for engine_newPayloadV1..V5
    Fork fork = Fork::paris;
    bool op_isthmus = false;  ///< V4 whose payload carries withdrawalsRoot
    ExecutionPayload payload;
    std::span<const Hash32> versioned_hashes;   ///< params[1] (V3+); not part of the header
    Hash32 parent_beacon_block_root{};          ///< params[2] (V3+)
    std::span<const Bytes> execution_requests;  ///< params[3] (V4+): type byte || data
};

}  // namespace em::eth
