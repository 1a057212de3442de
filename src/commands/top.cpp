#include "commands/top.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>  // NOLINT(modernize-deprecated-headers): POSIX sigaction, kill, sigset_t
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

#include <simdjson.h>

#include "base/clock.h"
#include "http/bearer.h"
#include "io/socket.h"
#include "net/blocking_client.h"

namespace em::commands {

// ---------------------------------------------------------------------------------------------
// Parsing

double TopHistogram::quantile(double q) const {
    if (count == 0 || buckets.empty()) return -1;
    double rank = q * static_cast<double>(count);
    double lower = 0;
    uint64_t below = 0;
    for (const auto& [le, cumulative] : buckets) {
        if (static_cast<double>(cumulative) >= rank) {
            if (std::isinf(le)) return lower;  // past the last bound: its lower edge, as Prometheus
            uint64_t in_bucket = cumulative - below;
            if (in_bucket == 0) return le;
            return lower + (le - lower) * (rank - static_cast<double>(below)) /
                               static_cast<double>(in_bucket);
        }
        lower = le;
        below = cumulative;
    }
    return lower;
}

namespace {

std::string text_at(simdjson::dom::element e, const char* key) {
    std::string_view v;
    return e[key].get(v) == simdjson::SUCCESS ? std::string(v) : std::string();
}

int64_t number_at(simdjson::dom::element e, const char* key) {
    int64_t v = 0;
    return e[key].get(v) == simdjson::SUCCESS ? v : int64_t{0};
}

/// The sync role's "sync" object of /status (absent in the other roles).
void parse_top_sync(simdjson::dom::element root, TopSample& out) {
    simdjson::dom::object sync;
    out.sync_clients.clear();
    out.has_sync = root["sync"].get(sync) == simdjson::SUCCESS;
    if (!out.has_sync) return;
    out.sync_best = text_at(root["sync"], "best");
    simdjson::dom::array clients;
    if (sync["clients"].get(clients) != simdjson::SUCCESS) return;
    for (simdjson::dom::element c : clients) {
        TopSyncClient client;
        client.name = text_at(c, "name");
        client.address = text_at(c, "address");
        client.head = text_at(c, "head");
        client.timestamp = number_at(c, "timestamp");
        client.calls = static_cast<uint64_t>(number_at(c, "calls"));
        out.sync_clients.push_back(std::move(client));
    }
}

/// The rpc listener's "rpc" object of /status (absent without one).
void parse_top_rpc(simdjson::dom::element root, TopSample& out) {
    simdjson::dom::object rpc;
    out.rpc_nodes.clear();
    out.has_rpc = root["rpc"].get(rpc) == simdjson::SUCCESS;
    if (!out.has_rpc) return;
    if (rpc["highest_head"].get(out.rpc_highest_head) != simdjson::SUCCESS)
        out.rpc_highest_head = -1;
    if (rpc["finalized"].get(out.rpc_finalized) != simdjson::SUCCESS) out.rpc_finalized = -1;
    simdjson::dom::array nodes;
    if (rpc["nodes"].get(nodes) != simdjson::SUCCESS) return;
    for (simdjson::dom::element n : nodes) {
        TopRpcNode node;
        node.name = text_at(n, "name");
        if (n["head"].get(node.head) != simdjson::SUCCESS) node.head = -1;
        if (n["lag"].get(node.lag) != simdjson::SUCCESS) node.lag = -1;
        bool at_head = false;
        node.at_head = n["at_head"].get(at_head) == simdjson::SUCCESS && at_head;
        out.rpc_nodes.push_back(std::move(node));
    }
}

}  // namespace

Result<void> parse_top_status(std::string_view json, TopSample& out) {
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    if (auto error = parser.parse(json.data(), json.size()).get(root); error)
        return failf(Errc::invalid_input, "/status is not JSON: %s",
                     simdjson::error_message(error));
    if (!root.is_object()) return fail(Errc::invalid_input, "/status is not a JSON object");
    simdjson::dom::array nodes;
    if (root["nodes"].get(nodes) != simdjson::SUCCESS)
        return fail(Errc::invalid_input,
                    "/status has no \"nodes\" array (not an enginemux admin API?)");
    out.version = text_at(root, "version");
    out.role = text_at(root, "role");
    out.primary = text_at(root, "primary");
    if (root["quorum"].get(out.quorum) != simdjson::SUCCESS) out.quorum = 0;
    out.uptime_s = static_cast<uint64_t>(number_at(root, "uptime_s"));
    out.nodes.clear();
    for (simdjson::dom::element n : nodes) {
        TopNode node;
        node.name = text_at(n, "name");
        node.role = text_at(n, "role");
        node.state = text_at(n, "state");
        node.reason = text_at(n, "reason");
        bool primary = false;
        node.primary = n["primary"].get(primary) == simdjson::SUCCESS && primary;
        node.probe_us = static_cast<uint32_t>(number_at(n, "resp_time_us"));
        if (n["head_number"].get(node.head) != simdjson::SUCCESS) node.head = -1;
        node.calls = static_cast<uint64_t>(number_at(n, "calls"));
        node.errors = static_cast<uint64_t>(number_at(n, "errors"));
        node.disagreements = static_cast<uint64_t>(number_at(n, "disagreements"));
        out.nodes.push_back(std::move(node));
    }
    simdjson::dom::array votes;
    out.recent_votes.clear();
    out.has_recent_votes = root["recent_votes"].get(votes) == simdjson::SUCCESS;
    if (out.has_recent_votes) {
        for (simdjson::dom::element v : votes) {
            TopVote vote;
            vote.age_ms = static_cast<uint64_t>(number_at(v, "age_ms"));
            vote.method = text_at(v, "method");
            vote.told = text_at(v, "told");
            vote.reason = text_at(v, "reason");
            vote.block_hash = text_at(v, "block_hash");
            bool early = false;
            vote.early = v["early"].get(early) == simdjson::SUCCESS && early;
            simdjson::dom::object answers;
            if (v["answers"].get(answers) == simdjson::SUCCESS) {
                for (auto [node, answer] : answers) {
                    std::string_view a;
                    if (answer.get(a) == simdjson::SUCCESS) vote.answers.emplace_back(node, a);
                }
            }
            out.recent_votes.push_back(std::move(vote));
        }
    }
    parse_top_sync(root, out);
    parse_top_rpc(root, out);
    return {};
}

namespace {

/// One sample line of the Prometheus text format.
struct MetricLine {
    std::string_view name;
    std::string_view labels;  ///< between the braces
    double value = 0;
};

bool split_metric_line(std::string_view line, MetricLine& out) {
    if (line.empty() || line[0] == '#') return false;
    size_t brace = line.find('{');
    size_t space = line.rfind(' ');
    if (space == std::string_view::npos) return false;
    if (brace != std::string_view::npos && brace < space) {
        size_t close = line.rfind('}', space);
        if (close == std::string_view::npos || close < brace) return false;
        out.name = line.substr(0, brace);
        out.labels = line.substr(brace + 1, close - brace - 1);
    } else {
        out.name = line.substr(0, space);
        out.labels = {};
    }
    std::string value(line.substr(space + 1));
    char* end = nullptr;
    out.value = std::strtod(value.c_str(), &end);
    return end != value.c_str();
}

/// The value of label `key` in `a="x",b="y"` ("" when absent; escapes are kept as written).
std::string_view label(std::string_view labels, std::string_view key) {
    size_t at = 0;
    while (at < labels.size()) {
        size_t eq = labels.find("=\"", at);
        if (eq == std::string_view::npos) return {};
        std::string_view name = labels.substr(at, eq - at);
        size_t end = eq + 2;
        while (end < labels.size() && labels[end] != '"') end += labels[end] == '\\' ? 2 : 1;
        if (name == key) return labels.substr(eq + 2, end - eq - 2);
        at = end + 2;  // past `",`
    }
    return {};
}

uint64_t as_count(double v) {
    return v > 0 ? static_cast<uint64_t>(std::round(v)) : 0;
}

TopNode* node_named(TopSample& s, std::string_view name) {
    for (TopNode& n : s.nodes) {
        if (n.name == name) return &n;
    }
    return nullptr;
}

}  // namespace

void parse_top_metrics(std::string_view text, TopSample& out) {
    for (TopNode& n : out.nodes) n.timeouts = 0;
    out.rpc_requests = out.rpc_errors = out.rpc_cache_hits = out.rpc_rate_limited = 0;
    size_t at = 0;
    while (at < text.size()) {
        size_t end = text.find('\n', at);
        if (end == std::string_view::npos) end = text.size();
        std::string_view line = text.substr(at, end - at);
        at = end + 1;
        MetricLine m;
        if (!split_metric_line(line, m)) continue;
        std::string method(label(m.labels, "method"));
        if (m.name == "enginemux_requests_total") {
            out.requests[method] = as_count(m.value);
        } else if (m.name == "enginemux_request_errors_total") {
            out.request_errors[method] = as_count(m.value);
        } else if (m.name == "enginemux_request_seconds_bucket") {
            std::string le(label(m.labels, "le"));
            double bound = le == "+Inf" ? INFINITY : std::strtod(le.c_str(), nullptr);
            TopHistogram& h = out.latency[method];
            h.buckets.emplace_back(bound, as_count(m.value));
            if (std::isinf(bound)) h.count = as_count(m.value);
        } else if (m.name == "enginemux_upstream_timeouts_total") {
            if (TopNode* n = node_named(out, label(m.labels, "node")))
                n->timeouts += as_count(m.value);
        } else if (m.name == "enginemux_lane_queue_depth") {
            if (TopNode* n = node_named(out, label(m.labels, "node")))
                n->lane_depth = as_count(m.value);
        } else if (m.name == "enginemux_vote_answers_total") {
            out.answers[std::string(label(m.labels, "status"))] = as_count(m.value);
        } else if (m.name == "enginemux_votes_total") {
            out.reasons[std::string(label(m.labels, "reason"))] = as_count(m.value);
        } else if (m.name == "enginemux_votes_early_total") {
            out.votes_early = as_count(m.value);
        } else if (m.name == "enginemux_block_hash_checked_total") {
            out.block_hash_checked = as_count(m.value);
        } else if (m.name == "enginemux_block_hash_mismatch_total") {
            out.block_hash_mismatch = as_count(m.value);
        } else if (m.name == "enginemux_failovers_total") {
            out.failovers = as_count(m.value);
        } else if (m.name == "enginemux_retries_total") {
            out.retries = as_count(m.value);
        } else if (m.name == "enginemux_rpc_requests_total") {
            out.rpc_requests += as_count(m.value);
        } else if (m.name == "enginemux_rpc_errors_total") {
            out.rpc_errors += as_count(m.value);
        } else if (m.name == "enginemux_rpc_cache_hits_total") {
            out.rpc_cache_hits += as_count(m.value);
        } else if (m.name == "enginemux_rpc_rate_limited_total") {
            out.rpc_rate_limited += as_count(m.value);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The model and the frame

namespace {

std::string clock_text(int64_t wall_ms) {
    time_t secs = static_cast<time_t>(wall_ms / 1000);
    struct tm local;
    localtime_r(&secs, &local);
    char out[16];
    std::snprintf(out, sizeof out, "%02d:%02d:%02d", local.tm_hour, local.tm_min, local.tm_sec);
    return out;
}

std::string duration_text(uint64_t s) {
    char out[32];
    if (s < 3600)
        std::snprintf(out, sizeof out, "%llum%02llus", s / 60ull, s % 60ull);
    else if (s < 86400)
        std::snprintf(out, sizeof out, "%lluh%02llum", s / 3600ull, s / 60 % 60ull);
    else
        std::snprintf(out, sizeof out, "%llud%02lluh", s / 86400ull, s / 3600 % 24ull);
    return out;
}

/// A count in at most 5 columns: 1234, 12.3k, 123k, 1.2M.
std::string count_text(uint64_t n) {
    char out[16];
    if (n < 10'000)
        std::snprintf(out, sizeof out, "%llu", static_cast<unsigned long long>(n));
    else if (n < 100'000)
        std::snprintf(out, sizeof out, "%.1fk", static_cast<double>(n) / 1e3);
    else if (n < 1'000'000)
        std::snprintf(out, sizeof out, "%lluk", static_cast<unsigned long long>(n / 1000));
    else
        std::snprintf(out, sizeof out, "%.1fM", static_cast<double>(n) / 1e6);
    return out;
}

std::string seconds_text(double s) {
    char out[16];
    if (s < 0) return "-";
    if (s < 0.001)
        std::snprintf(out, sizeof out, "%.0fus", s * 1e6);
    else if (s < 0.1)
        std::snprintf(out, sizeof out, "%.1fms", s * 1e3);
    else if (s < 1)
        std::snprintf(out, sizeof out, "%.0fms", s * 1e3);
    else
        std::snprintf(out, sizeof out, "%.2fs", s);
    return out;
}

/// text cut or padded with spaces to exactly `n` columns (left-aligned; right-aligned if right).
std::string fit(std::string_view text, size_t n, bool right = false) {
    std::string s(text.substr(0, n));
    if (s.size() < n) {
        std::string pad(n - s.size(), ' ');
        s = right ? pad + s : s + pad;
    }
    return s;
}

const char* state_color(std::string_view state) {
    if (state == "synced") return "\x1b[32m";
    if (state == "syncing") return "\x1b[33m";
    return "\x1b[31m";
}

std::string paint(const TopStyle& style, const char* color, std::string text) {
    if (!style.color) return text;
    return std::string(color) + text + "\x1b[0m";
}

/// Cuts a line (possibly with ANSI colour codes) to `width` columns.
std::string clip(const std::string& line, size_t width, bool color) {
    std::string out;
    size_t columns = 0;
    for (size_t i = 0; i < line.size();) {
        if (line[i] == '\x1b') {
            size_t m = line.find('m', i);
            m = m == std::string::npos ? line.size() : m + 1;
            out.append(line, i, m - i);
            i = m;
            continue;
        }
        size_t len = 1;
        unsigned char c = static_cast<unsigned char>(line[i]);
        if (c >= 0xf0)
            len = 4;
        else if (c >= 0xe0)
            len = 3;
        else if (c >= 0xc0)
            len = 2;
        if (columns == width) {
            if (color) out += "\x1b[0m";
            break;
        }
        out.append(line, i, len);
        columns++;
        i += len;
    }
    return out;
}

std::string join_changes(const std::map<std::string, uint64_t>& before,
                         const std::map<std::string, uint64_t>& now) {
    std::string out;
    for (const auto& [key, value] : now) {
        auto it = before.find(key);
        uint64_t old = it == before.end() ? 0 : it->second;
        if (value <= old) continue;
        if (!out.empty()) out += ' ';
        out += key + "+" + std::to_string(value - old);
    }
    return out;
}

uint64_t total(const std::map<std::string, uint64_t>& m) {
    uint64_t n = 0;
    for (const auto& [key, value] : m) n += value;
    return n;
}

template <typename T>
void push_recent(std::deque<T>& list, T item, size_t max) {
    list.push_front(std::move(item));
    while (list.size() > max) list.pop_back();
}

}  // namespace

size_t top_columns(std::string_view text) {
    size_t n = 0;
    for (size_t i = 0; i < text.size(); i++) {
        if (text[i] == '\x1b') {
            size_t m = text.find('m', i);
            if (m == std::string_view::npos) break;
            i = m;
            continue;
        }
        if ((static_cast<unsigned char>(text[i]) & 0xc0) != 0x80) n++;
    }
    return n;
}

void TopModel::add(TopSample sample) {
    error_.clear();
    for (const TopNode& n : sample.nodes) {
        auto& h = probe_history_[n.name];
        h.push_back(n.state == "synced" ? std::max<uint32_t>(n.probe_us, 1) : 0);
        while (h.size() > history_max) h.pop_front();
    }
    std::erase_if(probe_history_, [&](const auto& entry) {
        return std::none_of(sample.nodes.begin(), sample.nodes.end(),
                            [&](const TopNode& n) { return n.name == entry.first; });
    });
    if (have_) {
        previous_ = std::move(last_);
        have_previous_ = true;
        note_votes(previous_, sample);
    }
    last_ = std::move(sample);
    have_ = true;
}

void TopModel::note_votes(const TopSample& before, const TopSample& now) {
    std::string when = clock_text(now.wall_ms);
    uint64_t votes = total(now.answers), old_votes = total(before.answers);
    std::string minority;
    for (const TopNode& n : now.nodes) {
        for (const TopNode& o : before.nodes) {
            if (o.name != n.name || n.disagreements <= o.disagreements) continue;
            uint64_t d = n.disagreements - o.disagreements;
            minority += (minority.empty() ? "" : " ") + n.name + "+" + std::to_string(d);
            push_recent(recent_disagreements_,
                        when + "  " + n.name + " disagreed +" + std::to_string(d) + " (total " +
                            std::to_string(n.disagreements) + ", now " + n.state + ")",
                        recent_max);
        }
    }
    if (votes > old_votes) {
        std::string line = when + "  " + std::to_string(votes - old_votes) + ": " +
                           join_changes(before.answers, now.answers);
        std::string reasons = join_changes(before.reasons, now.reasons);
        if (!reasons.empty()) line += " (" + reasons + ")";
        if (!minority.empty()) line += " disagreed: " + minority;
        push_recent(recent_votes_, line, recent_max);
    }
}

void TopModel::render_header(const TopStyle& style, std::vector<std::string>& out) const {
    const TopSample& s = last_;
    std::string primary =
        s.primary.empty() ? paint(style, "\x1b[1;31m", "NONE") : paint(style, "\x1b[1m", s.primary);
    char quorum[32];
    std::snprintf(quorum, sizeof quorum, "%g", s.quorum);
    std::string left = "enginemux " + s.version + "  " + s.role + "  quorum " + quorum + "  up " +
                       duration_text(s.uptime_s) + "  primary " + primary;
    std::string right = clock_text(s.wall_ms);
    size_t used = top_columns(left) + right.size();
    size_t width = static_cast<size_t>(style.width);
    out.push_back(used < width ? left + std::string(width - used, ' ') + right : left);
    if (!error_.empty()) {
        out.push_back(paint(style, "\x1b[1;31m", "! " + error_ + " (showing the last data)"));
    } else {
        out.push_back("");
    }
}

void TopModel::render_nodes(const TopStyle& style, std::vector<std::string>& out) const {
    // mark 2, name 10, state 7, role 6, probe 6 (+2), sparkline, head 9, err 4, tmo 4, dis 4,
    // and the spaces between them
    constexpr size_t fixed = 61;
    size_t width = static_cast<size_t>(style.width);
    size_t spark = width > fixed + 4 ? width - fixed : 4;
    if (spark > history_max) spark = history_max;
    char title[64];
    if (style.interval_ms > 0) {
        std::snprintf(title, sizeof title, "PROBE LATENCY (%llus)",
                      static_cast<unsigned long long>(spark) *
                          static_cast<unsigned>(style.interval_ms) / 1000);
    } else {
        std::snprintf(title, sizeof title, "PROBE LATENCY");
    }
    out.push_back(paint(style, "\x1b[1m",
                        "  " + fit("NODE", 10) + " " + fit("STATE", 7) + " " + fit("ROLE", 6) +
                            " " + fit("PROBE", 6, true) + "  " + fit(title, spark) + " " +
                            fit("HEAD", 9, true) + " " + fit("ERR", 4, true) + " " +
                            fit("TMO", 4, true) + " " + fit("DIS", 4, true)));
    uint32_t scale = 1;
    for (const auto& [name, h] : probe_history_) {
        size_t from = h.size() > spark ? h.size() - spark : 0;
        for (size_t i = from; i < h.size(); i++) scale = std::max(scale, h[i]);
    }
    static const char* blocks[] = {"\u2581", "\u2582", "\u2583", "\u2584",
                                   "\u2585", "\u2586", "\u2587", "\u2588"};
    static const char* ascii[] = {"_", ".", "-", "~", "=", "+", "*", "#"};
    for (const TopNode& n : last_.nodes) {
        std::string line = n.primary ? paint(style, "\x1b[1m", "* ") : std::string("  ");
        line += fit(n.name, 10) + " " + paint(style, state_color(n.state), fit(n.state, 7)) + " " +
                fit(n.role, 6) + " " +
                fit(n.state == "synced" ? seconds_text(n.probe_us / 1e6) : "-", 6, true) + "  ";
        std::string bars;
        auto it = probe_history_.find(n.name);
        size_t have = it == probe_history_.end() ? 0 : it->second.size();
        size_t shown = std::min(have, spark);
        bars.append(spark - shown, ' ');
        for (size_t i = have - shown; i < have; i++) {
            uint32_t v = it->second[i];
            if (v == 0) {
                bars += ' ';
                continue;
            }
            size_t level = std::min<size_t>(7, (static_cast<uint64_t>(v) * 8 - 1) / scale);
            bars += style.unicode ? blocks[level] : ascii[level];
        }
        line += bars + " " + fit(n.head >= 0 ? std::to_string(n.head) : "-", 9, true) + " " +
                fit(count_text(n.errors), 4, true) + " " + fit(count_text(n.timeouts), 4, true) +
                " " + fit(count_text(n.disagreements), 4, true);
        out.push_back(line);
        if (n.state != "synced" && !n.reason.empty())
            out.push_back(std::string(style.unicode ? "    \u2514 " : "    > ") + n.reason);
    }
}

void TopModel::render_cl(const TopStyle& style, std::vector<std::string>& out) const {
    out.push_back("");
    out.push_back(paint(style, "\x1b[1m",
                        fit("CL REQUESTS, latency since start", 32) + " " + fit("REQ", 7, true) +
                            " " + fit("/s", 6, true) + " " + fit("ERR", 5, true) + " " +
                            fit("P50", 7, true) + " " + fit("P99", 7, true)));
    std::vector<std::pair<uint64_t, std::string>> methods;
    for (const auto& [method, n] : last_.requests) methods.emplace_back(n, method);
    std::sort(methods.rbegin(), methods.rend());
    if (methods.empty()) out.push_back("  (no requests yet)");
    double dt = have_previous_ ? static_cast<double>(last_.wall_ms - previous_.wall_ms) / 1e3 : 0;
    for (size_t i = 0; i < methods.size() && i < 5; i++) {
        const std::string& method = methods[i].second;
        uint64_t n = methods[i].first;
        char rate[16] = "-";
        if (dt > 0) {
            auto it = previous_.requests.find(method);
            uint64_t old = it == previous_.requests.end() ? 0 : it->second;
            std::snprintf(rate, sizeof rate, "%.1f",
                          static_cast<double>(n - std::min(n, old)) / dt);
        }
        auto errors = last_.request_errors.find(method);
        auto latency = last_.latency.find(method);
        double p50 = latency == last_.latency.end() ? -1 : latency->second.quantile(0.5);
        double p99 = latency == last_.latency.end() ? -1 : latency->second.quantile(0.99);
        out.push_back(
            "  " + fit(method, 30) + " " + fit(count_text(n), 7, true) + " " + fit(rate, 6, true) +
            " " +
            fit(count_text(errors == last_.request_errors.end() ? 0 : errors->second), 5, true) +
            " " + fit(seconds_text(p50), 7, true) + " " + fit(seconds_text(p99), 7, true));
    }
}

void TopModel::render_sync(const TopStyle& style, std::vector<std::string>& out) const {
    if (!last_.has_sync) return;
    out.push_back("");
    std::string title = "CONSENSUS CLIENTS (sync role): ";
    title += last_.sync_best.empty() ? "following none" : "following " + last_.sync_best;
    out.push_back(paint(style, "\x1b[1m", title));
    if (last_.sync_clients.empty()) out.push_back("  (no client has called yet)");
    int64_t now_s = last_.wall_ms / 1000;
    for (const TopSyncClient& c : last_.sync_clients) {
        std::string age = "no timestamp yet";
        if (c.timestamp > 0) {
            int64_t behind = now_s - c.timestamp;
            age = behind >= 0 ? "timestamp " + duration_text(static_cast<uint64_t>(behind)) + " ago"
                              : "timestamp " + duration_text(static_cast<uint64_t>(-behind)) +
                                    " ahead (future)";
        }
        std::string mark = c.name == last_.sync_best ? "> " : "  ";
        out.push_back(mark + fit(c.name, 14) + " " + fit(c.address, 15) + " " +
                      fit(count_text(c.calls), 6, true) + " calls  " + age);
    }
}

void TopModel::render_rpc(const TopStyle& style, std::vector<std::string>& out) const {
    if (!last_.has_rpc) return;
    out.push_back("");
    auto block = [](int64_t n) { return n < 0 ? std::string("?") : std::to_string(n); };
    out.push_back(paint(style, "\x1b[1m",
                        "RPC LISTENER: head " + block(last_.rpc_highest_head) + ", finalized " +
                            block(last_.rpc_finalized)));
    uint64_t n = last_.rpc_requests;
    auto share = [n](uint64_t k) {
        return n == 0 ? std::string() : " (" + std::to_string(k * 100 / n) + "%)";
    };
    out.push_back("  requests " + count_text(n) + "  from cache " +
                  count_text(last_.rpc_cache_hits) + share(last_.rpc_cache_hits) + "  errors " +
                  count_text(last_.rpc_errors) + share(last_.rpc_errors) + "  429 " +
                  count_text(last_.rpc_rate_limited));
    for (const TopRpcNode& node : last_.rpc_nodes) {
        std::string where = node.head < 0  ? "head unknown: gets no reads of the head"
                            : node.at_head ? "at the head"
                            : node.lag >= 0
                                ? std::to_string(node.lag) + " behind: gets no reads of the head"
                                : "not at the head";
        std::string line =
            "  " + fit(node.name, 14) + " head " + fit(block(node.head), 10, true) + "  " + where;
        out.push_back(node.at_head ? line : paint(style, "\x1b[33m", line));
    }
}

void TopModel::render_votes(const TopStyle& style, std::vector<std::string>& out) const {
    out.push_back("");
    std::string answers;
    for (const auto& [status, n] : last_.answers) {
        if (n == 0 && status != "VALID" && status != "INVALID" && status != "SYNCING") continue;
        answers += "  " + status + " " + count_text(n);
    }
    out.push_back(paint(style, "\x1b[1m", "VOTES") + answers + "  early " +
                  count_text(last_.votes_early));
    std::string hashes =
        "  block hashes checked " + count_text(last_.block_hash_checked) + "  mismatch ";
    hashes += last_.block_hash_mismatch
                  ? paint(style, "\x1b[1;31m", count_text(last_.block_hash_mismatch))
                  : std::string("0");
    out.push_back(hashes + "  failovers " + count_text(last_.failovers) + "  retries " +
                  count_text(last_.retries));
    if (last_.has_recent_votes) {
        render_recent_votes(style, out);
    } else {
        out.push_back(paint(style, "\x1b[1m", "RECENT VOTES") +
                      " (per refresh: count, answers, reasons)");
        if (recent_votes_.empty()) out.push_back("  (none since top started)");
        for (const std::string& line : recent_votes_) out.push_back("  " + line);
    }
    out.push_back(paint(style, "\x1b[1m", "LAST DISAGREEMENTS") +
                  " (a voter whose answer differed from the vote's)");
    if (recent_disagreements_.empty()) out.push_back("  (none since top started)");
    for (const std::string& line : recent_disagreements_)
        out.push_back("  " + paint(style, "\x1b[33m", line));
}

void TopModel::render_recent_votes(const TopStyle& style, std::vector<std::string>& out) const {
    out.push_back(paint(style, "\x1b[1m", "RECENT VOTES") + " (age, method: told, each node)");
    if (last_.recent_votes.empty()) out.push_back("  (none yet)");
    size_t width = static_cast<size_t>(style.width);
    size_t shown = 0;
    for (const TopVote& v : last_.recent_votes) {
        if (shown++ == recent_max) break;
        std::string method = v.method;
        if (method.rfind("engine_", 0) == 0) method = method.substr(7);
        char age[24];
        std::snprintf(age, sizeof age, "%5.1fs", static_cast<double>(v.age_ms) / 1000.0);
        std::string line = std::string("  ") + age + " " + method + ": " + v.told;
        if (v.early) line += " early";
        if (v.block_hash == "mismatch") line += " HASH-MISMATCH";
        line += " |";
        for (const auto& [node, answer] : v.answers) {
            bool differs = answer != v.told;
            std::string item = " " + node + "=" + answer;
            if (top_columns(line) + item.size() > width) break;
            line += differs ? paint(style, "\x1b[33m", item) : item;
        }
        out.push_back(line);
    }
}

std::vector<std::string> TopModel::render(const TopStyle& style) const {
    std::vector<std::string> lines;
    if (!have_) {
        lines.push_back("enginemux top: waiting for the admin API");
        if (!error_.empty()) lines.push_back("! " + error_);
    } else {
        render_header(style, lines);
        render_nodes(style, lines);
        render_cl(style, lines);
        render_sync(style, lines);
        render_rpc(style, lines);
        render_votes(style, lines);
    }
    for (std::string& line : lines)
        line = clip(line, static_cast<size_t>(style.width), style.color);
    return lines;
}

// ---------------------------------------------------------------------------------------------
// I/O: the admin API and the terminal

namespace {

const char usage[] =
    "usage: enginemux top [--admin HOST:PORT] [--admin-token-file FILE] [--once]\n"
    "                     [--interval-ms N] [--width N] [--ascii] [--no-color]\n"
    "A live view of a running enginemux through its admin API; q or Ctrl-C quits.\n"
    "  --admin HOST:PORT        the admin API (default 127.0.0.1:9551)\n"
    "  --admin-token-file FILE  bearer token, for an admin API with protect_reads\n"
    "  --once                   print one frame without escape codes and exit (two samples\n"
    "                           --interval-ms apart, so that changes show; 0: one sample)\n"
    "  --interval-ms N          refresh period (default 1000)\n"
    "  --width N                columns (default: the terminal's, else $COLUMNS, else 80)\n"
    "  --ascii                  ASCII sparklines instead of block characters\n"
    "  --no-color               no colours (also when NO_COLOR is set)\n";

struct TopOptions {
    std::string admin = "127.0.0.1:9551";
    std::string token_file;
    bool once = false;
    int interval_ms = 1000;
    int width = 0;  ///< 0 = detect
    bool ascii = false;
    bool no_color = false;
};

int usage_error(const std::string& what) {
    std::fprintf(stderr, "enginemux top: %s\n%s", what.c_str(), usage);
    return 2;
}

/// Fills options; returns -1 to go on, else an exit code.
int parse_options(int argc, char** argv, TopOptions& o) {
    for (int i = 1; i < argc; i++) {
        std::string_view arg = argv[i];
        auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
        auto number = [&](int& out, int lo, int hi) {
            const char* v = value();
            char* end = nullptr;
            long n = v ? std::strtol(v, &end, 10) : 0;
            if (!v || *end != 0 || n < lo || n > hi) return false;
            out = static_cast<int>(n);
            return true;
        };
        if (arg == "--admin") {
            const char* v = value();
            if (!v) return usage_error("--admin needs HOST:PORT");
            o.admin = v;
        } else if (arg == "--admin-token-file") {
            const char* v = value();
            if (!v) return usage_error("--admin-token-file needs a file");
            o.token_file = v;
        } else if (arg == "--once") {
            o.once = true;
        } else if (arg == "--interval-ms") {
            if (!number(o.interval_ms, 0, 600'000))
                return usage_error("--interval-ms needs 0..600000");
        } else if (arg == "--width") {
            if (!number(o.width, 40, 1000)) return usage_error("--width needs 40..1000");
        } else if (arg == "--ascii") {
            o.ascii = true;
        } else if (arg == "--no-color") {
            o.no_color = true;
        } else if (arg == "-h" || arg == "--help") {
            std::fputs(usage, stdout);
            return 0;
        } else {
            return usage_error("unknown argument '" + std::string(arg) + "'");
        }
    }
    return -1;
}

/// Blocking HTTP/1.1 GETs to the admin API, one connection each (a tool: simplicity wins).
class AdminClient {
  public:
    AdminClient(io::Address address, std::string name, std::string token)
        : address_(address), name_(std::move(name)), token_(std::move(token)) {}

    Result<std::string> get(const char* target) const {
        std::string authorization = token_.empty() ? std::string() : "Bearer " + token_;
        http::BlockingRequest request;
        request.target = target;
        request.host = name_;
        request.authorization = authorization;
        request.timeout_ms = 2'000;  // a daemon that does not answer in 2 s is shown as unreachable
        auto reply = http::blocking_exchange(address_, request);
        if (!reply)
            return failf(Errc::io, "cannot reach the admin API at %s: %s (%s)", name_.c_str(),
                         reply.error().c_str(), target);
        if (reply->status == 401 || reply->status == 403)
            return failf(Errc::unauthorized,
                         "admin API at %s: %s answered %d: it protects reads; pass its token with "
                         "--admin-token-file",
                         name_.c_str(), target, reply->status);
        if (reply->status != 200)
            return failf(Errc::io, "admin API at %s: %s answered %d", name_.c_str(), target,
                         reply->status);
        return std::move(reply->body);
    }

  private:
    io::Address address_;
    std::string name_;
    std::string token_;
};

Result<TopSample> fetch(const AdminClient& client) {
    TopSample sample;
    std::string status = EM_TRY(client.get("/status"));
    std::string metrics = EM_TRY(client.get("/metrics"));
    EM_TRY_VOID(parse_top_status(status, sample));
    parse_top_metrics(metrics, sample);
    sample.wall_ms = static_cast<int64_t>(wall_ns() / 1'000'000ull);
    return sample;
}

int terminal_width(int requested) {
    if (requested > 0) return requested;
    winsize ws{};
    if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40) return ws.ws_col;
    if (const char* columns = std::getenv("COLUMNS")) {
        int n = std::atoi(columns);
        if (n >= 40) return n;
    }
    return 80;
}

bool utf8_locale() {
    for (const char* name : {"LC_ALL", "LC_CTYPE", "LANG"}) {
        const char* v = std::getenv(name);
        if (v && *v) {
            std::string s(v);
            std::transform(s.begin(), s.end(), s.begin(), ::tolower);
            return s.find("utf-8") != std::string::npos || s.find("utf8") != std::string::npos;
        }
    }
    return false;
}

volatile sig_atomic_t g_stop = 0;

/// The terminal in the live view's mode (alternate screen, no cursor, keys without Enter), and
/// back as it was on destruction.
class LiveTerminal {
  public:
    LiveTerminal() {
        struct sigaction sa {};
        sa.sa_handler = [](int) { g_stop = 1; };
        sigemptyset(&sa.sa_mask);
        for (int s : {SIGINT, SIGTERM, SIGHUP}) sigaction(s, &sa, nullptr);  // no SA_RESTART
        raw_ = ::isatty(STDIN_FILENO) && ::tcgetattr(STDIN_FILENO, &saved_) == 0;
        if (raw_) {
            termios t = saved_;
            t.c_lflag &= static_cast<tcflag_t>(~(ICANON | ECHO));
            t.c_cc[VMIN] = 0;
            t.c_cc[VTIME] = 0;
            ::tcsetattr(STDIN_FILENO, TCSANOW, &t);
        }
        write_out("\x1b[?1049h\x1b[?25l");
    }
    ~LiveTerminal() {
        write_out("\x1b[0m\x1b[?25h\x1b[?1049l");
        if (raw_) ::tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
    }
    LiveTerminal(const LiveTerminal&) = delete;
    LiveTerminal& operator=(const LiveTerminal&) = delete;

    static void write_out(std::string_view s) {
        while (!s.empty()) {
            ssize_t n = ::write(STDOUT_FILENO, s.data(), s.size());
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return;
            s.remove_prefix(static_cast<size_t>(n));
        }
    }
    void draw(const std::vector<std::string>& lines) {
        std::string frame = "\x1b[H";
        for (const std::string& line : lines) frame += line + "\x1b[K\r\n";
        frame += "\x1b[J";
        write_out(frame);
    }
    /// Waits up to timeout_ms for a key; returns false when the view should end (q, a signal).
    bool wait(int timeout_ms) {
        uint64_t deadline = mono_ns() + static_cast<uint64_t>(timeout_ms) * 1'000'000ull;
        while (!g_stop) {
            uint64_t now = mono_ns();
            if (now >= deadline) return true;
            pollfd p{STDIN_FILENO, POLLIN, 0};
            int left = static_cast<int>((deadline - now + 999'999) / 1'000'000);
            int ready = ::poll(&p, raw_ ? 1 : 0, left);
            if (ready > 0 && (p.revents & POLLIN)) {
                char key = 0;
                if (::read(STDIN_FILENO, &key, 1) == 1 && (key == 'q' || key == 'Q')) return false;
            }
        }
        return false;
    }

  private:
    bool raw_ = false;
    termios saved_{};
};

int run_once(const AdminClient& client, const TopOptions& o, TopStyle style) {
    TopModel model;
    auto first = fetch(client);
    if (!first) {
        std::fprintf(stderr, "enginemux top: %s\n", first.error().c_str());
        return 1;
    }
    model.add(std::move(*first));
    if (o.interval_ms > 0) {
        ::usleep(static_cast<useconds_t>(o.interval_ms) * 1000);
        auto second = fetch(client);
        if (!second) {
            std::fprintf(stderr, "enginemux top: %s\n", second.error().c_str());
            return 1;
        }
        model.add(std::move(*second));
    }
    style.color = false;
    for (const std::string& line : model.render(style)) std::printf("%s\n", line.c_str());
    return 0;
}

int run_live(const AdminClient& client, const TopOptions& o, TopStyle style) {
    LiveTerminal terminal;
    TopModel model;
    do {
        auto sample = fetch(client);
        if (sample)
            model.add(std::move(*sample));
        else
            model.set_error(std::string(sample.error().message()));
        style.width = terminal_width(o.width);
        terminal.draw(model.render(style));
    } while (terminal.wait(o.interval_ms > 0 ? o.interval_ms : 1000));
    return 0;
}

}  // namespace

int top_main(int argc, char** argv) {
    TopOptions o;
    if (int code = parse_options(argc, argv, o); code >= 0) return code;
    std::string token;
    if (!o.token_file.empty()) {
        auto read = http::read_token_file(o.token_file, false);
        if (!read) return usage_error("--admin-token-file: " + std::string(read.error().c_str()));
        token = *read;
    }
    auto address = io::resolve(o.admin);
    if (!address) return usage_error("--admin " + o.admin + ": " + address.error().c_str());
    AdminClient client(*address, o.admin, token);
    TopStyle style;
    style.width = terminal_width(o.width);
    // live: the refresh period (0 means the default second); --once: the gap of its two samples
    style.interval_ms = o.once ? o.interval_ms : (o.interval_ms > 0 ? o.interval_ms : 1000);
    style.unicode = !o.ascii && utf8_locale();
    style.color = !o.no_color && std::getenv("NO_COLOR") == nullptr && ::isatty(STDOUT_FILENO);
    return o.once ? run_once(client, o, style) : run_live(client, o, style);
}

}  // namespace em::commands
