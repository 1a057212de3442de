// Parsing ELs' PayloadStatus / forkchoiceUpdated answers and writing ours (see payload_status.h).
#include "engine/payload_status.h"

#include <utility>

#include "base/assert.h"
#include "base/hex.h"
#include "jsonrpc/json_text.h"
#include "jsonrpc/walk.h"

namespace em::engine {
namespace {

namespace od = simdjson::ondemand;

constexpr int key_bytes_shown_max = 40;

int shown(std::string_view s) {
    return static_cast<int>(s.size() < key_bytes_shown_max ? s.size() : key_bytes_shown_max);
}

Unexpected bad(const char* path, const char* what) {
    return failf(Errc::invalid_input, "%s%s", path, what);
}

bool status_from_name(std::string_view s, Status& out) {
    for (uint8_t i = 0; i < status_count; i++) {
        auto candidate = static_cast<Status>(i);
        if (s == status_name(candidate)) {
            out = candidate;
            return true;
        }
    }
    return false;
}

// Reads `null` (true) or leaves v untouched for another type (false); error on a bad literal.
Result<bool> take_null(od::value& v, const char* path, const char* field) {
    od::json_type type;
    if (v.type().get(type)) return failf(Errc::invalid_input, "%s%s: malformed value", path, field);
    if (type != od::json_type::null) return false;
    bool is_null = false;
    if (v.is_null().get(is_null) || !is_null)
        return failf(Errc::invalid_input, "%s%s: malformed null", path, field);
    return true;
}

Result<void> read_status(od::value& v, const char* path, PayloadStatus& out) {
    std::string_view s;
    if (v.get_string().get(s)) return bad(path, "status: not a string");
    if (!status_from_name(s, out.status))
        return failf(Errc::invalid_input, "%sstatus: unknown value \"%.*s\"", path, shown(s),
                     s.data());
    return {};
}

Result<void> read_latest_valid_hash(od::value& v, const char* path, PayloadStatus& out) {
    if (EM_TRY(take_null(v, path, "latestValidHash"))) {
        out.has_latest_valid_hash = false;
        return {};
    }
    std::string_view s;
    if (v.get_string().get(s)) return bad(path, "latestValidHash: not a string or null");
    if (!parse_data(s, out.latest_valid_hash))
        return bad(path, "latestValidHash: expected 0x + 64 hex digits");
    out.has_latest_valid_hash = true;
    return {};
}

Result<void> read_validation_error(od::value& v, const char* path, PayloadStatus& out) {
    if (EM_TRY(take_null(v, path, "validationError"))) {
        out.validation_error_json = {};
        return {};
    }
    std::string_view raw = jsonrpc::trim_json_space_right(v.raw_json_token());
    std::string_view unescaped;
    if (v.get_string().get(unescaped) || !jsonrpc::is_json_string_literal(raw))
        return bad(path, "validationError: not a well-formed string or null");
    out.validation_error_json =
        raw.size() <= validation_error_bytes_max ? raw : validation_error_truncated_json;
    return {};
}

Result<void> read_inclusion_list_satisfied(od::value& v, const char* path, PayloadStatus& out) {
    if (EM_TRY(take_null(v, path, "inclusionListSatisfied"))) {
        out.inclusion_list_satisfied = OptBool::null;
        return {};
    }
    bool b = false;
    if (v.get_bool().get(b)) return bad(path, "inclusionListSatisfied: not a boolean or null");
    out.inclusion_list_satisfied = b ? OptBool::yes : OptBool::no;
    return {};
}

struct Seen {
    bool status = false;
    bool latest_valid_hash = false;
    bool validation_error = false;
    bool inclusion_list_satisfied = false;
};

Result<void> duplicate(const char* path, std::string_view key) {
    return failf(Errc::invalid_input, "%sduplicate field \"%.*s\"", path, shown(key), key.data());
}

Result<void> read_status_field(std::string_view key, od::value& v, StatusSchema schema,
                               const char* path, PayloadStatus& out, Seen& seen) {
    auto once = [&](bool& flag) {
        bool first = !flag;
        flag = true;
        return first;
    };
    if (key == "status") {
        if (!once(seen.status)) return duplicate(path, key);
        return read_status(v, path, out);
    }
    if (key == "latestValidHash") {
        if (!once(seen.latest_valid_hash)) return duplicate(path, key);
        return read_latest_valid_hash(v, path, out);
    }
    if (key == "validationError") {
        if (!once(seen.validation_error)) return duplicate(path, key);
        return read_validation_error(v, path, out);
    }
    if (schema == StatusSchema::v2 && key == "inclusionListSatisfied") {
        if (!once(seen.inclusion_list_satisfied)) return duplicate(path, key);
        return read_inclusion_list_satisfied(v, path, out);
    }
    return failf(Errc::invalid_input, "%sunexpected field \"%.*s\"", path, shown(key), key.data());
}

// The rules between fields (after all fields are read).
Result<void> check_status_rules(const PayloadStatus& s, StatusSchema schema, bool forkchoice,
                                const char* path, const Seen& seen) {
    if (!seen.status) return bad(path, "missing field \"status\"");
    if (forkchoice && (s.status == Status::accepted || s.status == Status::invalid_block_hash))
        return failf(Errc::invalid_input,
                     "%sstatus: %s is not allowed in a forkchoiceUpdated answer", path,
                     status_name(s.status).data());
    if (s.status == Status::valid && !s.has_latest_valid_hash)
        return bad(path, "latestValidHash: null with status VALID");
    if (schema == StatusSchema::v2) {
        bool valid = s.status == Status::valid;
        if (valid && s.inclusion_list_satisfied == OptBool::null)
            return bad(path, "inclusionListSatisfied: must be true or false with status VALID");
        if (!valid && s.inclusion_list_satisfied != OptBool::null)
            return bad(path, "inclusionListSatisfied: must be null unless status is VALID");
    }
    return {};
}

Result<void> read_status_object(od::object& obj, StatusSchema schema, bool forkchoice,
                                const char* path, PayloadStatus& out) {
    Seen seen;
    for (auto field_result : obj) {
        od::field field;
        if (std::move(field_result).get(field)) return bad(path, "malformed object");
        std::string_view key;
        if (field.unescaped_key().get(key)) return bad(path, "malformed field name");
        EM_TRY_VOID(read_status_field(key, field.value(), schema, path, out, seen));
    }
    return check_status_rules(out, schema, forkchoice, path, seen);
}

Result<od::object> open_object(od::parser& parser, simdjson::padded_string_view json,
                               od::document& doc) {
    simdjson::error_code error = parser.iterate(json).get(doc);
    if (error)
        return failf(Errc::invalid_input, "not valid JSON (%s)", simdjson::error_message(error));
    od::object obj;
    error = doc.get_object().get(obj);
    if (error == simdjson::INCORRECT_TYPE) return fail(Errc::invalid_input, "not a JSON object");
    if (error)
        return failf(Errc::invalid_input, "not valid JSON (%s)", simdjson::error_message(error));
    return obj;
}

Result<void> read_payload_id(od::value& v, ForkchoiceUpdatedAnswer& out) {
    if (EM_TRY(take_null(v, "", "payloadId"))) {
        out.has_payload_id = false;
        return {};
    }
    std::string_view s;
    if (v.get_string().get(s) || !parse_data(s, out.payload_id.bytes))
        return fail(Errc::invalid_input, "payloadId: expected 0x + 16 hex digits or null");
    out.has_payload_id = true;
    return {};
}

Result<void> read_forkchoice_object(od::object& obj, StatusSchema schema,
                                    ForkchoiceUpdatedAnswer& out) {
    bool seen_status = false;
    bool seen_id = false;
    for (auto field_result : obj) {
        od::field field;
        if (std::move(field_result).get(field))
            return fail(Errc::invalid_input, "malformed object");
        std::string_view key;
        if (field.unescaped_key().get(key))
            return fail(Errc::invalid_input, "malformed field name");
        if (key == "payloadStatus") {
            if (seen_status) return duplicate("", key);
            seen_status = true;
            od::object inner;
            if (field.value().get_object().get(inner))
                return fail(Errc::invalid_input, "payloadStatus: not a JSON object");
            EM_TRY_VOID(
                read_status_object(inner, schema, true, "payloadStatus.", out.payload_status));
        } else if (key == "payloadId") {
            if (seen_id) return duplicate("", key);
            seen_id = true;
            EM_TRY_VOID(read_payload_id(field.value(), out));
        } else {
            return failf(Errc::invalid_input, "unexpected field \"%.*s\"", shown(key), key.data());
        }
    }
    if (!seen_status) return fail(Errc::invalid_input, "missing field \"payloadStatus\"");
    return {};
}

bool append_status_object(ByteBuffer& out, const PayloadStatus& s, StatusSchema schema) {
    bool ok = out.append("{\"status\":\"") && out.append(status_name(s.status)) &&
              out.append("\",\"latestValidHash\":");
    if (s.has_latest_valid_hash) {
        ok =
            ok && out.push_back('"') && append_data(out, s.latest_valid_hash) && out.push_back('"');
    } else {
        ok = ok && out.append("null");
    }
    ok = ok && out.append(",\"validationError\":") &&
         out.append(s.validation_error_json.empty() ? std::string_view("null")
                                                    : s.validation_error_json);
    if (schema == StatusSchema::v2) {
        std::string_view ils = s.inclusion_list_satisfied == OptBool::yes  ? "true"
                               : s.inclusion_list_satisfied == OptBool::no ? "false"
                                                                           : "null";
        ok = ok && out.append(",\"inclusionListSatisfied\":") && out.append(ils);
    }
    return ok && out.push_back('}');
}

void assert_writable(const PayloadStatus& s) {
    std::string_view ve = s.validation_error_json;
    EM_ASSERT(ve.empty() || (ve.size() >= 2 && ve.front() == '"' && ve.back() == '"'));
}

Unexpected too_large(ByteBuffer& out, size_t start) {
    out.resize(start);
    return fail(Errc::too_large, "engine answer exceeds the output buffer's bytes_max");
}

}  // namespace

std::string_view status_name(Status s) {
    switch (s) {
        case Status::valid:
            return "VALID";
        case Status::invalid:
            return "INVALID";
        case Status::syncing:
            return "SYNCING";
        case Status::accepted:
            return "ACCEPTED";
        case Status::invalid_block_hash:
            return "INVALID_BLOCK_HASH";
    }
    return "SYNCING";
}

Result<PayloadStatus> parse_payload_status(od::parser& parser, simdjson::padded_string_view json,
                                           StatusSchema schema) {
    od::document doc;
    od::object obj = EM_TRY(open_object(parser, json, doc));
    PayloadStatus out;
    EM_TRY_VOID(read_status_object(obj, schema, false, "", out));
    if (!jsonrpc::at_document_end(doc))
        return fail(Errc::invalid_input, "trailing content after the object");
    return out;
}

Result<PayloadStatus> parse_payload_status(od::parser& parser, const char* data, size_t size,
                                           size_t capacity, StatusSchema schema) {
    EM_ASSERT(capacity >= size && capacity - size >= simdjson::SIMDJSON_PADDING);
    return parse_payload_status(parser, simdjson::padded_string_view(data, size, capacity), schema);
}

Result<ForkchoiceUpdatedAnswer> parse_forkchoice_updated(od::parser& parser,
                                                         simdjson::padded_string_view json,
                                                         StatusSchema schema) {
    od::document doc;
    od::object obj = EM_TRY(open_object(parser, json, doc));
    ForkchoiceUpdatedAnswer out;
    EM_TRY_VOID(read_forkchoice_object(obj, schema, out));
    if (!jsonrpc::at_document_end(doc))
        return fail(Errc::invalid_input, "trailing content after the object");
    return out;
}

Result<ForkchoiceUpdatedAnswer> parse_forkchoice_updated(od::parser& parser, const char* data,
                                                         size_t size, size_t capacity,
                                                         StatusSchema schema) {
    EM_ASSERT(capacity >= size && capacity - size >= simdjson::SIMDJSON_PADDING);
    return parse_forkchoice_updated(parser, simdjson::padded_string_view(data, size, capacity),
                                    schema);
}

Result<void> write_payload_status(ByteBuffer& out, const PayloadStatus& status,
                                  StatusSchema schema) {
    assert_writable(status);
    size_t start = out.size();
    if (!append_status_object(out, status, schema)) return too_large(out, start);
    return {};
}

Result<void> write_forkchoice_updated(ByteBuffer& out, const PayloadStatus& status,
                                      StatusSchema schema, const PayloadId* payload_id) {
    assert_writable(status);
    size_t start = out.size();
    bool ok = out.append("{\"payloadStatus\":") && append_status_object(out, status, schema) &&
              out.append(",\"payloadId\":");
    if (payload_id) {
        ok = ok && out.push_back('"') && append_data(out, payload_id->bytes) && out.push_back('"');
    } else {
        ok = ok && out.append("null");
    }
    if (!(ok && out.push_back('}'))) return too_large(out, start);
    return {};
}

bool is_null_result(std::string_view json) {
    auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
    while (!json.empty() && space(json.front())) json.remove_prefix(1);
    while (!json.empty() && space(json.back())) json.remove_suffix(1);
    return json == "null";
}

}  // namespace em::engine
