#include "mockel/rules.h"

#include <cstdio>
#include <cstring>

#include "base/hex.h"
#include "mockel/amounts.h"

namespace em::mockel {

namespace {

constexpr bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

constexpr bool is_pattern_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '*';
}

// Keys, in the order of the bits that record which were seen.
enum Key : uint32_t {
    k_status,
    k_lvh,
    k_validation_error,
    k_error,
    k_delay,
    k_hang,
    k_close,
    k_reset,
    k_garbage,
    k_http,
    k_huge,
    k_wrong_id,
    k_no_payload_id,
    k_syncing,
    k_block_value,
    k_times,
    k_after,
    k_bad_hash,
    k_count,
};

constexpr std::string_view key_names[k_count] = {
    "status",        "lvh",     "validation_error", "error", "delay", "hang",
    "close",         "reset",   "garbage",          "http",  "huge",  "wrong_id",
    "no_payload_id", "syncing", "block_value",      "times", "after", "bad_hash",
};

constexpr bool key_takes_value(uint32_t k) {
    return !(k == k_hang || k == k_close || k == k_reset || k == k_garbage || k == k_wrong_id ||
             k == k_no_payload_id || k == k_syncing || k == k_bad_hash);
}

constexpr uint32_t bit(uint32_t k) {
    return uint32_t{1} << k;
}

/// "<action>: <problem>" with the action shortened so the message fits an Error.
Unexpected action_error(std::string_view action, const char* problem) {
    constexpr int shown_max = 40;
    int shown = action.size() > shown_max ? shown_max : static_cast<int>(action.size());
    return failf(Errc::invalid_input, "'%.*s%s': %s", shown, action.data(),
                 action.size() > shown_max ? "..." : "", problem);
}

Result<uint64_t> parse_decimal(std::string_view action, std::string_view v, uint64_t max) {
    if (v.empty()) return action_error(action, "needs a number");
    uint64_t n = 0;
    for (char c : v) {
        if (c < '0' || c > '9') return action_error(action, "not a decimal number");
        if (n > (max - static_cast<uint64_t>(c - '0')) / 10)
            return action_error(action, "number too large");
        n = n * 10 + static_cast<uint64_t>(c - '0');
    }
    return n;
}

/// Unescapes "\," and "\\" into out (bytes_max); other escapes are errors.
Result<uint16_t> unescape_text(std::string_view action, std::string_view v, char* out) {
    size_t n = 0;
    for (size_t i = 0; i < v.size(); i++) {
        char c = v[i];
        if (c == '\\') {
            if (i + 1 == v.size() || (v[i + 1] != ',' && v[i + 1] != '\\'))
                return action_error(action, "unknown escape: only \\, and \\\\ are allowed");
            c = v[++i];
        }
        if (n == rule_text_bytes_max) return action_error(action, "text longer than 256 bytes");
        out[n++] = c;
    }
    return static_cast<uint16_t>(n);
}

Result<Status> parse_status(std::string_view action, std::string_view v) {
    static constexpr Status all[] = {Status::valid, Status::invalid, Status::syncing,
                                     Status::accepted, Status::invalid_block_hash};
    for (Status s : all)
        if (v == status_name(s)) return s;
    return action_error(action, "not VALID|INVALID|SYNCING|ACCEPTED|INVALID_BLOCK_HASH");
}

Result<void> parse_lvh(std::string_view action, std::string_view v, Action& a) {
    if (v == "null")
        a.lvh = Lvh::null;
    else if (v == "block")
        a.lvh = Lvh::block;
    else if (v == "parent")
        a.lvh = Lvh::parent;
    else if (v.size() == 66 && v[0] == '0' && v[1] == 'x') {
        if (!parse_data(v, a.lvh_hash)) return action_error(action, "hash has a non-hex digit");
        a.lvh = Lvh::fixed;
    } else {
        return action_error(action, "not null|block|parent|0x + 64 hex digits");
    }
    return {};
}

Result<void> parse_error_action(std::string_view action, std::string_view v, Action& a) {
    size_t colon = v.find(':');
    std::string_view code = trim(v.substr(0, colon));
    bool negative = !code.empty() && code[0] == '-';
    if (negative) code.remove_prefix(1);
    uint64_t magnitude = EM_TRY(parse_decimal(action, code, uint64_t{1} << 31));
    if (!negative && magnitude > INT32_MAX) return action_error(action, "code out of range");
    a.has_error = true;
    a.error_code = negative ? static_cast<int32_t>(-static_cast<int64_t>(magnitude))
                            : static_cast<int32_t>(magnitude);
    if (colon != std::string_view::npos)
        a.error_message_bytes =
            EM_TRY(unescape_text(action, trim(v.substr(colon + 1)), a.error_message));
    return {};
}

Result<void> parse_http_status(std::string_view action, std::string_view v, Action& a) {
    uint64_t s = EM_TRY(parse_decimal(action, v, 999));
    if (s < 200 || s > 599 || s == 204 || s == 304)
        return action_error(action, "status must be 200..599 and not 204/304 (it has a body)");
    a.http_status = static_cast<uint16_t>(s);
    return {};
}

Result<void> apply_action(uint32_t key, std::string_view action, std::string_view v, Rule& r) {
    Action& a = r.action;
    switch (key) {
        case k_status:
            a.status = EM_TRY(parse_status(action, v));
            a.has_status = true;
            return {};
        case k_lvh:
            return parse_lvh(action, v, a);
        case k_validation_error:
            a.validation_error_bytes = EM_TRY(unescape_text(action, v, a.validation_error));
            a.has_validation_error = true;
            return {};
        case k_error:
            return parse_error_action(action, v, a);
        case k_delay:
            a.delay_ms = static_cast<uint32_t>(EM_TRY(parse_decimal(action, v, rule_delay_ms_max)));
            return {};
        case k_hang:
            a.transport = Transport::hang;
            return {};
        case k_close:
            a.transport = Transport::close;
            return {};
        case k_reset:
            a.transport = Transport::reset;
            return {};
        case k_garbage:
            a.transport = Transport::garbage;
            return {};
        case k_http:
            return parse_http_status(action, v, a);
        case k_huge:
            a.huge_bytes = EM_TRY(parse_decimal(action, v, rule_huge_bytes_max));
            return {};
        case k_wrong_id:
            a.wrong_id = true;
            return {};
        case k_no_payload_id:
            a.no_payload_id = true;
            return {};
        case k_syncing:
            a.syncing = true;
            return {};
        case k_bad_hash:
            a.bad_hash = true;
            return {};
        case k_block_value: {
            auto q = parse_wei(v);
            if (!q) return action_error(action, "not a decimal or 0x-hex amount below 2^256");
            a.block_value = *q;
            a.has_block_value = true;
            return {};
        }
        case k_times:
            r.times = EM_TRY(parse_decimal(action, v, UINT64_MAX));
            if (r.times == 0) return action_error(action, "times must be at least 1");
            return {};
        case k_after:
            r.after = EM_TRY(parse_decimal(action, v, UINT64_MAX));
            return {};
        default:
            return action_error(action, "unknown action");
    }
}

Result<void> parse_one_action(std::string_view action, uint32_t* seen, Rule& r) {
    if (action.empty()) return fail(Errc::invalid_input, "empty action (two commas in a row?)");
    size_t eq = action.find('=');
    std::string_view key = trim(action.substr(0, eq));
    uint32_t k = 0;
    while (k < k_count && key_names[k] != key) k++;
    if (k == k_count) return action_error(action, "unknown action (see enginemux-mock-el --help)");
    if (*seen & bit(k)) return action_error(action, "given twice");
    *seen |= bit(k);
    bool has_value = eq != std::string_view::npos;
    if (key_takes_value(k) && !has_value) return action_error(action, "needs =VALUE");
    if (!key_takes_value(k) && has_value) return action_error(action, "takes no value");
    std::string_view value = has_value ? trim(action.substr(eq + 1)) : std::string_view();
    return apply_action(k, action, value, r);
}

Result<void> check_combination(uint32_t seen) {
    constexpr uint32_t transports =
        bit(k_hang) | bit(k_close) | bit(k_reset) | bit(k_garbage) | bit(k_http);
    constexpr uint32_t result_shaping = bit(k_status) | bit(k_lvh) | bit(k_validation_error) |
                                        bit(k_no_payload_id) | bit(k_syncing) | bit(k_block_value) |
                                        bit(k_bad_hash);
    constexpr uint32_t body_shaping = result_shaping | bit(k_error) | bit(k_wrong_id) | bit(k_huge);
    constexpr uint32_t no_body = bit(k_hang) | bit(k_close) | bit(k_reset) | bit(k_garbage);
    if ((seen & ~(bit(k_times) | bit(k_after))) == 0)
        return fail(Errc::invalid_input, "no action besides times/after: nothing would change");
    if (__builtin_popcount(seen & transports) > 1)
        return fail(Errc::invalid_input, "at most one of hang, close, reset, garbage, http=");
    if ((seen & no_body) && (seen & body_shaping))
        return fail(Errc::invalid_input,
                    "hang/close/reset/garbage send no JSON answer: drop the actions that shape it");
    if ((seen & bit(k_hang)) && (seen & bit(k_delay)))
        return fail(Errc::invalid_input, "delay with hang: a hung call never answers");
    if ((seen & bit(k_error)) && (seen & result_shaping))
        return fail(Errc::invalid_input,
                    "error= answers an error object: status/lvh/validation_error/... do not apply");
    return {};
}

}  // namespace

