// Block-hash verification entry points (see verify.h).
#include "eth/verify.h"

#include "base/assert.h"
#include "base/hex.h"
#include "eth/header.h"

namespace em::eth {

namespace ond = simdjson::ondemand;

namespace {

std::string_view trim_token(std::string_view t) {
    while (!t.empty() &&
           (t.back() == ' ' || t.back() == '\n' || t.back() == '\r' || t.back() == '\t'))
        t.remove_suffix(1);
    return t;
}

Unexpected json_fail(const char* where, simdjson::error_code e) {
    return failf(Errc::invalid_input, "%s: invalid JSON (%s)", where, simdjson::error_message(e));
}

}  // namespace

void format_hash(const Hash32& h, char out[66]) {
    format_data(h, out);
}

BlockHashVerifier::BlockHashVerifier(const VerifierConfig& config)
    : config_(config), arena_(config.arena_bytes), parser_(config.request_bytes_max) {}

Result<Verdict> BlockHashVerifier::finish() {
    Hash32 computed = EM_TRY(compute_block_hash(payload_, arena_));
    Verdict v;
    v.computed = computed;
    v.claimed = payload_.payload.block_hash;
    v.match = v.computed == v.claimed;
    v.fork = payload_.fork;
    v.version = payload_.version;
    return v;
}

Result<void> BlockHashVerifier::decode_params(ond::value params, uint8_t version) {
    EM_ASSERT(version >= 1 && version <= new_payload_version_max);
    arena_.reset();
    return decode_new_payload(params, version, arena_, payload_, config_.decode, &counters_);
}

Result<Verdict> BlockHashVerifier::hash_decoded() {
    return finish();
}

Result<Verdict> BlockHashVerifier::verify_params(ond::value params, uint8_t version) {
    EM_TRY_VOID(decode_params(params, version));
    return finish();
}

Result<Verdict> BlockHashVerifier::verify_params(ond::array params, uint8_t version) {
    EM_ASSERT(version >= 1 && version <= new_payload_version_max);
    arena_.reset();
    EM_TRY_VOID(decode_new_payload(params, version, arena_, payload_, config_.decode, &counters_));
    return finish();
}

Result<Verdict> BlockHashVerifier::verify_request(simdjson::padded_string_view request) {
    if (request.size() > config_.request_bytes_max)
        return failf(Errc::too_large, "request: %zu bytes exceed the limit of %zu", request.size(),
                     config_.request_bytes_max);
    if (auto e = parser_.iterate(request).get(document_)) return json_fail("request", e);
    ond::object obj;
    if (auto e = document_.get_object().get(obj)) {
        if (e == simdjson::INCORRECT_TYPE)
            return fail(Errc::invalid_input, "request: expected an object");
        return json_fail("request", e);
    }
    return verify_request_object(obj, nullptr);
}

Result<Verdict> BlockHashVerifier::verify_request_object(ond::object request,
                                                         std::string_view* id_token) {
    if (id_token) {
        ond::value id;
        auto e = request.find_field_unordered("id").get(id);
        if (e == simdjson::NO_SUCH_FIELD) {
            *id_token = "null";
        } else if (e) {
            return json_fail("id", e);
        } else {
            *id_token = trim_token(id.raw_json_token());
        }
    }
    ond::value method_value;
    if (auto e = request.find_field_unordered("method").get(method_value)) {
        if (e == simdjson::NO_SUCH_FIELD) return fail(Errc::invalid_input, "method: missing");
        return json_fail("method", e);
    }
    std::string_view method;
    if (method_value.get_string().get(method))
        return fail(Errc::invalid_input, "method: expected a string");
    uint8_t version = new_payload_version(method);
    if (version == 0)
        return failf(Errc::unsupported, "method: \"%.*s\" is not engine_newPayloadV1..V%u",
                     static_cast<int>(method.size() > 40 ? 40 : method.size()), method.data(),
                     new_payload_version_max);
    ond::value params;
    if (auto e = request.find_field_unordered("params").get(params)) {
        if (e == simdjson::NO_SUCH_FIELD) return fail(Errc::invalid_input, "params: missing");
        return json_fail("params", e);
    }
    return verify_params(params, version);
}

}  // namespace em::eth
