// getClientVersionV1 and exchangeCapabilities merges (see merge.h).
#include "engine/merge.h"

#include <array>
#include <utility>

#include "jsonrpc/json_text.h"
#include "jsonrpc/walk.h"

namespace em::engine {
namespace {

namespace od = simdjson::ondemand;

constexpr std::string_view self_method = "engine_exchangeCapabilities";

std::string_view trim(std::string_view s) {
    auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
    while (!s.empty() && space(s.front())) s.remove_prefix(1);
    while (!s.empty() && space(s.back())) s.remove_suffix(1);
    return s;
}

// A string field of ClientVersionV1: well-formed, copied verbatim later.
bool read_string_field(od::value& v) {
    std::string_view raw = jsonrpc::trim_json_space_right(v.raw_json_token());
    std::string_view value;
    return !v.get_string().get(value) && jsonrpc::is_json_string_literal(raw);
}

// One ClientVersionV1: exactly code, name, version, commit, all strings.
bool read_client_version(od::value& element) {
    od::object obj;
    if (element.get_object().get(obj)) return false;
    constexpr std::array<std::string_view, 4> names = {"code", "name", "version", "commit"};
    bool seen[4] = {};
    for (auto field_result : obj) {
        od::field field;
        std::string_view key;
        if (std::move(field_result).get(field) || field.unescaped_key().get(key)) return false;
        size_t k = 0;
        while (k < names.size() && names[k] != key) k++;
        if (k == names.size() || seen[k] || !read_string_field(field.value())) return false;
        seen[k] = true;
    }
    return seen[0] && seen[1] && seen[2] && seen[3];
}

// The inner text of a well-formed client-version array ("" for []), or false.
bool read_client_versions(od::parser& parser, simdjson::padded_string_view json,
                          std::string_view& inner) {
    od::document doc;
    od::array arr;
    if (parser.iterate(json).get(doc) || doc.get_array().get(arr)) return false;
    for (auto element_result : arr) {
        od::value element;
        if (std::move(element_result).get(element) || !read_client_version(element)) return false;
    }
    if (!jsonrpc::at_document_end(doc)) return false;
    std::string_view all = trim(std::string_view(json.data(), json.size()));
    inner = trim(all.substr(1, all.size() - 2));  // well-formed: starts '[' and ends ']'
    return true;
}

// Names (raw text between the quotes) of a well-formed capabilities array, or false.
bool read_names(od::parser& parser, simdjson::padded_string_view json,
                std::array<std::string_view, capabilities_max>& names, size_t& count) {
    od::document doc;
    od::array arr;
    if (parser.iterate(json).get(doc) || doc.get_array().get(arr)) return false;
    count = 0;
    for (auto element_result : arr) {
        od::value element;
        if (std::move(element_result).get(element) || count == capabilities_max) return false;
        std::string_view raw = jsonrpc::trim_json_space_right(element.raw_json_token());
        std::string_view value;
        if (element.get_string().get(value) || raw.size() < 2) return false;
        std::string_view name = raw.substr(1, raw.size() - 2);
        if (!jsonrpc::is_plain_ascii_name(name)) return false;
        names[count++] = name;
    }
    return jsonrpc::at_document_end(doc);
}

bool contains(const std::string_view* names, size_t count, std::string_view name) {
    for (size_t i = 0; i < count; i++) {
        if (names[i] == name) return true;
    }
    return false;
}

// Keeps the first occurrence of each name, drops engine_exchangeCapabilities; returns the count.
size_t compact_base(std::array<std::string_view, capabilities_max>& names, size_t count) {
    size_t kept = 0;
    for (size_t i = 0; i < count; i++) {
        if (names[i] == self_method || contains(names.data(), kept, names[i])) continue;
        names[kept++] = names[i];
    }
    return kept;
}

Unexpected too_large(ByteBuffer& out, size_t start) {
    out.resize(start);
    return fail(Errc::too_large, "merged engine answer exceeds the output buffer's bytes_max");
}

}  // namespace

Result<MergeStats> merge_client_versions(od::parser& parser,
                                         std::span<const simdjson::padded_string_view> answers,
                                         ByteBuffer& out) {
    MergeStats stats;
    size_t start = out.size();
    bool ok = out.push_back('[');
    bool first_entry = true;
    for (const auto& answer : answers) {
        std::string_view inner;
        if (!read_client_versions(parser, answer, inner)) {
            stats.malformed++;
            continue;
        }
        stats.used++;
        if (inner.empty()) continue;
        if (!first_entry) ok = ok && out.push_back(',');
        ok = ok && out.append(inner);
        first_entry = false;
    }
    if (stats.used == 0) {
        out.resize(start);
        return fail(Errc::not_found, "getClientVersionV1: no well-formed answer");
    }
    if (!(ok && out.push_back(']'))) return too_large(out, start);
    return stats;
}

Result<MergeStats> intersect_capabilities(od::parser& parser,
                                          std::span<const simdjson::padded_string_view> answers,
                                          ByteBuffer& out) {
    MergeStats stats;
    std::array<std::string_view, capabilities_max> base;
    std::array<std::string_view, capabilities_max> other;
    std::array<bool, capabilities_max> keep{};
    size_t base_count = 0;
    for (const auto& answer : answers) {
        size_t count = 0;
        if (!read_names(parser, answer, stats.used == 0 ? base : other, count)) {
            stats.malformed++;
            continue;
        }
        if (stats.used++ == 0) {
            base_count = compact_base(base, count);
            keep.fill(true);
            continue;
        }
        for (size_t i = 0; i < base_count; i++)
            keep[i] = keep[i] && contains(other.data(), count, base[i]);
    }
    if (stats.used == 0)
        return fail(Errc::not_found, "exchangeCapabilities: no well-formed answer");
    size_t start = out.size();
    bool ok = out.push_back('[');
    bool first = true;
    for (size_t i = 0; i < base_count; i++) {
        if (!keep[i]) continue;
        ok = ok && (first || out.push_back(',')) && out.push_back('"') && out.append(base[i]) &&
             out.push_back('"');
        first = false;
    }
    if (!(ok && out.push_back(']'))) return too_large(out, start);
    return stats;
}

}  // namespace em::engine
