// Header building and block hashes for every fork (see header.h).
#include "eth/header.h"

// OpenSSL's one-shot SHA-256 context (SHA256_Init/Update/Final) lives on the stack and never
// allocates; EVP_DigestInit allocates a provider context on every init (measured: one malloc per
// digest), which the data path cannot afford. The API is deprecated in 3.0 but still provided.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

#include <cstring>

#include "base/assert.h"
#include "eth/trie.h"

namespace em::eth {

const char* fork_name(Fork fork) {
    switch (fork) {
        case Fork::paris:
            return "paris";
        case Fork::shanghai:
            return "shanghai";
        case Fork::cancun:
            return "cancun";
        case Fork::prague:
            return "prague";
        case Fork::amsterdam:
            return "amsterdam";
    }
    return "unknown";
}

size_t fork_header_fields(Fork fork) {
    switch (fork) {
        case Fork::paris:
            return 16;
        case Fork::shanghai:
            return 17;
        case Fork::cancun:
            return 20;
        case Fork::prague:
            return 21;
        case Fork::amsterdam:
            return 23;
    }
    return 0;
}

namespace {

constexpr uint8_t zero_nonce[8] = {};

Bytes bytes_of(const auto& array) {
    return Bytes(array.data(), array.size());
}

// Header fields in order, as a visitor over (kind, value) so that sizing and writing share one
// list. Kinds: fixed/variable byte strings, u64 integers, big-endian integers.
template <typename Visit>
void visit_fields(const Header& h, Visit&& v) {
    v.string(bytes_of(h.parent_hash));
    v.string(bytes_of(h.ommers_hash));
    v.string(bytes_of(h.coinbase));
    v.string(bytes_of(h.state_root));
    v.string(bytes_of(h.transactions_root));
    v.string(bytes_of(h.receipts_root));
    v.string(bytes_of(h.logs_bloom));
    v.u64(0);  // difficulty
    v.u64(h.number);
    v.u64(h.gas_limit);
    v.u64(h.gas_used);
    v.u64(h.timestamp);
    v.string(h.extra_data);
    v.string(bytes_of(h.mix_hash));
    v.string(Bytes(zero_nonce, sizeof zero_nonce));
    v.uint_be(bytes_of(h.base_fee_per_gas.be));
    if (h.fork >= Fork::shanghai) v.string(bytes_of(h.withdrawals_root));
    if (h.fork >= Fork::cancun) {
        v.u64(h.blob_gas_used);
        v.u64(h.excess_blob_gas);
        v.string(bytes_of(h.parent_beacon_block_root));
    }
    if (h.fork >= Fork::prague) v.string(bytes_of(h.requests_hash));
    if (h.fork >= Fork::amsterdam) {
        v.string(bytes_of(h.block_access_list_hash));
        v.u64(h.slot_number);
    }
}

struct Sizer {
    size_t bytes = 0;
    void string(Bytes s) { bytes += rlp_string_bytes(s); }
    void u64(uint64_t x) { bytes += rlp_u64_bytes(x); }
    void uint_be(Bytes be) { bytes += rlp_uint_be_bytes(be); }
};

struct Writer {
    uint8_t* out;
    void string(Bytes s) { out = rlp_put_string(out, s); }
    void u64(uint64_t x) { out = rlp_put_u64(out, x); }
    void uint_be(Bytes be) { out = rlp_put_uint_be(out, be); }
};

size_t header_payload_bytes(const Header& h) {
    EM_ASSERT(h.extra_data.size() <= extra_data_bytes_max);
    Sizer s;
    visit_fields(h, s);
    return s.bytes;
}

}  // namespace

size_t header_rlp_bytes(const Header& header) {
    size_t payload = header_payload_bytes(header);
    return rlp_list_header_bytes(payload) + payload;
}

size_t encode_header(const Header& header, uint8_t* out) {
    size_t payload = header_payload_bytes(header);
    Writer w{rlp_put_list_header(out, payload)};
    visit_fields(header, w);
    size_t n = static_cast<size_t>(w.out - out);
    EM_ASSERT(n == rlp_list_header_bytes(payload) + payload && n <= header_rlp_bytes_max);
    return n;
}

Hash32 header_hash(const Header& header) {
    uint8_t buffer[header_rlp_bytes_max];
    size_t n = encode_header(header, buffer);
    return keccak256(Bytes(buffer, n));
}

Hash32 requests_hash(std::span<const Bytes> requests) {
    if (requests.empty()) return empty_requests_hash;
    SHA256_CTX outer;
    EM_ASSERT(SHA256_Init(&outer) == 1);
    for (Bytes r : requests) {
        if (r.size() <= 1) continue;  // EIP-7685: requests with empty data are left out
        uint8_t digest[32];
        SHA256_CTX inner;
        EM_ASSERT(SHA256_Init(&inner) == 1);
        EM_ASSERT(SHA256_Update(&inner, r.data(), r.size()) == 1);
        EM_ASSERT(SHA256_Final(digest, &inner) == 1);
        EM_ASSERT(SHA256_Update(&outer, digest, sizeof digest) == 1);
    }
    Hash32 out;
    EM_ASSERT(SHA256_Final(out.data(), &outer) == 1);
    return out;
}

size_t withdrawal_rlp_bytes(const Withdrawal& w) {
    size_t payload = rlp_u64_bytes(w.index) + rlp_u64_bytes(w.validator_index) +
                     rlp_string_bytes(bytes_of(w.address)) + rlp_u64_bytes(w.amount_gwei);
    return rlp_list_header_bytes(payload) + payload;
}

uint8_t* encode_withdrawal(const Withdrawal& w, uint8_t* out) {
    size_t payload = rlp_u64_bytes(w.index) + rlp_u64_bytes(w.validator_index) +
                     rlp_string_bytes(bytes_of(w.address)) + rlp_u64_bytes(w.amount_gwei);
    out = rlp_put_list_header(out, payload);
    out = rlp_put_u64(out, w.index);
    out = rlp_put_u64(out, w.validator_index);
    out = rlp_put_string(out, bytes_of(w.address));
    return rlp_put_u64(out, w.amount_gwei);
}

}  // namespace em::eth

