#include "pipeline/gate.h"

#include "base/hex.h"

namespace em::pipeline {

void read_forkchoice_facts(engine::RequestKernel& requests, size_t entry, CallFacts& facts) {
    std::string_view text;
    facts.has_head = requests.param_member_string(entry, 0, "headBlockHash", &text) &&
                     parse_data(text, facts.head).has_value();
    if (!requests.param_member_string(entry, 1, "timestamp", &text)) return;
    if (Result<uint64_t> ts = parse_quantity(text)) {
        facts.has_timestamp = true;
        facts.timestamp = *ts;
    }
}

}  // namespace em::pipeline
