// Registry: the process-wide list of execution clients (fixed slots, nodes_max), what every
// shard and the control thread agree a node *is*: name, URL, role, secret, timeout.
//
// Threads: the control thread adds and removes nodes (start-up, admin API); any thread reads a
// slot with get(). A NodeInfo is immutable once published and is never freed while the process
// runs (removals are rare operator actions; a removed slot's info stays allocated so a reader
// holding its pointer is always safe). Shards learn about changes through a posted task from
// the control thread and then build or drop their own upstream::Node for the slot.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "upstream/health.h"
#include "upstream/node.h"

namespace em::upstream {

struct NodeInfo {
    size_t index = 0;
    std::string name;
    std::string url;
    NodeRole role = NodeRole::voter;
    uint32_t timeout_ms = 0;  ///< per-node cap (0 = none)
    NodeOptions options;      ///< connection settings (endpoint, secret, limits)
};

class Registry {
  public:
    /// The node in slot i, or nullptr (any thread).
    const NodeInfo* get(size_t i) const { return slots_[i].load(std::memory_order_acquire); }
    /// Slots in use, in index order (any thread; a snapshot).
    size_t count() const;
    /// Index of the node named `name`, or -1.
    int find(std::string_view name) const;
    /// Puts info into the first free slot (control thread). Errc::busy when all are used,
    /// invalid_input when the name is taken or breaks the name rule (base/name.h).
    Result<size_t> add(NodeInfo info);
    /// Empties slot i (control thread).
    void remove(size_t i);
    /// Puts info into slot i in place of its node (control thread; a reload changed the node's
    /// settings: the slot, so its metrics, stays the same). The name may not be another slot's.
    Result<void> replace(size_t i, NodeInfo info);

  private:
    std::array<std::atomic<const NodeInfo*>, nodes_max> slots_{};
    std::vector<std::unique_ptr<NodeInfo>> owned_;  // every NodeInfo ever published
    std::mutex mutex_;                              // serialises writers (control thread, tests)
};

}  // namespace em::upstream
