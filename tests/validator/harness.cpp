#include "harness.h"

#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>

#include "io/socket.h"
#include "net/blocking_client.h"
#include "validator/json.h"
#include "validator/sign_state.h"

namespace em::validator::test {

// ---------------------------------------------------------------------------------------------
// Small helpers

TempDir::TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base && *base ? base : "/tmp") + "/em-validator-XXXXXX";
    char* p = mkdtemp(pattern.data());
    path_ = p ? p : "";
}

TempDir::~TempDir() {
    if (path_.empty() || std::getenv("EM_KEEP_TMP")) return;
    nftw(
        path_.c_str(), [](const char* p, const struct stat*, int, FTW*) { return ::remove(p); }, 16,
        FTW_DEPTH | FTW_PHYS);
}

int64_t now_ms() {
    timeval tv;
    gettimeofday(&tv, nullptr);
    return static_cast<int64_t>(tv.tv_sec) * 1000 + tv.tv_usec / 1000;
}

std::string built(const std::string& relative) {
    const char* root = std::getenv("EM_BUILD_ROOT");
    return std::string(root ? root : ".") + "/" + relative;
}

std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

void write_text(const std::string& path, const std::string& text, int mode) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) return;
    ssize_t ignored = ::write(fd, text.data(), text.size());
    (void)ignored;
    ::fchmod(fd, static_cast<mode_t>(mode));
    ::close(fd);
}

bool process_alive(pid_t pid) {
    return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM);
}

bool wait_for(const std::function<bool()>& pred, int timeout_ms) {
    int64_t end = now_ms() + timeout_ms;
    while (now_ms() < end) {
        if (pred()) return true;
        usleep(20'000);
    }
    return pred();
}

// ---------------------------------------------------------------------------------------------
// TcpProxy

TcpProxy::TcpProxy(uint16_t target_port) : target_(target_port) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(listen_fd_, 64);
    socklen_t len = sizeof a;
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    if (pipe2(wake_, O_CLOEXEC) != 0) wake_[0] = wake_[1] = -1;
    thread_ = std::thread([this] { run(); });
}

TcpProxy::~TcpProxy() {
    stop_ = true;
    char c = 1;
    ssize_t ignored = ::write(wake_[1], &c, 1);
    (void)ignored;
    thread_.join();
    ::close(listen_fd_);
    ::close(wake_[0]);
    ::close(wake_[1]);
}

void TcpProxy::cut(bool black_hole) {
    cut_ = black_hole;
    char c = 1;
    ssize_t ignored = ::write(wake_[1], &c, 1);
    (void)ignored;
}

