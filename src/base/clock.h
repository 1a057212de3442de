// Clocks: monotonic nanoseconds for deadlines and latency (boot time where suspend must count),
// wall seconds for JWT `iat`.
//
// Any thread; no state.
#pragma once

#include <cstdint>
#include <ctime>

namespace em {

/// CLOCK_MONOTONIC in nanoseconds: for deadlines, timeouts and latency.
inline uint64_t mono_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

/// CLOCK_BOOTTIME in nanoseconds: like mono_ns() but it keeps counting while the host is
/// suspended. For deadlines that must expire across a suspend (the validator guard's lease and
/// permit), where CLOCK_MONOTONIC would resume as if no time had passed.
inline uint64_t boot_ns() {
    timespec ts;
    clock_gettime(CLOCK_BOOTTIME, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

/// to − from, or 0 when `to` is earlier (a turn-cached time can precede a fresh reading).
inline uint64_t elapsed_ns(uint64_t from, uint64_t to) {
    return to > from ? to - from : 0;
}

/// CLOCK_REALTIME in whole seconds since the Unix epoch (JWT iat, log timestamps).
inline int64_t wall_s() {
    timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec;
}

/// CLOCK_REALTIME in nanoseconds.
inline uint64_t wall_ns() {
    timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

constexpr uint64_t ms_to_ns(uint64_t ms) {
    return ms * 1'000'000ull;
}
constexpr uint64_t us_to_ns(uint64_t us) {
    return us * 1'000ull;
}

}  // namespace em
