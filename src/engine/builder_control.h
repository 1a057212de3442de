// The builder role's run-time control as pure functions (issue 15 items 4 and 6): reading the
// body that switches the execution mode (rollup-boost's debug_setExecutionMode parameter, the
// admin API's POST /execution-mode), and the /healthz verdict op-conductor reads.
//
// Any thread; no I/O, no clock (times are passed in, from a monotonic clock). The control path
// only (a handful of requests a day): these allocate freely.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "base/result.h"
#include "engine/builder_select.h"

namespace em::engine {

/// `{"execution_mode": "<mode>"}`, strictly: a JSON object whose one member is execution_mode,
/// a string parse_execution_mode reads (`dry-run` and `dry_run` alike). Errors say what was
/// wrong: not JSON, not an object, the member missing or not a string, an unknown member (named),
/// an unknown mode (named, with the choices).
[[nodiscard]] Result<ExecutionMode> parse_execution_mode_body(std::string_view json);

/// rollup-boost's wire spelling of a mode (`enabled`, `dry_run`, `disabled`): the debug port
/// answers with it, so rollup-boost's own clients read the answer.
std::string_view execution_mode_wire_name(ExecutionMode mode);

/// One node as /healthz judges it.
struct NodeFreshness {
    std::string_view name;
    bool present = false;
    uint64_t good_ns = 0;  ///< its last good answer or probe (monotonic; 0: never)
    bool failing = false;  ///< the health board has it dead
    bool benched = false;  ///< builders: its circuit breaker is open
};

/// What /healthz answers: 200 (the local EL fresh, and some builder usable or the mode
/// disabled), 206 (the local EL fresh, no builder usable), 503 (the local EL failing, or its
/// last good answer older than max_unsafe_ns, or none).
struct HealthVerdict {
    int http_status = 503;
    std::string body;  ///< JSON: status, code, execution_mode, reason, local, builders
};

/// Whether `n` answered well within max_unsafe_ns of now_ns and is not failing.
[[nodiscard]] bool fresh(const NodeFreshness& n, uint64_t now_ns, uint64_t max_unsafe_ns);

/// The verdict and its body, each node with why it is (not) usable.
[[nodiscard]] HealthVerdict judge_builder_health(ExecutionMode mode, uint64_t now_ns,
                                                 uint64_t max_unsafe_ns, const NodeFreshness& local,
                                                 std::span<const NodeFreshness> builders);

}  // namespace em::engine
