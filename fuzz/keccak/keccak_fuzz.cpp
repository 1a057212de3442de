// Differential fuzzer for Keccak-256: splits the input into up to 8 messages and hashes them
// with every variant this CPU supports (single calls, a batch, and a doubled batch that makes
// the multi-buffer kernels refill lanes), the portable code and the reference; aborts on any
// difference.
//
// Input: byte 0 picks the message count (1..8); then, per message but the last, two bytes give
// its length (little-endian, reduced to what is left); the rest is the last message.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>

#include "eth/keccak/keccak.h"
#include "eth/keccak/keccak_internal.h"

namespace {

using em::eth::Hash32;
using em::eth::KeccakImpl;

constexpr size_t messages_max = 8;

[[noreturn]] void mismatch(const char* what, KeccakImpl impl, size_t index, size_t length) {
    std::fprintf(stderr, "keccak mismatch: %s, variant %s, message %zu (%zu bytes)\n", what,
                 em::eth::keccak_impl_name(impl), index, length);
    std::abort();
}

/// Splits data into messages; returns how many.
size_t split(const uint8_t* data, size_t size, std::span<const uint8_t>* msgs) {
    if (size == 0) return 0;
    size_t count = data[0] % messages_max + 1;
    size_t at = 1;
    for (size_t i = 0; i + 1 < count; i++) {
        size_t want = 0;
        if (at + 2 <= size) {
            want = data[at] | size_t{data[at + 1]} << 8;
            at += 2;
        }
        size_t left = size - (at < size ? at : size);
        size_t len = want % (left + 1);
        msgs[i] = {data + at, len};
        at += len;
    }
    msgs[count - 1] = {data + (at < size ? at : size), size - (at < size ? at : size)};
    return count;
}

void check_variant(KeccakImpl impl, const std::span<const uint8_t>* msgs, size_t count,
                   const Hash32* want) {
    Hash32 got[2 * messages_max];
    for (size_t i = 0; i < count; i++) {
        em::eth::keccak256_using(impl, msgs[i], got[i].data());
        if (got[i] != want[i]) mismatch("single", impl, i, msgs[i].size());
    }
    em::eth::keccak256_batch_using(impl, msgs, got, count);
    for (size_t i = 0; i < count; i++)
        if (got[i] != want[i]) mismatch("batch", impl, i, msgs[i].size());
    // The messages, then the same in reverse: up to 16, so 4/8-lane kernels refill lanes.
    std::span<const uint8_t> doubled[2 * messages_max];
    for (size_t i = 0; i < count; i++) {
        doubled[i] = msgs[i];
        doubled[2 * count - 1 - i] = msgs[i];
    }
    em::eth::keccak256_batch_using(impl, doubled, got, 2 * count);
    for (size_t i = 0; i < 2 * count; i++) {
        size_t m = i < count ? i : 2 * count - 1 - i;
        if (got[i] != want[m]) mismatch("doubled batch", impl, i, doubled[i].size());
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::span<const uint8_t> msgs[messages_max];
    size_t count = split(data, size, msgs);
    Hash32 want[messages_max];
    for (size_t i = 0; i < count; i++) {
        em::eth::keccak256_portable(msgs[i], want[i].data());
        Hash32 ref;
        em::eth::keccak256_reference(msgs[i], ref.data());
        if (ref != want[i])
            mismatch("portable vs reference", KeccakImpl::portable, i, msgs[i].size());
    }
    for (KeccakImpl impl : {KeccakImpl::portable, KeccakImpl::avx2x4, KeccakImpl::avx512x8})
        if (em::eth::keccak_supported(impl)) check_variant(impl, msgs, count, want);
    return 0;
}
