// Tampering checks (see tamper.h).
#include "tamper.h"

#include <gtest/gtest.h>

#include <string>

#include "base/arena.h"
#include "eth/header.h"

namespace em::eth::test {

OwnedPayload::OwnedPayload(const NewPayload& source) : payload(source) {
    for (Bytes t : source.payload.transactions) transactions.emplace_back(t.begin(), t.end());
    withdrawals.assign(source.payload.withdrawals.begin(), source.payload.withdrawals.end());
    extra_data.assign(source.payload.extra_data.begin(), source.payload.extra_data.end());
    block_access_list.assign(source.payload.block_access_list.begin(),
                             source.payload.block_access_list.end());
    for (Bytes r : source.execution_requests) requests.emplace_back(r.begin(), r.end());
    relink();
}

void OwnedPayload::relink() {
    transaction_views.clear();
    for (auto& t : transactions) transaction_views.emplace_back(t.data(), t.size());
    request_views.clear();
    for (auto& r : requests) request_views.emplace_back(r.data(), r.size());
    payload.payload.transactions = transaction_views;
    payload.payload.transactions_headroom_bytes = 0;  // vectors have no scratch bytes in front
    payload.payload.withdrawals = withdrawals;
    payload.payload.extra_data = Bytes(extra_data.data(), extra_data.size());
    payload.payload.block_access_list = Bytes(block_access_list.data(), block_access_list.size());
    payload.execution_requests = request_views;
}

namespace {

struct Checker {
    OwnedPayload& owned;
    const Hash32& expected;
    Arena arena{64 << 20};
    size_t tried = 0;

    void expect_changed(const std::string& what) {
        arena.reset();
        auto h = compute_block_hash(owned.payload, arena);
        ASSERT_TRUE(h) << h.error().message();
        tried++;
        EXPECT_NE(*h, expected) << "tampering left the hash unchanged: " << what;
    }

