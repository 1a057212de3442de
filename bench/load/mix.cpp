#include "mix.h"

#include <simdjson.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "base/assert.h"
#include "base/buffer.h"
#include "jsonrpc/json_text.h"
#include "jsonrpc/request.h"
#include "jsonrpc/writer.h"

namespace em::load {

namespace {

/// Whole file into `out`; errors name the file.
Result<void> read_whole_file(const std::string& path, size_t bytes_max, std::string& out) {
    FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) return failf(Errc::not_found, "%s: %s", path.c_str(), std::strerror(errno));
    out.clear();
    char chunk[65536];
    size_t n;
    while ((n = std::fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (out.size() + n > bytes_max) {
            std::fclose(f);
            return failf(Errc::too_large, "%s: larger than %zu bytes", path.c_str(), bytes_max);
        }
        out.append(chunk, n);
    }
    bool bad = std::ferror(f) != 0;
    std::fclose(f);
    if (bad) return failf(Errc::io, "%s: read error", path.c_str());
    return {};
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
        s.remove_suffix(1);
    return s;
}

/// Splits off the first whitespace-separated token of s.
std::string_view take_token(std::string_view& s) {
    size_t end = s.find_first_of(" \t");
    std::string_view token = s.substr(0, end);
    s = end == std::string_view::npos ? std::string_view() : trim(s.substr(end));
    return token;
}

/// Which elements of a file to take: [first, last] (last = SIZE_MAX: to the end).
struct Selector {
    size_t first = 0;
    size_t last = SIZE_MAX;
    bool given = false;
};

Result<Selector> parse_selector(std::string_view text) {
    Selector s;
    s.given = true;
    auto number = [](std::string_view t, size_t* out) {
        if (t.empty() || t.size() > 9) return false;
        size_t v = 0;
        for (char c : t) {
            if (c < '0' || c > '9') return false;
            v = v * 10 + static_cast<size_t>(c - '0');
        }
        *out = v;
        return true;
    };
    size_t dash = text.find('-');
    bool ok = dash == std::string_view::npos ? number(text, &s.first) && number(text, &s.last)
                                             : number(text.substr(0, dash), &s.first) &&
                                                   number(text.substr(dash + 1), &s.last);
    if (!ok || s.last < s.first) {
        return failf(Errc::invalid_input,
                     "'#%.*s' is not an element index or range (e.g. #12, #0-9)",
                     static_cast<int>(text.size()), text.data());
    }
    return s;
}

/// The request texts of an execution-apis .io file: the ">> " lines.
std::vector<std::string_view> io_requests(std::string_view text) {
    std::vector<std::string_view> out;
    while (!text.empty()) {
        size_t nl = text.find('\n');
        std::string_view line = trim(text.substr(0, nl));
        if (line.starts_with(">>")) out.push_back(trim(line.substr(2)));
        text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    }
    return out;
}

/// The request texts of a JSON file: the array's elements, the "request" member, or the object.
Result<std::vector<std::string_view>> json_requests(const simdjson::padded_string& text,
                                                    const std::string& path) {
    simdjson::ondemand::parser parser;
    simdjson::ondemand::document doc;
    if (auto e = parser.iterate(text).get(doc); e)
        return failf(Errc::invalid_input, "%s: not JSON: %s", path.c_str(),
                     simdjson::error_message(e));
    simdjson::ondemand::json_type type;
    if (auto e = doc.type().get(type); e)
        return failf(Errc::invalid_input, "%s: not JSON: %s", path.c_str(),
                     simdjson::error_message(e));
    std::vector<std::string_view> out;
    if (type == simdjson::ondemand::json_type::array) {
        size_t index = 0;
        for (auto element : doc.get_array()) {
            std::string_view raw;
            simdjson::ondemand::object object;
            if (element.get_object().get(object) || object.raw_json().get(raw))
                return failf(Errc::invalid_input, "%s: element %zu is not a JSON object",
                             path.c_str(), index);
            out.push_back(raw);
            index++;
        }
        return out;
    }
    if (type != simdjson::ondemand::json_type::object)
        return failf(Errc::invalid_input, "%s: neither a request object nor an array of them",
                     path.c_str());
    simdjson::ondemand::object request;
    std::string_view raw;
    auto member = doc.find_field_unordered("request");
    if (member.error() == simdjson::SUCCESS) {
        if (member.get_object().get(request) || request.raw_json().get(raw))
            return failf(Errc::invalid_input, "%s: \"request\" is not a JSON object", path.c_str());
        out.push_back(raw);
        return out;
    }
    out.push_back(trim(std::string_view(text.data(), text.size())));
    return out;
}

}  // namespace

void patch_id(char* slot, uint64_t id) {
    char* p = slot + id_slot_bytes;
    do {
        *--p = static_cast<char>('0' + id % 10);
        id /= 10;
    } while (id && p > slot);
    while (p > slot) *--p = ' ';
}

std::string minify_json(std::string_view json) {
    std::string out;
    out.reserve(json.size());
    bool in_string = false, escaped = false;
    for (char c : json) {
        if (in_string) {
            out.push_back(c);
            if (escaped)
                escaped = false;
            else if (c == '\\')
                escaped = true;
            else if (c == '"')
                in_string = false;
            continue;
        }
        if (jsonrpc::is_json_space(c)) continue;
        if (c == '"') in_string = true;
        out.push_back(c);
    }
    return out;
}

Result<Kind> make_kind(std::string_view request_json, double weight, std::string_view where) {
    std::string compact = minify_json(request_json);
    if (compact.size() > MixLimits::request_bytes_max)
        return failf(Errc::too_large, "%.*s: request larger than %zu bytes",
                     static_cast<int>(where.size()), where.data(), MixLimits::request_bytes_max);
    jsonrpc::Limits limits;
    limits.batch_entries_max = 1;
    limits.body_bytes_max = MixLimits::request_bytes_max + 64;
    jsonrpc::RequestParser parser(limits);
    std::string padded = compact + std::string(simdjson::SIMDJSON_PADDING, ' ');
    auto envelope = parser.parse(padded.data(), compact.size(), padded.size());
    if (!envelope || envelope->batch || envelope->entries.size() != 1 || !envelope->entries[0].ok) {
        const char* why = !envelope         ? envelope.error().c_str()
                          : envelope->batch ? "a batch, not one request"
                                            : envelope->entries[0].error_message;
        return failf(Errc::invalid_input, "%.*s: not a JSON-RPC request: %s",
                     static_cast<int>(where.size()), where.data(), why);
    }
    const jsonrpc::Request& request = envelope->entries[0].request;
    Kind kind;
    kind.name = std::string(request.method);
    kind.weight = weight;
    std::string slot(id_slot_bytes, ' ');
    if (!request.id.empty()) {
        size_t at = static_cast<size_t>(request.id.data() - padded.data());
        kind.body = compact.substr(0, at) + slot + compact.substr(at + request.id.size());
        kind.id_offset = at;
    } else {  // a notification: give it an id so the server answers
        kind.body = "{\"id\":" + slot + "," + compact.substr(1);
        kind.id_offset = 6;
    }
    // Self-check: the template with a patched id is the same request with that id.
    std::string check = kind.body + std::string(simdjson::SIMDJSON_PADDING, ' ');
    patch_id(check.data() + kind.id_offset, 4242);
    auto again = parser.parse(check.data(), kind.body.size(), check.size());
    EM_ASSERT(again && again->entries.size() == 1 && again->entries[0].ok &&
              jsonrpc::trim_json_space(again->entries[0].request.id) == "4242");
    return kind;
}

Result<Mix> Mix::from_method(std::string_view method, std::string_view params) {
    std::string_view p = jsonrpc::trim_json_space(params);
    if (p.empty() || (p.front() != '[' && p.front() != '{'))
        return fail(Errc::invalid_input, "--params: must be a JSON array or object");
    ByteBuffer b(MixLimits::request_bytes_max + 4096);
    b.append("{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":");
    jsonrpc::write_json_string(b, method);
    b.append(",\"params\":");
    b.append(p);
    b.append("}");
    if (b.overflowed()) return fail(Errc::too_large, "--params: too large");
    Mix mix;
    EM_TRY_VOID(mix.add(EM_TRY(make_kind(b.view(), 1.0, "--method/--params"))));
    mix.finish();
    return mix;
}

Result<Mix> Mix::from_file(const std::string& path) {
    std::string text;
    EM_TRY_VOID(read_whole_file(path, MixLimits::mix_file_bytes_max, text));
    size_t slash = path.rfind('/');
    std::string dir = slash == std::string::npos ? "." : path.substr(0, slash == 0 ? 1 : slash);
    return from_text(text, dir, path);
}

namespace {

/// Adds the kinds of one "@path[#sel]" line.
Result<std::vector<Kind>> file_kinds(std::string_view spec, double weight,
                                     const std::string& base_dir, const char* where) {
    std::string_view path_text = spec.substr(1);
    Selector sel;
    if (size_t hash = path_text.rfind('#'); hash != std::string_view::npos) {
        auto parsed = parse_selector(path_text.substr(hash + 1));
        if (!parsed) return Unexpected(parsed.error().prefix(where));
        sel = *parsed;
        path_text = path_text.substr(0, hash);
    }
    if (path_text.empty()) return failf(Errc::invalid_input, "%s: '@' needs a file path", where);
    std::string path =
        path_text.front() == '/' ? std::string(path_text) : base_dir + "/" + std::string(path_text);
    std::string content;
    if (auto r = read_whole_file(path, MixLimits::file_bytes_max, content); !r)
        return Unexpected(r.error().prefix(where));
    simdjson::padded_string padded(content);
    std::vector<std::string_view> requests;
    if (path.ends_with(".io")) {
        requests = io_requests(std::string_view(padded.data(), padded.size()));
    } else {
        auto found = json_requests(padded, path);
        if (!found) return Unexpected(found.error().prefix(where));
        requests = std::move(*found);
    }
    if (requests.empty())
        return failf(Errc::invalid_input, "%s: %s holds no request", where, path.c_str());
    size_t last = sel.last == SIZE_MAX ? requests.size() - 1 : sel.last;
    if (last >= requests.size()) {
        return failf(Errc::invalid_input, "%s: %s has %zu requests, no element %zu", where,
                     path.c_str(), requests.size(), last);
    }
    std::vector<Kind> kinds;
    double share = weight / static_cast<double>(last - sel.first + 1);
    for (size_t i = sel.first; i <= last; i++) {
        char label[600];
        std::snprintf(label, sizeof label, "%s: %s#%zu", where, path.c_str(), i);
        kinds.push_back(EM_TRY(make_kind(requests[i], share, label)));
    }
    return kinds;
}

}  // namespace

Result<Mix> Mix::from_text(std::string_view text, const std::string& base_dir,
                           std::string_view name) {
    Mix mix;
    size_t line_no = 0;
    while (!text.empty()) {
        size_t nl = text.find('\n');
        std::string_view line = trim(text.substr(0, nl));
        text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
        line_no++;
        if (line.empty() || line.front() == '#') continue;
        char where[300];
        std::snprintf(where, sizeof where, "%.*s:%zu", static_cast<int>(name.size()), name.data(),
                      line_no);
        std::string_view weight_text = take_token(line);
        char* end = nullptr;
        std::string weight_str(weight_text);
        double weight = std::strtod(weight_str.c_str(), &end);
        if (weight_str.empty() || *end != '\0' || !(weight > 0) || weight > 1e12)
            return failf(Errc::invalid_input, "%s: '%s' is not a positive weight", where,
                         weight_str.c_str());
        if (line.empty())
            return failf(Errc::invalid_input, "%s: a method or @file must follow the weight",
                         where);
        if (line.front() == '@') {
            std::string_view spec = take_token(line);
            if (!line.empty())
                return failf(Errc::invalid_input, "%s: unexpected text after the @file", where);
            for (Kind& k : EM_TRY(file_kinds(spec, weight, base_dir, where)))
                EM_TRY_VOID(mix.add(std::move(k)));
            continue;
        }
        std::string_view method = take_token(line);
        std::string_view params = line.empty() ? std::string_view("[]") : line;
        auto one = from_method(method, params);
        if (!one) return Unexpected(one.error().prefix(where));
        Kind k = one->kinds_[0];
        k.weight = weight;
        EM_TRY_VOID(mix.add(std::move(k)));
    }
    if (mix.kinds_.empty())
        return failf(Errc::invalid_input,
                     "%.*s: no request kinds (lines: <weight> <method> [params] or <weight> @file)",
                     static_cast<int>(name.size()), name.data());
    mix.finish();
    return mix;
}

Result<void> Mix::add(Kind kind) {
    if (kinds_.size() >= MixLimits::kinds_max)
        return failf(Errc::too_large, "more than %zu request kinds", MixLimits::kinds_max);
    body_bytes_max_ = std::max(body_bytes_max_, kind.body.size());
    kind.payload_status = kind.name.starts_with("engine_newPayload") ||
                          kind.name.starts_with("engine_forkchoiceUpdated");
    auto known = std::find(methods_.begin(), methods_.end(), kind.name);
    if (known != methods_.end()) {
        kind.method = static_cast<size_t>(known - methods_.begin());
    } else if (methods_.size() + 1 < MixLimits::methods_max) {
        kind.method = methods_.size();
        methods_.push_back(kind.name);
    } else {  // the slot of every further method
        if (methods_.size() + 1 == MixLimits::methods_max) methods_.push_back("(other methods)");
        kind.method = methods_.size() - 1;
    }
    kinds_.push_back(std::move(kind));
    return {};
}

void Mix::finish() {
    double total = 0;
    for (const Kind& k : kinds_) total += k.weight;
    cumulative_.clear();
    double running = 0;
    for (const Kind& k : kinds_) {
        running += k.weight;
        cumulative_.push_back(running / total);
    }
    cumulative_.back() = 1.0;
}

size_t Mix::pick(double r) const {
    if (kinds_.size() == 1) return 0;
    auto it = std::upper_bound(cumulative_.begin(), cumulative_.end(), r);
    size_t i = static_cast<size_t>(it - cumulative_.begin());
    return i < kinds_.size() ? i : kinds_.size() - 1;
}

}  // namespace em::load
