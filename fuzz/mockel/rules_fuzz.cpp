// Fuzzes the mock EL's rule language: parse_rules_text / parse_rule on arbitrary text, then
// RuleSet::match on the parsed set, and glob_match against a recursive reference.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "mockel/rules.h"

namespace {

bool glob_reference(std::string_view p, std::string_view n) {
    if (p.empty()) return n.empty();
    if (p[0] == '*')
        return glob_reference(p.substr(1), n) || (!n.empty() && glob_reference(p, n.substr(1)));
    return !n.empty() && p[0] == n[0] && glob_reference(p.substr(1), n.substr(1));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace em::mockel;
    std::string_view text(reinterpret_cast<const char*>(data), size);
    static RuleSet set;  // ~50 KiB: keep it off the stack
    set.clear();
    size_t line = 0;
    auto parsed = parse_rules_text(text, &set, &line);
    if (!parsed && line == 0) std::abort();  // a failure always names its line
    for (size_t i = 0; i < set.size(); i++) {
        const Rule& r = set[i];
        if (r.pattern_bytes == 0 || r.pattern_bytes > rule_pattern_bytes_max) std::abort();
        // A pattern matches its own text ('*' matches itself).
        if (!glob_match(r.pattern_text(), r.pattern_text())) std::abort();
        if (r.action.validation_error_bytes > rule_text_bytes_max) std::abort();
        if (r.action.huge_bytes > rule_huge_bytes_max) std::abort();
        if (r.action.delay_ms > rule_delay_ms_max) std::abort();
    }
    Action out;
    for (std::string_view m :
         {"engine_newPayloadV1", "eth_chainId", "engine_forkchoiceUpdatedV3", ""})
        (void)set.match(m, &out);
    // Glob differential on short splits of the input: pattern | name.
    size_t bar = text.find('|');
    if (bar != std::string_view::npos && size < 48) {
        std::string_view p = text.substr(0, bar), n = text.substr(bar + 1);
        size_t stars = 0;
        for (char c : p) stars += c == '*';
        if (stars > 4) return 0;  // the reference is exponential in the number of stars
        if (glob_match(p, n) != glob_reference(p, n)) std::abort();
    }
    return 0;
}
