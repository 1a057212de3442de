// enginemux-load: the bundled load generator (see options.h for flags, mix.h for the mix file,
// worker.h for how requests are scheduled and measured, report.h for the output).
//
// The main thread parses flags, builds the mix, starts one pinned io::LoopThread per --threads,
// prints a progress line once per second on a terminal, and merges and prints the report.
// SIGINT/SIGTERM end the run early (the report covers what was measured); a second one exits.
#include <signal.h>
#include <unistd.h>
#include "base/version.h"

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "base/log.h"
#include "http/jwt.h"
#include "io/socket.h"
#include "io/thread.h"
#include "mix.h"
#include "net/client.h"
#include "options.h"
#include "report.h"
#include "stats.h"
#include "worker.h"

namespace em::load {
namespace {

constexpr int exit_ok = 0;
constexpr int exit_cannot_run = 1;
constexpr int exit_usage = 2;
/// Time between the workers being ready and the first request (so all threads start together).
constexpr uint64_t start_delay_ns = 20'000'000;

std::atomic<int> g_signals{0};

void on_signal(int) {
    if (g_signals.fetch_add(1) >= 1) _exit(130);  // a second Ctrl-C: leave at once
}

void install_signal_handlers() {
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    signal(SIGPIPE, SIG_IGN);
}

int usage_error(const Error& e) {
    std::fprintf(stderr, "enginemux-load: %s\n(see enginemux-load --help)\n", e.c_str());
    return exit_usage;
}

/// Everything main builds before the run; owned here, read by the workers.
struct Setup {
    Options options;
    Mix mix;
    http::Endpoint endpoint;
    http::JwtSecret secret;
    bool has_secret = false;
};

/// Flags, target, mix and secret. An exit code when main should stop here (help, errors).
std::optional<int> prepare(int argc, char** argv, Setup& s) {
    auto options = parse_options(argc, argv);
    if (!options) return usage_error(options.error());
    s.options = std::move(*options);
    if (s.options.help) {
        std::fputs(usage_text(), stdout);
        return exit_ok;
    }
    if (s.options.version) {
        std::printf("enginemux-load %s\n", em::version());
        return exit_ok;
    }
    auto url = parse_target_url(s.options.target);
    if (!url) return usage_error(url.error());
    auto mix = s.options.mix_path.empty() ? Mix::from_method(s.options.method, s.options.params)
                                          : Mix::from_file(s.options.mix_path);
    if (!mix) return usage_error(mix.error().prefix("--mix"));
    s.mix = std::move(*mix);
    if (!s.options.jwt_secret_path.empty()) {
        auto secret = http::load_jwt_secret_file(s.options.jwt_secret_path.c_str());
        if (!secret) return usage_error(secret.error().prefix("--jwt-secret"));
        s.secret = *secret;
        s.has_secret = true;
    }
    auto address = io::resolve(url->host, url->port);
    if (!address) {
        std::fprintf(stderr, "enginemux-load: --target: %s\n", address.error().c_str());
        return exit_cannot_run;
    }
    s.endpoint.address = *address;
    s.endpoint.host_header = url->host_header;
    s.endpoint.target = url->path;
    return std::nullopt;
}

void print_progress(const std::vector<std::unique_ptr<Worker>>& workers, uint64_t start_ns,
                    uint64_t& last_done, uint64_t& last_ns) {
    uint64_t done = 0, errors = 0, p99 = 0;
    bool measuring = true;
    for (const auto& w : workers) {
        Progress& p = w->progress();
        done += p.done.load(std::memory_order_relaxed);
        errors += p.errors.load(std::memory_order_relaxed);
        uint64_t q = p.p99_ns.load(std::memory_order_relaxed);
        if (q > p99) p99 = q;
        measuring &= p.measuring.load(std::memory_order_relaxed);
    }
    uint64_t now = mono_ns();
    double rate = now > last_ns ? static_cast<double>(done - last_done) * 1e9 /
                                      static_cast<double>(now - last_ns)
                                : 0;
    std::fprintf(stderr, "\r\033[K%6.1fs %s %10.0f req/s  p99 %9.3f ms  errors %llu",
                 static_cast<double>(now - start_ns) / 1e9, measuring ? "run   " : "warmup", rate,
                 static_cast<double>(p99) / 1e6, static_cast<unsigned long long>(errors));
    last_done = done;
    last_ns = now;
}

/// Waits for the workers, printing progress and passing on a Ctrl-C.
void wait_for_workers(const std::vector<std::unique_ptr<Worker>>& workers, bool show_progress) {
    uint64_t start_ns = mono_ns(), last_ns = start_ns, next_print = start_ns + 1'000'000'000;
    uint64_t last_done = 0;
    bool stop_sent = false;
    for (;;) {
        bool all_done = true;
        for (const auto& w : workers)
            all_done &= w->progress().finished.load(std::memory_order_acquire);
        if (all_done) break;
        if (g_signals.load() > 0 && !stop_sent) {
            for (const auto& w : workers) {
                while (!w->stop_early()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
            }
            stop_sent = true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        if (show_progress && mono_ns() >= next_print) {
            print_progress(workers, start_ns, last_done, last_ns);
            next_print += 1'000'000'000;
        }
    }
    if (show_progress) std::fputs("\r\033[K", stderr);
}

int write_csv(const std::string& path, const std::string& csv) {
    FILE* f = std::fopen(path.c_str(), "w");
    bool ok = f && std::fwrite(csv.data(), 1, csv.size(), f) == csv.size();
    if (f && std::fclose(f) != 0) ok = false;
    if (ok) return exit_ok;
    std::fprintf(stderr, "enginemux-load: --latency-csv %s: %s\n", path.c_str(),
                 std::strerror(errno));
    return exit_cannot_run;
}

int run(Setup& s) {
    auto probe = io::Loop::probe();
    if (!probe) {
        std::fprintf(stderr, "enginemux-load: %s\n", probe.error().c_str());
        return exit_cannot_run;
    }
    const Options& o = s.options;
    RunPlan plan{&o, &s.mix, &s.endpoint, s.has_secret ? &s.secret : nullptr};
    std::vector<std::unique_ptr<Worker>> workers;
    for (uint32_t i = 0; i < o.threads; i++) {
        uint32_t share = o.connections / o.threads + (i < o.connections % o.threads ? 1 : 0);
        workers.push_back(std::make_unique<Worker>(plan, i, share, o.rate_rps));
    }
    std::vector<std::unique_ptr<io::LoopThread>> threads;
    std::vector<std::string> names(o.threads);
    for (uint32_t i = 0; i < o.threads; i++) {
        names[i] = "load" + std::to_string(i);
        io::LoopConfig config;
        config.name = names[i].c_str();
        int cpu = o.pin ? io::nth_usable_cpu(static_cast<int>(i)) : -1;
        auto t =
            io::LoopThread::start(config, cpu, Worker::setup, Worker::teardown, workers[i].get());
        if (!t) {
            std::fprintf(stderr, "enginemux-load: thread %u: %s\n", i, t.error().c_str());
            for (size_t j = 0; j < threads.size(); j++) workers[j]->stop_early();
            return exit_cannot_run;
        }
        threads.push_back(std::move(*t));
    }
    uint64_t t0 = mono_ns() + start_delay_ns;
    for (auto& w : workers) EM_ASSERT(w->go(t0));
    wait_for_workers(workers, !o.quiet && isatty(STDERR_FILENO));
    for (auto& t : threads) t->join();

    RunStats total(s.mix.methods().size());
    ReportInput in{&o, &s.mix, &total, std::vector<uint64_t>(s.mix.kinds().size()), 0};
    uint64_t window_ns = 0;
    for (auto& w : workers) {
        total.merge(w->stats());
        for (size_t k = 0; k < in.kind_calls.size(); k++) in.kind_calls[k] += w->kind_calls()[k];
        if (w->window_ns() > window_ns) window_ns = w->window_ns();
    }
    in.window_s = static_cast<double>(window_ns) / 1e9;
    std::string report = o.json ? json_report(in) : text_report(in);
    std::fwrite(report.data(), 1, report.size(), stdout);
    std::fflush(stdout);
    if (!o.latency_csv_path.empty())
        return write_csv(o.latency_csv_path, latency_csv(total.latency()));
    return exit_ok;
}

}  // namespace
}  // namespace em::load

int main(int argc, char** argv) {
    using namespace em::load;
    install_signal_handlers();
    auto setup = std::make_unique<Setup>();
    if (std::optional<int> code = prepare(argc, argv, *setup)) return *code;
    return run(*setup);
}
