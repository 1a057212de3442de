#include "pipeline/gate.h"

#include "base/hex.h"

namespace em::pipeline {

namespace {

/// The string member `key` of an object, as DATA32 (false when absent or malformed).
bool hash_member(simdjson::ondemand::object object, std::string_view key, engine::Hash32& out) {
    std::string_view text;
    if (object.find_field_unordered(key).get_string().get(text) != simdjson::SUCCESS) return false;
    return parse_data(text, out).has_value();
}

}  // namespace

void read_forkchoice_facts(simdjson::ondemand::value params, CallFacts& facts) {
    simdjson::ondemand::array array;
    if (params.get_array().get(array) != simdjson::SUCCESS) return;
    size_t index = 0;
    for (auto element : array) {
        simdjson::ondemand::object object;
        if (element.get_object().get(object) != simdjson::SUCCESS) {
            index++;
            continue;
        }
        if (index == 0) {
            facts.has_head = hash_member(object, "headBlockHash", facts.head);
        } else if (index == 1) {
            std::string_view text;
            if (object.find_field_unordered("timestamp").get_string().get(text) !=
                simdjson::SUCCESS)
                break;
            if (Result<uint64_t> ts = parse_quantity(text)) {
                facts.has_timestamp = true;
                facts.timestamp = *ts;
            }
        }
        if (++index > 1) break;
    }
}

}  // namespace em::pipeline
