#include "harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <mutex>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "base/clock.h"
#include "http/jwt.h"

extern char** environ;

namespace em::test {

namespace {

std::string read_all(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

[[noreturn]] void die(const std::string& what) {
    std::fprintf(stderr, "harness: %s\n", what.c_str());
    throw std::runtime_error(what);
}

// The processes a test started, so that a test that dies (an assertion's abort, a crash,
// meson's SIGTERM at its timeout) takes them with it instead of leaving daemons and mock ELs
// running on the machine. Destructors stop them on the normal path.
constexpr size_t children_max = 256;
std::array<std::atomic<pid_t>, children_max> g_children{};
constexpr int fatal_signals[] = {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTERM, SIGINT};
struct sigaction g_previous[std::size(fatal_signals)];

void kill_children_and_die(int sig) {
    for (auto& child : g_children) {
        pid_t pid = child.load(std::memory_order_relaxed);
        if (pid > 0) ::kill(pid, SIGKILL);
    }
    for (size_t k = 0; k < std::size(fatal_signals); k++) {
        if (fatal_signals[k] != sig) continue;
        sigaction(sig, &g_previous[k], nullptr);  // the previous handler (a sanitizer's) or default
        // A fault repeats when the handler returns and then reaches that handler with its
        // details; abort() raises again itself; asynchronous signals are sent again.
        if (sig == SIGTERM || sig == SIGINT) raise(sig);
    }
}

void remember_child(pid_t pid) {
    static std::once_flag installed;
    std::call_once(installed, [] {
        for (size_t k = 0; k < std::size(fatal_signals); k++) {
            struct sigaction action {};
            action.sa_handler = kill_children_and_die;
            sigemptyset(&action.sa_mask);
            sigaction(fatal_signals[k], &action, &g_previous[k]);
        }
    });
    for (auto& child : g_children) {
        pid_t empty = 0;
        if (child.compare_exchange_strong(empty, pid)) return;
    }
}

void forget_child(pid_t pid) {
    for (auto& child : g_children) {
        pid_t mine = pid;
        if (child.compare_exchange_strong(mine, 0)) return;
    }
}

}  // namespace

std::string binary(const char* env_name) {
    const char* path = std::getenv(env_name);
    if (!path || !*path) die(std::string(env_name) + " is not set (run through meson test)");
    return path;
}

TempDir::TempDir() {
    char tmpl[] = "/tmp/em-it-XXXXXX";
    if (!mkdtemp(tmpl)) die("mkdtemp failed");
    path = tmpl;
}

TempDir::~TempDir() {
    std::string cmd = "rm -rf '" + path + "'";
    int ignored = std::system(cmd.c_str());
    (void)ignored;
}

std::string TempDir::write(const std::string& name, const std::string& content) const {
    std::string p = path + "/" + name;
    int fd = ::open(p.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0600);
    if (fd < 0) die("cannot write " + p);
    ssize_t n = ::write(fd, content.data(), content.size());
    ::close(fd);
    if (n != static_cast<ssize_t>(content.size())) die("short write " + p);
    return p;
}

Process::Process(const std::vector<std::string>& argv, const std::string& name) {
    // Processes are started from several threads (the soak restarts an EL on its fault thread
    // while the main thread starts enginemux-load): the counter that keeps their output files
    // apart must be atomic (ThreadSanitizer found the plain int racing).
    static std::atomic<int> counter{0};
    char base[96];
    std::snprintf(base, sizeof base, "/tmp/em-it-%d-%d-%s", getpid(), counter.fetch_add(1),
                  name.c_str());
    out_path_ = std::string(base) + ".out";
    err_path_ = std::string(base) + ".err";
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, out_path_.c_str(), O_CREAT | O_TRUNC | O_WRONLY,
                                     0600);
    posix_spawn_file_actions_addopen(&actions, 2, err_path_.c_str(), O_CREAT | O_TRUNC | O_WRONLY,
                                     0600);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    int rc = posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) die("cannot start " + argv[0] + ": " + std::strerror(rc));
    remember_child(pid_);
}

