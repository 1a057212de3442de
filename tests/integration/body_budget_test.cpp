// Buffered request bodies are bounded process-wide and given back (issue 19, defect 4). Twelve
// connections each start a 30 MiB body (Expect: 100-continue, then all of it but the last byte)
// against the default limits (body_bytes_max 32 MiB, buffered_body_bytes_max 256 MiB): the
// bodies that fit are taken, the ones that would take the total over the budget are answered 503
// with Retry-After at the end of their head, and the daemon's VmRSS stays within the budget.
// When the bodies complete, the connections' grown buffers are given back: the RSS returns
// close to where it started (polled), and a large body fits again.
//
// Before the fix every body was taken (12 x 30 MiB) and the buffers never shrank. The RSS
// bounds are skipped in sanitizer builds (shadow memory).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "../common/sanitized.h"
#include "harness.h"

namespace em::test {
namespace {

constexpr long mib_kib = 1024;
constexpr size_t body_bytes = 30u << 20;
constexpr long budget_kib = 256 * mib_kib;  // the default buffered_body_bytes_max
constexpr int clients = 12;                 // 12 x 30 MiB = 360 MiB: over the budget

std::string head_for(const std::string& token, size_t content_length) {
    return "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + token +
           "\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: " +
           std::to_string(content_length) + "\r\n\r\n";
}

TEST(BufferedBodies, TheBudgetBoundsTheDaemonAndGrownBuffersAreGivenBack) {
    TempDir dir;
    MockEl el(dir, "el1");
    Daemon d(dir, {&el});
    const std::string token = jwt_for(d.secret);
    const pid_t pid = d.process->pid();
    ASSERT_EQ(d.call(R"({"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]})").status, 200);
    const long base_kib = settled_rss_kib(pid, 256);

    const std::string body_but_last(body_bytes - 1, ' ');
    std::vector<std::unique_ptr<ClientSocket>> held;
    int refused = 0;
    for (int i = 0; i < clients; i++) {
        auto c = std::make_unique<ClientSocket>(d.port);
        ASSERT_TRUE(c->ok());
        ASSERT_TRUE(c->send_all(head_for(token, body_bytes)));
        std::string answer = c->read_response(5000);
        if (status_of_response(answer) == 100) {
            ASSERT_TRUE(c->send_all(body_but_last)) << "client " << i;
            held.push_back(std::move(c));
            continue;
        }
        EXPECT_EQ(status_of_response(answer), 503) << "client " << i << ": " << answer;
        EXPECT_FALSE(header_of_response(answer, "Retry-After").empty()) << answer;
        EXPECT_NE(answer.find("buffered_body_bytes_max"), std::string::npos) << answer;
        EXPECT_TRUE(c->peer_closed(5000)) << "client " << i;
        refused++;
    }
    const long holding_kib = settled_rss_kib(pid, 256);
    std::printf("%zu bodies of 30 MiB held, %d refused: daemon VmRSS %ld KiB -> %ld KiB\n",
                held.size(), refused, base_kib, holding_kib);
    EXPECT_EQ(held.size(), size_t{budget_kib / (body_bytes / 1024)});  // 8 fit in 256 MiB
    EXPECT_EQ(refused, clients - static_cast<int>(held.size()));
#ifndef EM_TEST_SANITIZED
    EXPECT_LE(holding_kib - base_kib, budget_kib + 32 * mib_kib);
#endif

    // The bodies complete (a body of spaces is not JSON: answered with -32700 and kept alive).
    for (auto& c : held) {
        ASSERT_TRUE(c->send_all(" "));
        std::string answer = c->read_response(15000);
        EXPECT_EQ(status_of_response(answer), 200) << answer.substr(0, 200);
    }
    // The allocator hands freed blocks back to the kernel after a short delay: poll.
    long after_kib = vm_rss_kib(pid);
    for (int i = 0; i < 100 && after_kib > base_kib + 16 * mib_kib; i++) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        after_kib = vm_rss_kib(pid);
    }
    std::printf("after the bodies completed: daemon VmRSS %ld KiB (baseline %ld KiB)\n", after_kib,
                base_kib);
#ifndef EM_TEST_SANITIZED
    EXPECT_LE(after_kib, base_kib + 16 * mib_kib) << "grown buffers were not given back";
#endif

    // The budget was released: a large body is taken again, on a connection that held one.
    ASSERT_FALSE(held.empty());
    ClientSocket& again = *held.front();
    ASSERT_TRUE(again.send_all(head_for(token, body_bytes)));
    EXPECT_EQ(status_of_response(again.read_response(5000)), 100);
    ASSERT_TRUE(again.send_all(body_but_last + " "));
    EXPECT_EQ(status_of_response(again.read_response(15000)), 200);

    std::string m = d.admin("GET", "/metrics").body;
    EXPECT_EQ(metric_value(m, "enginemux_http_buffered_body_refused_total"), refused) << m;
    EXPECT_EQ(metric_value(m, "enginemux_http_buffered_body_bytes"), 0) << m;
}

}  // namespace
}  // namespace em::test
