// What the sync role (pipeline/sync_policy.h) shows operators: each consensus client it has
// heard from (name, address, highest timestamp, head, calls by method) and which one is best,
// for `GET /status` ("sync") and `/metrics` (enginemux_sync_best, enginemux_sync_client_calls_
// total), and the calls mirrored to other proxies (enginemux_sync_mirrored_total,
// enginemux_sync_mirror_failures_total).
//
// Threads: written by the shard that runs the sync policy (one writer), read by the admin
// thread. Each client is a seqlocked record (base/seqlock.h). Fixed size, no allocation.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string_view>

#include "base/seqlock.h"
#include "engine/methods.h"
#include "engine/types.h"

namespace em::pipeline {

/// Consensus clients the sync role tracks at once (a new one then takes the slot of the one
/// quiet longest).
inline constexpr size_t sync_clients_max = 64;
/// Bytes of a client's name (base/name.h's rule after sanitising) and address text.
inline constexpr size_t sync_name_bytes_max = 64;
inline constexpr size_t sync_address_bytes_max = 48;

/// Other proxies the sync role mirrors engine calls to ([sync] proxies).
inline constexpr size_t sync_proxies_max = 8;

/// One consensus client as operators see it.
struct SyncClientRecord {
    bool used = false;
    bool has_timestamp = false;
    bool future = false;  ///< its last timestamp was more than future_slack_s ahead
    bool has_head = false;
    uint8_t name_bytes = 0;
    uint8_t address_bytes = 0;
    char name[sync_name_bytes_max] = {};
    char address[sync_address_bytes_max] = {};
    uint64_t timestamp = 0;     ///< highest payload/attributes timestamp seen (not a future one)
    uint64_t last_call_ns = 0;  ///< monotonic clock of its last request
    engine::Hash32 head{};      ///< its last forkchoiceUpdated headBlockHash
    /// Requests by method slot (engine methods by index, then every other method).
    std::array<uint64_t, engine::method_count + 1> calls{};

    std::string_view name_view() const { return {name, name_bytes}; }
    std::string_view address_view() const { return {address, address_bytes}; }
};

class SyncBoard {
  public:
    /// Writer (the shard) only.
    void publish(size_t slot, const SyncClientRecord& record) { clients_[slot].store(record); }
    void publish_best(int slot) { best_.store(slot, std::memory_order_relaxed); }
    /// Any thread: false when the slot was being written on every attempt.
    bool read(size_t slot, SyncClientRecord& out) const { return clients_[slot].load(out); }
    /// The best client's slot, -1 for none.
    int best() const { return best_.load(std::memory_order_relaxed); }

    /// Mirrored calls per proxy ([sync] proxies, in order): sent, and failed (transport, HTTP
    /// error, deadline, or dropped because too many were in flight). Relaxed counters.
    std::array<std::atomic<uint64_t>, sync_proxies_max> mirrored{};
    std::array<std::atomic<uint64_t>, sync_proxies_max> mirror_failures{};

  private:
    std::array<Seqlocked<SyncClientRecord>, sync_clients_max> clients_{};
    std::atomic<int> best_{-1};
};

}  // namespace em::pipeline
