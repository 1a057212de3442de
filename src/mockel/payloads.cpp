#include "mockel/payloads.h"

#include <simdjson.h>

#include <cerrno>
#include <cstdio>

#include "eth/verify.h"

namespace em::mockel {

namespace od = simdjson::ondemand;

namespace {

constexpr std::string_view zero32 =
    "0x0000000000000000000000000000000000000000000000000000000000000000";

/// engine_newPayload version whose payload shape getPayloadV<version> returns.
uint8_t new_payload_version_for(uint8_t get_payload_version) {
    switch (get_payload_version) {
        case 1:
            return 1;
        case 2:
            return 2;
        case 3:
            return 3;
        case 4:
        case 5:
            return 4;  // Prague and Osaka
        default:
            return 5;  // V6: Amsterdam
    }
}

/// The payload text with blockHash = hash (the last field before transactions).
std::string payload_text(uint8_t np_version, uint64_t number, uint64_t gas_used,
                         std::string_view hash) {
    char number_hex[24];
    std::snprintf(number_hex, sizeof number_hex, "0x%llx", static_cast<unsigned long long>(number));
    char gas_hex[24];
    std::snprintf(gas_hex, sizeof gas_hex, "0x%llx", static_cast<unsigned long long>(gas_used));
    std::string p =
        "{\"parentHash\":\"0x6d6f636b00000000000000000000000000000000000000000000000000000000\","
        "\"feeRecipient\":\"0x0000000000000000000000000000000000000000\","
        "\"stateRoot\":\"0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421\","
        "\"receiptsRoot\":\"0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421\","
        "\"logsBloom\":\"0x" +
        std::string(512, '0') +
        "\","
        "\"prevRandao\":\"" +
        std::string(zero32) +
        "\","
        "\"blockNumber\":\"" +
        number_hex + "\",\"gasLimit\":\"0x1c9c380\",\"gasUsed\":\"" + gas_hex +
        "\","
        "\"timestamp\":\"0x6553f100\",\"extraData\":\"0x6d6f636b2d656c\",\"baseFeePerGas\":\"0x7\","
        "\"blockHash\":\"" +
        std::string(hash) + "\",\"transactions\":[]";
    if (np_version >= 2) p += ",\"withdrawals\":[]";
    if (np_version >= 3) p += ",\"blobGasUsed\":\"0x0\",\"excessBlobGas\":\"0x0\"";
    if (np_version >= 5) p += ",\"blockAccessList\":\"0xc0\",\"slotNumber\":\"0x1\"";
    p += "}";
    return p;
}

}  // namespace

Result<std::string> synthetic_payload(uint8_t version, uint64_t number, uint64_t gas_used) {
    uint8_t np = new_payload_version_for(version);
    std::string params = payload_text(np, number, gas_used, zero32);
    if (np >= 3) params += ",[],\"" + std::string(zero32) + "\"";
    if (np >= 4) params += ",[]";
    std::string request = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"engine_newPayloadV" +
                          std::to_string(np) + "\",\"params\":[" + params + "]}";
    simdjson::padded_string padded(request);
    eth::VerifierConfig vc;
    vc.arena_bytes = size_t{1} << 20;
    vc.request_bytes_max = size_t{1} << 20;
    eth::BlockHashVerifier verifier(vc);
    auto verdict = verifier.verify_request(padded);
    if (!verdict) return Unexpected(verdict.error());
    char hash[67] = {};
    eth::format_hash(verdict->computed, hash);
    return payload_text(np, number, gas_used, std::string_view(hash, 66));
}

Result<std::string> payload_from_request(std::string_view json) {
    simdjson::padded_string padded(json);
    od::parser parser;
    od::document doc;
    od::object request;
    if (parser.iterate(padded).get(doc) || doc.get_object().get(request))
        return fail(Errc::invalid_input,
                    "expected one JSON-RPC newPayload request object (not an array)");
    od::object inner;
    if (!request.find_field_unordered("request").get_object().get(inner)) request = inner;
    std::string_view method;
    if (request.find_field_unordered("method").get_string().get(method))
        return fail(Errc::invalid_input, "no \"method\" string");
    if (!method.starts_with("engine_newPayloadV"))
        return failf(Errc::invalid_input, "method %.*s is not engine_newPayloadV1..V5",
                     static_cast<int>(method.size() > 48 ? 48 : method.size()), method.data());
    od::array params;
    od::value first;
    od::object payload;
    std::string_view raw;
    if (request.find_field_unordered("params").get_array().get(params) || params.at(0).get(first) ||
        first.get_object().get(payload) || payload.raw_json().get(raw))
        return fail(Errc::invalid_input, "params[0] is not an ExecutionPayload object");
    return std::string(raw);
}

Result<void> load_payloads(const std::string& path, uint64_t head, PayloadTexts& texts,
                           uint64_t gas_used) {
    if (path.empty()) {
        for (size_t v = 1; v < texts.size(); v++)
            texts[v] = EM_TRY(synthetic_payload(static_cast<uint8_t>(v), head + 1, gas_used));
        return {};
    }
    FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) return Unexpected(Error::sys(errno, "payload file " + path));
    std::string text;
    char buf[65536];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0 && text.size() <= payload_file_bytes_max)
        text.append(buf, n);
    std::fclose(f);
    if (text.size() > payload_file_bytes_max)
        return failf(Errc::too_large, "payload file %s: larger than %zu bytes", path.c_str(),
                     payload_file_bytes_max);
    auto payload = payload_from_request(text);
    if (!payload) {
        Error e = payload.error();
        e.prefix("payload file " + path);
        return Unexpected(e);
    }
    for (size_t v = 1; v < texts.size(); v++) texts[v] = *payload;
    return {};
}

}  // namespace em::mockel
