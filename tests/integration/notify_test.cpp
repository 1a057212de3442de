// enginemux under systemd's notification protocol (Type=notify, WatchdogSec): the test plays the
// service manager with its own $NOTIFY_SOCKET and checks that READY=1 comes once the daemon
// listens, WATCHDOG=1 keeps coming within the period while the engine shard runs its loop, and
// STOPPING=1 comes on SIGTERM.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "base/clock.h"
#include "harness.h"

namespace em::test {
namespace {

/// An AF_UNIX datagram socket at `path`: what systemd listens on.
class FakeServiceManager {
  public:
    explicit FakeServiceManager(const std::string& path) {
        fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
        EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address), 0)
            << std::strerror(errno);
    }
    ~FakeServiceManager() { ::close(fd_); }
    /// The next message, or "" after timeout_ms.
    std::string next(int timeout_ms) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, timeout_ms) <= 0) return {};
        char buffer[4096];
        ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
        return n > 0 ? std::string(buffer, static_cast<size_t>(n)) : std::string();
    }

  private:
    int fd_ = -1;
};

TEST(ServiceManager, ReadyThenWatchdogPingsThenStopping) {
    TempDir dir;
    MockEl el(dir, "el1");
    FakeServiceManager manager(dir.path + "/notify.sock");
    ::setenv("NOTIFY_SOCKET", (dir.path + "/notify.sock").c_str(), 1);
    ::setenv("WATCHDOG_USEC", "400000", 1);  // a ping at least every 0.4 s
    Daemon daemon(dir, {&el});
    ::unsetenv("NOTIFY_SOCKET");
    ::unsetenv("WATCHDOG_USEC");

    EXPECT_EQ(manager.next(10'000), "READY=1");
    // Pings keep coming while the shard runs (each is sent only after the shard ran a heartbeat
    // task): several within a few periods, under traffic and without.
    int pings = 0;
    for (int i = 0; i < 40 && pings < 6; i++) {
        std::string m = manager.next(2'000);
        ASSERT_FALSE(m.empty()) << "no message for 2 s: the watchdog pings stopped";
        if (m == "WATCHDOG=1") pings++;
        if (i == 2) {
            std::string call = R"({"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]})";
            EXPECT_EQ(daemon.call(call).status, 200);
        }
    }
    EXPECT_GE(pings, 6);

    daemon.process->signal(SIGTERM);
    std::string m;
    for (int i = 0; i < 20 && m != "STOPPING=1"; i++) m = manager.next(2'000);
    EXPECT_EQ(m, "STOPPING=1");
    EXPECT_EQ(daemon.process->wait_exit(15'000), 0);
}

TEST(ServiceManager, NothingIsSentWithoutANotifySocket) {
    // Not under systemd: the daemon runs as before (and must not fail for want of a socket).
    TempDir dir;
    MockEl el(dir, "el1");
    Daemon daemon(dir, {&el});
    EXPECT_EQ(daemon.call(R"({"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]})").status,
              200);
    daemon.process->signal(SIGTERM);
    EXPECT_EQ(daemon.process->wait_exit(15'000), 0);
}

}  // namespace
}  // namespace em::test
