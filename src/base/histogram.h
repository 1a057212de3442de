// LatencyHistogram: log-linear histogram of non-negative integers (nanoseconds, usually),
// HdrHistogram-style: exact below 256, then 128 sub-buckets per power of two, so any reported
// percentile is within 0.8% of a recorded value. Values up to 2^41-1 (~36 min in ns); larger
// values are clamped and counted in `clamped()`.
//
// One thread records into a histogram; merge() combines histograms from several threads after
// they are done (or from snapshots). Memory is allocated at construction (~36 KiB).
#pragma once

#include <cstdint>
#include <memory>

namespace em {

class LatencyHistogram {
  public:
    static constexpr int sub_bucket_bits = 7;
    static constexpr int msb_max = 40;
    static constexpr uint64_t value_max = (uint64_t{1} << (msb_max + 1)) - 1;
    static constexpr size_t bucket_count = 256 + (msb_max - sub_bucket_bits) * 128;

    LatencyHistogram();
    LatencyHistogram(const LatencyHistogram& other);
    LatencyHistogram& operator=(const LatencyHistogram& other);

    /// Records one value (clamped to value_max).
    void record(uint64_t value) { record_n(value, 1); }
    void record_n(uint64_t value, uint64_t count);
    void merge(const LatencyHistogram& other);
    void reset();

    uint64_t count() const { return count_; }
    uint64_t min() const { return count_ ? min_ : 0; }
    uint64_t max() const { return max_; }
    double mean() const { return count_ ? static_cast<double>(sum_) / count_ : 0.0; }
    uint64_t clamped() const { return clamped_; }
    /// The smallest recorded-bucket value v such that at least q (0..1) of values are <= v;
    /// reported as the bucket's upper bound clamped to max(). 0 when empty.
    uint64_t percentile(double q) const;
    /// Number of values <= bound (bucket resolution: counts whole buckets whose lower end <=
    /// bound).
    uint64_t count_at_or_below(uint64_t bound) const;

    static size_t index_of(uint64_t value);
    static uint64_t lower_bound_of(size_t index);
    static uint64_t upper_bound_of(size_t index);

  private:
    std::unique_ptr<uint64_t[]> buckets_;
    uint64_t count_ = 0;
    uint64_t sum_ = 0;
    uint64_t min_ = UINT64_MAX;
    uint64_t max_ = 0;
    uint64_t clamped_ = 0;
};

}  // namespace em
