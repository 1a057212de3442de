// Soak (issue 19, item 8): mixed engine + eth_* load through the real daemon while one EL is
// restarted every 30 s and another flaps (SIGSTOP/SIGCONT), against a quiet run of the same
// length in the same invocation.
//
// Set-up: enginemux (default settings) in front of four enginemux-mock-el voters:
//   el1  steady;
//   el2  steady, scripted as a minority: INVALID to engine_newPayloadV3, SYNCING to
//        engine_forkchoiceUpdated*;
//   el3  restarted: every 30 s (first at 15 s) it gets SIGTERM, stays down restart_down_s, and
//        comes back on the same port;
//   el4  flaps: SIGSTOP for flap_stopped_s every flap_period_s (first at 2 s), then SIGCONT.
// Traffic: enginemux-load, open loop, `rate` requests/s of 80% eth_* (eth_blockNumber,
// eth_getBlockByNumber, eth_chainId, eth_syncing) and 20% engine calls (newPayloadV4,
// newPayloadV3, forkchoiceUpdatedV3) with the CL's JWT, for `seconds` quiet, then `seconds` with
// the faults. The daemon's VmRSS is sampled every second.
//
// The contract (the issue's, as assertions; every figure is printed):
//   1. zero answers that break the README's contract, in both runs. A violation is any request
//      without an HTTP 200 JSON-RPC answer (timeout, connection closed or reset, malformed, HTTP
//      error: no 5xx is documented for this traffic), any JSON-RPC error (el1 and el2 never go
//      away, so some EL can always answer an eth_* call, and every voter accepts every engine
//      call), and any vote the README forbids: engine_newPayloadV3 answered VALID (or ACCEPTED)
//      although a voter said INVALID, any INVALID where no voter says INVALID
//      (newPayloadV4, forkchoiceUpdatedV3), an unknown status;
//   2. RSS flat after warm-up: over the second half of the faulted run (warm-up = the quiet run
//      and the first half of the faulted run), max/min - 1 <= rss_flat_pct (5%);
//   3. p99 (all requests, measured window) of the faulted run <= p99_factor (2) x the quiet
//      run's p99.
// Knobs (environment): EM_SOAK_SECONDS (per run; 600 for the suite 'soak', 60 for soak_short),
// EM_SOAK_RATE (200), EM_SOAK_P99_FACTOR (2), EM_SOAK_P99_SLACK_MS (0: added to the bound),
// EM_SOAK_RSS_FLAT_PCT (5), EM_SOAK_FLAP ("10/2": period/stopped seconds), EM_SOAK_SUMMARY (a
// file to write the figures to, as JSON).
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "../integration/harness.h"
#include "base/clock.h"