Process::~Process() {
    if (running()) {
        ::kill(pid_, SIGTERM);
        if (wait_exit(5000) == -1 && running()) {
            ::kill(pid_, SIGKILL);
            wait_exit(5000);
        }
    }
    forget_child(pid_);
    unlink(out_path_.c_str());
    unlink(err_path_.c_str());
}

bool Process::running() {
    if (exited_) return false;
    int status;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
        exited_ = true;
        status_ = status;
        forget_child(pid_);  // reaped: the pid may be reused by someone else's process
        return false;
    }
    return true;
}

void Process::signal(int sig) {
    if (running()) ::kill(pid_, sig);
}

int Process::wait_exit(int timeout_ms) {
    uint64_t deadline = mono_ns() + static_cast<uint64_t>(timeout_ms) * 1'000'000ull;
    while (running()) {
        if (mono_ns() > deadline) return -1;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return WIFEXITED(status_) ? WEXITSTATUS(status_) : -1;
}

std::string Process::stdout_text() const {
    return read_all(out_path_);
}
std::string Process::stderr_text() const {
    return read_all(err_path_);
}

std::string Process::wait_for_line(const std::string& needle, int timeout_ms) {
    uint64_t deadline = mono_ns() + static_cast<uint64_t>(timeout_ms) * 1'000'000ull;
    for (;;) {
        for (const std::string& text : {stdout_text(), stderr_text()}) {
            size_t at = text.find(needle);
            if (at != std::string::npos) {
                size_t start = text.rfind('\n', at);
                start = start == std::string::npos ? 0 : start + 1;
                size_t end = text.find('\n', at);
                if (end != std::string::npos) return text.substr(start, end - start);
            }
        }
        if (!running()) die("process exited while waiting for '" + needle + "': " + stderr_text());
        if (mono_ns() > deadline) die("timed out waiting for '" + needle + "': " + stderr_text());
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

static uint16_t port_after(const std::string& line, const std::string& marker) {
    size_t at = line.find(marker);
    if (at == std::string::npos) die("no '" + marker + "' in: " + line);
    std::string rest = line.substr(at + marker.size());
    size_t colon = rest.find(':');
    // "127.0.0.1:PORT" possibly followed by text
    while (colon != std::string::npos && colon + 1 < rest.size() &&
           !isdigit(static_cast<unsigned char>(rest[colon + 1])))
        colon = rest.find(':', colon + 1);
    if (colon == std::string::npos) die("no port in: " + line);
    return static_cast<uint16_t>(std::atoi(rest.c_str() + colon + 1));
}

HttpReply http_request(uint16_t port, const std::string& method, const std::string& target,
                       const std::string& body, const std::string& bearer, int timeout_ms,
                       const std::string& extra_headers) {
    HttpReply reply;
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(fd);
        return reply;
    }
    std::string request =
        method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
    if (!bearer.empty()) request += "Authorization: Bearer " + bearer + "\r\n";
    request += extra_headers;
    if (method != "GET")
        request +=
            "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
            "\r\n";
    request += "\r\n" + body;
    size_t sent = 0;
    while (sent < request.size()) {
        ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) break;
        sent += static_cast<size_t>(n);
    }
    std::string raw;
    char buf[65536];
    uint64_t deadline = mono_ns() + static_cast<uint64_t>(timeout_ms) * 1'000'000ull;
    for (;;) {
        pollfd p{fd, POLLIN, 0};
        int left = static_cast<int>((deadline - std::min(deadline, mono_ns())) / 1'000'000ull);
        if (left <= 0 || ::poll(&p, 1, left) <= 0) break;
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        raw.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    size_t head_end = raw.find("\r\n\r\n");
    if (raw.size() < 12 || head_end == std::string::npos) return reply;
    reply.status = std::atoi(raw.c_str() + 9);
    reply.body = raw.substr(head_end + 4);
    return reply;
}

std::string make_secret(const TempDir& dir, const std::string& name) {
    std::random_device rd;
    std::string hex;
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 64; i++) hex.push_back(digits[rd() % 16]);
    return dir.write(name, hex + "\n");
}

std::string jwt_for(const std::string& secret_path) {
    auto secret = http::load_jwt_secret_file(secret_path.c_str());
    if (!secret) die(std::string(secret.error().message()));
    http::JwtSigner signer(*secret, 0);
    return std::string(signer.bearer_token(wall_s()));
}

std::string jwt_for(const std::string& secret_path, const std::string& id) {
    auto secret = http::load_jwt_secret_file(secret_path.c_str());
    if (!secret) die(std::string(secret.error().message()));
    auto encode = [](const std::string& text) {
        std::string out(http::base64url_encoded_bytes(text.size()), '\0');
        http::base64url_encode(
            std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()), out.data());
        return out;
    };
    std::string signed_part =
        encode(R"({"alg":"HS256","typ":"JWT"})") + "." +
        encode(R"({"iat":)" + std::to_string(wall_s()) + R"(,"id":")" + id + R"("})");
    http::HmacSha256 hmac(secret->key);
    http::HmacSha256::Digest sig = hmac.mac(signed_part);
    std::string s(http::base64url_encoded_bytes(sig.size()), '\0');
    http::base64url_encode(sig, s.data());
    return signed_part + "." + s;
}

