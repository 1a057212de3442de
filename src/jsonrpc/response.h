// ResponseParser: zero-copy JSON-RPC 2.0 responses (single or batch) from an upstream EL, and
// same_id() to match a response to its request.
//
// One parser per shard thread; not thread-safe. It owns a simdjson On-Demand parser and response
// storage sized at construction (reused: no allocation in steady state; the JSON index grows at
// most to body_bytes_max). Every string_view points into the caller's buffer and is valid until
// that buffer is released or the next parse on this parser.
//
// Rules: a response is an object with "id" (string, number or null) and exactly one of "result"
// (any JSON) and "error" (an object with an int32 "code", a string "message" and optional "data");
// "jsonrpc" must be "2.0" (missing is an error unless Limits::jsonrpc_member_optional). Unknown
// members are ignored; duplicate known members are errors. The whole body is validated as JSON.
// Every failure is Errc::invalid_input (Errc::too_large for limits) naming what was wrong.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string_view>

#include "base/result.h"
#include "jsonrpc/request.h"
#include "jsonrpc/walk.h"

namespace em::jsonrpc {

/// One upstream answer, as views into its buffer.
struct Response {
    std::string_view id;             ///< raw JSON text of the id (null when the server had none)
    std::string_view result;         ///< raw JSON text of result; empty when is_error
    bool is_error = false;           ///< the response carries "error" instead of "result"
    int error_code = 0;              ///< error.code when is_error
    std::string_view error_message;  ///< error.message: raw JSON string content (escapes kept)
    std::string_view error_data;     ///< raw JSON text of error.data; empty = absent
    std::string_view error_raw;      ///< the whole error object's text
    std::string_view raw;            ///< the whole response object's text
};

/// A parsed response body: one response (batch = false) or a JSON array of them.
struct ResponseBatch {
    bool batch = false;                   ///< the body was a JSON array
    std::span<const Response> responses;  ///< valid until the next parse on this parser
};

class ResponseParser {
  public:
    /// Uses batch_entries_max, body_bytes_max, depth_max and jsonrpc_member_optional.
    explicit ResponseParser(const Limits& limits);
    ResponseParser(size_t batch_entries_max, size_t body_bytes_max);
    ResponseParser(const ResponseParser&) = delete;
    ResponseParser& operator=(const ResponseParser&) = delete;

    /// Parses a single response object (capacity_bytes >= len + 64).
    [[nodiscard]] Result<Response> parse(const char* data, size_t len, size_t capacity_bytes);
    /// Parses an answer to a batch: an array of responses (an empty array gives no responses),
    /// or a single object (an EL that rejects a whole batch answers with one error).
    [[nodiscard]] Result<ResponseBatch> parse_batch(const char* data, size_t len,
                                                    size_t capacity_bytes);

  private:
    bool parse_response(simdjson::ondemand::object& object, size_t depth, Response& out,
                        detail::Walker& w);
    bool parse_member(int kind, simdjson::ondemand::value& v, size_t depth, Response& out,
                      detail::Walker& w);
    bool parse_error(simdjson::ondemand::value& v, size_t depth, Response& out, detail::Walker& w);
    Result<Response> parse_single(const char* data, size_t len, const char* context);

    Limits limits_;
    detail::Document document_;
    std::unique_ptr<Response[]> responses_;
};

/// True if two raw id tokens are equal as JSON values: 1 == 1.0, "a" == "\u0061", null == null;
/// surrounding whitespace is ignored. Different types are never equal; empty equals only empty.
bool same_id(std::string_view a, std::string_view b);

}  // namespace em::jsonrpc
