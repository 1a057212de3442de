// Node churn through the admin API under traffic (issue 19, defect 1): enginemux in front of
// four enginemux-mock-el processes; ~20 rounds of POST /nodes + DELETE /nodes/el4 (every fourth
// round a voter is removed and added back at once) while two client threads send
// eth_blockNumber and engine_newPayloadV4; then two ELs are killed at the same moment.
//
// Checks: the daemon answers every request and stays up; once el4 is removed for good it holds
// no connection to el4's port (a removed node's sockets are really closed, not kept alive inside
// io_uring); it exits 0 on SIGTERM.
//
// EM_CHURN_REPEAT=N runs the whole scenario N times (tools/sanitize.sh: 20 times under ASan).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"

namespace em::test {
namespace {

constexpr int rounds = 20;
constexpr int settle_ms_max = 15000;  // a bound on polling, never an assertion about speed

/// ESTABLISHED IPv4 TCP connections whose remote port is `port`, asked of the kernel through
/// NETLINK_SOCK_DIAG (what ss(8) uses; the kernel filters by state, so the machine's thousands
/// of TIME_WAIT sockets cost nothing). This sees sockets that no file descriptor refers to any
/// more, e.g. ones kept alive inside io_uring. -1 if the kernel refuses the query.
int established_to_port(uint16_t port) {
    int fd = ::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (fd < 0) return -1;
    struct {
        nlmsghdr header;
        inet_diag_req_v2 request;
    } query{};
    query.header.nlmsg_len = sizeof query;
    query.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    query.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    query.request.sdiag_family = AF_INET;
    query.request.sdiag_protocol = IPPROTO_TCP;
    query.request.idiag_states = 1u << TCP_ESTABLISHED;
    if (::send(fd, &query, sizeof query, 0) != static_cast<ssize_t>(sizeof query)) {
        ::close(fd);
        return -1;
    }
    int count = 0;
    alignas(nlmsghdr) char buffer[32768];
    for (;;) {
        ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
        if (n <= 0) break;
        int left = static_cast<int>(n);
        for (auto* h = reinterpret_cast<nlmsghdr*>(buffer); NLMSG_OK(h, left);
             h = NLMSG_NEXT(h, left)) {
            if (h->nlmsg_type == NLMSG_DONE) {
                ::close(fd);
                return count;
            }
            if (h->nlmsg_type == NLMSG_ERROR) {
                ::close(fd);
                return -1;
            }
            auto* socket = static_cast<const inet_diag_msg*>(NLMSG_DATA(h));
            if (ntohs(socket->id.idiag_dport) == port) count++;
        }
    }
    ::close(fd);
    return -1;
}

/// Polls pred every 10 ms until it holds or timeout_ms passes; returns pred().
template <typename Pred>
bool eventually(Pred pred, int timeout_ms) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (!pred()) {
        if (std::chrono::steady_clock::now() > deadline) return pred();
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return true;
}

uint64_t new_payload_calls(MockEl& el) {
    std::string n = json_at(http_request(el.port, "GET", "/mock/stats", "").body,
                            "/methods/engine_newPayloadV4");
    return n.empty() || n[0] == '<' ? 0 : std::strtoull(n.c_str(), nullptr, 10);
}

std::string tail(const std::string& text, size_t bytes = 16000) {
    return text.size() > bytes ? text.substr(text.size() - bytes) : text;
}

/// Two client threads: eth_blockNumber and engine_newPayloadV4, back to back, until stopped.
class Traffic {
  public:
    Traffic(Daemon& daemon, std::string payload) : daemon_(daemon), payload_(std::move(payload)) {
        for (int t = 0; t < 2; t++) threads_.emplace_back([this] { run(); });
    }
    ~Traffic() { stop(); }
    void stop() {
        stop_ = true;
        for (auto& t : threads_)
            if (t.joinable()) t.join();
    }
    uint64_t answered() const { return answered_; }
    uint64_t unanswered() const { return unanswered_; }