void TcpProxy::run() {
    struct Pair {
        int a, b;  // client side, target side (b = -1 when black-holed)
    };
    std::vector<Pair> pairs;
    auto close_all = [&] {
        for (Pair& p : pairs) {
            ::close(p.a);
            if (p.b >= 0) ::close(p.b);
        }
        pairs.clear();
    };
    bool was_cut = false;
    while (!stop_) {
        if (cut_ != was_cut) {
            close_all();  // drop what is in flight; new connections go nowhere while cut
            was_cut = cut_;
        }
        std::vector<pollfd> fds{{listen_fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
        for (Pair& p : pairs) {
            fds.push_back({p.a, static_cast<short>(cut_ ? 0 : POLLIN), 0});
            if (p.b >= 0) fds.push_back({p.b, POLLIN, 0});
        }
        size_t polled = pairs.size();  // accept() below may add pairs that were not polled
        if (::poll(fds.data(), fds.size(), 200) <= 0) continue;
        if (fds[1].revents) {
            char buf[64];
            ssize_t ignored = ::read(wake_[0], buf, sizeof buf);
            (void)ignored;
        }
        if (fds[0].revents & POLLIN) {
            int c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
            if (c >= 0) {
                int t = -1;
                if (!cut_) {
                    t = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
                    sockaddr_in a{};
                    a.sin_family = AF_INET;
                    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
                    a.sin_port = htons(target_);
                    if (::connect(t, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
                        ::close(t);
                        ::close(c);
                        c = -1;
                    }
                }
                if (c >= 0) pairs.push_back({c, t});
            }
        }
        size_t i = 2;
        for (size_t k = 0; k < polled; k++) {
            Pair& p = pairs[k];
            bool dead = false;
            short ra = fds[i++].revents;
            short rb = p.b >= 0 ? fds[i++].revents : 0;
            char buf[65536];
            if (ra & (POLLIN | POLLHUP | POLLERR)) {
                ssize_t n = ::recv(p.a, buf, sizeof buf, 0);
                if (n <= 0 || p.b < 0 ||
                    ::send(p.b, buf, static_cast<size_t>(n), MSG_NOSIGNAL) != n)
                    dead = true;
            }
            if (!dead && (rb & (POLLIN | POLLHUP | POLLERR))) {
                ssize_t n = ::recv(p.b, buf, sizeof buf, 0);
                if (n <= 0 || ::send(p.a, buf, static_cast<size_t>(n), MSG_NOSIGNAL) != n)
                    dead = true;
            }
            if (dead) {
                ::close(p.a);
                if (p.b >= 0) ::close(p.b);
                p.a = -1;
            }
        }
        std::erase_if(pairs, [](const Pair& p) { return p.a < 0; });
    }
    close_all();
}

// ---------------------------------------------------------------------------------------------
// Host

Host::Host(const std::string& root, const HostSpec& spec, int64_t genesis_ms,
           const std::string& sign_log)
    : spec_(spec),
      dir_(root + "/" + spec.name),
      home_(dir_ + "/home"),
      config_(dir_ + "/guard.toml"),
      sign_log_(sign_log),
      genesis_ms_(genesis_ms),
      rpc_port_(free_port()),
      control_port_(free_port()),
      peer_port_(free_port()) {
    ::mkdir(dir_.c_str(), 0700);
    ::mkdir(home_.c_str(), 0700);
    write_text(state_file(), "{\"height\":\"0\",\"round\":0,\"step\":0}\n", 0600);
}

Host::~Host() {
    if (guard_pid_ > 0) kill_guard(SIGKILL);
}

void Host::write_config() {
    std::string fake = built("tests/validator/fake_cometbft");
    std::string common = " --rpc 127.0.0.1:" + std::to_string(rpc_port_) + " --home " + home_ +
                         " --name " + spec_.name + " --genesis-ms " + std::to_string(genesis_ms_) +
                         " --block-ms 200";
    std::string run = "exec " + fake + common + " --pub-key " + validator_key() +
                      " --sign --sign-log " + sign_log_ + " --role validator";
    std::string follow = "exec " + fake + common +
                         " --pub-key Rk9MTE9XRVJGT0xMT1dFUkZPTExPV0VSRk9MTE9XRVI= --role follower";
    std::string t = "[validator]\n";
    t += "name = \"" + spec_.name + "\"\n";
    t += std::string("preferred = ") + (spec_.preferred ? "true" : "false") + "\n";
    t += "data_dir = \"" + dir_ + "/guard\"\n";
    t += "state_file = \"" + state_file() + "\"\n";
    t += "rpc_url = \"http://127.0.0.1:" + std::to_string(rpc_port_) + "\"\n";
    t += "validator_pub_key = \"" + std::string(validator_key()) + "\"\n";
    t += "control_listen = \"127.0.0.1:" + std::to_string(control_port_) + "\"\n";
    if (spec_.control_token) {
        write_text(dir_ + "/control.token", control_token() + "\n", 0600);
        t += "control_token_file = \"" + dir_ + "/control.token\"\n";
    }
    t += "tick_ms = 20\n";
    t += "[validator.health]\ninterval_ms = 100\ntimeout_ms = 90\nfailures_before_failover = 3\n"
         "min_peers = 1\nblock_time_ms = 200\nstale_blocks = 5\nstart_grace_ms = 600\n";
    t += "[validator.process]\nmode = \"child\"\nrun_command = \"" + run + "\"\n";
    t += "follower_command = \"" + follow + "\"\nstop_timeout_ms = 400\n";
    uint32_t ttl = spec_.ttl_ms;
    t += "[validator.lease]\nbackend = \"" + spec_.backend + "\"\nttl_ms = " + std::to_string(ttl) +
         "\nrenew_interval_ms = 250\nfence_margin_ms = 700\ntakeover_margin_ms = 300\n"
         "request_timeout_ms = 200\nfailback_grace_ms = 3000\nretry_ms = 500\n"
         "acquire_defer_ms = 600\n";
    if (spec_.backend == "peer") {
        write_text(dir_ + "/../peer.secret", "0123456789abcdef0123456789abcdef0123456789abcdef\n",
                   0600);
        t += "[validator.peer]\nname = \"" + spec_.peer_name +
             "\"\nlisten = \"127.0.0.1:" + std::to_string(peer_port_) +
             "\"\naddress = \"127.0.0.1:" + std::to_string(spec_.peer_address_port) +
             "\"\nsecret_file = \"" + dir_ + "/../peer.secret\"\nreplay_window_ms = 1500\n";
    } else {
        t += "[validator.etcd]\nendpoint = \"" + spec_.etcd_endpoint +
             "\"\nprefix = \"/test/validator\"\n";
    }
    write_text(config_, t);
}

void Host::start_guard() {
    write_config();
    std::string log = dir_ + "/guard.log";
    std::string guard = built("tests/validator/validator_guard");
    std::string env = spec_.extra_env;
    int stdio_fd = spec_.stdio_fd;
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);  // no orphans if the test process dies
        int fd =
            stdio_fd >= 0 ? stdio_fd : ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        dup2(fd, 2);
        dup2(fd, 1);
        if (!env.empty()) putenv(env.data());
        execl(guard.c_str(), "validator", "--config", config_.c_str(), "--log-level", "info",
              static_cast<char*>(nullptr));
        _exit(127);
    }
    guard_pid_ = pid;
}

void Host::kill_guard(int signal_number) {
    if (guard_pid_ <= 0) return;
    ::kill(guard_pid_, signal_number);
    int status;
    waitpid(guard_pid_, &status, 0);
    guard_pid_ = 0;
}

int Host::stop_guard() {
    if (guard_pid_ <= 0) return -1;
    ::kill(guard_pid_, SIGTERM);
    int status = 0;
    waitpid(guard_pid_, &status, 0);
    guard_pid_ = 0;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool Host::guard_running() {
    return guard_pid_ > 0 && process_alive(guard_pid_);
}

pid_t Host::validator_pid() {
    return static_cast<pid_t>(std::atoi(read_text(home_ + "/validator.pid").c_str()));
}

int64_t Host::validator_start_ms() {
    std::string text = read_text(home_ + "/validator.pid");
    size_t space = text.find(' ');
    return space == std::string::npos ? 0 : std::atoll(text.c_str() + space + 1);
}

void Host::set_fault(const std::string& fault) {
    write_text(home_ + "/fault", fault);
}

std::string Host::log_tail() {
    std::string log = read_text(dir_ + "/guard.log");
    return log.size() > 3000 ? log.substr(log.size() - 3000) : log;
}

void print_guard_logs(Host& a, Host& b) {
    std::fprintf(stderr, "--- %s guard log ---\n%s\n--- %s guard log ---\n%s\n", a.name().c_str(),
                 a.log_tail().c_str(), b.name().c_str(), b.log_tail().c_str());
}

namespace {

/// One blocking HTTP exchange on 127.0.0.1:port; returns the status and fills body.
/// The HTTP status (0 when the guard cannot be reached or answers garbage); the body in `body`.
int http_exchange(uint16_t port, const char* method, const std::string& target, std::string& body,
                  const std::string& authorization = {}) {
    http::BlockingRequest request;
    request.method = method;
    request.target = target;
    request.authorization = authorization;
    request.timeout_ms = 1'000;
    auto reply =
        http::blocking_exchange(*io::resolve("127.0.0.1:" + std::to_string(port)), request);
    if (!reply) return 0;
    body = std::move(reply->body);
    return reply->status;
}

std::string string_field(JsonObject o, std::string_view key) {
    std::string_view s;
    return o.at_key(key).get(s) ? std::string() : std::string(s);
}

}  // namespace

int Host::control(const char* method, const std::string& target) {
    std::string body;
    return control_as(method, target, spec_.control_token ? "Bearer " + control_token() : "", body);
}

int Host::control_as(const char* method, const std::string& target,
                     const std::string& authorization, std::string& body) {
    return http_exchange(control_port_, method, target, body, authorization);
}

GuardView Host::view() {
    GuardView v;
    std::string body;
    if (http_exchange(control_port_, "GET", "/status", body) != 200) return v;
    JsonParser parser(256 * 1024);
    auto root = parser.parse(body);
    JsonObject o;
    if (!root || root->get(o)) return v;
    v.reachable = true;
    v.raw = body;
    v.role = string_field(o, "role");
    v.epoch = std::strtoull(string_field(o, "epoch").c_str(), nullptr, 10);
    v.last_error = string_field(o, "last_error");
    v.last_fence_reason = string_field(o, "last_fence_reason");
    JsonObject lease;
    if (!o.at_key("lease").get(lease)) v.lease_problem = string_field(lease, "problem");
    return v;
}

// ---------------------------------------------------------------------------------------------
// Invariant checkers

SignReport check_sign_log(const std::string& path) {
    SignReport r;
    std::istringstream in(read_text(path));
    std::map<std::tuple<int64_t, int, int>, std::string> seen;
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::string name;
        int64_t h = 0, at_ms = 0;
        int round = 0, step = 0, pid = 0;
        if (!(fields >> name >> h >> round >> step >> pid)) continue;
        if (fields >> at_ms) {
            auto [span, fresh] = r.span_ms.emplace(pid, std::make_pair(at_ms, at_ms));
            if (!fresh) span->second.second = at_ms;
        }
        r.per_host[name]++;
        if (h > r.max_height) r.max_height = h;
        if (h > r.last_height[name]) r.last_height[name] = h;
        auto [it, fresh] = seen.emplace(std::make_tuple(h, round, step), name);
        if (!fresh && it->second != name) {
            r.double_signs.push_back(std::to_string(h) + "/" + std::to_string(round) + "/" +
                                     std::to_string(step) + " by " + it->second + " and " + name);
        }
    }
    return r;
}

bool process_running(pid_t pid) {
    if (pid <= 0) return false;
    std::string stat = read_text("/proc/" + std::to_string(pid) + "/stat");
    size_t paren = stat.rfind(')');
    return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] != 'Z';
}

