// The Redis client and shared tier against a real redis-server (Debian's), started by the test on
// 127.0.0.1 on a free port: two clients (two enginemux instances) share the cache and one token
// bucket; AUTH and SELECT; in_flight_max; a frozen server (SIGSTOP) times a call out, benches the
// client (calls then fail at once) and a probe re-admits it; a killed server benches it and a
// restarted one is probed back (the script re-sent after NOSCRIPT). Assertions count outcomes;
// the only time bounds are generous ceilings (a timeout must come within timeout_ms + 2 s).
// Exits 77 (skip) without redis-server or io_uring.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "../common/local_process.h"
#include "../io/uring_skip.h"
#include "base/clock.h"
#include "io/loop.h"
#include "redis/client.h"
#include "redis/shared_tier.h"

namespace em::redis {
namespace {

std::string redis_binary;
using test::find_in_path;
using test::free_port;

bool port_accepts(uint16_t port) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    return ok;
}

/// redis-server on 127.0.0.1:port, no persistence; killed with the test.
class RedisServer {
  public:
    explicit RedisServer(uint16_t port, std::string password = {})
        : port_(port), password_(std::move(password)) {
        start();
    }
    ~RedisServer() {
        kill();
        for (const std::string& dir : dirs_) std::filesystem::remove_all(dir);
    }
    void start() {
        char dir[] = "/tmp/em-redis-XXXXXX";
        ASSERT_NE(mkdtemp(dir), nullptr);
        dir_ = dir;
        dirs_.push_back(dir_);
        std::string port = std::to_string(port_);
        pid_ = fork();
        if (pid_ == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            int fd = ::open((dir_ + "/redis.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
            dup2(fd, 1);
            dup2(fd, 2);
            if (password_.empty())
                execl(redis_binary.c_str(), "redis-server", "--port", port.c_str(), "--bind",
                      "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir_.c_str(),
                      static_cast<char*>(nullptr));
            else
                execl(redis_binary.c_str(), "redis-server", "--port", port.c_str(), "--bind",
                      "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir_.c_str(),
                      "--requirepass", password_.c_str(), static_cast<char*>(nullptr));
            _exit(127);
        }
        for (int i = 0; i < 500 && !port_accepts(port_); i++)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        ASSERT_TRUE(port_accepts(port_)) << "redis-server did not listen; see " << dir_;
    }
    void kill() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGCONT);
        ::kill(pid_, SIGKILL);
        int status;
        waitpid(pid_, &status, 0);
        pid_ = 0;
    }
    void signal(int sig) { ::kill(pid_, sig); }
    uint16_t port() const { return port_; }

  private:
    uint16_t port_;
    std::string password_;
    std::string dir_;
    std::vector<std::string> dirs_;  ///< one per start, removed at the end
    pid_t pid_ = 0;
};

/// A raw command's reply, copied.
struct Raw : ReplyHandler {
    int calls = 0;
    bool failed = false;
    Errc code = Errc::ok;
    Kind kind = Kind::null_bulk;
    std::string str;
    int64_t integer = 0;
    void on_reply(Command&, const Reply* reply, const Error* error) override {
        calls++;
        failed = error != nullptr;
        if (error) code = error->code();
        if (reply) {
            kind = reply->kind();
            str = std::string(reply->str());
            integer = reply->integer();
        }
    }
};

class RedisTest : public ::testing::Test {
  protected:
    void SetUp() override {
        io::LoopConfig lc;
        lc.name = "redis-test";
        auto loop = io::Loop::create(lc);
        ASSERT_TRUE(loop) << loop.error().c_str();
        loop_ = std::move(*loop);
    }
    void TearDown() override {
        for (auto& c : clients_) c->stop();
        run_until([&] {
            for (auto& c : clients_)
                if (!c->stopped()) return false;
            return true;
        });
        clients_.clear();
    }
    /// Runs the loop until pred() or timeout_ms; returns pred().
    bool run_until(const std::function<bool()>& pred, uint64_t timeout_ms = 10'000) {
        uint64_t end = mono_ns() + timeout_ms * 1'000'000ull;
        while (!pred() && mono_ns() < end) loop_->run_once(5'000'000);
        return pred();
    }
    Client& make_client(const std::string& url, uint32_t timeout_ms = 1000,
                        uint32_t in_flight_max = 1024) {
        ClientConfig base;
        base.timeout_ms = timeout_ms;
        base.in_flight_max = in_flight_max;
        auto config = client_config(url, base);
        EXPECT_TRUE(config) << config.error().c_str();
        clients_.push_back(std::make_unique<Client>(*loop_, *config));
        clients_.back()->start();
        return *clients_.back();
    }
    /// Sends args on client and waits for the reply.
    Raw raw(Client& client, std::initializer_list<std::string_view> args) {
        Raw r;
        Command c;
        c.handler = &r;
        std::vector<std::string_view> list(args);
        auto sent = client.send(c, list);
        EXPECT_TRUE(sent) << (sent ? "" : sent.error().c_str());
        if (!sent) return r;
        EXPECT_TRUE(run_until([&] { return r.calls == 1; }));
        return r;
    }
    static std::string url(uint16_t port, const char* rest = "") {
        return "redis://127.0.0.1:" + std::to_string(port) + rest;
    }

