#include "base/histogram.h"

#include <cstring>

namespace em {

LatencyHistogram::LatencyHistogram() : buckets_(std::make_unique<uint64_t[]>(bucket_count)) {}

LatencyHistogram::LatencyHistogram(const LatencyHistogram& other) : LatencyHistogram() {
    *this = other;
}

LatencyHistogram& LatencyHistogram::operator=(const LatencyHistogram& other) {
    if (this == &other) return *this;
    std::memcpy(buckets_.get(), other.buckets_.get(), bucket_count * sizeof(uint64_t));
    count_ = other.count_;
    sum_ = other.sum_;
    min_ = other.min_;
    max_ = other.max_;
    clamped_ = other.clamped_;
    return *this;
}

size_t LatencyHistogram::index_of(uint64_t value) {
    if (value < 256) return static_cast<size_t>(value);
    int msb = 63 - __builtin_clzll(value);
    int shift = msb - sub_bucket_bits;
    uint64_t mantissa = value >> shift;  // in [128, 256)
    return 256 + static_cast<size_t>(shift - 1) * 128 + static_cast<size_t>(mantissa - 128);
}

uint64_t LatencyHistogram::lower_bound_of(size_t index) {
    if (index < 256) return index;
    size_t shift = (index - 256) / 128 + 1;
    uint64_t mantissa = (index - 256) % 128 + 128;
    return mantissa << shift;
}

uint64_t LatencyHistogram::upper_bound_of(size_t index) {
    if (index < 256) return index;
    size_t shift = (index - 256) / 128 + 1;
    return lower_bound_of(index) + (uint64_t{1} << shift) - 1;
}

void LatencyHistogram::record_n(uint64_t value, uint64_t count) {
    if (count == 0) return;
    if (value > value_max) {
        value = value_max;
        clamped_ += count;
    }
    buckets_[index_of(value)] += count;
    count_ += count;
    sum_ += value * count;
    if (value < min_) min_ = value;
    if (value > max_) max_ = value;
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
    for (size_t i = 0; i < bucket_count; i++) buckets_[i] += other.buckets_[i];
    count_ += other.count_;
    sum_ += other.sum_;
    clamped_ += other.clamped_;
    if (other.count_ && other.min_ < min_) min_ = other.min_;
    if (other.max_ > max_) max_ = other.max_;
}

void LatencyHistogram::reset() {
    std::memset(buckets_.get(), 0, bucket_count * sizeof(uint64_t));
    count_ = sum_ = max_ = clamped_ = 0;
    min_ = UINT64_MAX;
}

uint64_t LatencyHistogram::percentile(double q) const {
    if (count_ == 0) return 0;
    if (q <= 0) return min();
    if (q >= 1) return max_;
    uint64_t rank = static_cast<uint64_t>(q * static_cast<double>(count_) + 0.999999);
    if (rank == 0) rank = 1;
    uint64_t seen = 0;
    for (size_t i = 0; i < bucket_count; i++) {
        seen += buckets_[i];
        if (seen >= rank) {
            uint64_t v = upper_bound_of(i);
            if (v > max_) v = max_;
            if (v < min_) v = min_;
            return v;
        }
    }
    return max_;
}

uint64_t LatencyHistogram::count_at_or_below(uint64_t bound) const {
    uint64_t total = 0;
    for (size_t i = 0; i < bucket_count && lower_bound_of(i) <= bound; i++) total += buckets_[i];
    return total;
}

}  // namespace em
