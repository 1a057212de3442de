// Two guards with the etcd back-end against a real etcd (Debian etcd-server) started on
// 127.0.0.1 by the test: election of the preferred host, failover when the active's CometBFT
// dies, the active's guard killed -9 (failover once its etcd lease expires), and the active cut
// off from etcd (it fences before its lease can expire at etcd; the other takes over). Exits 77
// (skip) when the etcd binary is not installed.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "../io/uring_skip.h"
#include "harness.h"

namespace em::validator::test {
namespace {

/// etcd on loopback with its own data directory.
class Etcd {
  public:
    Etcd(const std::string& binary, const std::string& dir) {
        client_port_ = free_port();
        uint16_t peer = free_port();
        std::string client = "http://127.0.0.1:" + std::to_string(client_port_);
        std::string peer_url = "http://127.0.0.1:" + std::to_string(peer);
        std::string log = dir + "/etcd.log";
        pid_ = fork();
        if (pid_ == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
            dup2(fd, 1);
            dup2(fd, 2);
            execl(binary.c_str(), "etcd", "--name", "default", "--data-dir",
                  (dir + "/etcd").c_str(), "--listen-client-urls", client.c_str(),
                  "--advertise-client-urls", client.c_str(), "--listen-peer-urls", peer_url.c_str(),
                  "--initial-advertise-peer-urls", peer_url.c_str(), "--initial-cluster",
                  ("default=" + peer_url).c_str(), static_cast<char*>(nullptr));
            _exit(127);
        }
    }
    ~Etcd() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            int status;
            waitpid(pid_, &status, 0);
        }
    }
    uint16_t port() const { return client_port_; }

  private:
    pid_t pid_ = 0;
    uint16_t client_port_ = 0;
};

std::string etcd_binary;

class EtcdHosts : public ::testing::Test {
  protected:
    TempDir tmp;
    std::string sign_log = tmp.path() + "/signs.log";
    int64_t genesis_ms = now_ms() - 10'000;
    std::unique_ptr<Etcd> etcd;
    std::unique_ptr<TcpProxy> a_to_etcd;  // host-a reaches etcd through this proxy
    std::unique_ptr<Host> a, b;
    std::unique_ptr<StateSampler> sampler;

    void SetUp() override {
        etcd = std::make_unique<Etcd>(etcd_binary, tmp.path());
        ASSERT_TRUE(wait_for([&] { return port_open(etcd->port()); }, 10'000))
            << "etcd did not start";
        a_to_etcd = std::make_unique<TcpProxy>(etcd->port());
        HostSpec sa;
        sa.name = "host-a";
        sa.preferred = true;
        sa.backend = "etcd";
        sa.etcd_endpoint = "127.0.0.1:" + std::to_string(a_to_etcd->port());
        HostSpec sb = sa;
        sb.name = "host-b";
        sb.preferred = false;
        sb.etcd_endpoint = "127.0.0.1:" + std::to_string(etcd->port());
        a = std::make_unique<Host>(tmp.path(), sa, genesis_ms, sign_log);
        b = std::make_unique<Host>(tmp.path(), sb, genesis_ms, sign_log);
        sampler = std::make_unique<StateSampler>(
            std::vector<std::string>{a->state_file(), b->state_file()});
    }

    void TearDown() override {
        sampler.reset();
        if (HasFailure()) print_guard_logs(*a, *b);
        a.reset();
        b.reset();
    }

    static bool port_open(uint16_t port) {
        int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = htons(port);
        bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
        ::close(fd);
        return ok;
    }

    void expect_active(Host& h, int timeout_ms) {
        ASSERT_TRUE(wait_for([&] { return h.is("active"); }, timeout_ms))
            << h.name() << " is " << h.view().raw;
        uint64_t before = check_sign_log(sign_log).per_host[h.name()];
        ASSERT_TRUE(
            wait_for([&] { return check_sign_log(sign_log).per_host[h.name()] > before; }, 3000));
    }

    void expect_invariants() {
        SignReport r = check_sign_log(sign_log);
        for (const std::string& d : r.double_signs) ADD_FAILURE() << "double sign: " << d;
        for (const std::string& p : sampler->problems()) ADD_FAILURE() << "state file: " << p;
    }
};

TEST_F(EtcdHosts, PreferredHostWinsAndFailsOverWhenItsCometBftDies) {
    a->start_guard();
    b->start_guard();
    expect_active(*a, 10'000);
    EXPECT_TRUE(b->is("passive"));
    uint64_t epoch = a->view().epoch;
    EXPECT_GT(epoch, 0u);
    ::kill(a->validator_pid(), SIGKILL);
    expect_active(*b, 10'000);
    EXPECT_GT(b->view().epoch, epoch);  // a new etcd revision
    expect_active(*a, 15'000);          // failback after the grace period, through etcd
    expect_invariants();
}

TEST_F(EtcdHosts, ActiveGuardKilledWithSignal9) {
    a->start_guard();
    b->start_guard();
    expect_active(*a, 10'000);
    a->kill_guard(SIGKILL);
    expect_active(*b, 10'000);  // after the holder's etcd lease expired
    expect_invariants();
}

TEST_F(EtcdHosts, ActiveCutOffFromEtcdFencesBeforeItsLeaseExpires) {
    a->start_guard();
    b->start_guard();
    expect_active(*a, 10'000);
    a_to_etcd->cut(true);
    ASSERT_TRUE(wait_for([&] { return a->is("passive"); }, 6000)) << a->view().raw;
    EXPECT_EQ(a->view().last_fence_reason, "lease_invalid");
    expect_active(*b, 10'000);
    a_to_etcd->cut(false);
    expect_active(*a, 15'000);
    expect_invariants();
}

}  // namespace
}  // namespace em::validator::test

int main(int argc, char** argv) {
    em::validator::test::etcd_binary = em::test::find_in_path("etcd");
    if (em::validator::test::etcd_binary.empty()) {
        std::fprintf(stderr, "SKIP: etcd is not installed (apt-get install etcd-server)\n");
        return 77;
    }
    return em::test::run_io_uring_tests(argc, argv);
}
