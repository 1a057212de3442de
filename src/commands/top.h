// `enginemux top`: a terminal view of a running daemon, read through its admin API (GET /status
// and GET /metrics, with a bearer token when the API has protect_reads), refreshed every second:
// the nodes with state, primary, a probe-latency sparkline, head, errors, timeouts and
// disagreements; what the consensus client asked and how fast it was answered; the votes and
// the disagreements seen between refreshes; in the sync role, the consensus clients and which
// one the ELs follow. Plain ANSI: no library beyond libc, readable at 80
// columns (wider terminals get longer sparklines). `--once` prints one frame without escape
// codes, for scripts.
//
// The last votes come from /status "recent_votes" (each node's answer in each vote); a daemon
// without them shows what the counters allow instead (votes by answer and reason per refresh);
// see docs/OPERATIONS.md "enginemux top".
//
// Split in two so the frame can be tested without a daemon or a terminal: TopModel takes the
// bodies of /status and /metrics (parse, then keep the history: sparklines, recent votes and
// disagreements) and renders a frame as lines of text; top_main does the I/O (blocking HTTP on
// 127.0.0.1, the terminal, the refresh loop).
//
// Threads: a command-line subcommand on the main thread. Ownership: everything belongs to the
// call; a tool, not a request path, so it allocates freely.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace em::commands {

/// One node as one refresh saw it.
struct TopNode {
    std::string name;
    std::string role;   ///< voter | mirror
    std::string state;  ///< synced | syncing | dead | unknown
    std::string reason;
    bool primary = false;
    uint32_t probe_us = 0;  ///< health-probe round trip (EWMA)
    int64_t head = -1;
    uint64_t calls = 0, errors = 0, timeouts = 0, disagreements = 0, lane_depth = 0;
};

/// A latency histogram from /metrics: cumulative counts at each upper bound (seconds).
struct TopHistogram {
    std::vector<std::pair<double, uint64_t>> buckets;  ///< (le, cumulative count), +Inf last
    uint64_t count = 0;
    /// The q-quantile in seconds, interpolated in its bucket as Prometheus does; -1 if empty.
    double quantile(double q) const;
};

/// One finished vote from /status "recent_votes".
struct TopVote {
    uint64_t age_ms = 0;
    std::string method, told, reason, block_hash;
    bool early = false;
    std::vector<std::pair<std::string, std::string>> answers;  ///< (node, answer), node order
};

/// One consensus client of the sync role, from /status "sync".
struct TopSyncClient {
    std::string name, address, head;
    int64_t timestamp = 0;  ///< the last payload/attributes timestamp it sent (s), 0 = none yet
    uint64_t calls = 0;
};

/// One node as the rpc listener sees it, from /status "rpc".
struct TopRpcNode {
    std::string name;
    int64_t head = -1;  ///< -1: not known yet
    int64_t lag = -1;   ///< blocks behind the highest head (-1: unknown)
    bool at_head = false;
};

/// What one refresh read.
struct TopSample {
    int64_t wall_ms = 0;
    std::string version, role, primary;
    double quorum = 0;
    uint64_t uptime_s = 0;
    std::vector<TopNode> nodes;
    std::map<std::string, uint64_t> requests, request_errors;  ///< by method
    std::map<std::string, TopHistogram> latency;               ///< request_seconds by method
    std::map<std::string, uint64_t> answers, reasons;          ///< votes by status and reason
    uint64_t votes_early = 0, block_hash_checked = 0, block_hash_mismatch = 0, failovers = 0;
    uint64_t retries = 0;           ///< calls retried on another node (failovers: primary changes)
    bool has_recent_votes = false;  ///< the daemon reports recent_votes (newest first)
    std::vector<TopVote> recent_votes;
    bool has_sync = false;  ///< the sync role: /status has a "sync" object
    std::string sync_best;  ///< the followed client ("" = none)
    std::vector<TopSyncClient> sync_clients;
    bool has_rpc = false;  ///< an rpc listener runs: /status has an "rpc" object
    int64_t rpc_highest_head = -1, rpc_finalized = -1;
    std::vector<TopRpcNode> rpc_nodes;
    /// enginemux_rpc_*_total over every method.
    uint64_t rpc_requests = 0, rpc_errors = 0, rpc_cache_hits = 0, rpc_rate_limited = 0;
};

/// Parses GET /status (the admin API's JSON). Errors name what is missing.
Result<void> parse_top_status(std::string_view json, TopSample& out);
/// Parses GET /metrics (Prometheus text) for the counters the view shows; unknown lines are
/// skipped.
void parse_top_metrics(std::string_view text, TopSample& out);

struct TopStyle {
    int width = 80;
    bool color = false;      ///< ANSI colours
    bool unicode = true;     ///< block characters in sparklines, else ASCII
    int interval_ms = 1000;  ///< time between samples (the sparkline's title says its span)
};

/// The history of refreshes and the frame.
class TopModel {
  public:
    /// Most recent-vote and disagreement lines kept.
    static constexpr size_t recent_max = 6;
    /// Probe-latency samples kept per node (the widest sparkline).
    static constexpr size_t history_max = 120;

    /// Takes a new sample: updates sparklines and, against the previous sample, the lists of
    /// recent votes and disagreements.
    void add(TopSample sample);
    /// Marks the last refresh as failed (the frame says so and keeps the last data).
    void set_error(std::string error) { error_ = std::move(error); }
    bool has_sample() const { return have_; }
    /// The frame, one string per line, each at most style.width columns.
    std::vector<std::string> render(const TopStyle& style) const;

  private:
    void note_votes(const TopSample& before, const TopSample& now);
    void render_header(const TopStyle& style, std::vector<std::string>& out) const;
    void render_nodes(const TopStyle& style, std::vector<std::string>& out) const;
    void render_cl(const TopStyle& style, std::vector<std::string>& out) const;
    void render_votes(const TopStyle& style, std::vector<std::string>& out) const;
    /// The sync role's consensus clients: which one the ELs follow, and each one's last word.
    void render_sync(const TopStyle& style, std::vector<std::string>& out) const;
    /// The rpc listener: the head it routes by, each node's lag, and what it answered.
    void render_rpc(const TopStyle& style, std::vector<std::string>& out) const;
    /// The last votes, each node's answer (what the CL was told first, then the nodes).
    void render_recent_votes(const TopStyle& style, std::vector<std::string>& out) const;

    bool have_ = false;
    TopSample last_;
    TopSample previous_;
    bool have_previous_ = false;
    std::string error_;
    std::map<std::string, std::deque<uint32_t>> probe_history_;  ///< per node; 0 = not synced
    std::deque<std::string> recent_votes_;
    std::deque<std::string> recent_disagreements_;
};

/// Display width of UTF-8 text (code points; the frame uses no wide characters).
size_t top_columns(std::string_view text);

/// `enginemux top [options]`; argv[0] is "top". Exit 0, 1 when the admin API cannot be read
/// (--once), 2 on usage errors.
int top_main(int argc, char** argv);

}  // namespace em::commands
