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

    // WebSocket connections (ServerConn::upgrade_websocket; the rpc listener's).
    Counter ws_upgrades{0};          ///< answered 101
    Counter ws_refused{0};           ///< upgrade refused: bad handshake (400/426) or WS limit (503)
    Counter ws_open{0};              ///< gauge: WebSocket connections open now
    Counter ws_messages_in{0};       ///< whole messages received
    Counter ws_messages_out{0};      ///< text messages queued to clients
    Counter ws_closed_policy{0};     ///< closed 1008: the send queue was full
    Counter ws_closed_protocol{0};   ///< closed with the parser's code (1002, 1007, 1009)
    Counter ws_queue_bytes{0};       ///< gauge: bytes queued to WebSocket clients now
    Counter ws_queue_peak_bytes{0};  ///< gauge: the most one connection ever had queued
    /// gauge: what idle WebSocket connections keep of their grown buffers (WsSession::settle)
    Counter ws_kept_bytes{0};
};

/// Adds one to a counter (the owning loop thread only).
inline void count(ServerStats::Counter& counter) {
    counter.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace em::http
