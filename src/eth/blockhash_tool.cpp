// `enginemux blockhash` logic (see blockhash_tool.h).
#include "eth/blockhash_tool.h"

#include <cstdio>

namespace em::eth {

namespace ond = simdjson::ondemand;

namespace {

struct ToolState {
    BlockHashVerifier& verifier;
    ByteBuffer& out;
    ByteBuffer& err;
    bool any_mismatch = false;
    bool any_bad = false;
};

std::string_view bare_id(std::string_view token) {
    if (token.size() >= 2 && token.front() == '"' && token.back() == '"')
        return token.substr(1, token.size() - 2);
    return token;
}

void report_bad(ToolState& s, size_t index, std::string_view id, std::string_view message) {
    char line[256];
    int n;
    if (id.empty()) {
        n = std::snprintf(line, sizeof line, "request %zu: %.*s\n", index,
                          static_cast<int>(message.size()), message.data());
    } else {
        n = std::snprintf(line, sizeof line, "request %zu (id %.*s): %.*s\n", index,
                          static_cast<int>(id.size() > 64 ? 64 : id.size()), id.data(),
                          static_cast<int>(message.size()), message.data());
    }
    if (n > 0) (void)s.err.append(line, static_cast<size_t>(n) < sizeof line ? n : sizeof line - 1);
    s.any_bad = true;
}

void check_one(ToolState& s, size_t index, ond::value request) {
    ond::object obj;
    if (request.get_object().get(obj)) {
        report_bad(s, index, {}, "expected a JSON-RPC request object");
        return;
    }
    std::string_view id_token;
    auto verdict = s.verifier.verify_request_object(obj, &id_token);
    std::string_view id = bare_id(id_token);
    if (!verdict) {
        report_bad(s, index, id, verdict.error().message());
        return;
    }
    char hash[66];
    format_hash(verdict->computed, hash);
    (void)s.out.append(id);
    (void)s.out.push_back(' ');
    (void)s.out.append(hash, sizeof hash);
    (void)s.out.append(verdict->match ? " match\n" : " mismatch\n");
    if (!verdict->match) s.any_mismatch = true;
}

int exit_code(const ToolState& s) {
    if (s.any_bad) return blockhash_exit_bad_input;
    return s.any_mismatch ? blockhash_exit_mismatch : blockhash_exit_all_match;
}

int input_error(ByteBuffer& err, const char* what, simdjson::error_code e) {
    char line[200];
    int n = std::snprintf(line, sizeof line, "input: %s (%s)\n", what, simdjson::error_message(e));
    if (n > 0) (void)err.append(line, static_cast<size_t>(n) < sizeof line ? n : sizeof line - 1);
    return blockhash_exit_bad_input;
}

}  // namespace

int blockhash_tool(simdjson::padded_string_view input, ByteBuffer& out, ByteBuffer& err,
                   const VerifierConfig& config) {
    BlockHashVerifier verifier(config);
    ond::parser parser;
    ond::document doc;
    if (auto e = parser.iterate(input).get(doc)) return input_error(err, "invalid JSON", e);
    ond::json_type type;
    if (auto e = doc.type().get(type)) return input_error(err, "invalid JSON", e);
    ToolState s{verifier, out, err};
    if (type == ond::json_type::object) {
        ond::value v;
        if (auto e = doc.get_value().get(v)) return input_error(err, "invalid JSON", e);
        check_one(s, 0, v);
        return exit_code(s);
    }
    if (type != ond::json_type::array) {
        (void)err.append("input: expected a JSON-RPC request object or an array of them\n");
        return blockhash_exit_bad_input;
    }
    ond::array requests;
    if (auto e = doc.get_array().get(requests)) return input_error(err, "invalid JSON", e);
    size_t index = 0;
    for (auto item : requests) {
        ond::value v;
        if (auto e = item.get(v)) return input_error(err, "invalid JSON", e);
        check_one(s, index++, v);
    }
    if (index == 0) {
        (void)err.append("input: empty array, no requests to check\n");
        return blockhash_exit_bad_input;
    }
    return exit_code(s);
}

}  // namespace em::eth