DeathWatch::DeathWatch(pid_t pid) : pid_(pid) {
    thread_ = std::thread([this] {
        while (!stop_ && process_running(pid_)) usleep(1'000);
        if (!stop_) died_ms_ = now_ms();
    });
}

DeathWatch::~DeathWatch() {
    stop_ = true;
    thread_.join();
}

StateSampler::StateSampler(std::vector<std::string> files) : files_(std::move(files)) {
    thread_ = std::thread([this] { run(); });
}

StateSampler::~StateSampler() {
    stop_ = true;
    thread_.join();
}

std::vector<std::string> StateSampler::problems() {
    std::lock_guard<std::mutex> lock(mutex_);
    return problems_;
}

void StateSampler::run() {
    JsonParser parser(65536);
    std::vector<Hrs> last(files_.size());
    while (!stop_) {
        for (size_t i = 0; i < files_.size(); i++) {
            std::string text = read_text(files_[i]);
            auto state = parse_sign_state(text, parser);
            std::lock_guard<std::mutex> lock(mutex_);
            if (!state) {
                problems_.push_back(files_[i] + ": unreadable (torn?): " + state.error().c_str());
                continue;
            }
            if (state->hrs < last[i]) {
                problems_.push_back(files_[i] + ": HRS regressed from " +
                                    std::to_string(last[i].height) + " to " +
                                    std::to_string(state->hrs.height));
            }
            last[i] = state->hrs;
        }
        samples_++;
        usleep(5'000);
    }
}

}  // namespace em::validator::test
