// Process-level harness for the validator guard's integration tests: temporary directories,
// free ports, guard processes (the guard binary with a generated TOML config, validators run as
// the fake CometBFT in child mode), a TCP proxy that can black-hole the peer link, the status
// endpoint, and the two invariant checkers: the shared sign log (no height/round/step signed by
// two hosts) and a sampler of every host's state file (never torn, never lower).
// Test code: blocking calls and allocation are fine.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <sys/types.h>

#include "../common/local_process.h"

namespace em::validator::test {

/// A fresh directory under $TMPDIR (or /tmp), removed by the destructor.
class TempDir {
  public:
    TempDir();
    ~TempDir();
    const std::string& path() const { return path_; }

  private:
    std::string path_;
};

using em::test::free_port;
/// Milliseconds since the epoch (wall clock).
int64_t now_ms();
/// Path of a program built next to the test (from $EM_BUILD_ROOT).
std::string built(const std::string& relative);
std::string read_text(const std::string& path);
void write_text(const std::string& path, const std::string& text, int mode = 0644);
bool process_alive(pid_t pid);
/// Polls pred every 20 ms until true or timeout; returns pred().
bool wait_for(const std::function<bool()>& pred, int timeout_ms);

/// Forwards 127.0.0.1:listen_port to target_port; cut(true) black-holes it (connections are
/// accepted but nothing is forwarded or answered, as when packets to the port are dropped).
class TcpProxy {
  public:
    explicit TcpProxy(uint16_t target_port);
    ~TcpProxy();
    uint16_t port() const { return port_; }
    void cut(bool black_hole);

  private:
    void run();
    uint16_t target_;
    uint16_t port_ = 0;
    int listen_fd_ = -1;
    int wake_[2] = {-1, -1};
    std::atomic<bool> cut_{false};
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

/// What the status endpoint said.
struct GuardView {
    bool reachable = false;
    std::string role;
    uint64_t epoch = 0;
    std::string last_error;
    std::string last_fence_reason;
    std::string lease_problem;
    std::string raw;
};

struct HostSpec {
    std::string name;
    bool preferred = false;
    std::string backend = "peer";  ///< "peer" or "etcd"
    std::string peer_name;
    uint16_t peer_address_port = 0;  ///< where this guard reaches its peer (a proxy)
    std::string etcd_endpoint;
    std::string extra_env;  ///< "NAME=value" for the guard process (test hooks)
    uint32_t ttl_ms = 2000;
    int stdio_fd = -1;          ///< the guard's stdout and stderr (e.g. a pipe); -1: its log file
    bool control_token = true;  ///< write [validator] control_token_file (else writes are 403)
};

/// One guard host: its directories, config, guard process and fake CometBFT.
class Host {
  public:
    Host(const std::string& root, const HostSpec& spec, int64_t genesis_ms,
         const std::string& sign_log);
    ~Host();
    void start_guard();
    void kill_guard(int signal_number);
    /// SIGTERM and wait; returns the exit status (-1 if it was killed by a signal).
    int stop_guard();
    bool guard_running();
    GuardView view();
    bool is(const char* role) { return view().role == role; }
    pid_t validator_pid();
    /// When the current validator process started (wall ms, from its pid file).
    int64_t validator_start_ms();
    pid_t guard_pid() const { return guard_pid_; }
    void set_fault(const std::string& fault);
    /// A control request with the host's token (if it has one); returns the HTTP status.
    int control(const char* method, const std::string& target);
    /// A control request with this Authorization header ("" = none); the body in `body`.
    int control_as(const char* method, const std::string& target, const std::string& authorization,
                   std::string& body);
    std::string control_token() const { return "0123456789abcdef0123456789abcdef-" + spec_.name; }
    const std::string& config_path() const { return config_; }
    const std::string& home() const { return home_; }
    const std::string& name() const { return spec_.name; }
    uint16_t peer_port() const { return peer_port_; }
    std::string state_file() const { return home_ + "/priv_validator_state.json"; }
    std::string log_tail();
    HostSpec& spec() { return spec_; }
    void write_config();

  private:
    HostSpec spec_;
    std::string dir_, home_, config_, sign_log_;
    int64_t genesis_ms_;
    uint16_t rpc_port_, control_port_, peer_port_;
    pid_t guard_pid_ = 0;
};

/// Both guards' log tails to stderr, named by host: what a failed two-host test needs to show.
void print_guard_logs(Host& a, Host& b);

/// Signatures per host and the double signs (same H/R/S by two hosts) in the sign log.
struct SignReport {
    std::map<std::string, uint64_t> per_host;
    std::vector<std::string> double_signs;
    int64_t max_height = 0;
    std::map<std::string, int64_t> last_height;
    /// Per validator process: its first and last signature (wall ms).
    std::map<pid_t, std::pair<int64_t, int64_t>> span_ms;
};
SignReport check_sign_log(const std::string& path);

/// Watches a process from a thread (every millisecond) and notes when it stopped running (a
/// zombie counts as gone: it can no longer sign).
class DeathWatch {
  public:
    explicit DeathWatch(pid_t pid);
    ~DeathWatch();
    /// Wall ms at which the process was first seen gone, or 0 while it runs.
    int64_t died_ms() const { return died_ms_; }

  private:
    pid_t pid_;
    std::atomic<int64_t> died_ms_{0};
    std::atomic<bool> stop_{false};
    std::thread thread_;
};
/// The process exists and is not a zombie.
bool process_running(pid_t pid);

/// Samples state files every 5 ms on a thread; records torn reads and HRS regressions.
class StateSampler {
  public:
    explicit StateSampler(std::vector<std::string> files);
    ~StateSampler();
    std::vector<std::string> problems();
    uint64_t samples() const { return samples_; }

  private:
    void run();
    std::vector<std::string> files_;
    std::atomic<bool> stop_{false};
    std::atomic<uint64_t> samples_{0};
    std::mutex mutex_;
    std::vector<std::string> problems_;
    std::thread thread_;
};

inline const char* validator_key() {
    return "Z+8kntVegi1sQiWLYwFSVLNWqdAUGEy7lskL78gxLZI=";
}

}  // namespace em::validator::test
