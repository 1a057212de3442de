// getPayload best-of (see best_of.h).
#include "engine/best_of.h"

#include <utility>

#include "base/hex.h"
#include "jsonrpc/walk.h"

namespace em::engine {
namespace {

namespace od = simdjson::ondemand;

// V2+ answer: reads blockValue and checks executionPayload is an object. False if malformed.
bool read_block_value(od::object& obj, U256& value) {
    bool seen_payload = false;
    bool seen_value = false;
    for (auto field_result : obj) {
        od::field field;
        std::string_view key;
        if (std::move(field_result).get(field) || field.unescaped_key().get(key)) return false;
        if (key == "executionPayload") {
            od::object payload;
            if (seen_payload || field.value().get_object().get(payload)) return false;
            seen_payload = true;
        } else if (key == "blockValue") {
            std::string_view text;
            if (seen_value || field.value().get_string().get(text)) return false;
            auto quantity = parse_quantity_u256(text);
            if (!quantity) return false;
            value = *quantity;
            seen_value = true;
        }
    }
    return seen_payload && seen_value;
}

// Parses one answer; false if malformed. `value` is left zero for V1.
bool read_answer(od::parser& parser, simdjson::padded_string_view json, uint8_t version,
                 U256& value) {
    od::document doc;
    od::object obj;
    if (parser.iterate(json).get(doc) || doc.get_object().get(obj)) return false;
    value = U256{};
    if (version >= 2) {
        if (!read_block_value(obj, value)) return false;
    } else {
        for (auto field_result : obj) {  // walk it once so a broken object is caught
            od::field field;
            if (std::move(field_result).get(field)) return false;
        }
    }
    return jsonrpc::at_document_end(doc);
}

}  // namespace

Result<BestPayload> choose_best_payload(od::parser& parser,
                                        std::span<const BuiltPayloadAnswer> answers,
                                        uint8_t get_payload_version) {
    BestPayload best;
    bool found = false;
    bool best_is_primary = false;
    U256 best_value;
    for (size_t i = 0; i < answers.size(); i++) {
        U256 value;
        if (!read_answer(parser, answers[i].result, get_payload_version, value)) {
            best.malformed++;
            continue;
        }
        bool better = !found || value > best_value ||
                      (value == best_value && answers[i].is_primary && !best_is_primary);
        if (!better) continue;
        found = true;
        best.index = i;
        best_value = value;
        best_is_primary = answers[i].is_primary;
    }
    if (!found) return fail(Errc::not_found, "getPayload: no well-formed answer");
    return best;
}

}  // namespace em::engine
