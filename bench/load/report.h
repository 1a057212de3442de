// The enginemux-load report: the merged RunStats as human-readable text or as one JSON object
// (schema in the README section "Report"; every field is always present).
//
// Main thread, after the run; allocates freely.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mix.h"
#include "options.h"
#include "stats.h"

namespace em::load {

/// Everything a report shows.
struct ReportInput {
    const Options* options = nullptr;
    const Mix* mix = nullptr;
    const RunStats* stats = nullptr;
    std::vector<uint64_t> kind_calls;  ///< measured calls per kind (index as in Mix::kinds())
    double window_s = 0;               ///< length of the measured window
};

/// Requests answered per second of the measured window (0 if the window is empty).
double throughput_rps(const ReportInput& in);

/// The report as text (several lines, ends with a newline).
std::string text_report(const ReportInput& in);

/// The report as one JSON object on one line (ends with a newline).
std::string json_report(const ReportInput& in);

/// The latency percentile spectrum as CSV ("percentile,latency_us" then one row per level):
/// HdrHistogram-style levels, 5 per halving of the distance to 100% (0, 10, 20, ... 50, 55, ...
/// 75, 77.5, ...), down to one value in the histogram, then 100 (max). Empty histogram: header
/// only.
std::string latency_csv(const LatencyHistogram& h);

}  // namespace em::load
