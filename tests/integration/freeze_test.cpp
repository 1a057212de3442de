// A frozen primary (issue 19, defect 6): enginemux in front of three enginemux-mock-el nodes
// under 200 requests/s of eth_blockNumber; the primary is SIGSTOPped for 10 s. Calls on their
// way to it used to wait for an undocumented 60-s deadline (or until it woke) and new calls
// went to it until the next health probe: p90 7 s, p99 9.7 s. Now each attempt has
// eth_timeout_ms (1 s), a read is then asked of the next node, and the timeout marks the
// primary dead at once, so later calls skip it.
//
// Checks (no timed assertion: the machines are shared): every request is answered with a
// result; the data path, not a probe, marked the primary dead and the log says so; the primary
// moved; and only the reads sent to the frozen node before its first timeout were retried
// elsewhere (at most what 40 clients have in flight plus 200/s for eth_timeout_ms = 1 s; 40 on
// the development VM). When only a probe takes a frozen node out of the rotation (a 2-s probe
// deadline every 5 s), reads go to it first for 2 to 7 s: 400 to 1,400 retries. The latency
// figures are printed for the record (the issue's target is p99 < 1.5 s).
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"

namespace em::test {
namespace {

using Clock = std::chrono::steady_clock;

TEST(FrozenPrimary, ReadsFailOverWithinTheEthDeadline) {
    TempDir dir;
    MockEl el1(dir, "el1"), el2(dir, "el2"), el3(dir, "el3");
    // No periodic probe round during the test: one could move the primary to a node that
    // answered it faster (30% and 2 ms), and the test would then freeze a node no read goes to.
    // Probes still run at start and when the data path reports a failure.
    std::string config = dir.write("health.toml", "[health]\ninterval_ms = 600000\n");
    Daemon daemon(dir, {&el1, &el2, &el3}, {"--config", config});
    // The primary once every node has been probed (before that, the first synced node holds it
    // and the first round may move it).
    std::string primary;
    for (int i = 0; i < 200 && primary.empty(); i++) {
        std::string status = daemon.admin("GET", "/status").body;
        bool all_synced = true;
        for (int n = 0; n < 3; n++)
            all_synced = all_synced &&
                         json_at(status, "/nodes/" + std::to_string(n) + "/state") == "\"synced\"";
        std::string p = json_at(status, "/primary");
        if (all_synced && p.size() > 2 && p[0] == '"') primary = p.substr(1, p.size() - 2);
        if (primary.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_FALSE(primary.empty()) << "no primary with every node synced";
    MockEl* frozen = primary == "el1" ? &el1 : primary == "el2" ? &el2 : &el3;

    // 200 requests/s for 12 s, each measured from its intended time (no coordinated omission).
    constexpr int threads = 40, per_thread_rps = 5, seconds = 12;
    const std::string body = R"({"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]})";
    std::mutex mutex;
    std::vector<double> latencies_ms;
    std::atomic<int> failures{0};
    std::string first_failure;
    Clock::time_point start = Clock::now() + std::chrono::milliseconds(200);
    std::vector<std::thread> workers;
    for (int w = 0; w < threads; w++) {
        workers.emplace_back([&, w] {
            for (int k = 0; k < per_thread_rps * seconds; k++) {
                Clock::time_point due =
                    start + std::chrono::microseconds((k * 1'000'000 + w * 1'000'000 / threads) /
                                                      per_thread_rps);
                std::this_thread::sleep_until(due);
                HttpReply r = daemon.call(body, 20'000);
                double ms = std::chrono::duration<double, std::milli>(Clock::now() - due).count();
                std::lock_guard<std::mutex> lock(mutex);
                latencies_ms.push_back(ms);
                if (r.status != 200 || r.body.find("\"result\"") == std::string::npos) {
                    if (failures++ == 0) first_failure = std::to_string(r.status) + " " + r.body;
                }
            }
        });
    }
    std::this_thread::sleep_until(start + std::chrono::seconds(1));
    frozen->process->signal(SIGSTOP);
    std::this_thread::sleep_until(start + std::chrono::seconds(11));
    frozen->process->signal(SIGCONT);
    for (auto& t : workers) t.join();

    std::sort(latencies_ms.begin(), latencies_ms.end());
    auto at = [&](double q) {
        return latencies_ms[static_cast<size_t>(q * (latencies_ms.size() - 1))];
    };
    std::printf(
        "frozen primary %s for 10 s, %zu reads at 200/s: p50 %.1f ms, p90 %.1f ms, "
        "p99 %.1f ms, max %.1f ms (target p99 < 1500 ms)\n",
        primary.c_str(), latencies_ms.size(), at(0.5), at(0.9), at(0.99), latencies_ms.back());
    EXPECT_EQ(failures.load(), 0) << first_failure;
    // The operator reads why: the data path's timeout marked the node dead, logged on the change
    // (a read times out within 1 s of the freeze, long before a probe's 2-s deadline could).
    std::string log = daemon.process->stderr_text();
    EXPECT_NE(log.find("node " + primary + " is dead: "), std::string::npos) << log;
    EXPECT_NE(log.find("(seen on the data path; probing it now)"), std::string::npos) << log;
    // The primary moved off it: one failover (at least; it may move back once it is probed
    // healthy again), and reads that timed out were retried on another node.
    std::string metrics = daemon.admin("GET", "/metrics").body;
    EXPECT_GE(metric_value(metrics, "enginemux_failovers_total"), 1) << metrics;
    double retries = metric_value(metrics, "enginemux_retries_total");
    EXPECT_GE(retries, 1) << metrics;
    std::printf("reads retried on another node: %.0f of %zu\n", retries, latencies_ms.size());
    EXPECT_LT(retries, 300) << "reads kept going to the frozen node after a call to it timed out";
}

}  // namespace
}  // namespace em::test
