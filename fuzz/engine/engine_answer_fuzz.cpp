// Fuzz: parsing EL answers (PayloadStatus V1/V2, forkchoiceUpdated V1/V2). Never crashes; an
// accepted answer re-serialises to JSON that simdjson reads, and that our parser reads back to
// the identical value.
//
// Input: byte 0 selects the parser (bit 0: forkchoiceUpdated, bit 1: schema V2); the rest is the
// answer's JSON.
#include <cstdint>
#include <cstdlib>
#include <string>

#include <simdjson.h>

#include "../fuzz_check.h"
#include "engine/payload_status.h"

using namespace em::engine;

namespace {

bool same(const PayloadStatus& a, const PayloadStatus& b) {
    return a.status == b.status && a.has_latest_valid_hash == b.has_latest_valid_hash &&
           (!a.has_latest_valid_hash || a.latest_valid_hash == b.latest_valid_hash) &&
           a.validation_error_json == b.validation_error_json &&
           a.inclusion_list_satisfied == b.inclusion_list_satisfied;
}

void check_json(const em::ByteBuffer& out) {
    static simdjson::dom::parser dom;
    simdjson::dom::element root;
    FUZZ_CHECK(dom.parse(out.data(), out.size()).get(root) == simdjson::SUCCESS);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    static simdjson::ondemand::parser parser;
    static simdjson::ondemand::parser parser2;
    bool forkchoice = data[0] & 1;
    StatusSchema schema = (data[0] & 2) ? StatusSchema::v2 : StatusSchema::v1;
    simdjson::padded_string input(reinterpret_cast<const char*>(data + 1), size - 1);
    em::ByteBuffer out(1 << 20);
    if (!forkchoice) {
        auto s = parse_payload_status(parser, input, schema);
        if (!s) return 0;
        FUZZ_CHECK(write_payload_status(out, *s, schema).has_value());
        check_json(out);
        simdjson::padded_string again(out.view());
        auto back = parse_payload_status(parser2, again, schema);
        FUZZ_CHECK(back.has_value() && same(*s, *back));
        return 0;
    }
    auto f = parse_forkchoice_updated(parser, input, schema);
    if (!f) return 0;
    const PayloadId* id = f->has_payload_id ? &f->payload_id : nullptr;
    FUZZ_CHECK(write_forkchoice_updated(out, f->payload_status, schema, id).has_value());
    check_json(out);
    simdjson::padded_string again(out.view());
    auto back = parse_forkchoice_updated(parser2, again, schema);
    FUZZ_CHECK(back.has_value() && same(f->payload_status, back->payload_status) &&
               back->has_payload_id == f->has_payload_id &&
               (!f->has_payload_id || back->payload_id == f->payload_id));
    return 0;
}
