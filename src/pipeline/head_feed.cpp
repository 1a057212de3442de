#include "pipeline/head_feed.h"

#include <simdjson.h>

#include <algorithm>

#include "base/hex.h"

namespace em::pipeline::subs {

namespace {

namespace od = simdjson::ondemand;

simdjson::dom::parser& dom_parser() {
    static thread_local simdjson::dom::parser parser;
    return parser;
}

od::parser& od_parser() {
    static thread_local od::parser parser;
    return parser;
}

Result<void> read_hash(simdjson::dom::object& obj, const char* name, Hash& out) {
    std::string_view text;
    if (obj[name].get_string().get(text)) {
        return failf(Errc::invalid_input, "head: %s missing or not a string", name);
    }
    Result<void> r = parse_data(text, out);
    if (!r) return failf(Errc::invalid_input, "head: %s is not 32 bytes of DATA", name);
    return {};
}

/// Members of a block object that a header (a newHeads result) does not have.
bool body_member(std::string_view key) {
    return key == "transactions" || key == "uncles" || key == "size" || key == "totalDifficulty" ||
           key == "withdrawals";
}

std::string_view trim_ws(std::string_view s) {
    while (!s.empty() &&
           (s.back() == ' ' || s.back() == '\n' || s.back() == '\r' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return s;
}

/// The value's text as sent (an object or array whole, a scalar's token); true on error.
bool raw_value(od::value value, std::string_view& raw) {
    od::json_type type;
    if (value.type().get(type)) return true;
    if (type == od::json_type::object) {
        od::object obj;
        return value.get_object().get(obj) || obj.raw_json().get(raw);
    }
    if (type == od::json_type::array) {
        od::array arr;
        return value.get_array().get(arr) || arr.raw_json().get(raw);
    }
    raw = value.raw_json_token();
    return false;
}

}  // namespace

Result<HeadId> parse_head_id(std::string_view json) {
    simdjson::dom::object obj;
    if (dom_parser().parse(json.data(), json.size(), true).get_object().get(obj)) {
        return fail(Errc::invalid_input, "head: not a JSON object");
    }
    HeadId id;
    std::string_view number;
    if (obj["number"].get_string().get(number)) {
        return fail(Errc::invalid_input, "head: number missing or not a string");
    }
    Result<uint64_t> n = parse_quantity(number);
    if (!n) return fail(Errc::invalid_input, "head: number is not a QUANTITY");
    id.number = *n;
    EM_TRY_VOID(read_hash(obj, "hash", id.hash));
    EM_TRY_VOID(read_hash(obj, "parentHash", id.parent));
    return id;
}

Result<void> block_as_head(std::string_view block, std::string& out) {
    simdjson::padded_string padded(block);
    od::document doc;
    od::object obj;
    if (od_parser().iterate(padded).get(doc) || doc.get_object().get(obj)) {
        return fail(Errc::invalid_input, "block: not a JSON object");
    }
    out.assign("{");
    for (auto field_result : obj) {
        od::field field;
        std::string_view key, raw;
        if (std::move(field_result).get(field) || field.unescaped_key().get(key) ||
            raw_value(field.value(), raw)) {
            return fail(Errc::invalid_input, "block: malformed object");
        }
        if (body_member(key)) continue;
        if (out.size() > 1) out.push_back(',');
        out.append("\"").append(key).append("\":").append(trim_ws(raw));
    }
    out.push_back('}');
    return {};
}

void DeliveredHeads::push(uint64_t number, const Hash& hash) {
    ring_[next_] = Entry{number, hash};
    next_ = (next_ + 1) % capacity;
    count_ = std::min(count_ + 1, capacity);
}

bool DeliveredHeads::seen(uint64_t number, const Hash& hash) const {
    for (size_t i = 0; i < count_; i++) {
        const Entry& e = ring_[(next_ + capacity - 1 - i) % capacity];
        if (e.number == number && e.hash == hash) return true;
    }
    return false;
}

uint64_t DeliveredHeads::last_number() const {
    return ring_[(next_ + capacity - 1) % capacity].number;
}

GapPlan plan_gap(const DeliveredHeads& delivered, const HeadId& next, uint64_t gap_blocks_max) {
    GapPlan plan;
    if (delivered.empty()) return plan;
    uint64_t last = delivered.last_number();
    if (next.number <= last) {
        if (delivered.seen(next.number, next.hash)) plan.kind = GapPlan::Kind::drop;
        return plan;  // else a reorg: the EL's new branch, passed on as sent
    }
    if (next.number == last + 1) return plan;
    plan.kind = GapPlan::Kind::fill;
    plan.fetch_to = next.number - 1;
    uint64_t missing = next.number - 1 - last;
    uint64_t fetched = std::min(missing, std::max<uint64_t>(gap_blocks_max, 1));
    plan.fetch_from = next.number - fetched;
    plan.skipped = missing - fetched;
    return plan;
}

}  // namespace em::pipeline::subs