namespace em::eth {

namespace {

void copy_payload_fields(const NewPayload& p, Header& h) {
    const ExecutionPayload& e = p.payload;
    h = Header{};
    h.fork = p.fork;
    h.parent_hash = e.parent_hash;
    h.coinbase = e.fee_recipient;
    h.state_root = e.state_root;
    h.receipts_root = e.receipts_root;
    h.logs_bloom = e.logs_bloom;
    h.number = e.block_number;
    h.gas_limit = e.gas_limit;
    h.gas_used = e.gas_used;
    h.timestamp = e.timestamp;
    h.extra_data = e.extra_data;
    h.mix_hash = e.prev_randao;
    h.base_fee_per_gas = e.base_fee_per_gas;
    h.withdrawals_root = e.withdrawals_root;  // replaced below unless OP Stack Isthmus
    h.blob_gas_used = e.blob_gas_used;
    h.excess_blob_gas = e.excess_blob_gas;
    h.parent_beacon_block_root = p.parent_beacon_block_root;
    h.slot_number = e.slot_number;
}

// rlp(withdrawal) for each withdrawal, in the arena.
Result<std::span<const Bytes>> encode_withdrawals(std::span<const Withdrawal> ws, Arena& arena) {
    auto values = arena.alloc_array<Bytes>(ws.size());
    if (!values.data() && !ws.empty()) return fail(Errc::too_large, "withdrawals: arena full");
    for (size_t i = 0; i < ws.size(); i++) {
        size_t n = withdrawal_rlp_bytes(ws[i]);
        auto* out = static_cast<uint8_t*>(arena.alloc(n, 1));
        if (!out) return fail(Errc::too_large, "withdrawals: arena full");
        encode_withdrawal(ws[i], out);
        values[i] = Bytes(out, n);
    }
    return std::span<const Bytes>(values.data(), ws.size());
}

}  // namespace

Result<void> header_from_payload(const NewPayload& p, Arena& arena, Header& h) {
    copy_payload_fields(p, h);
    const ExecutionPayload& e = p.payload;
    // transactionsRoot, withdrawalsRoot and the BAL hash share one level-by-level batch.
    TrieList lists[2] = {
        {e.transactions.data(), e.transactions.size(), e.transactions_headroom_bytes}, {}};
    size_t list_count = 1;
    if (p.fork >= Fork::shanghai && !e.has_withdrawals_root) {
        std::span<const Bytes> ws = EM_TRY(encode_withdrawals(e.withdrawals, arena));
        lists[1] = {ws.data(), ws.size()};
        list_count = 2;
    }
    Bytes extra[1] = {e.block_access_list};
    size_t extra_count = p.fork >= Fork::amsterdam ? 1 : 0;
    Hash32 roots[2];
    Hash32 extra_out[1];
    EM_TRY_VOID(ordered_trie_roots(std::span<const TrieList>(lists, list_count), roots, arena,
                                   std::span<const Bytes>(extra, extra_count), extra_out));
    h.transactions_root = roots[0];
    if (list_count == 2) h.withdrawals_root = roots[1];
    if (extra_count) h.block_access_list_hash = extra_out[0];
    if (p.fork >= Fork::prague) h.requests_hash = requests_hash(p.execution_requests);
    return {};
}

Result<Hash32> compute_block_hash(const NewPayload& p, Arena& arena) {
    Header h;
    EM_TRY_VOID(header_from_payload(p, arena, h));
    return header_hash(h);
}

}  // namespace em::eth
