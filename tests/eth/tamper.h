// Tampering checks shared by the unit and testdata suites: a mutable deep copy of a decoded
// NewPayload, and a routine that changes every byte of every header-relevant field (sampled
// within long transactions), drops/adds/swaps list items, and expects the block hash to change.
#pragma once

#include <cstddef>
#include <random>
#include <vector>

#include "eth/payload.h"
#include "reference.h"

namespace em::eth::test {

/// A NewPayload whose byte strings and lists live in vectors owned here (so they can be edited).
struct OwnedPayload {
    explicit OwnedPayload(const NewPayload& source);
    OwnedPayload(const OwnedPayload&) = delete;
    /// Re-points payload's spans at the vectors (after any of them was resized).
    void relink();

    NewPayload payload;
    std::vector<ref::B> transactions;
    std::vector<Bytes> transaction_views;
    std::vector<Withdrawal> withdrawals;
    ref::B extra_data;
    ref::B block_access_list;
    std::vector<ref::B> requests;
    std::vector<Bytes> request_views;
};

/// Applies every tamper to a copy of `original` (whose hash is `expected`) and reports each one
/// that leaves the hash unchanged as a test failure. Returns the number of tampers tried.
size_t check_tampering(const NewPayload& original, const Hash32& expected, size_t positions_max,
                       std::mt19937_64& rng);

}  // namespace em::eth::test
