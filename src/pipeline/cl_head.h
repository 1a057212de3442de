// ClHead: the head the consensus client chose, and which nodes are at it, learned from the CL's
// own Engine API calls (issue 16 item 3: "at the head" with no polling lag). In the same process
// as the mux or sync role, a node is at the head when it answered VALID to the CL's newPayload
// of the head block and VALID to the forkchoiceUpdated that made it the head. The rpc role's
// routing (RpcPolicy::pick_route) then sends head reads only to those nodes; before the CL's
// first forkchoiceUpdated, or once the last one is older than stale_after_ns (the CL stopped),
// it falls back to the health probe's heads.
//
// Threads: one writer, the engine shard (new_payload, forkchoice); readers on any thread (read).
// The published state is one 64-bit word (block number << 16 | node mask) plus the time it was
// published: lock-free, no torn reads. Memory: a fixed ring of the last payloads' hashes.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "engine/types.h"

namespace em::pipeline {

class ClHead {
  public:
    static constexpr size_t payloads_kept = 64;
    static_assert(engine::voters_max <= 16, "the node mask is 16 bits of the published word");

    struct View {
        int64_t number = -1;  ///< the CL's head block number; -1: none (or stale)
        uint32_t nodes = 0;   ///< bit i: node slot i is at that head
    };

    explicit ClHead(uint64_t stale_after_ns) : stale_after_ns_(stale_after_ns) {}

    /// The CL's newPayload of `hash` (block `number`) was answered VALID by the nodes in
    /// `valid` (engine shard).
    void new_payload(const engine::Hash32& hash, uint64_t number, uint32_t valid);
    /// The CL's forkchoiceUpdated to `head` was accepted (VALID) by the nodes in `accepted`
    /// (engine shard). Publishes the head when its payload is among the last payloads_kept;
    /// a head whose newPayload was not seen (the CL restarted, or the block came by sync)
    /// publishes nothing: the probe's view stays in force.
    void forkchoice(const engine::Hash32& head, uint32_t accepted, uint64_t now_ns);
    /// The head as last published; number -1 when there is none or it is stale at now_ns.
    View read(uint64_t now_ns) const;
    /// Node slot `i` left its slot: it is at no head until the CL's next calls say so (engine
    /// shard).
    void forget_node(size_t i);

  private:
    struct Payload {
        engine::Hash32 hash{};
        uint64_t number = 0;
        uint32_t valid = 0;
        bool used = false;
    };
    uint64_t stale_after_ns_;
    std::array<Payload, payloads_kept> payloads_{};
    size_t next_ = 0;
    std::atomic<uint64_t> packed_{0};  ///< (number + 1) << 16 | mask; 0: none
    std::atomic<uint64_t> at_ns_{0};
};

}  // namespace em::pipeline
