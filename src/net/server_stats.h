// Counters of one http::Server: connections, requests, and why connections were cut (deadlines,
// the minimum body rate, eviction at connections_max, the buffered-body budget).
//
// Threads: written only by the loop thread that owns the server (relaxed atomic increments, no
// locks); any thread may read them (the admin API renders the engine listener's counters from
// the control thread). Owned by the server, or by the caller that passes ServerConfig::stats
// (the engine shard keeps them in its ShardMetrics, which outlive the server). Fixed size.
#pragma once

#include <atomic>
#include <cstdint>

namespace em::http {

struct ServerStats {
    using Counter = std::atomic<uint64_t>;

    Counter accepted{0};
    Counter rejected_full{0};  ///< closed at once: connections_max reached and nothing evictable
    Counter requests{0};
    Counter bad_requests{0};  ///< answered 4xx/5xx by the parser (400/413/431/501/505)
    Counter aborted{0};       ///< closed with a request in flight
    /// Answered 503: the body would have taken the process's buffered request bodies over
    /// buffered_body_bytes_max.
    Counter buffered_body_refused{0};

    // Deadlines and the idle timer (see ServerConfig).
    Counter header_deadline{0};  ///< head not complete within header_timeout_ms (408)
    Counter body_deadline{0};    ///< body not complete within body_timeout_ms (408)
    Counter body_rate{0};        ///< body slower than body_rate_min_bytes_s (408)
    Counter send_deadline{0};    ///< an answer not taken within body_timeout_ms (closed)
    Counter idle_closed{0};      ///< keep-alive connection without a request for idle_timeout_ms

    // Eviction at connections_max, to admit a new connection.
    Counter evicted_partial{0};  ///< had no complete request yet (408)
    Counter evicted_idle{0};     ///< keep-alive connection between requests (closed)
};

/// Adds one to a counter (the owning loop thread only).
inline void count(ServerStats::Counter& counter) {
    counter.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace em::http
