// The Responder's answers that read params: engine_newPayload*, forkchoiceUpdated*, getPayload*,
// the list-shaped engine methods and eth_getBlockByNumber.
#include <simdjson.h>

#include <cstdio>
#include <cstring>

#include "base/clock.h"
#include "base/hex.h"
#include "eth/verify.h"
#include "jsonrpc/codes.h"
#include "jsonrpc/writer.h"
#include "mockel/responder.h"

namespace em::mockel {

namespace od = simdjson::ondemand;

namespace {

using Hash = std::array<uint8_t, 32>;

/// A DATA32 member of obj ("0x" + 64 hex digits, either case).
bool read_hash(od::object& obj, std::string_view key, uint8_t* out) {
    std::string_view s;
    if (obj.find_field_unordered(key).get_string().get(s)) return false;
    return parse_data(s, {out, 32}).has_value();
}

/// The synthetic hash of block n of the mock chain: "mock" || zeros || n (big-endian).
Hash block_hash_of(uint64_t n) {
    Hash h{};
    std::memcpy(h.data(), "mock", 4);
    for (int i = 0; i < 8; i++) h[31 - static_cast<size_t>(i)] = static_cast<uint8_t>(n >> (8 * i));
    return h;
}

/// What newPayload needs from params[0].
struct PayloadFacts {
    Hash block_hash{};
    Hash parent_hash{};
    uint64_t number = 0;
};

/// Reads blockHash, parentHash and blockNumber of params[0] (no full decode). nullptr or the
/// -32602 message.
const char* read_payload_facts(od::value params, PayloadFacts& f) {
    od::array array;
    if (params.get_array().get(array)) return "params: expected an array";
    od::value first;
    if (array.at(0).get(first)) return "params[0]: missing ExecutionPayload";
    od::object payload;
    if (first.get_object().get(payload)) return "params[0]: expected an ExecutionPayload object";
    if (!read_hash(payload, "blockHash", f.block_hash.data()))
        return "params[0].blockHash: missing or not 0x + 64 hex digits";
    if (!read_hash(payload, "parentHash", f.parent_hash.data()))
        return "params[0].parentHash: missing or not 0x + 64 hex digits";
    std::string_view number;
    if (payload.find_field_unordered("blockNumber").get_string().get(number))
        return "params[0].blockNumber: missing or not a QUANTITY";
    auto n = parse_quantity(number);
    if (!n) return "params[0].blockNumber: missing or not a QUANTITY";
    f.number = *n;
    return nullptr;
}

/// Reads params[0].headBlockHash and whether params[1] (payloadAttributes) is an object.
/// nullptr or the -32602 message.
const char* read_forkchoice_params(od::value params, Hash& head, bool& attributes) {
    od::array array;
    if (params.get_array().get(array))
        return "params: expected [ForkchoiceState, PayloadAttributes|null]";
    size_t i = 0;
    for (auto element : array) {
        od::value v;
        if (element.get(v)) break;
        if (i == 0) {
            od::object state;
            if (v.get_object().get(state) || !read_hash(state, "headBlockHash", head.data()))
                return "params[0].headBlockHash: missing or not 0x + 64 hex digits";
        } else {
            od::json_type t;
            if (v.type().get(t) || (t != od::json_type::object && t != od::json_type::null))
                return "params[1]: expected PayloadAttributes or null";
            attributes = t == od::json_type::object;
            break;
        }
        i++;
    }
    return i == 0 ? "params[0]: missing ForkchoiceState" : nullptr;
}

/// latestValidHash a status has when no rule says otherwise.
const uint8_t* default_lvh(Status s, const uint8_t* block, const uint8_t* parent) {
    if (s == Status::valid) return block;
    if (s == Status::invalid) return parent;
    return nullptr;  // SYNCING, ACCEPTED, INVALID_BLOCK_HASH: null per the spec
}

}  // namespace

void Responder::answer_new_payload(Call& call) {
    PayloadFacts f;
    char mismatch[200];
    std::string_view validation_error;
    Status status = Status::valid;
    auto params = parser_.rewind_to_params(call.index);
    if (params.error()) {
        write_call_error(call, jsonrpc::code::invalid_params, "params: missing");
        return;
    }
    if (verifier_) {
        auto verdict = verifier_->verify_params(params.value_unsafe(), call.method->version);
        if (!verdict) {
            write_call_error(call, jsonrpc::code::invalid_params, verdict.error().message());
            return;
        }
        const eth::ExecutionPayload& p = verifier_->last_payload().payload;
        f.block_hash = verdict->claimed;
        f.parent_hash = p.parent_hash;
        f.number = p.block_number;
        if (!verdict->match) {
            status = call.method->version == 1 ? Status::invalid_block_hash : Status::invalid;
            char computed[67] = {}, claimed[67] = {};
            eth::format_hash(verdict->computed, computed);
            eth::format_hash(verdict->claimed, claimed);
            int n =
                std::snprintf(mismatch, sizeof mismatch,
                              "blockhash mismatch: computed %s, payload has %s", computed, claimed);
            validation_error = {mismatch, static_cast<size_t>(n)};
        }
    } else if (const char* problem = read_payload_facts(params.value_unsafe(), f)) {
        write_call_error(call, jsonrpc::code::invalid_params, problem);
        return;
    }
    const uint8_t* lvh = validation_error.empty() ? f.block_hash.data() : nullptr;
    if (call.ruled) {
        if (action_.has_status) {
            status = action_.status;
            lvh = default_lvh(status, f.block_hash.data(), f.parent_hash.data());
        }
        if (action_.lvh == Lvh::null)
            lvh = nullptr;
        else if (action_.lvh == Lvh::block)
            lvh = f.block_hash.data();
        else if (action_.lvh == Lvh::parent)
            lvh = f.parent_hash.data();
        else if (action_.lvh == Lvh::fixed)
            lvh = action_.lvh_hash.data();
        if (action_.has_validation_error) validation_error = action_.validation_error_text();
    }
    if (status == Status::valid) shared_.advance_head(f.number);
    if (call.logged) {
        log_entry_.hash_kind = LogEntry::HashKind::block_hash;
        log_entry_.hash = f.block_hash;
    }
    begin_result(call);
    write_payload_status(call, status, lvh, validation_error);
    end_result();
}

void Responder::answer_forkchoice(Call& call) {
    Hash head{};
    bool attributes = false;
    auto params = parser_.rewind_to_params(call.index);
    const char* problem = params.error()
                              ? "params: missing"
                              : read_forkchoice_params(params.value_unsafe(), head, attributes);
    if (problem) {
        write_call_error(call, jsonrpc::code::invalid_params, problem);
        return;
    }
    Status status = Status::valid;
    const uint8_t* lvh = head.data();
    std::string_view validation_error;
    bool no_payload_id = false;
    if (call.ruled) {
        if (action_.has_status) {
            status = action_.status;
            lvh = status == Status::valid ? head.data() : nullptr;
        }
        if (action_.lvh == Lvh::null || action_.lvh == Lvh::parent)
            lvh = nullptr;
        else if (action_.lvh == Lvh::block)
            lvh = head.data();
        else if (action_.lvh == Lvh::fixed)
            lvh = action_.lvh_hash.data();
        if (action_.has_validation_error) validation_error = action_.validation_error_text();
        no_payload_id = action_.no_payload_id;
    }
    if (call.logged) {
        log_entry_.hash_kind = LogEntry::HashKind::head_block_hash;
        log_entry_.hash = head;
    }
    begin_result(call);
    body_.append("{\"payloadStatus\":");
    write_payload_status(call, status, lvh, validation_error);
    body_.append(",\"payloadId\":");
    if (attributes && status == Status::valid && !no_payload_id) {
        uint64_t id = shared_.next_payload_id();
        uint8_t bytes[8];
        for (int i = 0; i < 8; i++) bytes[i] = static_cast<uint8_t>(id >> (56 - 8 * i));
        body_.push_back('"');
        append_data(body_, bytes);
        body_.push_back('"');
    } else {
        body_.append("null");
    }
    body_.push_back('}');
    end_result();
}

void Responder::append_payload(const Call& call, std::string_view payload) {
    size_t start = body_.size();
    body_.append(payload);
    if (!call.ruled || !action_.bad_hash) return;
    // One digit of the claimed blockHash changed: the block no longer matches its hash.
    constexpr std::string_view key = "\"blockHash\":\"0x";
    size_t at = payload.find(key);
    if (at == std::string_view::npos) return;
    char& digit = body_.data()[start + at + key.size()];
    digit = digit == '0' ? '1' : '0';
}

void Responder::answer_get_payload(Call& call) {
    std::string_view text;
    uint8_t bytes[8];
    od::array array;
    od::value first;
    auto params = parser_.rewind_to_params(call.index);
    if (params.error() || params.value_unsafe().get_array().get(array) || array.at(0).get(first) ||
        first.get_string().get(text) || !parse_data(text, bytes)) {
        write_call_error(call, jsonrpc::code::invalid_params,
                         "params[0]: expected a payloadId (0x + 16 hex digits)");
        return;
    }
    uint64_t id = 0;
    for (uint8_t b : bytes) id = id << 8 | b;
    if (!shared_.issued_payload_id(id)) {
        write_call_error(call, jsonrpc::code::unknown_payload, "Unknown payload");
        return;
    }
    uint8_t version = call.method->version;
    std::string_view payload = config_.payloads[version];
    begin_result(call);
    if (version == 1) {
        append_payload(call, payload);
        end_result();
        return;
    }
    body_.append("{\"executionPayload\":");
    append_payload(call, payload);
    body_.append(",\"blockValue\":\"");
    append_quantity(
        body_, call.ruled && action_.has_block_value ? action_.block_value : config_.block_value);
    body_.push_back('"');
    if (version >= 3)
        body_.append(
            ",\"blobsBundle\":{\"commitments\":[],\"proofs\":[],\"blobs\":[]},"
            "\"shouldOverrideBuilder\":false");
    if (version >= 4) body_.append(",\"executionRequests\":[]");
    body_.push_back('}');
    end_result();
}

void Responder::answer_list(Call& call) {
    const MethodInfo& m = *call.method;
    size_t count = 0;
    if (m.kind != Kind::bodies_by_range) {
        od::array array, list;
        od::value first;
        auto params = parser_.rewind_to_params(call.index);
        if (params.error() || params.value_unsafe().get_array().get(array) ||
            array.at(0).get(first) || first.get_array().get(list) ||
            list.count_elements().get(count)) {
            write_call_error(call, jsonrpc::code::invalid_params,
                             "params[0]: expected an array of hashes");
            return;
        }
        if (count > config_.list_entries_max) {
            write_call_error(call, jsonrpc::code::too_large_request, "Too large request");
            return;
        }
    }
    begin_result(call);
    if (m.kind == Kind::get_blobs && m.version == 2) {
        body_.append("null");  // V2: null as soon as any blob is missing
    } else {
        // getBlobsV1/V3 and bodies by hash: null per unknown item; by range: no trailing nulls.
        body_.push_back('[');
        for (size_t i = 0; i < count; i++) body_.append(i ? ",null" : "null");
        body_.push_back(']');
    }
    end_result();
}

namespace {

/// A block reference of an eth_getLogs filter: absent or a tag is the head, earliest 0.
bool logs_end(od::object& filter, std::string_view key, uint64_t head, uint64_t& out) {
    std::string_view text;
    auto field = filter.find_field_unordered(key);
    if (field.error() == simdjson::NO_SUCH_FIELD) {
        out = head;
        return true;
    }
    if (field.get_string().get(text)) return false;
    if (text == "latest" || text == "pending" || text == "safe" || text == "finalized") {
        out = head;
    } else if (text == "earliest") {
        out = 0;
    } else if (auto n = parse_quantity(text)) {
        out = *n;
    } else {
        return false;
    }
    return true;
}

/// Log `i` of block `n` of the mock chain (deterministic: the same on every mock).
void append_log(ByteBuffer& out, uint64_t n, uint64_t i) {
    Hash topic{};
    std::memcpy(topic.data(), "log", 3);
    for (int b = 0; b < 8; b++)
        topic[31 - static_cast<size_t>(b)] = static_cast<uint8_t>(n >> (8 * b));
    out.append(R"({"address":"0x00000000000000000000000000000000000000aa","topics":[")");
    append_data(out, topic);
    out.append(R"("],"data":")");
    append_quantity(out, n * 1000 + i);
    out.append(R"(","blockNumber":")");
    append_quantity(out, n);
    out.append(R"(","transactionHash":")");
    topic[0] = 't';
    topic[3] = static_cast<uint8_t>(i);
    append_data(out, topic);
    out.append(R"(","transactionIndex":")");
    append_quantity(out, i);
    out.append(R"(","blockHash":")");
    append_data(out, block_hash_of(n));
    out.append(R"(","logIndex":")");
    append_quantity(out, i);
    out.append(R"(","removed":false})");
}

}  // namespace

