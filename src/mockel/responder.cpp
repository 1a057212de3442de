#include "mockel/responder.h"

#include <simdjson.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "base/clock.h"
#include "base/hex.h"
#include "eth/verify.h"
#include "http/writer.h"
#include "jsonrpc/codes.h"
#include "jsonrpc/writer.h"
#include "mockel/methods.h"

namespace em::mockel {

namespace od = simdjson::ondemand;

namespace {

constexpr std::string_view json_type = "application/json";
constexpr std::string_view garbage_body =
    "<html><body>502 Bad Gateway (mock garbage)</body></html>\n";
constexpr std::string_view wrong_id_a = "424242424242";
constexpr std::string_view wrong_id_b = "424242424243";
/// Engine methods listed by engine_exchangeCapabilities (all but exchangeCapabilities itself).
constexpr std::string_view capabilities_json =
    "[\"engine_newPayloadV1\",\"engine_newPayloadV2\",\"engine_newPayloadV3\","
    "\"engine_newPayloadV4\",\"engine_newPayloadV5\",\"engine_forkchoiceUpdatedV1\","
    "\"engine_forkchoiceUpdatedV2\",\"engine_forkchoiceUpdatedV3\",\"engine_forkchoiceUpdatedV4\","
    "\"engine_getPayloadV1\",\"engine_getPayloadV2\",\"engine_getPayloadV3\",\"engine_"
    "getPayloadV4\","
    "\"engine_getPayloadV5\",\"engine_getPayloadV6\",\"engine_getClientVersionV1\","
    "\"engine_getBlobsV1\",\"engine_getBlobsV2\",\"engine_getBlobsV3\","
    "\"engine_getPayloadBodiesByHashV1\",\"engine_getPayloadBodiesByHashV2\","
    "\"engine_getPayloadBodiesByRangeV1\",\"engine_getPayloadBodiesByRangeV2\","
    "\"engine_exchangeTransitionConfigurationV1\"]";

/// Standard message of an error code (for error=CODE without a message).
std::string_view standard_message(int code) {
    switch (code) {
        case jsonrpc::code::parse_error:
            return "Parse error";
        case jsonrpc::code::invalid_request:
            return "Invalid Request";
        case jsonrpc::code::method_not_found:
            return "Method not found";
        case jsonrpc::code::invalid_params:
            return "Invalid params";
        case jsonrpc::code::internal_error:
            return "Internal error";
        case jsonrpc::code::server_error:
            return "Server error";
        case jsonrpc::code::unknown_payload:
            return "Unknown payload";
        case jsonrpc::code::invalid_forkchoice_state:
            return "Invalid forkchoice state";
        case jsonrpc::code::invalid_payload_attributes:
            return "Invalid payload attributes";
        case jsonrpc::code::too_large_request:
            return "Too large request";
        case jsonrpc::code::unsupported_fork:
            return "Unsupported fork";
        case -38006:
            return "Too deep reorg";
        default:
            return "mock error";
    }
}

void write_http_error(ByteBuffer& out, int status, std::string_view message, bool keep_alive) {
    size_t mark = http::begin_response(out, status, json_type, keep_alive);
    out.append("{\"error\":");
    jsonrpc::write_json_string(out, message);
    out.push_back('}');
    http::end_response(out, mark);
}

void merge_plan(const Action& a, Plan& plan) {
    plan.delay_ms = std::max(plan.delay_ms, a.delay_ms);
    if (plan.transport == Transport::none) plan.transport = a.transport;
    if (plan.http_status == 0) plan.http_status = a.http_status;
    plan.huge_bytes = std::max(plan.huge_bytes, a.huge_bytes);
}

}  // namespace

Responder::Responder(Shared& shared, size_t thread_index)
    : shared_(shared),
      config_(shared.config()),
      stats_(shared.thread_stats(thread_index)),
      parser_([&] {
          jsonrpc::Limits limits;
          limits.batch_entries_max = shared.config().batch_entries_max;
          limits.body_bytes_max = shared.config().body_bytes_max;
          return limits;
      }()),
      body_(shared.config().response_bytes_max, 16 * 1024) {
    if (config_.jwt_required) jwt_ = std::make_unique<http::JwtVerifier>(config_.jwt_secret);
    if (config_.verify_block_hash) {
        eth::VerifierConfig vc;
        vc.request_bytes_max = config_.body_bytes_max;
        verifier_ = std::make_unique<eth::BlockHashVerifier>(vc);
    }
}

Responder::~Responder() = default;

Plan Responder::handle(const http::Request& request, size_t body_readable_bytes,
                       uint64_t request_ns, ByteBuffer& out) {
    out.clear();
    ThreadStats::bump(stats_.http_requests);
    Plan plan;
    std::string_view target = request.target;
    if (target == "/mock" || target.starts_with("/mock/")) {
        handle_mock(request, out);
        return plan;
    }
    if (request.method != http::Method::post) {
        write_http_error(out, 405, "JSON-RPC requests must be POSTed", request.keep_alive);
        return plan;
    }
    if (jwt_) {
        auto ok = jwt_->verify_authorization(request.authorization, wall_s());
        if (!ok) {
            ThreadStats::bump(stats_.jwt_rejections);
            write_http_error(out, 401, ok.error().message(), request.keep_alive);
            return plan;
        }
    }
    handle_rpc(request, body_readable_bytes, request_ns, out, plan);
    return plan;
}

void Responder::handle_mock(const http::Request& request, ByteBuffer& out) {
    std::string_view target = request.target;
    bool post = request.method == http::Method::post;
    bool get = request.method == http::Method::get;
    body_.clear();
    if (target == "/mock/rules" && post) {
        auto rules = std::make_unique<RuleSet>();
        size_t line = 0;
        auto parsed = parse_rules_text(request.body, rules.get(), &line);
        if (!parsed) {
            write_http_error(out, 400, parsed.error().message(), request.keep_alive);
            return;
        }
        shared_.replace_rules(*rules);
        body_.append("{\"rules\":");
        body_.append_u64(rules->size());
        body_.push_back('}');
    } else if (target == "/mock/reset" && post) {
        shared_.reset();
        body_.append("{\"reset\":true}");
    } else if (target == "/mock/log" && get) {
        shared_.write_log_json(body_);
    } else if (target == "/mock/stats" && get) {
        shared_.write_stats_json(body_);
    } else if (target == "/mock/rules" || target == "/mock/reset" || target == "/mock/log" ||
               target == "/mock/stats") {
        write_http_error(
            out, 405,
            "wrong method: POST /mock/rules, POST /mock/reset, GET /mock/log, GET /mock/stats",
            request.keep_alive);
        return;
    } else {
        write_http_error(out, 404,
                         "unknown mock endpoint: /mock/rules, /mock/reset, /mock/log, /mock/stats",
                         request.keep_alive);
        return;
    }
    http::write_response(out, 200, json_type, body_.view(), request.keep_alive);
}

void Responder::handle_rpc(const http::Request& request, size_t readable, uint64_t request_ns,
                           ByteBuffer& out, Plan& plan) {
    body_.clear();
    if (request.body.empty()) {
        ThreadStats::bump(stats_.invalid_entries);
        jsonrpc::write_error(body_, "null", jsonrpc::code::parse_error, "empty request body");
        write_http(out, plan, request.keep_alive);
        return;
    }
    auto envelope = parser_.parse(request.body.data(), request.body.size(), readable);
    if (!envelope) {
        ThreadStats::bump(stats_.invalid_entries);
        jsonrpc::write_error(body_, "null", jsonrpc::error_code_of(envelope.error()),
                             envelope.error().message());
    } else {
        bool batch = envelope->batch;
        if (batch) jsonrpc::begin_batch(body_);
        size_t answered = 0;
        for (size_t i = 0; i < envelope->entries.size(); i++) {
            size_t mark = body_.size();
            if (batch && answered) jsonrpc::batch_separator(body_);
            const jsonrpc::Entry& entry = envelope->entries[i];
            answer_entry(i, entry, request_ns, plan);
            // Notifications are acted on but not answered; a hung/closed call writes nothing.
            if (!entry.wants_response() || body_.size() == mark + ((batch && answered) ? 1 : 0))
                body_.resize(mark);
            else
                answered++;
        }
        if (batch) {
            if (answered)
                jsonrpc::end_batch(body_);
            else
                body_.clear();  // only notifications: no JSON-RPC answer at all
        }
    }
    write_http(out, plan, request.keep_alive);
}

void Responder::write_http(ByteBuffer& out, const Plan& plan, bool keep_alive) {
    switch (plan.transport) {
        case Transport::hang:
        case Transport::close:
        case Transport::reset:
            out.clear();
            return;
        case Transport::garbage:
            http::write_response(out, 200, json_type, garbage_body, keep_alive);
            return;
        case Transport::none:
            break;
    }
    int status = plan.http_status ? plan.http_status : 200;
    size_t mark = http::begin_response(out, status, json_type, keep_alive);
    out.append(body_.view());
    if (plan.huge_bytes > body_.size()) {
        size_t pad = plan.huge_bytes - body_.size();
        if (char* p = out.prepare(pad)) {
            std::memset(p, ' ', pad);  // JSON allows trailing whitespace
            out.commit(pad);
        }
    }
    http::end_response(out, mark);
}

void Responder::answer_entry(size_t index, const jsonrpc::Entry& entry, uint64_t request_ns,
                             Plan& plan) {
    std::string_view id = entry.request.id.empty() ? std::string_view("null") : entry.request.id;
    if (!entry.ok) {
        ThreadStats::bump(stats_.invalid_entries);
        jsonrpc::write_error(body_, id, entry.error_code, entry.error_message);
        return;
    }
    std::string_view name = entry.request.method;
    int m = find_method(name);
    if (m >= 0)
        ThreadStats::bump(stats_.calls[static_cast<size_t>(m)]);
    else
        ThreadStats::bump(stats_.unknown_calls);
    Call call;
    call.index = index;
    call.method = m >= 0 ? &methods()[static_cast<size_t>(m)] : nullptr;
    call.id = id;
    call.ruled = shared_.has_rules() && shared_.match_rule(name, &action_);
    call.logged = is_engine_method(name);
    if (call.logged) {
        log_entry_ = LogEntry{};
        log_entry_.t_us = (request_ns - std::min(request_ns, shared_.start_ns())) / 1000;
        log_entry_.set_call(name, entry.request.id);
    }
    if (call.ruled) {
        ThreadStats::bump(stats_.rules_applied);
        merge_plan(action_, plan);
        if (action_.wrong_id) call.id = id == wrong_id_a ? wrong_id_b : wrong_id_a;
        log_entry_.http_status = action_.http_status;
        log_entry_.delay_ms = action_.delay_ms;
    }
    if (call.ruled && action_.transport != Transport::none) {
        log_entry_.outcome = Outcome::transport;  // no JSON answer for this call
        log_entry_.transport = action_.transport;
    } else if (call.ruled && action_.has_error) {
        std::string_view message = action_.error_message_text();
        if (message.empty()) message = standard_message(action_.error_code);
        write_call_error(call, action_.error_code, message);
    } else if (!call.method) {
        char message[64 + jsonrpc::Limits::method_bytes_default];
        int n = std::snprintf(message, sizeof message,
                              "the method %.*s does not exist/is not available",
                              static_cast<int>(name.size()), name.data());
        write_call_error(call, jsonrpc::code::method_not_found,
                         {message, std::min(sizeof message - 1, static_cast<size_t>(n))});
    } else {
        dispatch(call);
    }
    if (call.logged) shared_.record(log_entry_);
}

void Responder::begin_result(const Call& call) {
    body_.append("{\"jsonrpc\":\"2.0\",\"id\":");
    body_.append(call.id);
    body_.append(",\"result\":");
    if (call.logged) log_entry_.outcome = Outcome::result;
}

void Responder::write_call_error(Call& call, int code, std::string_view message) {
    jsonrpc::write_error(body_, call.id, code, message);
    if (call.logged) {
        log_entry_.outcome = Outcome::error;
        log_entry_.error_code = code;
    }
}

void Responder::dispatch(Call& call) {
    const MethodInfo& m = *call.method;
    switch (m.kind) {
        case Kind::new_payload:
            answer_new_payload(call);
            return;
        case Kind::forkchoice_updated:
            answer_forkchoice(call);
            return;
        case Kind::get_payload:
            answer_get_payload(call);
            return;
        case Kind::get_blobs:
        case Kind::bodies_by_hash:
        case Kind::bodies_by_range:
            answer_list(call);
            return;
        case Kind::eth_get_block_by_number:
            answer_block_by_number(call);
            return;
        case Kind::eth_get_logs:
            answer_logs(call);
            return;
        case Kind::transition_configuration:
            answer_transition_configuration(call);
            return;
        default:
            break;
    }
    begin_result(call);
    write_simple_result(m.kind, call.ruled && action_.syncing);
    end_result();
}

void Responder::write_simple_result(Kind kind, bool syncing) {
    switch (kind) {
        case Kind::exchange_capabilities:
            body_.append(capabilities_json);
            return;
        case Kind::client_version:
            body_.append(shared_.client_version_json());
            return;
        case Kind::eth_syncing:
            if (syncing) {
                uint64_t head = shared_.head();
                body_.append("{\"startingBlock\":\"0x0\",\"currentBlock\":\"");
                append_quantity(body_, head);
                body_.append("\",\"highestBlock\":\"");
                append_quantity(body_, head + 64);
                body_.append("\"}");
            } else {
                body_.append("false");
            }
            return;
        case Kind::eth_block_number:
            body_.push_back('"');
            append_quantity(body_, shared_.head());
            body_.push_back('"');
            return;
        case Kind::eth_chain_id:
            body_.append("\"0x1\"");
            return;
        case Kind::net_version:
            body_.append("\"1\"");
            return;
        case Kind::web3_client_version:
            body_.append(shared_.web3_client_version_json());
            return;
        case Kind::eth_call:
            body_.append("\"0x\"");
            return;
        case Kind::eth_new_filter:
            body_.push_back('"');
            append_quantity(body_, shared_.filter_id());
            body_.push_back('"');
            return;
        case Kind::eth_get_filter_changes:
            body_.append("[]");
            return;
        default:
            body_.append("null");
            return;
    }
}

void Responder::write_payload_status(Call& call, Status status, const uint8_t* lvh,
                                     std::string_view validation_error) {
    body_.append("{\"status\":\"");
    body_.append(status_name(status));
    body_.append("\",\"latestValidHash\":");
    if (lvh) {
        body_.push_back('"');
        append_data(body_, {lvh, 32});
        body_.push_back('"');
    } else {
        body_.append("null");
    }
    body_.append(",\"validationError\":");
    if (validation_error.empty())
        body_.append("null");
    else
        jsonrpc::write_json_string(body_, validation_error);
    body_.push_back('}');
    if (call.logged) {
        log_entry_.outcome = Outcome::payload_status;
        log_entry_.status = status;
    }
}

}  // namespace em::mockel