    // Flips bytes of a region (all positions, or a sample of positions_max plus both ends).
    void flip_region(uint8_t* p, size_t n, const std::string& name, size_t positions_max,
                     std::mt19937_64& rng) {
        auto flip_at = [&](size_t i) {
            uint8_t mask = static_cast<uint8_t>(1u << (rng() % 8));
            p[i] ^= mask;
            expect_changed(name + " byte " + std::to_string(i));
            p[i] ^= mask;
        };
        if (n <= positions_max) {
            for (size_t i = 0; i < n; i++) flip_at(i);
            return;
        }
        flip_at(0);
        flip_at(n - 1);
        for (size_t k = 0; k < positions_max; k++) flip_at(rng() % n);
    }
};

template <typename T>
uint8_t* raw(T& x) {
    return reinterpret_cast<uint8_t*>(&x);
}

void tamper_fields(Checker& c, size_t positions_max, std::mt19937_64& rng) {
    NewPayload& p = c.owned.payload;
    ExecutionPayload& e = p.payload;
    auto all = [&](auto& field, const char* name) {
        c.flip_region(raw(field), sizeof field, name, SIZE_MAX, rng);
    };
    all(e.parent_hash, "parentHash");
    all(e.fee_recipient, "feeRecipient");
    all(e.state_root, "stateRoot");
    all(e.receipts_root, "receiptsRoot");
    all(e.logs_bloom, "logsBloom");
    all(e.prev_randao, "prevRandao");
    all(e.block_number, "blockNumber");
    all(e.gas_limit, "gasLimit");
    all(e.gas_used, "gasUsed");
    all(e.timestamp, "timestamp");
    all(e.base_fee_per_gas, "baseFeePerGas");
    c.flip_region(c.owned.extra_data.data(), c.owned.extra_data.size(), "extraData", SIZE_MAX, rng);
    if (p.fork >= Fork::cancun) {
        all(e.blob_gas_used, "blobGasUsed");
        all(e.excess_blob_gas, "excessBlobGas");
        all(p.parent_beacon_block_root, "parentBeaconBlockRoot");
    }
    if (p.op_isthmus) all(e.withdrawals_root, "withdrawalsRoot");
    if (p.fork >= Fork::amsterdam) {
        all(e.slot_number, "slotNumber");
        c.flip_region(c.owned.block_access_list.data(), c.owned.block_access_list.size(),
                      "blockAccessList", positions_max, rng);
    }
    if (c.owned.extra_data.size() < extra_data_bytes_max) {
        c.owned.extra_data.push_back(0);
        c.owned.relink();
        c.expect_changed("extraData + 1 byte");
        c.owned.extra_data.pop_back();
        c.owned.relink();
    }
}

void tamper_transactions(Checker& c, size_t positions_max, std::mt19937_64& rng) {
    auto& txs = c.owned.transactions;
    for (size_t i = 0; i < txs.size(); i++)
        c.flip_region(txs[i].data(), txs[i].size(), "transactions[" + std::to_string(i) + "]",
                      positions_max, rng);
    if (!txs.empty()) {
        ref::B saved = txs.back();
        txs.pop_back();
        c.owned.relink();
        c.expect_changed("dropped the last transaction");
        txs.push_back(saved);
    }
    txs.push_back(ref::B{0x02, 0xc0});
    c.owned.relink();
    c.expect_changed("added a transaction");
    txs.pop_back();
    if (txs.size() >= 2 && txs[0] != txs[1]) {
        std::swap(txs[0], txs[1]);
        c.owned.relink();
        c.expect_changed("swapped transactions 0 and 1");
        std::swap(txs[0], txs[1]);
    }
    c.owned.relink();
}

void tamper_withdrawals(Checker& c, std::mt19937_64& rng) {
    auto& ws = c.owned.withdrawals;
    for (size_t i = 0; i < ws.size(); i++) {
        std::string at = "withdrawals[" + std::to_string(i) + "].";
        c.flip_region(raw(ws[i].index), 8, at + "index", SIZE_MAX, rng);
        c.flip_region(raw(ws[i].validator_index), 8, at + "validatorIndex", SIZE_MAX, rng);
        c.flip_region(ws[i].address.data(), 20, at + "address", SIZE_MAX, rng);
        c.flip_region(raw(ws[i].amount_gwei), 8, at + "amount", SIZE_MAX, rng);
    }
    if (!ws.empty()) {
        Withdrawal saved = ws.back();
        ws.pop_back();
        c.owned.relink();
        c.expect_changed("dropped the last withdrawal");
        ws.push_back(saved);
    }
    ws.push_back(Withdrawal{7, 8, {}, 9});
    c.owned.relink();
    c.expect_changed("added a withdrawal");
    ws.pop_back();
    c.owned.relink();
}

void tamper_requests(Checker& c, std::mt19937_64& rng) {
    auto& rs = c.owned.requests;
    for (size_t i = 0; i < rs.size(); i++)
        c.flip_region(rs[i].data(), rs[i].size(), "executionRequests[" + std::to_string(i) + "]",
                      SIZE_MAX, rng);
    if (!rs.empty()) {
        ref::B saved = rs.back();
        rs.pop_back();
        c.owned.relink();
        c.expect_changed("dropped the last request");
        rs.push_back(saved);
    }
    uint8_t next_type = rs.empty() ? 0 : static_cast<uint8_t>(rs.back()[0] + 1);
    rs.push_back(ref::B{next_type, 0x01, 0x02});
    c.owned.relink();
    c.expect_changed("added a request");
    rs.pop_back();
    c.owned.relink();
}

}  // namespace

size_t check_tampering(const NewPayload& original, const Hash32& expected, size_t positions_max,
                       std::mt19937_64& rng) {
    OwnedPayload owned(original);
    Checker c{owned, expected};
    tamper_fields(c, positions_max, rng);
    tamper_transactions(c, positions_max, rng);
    if (owned.payload.fork >= Fork::shanghai && !owned.payload.op_isthmus)
        tamper_withdrawals(c, rng);
    if (owned.payload.fork >= Fork::prague) tamper_requests(c, rng);
    return c.tried;
}

}  // namespace em::eth::test
