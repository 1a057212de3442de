// The builder role's debug server (issue 15 item 4): rollup-boost's debug JSON-RPC on
// --debug-host:--debug-server-port ([builder] debug_listen, default 127.0.0.1:5555, "" = off),
// so the tools and runbooks that switch rollup-boost's execution mode keep working:
//   debug_setExecutionMode  params [{"execution_mode": "dry_run"}] (`dry-run` too; enabled,
//                           disabled) -> {"execution_mode": "dry_run"}
//   debug_getExecutionMode  params [] (or none) -> {"execution_mode": "enabled"}
// Answers spell modes as rollup-boost does (`dry_run`). Errors are JSON-RPC error objects
// naming what was wrong (-32700 not JSON, -32600 not a request, -32601 another method,
// -32602 bad params). Like rollup-boost's, the port has no credential: keep it on loopback.
//
// Threads: the control thread's loop. Allocates (a control path: a few requests a day).
#pragma once

#include <string>
#include <string_view>

#include "net/server.h"
#include "pipeline/builder_shared.h"

namespace em::admin {

/// The JSON-RPC answer to one debug request; `who` names the caller in the log of a switch.
[[nodiscard]] std::string debug_rpc_answer(std::string_view body, pipeline::BuilderShared& shared,
                                           std::string_view who);

/// The admin API's POST /execution-mode (body {"execution_mode": "dry-run"}, the spellings of
/// engine::parse_execution_mode_body): 200 {"execution_mode":"dry-run","was":"enabled"}, or 400
/// {"error":"<what was wrong>"}. `who` names the caller in the log.
[[nodiscard]] int post_execution_mode(std::string_view body, pipeline::BuilderShared& shared,
                                      std::string_view who, std::string& answer);
/// GET /execution-mode: {"execution_mode":"dry-run"}.
[[nodiscard]] std::string get_execution_mode(const pipeline::BuilderShared& shared);

class BuilderDebugHandler final : public http::Handler {
  public:
    explicit BuilderDebugHandler(pipeline::BuilderShared& shared) : shared_(shared) {}
    void on_request(http::ServerConn& conn, const http::Request& request) override;

  private:
    pipeline::BuilderShared& shared_;
};

}  // namespace em::admin
