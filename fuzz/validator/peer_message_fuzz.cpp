// Fuzzes the guards' wire format and the guard record: parse_message, parse_reply, parse_record,
// and the authentication token parser (PeerAuth::verify_request with the input as the token and
// as the body). Accepted messages must round-trip through the writers unchanged.
#include <cstdint>
#include <string_view>
#include <vector>

#include "../fuzz_check.h"
#include "validator/auth.h"
#include "validator/messages.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace em::validator;
    static JsonParser parser(64 * 1024);
    static JsonParser again(64 * 1024);
    static std::vector<uint8_t> secret(32, 0x5a);
    static PeerAuth auth(secret, "host-b", "host-a", 30'000, 64);
    std::string_view text(reinterpret_cast<const char*>(data), size);
    em::ByteBuffer out(64 * 1024, 1024);
    if (auto m = parse_message(text, parser)) {
        write_message(*m, out);
        auto b = parse_message(out.view(), again);
        FUZZ_CHECK(b && b->epoch == m->epoch && b->type == m->type &&
                   b->from_name() == m->from_name());
    }
    if (auto r = parse_reply(text, parser)) {
        out.clear();
        write_reply(*r, out);
        auto b = parse_reply(out.view(), again);
        FUZZ_CHECK(b && b->epoch == r->epoch && b->granted == r->granted && b->ttl_ms == r->ttl_ms);
    }
    if (auto rec = parse_record(text, parser)) {
        out.clear();
        write_record(*rec, out);
        auto b = parse_record(out.view(), again);
        FUZZ_CHECK(b && *b == *rec);
    }
    auto verified = auth.verify_request("POST", "/v1/peer/beat", "{}", text, 1'700'000'000'000);
    FUZZ_CHECK(!verified);  // nobody can forge a token without the key
    return 0;
}