std::string_view transport_name(Transport t) {
    switch (t) {
        case Transport::none:
            return "none";
        case Transport::hang:
            return "hang";
        case Transport::close:
            return "close";
        case Transport::reset:
            return "reset";
        case Transport::garbage:
            return "garbage";
    }
    return "none";
}

bool glob_match(std::string_view pattern, std::string_view name) {
    // Iterative wildcard match with one backtrack point (the last '*').
    size_t p = 0, n = 0, star = std::string_view::npos, resume = 0;
    while (n < name.size()) {
        if (p < pattern.size() && pattern[p] == '*') {
            star = p++;
            resume = n;
        } else if (p < pattern.size() && pattern[p] == name[n]) {
            p++;
            n++;
        } else if (star != std::string_view::npos) {
            p = star + 1;
            n = ++resume;
        } else {
            return false;
        }
    }
    while (p < pattern.size() && pattern[p] == '*') p++;
    return p == pattern.size();
}

Result<void> RuleSet::add(const Rule& rule) {
    if (count_ == rules_max) return failf(Errc::too_large, "more than %zu rules", rules_max);
    rules_[count_] = rule;
    rules_[count_].seen = 0;
    count_++;
    return {};
}

bool RuleSet::match(std::string_view method, Action* out) {
    bool applied = false;
    for (size_t i = 0; i < count_; i++) {
        Rule& r = rules_[i];
        if (!glob_match(r.pattern_text(), method)) continue;
        uint64_t call = ++r.seen;  // 1-based number of this call among the rule's matches
        bool active = call > r.after && (r.times == 0 || call - r.after <= r.times);
        if (active && !applied) {
            *out = r.action;
            applied = true;
        }
    }
    return applied;
}

