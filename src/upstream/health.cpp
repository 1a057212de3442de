#include "upstream/health.h"

#include <algorithm>
#include <cstdio>

namespace em::upstream {

const char* node_state_name(NodeState s) {
    switch (s) {
        case NodeState::unknown: return "unknown";
        case NodeState::synced: return "synced";
        case NodeState::syncing: return "syncing";
        case NodeState::dead: return "dead";
    }
    return "unknown";
}

// Seqlock: odd sequence = write in progress. NodeHealth is trivially copyable; the copy in
// read() may race with a writer, which the sequence check detects (we then retry). We copy via
// memcpy on volatile-free storage with fences around it, the standard seqlock idiom.
void HealthBoard::write_slot(Slot& slot, const NodeHealth& health) {
    uint64_t seq = slot.sequence.load(std::memory_order_relaxed);
    slot.sequence.store(seq + 1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
    std::memcpy(static_cast<void*>(&slot.value), &health, sizeof health);
    std::atomic_thread_fence(std::memory_order_release);
    slot.sequence.store(seq + 2, std::memory_order_release);
    version_.fetch_add(1, std::memory_order_acq_rel);
}

void HealthBoard::publish(size_t i, const NodeHealth& health) { write_slot(slots_[i], health); }

NodeHealth HealthBoard::read(size_t i) const {
    const Slot& slot = slots_[i];
    NodeHealth out;
    for (;;) {
        uint64_t before = slot.sequence.load(std::memory_order_acquire);
        if (before & 1) continue;
        std::memcpy(static_cast<void*>(&out), &slot.value, sizeof out);
        std::atomic_thread_fence(std::memory_order_acquire);
        if (slot.sequence.load(std::memory_order_relaxed) == before) return out;
    }
}

void HealthBoard::report_failure(size_t i, std::string_view reason, uint64_t now_ns) {
    Slot& slot = slots_[i];
    slot.failure_reports.fetch_add(1, std::memory_order_relaxed);
    // Several threads may report at once: serialise writers on the odd sequence.
    for (;;) {
        uint64_t seq = slot.sequence.load(std::memory_order_relaxed);
        if (seq & 1) continue;
        if (slot.sequence.compare_exchange_weak(seq, seq + 1, std::memory_order_acquire)) {
            std::atomic_thread_fence(std::memory_order_release);
            if (slot.value.state != NodeState::dead) slot.value.changed_ns = now_ns;
            slot.value.state = NodeState::dead;
            slot.value.synced_since_ns = 0;
            slot.value.failures++;
            size_t n = std::min(reason.size(), sizeof slot.value.reason - 1);
            std::memcpy(slot.value.reason, reason.data(), n);
            slot.value.reason[n] = 0;
            std::atomic_thread_fence(std::memory_order_release);
            slot.sequence.store(seq + 2, std::memory_order_release);
            version_.fetch_add(1, std::memory_order_acq_rel);
            return;
        }
    }
}

uint64_t HealthBoard::take_failure_reports(size_t i) {
    return slots_[i].failure_reports.exchange(0, std::memory_order_acq_rel);
}

int choose_primary(const NodeHealth* health, size_t count, int previous, uint64_t now_ns,
                   uint64_t failback_hold_ns) {
    auto usable = [&](size_t i, NodeState want) {
        return health[i].present && health[i].role == NodeRole::voter && health[i].state == want;
    };
    int best = -1;
    for (size_t i = 0; i < count; i++) {
        if (!usable(i, NodeState::synced)) continue;
        bool settled = now_ns - health[i].synced_since_ns >= failback_hold_ns ||
                       static_cast<int>(i) == previous;
        if (!settled) continue;
        if (best < 0 || health[i].latency_ewma_us < health[best].latency_ewma_us) best = static_cast<int>(i);
    }
    if (best < 0) {
        // Nobody settled: take any synced voter (a fresh one beats none), then a syncing one.
        for (NodeState want : {NodeState::synced, NodeState::syncing, NodeState::unknown}) {
            for (size_t i = 0; i < count && best < 0; i++)
                if (usable(i, want)) best = static_cast<int>(i);
            if (best >= 0) break;
        }
        return best;
    }
    // Hysteresis: keep a healthy previous primary unless the best is clearly faster.
    if (previous >= 0 && static_cast<size_t>(previous) < count && best != previous &&
        usable(static_cast<size_t>(previous), NodeState::synced)) {
        uint64_t prev_us = health[previous].latency_ewma_us;
        uint64_t best_us = health[best].latency_ewma_us;
        // Switch only for a clear gain: 30% faster and at least 2 ms (sub-millisecond
        // differences between local nodes are noise, and every switch moves traffic).
        if (best_us * 10 > prev_us * 7 || prev_us - best_us < 2000) return previous;
    }
    return best;
}

}  // namespace em::upstream