namespace em::test {
namespace {

struct Settings {
    int seconds = 600;
    int rate = 200;
    int warmup_s = 10;
    double p99_factor = 2.0;
    double p99_slack_ms = 0;
    double rss_flat_pct = 5.0;
    int restart_every_s = 30;
    int restart_first_s = 15;
    int restart_down_s = 3;
    int flap_period_s = 10;
    int flap_stopped_s = 2;
    int flap_first_s = 2;
    std::string summary_path;
};

double env_number(const char* name, double fallback) {
    const char* v = std::getenv(name);
    return v && *v ? std::atof(v) : fallback;
}

Settings settings_from_env() {
    Settings s;
    s.seconds = static_cast<int>(env_number("EM_SOAK_SECONDS", s.seconds));
    s.rate = static_cast<int>(env_number("EM_SOAK_RATE", s.rate));
    s.warmup_s = std::clamp(s.seconds / 6, 2, 10);
    s.p99_factor = env_number("EM_SOAK_P99_FACTOR", s.p99_factor);
    s.p99_slack_ms = env_number("EM_SOAK_P99_SLACK_MS", s.p99_slack_ms);
    s.rss_flat_pct = env_number("EM_SOAK_RSS_FLAT_PCT", s.rss_flat_pct);
    if (const char* flap = std::getenv("EM_SOAK_FLAP"); flap && *flap)
        std::sscanf(flap, "%d/%d", &s.flap_period_s, &s.flap_stopped_s);
    if (const char* p = std::getenv("EM_SOAK_SUMMARY")) s.summary_path = p;
    return s;
}

/// VmRSS of a process in KiB (0 if unreadable).
uint64_t rss_kib(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("VmRSS:", 0) == 0) return std::strtoull(line.c_str() + 6, nullptr, 10);
    return 0;
}

/// The 1-minute load average (other work on the machine shows here; it is printed, not judged).
std::string load_average() {
    std::ifstream in("/proc/loadavg");
    std::string one;
    in >> one;
    return one.empty() ? "?" : one;
}

/// One enginemux-load run's JSON report, read through JSON pointers.
struct LoadReport {
    std::string json;
    double d(const std::string& pointer) const {
        std::string v = json_at(json, pointer);
        return v.empty() || v[0] == '<' ? 0 : std::atof(v.c_str());
    }
    uint64_t u(const std::string& pointer) const { return static_cast<uint64_t>(d(pointer)); }
    uint64_t status(const std::string& method, const char* status) const {
        return u("/by_method/" + method + "/statuses/" + status);
    }
};

/// What a run measured and what broke the contract.
struct RunFigures {
    const char* name = "";
    LoadReport report;
    std::vector<uint64_t> rss_kib;        ///< one sample per second of the run
    std::string load_before, load_after;  ///< the machine's 1-min load average
    uint64_t violations = 0;
    std::vector<std::string> why;  ///< one line per kind of violation
    double p99_ms() const { return report.d("/latency_us/p99") / 1e3; }
};

const std::vector<std::string> eth_methods = {"eth_blockNumber", "eth_getBlockByNumber",
                                              "eth_chainId", "eth_syncing"};
const std::vector<std::string> engine_methods = {"engine_newPayloadV4", "engine_newPayloadV3",
                                                 "engine_forkchoiceUpdatedV3"};

void count_violations(RunFigures& run) {
    const LoadReport& r = run.report;
    auto add = [&](uint64_t n, const std::string& what) {
        if (n == 0) return;
        run.violations += n;
        run.why.push_back(std::to_string(n) + " " + what);
    };
    for (const char* kind : {"timeout", "connection", "malformed", "http", "jsonrpc"})
        add(r.u(std::string("/errors/") + kind), std::string("requests: ") + kind + " error");
    // The scripted INVALID minority (el2) forbids VALID, and ACCEPTED counts as SYNCING for
    // VALID purposes but an ACCEPTED quorum cannot form either.
    add(r.status("engine_newPayloadV3", "VALID"), "newPayloadV3 VALID despite an INVALID voter");
    add(r.status("engine_newPayloadV3", "ACCEPTED"), "newPayloadV3 ACCEPTED");
    for (const char* m : {"engine_newPayloadV4", "engine_forkchoiceUpdatedV3"}) {
        add(r.status(m, "INVALID"), std::string(m) + " INVALID although no voter says so");
        add(r.status(m, "INVALID_BLOCK_HASH"), std::string(m) + " INVALID_BLOCK_HASH");
        add(r.status(m, "ACCEPTED"), std::string(m) + " ACCEPTED");
    }
    for (const std::string& m : engine_methods) {
        add(r.status(m, "other"), m + " answered an unknown status");
        uint64_t with_status = 0;
        for (const char* st :
             {"VALID", "INVALID", "SYNCING", "ACCEPTED", "INVALID_BLOCK_HASH", "other"})
            with_status += r.status(m, st);
        uint64_t ok = r.u("/by_method/" + m + "/ok");
        add(ok > with_status ? ok - with_status : 0, m + " answered without a payload status");
    }
}

/// Runs enginemux-load for one run while sampling the daemon's RSS once a second.
RunFigures run_load(const char* name, const Settings& s, Daemon& daemon, const std::string& mix) {
    RunFigures run;
    run.name = name;
    std::vector<std::string> args = {binary("EM_LOAD"),
                                     "--target",
                                     "http://127.0.0.1:" + std::to_string(daemon.port),
                                     "--jwt-secret",
                                     daemon.secret,
                                     "--mix",
                                     mix,
                                     "--rate",
                                     std::to_string(s.rate),
                                     "--duration",
                                     std::to_string(s.seconds) + "s",
                                     "--warmup",
                                     std::to_string(s.warmup_s) + "s",
                                     "--connections",
                                     "1000",
                                     "--timeout",
                                     "10000",
                                     "--no-pin",
                                     "--json",
                                     "--quiet"};
    run.load_before = load_average();
    Process load(args, std::string("load-") + name);
    auto next = std::chrono::steady_clock::now();
    while (load.running()) {
        run.rss_kib.push_back(rss_kib(daemon.process->pid()));
        next += std::chrono::seconds(1);
        std::this_thread::sleep_until(next);
    }
    run.load_after = load_average();
    int code = load.wait_exit(1000);
    EXPECT_EQ(code, 0) << "enginemux-load: " << load.stderr_text();
    run.report.json = load.stdout_text();
    count_violations(run);
    return run;
}

/// The faults of the faulted run, on a thread of their own: el3 restarted, el4 flapping.
class Faults {
  public:
    Faults(const Settings& s, MockEl& restarted, MockEl& flapping)
        : s_(s), restarted_(restarted), flapping_(flapping) {
        thread_ = std::thread([this] { run(); });
    }
    ~Faults() { stop(); }
    void stop() {
        stop_ = true;
        if (thread_.joinable()) thread_.join();
        flapping_.process->signal(SIGCONT);
    }
    int restarts() const { return restarts_; }
    int flaps() const { return flaps_; }
    std::string log() {
        std::lock_guard lock(mutex_);
        return log_.str();
    }