void Responder::answer_logs(Call& call) {
    od::array array;
    od::object filter;
    uint64_t head = shared_.head();
    uint64_t from = 0, to = 0;
    auto params = parser_.rewind_to_params(call.index);
    if (params.error() || params.value_unsafe().get_array().get(array) ||
        array.at(0).get_object().get(filter) || !logs_end(filter, "fromBlock", head, from) ||
        !logs_end(filter, "toBlock", head, to)) {
        write_call_error(call, jsonrpc::code::invalid_params,
                         "params[0]: expected a filter with fromBlock and toBlock numbers or tags");
        return;
    }
    if (from > to) {
        write_call_error(call, jsonrpc::code::invalid_params, "fromBlock is after toBlock");
        return;
    }
    if (to > head) to = head;  // past the head: up to it (empty when it starts past it)
    uint64_t max = config_.logs_blocks_max;
    if (max && from <= to && to - from >= max) {
        char message[96];
        int n = std::snprintf(message, sizeof message,
                              "query exceeds the limit of %llu blocks (--logs-blocks-max)",
                              static_cast<unsigned long long>(max));
        write_call_error(call, -32005, {message, static_cast<size_t>(n)});
        return;
    }
    begin_result(call);
    body_.push_back('[');
    bool first = true;
    for (uint64_t n = from; n <= to && n >= from; n++) {
        for (uint64_t i = 0; i < n % 3; i++) {
            if (!first) body_.push_back(',');
            first = false;
            append_log(body_, n, i);
        }
        if (n == UINT64_MAX) break;
    }
    body_.push_back(']');
    end_result();
}

