// JSON-RPC 2.0 and Engine API error codes (jsonrpc.org/specification §5.1,
// ethereum/execution-apis src/engine/common.md "Errors").
//
// Any thread; constants only.
#pragma once

namespace em::jsonrpc::code {

inline constexpr int parse_error = -32700;      ///< body is not JSON
inline constexpr int invalid_request = -32600;  ///< JSON, but not a valid request object
inline constexpr int method_not_found = -32601;
inline constexpr int invalid_params = -32602;
inline constexpr int internal_error = -32603;
inline constexpr int server_error = -32000;  ///< generic server error (carries data.err)
inline constexpr int unknown_payload = -38001;
inline constexpr int invalid_forkchoice_state = -38002;
inline constexpr int invalid_payload_attributes = -38003;
inline constexpr int too_large_request = -38004;
inline constexpr int unsupported_fork = -38005;

}  // namespace em::jsonrpc::code
