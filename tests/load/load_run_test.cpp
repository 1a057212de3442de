// enginemux-load end to end: the real binary ($EM_LOAD_BIN) against TestServer on 127.0.0.1.
// Counts are compared with what the server saw; timing is asserted only in generous bands (the
// machine is shared and noisy), except the coordinated-omission check, whose bound only noise
// could push further up.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <simdjson.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "test_server.h"

extern char** environ;

namespace em::test {
namespace {

struct LoadResult {
    int exit_code = -1;
    std::string out, err;
    double wall_s = 0;
};

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::string temp_path(const char* stem) {
    const char* dir = std::getenv("TMPDIR");
    return std::string(dir ? dir : "/tmp") + "/em_load_test_" + std::to_string(getpid()) + "_" +
           stem;
}

/// Runs enginemux-load with args; kills it after limit_s.
LoadResult run_load(const std::vector<std::string>& args, double limit_s = 60) {
    const char* bin = std::getenv("EM_LOAD_BIN");
    EXPECT_NE(bin, nullptr) << "EM_LOAD_BIN is not set (meson sets it)";
    LoadResult r;
    if (!bin) return r;
    std::string out_path = temp_path("out"), err_path = temp_path("err");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0600);
    posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0600);
    std::vector<char*> argv{const_cast<char*>(bin)};
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    uint64_t start = mono_ns();
    pid_t pid = 0;
    int rc = posix_spawn(&pid, bin, &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    EXPECT_EQ(rc, 0) << "spawn " << bin;
    if (rc != 0) return r;
    int status = 0;
    for (;;) {
        pid_t done = waitpid(pid, &status, WNOHANG);
        if (done == pid) break;
        if (static_cast<double>(mono_ns() - start) / 1e9 > limit_s) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            ADD_FAILURE() << "enginemux-load did not finish in " << limit_s << " s";
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    r.wall_s = static_cast<double>(mono_ns() - start) / 1e9;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.out = slurp(out_path);
    r.err = slurp(err_path);
    unlink(out_path.c_str());
    unlink(err_path.c_str());
    return r;
}

/// The --json report of a run, parsed (fails the test if it is not one JSON object).
class Report {
  public:
    explicit Report(const LoadResult& run) {
        auto error = parser_.parse(run.out).get(root_);
        ok_ = !error && root_.is_object();
        EXPECT_TRUE(ok_) << "not a JSON report: " << run.out << "\nstderr: " << run.err;
    }
    bool ok() const { return ok_; }
    uint64_t u(const char* pointer) const {
        uint64_t v = 0;
        auto e = root_.at_pointer(pointer).get(v);
        EXPECT_FALSE(e) << pointer << " missing or not an unsigned integer";
        return v;
    }
    double d(const char* pointer) const {
        double v = 0;
        auto e = root_.at_pointer(pointer).get(v);
        EXPECT_FALSE(e) << pointer << " missing or not a number";
        return v;
    }
    std::string s(const char* pointer) const {
        std::string_view v;
        auto e = root_.at_pointer(pointer).get(v);
        EXPECT_FALSE(e) << pointer << " missing or not a string";
        return std::string(v);
    }
    simdjson::dom::element at(const char* pointer) const {
        return root_.at_pointer(pointer).value_unsafe();
    }
    bool has(const char* pointer) const { return !root_.at_pointer(pointer).error(); }

  private:
    simdjson::dom::parser parser_;
    simdjson::dom::element root_;
    bool ok_ = false;
};

std::vector<std::string> base_args(const TestServer& server,
                                   std::initializer_list<std::string> more) {
    std::vector<std::string> a{"--target", server.url(), "--json", "--quiet",
                               "--no-pin", "--warmup",   "0"};
    a.insert(a.end(), more.begin(), more.end());
    return a;
}

std::string write_temp(const char* stem, const std::string& content) {
    std::string path = temp_path(stem);
    std::ofstream(path, std::ios::binary) << content;
    return path;
}

void expect_unique_ids(const ServerCounts& c) {
    std::set<std::string> unique(c.ids.begin(), c.ids.end());
    EXPECT_EQ(unique.size(), c.ids.size()) << "ids were reused";
    for (const std::string& id : c.ids) {
        ASSERT_FALSE(id.empty());
        ASSERT_NE(id.front(), '"') << "ids are numbers: " << id;
    }
}

TEST(LoadRun, ClosedLoopCountsMatchServer) {
    TestServer server;
    LoadResult run = run_load(base_args(
        server, {"--method", "eth_blockNumber", "--connections", "4", "--duration", "1s"}));
    ASSERT_EQ(run.exit_code, 0) << run.err;
    Report r(run);
    ASSERT_TRUE(r.ok());
    ServerCounts c = server.snapshot();
    EXPECT_GT(r.u("/requests"), 50u);
    EXPECT_EQ(r.u("/requests"), c.http_requests);
    EXPECT_EQ(r.u("/ok"), c.http_requests);
    EXPECT_EQ(r.u("/calls"), c.calls);
    EXPECT_EQ(r.u("/errors/total"), 0u);
    EXPECT_EQ(c.methods["eth_blockNumber"], c.calls);
    EXPECT_EQ(r.u("/latency_us/count"), r.u("/requests"));
    expect_unique_ids(c);
    EXPECT_EQ(r.s("/mode"), "closed");
}

TEST(LoadRun, WarmupIsDiscarded) {
    TestServer server;
    std::vector<std::string> a{"--target", server.url(), "--json",          "--quiet",
                               "--no-pin", "--method",   "eth_blockNumber", "--connections",
                               "2",        "--warmup",   "500ms",           "--duration",
                               "500ms"};
    LoadResult run = run_load(a);
    ASSERT_EQ(run.exit_code, 0) << run.err;
    Report r(run);
    ServerCounts c = server.snapshot();
    EXPECT_GT(r.u("/requests"), 0u);
    EXPECT_LT(r.u("/requests"), c.http_requests) << "warmup requests must not be reported";
    EXPECT_NEAR(r.d("/window_s"), 0.5, 0.01);
}

TEST(LoadRun, TwoThreadsUseDistinctIdsAndMatchServer) {
    TestServer server;
    LoadResult run = run_load(base_args(server, {"--method", "eth_blockNumber", "--connections",
                                                 "4", "--threads", "2", "--duration", "1s"}));
    ASSERT_EQ(run.exit_code, 0) << run.err;
    Report r(run);
    ServerCounts c = server.snapshot();
    EXPECT_EQ(r.u("/requests"), c.http_requests);
    EXPECT_EQ(r.u("/threads"), 2u);
    expect_unique_ids(c);
}

TEST(LoadRun, OpenLoopSendsRateTimesDuration) {
    TestServer server;
    LoadResult run = run_load(
        base_args(server, {"--method", "eth_blockNumber", "--rate", "400", "--duration", "2s"}));
    ASSERT_EQ(run.exit_code, 0) << run.err;
    Report r(run);
    ServerCounts c = server.snapshot();
    EXPECT_GE(r.u("/requests"), 700u);
    EXPECT_LE(r.u("/requests"), 900u);
    EXPECT_EQ(r.u("/requests"), c.http_requests);
    EXPECT_EQ(r.s("/mode"), "open");
    EXPECT_GT(run.wall_s, 1.5) << "a 2 s open-loop run ended too early";
    EXPECT_LT(run.wall_s, 20.0);
}

// The server blocks for 200 ms. With 4 connections, at most 4 requests are in flight when it
// stalls; ~100 more are due during the stall. Counting from intended times, all of those wait, so
// well over 1% of the ~1000 requests see >= 150 ms.
TEST(LoadRun, StallShowsInLatencyOfRequestsScheduledDuringIt) {
    ServerOptions options;
    options.stall_at = 300;
    options.stall_ms = 200;
    TestServer server(options);
    LoadResult run =
        run_load(base_args(server, {"--method", "eth_blockNumber", "--rate", "500", "--connections",
                                    "4", "--duration", "2s", "--timeout", "5000"}));
    ASSERT_EQ(run.exit_code, 0) << run.err;
    Report r(run);
    EXPECT_GE(r.d("/latency_us/p99"), 150'000.0);
    EXPECT_GE(r.d("/latency_us/max"), 180'000.0);
    EXPECT_GE(r.u("/late"), 50u) << "requests due during the stall start late";
    EXPECT_EQ(r.u("/errors/total"), 0u);
}

TEST(LoadRun, ClassifiesJsonRpcHttpAndMalformedAnswers) {
    TestServer server;
    std::string mix =
        write_temp("classify.mix",
                   "# one of each\n1 eth_blockNumber\n1 test_error [1,2]\n1 test_http500\n"
                   "1 test_malformed {}\n");
    LoadResult run =
        run_load(base_args(server, {"--mix", mix, "--connections", "2", "--duration", "1s"}));
    unlink(mix.c_str());
    ASSERT_EQ(run.exit_code, 0) << run.err;
    Report r(run);
    ServerCounts c = server.snapshot();
    EXPECT_EQ(r.u("/ok"), c.methods["eth_blockNumber"]);
    EXPECT_EQ(r.u("/errors/jsonrpc"), c.methods["test_error"]);
    EXPECT_EQ(r.u("/errors/http"), c.methods["test_http500"]);
    EXPECT_EQ(r.u("/errors/malformed"), c.methods["test_malformed"]);
    EXPECT_GT(r.u("/errors/jsonrpc"), 0u);
    EXPECT_GT(r.u("/errors/http"), 0u);
    EXPECT_GT(r.u("/errors/malformed"), 0u);
    std::string code = "/jsonrpc_error_codes/" + std::to_string(test_error_code);
    EXPECT_EQ(r.u(code.c_str()), r.u("/errors/jsonrpc"));
    EXPECT_EQ(r.u("/http_status_codes/500"), r.u("/errors/http"));
    EXPECT_EQ(r.u("/errors/total"), r.u("/requests") - r.u("/ok"));
    EXPECT_EQ(r.u("/calls_by_method/test_error"), c.methods["test_error"]);
}

TEST(LoadRun, TimeoutsAreCounted) {
    TestServer server;
    LoadResult run = run_load(base_args(server, {"--method", "test_hang", "--connections", "2",
                                                 "--duration", "600ms", "--timeout", "150"}));
    ASSERT_EQ(run.exit_code, 0) << run.err;
    Report r(run);
    EXPECT_GT(r.u("/errors/timeout"), 0u);
    EXPECT_EQ(r.u("/errors/timeout"), r.u("/requests"));
    EXPECT_EQ(r.u("/ok"), 0u);
    EXPECT_EQ(r.u("/latency_us/count"), 0u) << "timeouts have no latency";
}

TEST(LoadRun, OpenLoopTimeoutsCountEveryScheduledRequest) {
    TestServer server;
    // One connection to a server that never answers: each request times out (counted from its
    // intended time), the connection is replaced, and every scheduled request ends as a timeout.
    LoadResult run =
        run_load(base_args(server, {"--method", "test_hang", "--rate", "100", "--connections", "1",
                                    "--duration", "500ms", "--timeout", "100"}));
    ASSERT_EQ(run.exit_code, 0) << run.err;
    Report r(run);
    EXPECT_EQ(r.u("/errors/timeout"), r.u("/requests"));
    EXPECT_GE(r.u("/requests"), 40u);
    EXPECT_LE(r.u("/requests"), 60u);
    EXPECT_EQ(r.u("/latency_us/count"), 0u);
}

TEST(LoadRun, ConnectionErrorsAreCounted) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
    ::close(fd);  // nothing listens on this port now
    std::string url = "http://127.0.0.1:" + std::to_string(ntohs(a.sin_port));
    LoadResult run =
        run_load({"--target", url, "--json", "--quiet", "--no-pin", "--warmup", "0", "--method",
                  "eth_blockNumber", "--connections", "2", "--duration", "300ms"});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    Report r(run);
    EXPECT_GT(r.u("/errors/connection"), 0u);
    EXPECT_EQ(r.u("/errors/connection"), r.u("/requests"));
}

TEST(LoadRun, BatchesWrapCallsInOneRequest) {
    TestServer server;
    LoadResult run = run_load(base_args(server, {"--method", "eth_blockNumber", "--batch", "5",
                                                 "--connections", "2", "--duration", "500ms"}));
    ASSERT_EQ(run.exit_code, 0) << run.err;
    Report r(run);
    ServerCounts c = server.snapshot();
    EXPECT_EQ(c.calls, 5 * c.http_requests);
    EXPECT_EQ(r.u("/requests"), c.http_requests);
    EXPECT_EQ(r.u("/calls"), c.calls);
    EXPECT_EQ(r.u("/ok"), r.u("/requests"));
    expect_unique_ids(c);
}

http::JwtSecret secret_of(uint8_t seed) {
    http::JwtSecret s;
    for (size_t i = 0; i < s.key.size(); i++) s.key[i] = static_cast<uint8_t>(seed + i * 7);
    return s;
}

std::string secret_file(const http::JwtSecret& s) {
    std::string hex;
    char b[3];
    for (uint8_t v : s.key) {
        std::snprintf(b, sizeof b, "%02x", v);
        hex += b;
    }
    return write_temp("jwt.hex", hex + "\n");
}

TEST(LoadRun, SignsEveryRequestWithTheJwtSecret) {
    ServerOptions options;
    options.jwt_secret = secret_of(3);
    TestServer server(options);
    std::string path = secret_file(secret_of(3));
    LoadResult run = run_load(base_args(
        server, {"--method", "engine_exchangeCapabilities", "--params", "[[]]", "--jwt-secret",
                 path, "--jwt-cache", "0", "--connections", "2", "--duration", "500ms"}));
    ASSERT_EQ(run.exit_code, 0) << run.err;
    Report r(run);
    ServerCounts c = server.snapshot();
    EXPECT_EQ(c.auth_failures, 0u);
    EXPECT_GT(r.u("/ok"), 0u);
    EXPECT_EQ(r.u("/ok"), r.u("/requests"));

    ServerOptions other;
    other.jwt_secret = secret_of(9);  // a server with another secret answers 401
    TestServer wrong(other);
    LoadResult bad = run_load(base_args(wrong, {"--method", "eth_blockNumber", "--jwt-secret", path,
                                                "--connections", "1", "--duration", "300ms"}));
    unlink(path.c_str());
    ASSERT_EQ(bad.exit_code, 0) << bad.err;
    Report rb(bad);
    EXPECT_GT(rb.u("/http_status_codes/401"), 0u);
    EXPECT_EQ(rb.u("/http_status_codes/401"), rb.u("/requests"));
}

TEST(LoadRun, SendsNewPayloadFromTestdata) {
    const char* dir = std::getenv("EM_TESTDATA");
    std::string file = std::string(dir ? dir : "") + "/engine/geth-ethtest/newpayload.json";
    if (!dir || access(file.c_str(), R_OK) != 0) GTEST_SKIP() << "no test data at " << file;
    TestServer server;
    std::string mix = write_temp("np.mix", "3 @" + file + "#12\n1 @" + file + "#130-131\n");
    LoadResult run =
        run_load(base_args(server, {"--mix", mix, "--connections", "2", "--duration", "500ms"}));
    unlink(mix.c_str());
    ASSERT_EQ(run.exit_code, 0) << run.err;
    Report r(run);
    ServerCounts c = server.snapshot();
    uint64_t engine_calls = 0;
    for (const auto& [method, n] : c.methods) {
        EXPECT_TRUE(method.starts_with("engine_newPayloadV")) << method;
        engine_calls += n;
    }
    EXPECT_EQ(engine_calls, c.calls);
    EXPECT_EQ(r.u("/ok"), c.http_requests);
    EXPECT_GT(c.calls, 0u);
    expect_unique_ids(c);  // the file's string ids ("np12") were replaced by numbers
}

TEST(LoadRun, JsonReportHasTheDocumentedFields) {
    TestServer server;
    LoadResult run = run_load(base_args(
        server, {"--method", "eth_chainId", "--connections", "1", "--duration", "300ms"}));
    ASSERT_EQ(run.exit_code, 0) << run.err;
    Report r(run);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.s("/tool"), "enginemux-load");
    EXPECT_EQ(r.s("/target"), server.url());
    for (const char* p :
         {"/rate_rps", "/duration_s", "/warmup_s", "/window_s", "/throughput_rps",
          "/latency_us/min", "/latency_us/mean", "/latency_us/p50", "/latency_us/p90",
          "/latency_us/p99", "/latency_us/p99_9", "/latency_us/max"})
        r.d(p);
    for (const char* p :
         {"/connections", "/threads", "/batch", "/timeout_ms", "/requests", "/calls", "/ok",
          "/errors/total", "/errors/jsonrpc", "/errors/http", "/errors/timeout",
          "/errors/connection", "/errors/malformed", "/late", "/latency_us/count"})
        r.u(p);
    EXPECT_TRUE(r.at("/jsonrpc_error_codes").is_object());
    EXPECT_TRUE(r.at("/http_status_codes").is_object());
    EXPECT_EQ(r.u("/calls_by_method/eth_chainId"), r.u("/calls"));
    EXPECT_EQ(r.u("/by_method/eth_chainId/calls"), r.u("/calls"));
    EXPECT_EQ(r.u("/by_method/eth_chainId/ok"), r.u("/ok"));
    for (const char* p :
         {"/by_method/eth_chainId/errors/jsonrpc", "/by_method/eth_chainId/errors/http",
          "/by_method/eth_chainId/errors/timeout", "/by_method/eth_chainId/errors/connection",
          "/by_method/eth_chainId/errors/malformed", "/by_method/eth_chainId/latency_us/count"})
        r.u(p);
    for (const char* p :
         {"/by_method/eth_chainId/latency_us/p50", "/by_method/eth_chainId/latency_us/p99",
          "/by_method/eth_chainId/latency_us/p99_9", "/by_method/eth_chainId/latency_us/max"})
        r.d(p);
    EXPECT_TRUE(r.at("/by_method/eth_chainId/statuses").is_object());
    EXPECT_LE(r.d("/latency_us/p50"), r.d("/latency_us/p99"));
    EXPECT_LE(r.d("/latency_us/p99"), r.d("/latency_us/max"));
    EXPECT_GT(r.d("/throughput_rps"), 0.0);
}

TEST(LoadRun, WritesTheLatencyCsv) {
    TestServer server;
    std::string csv = temp_path("latency.csv");
    LoadResult run =
        run_load(base_args(server, {"--method", "eth_blockNumber", "--connections", "1",
                                    "--duration", "300ms", "--latency-csv", csv}));
    ASSERT_EQ(run.exit_code, 0) << run.err;
    Report r(run);
    std::string text = slurp(csv);
    unlink(csv.c_str());
    ASSERT_EQ(text.rfind("percentile,latency_us\n", 0), 0u) << text;
    size_t last = text.rfind("100.000000,");
    ASSERT_NE(last, std::string::npos) << text;
    EXPECT_NEAR(std::atof(text.c_str() + last + 11), r.d("/latency_us/max"), 0.01);
    LoadResult bad =
        run_load(base_args(server, {"--method", "eth_blockNumber", "--connections", "1",
                                    "--duration", "100ms", "--latency-csv", "/nonexistent/x.csv"}));
    EXPECT_EQ(bad.exit_code, 1);
    EXPECT_NE(bad.err.find("--latency-csv"), std::string::npos) << bad.err;
}

TEST(LoadRun, TextReportWithoutJson) {
    TestServer server;
    LoadResult run =
        run_load({"--target", server.url(), "--quiet", "--no-pin", "--warmup", "0", "--method",
                  "eth_blockNumber", "--connections", "1", "--duration", "200ms"});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    for (const char* word : {"requests", "errors", "throughput", "p99.9", "closed loop"})
        EXPECT_NE(run.out.find(word), std::string::npos) << word << " missing in:\n" << run.out;
}

TEST(LoadRun, BadFlagsExitTwoNamingTheFlag) {
    struct Case {
        std::vector<std::string> args;
        const char* named;
    };
    std::vector<Case> cases = {
        {{"--target", "http://127.0.0.1:1", "--method", "x", "--bogus", "1"}, "--bogus"},
        {{"--target", "http://127.0.0.1:1", "--method", "x", "--rate", "fast"}, "--rate"},
        {{"--target", "http://127.0.0.1:1", "--method", "x", "--duration", "soon"}, "--duration"},
        {{"--target", "http://127.0.0.1:1", "--method", "x", "--threads", "0"}, "--threads"},
        {{"--target", "http://127.0.0.1:1", "--method", "x", "--batch"}, "--batch"},
        {{"--target", "ftp://x", "--method", "x"}, "--target"},
        {{"--method", "x"}, "--target"},
        {{"--target", "http://127.0.0.1:1", "--mix", "/nonexistent/mix"}, "--mix"},
        {{"--target", "http://127.0.0.1:1", "--method", "x", "--params", "7"}, "--params"},
    };
    for (const Case& c : cases) {
        LoadResult run = run_load(c.args);
        EXPECT_EQ(run.exit_code, 2) << c.named << ": " << run.err;
        EXPECT_NE(run.err.find(c.named), std::string::npos)
            << "stderr does not name " << c.named << ": " << run.err;
    }
}

}  // namespace
}  // namespace em::test
