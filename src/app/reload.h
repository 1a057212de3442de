// Live reload (SIGHUP, admin POST /reload): which settings a running daemon takes from a re-read
// configuration, and which need a restart.
//
// Taken live: the nodes (added, removed, or changed: URL, role, timeout, secret file or the
// secret in it; compared by name), log_level, node_timings, [health] (probes from then on),
// [engine] fcu_majority, timeout_ms, eth_timeout_ms and verify_block_hash (calls routed from then
// on), the CL's secret (its file re-read: the next request is checked with it) and [limits]
// connections_max and the client deadlines (header_timeout_ms, body_timeout_ms,
// body_rate_min_bytes_s, idle_timeout_ms; each applies the next time it is armed),
// shutdown_drain_ms, and [sync] best_stale_ms, future_slack_s, trusted_proxies and
// dedup_window_ms (the sync role's next decision). [sync] clients, proxies and
// proxy_request_timeout_ms need a restart.
//
// Everything else sizes something built at start (sockets, threads, buffers, pools, the admin
// API's access rules): a reload that changes it is refused whole, naming each such key and both
// values, and the running configuration stays. So is a file that does not load or validate.
//
// Threads: any (pure functions of two configs).
#pragma once

#include <string>
#include <vector>

#include "app/config.h"

namespace em::app {

struct SettingsDiff {
    /// "port 7000 -> 7001": keys that differ and need a restart (a reload with any is refused).
    std::vector<std::string> restart_only;
    /// "log_level info -> debug": keys that differ and are applied live (nodes aside).
    std::vector<std::string> live;
};

/// Compares every key but the nodes (the daemon compares those with their loaded secrets).
SettingsDiff diff_settings(const Config& running, const Config& next);

/// Joins "a", "b", "c" as "a; b; c".
std::string join(const std::vector<std::string>& parts, const char* separator = "; ");

}  // namespace em::app