  private:
    void run() {
        const std::string block_number =
            R"({"jsonrpc":"2.0","id":7,"method":"eth_blockNumber","params":[]})";
        while (!stop_) {
            for (const std::string* body :
                 {&block_number, static_cast<const std::string*>(&payload_)}) {
                HttpReply r = daemon_.call(*body);
                (r.status == 200 ? answered_ : unanswered_)++;
            }
        }
    }
    Daemon& daemon_;
    std::string payload_;
    std::atomic<bool> stop_{false};
    std::atomic<uint64_t> answered_{0}, unanswered_{0};
    std::vector<std::thread> threads_;
};

std::string node_spec(const MockEl& el) {
    return el.url() + "#jwt-secret=" + el.secret + "#name=" + el.name;
}

void churn_then_kill(const std::string& payload, int repetition) {
    SCOPED_TRACE("repetition " + std::to_string(repetition));
    TempDir dir;
    MockEl el1(dir, "el1"), el2(dir, "el2"), el3(dir, "el3");
    // el4 answers newPayload after 20 ms, so its calls are on the wire when it is removed.
    MockEl el4(dir, "el4", {"--rule", "engine_newPayload*:delay=20"});
    // Admin writes need a token; run-time nodes bring their secret from secrets_dir (dir).
    const std::string token = "churn-test-admin-token-0123456789";
    Daemon daemon(
        dir, {&el1, &el2, &el3, &el4},
        {"--admin-token-file", dir.write("admin.token", token), "--admin-secrets-dir", dir.path});
    daemon.admin_token = token;
    auto daemon_log = [&] {
        return tail(daemon.process->stderr_text() + daemon.process->stdout_text());
    };
    Traffic traffic(daemon, payload);

    for (int round = 0; round < rounds; round++) {
        if (round > 0) {
            HttpReply added = daemon.admin("POST", "/nodes", node_spec(el4));
            ASSERT_EQ(added.status, 201) << "round " << round << ": " << added.body << daemon_log();
        }
        // Wait until el4 takes part in a vote, so calls are in flight on its connections.
        uint64_t before = new_payload_calls(el4);
        ASSERT_TRUE(eventually([&] { return new_payload_calls(el4) > before; }, settle_ms_max))
            << "round " << round << ": el4 got no newPayload\n"
            << daemon_log();
        bool voter_churn = round % 4 == 1;
        if (voter_churn) {
            HttpReply removed = daemon.admin("DELETE", "/nodes/el3");
            ASSERT_EQ(removed.status, 200) << removed.body << daemon_log();
        }
        HttpReply removed = daemon.admin("DELETE", "/nodes/el4");
        ASSERT_EQ(removed.status, 200) << "round " << round << ": " << removed.body << daemon_log();
        if (voter_churn) {
            HttpReply added = daemon.admin("POST", "/nodes", node_spec(el3));
            ASSERT_EQ(added.status, 201) << added.body << daemon_log();
        }
    }

    // el4 is removed: the daemon must let go of every connection to it once the calls that were
    // on the wire are answered (el4 answers within 20 ms; the bound only limits the polling).
    int held = established_to_port(el4.port);
    if (held < 0) GTEST_SKIP() << "NETLINK_SOCK_DIAG is not available to count sockets";
    eventually([&] { return (held = established_to_port(el4.port)) == 0; }, settle_ms_max);
    EXPECT_EQ(held, 0) << "connections from enginemux to the removed node el4 are still open\n"
                       << daemon_log();

    // Two ELs exit at the same moment; the daemon keeps answering through the others.
    el2.process->signal(SIGKILL);
    el4.process->signal(SIGKILL);
    uint64_t answered = traffic.answered();
    bool more = eventually(
        [&] { return traffic.answered() >= answered + 20 || !daemon.process->running(); },
        settle_ms_max);
    traffic.stop();
    ASSERT_TRUE(daemon.process->running()) << "enginemux died\n" << daemon_log();
    EXPECT_TRUE(more) << "enginemux stopped answering after two ELs exited\n" << daemon_log();
    EXPECT_EQ(traffic.unanswered(), 0u) << daemon_log();
    HttpReply number =
        daemon.call(R"({"jsonrpc":"2.0","id":9,"method":"eth_blockNumber","params":[]})");
    EXPECT_NE(json_at(number.body, "/result"), "<missing>") << number.body << daemon_log();
    EXPECT_EQ(daemon.admin("GET", "/healthz").status, 200);

    daemon.process->signal(SIGTERM);
    EXPECT_EQ(daemon.process->wait_exit(20000), 0) << daemon_log();
}

TEST(Churn, AdminAddRemoveUnderTrafficThenTwoElsExit) {
    const char* repeat_env = std::getenv("EM_CHURN_REPEAT");
    int repeat = repeat_env && *repeat_env ? std::atoi(repeat_env) : 1;
    std::string payload = payload_request(4, 2, 19);
    for (int r = 0; r < repeat && !HasFailure(); r++) {
        auto start = std::chrono::steady_clock::now();
        churn_then_kill(payload, r);
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::steady_clock::now() - start);
        std::fprintf(stderr, "repetition %d: %lld ms\n", r, static_cast<long long>(ms.count()));
    }
}

}  // namespace
}  // namespace em::test
