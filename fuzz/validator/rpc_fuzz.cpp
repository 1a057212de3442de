// Fuzzes the CometBFT /status and /net_info parsers and the RFC 3339 time parser: no crash, no
// read past the input, an accepted answer has sane values.
#include <cstdint>
#include <string_view>

#include "validator/rpc.h"

namespace {

void check(bool ok) {
    if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace em::validator;
    static JsonParser parser(512 * 1024);
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto status = parse_status(text, parser);
    if (status) {
        check(status->latest_block_height >= 0);
        check(status->pub_key_chars <= NodeStatus::key_chars_max);
    }
    auto peers = parse_net_info(text, parser);
    if (peers) check(*peers >= 0);
    (void)parse_rfc3339_ns(text.substr(0, 64));
    return 0;
}
