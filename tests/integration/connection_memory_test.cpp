// What an idle keep-alive client connection costs the daemon (issue 19, defect 11). N client
// connections (4,096, then 10,000) each make one eth_chainId call through enginemux and then
// stay open and idle; the daemon's VmRSS before and after gives KiB per connection, printed and
// recorded as test properties (docs/PERFORMANCE.md has the figures). The contract checked: the
// whole daemon stays under 64 MiB of RSS with 10,000 idle connections (the rpc role faces many
// more clients than a CL), and an idle connection costs at most 2 KiB.
//
// Memory is not time: these are the daemon's own page counts after the calls were answered, read
// once they have settled. The RSS bounds are skipped in sanitizer builds (shadow memory).
//
// main() raises RLIMIT_NOFILE to its hard limit (the daemon inherits it) and exits 77 (SKIP),
// naming the limit, when the hard limit is too low for 10,000 connections on both sides.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "../common/sanitized.h"
#include "harness.h"
#include "uring_skip.h"

namespace em::test {
namespace {

constexpr long connections_most = 10'000;
/// File descriptors each side needs beyond the connections (the daemon: listeners, rings,
/// upstream connections, log files; the test: the harness's processes and files).
constexpr long fds_spare = 512;
constexpr int wave_connections = 64;  ///< calls in flight at once while the connections open

const std::string call_body = R"({"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]})";

std::string call_request(const std::string& token) {
    return "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + token +
           "\r\nContent-Type: application/json\r\nContent-Length: " +
           std::to_string(call_body.size()) + "\r\n\r\n" + call_body;
}

/// Opens `count` connections to the daemon and makes one call on each (in waves, so the calls
/// in flight stay far below in_flight_max); every answer must be 200.
void open_idle_connections(Daemon& d, long count, std::vector<std::unique_ptr<ClientSocket>>& out) {
    const std::string request = call_request(jwt_for(d.secret));
    for (long first = 0; first < count; first += wave_connections) {
        long last = std::min(count, first + wave_connections);
        for (long i = first; i < last; i++) {
            out.push_back(std::make_unique<ClientSocket>(d.port));
            ASSERT_TRUE(out.back()->ok()) << "connection " << i << ": " << std::strerror(errno);
            ASSERT_TRUE(out.back()->send_all(request)) << "connection " << i;
        }
        for (long i = first; i < last; i++) {
            std::string response = out[static_cast<size_t>(i)]->read_response(15000);
            ASSERT_EQ(status_of_response(response), 200) << "connection " << i << ": " << response;
        }
    }
}

struct Measured {
    long base_kib = 0;
    long idle_kib = 0;
    double per_connection_kib = 0;
};

/// A daemon with room for `count` connections; its RSS before and with `count` idle ones.
Measured measure_idle(long count) {
    TempDir dir;
    MockEl el(dir, "el1");
    std::string config =
        dir.write("many.toml", "[limits]\nconnections_max = " + std::to_string(count + 64) + "\n");
    Daemon d(dir, {&el}, {"--config", config});
    // Warm-up: every provided receive buffer, the call pool and the upstream connections are
    // touched before the baseline, so the difference is the connections' own cost.
    {
        std::vector<std::unique_ptr<ClientSocket>> warm;
        open_idle_connections(d, 2 * wave_connections, warm);
        const std::string request = call_request(jwt_for(d.secret));
        for (int round = 0; round < 32; round++) {
            for (auto& c : warm) EXPECT_TRUE(c->send_all(request));
            for (auto& c : warm) EXPECT_EQ(status_of_response(c->read_response(15000)), 200);
        }
    }
    Measured m;
    m.base_kib = settled_rss_kib(d.process->pid());
    std::vector<std::unique_ptr<ClientSocket>> conns;
    conns.reserve(static_cast<size_t>(count));
    open_idle_connections(d, count, conns);
    m.idle_kib = settled_rss_kib(d.process->pid());
    m.per_connection_kib =
        static_cast<double>(m.idle_kib - m.base_kib) / static_cast<double>(count);
    std::printf(
        "%ld idle keep-alive connections: daemon VmRSS %ld KiB -> %ld KiB (+%ld KiB), "
        "%.2f KiB per connection\n",
        count, m.base_kib, m.idle_kib, m.idle_kib - m.base_kib, m.per_connection_kib);
    ::testing::Test::RecordProperty("connections", std::to_string(count));
    ::testing::Test::RecordProperty("rss_base_kib", std::to_string(m.base_kib));
    ::testing::Test::RecordProperty("rss_idle_kib", std::to_string(m.idle_kib));
    ::testing::Test::RecordProperty("kib_per_connection", std::to_string(m.per_connection_kib));
    // The connections still work after their idle time.
    const std::string request = call_request(jwt_for(d.secret));
    for (size_t i = 0; i < conns.size(); i += conns.size() / 8) {
        EXPECT_TRUE(conns[i]->send_all(request));
        EXPECT_EQ(status_of_response(conns[i]->read_response(15000)), 200) << "connection " << i;
    }
    return m;
}

TEST(IdleConnectionMemory, FourThousandNinetySix) {
    Measured m = measure_idle(4096);
#ifndef EM_TEST_SANITIZED
    EXPECT_LE(m.per_connection_kib, 2.0);
#endif
    (void)m;
}

TEST(IdleConnectionMemory, TenThousandUnder64MiB) {
    Measured m = measure_idle(connections_most);
#ifndef EM_TEST_SANITIZED
    EXPECT_LE(m.per_connection_kib, 2.0);
    EXPECT_LT(m.idle_kib, 64 * 1024) << "the whole daemon with 10,000 idle connections";
#endif
    (void)m;
}

}  // namespace
}  // namespace em::test

int main(int argc, char** argv) {
    rlimit limit{};
    ::getrlimit(RLIMIT_NOFILE, &limit);
    const rlim_t needed = static_cast<rlim_t>(em::test::connections_most + em::test::fds_spare);
    if (limit.rlim_max != RLIM_INFINITY && limit.rlim_max < needed) {
        std::fprintf(stderr,
                     "SKIP: RLIMIT_NOFILE hard limit %llu is below the %llu file descriptors "
                     "10,000 connections need (raise it: ulimit -Hn, or LimitNOFILE)\n",
                     static_cast<unsigned long long>(limit.rlim_max),
                     static_cast<unsigned long long>(needed));
        return 77;
    }
    if (limit.rlim_cur < needed) {
        limit.rlim_cur = limit.rlim_max == RLIM_INFINITY ? needed : limit.rlim_max;
        if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) {
            std::fprintf(stderr, "SKIP: cannot raise RLIMIT_NOFILE to %llu: %s\n",
                         static_cast<unsigned long long>(needed), std::strerror(errno));
            return 77;
        }
    }
    return em::test::run_io_uring_tests(argc, argv);
}
