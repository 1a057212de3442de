// Fuzz: the rpc cache's rules read clients' params and ELs' answers (pipeline/rpc_cache.h).
// Never crashes; the rules are deterministic; a key exists only for valid JSON params and
// starts with the method and a NUL; what is stored is what is looked up.
//
// Input: byte 0 picks the finalized block (0xff: none known, else byte * 16); then the method,
// a newline, and the params (or, for answer_final, the answer).
#include <cstdint>
#include <string>
#include <string_view>

#include "../fuzz_check.h"
#include "pipeline/rpc_cache.h"

using namespace em::pipeline::rpc;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    int64_t finalized = data[0] == 0xff ? -1 : int64_t{data[0]} * 16;
    std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
    size_t newline = rest.find('\n');
    std::string_view method = rest.substr(0, newline);
    std::string_view params =
        newline == std::string_view::npos ? std::string_view() : rest.substr(newline + 1);
    std::string padded(params);  // simdjson reads a little past the end of what it is given
    padded.reserve(padded.size() + 64);
    std::string_view p(padded.data(), padded.size());

    Reuse first = classify(method, p, finalized);
    FUZZ_CHECK(classify(method, p, finalized) == first);
    if (first == Reuse::immutable && finalized >= 0)
        FUZZ_CHECK(classify(method, p, finalized + 1) == Reuse::immutable);  // finality only grows
    bool final_answer = answer_final(p, finalized);
    if (final_answer) FUZZ_CHECK(finalized >= 0);

    std::string key;
    if (cache_key(method, p, key)) {
        FUZZ_CHECK(key.size() >= method.size() + 1);
        FUZZ_CHECK(std::string_view(key).substr(0, method.size()) == method);
        FUZZ_CHECK(key[method.size()] == '\0');
        FUZZ_CHECK(key.size() <= method.size() + 1 + p.size());
        static AnswerCache cache(1 << 20);
        cache.insert(key, p);
        em::ByteBuffer out;
        if (key.size() + p.size() <= (1u << 20) / 16) {
            FUZZ_CHECK(cache.lookup(key, out));
            FUZZ_CHECK(out.view() == p);
        }
    }
    return 0;
}
