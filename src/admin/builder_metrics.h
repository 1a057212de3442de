// The builder role's part of /status and /metrics (issue 15): which node is the local EL,
// the builders with their calls, errors, blocks answered and blocks rejected by reason, and the
// counters enginemux_builder_* (fallbacks by reason, blocks by source, validations).
//
// Threads: the admin (control) thread; it only reads the shards' counters (relaxed atomics)
// and the registry and health board (their own locks / snapshots).
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "base/buffer.h"
#include "pipeline/builder_shared.h"
#include "pipeline/metrics.h"
#include "upstream/health.h"
#include "upstream/registry.h"

namespace em::admin {

/// The builder role's settings as /status shows them (AdminContext::builder).
struct BuilderContext {
    bool enabled = false;  ///< the daemon runs the builder role
    size_t local = 0;      ///< the local EL's node slot
    /// The mode (switched at run time), breakers and answer times; set when enabled.
    pipeline::BuilderShared* shared = nullptr;
    std::string block_selection;
    uint32_t get_payload_deadline_ms = 0;
};

/// `"builder":{...}` of /status, with its leading comma.
void render_builder_status(ByteBuffer& out, const BuilderContext& builder,
                           std::span<pipeline::ShardMetrics* const> shards,
                           const upstream::Registry& registry, const upstream::HealthBoard& board);
/// enginemux_builder_* samples.
void render_builder_metrics(ByteBuffer& out, const BuilderContext& builder,
                            std::span<pipeline::ShardMetrics* const> shards,
                            const upstream::Registry& registry);

}  // namespace em::admin
