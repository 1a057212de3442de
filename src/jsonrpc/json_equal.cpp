#include "jsonrpc/json_equal.h"

#include <cstdio>

namespace em::jsonrpc {

namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

bool same_number(element a, element b) {
    // Integers compare exactly as integers; anything else by double (agreeing ELs write
    // numbers alike: quantities are hex strings in the Engine and eth_ APIs).
    int64_t ia = 0, ib = 0;
    if (a.get_int64().get(ia) == simdjson::SUCCESS && b.get_int64().get(ib) == simdjson::SUCCESS)
        return ia == ib;
    uint64_t ua = 0, ub = 0;
    if (a.get_uint64().get(ua) == simdjson::SUCCESS && b.get_uint64().get(ub) == simdjson::SUCCESS)
        return ua == ub;
    double da = 0, db = 0;
    return a.get_double().get(da) == simdjson::SUCCESS &&
           b.get_double().get(db) == simdjson::SUCCESS && da == db;
}

bool is_number(element_type t) {
    return t == element_type::INT64 || t == element_type::UINT64 || t == element_type::DOUBLE;
}

bool same(element a, element b, std::string& where);

bool same_array(simdjson::dom::array a, simdjson::dom::array b, std::string& where) {
    if (a.size() != b.size()) {
        char note[64];
        std::snprintf(note, sizeof note, " (%zu vs %zu elements)", a.size(), b.size());
        where += note;
        return false;
    }
    size_t k = 0;
    auto ib = b.begin();
    for (element x : a) {
        size_t mark = where.size();
        where += "[" + std::to_string(k) + "]";
        if (!same(x, *ib, where)) return false;
        where.resize(mark);
        ++ib;
        k++;
    }
    return true;
}

bool same_object(simdjson::dom::object a, simdjson::dom::object b, std::string& where) {
    for (auto [key, value] : a) {
        size_t mark = where.size();
        where += ".";
        where += key;
        element other;
        if (b.at_key(key).get(other) != simdjson::SUCCESS) {
            where += " (missing in the second)";
            return false;
        }
        if (!same(value, other, where)) return false;
        where.resize(mark);
    }
    if (a.size() != b.size()) {
        for (auto [key, value] : b) {
            (void)value;
            element mine;
            if (a.at_key(key).get(mine) != simdjson::SUCCESS) {
                where += ".";
                where += key;
                where += " (missing in the first)";
                return false;
            }
        }
    }
    return true;
}

bool same(element a, element b, std::string& where) {
    element_type ta = a.type(), tb = b.type();
    if (is_number(ta) && is_number(tb)) return same_number(a, b);
    if (ta != tb) return false;
    switch (ta) {
        case element_type::ARRAY:
            return same_array(a.get_array().value_unsafe(), b.get_array().value_unsafe(), where);
        case element_type::OBJECT:
            return same_object(a.get_object().value_unsafe(), b.get_object().value_unsafe(), where);
        case element_type::STRING:
            return a.get_string().value_unsafe() == b.get_string().value_unsafe();
        case element_type::BOOL:
            return a.get_bool().value_unsafe() == b.get_bool().value_unsafe();
        default:  // null (numbers are above)
            return true;
    }
}

}  // namespace

JsonDifference json_equal(simdjson::dom::parser& parser_a, simdjson::dom::parser& parser_b,
                          std::string_view a, std::string_view b) {
    JsonDifference d;
    if (a == b) return d;
    element ea, eb;
    if (parser_a.parse(a.data(), a.size()).get(ea) != simdjson::SUCCESS) {
        d = {false, "the first answer is not well-formed JSON"};
        return d;
    }
    if (parser_b.parse(b.data(), b.size()).get(eb) != simdjson::SUCCESS) {
        d = {false, "the second answer is not well-formed JSON"};
        return d;
    }
    d.where = "result";
    d.equal = same(ea, eb, d.where);
    if (d.equal) d.where.clear();
    return d;
}

}  // namespace em::jsonrpc
