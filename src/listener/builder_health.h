// /healthz of the builder role (issue 15 item 6, for op-conductor): the inputs of
// engine::judge_builder_health read from the shared state (execution mode, breakers, the last
// good answers on the data path) and the health board (the probes' last good answer, failing
// nodes). Served on the engine port without a JWT (as rollup-boost does on its rpc port) and on
// the admin API.
//
// Threads: any (atomics and the board's snapshots). Allocates: the control path.
#pragma once

#include <cstdint>

#include "engine/builder_control.h"
#include "pipeline/builder_shared.h"
#include "upstream/health.h"

namespace em::listener {

/// The verdict now (now_ns: monotonic).
[[nodiscard]] engine::HealthVerdict builder_health(const pipeline::BuilderShared& shared,
                                                   const upstream::HealthBoard& board,
                                                   uint64_t now_ns);

}  // namespace em::listener