MockEl::MockEl(const TempDir& d, const std::string& n, std::vector<std::string> extra)
    : name(n), extra_args(std::move(extra)), dir(&d) {
    secret = make_secret(d, n + ".jwt");
    restart();
}

void MockEl::restart() {
    process.reset();
    std::vector<std::string> args = {binary("EM_MOCK_EL"),
                                     "--port",
                                     port ? std::to_string(port) : "0",
                                     "--jwt-secret",
                                     secret,
                                     "--name",
                                     name};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    process = std::make_unique<Process>(args, name);
    std::string line = process->wait_for_line("listening on");
    port = port_after(line, "listening on ");
}

void MockEl::set_rules(const std::string& rules) {
    HttpReply r = http_request(port, "POST", "/mock/rules", rules);
    if (r.status != 200) die("mock rules rejected: " + r.body);
}

std::string MockEl::log() {
    return http_request(port, "GET", "/mock/log", "").body;
}

Daemon::Daemon(const TempDir& dir, const std::vector<MockEl*>& nodes,
               std::vector<std::string> extra, const std::vector<std::string>& node_options) {
    secret = make_secret(dir, "cl-" + std::to_string(reinterpret_cast<uintptr_t>(this)) + ".jwt");
    std::string list;
    for (size_t i = 0; i < nodes.size(); i++) {
        if (i) list += ",";
        list += nodes[i]->url() + "#jwt-secret=" + nodes[i]->secret + "#name=" + nodes[i]->name;
        if (i < node_options.size()) list += node_options[i];
    }
    std::vector<std::string> args = {binary("EM_ENGINEMUX"), "--jwt-secret", secret, "--port", "0",
                                     "--admin-listen",       "127.0.0.1:0"};
    if (!nodes.empty()) args.insert(args.begin() + 1, {"--nodes", list});  // else: --config's
    // An rpc listener runs cores - 1 shards by default; tests count per-listener limits and
    // counters, so they run one unless they ask for more (the same on any machine).
    bool rpc = false, shards = false;
    for (const std::string& a : extra) {
        rpc = rpc || a == "rpc" || a == "--rpc-listen";
        shards = shards || a == "--shards";
    }
    if (rpc && !shards) args.insert(args.end(), {"--shards", "1"});
    args.insert(args.end(), extra.begin(), extra.end());
    process = std::make_unique<Process>(args, "enginemux");
    std::string line = process->wait_for_line("listening on");
    port = port_after(line, "listening on ");
    admin_port = port_after(line, "admin API on ");
}

HttpReply Daemon::call(const std::string& body, int timeout_ms) {
    return http_request(port, "POST", "/", body, jwt_for(secret), timeout_ms);
}

HttpReply Daemon::admin(const std::string& method, const std::string& target,
                        const std::string& body) {
    return http_request(admin_port, method, target, body, admin_token);
}