Result<void> parse_rule(std::string_view text, Rule* out) {
    text = trim(text);
    if (text.empty()) return fail(Errc::invalid_input, "empty rule");
    if (text.size() > rule_line_bytes_max)
        return failf(Errc::too_large, "rule longer than %zu bytes", rule_line_bytes_max);
    size_t colon = text.find(':');
    if (colon == std::string_view::npos)
        return fail(Errc::invalid_input, "no ':' between the method pattern and the actions");
    std::string_view pattern = trim(text.substr(0, colon));
    if (pattern.empty()) return fail(Errc::invalid_input, "empty method pattern before ':'");
    if (pattern.size() > rule_pattern_bytes_max)
        return failf(Errc::too_large, "method pattern longer than %zu bytes",
                     rule_pattern_bytes_max);
    for (char c : pattern)
        if (!is_pattern_char(c))
            return failf(Errc::invalid_input,
                         "method pattern '%.*s': only letters, digits, '_' and '*' are allowed",
                         static_cast<int>(pattern.size() > 40 ? 40 : pattern.size()),
                         pattern.data());
    Rule r;
    std::memcpy(r.pattern, pattern.data(), pattern.size());
    r.pattern_bytes = static_cast<uint8_t>(pattern.size());
    std::string_view actions = text.substr(colon + 1);
    uint32_t seen = 0;
    size_t start = 0;
    for (size_t i = 0; i <= actions.size(); i++) {
        if (i + 1 < actions.size() && actions[i] == '\\') {
            i++;  // the escaped character never splits (a trailing '\\' is left to the value)
            continue;
        }
        if (i < actions.size() && actions[i] != ',') continue;
        EM_TRY_VOID(parse_one_action(trim(actions.substr(start, i - start)), &seen, r));
        start = i + 1;
    }
    EM_TRY_VOID(check_combination(seen));
    *out = r;
    return {};
}

Result<void> parse_rules_text(std::string_view text, RuleSet* out, size_t* error_line) {
    size_t line_no = 0;
    while (!text.empty()) {
        size_t nl = text.find('\n');
        std::string_view line = trim(text.substr(0, nl));
        text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
        line_no++;
        if (line.empty() || line[0] == '#') continue;
        Rule rule;
        auto parsed = parse_rule(line, &rule);
        if (parsed) parsed = out->add(rule);
        if (!parsed) {
            if (error_line) *error_line = line_no;
            Error e = parsed.error();
            char where[32];
            std::snprintf(where, sizeof where, "line %zu", line_no);
            e.prefix(where);
            return Unexpected(e);
        }
    }
    return {};
}

}  // namespace em::mockel
