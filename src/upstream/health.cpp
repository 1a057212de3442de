#include "upstream/health.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace em::upstream {

const char* node_state_name(NodeState s) {
    switch (s) {
        case NodeState::unknown:
            return "unknown";
        case NodeState::synced:
            return "synced";
        case NodeState::syncing:
            return "syncing";
        case NodeState::dead:
            return "dead";
    }
    return "unknown";
}

// Seqlock with atomic words (Boehm, "Can seqlocks get along with programming language memory
// models?", 2012): the value's words are relaxed atomics, so a reader that races a writer is not
// a data race; it reads some mix of old and new words and the sequence check makes it retry.
// Writers serialise on the sequence: each moves it from even to odd with a CAS (acquire: it sees
// the previous writer's words), stores, then releases it at +2. A plain store of seq + 1, as
// publish() did before, let a publish and a shard's report overlap and readers accept a
// half-written slot (tests/upstream/health_test.cpp, ConcurrentWritersNeverTearASlot).
uint64_t HealthBoard::lock(Slot& slot) {
    for (;;) {
        uint64_t seq = slot.sequence.load(std::memory_order_relaxed);
        if ((seq & 1) == 0 &&
            slot.sequence.compare_exchange_weak(seq, seq + 1, std::memory_order_acquire,
                                                std::memory_order_relaxed))
            return seq;
    }
}

void HealthBoard::store_and_unlock(Slot& slot, uint64_t locked, const NodeHealth& health) {
    uint64_t w[words];
    std::memcpy(w, &health, sizeof w);
    // The odd sequence must be visible before any new word: a fence, then relaxed stores.
    std::atomic_thread_fence(std::memory_order_release);
    for (size_t i = 0; i < words; i++) slot.value[i].store(w[i], std::memory_order_relaxed);
    slot.sequence.store(locked + 2, std::memory_order_release);
    version_.fetch_add(1, std::memory_order_acq_rel);
}

NodeHealth HealthBoard::load_words(const Slot& slot) {
    uint64_t w[words];
    for (size_t i = 0; i < words; i++) w[i] = slot.value[i].load(std::memory_order_relaxed);
    NodeHealth out;
    std::memcpy(static_cast<void*>(&out), w, sizeof w);
    return out;
}

HealthBoard::HealthBoard() {
    for (Slot& slot : slots_) store_and_unlock(slot, lock(slot), NodeHealth{});
    version_.store(0, std::memory_order_relaxed);
}

void set_client(NodeHealth& health, std::string_view version) {
    size_t n = 0;
    for (char c : version) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        bool ok =
            (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
        if (!ok || n == sizeof health.client - 1) break;
        health.client[n++] = c;
    }
    health.client[n] = 0;
}

void HealthBoard::publish(size_t i, const NodeHealth& health) {
    Slot& slot = slots_[i];
    store_and_unlock(slot, lock(slot), health);
}

NodeHealth HealthBoard::read(size_t i) const {
    const Slot& slot = slots_[i];
    for (;;) {
        uint64_t before = slot.sequence.load(std::memory_order_acquire);
        if (before & 1) continue;
        NodeHealth out = load_words(slot);
        // The words must be read before the sequence is read again.
        std::atomic_thread_fence(std::memory_order_acquire);
        if (slot.sequence.load(std::memory_order_relaxed) == before) return out;
    }
}

void HealthBoard::report_failure(size_t i, std::string_view reason, uint64_t now_ns) {
    Slot& slot = slots_[i];
    slot.failure_reports.fetch_add(1, std::memory_order_relaxed);
    uint64_t locked = lock(slot);
    NodeHealth value = load_words(slot);  // no writer can change it while we hold the slot
    if (value.state != NodeState::dead) value.changed_ns = now_ns;
    value.state = NodeState::dead;
    value.synced_since_ns = 0;
    value.failures++;
    size_t n = std::min(reason.size(), sizeof value.reason - 1);
    std::memcpy(value.reason, reason.data(), n);
    value.reason[n] = 0;
    store_and_unlock(slot, locked, value);
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
        if (best < 0 || health[i].latency_ewma_us < health[best].latency_ewma_us)
            best = static_cast<int>(i);
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