AuthRecorder::AuthRecorder() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(listen_fd_, 64) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
        die("AuthRecorder: cannot listen on 127.0.0.1");
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
}

AuthRecorder::~AuthRecorder() {
    stop_ = true;
    thread_.join();
    ::close(listen_fd_);
}

std::vector<std::string> AuthRecorder::authorizations() const {
    std::lock_guard lock(mutex_);
    return authorizations_;
}

void AuthRecorder::serve() {
    while (!stop_) {
        pollfd p{listen_fd_, POLLIN, 0};
        if (::poll(&p, 1, 20) <= 0) continue;
        int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) continue;
        answer(fd);
        ::close(fd);
    }
}

void AuthRecorder::answer(int fd) {
    // One request per connection: read the head (and a Content-Length body), answer, close.
    std::string raw;
    char buf[4096];
    size_t head_end = std::string::npos;
    size_t want = 0;
    while (!stop_) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 20) <= 0) continue;
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) return;
        raw.append(buf, static_cast<size_t>(n));
        if (head_end == std::string::npos &&
            (head_end = raw.find("\r\n\r\n")) != std::string::npos) {
            std::string lower = raw.substr(0, head_end);
            for (char& c : lower)
                c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            size_t cl = lower.find("\r\ncontent-length:");
            want = head_end + 4 +
                   (cl == std::string::npos ? 0 : std::strtoul(raw.c_str() + cl + 17, nullptr, 10));
        }
        if (head_end != std::string::npos && raw.size() >= want) break;
    }
    if (head_end == std::string::npos) return;
    std::string head = raw.substr(0, head_end + 2), lower = head;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string authorization;
    size_t at = lower.find("\r\nauthorization:");
    if (at != std::string::npos) {
        size_t start = at + 16, end = head.find("\r\n", start);
        authorization = head.substr(start, end - start);
        while (!authorization.empty() && authorization.front() == ' ') authorization.erase(0, 1);
    }
    {
        std::lock_guard lock(mutex_);
        authorizations_.push_back(authorization);
    }
    requests_++;
    const std::string body = R"({"jsonrpc":"2.0","id":1,"result":false})";
    std::string reply =
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: "
        "close\r\nContent-Length: " +
        std::to_string(body.size()) + "\r\n\r\n" + body;
    ssize_t ignored = ::send(fd, reply.data(), reply.size(), MSG_NOSIGNAL);
    (void)ignored;
}

std::string json_at(const std::string& json, const std::string& pointer) {
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    if (parser.parse(json).get(root) != simdjson::SUCCESS) return "<invalid json>";
    simdjson::dom::element at;
    if (root.at_pointer(pointer).get(at) != simdjson::SUCCESS) return "<missing>";
    return simdjson::minify(at);
}

std::string payload_request(int version, int txs, uint64_t seed) {
    std::string cmd = binary("EM_ENGINEMUX") + " payload-example --version " +
                      std::to_string(version) + " --txs " + std::to_string(txs) + " --seed " +
                      std::to_string(seed);
    FILE* p = popen(cmd.c_str(), "r");
    if (!p) die("popen payload-example");
    std::string out;
    char buf[65536];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    if (pclose(p) != 0) die("payload-example failed");
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
}

uint16_t rpc_port_in(const std::string& line) {
    size_t at = line.find("rpc listener on ");
    size_t colon = at == std::string::npos ? at : line.find(':', at + 16);
    return colon == std::string::npos ? 0
                                      : static_cast<uint16_t>(std::atoi(line.c_str() + colon + 1));
}

long vm_rss_kib(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
    }
    return -1;
}

long settled_rss_kib(pid_t pid, long tolerance_kib) {
    long last = vm_rss_kib(pid);
    for (int i = 0; i < 50; i++) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        long now = vm_rss_kib(pid);
        if (now - last < tolerance_kib && last - now < tolerance_kib) return now;
        last = now;
    }
    return last;
}

ClientSocket::ClientSocket(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) close();
}

ClientSocket::~ClientSocket() {
    close();
}

void ClientSocket::close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

