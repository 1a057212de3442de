// The execution clients as the pipeline sees them: one read-only view per slot, filled by the
// listener from the node registry and the health board (in the simulator: from simulated
// nodes). The pipeline never touches a connection; it asks its Shell to send (pipeline/core.h).
//
// Threads: a NodeTable is read on the owning shard's thread only. Views are values; `name`
// views a string that outlives every call made to the node (registry NodeInfos are never
// freed).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "engine/types.h"

namespace em::pipeline {

/// Node slots (the registry's size); a node's slot index is its identity in calls and metrics.
inline constexpr size_t nodes_max = engine::voters_max;

/// What the health board says about a node (upstream/health.h keeps the same order).
enum class Health : uint8_t { unknown, synced, syncing, dead };

struct NodeView {
    bool present = false;  ///< a node holds the slot
    bool voter = false;    ///< false: a mirror (gets every vote call, never votes)
    Health health = Health::unknown;
    uint64_t latency_ewma_us = 0;  ///< the health board's smoothed probe latency
    uint32_t timeout_ms = 0;       ///< the node's own deadline cap (0 = none)
    std::string_view name;
    int64_t head_number = -1;       ///< the probe's head block number (-1 unknown)
    int64_t finalized_number = -1;  ///< the probe's finalized block number (-1 unknown)
    uint32_t outstanding = 0;       ///< this shard's calls to the node not yet answered
    bool breaker_open = false;      ///< the rpc role's circuit breaker keeps calls away
    /// Its implementation, from web3_clientVersion ("geth"; "" unknown): `agree` asks nodes
    /// of different clients.
    char client[24] = {};
    std::string_view client_text() const { return {client, strnlen(client, sizeof client)}; }
};

class NodeTable {
  public:
    virtual ~NodeTable() = default;
    /// Slot i as it is now (a fresh read each call: health changes while calls run).
    virtual NodeView node(size_t i) const = 0;
    /// The health board's primary (-1 when none).
    virtual int primary() const = 0;
};

}  // namespace em::pipeline
