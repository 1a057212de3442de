#include "pipeline/cl_head.h"

namespace em::pipeline {

void ClHead::new_payload(const engine::Hash32& hash, uint64_t number, uint32_t valid) {
    for (Payload& p : payloads_) {
        if (p.used && p.hash == hash) {  // the CL sent it again (a retry, another CL's copy)
            p.valid |= valid;
            return;
        }
    }
    payloads_[next_] = {hash, number, valid, true};
    next_ = (next_ + 1) % payloads_kept;
}

void ClHead::forkchoice(const engine::Hash32& head, uint32_t accepted, uint64_t now_ns) {
    for (const Payload& p : payloads_) {
        if (!p.used || p.hash != head) continue;
        uint64_t mask = p.valid & accepted & 0xffffu;
        at_ns_.store(now_ns, std::memory_order_relaxed);
        packed_.store((p.number + 1) << 16 | mask, std::memory_order_release);
        return;
    }
}

ClHead::View ClHead::read(uint64_t now_ns) const {
    uint64_t packed = packed_.load(std::memory_order_acquire);
    uint64_t at = at_ns_.load(std::memory_order_relaxed);
    View v;
    if (packed == 0 || (now_ns > at && now_ns - at > stale_after_ns_)) return v;
    v.number = static_cast<int64_t>((packed >> 16) - 1);
    v.nodes = static_cast<uint32_t>(packed & 0xffffu);
    return v;
}

void ClHead::forget_node(size_t i) {
    if (i >= 16) return;
    uint64_t bit = uint64_t{1} << i;
    for (Payload& p : payloads_) p.valid &= ~static_cast<uint32_t>(bit);
    uint64_t packed = packed_.load(std::memory_order_relaxed);
    while (packed != 0 && (packed & bit) &&
           !packed_.compare_exchange_weak(packed, packed & ~bit, std::memory_order_release)) {
    }
}

}  // namespace em::pipeline
