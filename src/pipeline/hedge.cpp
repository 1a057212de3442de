#include "pipeline/hedge.h"

#include <bit>

namespace em::pipeline::rpc {

void LatencyEstimate::record(uint64_t latency_us) {
    size_t k = latency_us == 0 ? 0 : static_cast<size_t>(std::bit_width(latency_us) - 1);
    if (k >= buckets) k = buckets - 1;
    counts_[k]++;
    total_++;
    if (++since_decay_ < decay_samples) return;
    // Halve the history: the estimate follows what the nodes do now.
    since_decay_ = 0;
    total_ = 0;
    for (uint32_t& c : counts_) {
        c /= 2;
        total_ += c;
    }
}

uint64_t LatencyEstimate::p95_us() const {
    if (total_ < min_samples) return 0;
    // The smallest bucket with at least 95% of the samples at or below it (rounded up).
    uint64_t needed = (uint64_t{total_} * 95 + 99) / 100;
    uint64_t seen = 0;
    for (size_t k = 0; k < buckets; k++) {
        seen += counts_[k];
        if (seen >= needed) return uint64_t{2} << k;  // the bucket's upper bound
    }
    return uint64_t{2} << (buckets - 1);
}

void HedgePlanner::on_request() {
    if (!enabled()) return;
    tokens_ += config_.max_ratio;
    if (tokens_ > config_.burst) tokens_ = config_.burst;
}

uint64_t HedgePlanner::delay_us(size_t slot) const {
    uint64_t p95 = methods_[slot].p95_us();
    uint64_t delay = p95 ? p95 : config_.default_us;
    return delay < config_.floor_us ? config_.floor_us : delay;
}

bool HedgePlanner::take() {
    if (!enabled() || tokens_ < 1) return false;
    tokens_ -= 1;
    return true;
}

}  // namespace em::pipeline::rpc