void Responder::answer_block_by_number(Call& call) {
    std::string_view tag;
    od::array array;
    od::value first;
    uint64_t head = shared_.head();
    uint64_t number = 0;
    auto params = parser_.rewind_to_params(call.index);
    bool ok = !params.error() && !params.value_unsafe().get_array().get(array) &&
              !array.at(0).get(first) && !first.get_string().get(tag);
    if (ok) {
        if (tag == "latest" || tag == "pending" || tag == "safe" || tag == "finalized")
            number = head;
        else if (tag == "earliest")
            number = 0;
        else if (auto n = parse_quantity(tag))
            number = *n;
        else
            ok = false;
    }
    if (!ok) {
        write_call_error(call, jsonrpc::code::invalid_params,
                         "params[0]: expected a block number (QUANTITY) or tag");
        return;
    }
    begin_result(call);
    if (number > head) {
        body_.append("null");
        end_result();
        return;
    }
    Hash hash = block_hash_of(number);
    Hash parent = number ? block_hash_of(number - 1) : Hash{};
    body_.append("{\"number\":\"");
    append_quantity(body_, number);
    body_.append("\",\"hash\":\"");
    append_data(body_, hash);
    body_.append("\",\"parentHash\":\"");
    append_data(body_, parent);
    body_.append("\",\"timestamp\":\"");
    append_quantity(body_, static_cast<uint64_t>(wall_s()));
    body_.push_back('"');
    body_.append(
        ",\"gasLimit\":\"0x1c9c380\",\"gasUsed\":\"0x0\",\"baseFeePerGas\":\"0x7\","
        "\"transactions\":[],\"uncles\":[]}");
    end_result();
}

void Responder::answer_transition_configuration(Call& call) {
    od::array array;
    od::value first;
    od::object config;
    std::string_view raw;
    auto params = parser_.rewind_to_params(call.index);
    if (params.error() || params.value_unsafe().get_array().get(array) || array.at(0).get(first) ||
        first.get_object().get(config) || config.raw_json().get(raw)) {
        write_call_error(call, jsonrpc::code::invalid_params,
                         "params[0]: expected a TransitionConfigurationV1 object");
        return;
    }
    begin_result(call);
    body_.append(raw);  // echo: the mock agrees with any configuration
    end_result();
}

}  // namespace em::mockel
