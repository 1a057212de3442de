// Fuzz target: a whole request text -> newPayload verification, and the blockhash tool over the
// same text. Never crashes; memory is bounded (input size limit, fixed arena). When a request
// verifies, recomputing the hash from the decoded payload gives the same answer, and so does
// the same text with every "0x" string's digits in upper case (issue 13: the case of the digits
// never changes the bytes).
#include <simdjson.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "../../tests/common/hex_case.h"  // upper_hex, shared with the tests
#include "eth/blockhash_tool.h"
#include "eth/header.h"
#include "eth/verify.h"

namespace {

constexpr size_t input_bytes_max = 1 << 20;

em::eth::VerifierConfig fuzz_config() {
    em::eth::VerifierConfig c;
    c.arena_bytes = 8 << 20;
    c.request_bytes_max = input_bytes_max;
    return c;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size > input_bytes_max) return 0;
    static em::eth::BlockHashVerifier verifier(fuzz_config());
    static em::Arena arena(8 << 20);
    simdjson::padded_string text(reinterpret_cast<const char*>(data), size);
    auto verdict = verifier.verify_request(text);
    if (verdict) {
        arena.reset();
        auto again = em::eth::compute_block_hash(verifier.last_payload(), arena);
        if (!again || *again != verdict->computed) std::abort();
        if (verdict->match != (verdict->computed == verdict->claimed)) std::abort();
        em::eth::Verdict lower = *verdict;
        simdjson::padded_string upper(
            em::test::upper_hex(std::string(reinterpret_cast<const char*>(data), size)));
        auto loud = verifier.verify_request(upper);
        if (!loud || loud->computed != lower.computed || loud->claimed != lower.claimed)
            std::abort();
    }
    em::ByteBuffer out(1 << 20), err(1 << 20);
    int code = em::eth::blockhash_tool(text, out, err, fuzz_config());
    if (code < 0 || code > 2) std::abort();
    if (code == em::eth::blockhash_exit_bad_input && err.empty()) std::abort();
    return 0;
}
