// The sync role's policy (several CLs, N ELs; what flashbots sync-proxy does): the mux's
// routing (MuxPolicy: votes, best-of, merges, forwards to the primary with failover) plus a
// Gate (pipeline/gate.h) that
//  - tracks each consensus client (slot by name: its JWT `id`, or its address), its highest
//    timestamp (newPayload payloads, forkchoiceUpdated attributes), last call, head and calls;
//  - keeps the best client: the highest timestamp among clients heard from within
//    best_stale_ms; the best changes only for a strictly higher timestamp, or when it goes quiet
//    (then the freshest other takes over). A timestamp more than future_slack_s ahead of the wall
//    clock is not believed: its client is not best until it sends a sane one again (one notice
//    per episode, naming the client and the word `future`);
//  - lets forkchoiceUpdated from the best client run (a vote over every EL, as the mux) and
//    answers everyone else's at once with SYNCING and payloadId null, so a lagging client never
//    moves the fleet's head;
//  - makes one vote call of every copy of a newPayload (by block hash and method): a copy that
//    comes while the call runs joins it; a final answer (VALID or INVALID) is reused for
//    dedup_window_ms; SYNCING, ACCEPTED and errors never are (a later copy runs again).
//
// Threads: the owning shard's thread. No I/O, no clock: time and the wall clock come in
// (now_ns, Origin::wall_s). Memory: fixed tables (clients, blocks) allocated at construction.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "base/buffer.h"
#include "pipeline/gate.h"
#include "pipeline/mux_policy.h"
#include "pipeline/sync_board.h"

namespace em::pipeline {

struct SyncPolicyConfig {
    MuxPolicyConfig mux;
    uint32_t best_stale_ms = 24'000;    ///< a best client quiet this long is replaced
    uint32_t future_slack_s = 60;       ///< timestamps further ahead of the clock are not believed
    uint32_t dedup_window_ms = 12'000;  ///< a final newPayload answer is reused this long
};

class SyncPolicy final : public ForwardingPolicy, public Gate {
  public:
    static constexpr size_t blocks_max = 256;    ///< newPayload calls remembered by block hash
    static constexpr uint32_t waiters_max = 32;  ///< copies joining one running call

    /// `board`: where operators read the clients (null: nowhere, e.g. tests). Routing, votes
    /// and deadlines are the mux's (ForwardingPolicy over mux_).
    SyncPolicy(const SyncPolicyConfig& config, SyncBoard* board);
    /// A reload's settings: decisions from now on use them.
    void set_config(const SyncPolicyConfig& config);

    /// The slot of the client called `name` (connecting from `address`), made on first sight;
    /// with every slot taken, the slot of the client quiet longest (never the best) is reused.
    uint32_t client(std::string_view name, std::string_view address, uint64_t now_ns);
    /// The best client's slot, -1 when none has a believable timestamp and called lately.
    int best() const { return best_; }
    const SyncClientRecord& client_record(size_t slot) const { return clients_[slot]; }

    // Gate
    GateDecision admit(const CallFacts& facts, uint64_t now_ns) override;
    void started(const CallFacts& facts, uint32_t call, uint64_t now_ns) override;
    void answered(uint32_t call, const engine::Status* told, std::string_view result,
                  uint64_t now_ns) override;

  private:
    /// One newPayload block: running as vote call `call`, or answered (VALID/INVALID) until.
    struct Block {
        enum class State : uint8_t { free, running, final };
        State state = State::free;
        uint8_t method = 0;
        uint32_t call = 0;
        uint32_t waiters = 0;
        uint64_t until_ns = 0;
        engine::Hash32 hash{};
        ByteBuffer result{1u << 20, 256};
    };

    /// Records the facts of a request in its client's record; returns a notice ("" for none).
    std::string_view observe(const CallFacts& facts, uint64_t now_ns);
    bool eligible(size_t slot, uint64_t now_ns) const;
    void choose_best(uint64_t now_ns);
    GateDecision admit_new_payload(const CallFacts& facts, uint64_t now_ns);
    GateDecision admit_forkchoice(const CallFacts& facts);
    Block* find_block(const engine::Hash32& hash, uint8_t method, uint64_t now_ns);
    void publish(size_t slot);

    MuxPolicy mux_;
    SyncPolicyConfig config_;
    SyncBoard* board_;
    std::array<SyncClientRecord, sync_clients_max> clients_{};
    int best_ = -1;
    std::array<Block, blocks_max> blocks_;
    ByteBuffer syncing_{4096, 256};  ///< forkchoiceUpdated SYNCING results are written here
    char notice_[256] = {};
};

}  // namespace em::pipeline