bool ClientSocket::send_all(std::string_view bytes) {
    size_t sent = 0;
    while (fd_ >= 0 && sent < bytes.size()) {
        ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) return false;
        sent += static_cast<size_t>(n);
    }
    return fd_ >= 0;
}

namespace {

/// Bytes of the first complete response in raw (0 while incomplete); closed: the peer is gone,
/// so what is there is all there will be.
size_t response_bytes(const std::string& raw, bool closed) {
    size_t head_end = raw.find("\r\n\r\n");
    if (head_end == std::string::npos) return closed ? raw.size() : 0;
    std::string length = header_of_response(raw, "content-length");
    if (length.empty()) return closed || status_of_response(raw) / 100 == 1 ? head_end + 4 : 0;
    size_t want = head_end + 4 + std::strtoul(length.c_str(), nullptr, 10);
    return raw.size() >= want ? want : (closed ? raw.size() : 0);
}

}  // namespace

std::string ClientSocket::read_response(int timeout_ms) {
    uint64_t deadline = mono_ns() + static_cast<uint64_t>(timeout_ms) * 1'000'000ull;
    char buf[65536];
    bool closed = false;
    for (;;) {
        size_t n = response_bytes(buffered_, closed);
        if (n > 0 || closed) {
            std::string response = buffered_.substr(0, n);
            buffered_.erase(0, n);
            return response;
        }
        pollfd p{fd_, POLLIN, 0};
        int left = static_cast<int>((deadline - std::min(deadline, mono_ns())) / 1'000'000ull);
        if (fd_ < 0 || left <= 0 || ::poll(&p, 1, left) <= 0) return {};
        ssize_t got = ::recv(fd_, buf, sizeof buf, 0);
        if (got > 0)
            buffered_.append(buf, static_cast<size_t>(got));
        else
            closed = true;
    }
}

bool ClientSocket::peer_closed(int timeout_ms) {
    uint64_t deadline = mono_ns() + static_cast<uint64_t>(timeout_ms) * 1'000'000ull;
    char buf[65536];
    while (fd_ >= 0) {
        pollfd p{fd_, POLLIN, 0};
        int left = static_cast<int>((deadline - std::min(deadline, mono_ns())) / 1'000'000ull);
        if (left <= 0 || ::poll(&p, 1, left) <= 0) return false;
        ssize_t got = ::recv(fd_, buf, sizeof buf, 0);
        if (got <= 0) return true;
        buffered_.append(buf, static_cast<size_t>(got));
    }
    return true;
}

int status_of_response(const std::string& raw) {
    if (raw.size() < 12 || raw.compare(0, 7, "HTTP/1.") != 0) return 0;
    return std::atoi(raw.c_str() + 9);
}

std::string status_of(const HttpReply& r) {
    return json_at(r.body, "/result/status");
}

double metric_value(const std::string& text, const std::string& sample) {
    size_t at = text.find("\n" + sample + " ");
    if (at == std::string::npos) return -1;
    return std::stod(text.substr(at + sample.size() + 2));
}

std::string header_of_response(const std::string& raw, const std::string& name) {
    size_t head_end = raw.find("\r\n\r\n");
    std::string lower = head_end == std::string::npos ? raw : raw.substr(0, head_end + 2);
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string key = "\r\n" + name + ":";
    for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    size_t at = lower.find(key);
    if (at == std::string::npos) return {};
    size_t start = at + key.size(), end = raw.find("\r\n", start);
    std::string value = raw.substr(start, end - start);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    while (!value.empty() && value.back() == ' ') value.pop_back();
    return value;
}

long el_calls(MockEl& el, const std::string& method) {
    HttpReply r = http_request(el.port, "GET", "/mock/stats", "");
    std::string n = json_at(r.body, "/methods/" + method);
    return n == "<missing>" ? 0 : std::stol(n);
}

std::string rpc_request(const std::string& id, const std::string& method,
                        const std::string& params) {
    return R"({"jsonrpc":"2.0","id":)" + id + R"(,"method":")" + method + R"(","params":)" +
           params + "}";
}

}  // namespace em::test