  private:
    void note(double t, const std::string& what) {
        std::lock_guard lock(mutex_);
        log_ << "  t=" << static_cast<int>(t) << "s " << what << "\n";
    }
    void run() {
        auto start = std::chrono::steady_clock::now();
        double next_restart = s_.restart_first_s, next_flap = s_.flap_first_s, thaw_at = -1;
        double restart_up_at = -1;
        while (!stop_) {
            double t =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            if (thaw_at >= 0 && t >= thaw_at) {
                flapping_.process->signal(SIGCONT);
                thaw_at = -1;
            }
            if (t >= next_flap && thaw_at < 0) {
                flapping_.process->signal(SIGSTOP);
                flaps_++;
                thaw_at = t + s_.flap_stopped_s;
                next_flap += s_.flap_period_s;
            }
            if (restart_up_at < 0 && t >= next_restart) {
                restarted_.process.reset();  // SIGTERM, waits for the exit
                restart_up_at = t + s_.restart_down_s;
                next_restart += s_.restart_every_s;
                note(t, restarted_.name + " stopped");
            }
            if (restart_up_at >= 0 && t >= restart_up_at) {
                restarted_.restart();  // same port
                restarts_++;
                restart_up_at = -1;
                note(t, restarted_.name + " started again");
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        if (restart_up_at >= 0) restarted_.restart();
    }

    const Settings& s_;
    MockEl& restarted_;
    MockEl& flapping_;
    std::atomic<bool> stop_{false};
    int restarts_ = 0, flaps_ = 0;
    std::mutex mutex_;
    std::ostringstream log_;
    std::thread thread_;
};

std::string mix_file(const TempDir& dir) {
    const std::string v4 = dir.write("np4.json", payload_request(4, 20, 3));
    const std::string v3 = dir.write("np3.json", payload_request(3, 20, 4));
    const std::string hash(64, '1');
    return dir.write("soak.mix",
                     "# 80% eth_*, 20% engine calls\n"
                     "50 eth_blockNumber\n"
                     "15 eth_getBlockByNumber [\"latest\", false]\n"
                     "10 eth_chainId\n"
                     "5 eth_syncing\n"
                     "7 @" +
                         v4 +
                         "\n"
                         "6 @" +
                         v3 +
                         "\n"
                         "7 engine_forkchoiceUpdatedV3 [{\"headBlockHash\":\"0x" +
                         hash + "\",\"safeBlockHash\":\"0x" + hash +
                         "\",\"finalizedBlockHash\":\"0x" + std::string(64, '0') + "\"},null]\n");
}

/// max/min - 1 of the second half of the samples, in percent.
double rss_spread_pct(const std::vector<uint64_t>& samples, uint64_t* lo, uint64_t* hi) {
    std::vector<uint64_t> half(samples.begin() + static_cast<long>(samples.size() / 2),
                               samples.end());
    half.erase(std::remove(half.begin(), half.end(), 0u), half.end());
    if (half.empty()) return 0;
    *lo = *std::min_element(half.begin(), half.end());
    *hi = *std::max_element(half.begin(), half.end());
    return (static_cast<double>(*hi) / static_cast<double>(*lo) - 1.0) * 100.0;
}

std::string per_method_table(const RunFigures& quiet, const RunFigures& faulted) {
    std::ostringstream out;
    char line[256];
    std::snprintf(line, sizeof line, "  %-28s %9s %9s %10s %10s %10s %10s  %s\n", "method",
                  "calls q", "calls f", "p50 q ms", "p99 q ms", "p50 f ms", "p99 f ms",
                  "statuses (faulted)");
    out << line;
    std::vector<std::string> all = eth_methods;
    all.insert(all.end(), engine_methods.begin(), engine_methods.end());
    for (const std::string& m : all) {
        std::string b = "/by_method/" + m;
        std::string statuses;
        for (const char* st : {"VALID", "INVALID", "SYNCING", "ACCEPTED"})
            if (uint64_t n = faulted.report.status(m, st))
                statuses += std::string(st) + " " + std::to_string(n) + " ";
        std::snprintf(line, sizeof line, "  %-28s %9llu %9llu %10.3f %10.3f %10.3f %10.3f  %s\n",
                      m.c_str(), static_cast<unsigned long long>(quiet.report.u(b + "/calls")),
                      static_cast<unsigned long long>(faulted.report.u(b + "/calls")),
                      quiet.report.d(b + "/latency_us/p50") / 1e3,
                      quiet.report.d(b + "/latency_us/p99") / 1e3,
                      faulted.report.d(b + "/latency_us/p50") / 1e3,
                      faulted.report.d(b + "/latency_us/p99") / 1e3, statuses.c_str());
        out << line;
    }
    return out.str();
}

/// Waits until the daemon's /status shows every node synced (start-up, not a bound on speed).
bool all_synced(Daemon& d, int nodes, int timeout_ms) {
    uint64_t deadline = mono_ns() + static_cast<uint64_t>(timeout_ms) * 1'000'000ull;
    while (mono_ns() < deadline) {
        std::string status = d.admin("GET", "/status", "").body;
        int synced = 0;
        for (size_t at = status.find("\"state\":\"synced\""); at != std::string::npos;
             at = status.find("\"state\":\"synced\"", at + 1))
            synced++;
        if (synced == nodes) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
}

int count_lines(const std::string& text, const std::string& needle) {
    int n = 0;
    for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1))
        n++;
    return n;
}

TEST(Soak, MixedLoadWhileOneElRestartsAndAnotherFlaps) {
    const Settings s = settings_from_env();
    TempDir dir;
    MockEl el1(dir, "el1");
    MockEl el2(dir, "el2",
               {"--rule", "engine_newPayloadV3:status=INVALID,validation_error=soak minority",
                "--rule", "engine_forkchoiceUpdated*:status=SYNCING"});
    MockEl el3(dir, "el3");
    MockEl el4(dir, "el4");
    Daemon daemon(dir, {&el1, &el2, &el3, &el4});
    ASSERT_TRUE(all_synced(daemon, 4, 20000)) << daemon.admin("GET", "/status", "").body;
    const std::string mix = mix_file(dir);
    std::printf(
        "soak: %d s quiet, then %d s with el3 restarted every %d s (down %d s) and el4 "
        "stopped %d s every %d s; %d req/s open loop, warm-up %d s per run\n",
        s.seconds, s.seconds, s.restart_every_s, s.restart_down_s, s.flap_stopped_s,
        s.flap_period_s, s.rate, s.warmup_s);
    std::fflush(stdout);

    RunFigures quiet = run_load("quiet", s, daemon, mix);
    std::string log_before = daemon.process->stderr_text();
    RunFigures faulted;
    std::string fault_log;
    int restarts = 0, flaps = 0;
    {
        Faults faults(s, el3, el4);
        faulted = run_load("faulted", s, daemon, mix);
        faults.stop();
        restarts = faults.restarts();
        flaps = faults.flaps();
        fault_log = faults.log();
    }
    ASSERT_TRUE(daemon.process->running()) << "enginemux died\n" << daemon.process->stderr_text();
    std::string status = daemon.admin("GET", "/status", "").body;
    std::string log = daemon.process->stderr_text();
    std::string log_faulted = log.substr(std::min(log.size(), log_before.size()));

    // RSS: warm-up is the quiet run and the faulted run's first half.
    uint64_t rss_lo = 0, rss_hi = 0;
    double spread = rss_spread_pct(faulted.rss_kib, &rss_lo, &rss_hi);
    uint64_t rss_start = faulted.rss_kib.empty() ? 0 : faulted.rss_kib.front();
    uint64_t quiet_rss_max =
        quiet.rss_kib.empty() ? 0 : *std::max_element(quiet.rss_kib.begin(), quiet.rss_kib.end());
    double p99_bound_ms = s.p99_factor * quiet.p99_ms() + s.p99_slack_ms;

    std::ostringstream figures;
    figures << "soak figures (" << s.seconds << " s per run, " << s.rate << " req/s):\n";
    for (const RunFigures* r : {&quiet, &faulted}) {
        char line[400];
        std::snprintf(line, sizeof line,
                      "  %-7s requests %llu, ok %llu, violations %llu; latency ms: p50 %.3f, "
                      "p90 %.3f, p99 %.3f, p99.9 %.3f, max %.3f; late %llu\n",
                      r->name, static_cast<unsigned long long>(r->report.u("/requests")),
                      static_cast<unsigned long long>(r->report.u("/ok")),
                      static_cast<unsigned long long>(r->violations),
                      r->report.d("/latency_us/p50") / 1e3, r->report.d("/latency_us/p90") / 1e3,
                      r->p99_ms(), r->report.d("/latency_us/p99_9") / 1e3,
                      r->report.d("/latency_us/max") / 1e3,
                      static_cast<unsigned long long>(r->report.u("/late")));
        figures << line;
        figures << "          machine load average (1 min) " << r->load_before << " before, "
                << r->load_after << " after\n";
        for (const std::string& w : r->why) figures << "    violation: " << w << "\n";
    }
    char line[400];
    std::snprintf(
        line, sizeof line,
        "  p99 faulted/quiet: %.3f / %.3f ms = %.2fx (bound %.3f ms: %.1fx quiet + %.0f ms)\n",
        faulted.p99_ms(), quiet.p99_ms(),
        quiet.p99_ms() > 0 ? faulted.p99_ms() / quiet.p99_ms() : 0.0, p99_bound_ms, s.p99_factor,
        s.p99_slack_ms);
    figures << line;
    std::snprintf(line, sizeof line,
                  "  RSS KiB: quiet max %llu; faulted start %llu, second half min %llu max %llu: "
                  "spread %.2f%% (bound %.1f%%); %zu + %zu samples\n",
                  static_cast<unsigned long long>(quiet_rss_max),
                  static_cast<unsigned long long>(rss_start),
                  static_cast<unsigned long long>(rss_lo), static_cast<unsigned long long>(rss_hi),
                  spread, s.rss_flat_pct, quiet.rss_kib.size(), faulted.rss_kib.size());
    figures << line;
    figures << "  faults: " << restarts << " restarts of el3, " << flaps << " SIGSTOPs of el4; "
            << "daemon log during the faulted run: " << count_lines(log_faulted, "primary is now")
            << " primary changes, " << count_lines(log_faulted, " is dead") << " 'is dead' lines, "
            << count_lines(log_faulted, "disagreement") << " disagreement lines\n";
    // eth_* calls never wait for a vote: their p99 shows what the faults cost a forwarded call.
    double eth_ratio_max = 0;
    for (const std::string& m : eth_methods) {
        std::string p = "/by_method/" + m + "/latency_us/p99";
        if (quiet.report.d(p) > 0)
            eth_ratio_max = std::max(eth_ratio_max, faulted.report.d(p) / quiet.report.d(p));
    }
    std::snprintf(line, sizeof line, "  eth_* p99 faulted/quiet, worst method: %.2fx\n",
                  eth_ratio_max);
    figures << line;
    const std::string el2_failures = json_at(status, "/nodes/1/failures");
    figures << "  el2 (the scripted INVALID/SYNCING minority): " << el2_failures
            << " failures seen by the daemon (0: every vote heard its INVALID)\n";
    figures << per_method_table(quiet, faulted);
    std::printf("%s", figures.str().c_str());
    std::printf("el3 restarts:\n%s", fault_log.c_str());
    std::fflush(stdout);

    if (!s.summary_path.empty()) {
        std::ofstream out(s.summary_path);
        out << "{\"seconds\":" << s.seconds << ",\"rate\":" << s.rate
            << ",\"quiet\":" << quiet.report.json << ",\"faulted\":" << faulted.report.json
            << ",\"rss_kib_quiet\":[";
        for (size_t i = 0; i < quiet.rss_kib.size(); i++) out << (i ? "," : "") << quiet.rss_kib[i];
        out << "],\"rss_kib_faulted\":[";
        for (size_t i = 0; i < faulted.rss_kib.size(); i++)
            out << (i ? "," : "") << faulted.rss_kib[i];
        out << "],\"status\":" << (status.empty() ? "null" : status) << "}\n";
    }

    EXPECT_EQ(quiet.violations, 0u) << figures.str();
    EXPECT_EQ(faulted.violations, 0u) << figures.str();
    EXPECT_LE(spread, s.rss_flat_pct) << figures.str();
    EXPECT_LE(faulted.p99_ms(), p99_bound_ms) << figures.str();
    EXPECT_GT(quiet.report.u("/requests"), 0u);
    EXPECT_GT(faulted.report.u("/requests"), 0u);
    EXPECT_GE(restarts, 1);
    EXPECT_GE(flaps, 1);
    EXPECT_EQ(json_at(status, "/nodes/1/name"), "\"el2\"") << status;

    daemon.process->signal(SIGTERM);
    EXPECT_EQ(daemon.process->wait_exit(20000), 0) << daemon.process->stderr_text().substr(0, 4000);
}

}  // namespace
}  // namespace em::test