    std::unique_ptr<io::Loop> loop_;
    std::vector<std::unique_ptr<Client>> clients_;
};

struct Got : CacheDone {
    int calls = 0;
    CacheOutcome outcome = CacheOutcome::unavailable;
    std::string value;
    void on_cache(CacheGet&, CacheOutcome o, std::string_view v) override {
        calls++;
        outcome = o;
        value = std::string(v);
    }
};

struct Rated : RateDone {
    int allowed = 0, over = 0, unavailable = 0;
    uint32_t retry_min = UINT32_MAX, retry_max = 0;
    void on_rate(RateCheck&, RateOutcome o, uint32_t retry_after_ms) override {
        if (o == RateOutcome::allowed) allowed++;
        if (o == RateOutcome::over) {
            over++;
            retry_min = std::min(retry_min, retry_after_ms);
            retry_max = std::max(retry_max, retry_after_ms);
        }
        if (o == RateOutcome::unavailable) unavailable++;
    }
    int total() const { return allowed + over + unavailable; }
};

TEST_F(RedisTest, CacheIsSharedByTwoClientsInTheSelectedDatabase) {
    RedisServer server(free_port());
    Client& a = make_client(url(server.port(), "/3"));
    Client& b = make_client(url(server.port(), "/3"));
    ASSERT_TRUE(run_until([&] { return a.admitted() && b.admitted(); }));
    SharedTier tier_a(a, {});
    SharedTier tier_b(b, {});
    std::string key = std::string("eth_getBlockByHash") + '\0' + "[\"0x01\",false]";

    Got g1;
    CacheGet op1;
    op1.done = &g1;
    ASSERT_TRUE(tier_a.get(op1, key));
    EXPECT_EQ(g1.calls, 0);  // never inside get()
    ASSERT_TRUE(run_until([&] { return g1.calls == 1; }));
    EXPECT_EQ(g1.outcome, CacheOutcome::miss);

    tier_a.put(key, "{\"number\":\"0x1\"}");
    Got g2;  // on a's connection, after the SET: so the SET is done when it answers
    CacheGet op2;
    op2.done = &g2;
    ASSERT_TRUE(tier_a.get(op2, key));
    ASSERT_TRUE(run_until([&] { return g2.calls == 1; }));
    EXPECT_EQ(g2.outcome, CacheOutcome::hit);
    Got g3;
    CacheGet op3;
    op3.done = &g3;
    ASSERT_TRUE(tier_b.get(op3, key));  // the other instance
    ASSERT_TRUE(run_until([&] { return g3.calls == 1; }));
    EXPECT_EQ(g3.outcome, CacheOutcome::hit);
    EXPECT_EQ(g3.value, "{\"number\":\"0x1\"}");

    // Where it lives: db 3, under the prefix and the key's hash; a TTL when asked for.
    char name[128];
    std::string redis_key(name, cache_redis_key("enginemux:", key, name));
    EXPECT_EQ(raw(a, {"EXISTS", redis_key}).integer, 1);
    tier_a.put("k2", "v2", 100'000);
    Raw ttl = raw(a, {"PTTL", std::string(name, cache_redis_key("enginemux:", "k2", name))});
    EXPECT_GT(ttl.integer, 0);
    EXPECT_LE(ttl.integer, 100'000);
    EXPECT_EQ(raw(a, {"SELECT", "0"}).str, "OK");
    EXPECT_EQ(raw(a, {"EXISTS", redis_key}).integer, 0);
    EXPECT_EQ(tier_a.stats().misses, 1u);
    EXPECT_EQ(tier_a.stats().hits + tier_b.stats().hits, 2u);
}

void admit_many(SharedTier& a, SharedTier& b, Rated& rated, RateCheck* checks, int n,
                std::string_view key, double rate, double burst) {
    for (int i = 0; i < n; i++) {
        checks[i].done = &rated;
        SharedTier& tier = i % 2 ? b : a;
        ASSERT_TRUE(tier.admit(checks[i], key, rate, burst));
    }
}

TEST_F(RedisTest, OneTokenBucketIsSharedByTwoClients) {
    RedisServer server(free_port());
    Client& a = make_client(url(server.port()));
    Client& b = make_client(url(server.port()));
    ASSERT_TRUE(run_until([&] { return a.admitted() && b.admitted(); }));
    SharedTier tier_a(a, {});
    SharedTier tier_b(b, {});

    // Redis computes the same script id as we do (EVALSHA names it).
    char sha[41];
    rate_script_sha1(sha);
    EXPECT_EQ(raw(a, {"SCRIPT", "LOAD", rate_script}).str, sha);

    // 0.1 token/s and a burst of 10: no token comes back during the test, so of 20 requests
    // spread over both clients exactly 10 pass.
    Rated slow;
    RateCheck checks[20];
    admit_many(tier_a, tier_b, slow, checks, 20, "client-1", 0.1, 10);
    ASSERT_TRUE(run_until([&] { return slow.total() == 20; }));
    EXPECT_EQ(slow.allowed, 10);
    EXPECT_EQ(slow.over, 10);
    EXPECT_GE(slow.retry_min, 1u);
    EXPECT_LE(slow.retry_max, 10'000u);

    // 10/s with a burst of 10 is 10/s across both: of 30 at once, 10 pass (11 if the test was
    // slow enough for a token to come back meanwhile).
    Rated fast;
    RateCheck more[30];
    admit_many(tier_a, tier_b, fast, more, 30, "client-2", 10, 10);
    ASSERT_TRUE(run_until([&] { return fast.total() == 30; }));
    EXPECT_GE(fast.allowed, 10);
    EXPECT_LE(fast.allowed, 11);
    EXPECT_EQ(fast.unavailable, 0);
    EXPECT_LE(fast.retry_max, 100u);

    // The bucket lives under the prefix and expires once it would be full again.
    EXPECT_EQ(raw(a, {"EXISTS", "enginemux:rl:client-2"}).integer, 1);
    Raw ttl = raw(a, {"PTTL", "enginemux:rl:client-2"});
    EXPECT_GT(ttl.integer, 0);
    EXPECT_LE(ttl.integer, 2000);

    // Redis forgot the script: EVALSHA answers NOSCRIPT and the tier sends it whole.
    EXPECT_EQ(raw(a, {"SCRIPT", "FLUSH"}).str, "OK");
    Rated after;
    RateCheck one[1];
    admit_many(tier_a, tier_b, after, one, 1, "client-3", 1, 1);
    ASSERT_TRUE(run_until([&] { return after.total() == 1; }));
    EXPECT_EQ(after.allowed, 1);
    EXPECT_EQ(tier_a.stats().noscript, 1u);
}

TEST_F(RedisTest, AuthSelectAndInFlightMax) {
    RedisServer server(free_port(), "s3cret");
    Client& good = make_client(url(server.port(), "").insert(8, ":s3cret@") + "/2", 1000, 3);
    Client& bad = make_client(url(server.port(), "").insert(8, ":wrong@"));
    Client& none = make_client(url(server.port()));  // PING answered -NOAUTH
    Client& far = make_client(url(server.port(), "").insert(8, ":s3cret@") + "/9999");
    ASSERT_TRUE(run_until([&] {
        return good.admitted() && bad.stats().connection_failures > 0 &&
               none.stats().connection_failures > 0 && far.stats().connection_failures > 0;
    }));
    for (Client* c : {&bad, &none, &far}) {
        EXPECT_FALSE(c->admitted());
        EXPECT_EQ(c->stats().admitted, 0u);
    }

    // in_flight_max = 3: the fourth command waiting for a reply is refused at once.
    SharedTier tier(good, {});
    Got got;
    CacheGet ops[4];
    for (CacheGet& op : ops) op.done = &got;
    EXPECT_TRUE(tier.get(ops[0], "a"));
    EXPECT_TRUE(tier.get(ops[1], "b"));
    EXPECT_TRUE(tier.get(ops[2], "c"));
    EXPECT_FALSE(tier.get(ops[3], "d"));
    EXPECT_EQ(good.stats().refused, 1u);
    ASSERT_TRUE(run_until([&] { return got.calls == 3; }));
    EXPECT_EQ(got.outcome, CacheOutcome::miss);
    EXPECT_TRUE(tier.get(ops[3], "d"));  // room again
    ASSERT_TRUE(run_until([&] { return got.calls == 4; }));
}

TEST_F(RedisTest, AFrozenServerBenchesTheClientAndAProbeReadmitsIt) {
    RedisServer server(free_port());
    const uint32_t timeout_ms = 200;
    Client& a = make_client(url(server.port()), timeout_ms);
    ASSERT_TRUE(run_until([&] { return a.admitted(); }));
    SharedTier tier(a, {});

    server.signal(SIGSTOP);
    Got got;
    CacheGet ops[5];
    uint64_t sent_ns = mono_ns();
    for (CacheGet& op : ops) {
        op.done = &got;
        ASSERT_TRUE(tier.get(op, "frozen"));
    }
    ASSERT_TRUE(run_until([&] { return got.calls == 5; }));
    uint64_t waited_ms = (mono_ns() - sent_ns) / 1'000'000;
    EXPECT_EQ(got.outcome, CacheOutcome::unavailable);
    EXPECT_LE(waited_ms, timeout_ms + 2000u);  // a generous ceiling, not a speed test
    EXPECT_EQ(a.stats().timeouts, 5u);
    EXPECT_FALSE(a.admitted());
    // Benched: calls fail at once, without a callback.
    CacheGet later;
    later.done = &got;
    for (int i = 0; i < 10; i++) EXPECT_FALSE(tier.get(later, "frozen"));
    EXPECT_EQ(got.calls, 5);
    EXPECT_EQ(a.stats().refused, 10u);

    // Thawed before the first probe: the late replies are read and dropped, the probe's PING
    // is answered on the same connection, and the client is admitted again.
    server.signal(SIGCONT);
    ASSERT_TRUE(run_until([&] { return a.admitted(); }));
    EXPECT_EQ(a.stats().late_replies, 5u);
    EXPECT_EQ(a.stats().connects, 1u);
    EXPECT_EQ(a.stats().benched, 1u);
    EXPECT_EQ(a.stats().admitted, 2u);
    ASSERT_TRUE(tier.get(later, "frozen"));
    ASSERT_TRUE(run_until([&] { return got.calls == 6; }));
    EXPECT_EQ(got.outcome, CacheOutcome::miss);

    // Frozen across probes: a probe that times out drops the connection; thawed, a later
    // probe connects afresh.
    server.signal(SIGSTOP);
    ASSERT_TRUE(tier.get(later, "frozen"));
    ASSERT_TRUE(run_until([&] { return got.calls == 7; }));
    EXPECT_FALSE(a.admitted());
    ASSERT_TRUE(run_until([&] { return a.stats().probes >= 2 && a.stats().connects >= 2; }));
    server.signal(SIGCONT);
    ASSERT_TRUE(run_until([&] { return a.admitted(); }));
    EXPECT_EQ(a.stats().benched, 2u);
}

TEST_F(RedisTest, AKilledServerBenchesTheClientAndARestartedOneIsProbedBack) {
    RedisServer server(free_port());
    Client& a = make_client(url(server.port()), 200);
    ASSERT_TRUE(run_until([&] { return a.admitted(); }));
    SharedTier tier(a, {});
    Rated rated;
    RateCheck check;
    check.done = &rated;
    ASSERT_TRUE(tier.admit(check, "k", 1, 5));
    ASSERT_TRUE(run_until([&] { return rated.allowed == 1; }));

    server.kill();
    // The connection's end (EOF) arrives from the loop and benches the client.
    ASSERT_TRUE(run_until([&] { return !a.admitted(); }));
    EXPECT_GE(a.stats().connection_failures, 1u);
    Got got;
    CacheGet op;
    op.done = &got;
    int refused_before = static_cast<int>(a.stats().refused);
    for (int i = 0; i < 10; i++) EXPECT_FALSE(tier.get(op, "x"));
    EXPECT_EQ(static_cast<int>(a.stats().refused), refused_before + 10);
    RateCheck check2;
    check2.done = &rated;
    EXPECT_FALSE(tier.admit(check2, "k", 1, 5));  // the caller uses its embedded Budgets

    server.start();  // same port, empty: no data, no script
    ASSERT_TRUE(run_until([&] { return a.admitted(); }));
    EXPECT_GE(a.stats().connects, 2u);
    ASSERT_TRUE(tier.admit(check2, "k", 1, 5));
    ASSERT_TRUE(run_until([&] { return rated.total() == 2; }));
    EXPECT_EQ(rated.allowed, 2);
    EXPECT_EQ(tier.stats().noscript, 2u);  // a fresh server has no script: at start, after restart
    int calls = got.calls;
    ASSERT_TRUE(tier.get(op, "x"));
    ASSERT_TRUE(run_until([&] { return got.calls == calls + 1; }));
    EXPECT_EQ(got.outcome, CacheOutcome::miss);
}

}  // namespace
}  // namespace em::redis

int main(int argc, char** argv) {
    em::redis::redis_binary = em::test::find_in_path("redis-server");
    if (em::redis::redis_binary.empty()) {
        std::fprintf(stderr,
                     "SKIP: redis-server is not installed (apt-get install redis-server)\n");
        return 77;
    }
    return em::test::run_io_uring_tests(argc, argv);
}
