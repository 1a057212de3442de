// A builder's getPayload answer as a newPayload request (see builder_payload.h): one pass over
// the envelope takes views of its parts (they point into the caller's padded text, which
// outlives the parser's document), a second over the executionPayload reads gasUsed.
#include "engine/builder_payload.h"

#include <array>

#include "base/hex.h"

namespace em::engine {

namespace {

namespace od = simdjson::ondemand;

/// Views into the answer's text.
struct Envelope {
    std::string_view payload;      ///< executionPayload's JSON
    std::string_view requests;     ///< executionRequests' JSON ("" absent)
    std::string_view beacon_root;  ///< parentBeaconBlockRoot's digits ("" absent)
    bool blobs = false;            ///< blobsBundle holds commitments
    bool have_value = false;
    U256 block_value;
};

bool is_hash32(std::string_view text) {
    std::array<uint8_t, 32> bytes{};
    return text.size() == 66 && parse_data(text, bytes).has_value();
}

Result<void> read_blobs_bundle(od::value value, Envelope& e) {
    od::object bundle;
    if (value.get_object().get(bundle))
        return fail(Errc::invalid_input, "blobsBundle: not an object");
    for (auto field_result : bundle) {
        od::field field;
        std::string_view key;
        if (std::move(field_result).get(field) || field.unescaped_key().get(key))
            return fail(Errc::invalid_input, "blobsBundle: malformed");
        if (key != "commitments") continue;
        od::array commitments;
        if (field.value().get_array().get(commitments))
            return fail(Errc::invalid_input, "blobsBundle.commitments: not an array");
        for (auto item : commitments) {
            (void)item;
            e.blobs = true;
            break;
        }
    }
    return {};
}

// tidy: long because it is one flat list of the envelope's fields
Result<void> read_envelope(od::object& obj, Envelope& e) {
    for (auto field_result : obj) {
        od::field field;
        std::string_view key;
        if (std::move(field_result).get(field) || field.unescaped_key().get(key))
            return fail(Errc::invalid_input, "getPayload answer: malformed object");
        if (key == "executionPayload") {
            od::object payload;
            if (!e.payload.empty() || field.value().get_object().get(payload) ||
                payload.raw_json().get(e.payload))
                return fail(Errc::invalid_input, "executionPayload: not one object");
        } else if (key == "blockValue") {
            std::string_view text;
            if (e.have_value || field.value().get_string().get(text))
                return fail(Errc::invalid_input, "blockValue: not one QUANTITY");
            auto value = parse_quantity_u256(text);
            if (!value) return Unexpected(value.error().prefix("blockValue"));
            e.block_value = *value;
            e.have_value = true;
        } else if (key == "blobsBundle") {
            EM_TRY_VOID(read_blobs_bundle(field.value(), e));
        } else if (key == "parentBeaconBlockRoot") {
            std::string_view text;
            if (field.value().get_string().get(text) || !is_hash32(text))
                return fail(Errc::invalid_input, "parentBeaconBlockRoot: not 32 bytes of DATA");
            e.beacon_root = text;
        } else if (key == "executionRequests") {
            od::array requests;
            if (field.value().get_array().get(requests) || requests.raw_json().get(e.requests))
                return fail(Errc::invalid_input, "executionRequests: not an array");
        }
    }
    if (e.payload.empty()) return fail(Errc::invalid_input, "executionPayload: missing");
    if (!e.have_value) return fail(Errc::invalid_input, "blockValue: missing");
    return {};
}

/// A view of `part` (inside `whole`) that simdjson may read to the end of whole's padding.
simdjson::padded_string_view padded_part(simdjson::padded_string_view whole,
                                         std::string_view part) {
    size_t offset = static_cast<size_t>(part.data() - whole.data());
    return simdjson::padded_string_view(part.data(), part.size(), whole.capacity() - offset);
}

Result<uint64_t> read_gas_used(od::parser& parser, simdjson::padded_string_view payload) {
    od::document doc;
    od::object obj;
    if (parser.iterate(payload).get(doc) || doc.get_object().get(obj))
        return fail(Errc::invalid_input, "executionPayload: not an object");
    std::string_view text;
    if (obj.find_field_unordered("gasUsed").get_string().get(text))
        return fail(Errc::invalid_input, "executionPayload.gasUsed: missing");
    auto gas = parse_quantity(text);
    if (!gas) return Unexpected(gas.error().prefix("executionPayload.gasUsed"));
    return *gas;
}

}  // namespace

uint8_t new_payload_version_for(uint8_t get_payload_version) {
    static constexpr uint8_t versions[] = {0, 1, 2, 3, 4, 4, 5};  // getPayloadV5 is Osaka's
    return get_payload_version < sizeof versions ? versions[get_payload_version] : 0;
}

// tidy: long because it writes the request of every version in one place
Result<BuiltPayload> new_payload_from_built(od::parser& parser, simdjson::padded_string_view result,
                                            uint8_t get_payload_version,
                                            std::string_view parent_beacon_block_root,
                                            std::string_view id, ByteBuffer& out) {
    BuiltPayload built;
    built.new_payload_version = new_payload_version_for(get_payload_version);
    if (built.new_payload_version == 0)
        return failf(Errc::unsupported, "getPayloadV%u: no newPayload imports it",
                     static_cast<unsigned>(get_payload_version));
    Envelope e;
    if (get_payload_version == 1) {
        e.payload = std::string_view(result.data(), result.size());
    } else {
        od::document doc;
        od::object obj;
        if (parser.iterate(result).get(doc) || doc.get_object().get(obj))
            return fail(Errc::invalid_input, "getPayload answer: not an object");
        EM_TRY_VOID(read_envelope(obj, e));
        built.block_value = e.block_value;
    }
    uint8_t v = built.new_payload_version;
    if (v >= 3 && e.blobs)
        return fail(Errc::unsupported, "blobsBundle: a builder block with blobs (not OP Stack)");
    if (v >= 3 && e.beacon_root.empty()) {
        if (!is_hash32(parent_beacon_block_root))
            return fail(Errc::invalid_input,
                        "parentBeaconBlockRoot: not in the answer nor in the attributes");
        e.beacon_root = parent_beacon_block_root;
    }
    built.gas_used = EM_TRY(read_gas_used(parser, padded_part(result, e.payload)));
    out.clear();
    out.append(R"({"jsonrpc":"2.0","id":)");
    out.append(id);
    out.append(R"(,"method":"engine_newPayloadV)");
    out.push_back(static_cast<char>('0' + v));
    out.append(R"(","params":[)");
    out.append(e.payload);
    if (v >= 3) {
        out.append(R"(,[],")");
        out.append(e.beacon_root);
        out.push_back('"');
    }
    if (v >= 4) {
        out.push_back(',');
        out.append(e.requests.empty() ? std::string_view("[]") : e.requests);
    }
    out.append("]}");
    if (out.overflowed()) return fail(Errc::too_large, "newPayload request: over the buffer");
    return built;
}

}  // namespace em::engine
