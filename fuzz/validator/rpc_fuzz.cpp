// Fuzzes the CometBFT /status and /net_info parsers and the RFC 3339 time parser: no crash, no
// read past the input, an accepted answer has sane values.
#include <cstdint>
#include <string_view>

#include "../fuzz_check.h"
#include "validator/rpc.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace em::validator;
    static JsonParser parser(512 * 1024);
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto status = parse_status(text, parser);
    if (status) {
        FUZZ_CHECK(status->latest_block_height >= 0);
        FUZZ_CHECK(status->pub_key_chars <= NodeStatus::key_chars_max);
    }
    auto peers = parse_net_info(text, parser);
    if (peers) FUZZ_CHECK(*peers >= 0);
    (void)parse_rfc3339_ns(text.substr(0, 64));
    return 0;
}
