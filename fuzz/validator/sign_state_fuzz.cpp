// Fuzzes the priv_validator_state.json parser. Whatever it accepts must survive the writer and
// parse again to the same state (the guard copies states between hosts this way); the high
// watermark of any accepted state is never below it.
#include <cstdint>
#include <string_view>

#include "../fuzz_check.h"
#include "validator/sign_state.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace em::validator;
    static JsonParser parser(64 * 1024);
    static JsonParser again_parser(64 * 1024);
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto state = parse_sign_state(text, parser);
    if (!state) {
        FUZZ_CHECK(!state.error().message().empty());
        return 0;
    }
    em::ByteBuffer out(64 * 1024, 1024);
    write_sign_state(*state, out);
    FUZZ_CHECK(!out.overflowed());
    auto again = parse_sign_state(out.view(), again_parser);
    FUZZ_CHECK(again.has_value());
    FUZZ_CHECK(again->same_as(*state));
    SignState hwm = high_watermark(*state, &*again, state->hrs.height % 1000, 2);
    FUZZ_CHECK(!(hwm.hrs < state->hrs));
    return 0;
}
