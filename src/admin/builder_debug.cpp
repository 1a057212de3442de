#include "admin/builder_debug.h"

#include <simdjson.h>

#include "base/buffer.h"
#include "engine/builder_control.h"
#include "jsonrpc/codes.h"
#include "jsonrpc/writer.h"

namespace em::admin {

namespace {

namespace dom = simdjson::dom;

std::string error_answer(std::string_view id, int code, std::string_view message) {
    ByteBuffer out(1u << 16, 256);
    jsonrpc::write_error(out, id, code, message);
    return std::string(out.view());
}

std::string mode_answer(std::string_view id, engine::ExecutionMode mode) {
    std::string result = "{\"execution_mode\":\"";
    result += engine::execution_mode_wire_name(mode);
    result += "\"}";
    ByteBuffer out(1u << 16, 256);
    jsonrpc::write_result(out, id, result);
    return std::string(out.view());
}

/// params of debug_setExecutionMode: [{"execution_mode": ...}], exactly one object.
Result<engine::ExecutionMode> set_params(dom::element params) {
    dom::array list;
    if (params.get_array().get(list) != simdjson::SUCCESS || list.size() != 1)
        return fail(Errc::invalid_input,
                    "invalid params: debug_setExecutionMode takes one parameter, "
                    "[{\"execution_mode\": \"enabled\" | \"dry_run\" | \"disabled\"}]");
    std::string text = simdjson::to_string(list.at(0).value_unsafe());
    auto mode = engine::parse_execution_mode_body(text);
    if (!mode) return Unexpected(mode.error().prefix("invalid params"));
    return *mode;
}

std::string dispatch(std::string_view id, std::string_view method, dom::object request,
                     pipeline::BuilderShared& shared, std::string_view who) {
    dom::element params;
    bool has_params = request["params"].get(params) == simdjson::SUCCESS && !params.is_null();
    if (method == "debug_getExecutionMode") {
        dom::array list;
        if (has_params && (params.get_array().get(list) != simdjson::SUCCESS || list.size() != 0))
            return error_answer(id, jsonrpc::code::invalid_params,
                                "invalid params: debug_getExecutionMode takes none ([])");
        return mode_answer(id, shared.mode());
    }
    if (method == "debug_setExecutionMode") {
        auto mode = has_params ? set_params(params)
                               : Result<engine::ExecutionMode>(
                                     fail(Errc::invalid_input,
                                          "invalid params: debug_setExecutionMode needs "
                                          "[{\"execution_mode\": \"enabled\" | \"dry_run\" | "
                                          "\"disabled\"}]"));
        if (!mode) return error_answer(id, jsonrpc::code::invalid_params, mode.error().message());
        (void)shared.switch_mode(*mode, who);
        return mode_answer(id, *mode);
    }
    std::string message = "method not found: '" + std::string(method) +
                          "'; this port serves debug_setExecutionMode and debug_getExecutionMode";
    return error_answer(id, jsonrpc::code::method_not_found, message);
}

}  // namespace

std::string debug_rpc_answer(std::string_view body, pipeline::BuilderShared& shared,
                             std::string_view who) {
    dom::parser parser;
    simdjson::padded_string padded(body);
    dom::element root;
    if (auto e = parser.parse(padded).get(root); e != simdjson::SUCCESS)
        return error_answer(
            "null", jsonrpc::code::parse_error,
            std::string("parse error: the body is not JSON (") + simdjson::error_message(e) + ")");
    dom::object request;
    if (root.get_object().get(request) != simdjson::SUCCESS)
        return error_answer("null", jsonrpc::code::invalid_request,
                            "invalid request: one JSON-RPC request object (no batches)");
    dom::element id_element;
    std::string id = request["id"].get(id_element) == simdjson::SUCCESS
                         ? simdjson::to_string(id_element)
                         : std::string("null");
    std::string_view method;
    if (request["method"].get_string().get(method) != simdjson::SUCCESS)
        return error_answer(id, jsonrpc::code::invalid_request,
                            "invalid request: \"method\" must be a string");
    return dispatch(id, method, request, shared, who);
}

int post_execution_mode(std::string_view body, pipeline::BuilderShared& shared,
                        std::string_view who, std::string& answer) {
    auto mode = engine::parse_execution_mode_body(body);
    ByteBuffer out(1u << 16, 256);
    if (!mode) {
        out.append("{\"error\":");
        jsonrpc::write_json_string(out, mode.error().message());
        out.append("}");
        answer = std::string(out.view());
        return 400;
    }
    engine::ExecutionMode was = shared.switch_mode(*mode, who);
    answer = std::string("{\"execution_mode\":\"") +
             std::string(engine::execution_mode_name(*mode)) + "\",\"was\":\"" +
             std::string(engine::execution_mode_name(was)) + "\"}";
    return 200;
}

std::string get_execution_mode(const pipeline::BuilderShared& shared) {
    return std::string("{\"execution_mode\":\"") +
           std::string(engine::execution_mode_name(shared.mode())) + "\"}";
}

void BuilderDebugHandler::on_request(http::ServerConn& conn, const http::Request& request) {
    if (request.method != http::Method::post) {
        conn.respond(405, "application/json",
                     "{\"error\":\"use POST with a JSON-RPC body (debug_setExecutionMode, "
                     "debug_getExecutionMode)\"}");
        return;
    }
    char peer[64] = "?";
    conn.peer().format(peer, sizeof peer);
    std::string who = std::string("debug_setExecutionMode from ") + peer;
    std::string answer = debug_rpc_answer(request.body, shared_, who);
    conn.respond(200, "application/json", answer);
}

}  // namespace em::admin
