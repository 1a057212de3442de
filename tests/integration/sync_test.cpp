// The sync role end to end (issue 14): the real daemon with `--role sync` in front of three
// enginemux-mock-el processes, driven by three scripted consensus clients that differ by their
// JWT `id` claim (and, in one run, only by X-Forwarded-For behind a trusted proxy). What reaches
// an EL is read from its /mock/log (each call with its headBlockHash or blockHash).
//  - the best client (highest timestamp) drives the ELs; a lagging one's forkchoiceUpdated is
//    answered SYNCING and never reaches an EL; when the best stops, the next takes over within
//    best_stale_ms;
//  - one block from three clients is one call per EL, and every client gets the answer;
//  - a hung EL holds no client past its deadline; a client that hangs up early leaves the ELs'
//    calls to finish; engine calls are mirrored to other proxies, a dead one costing nothing;
//  - a wrong secret is 401 and changes nothing; a timestamp from the future is not followed and
//    is logged.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "harness.h"

namespace em::test {
namespace {

using namespace std::chrono_literals;

/// Occurrences of `needle` in `text`.
size_t count(const std::string& text, const std::string& needle) {
    size_t n = 0;
    for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1))
        n++;
    return n;
}

std::string hex_quantity(uint64_t v) {
    char out[24];
    std::snprintf(out, sizeof out, "0x%llx", static_cast<unsigned long long>(v));
    return out;
}

/// A forkchoiceUpdatedV3 with head 0x<head_digit x 64> and attributes at `timestamp`.
std::string forkchoice(int id, char head_digit, uint64_t timestamp) {
    std::string head = "0x" + std::string(64, head_digit);
    std::string zero32 = "0x" + std::string(64, '0');
    return R"({"jsonrpc":"2.0","id":)" + std::to_string(id) +
           R"(,"method":"engine_forkchoiceUpdatedV3","params":[{"headBlockHash":")" + head +
           R"(","safeBlockHash":")" + head + R"(","finalizedBlockHash":")" + zero32 +
           R"("},{"timestamp":")" + hex_quantity(timestamp) + R"(","prevRandao":")" + zero32 +
           R"(","suggestedFeeRecipient":"0x)" + std::string(40, '0') +
           R"(","withdrawals":[],"parentBeaconBlockRoot":")" + zero32 + R"("}]})";
}

/// payload_request's request with another id.
std::string with_id(std::string request, int id) {
    size_t at = request.find("\"id\":");
    size_t end = request.find(',', at);
    return request.replace(at, end - at, "\"id\":" + std::to_string(id));
}

/// The sync daemon: `--role sync` with `[sync]` from `table` (plus any lines for the file).
struct SyncFixture : ::testing::Test {
    TempDir dir;
    std::vector<std::unique_ptr<MockEl>> els;
    std::unique_ptr<Daemon> daemon;

    void start(const std::string& table, std::vector<std::string> el_args = {},
               std::vector<std::string> node_options = {}) {
        for (int i = 1; i <= 3; i++) {
            els.push_back(std::make_unique<MockEl>(dir, "el" + std::to_string(i),
                                                   i == 3 ? el_args : std::vector<std::string>{}));
        }
        std::string config = dir.write("sync.toml", table);
        daemon = std::make_unique<Daemon>(
            dir, std::vector<MockEl*>{els[0].get(), els[1].get(), els[2].get()},
            std::vector<std::string>{"--role", "sync", "--config", config}, node_options);
    }
    /// A request from the client with JWT id `id` (signed with the global secret).
    HttpReply from(const std::string& id, const std::string& body, int timeout_ms = 15000) {
        return http_request(daemon->port, "POST", "/", body, jwt_for(daemon->secret, id),
                            timeout_ms);
    }
    /// How many calls to `method` with `hash` text every EL's log has (one number per EL).
    std::vector<size_t> calls_with(const std::string& hash_digit_run) {
        std::vector<size_t> n;
        for (auto& el : els) n.push_back(count(el->log(), hash_digit_run));
        return n;
    }
    std::string status() { return daemon->admin("GET", "/status").body; }
};

std::string head_run(char digit) {
    return "0x" + std::string(64, digit);
}

TEST_F(SyncFixture, TheBestDrivesTheElsALaggingClientNeverReachesThemAndAStoppedBestIsReplaced) {
    start("[sync]\nbest_stale_ms = 4000\n");
    uint64_t now = static_cast<uint64_t>(wall_s());
    HttpReply a = from("cl-a", forkchoice(1, 'a', now - 10));
    EXPECT_EQ(json_at(a.body, "/result/payloadStatus/status"), "\"VALID\"") << a.body;
    EXPECT_NE(json_at(a.body, "/result/payloadId"), "null") << "the best client builds";
    HttpReply b = from("cl-b", forkchoice(2, 'b', now - 20));
    EXPECT_EQ(json_at(b.body, "/id"), "2");
    EXPECT_EQ(json_at(b.body, "/result/payloadStatus/status"), "\"SYNCING\"") << b.body;
    EXPECT_EQ(json_at(b.body, "/result/payloadId"), "null");
    HttpReply c = from("cl-c", forkchoice(3, 'c', now - 30));
    EXPECT_EQ(json_at(c.body, "/result/payloadStatus/status"), "\"SYNCING\"") << c.body;
    EXPECT_EQ(calls_with(head_run('a')), (std::vector<size_t>{1, 1, 1}));
    EXPECT_EQ(calls_with(head_run('b')), (std::vector<size_t>{0, 0, 0})) << "cl-b lags";
    EXPECT_EQ(calls_with(head_run('c')), (std::vector<size_t>{0, 0, 0})) << "cl-c lags";

    std::string s = status();
    EXPECT_EQ(json_at(s, "/sync/best"), "\"cl-a\"") << s;
    EXPECT_EQ(json_at(s, "/sync/clients/1/name"), "\"cl-b\"") << s;
    EXPECT_EQ(json_at(s, "/sync/clients/1/address"), "\"127.0.0.1\"") << s;
    EXPECT_EQ(json_at(s, "/sync/clients/1/timestamp"), std::to_string(now - 20)) << s;
    EXPECT_EQ(json_at(s, "/sync/clients/1/head"), "\"" + head_run('b') + "\"") << s;
    EXPECT_EQ(json_at(s, "/sync/clients/1/calls"), "1") << s;
    std::string metrics = daemon->admin("GET", "/metrics").body;
    EXPECT_EQ(metric_value(metrics, "enginemux_sync_best{client=\"cl-a\"}"), 1) << metrics;
    EXPECT_EQ(metric_value(metrics, "enginemux_sync_best{client=\"cl-b\"}"), 0);
    EXPECT_EQ(metric_value(metrics,
                           "enginemux_sync_client_calls_total{client=\"cl-b\",method="
                           "\"engine_forkchoiceUpdatedV3\"}"),
              1);

    // cl-a stops. cl-b keeps calling: before best_stale_ms it is still told SYNCING; after it,
    // cl-b is the best and its forkchoiceUpdated reaches every EL. (4 s of staleness against a
    // 1-s sleep: a loaded machine, or a ThreadSanitizer build, has 3 s to answer in between.)
    uint64_t stopped = mono_ns();
    auto since_stop_ms = [&] { return (mono_ns() - stopped) / 1'000'000; };
    std::this_thread::sleep_for(1000ms);
    HttpReply early = from("cl-b", forkchoice(4, 'b', now - 19));
    ASSERT_LT(since_stop_ms(), 3800u) << "the machine is too slow for this check";
    EXPECT_EQ(json_at(early.body, "/result/payloadStatus/status"), "\"SYNCING\"") << early.body;
    while (since_stop_ms() < 4300) std::this_thread::sleep_for(50ms);
    from("cl-c", forkchoice(5, 'c', now - 29));
    HttpReply late = from("cl-b", forkchoice(6, 'b', now - 18));
    EXPECT_EQ(json_at(late.body, "/result/payloadStatus/status"), "\"VALID\"") << late.body;
    EXPECT_EQ(calls_with(head_run('b')), (std::vector<size_t>{1, 1, 1}));
    EXPECT_EQ(calls_with(head_run('c')), (std::vector<size_t>{0, 0, 0}));
    EXPECT_EQ(json_at(status(), "/sync/best"), "\"cl-b\"");
}

TEST_F(SyncFixture, OneBlockFromThreeClientsIsOneCallPerElAndEveryClientGetsTheAnswer) {
    start("[sync]\n", {"--rule", "engine_newPayload*:delay=400"});
    std::string block = payload_request(3, 2, 21);
    std::string hash = json_at(block, "/params/0/blockHash");
    ASSERT_EQ(hash.size(), 68u) << block.substr(0, 200);
    HttpReply replies[3];
    std::vector<std::thread> clients;
    for (int k = 0; k < 3; k++) {
        clients.emplace_back([&, k] {
            std::this_thread::sleep_for(std::chrono::milliseconds(50 * k));
            replies[k] = from("cl-" + std::to_string(k), with_id(block, 100 + k));
        });
    }
    for (auto& t : clients) t.join();
    for (int k = 0; k < 3; k++) {
        EXPECT_EQ(json_at(replies[k].body, "/id"), std::to_string(100 + k)) << replies[k].body;
        EXPECT_EQ(status_of(replies[k]), "\"VALID\"") << replies[k].body;
    }
    std::string bare = hash.substr(1, hash.size() - 2);
    EXPECT_EQ(calls_with(bare), (std::vector<size_t>{1, 1, 1}));
    // A copy after the answer, inside dedup_window_ms: answered from it, no call.
    HttpReply again = from("cl-0", with_id(block, 200));
    EXPECT_EQ(status_of(again), "\"VALID\"") << again.body;
    EXPECT_EQ(json_at(again.body, "/id"), "200");
    EXPECT_EQ(calls_with(bare), (std::vector<size_t>{1, 1, 1}));
}

TEST_F(SyncFixture, AHungElHoldsNoClientPastItsDeadline) {
    start("[sync]\n", {"--rule", "engine_newPayload*:hang"}, {"", "", "#timeout=1000"});
    uint64_t t0 = mono_ns();
    HttpReply r = from("cl-a", payload_request(3, 2, 31), 15000);
    uint64_t waited_ms = (mono_ns() - t0) / 1'000'000;
    EXPECT_EQ(status_of(r), "\"VALID\"") << r.body;
    EXPECT_LT(waited_ms, 4000u) << "el3's deadline is 1000 ms";
    // A second client's copy while el3 is still suspect is not held either.
    t0 = mono_ns();
    HttpReply other = from("cl-b", payload_request(3, 2, 32), 15000);
    EXPECT_EQ(status_of(other), "\"VALID\"") << other.body;
    EXPECT_LT((mono_ns() - t0) / 1'000'000, 4000u);
}

TEST_F(SyncFixture, AWrongSecretIs401AndChangesNothing) {
    std::string own = make_secret(dir, "cl-a.jwt");
    start("[[sync.clients]]\nname = \"cl-a\"\njwt_secret = \"" + own + "\"\n");
    uint64_t now = static_cast<uint64_t>(wall_s());
    std::string stranger = make_secret(dir, "stranger.jwt");
    // cl-a is listed: the global secret is not enough for it.
    HttpReply global = from("cl-a", forkchoice(1, 'a', now));
    EXPECT_EQ(global.status, 401) << global.body;
    EXPECT_NE(global.body.find("cl-a"), std::string::npos) << global.body;
    HttpReply wrong =
        http_request(daemon->port, "POST", "/", forkchoice(2, 'd', now), jwt_for(stranger, "cl-d"));
    EXPECT_EQ(wrong.status, 401) << wrong.body;
    EXPECT_NE(wrong.body.find("signature"), std::string::npos) << wrong.body;
    EXPECT_EQ(json_at(status(), "/sync/clients"), "[]") << "nobody was recorded";
    EXPECT_EQ(calls_with(head_run('a')), (std::vector<size_t>{0, 0, 0}));
    // With its own secret cl-a is followed; an unlisted client uses the global one.
    HttpReply right =
        http_request(daemon->port, "POST", "/", forkchoice(3, 'a', now - 5), jwt_for(own, "cl-a"));
    EXPECT_EQ(json_at(right.body, "/result/payloadStatus/status"), "\"VALID\"") << right.body;
    EXPECT_EQ(from("cl-b", forkchoice(4, 'b', now - 50)).status, 200);
    EXPECT_EQ(json_at(status(), "/sync/best"), "\"cl-a\"");
}

TEST_F(SyncFixture, ATimestampFromTheFutureIsNotFollowedAndIsLogged) {
    start("[sync]\nfuture_slack_s = 60\n");
    uint64_t now = static_cast<uint64_t>(wall_s());
    from("cl-a", forkchoice(1, 'a', now - 12));
    HttpReply f = from("cl-f", forkchoice(2, 'f', now + 3600));
    EXPECT_EQ(json_at(f.body, "/result/payloadStatus/status"), "\"SYNCING\"") << f.body;
    EXPECT_EQ(calls_with(head_run('f')), (std::vector<size_t>{0, 0, 0}));
    std::string s = status();
    EXPECT_EQ(json_at(s, "/sync/best"), "\"cl-a\"") << s;
    EXPECT_EQ(json_at(s, "/sync/clients/1/future"), "true") << s;
    std::string line = daemon->process->wait_for_line("future", 5000);
    EXPECT_NE(line.find("cl-f"), std::string::npos) << line;
}

TEST_F(SyncFixture, ClientsBehindATrustedProxyAreToldApartByXForwardedFor) {
    start("[sync]\ntrusted_proxies = [\"127.0.0.1\"]\n");
    uint64_t now = static_cast<uint64_t>(wall_s());
    auto via_proxy = [&](const char* client, const std::string& body) {
        return http_request(daemon->port, "POST", "/", body, jwt_for(daemon->secret), 15000,
                            std::string("X-Forwarded-For: ") + client + "\r\n");
    };
    HttpReply best = via_proxy("192.0.2.1", forkchoice(1, '1', now - 10));
    EXPECT_EQ(json_at(best.body, "/result/payloadStatus/status"), "\"VALID\"") << best.body;
    HttpReply lag = via_proxy("192.0.2.2", forkchoice(2, '2', now - 40));
    EXPECT_EQ(json_at(lag.body, "/result/payloadStatus/status"), "\"SYNCING\"") << lag.body;
    via_proxy("192.0.2.3", forkchoice(3, '3', now - 50));
    EXPECT_EQ(calls_with(head_run('1')), (std::vector<size_t>{1, 1, 1}));
    EXPECT_EQ(calls_with(head_run('2')), (std::vector<size_t>{0, 0, 0}));
    std::string s = status();
    EXPECT_EQ(json_at(s, "/sync/best"), "\"192.0.2.1\"") << s;
    EXPECT_EQ(json_at(s, "/sync/clients/2/address"), "\"192.0.2.3\"") << s;
}

TEST_F(SyncFixture, EngineCallsAreMirroredToProxiesAndADeadProxyCostsTheClientNothing) {
    MockEl proxy(dir, "proxy");
    start("[sync]\nproxy_request_timeout_ms = 1000\nproxies = [\"" + proxy.url() +
          "#jwt-secret=" + proxy.secret + "#name=live\", \"http://127.0.0.1:1#name=dead\"]\n");
    uint64_t now = static_cast<uint64_t>(wall_s());
    HttpReply a = from("cl-a", forkchoice(1, '7', now - 3));
    EXPECT_EQ(json_at(a.body, "/result/payloadStatus/status"), "\"VALID\"") << a.body;
    HttpReply b = from("cl-b", forkchoice(2, '8', now - 30));
    EXPECT_EQ(json_at(b.body, "/result/payloadStatus/status"), "\"SYNCING\"") << b.body;
    from("cl-a", R"({"jsonrpc":"2.0","id":3,"method":"eth_chainId","params":[]})");
    // Every engine call is mirrored, the lagging client's too (the other proxy decides for
    // itself); eth_* calls are not.
    std::string metrics;
    for (int i = 0; i < 100; i++) {
        metrics = daemon->admin("GET", "/metrics").body;
        if (metric_value(metrics, "enginemux_sync_mirror_failures_total{proxy=\"dead\"}") >= 2 &&
            count(proxy.log(), "engine_forkchoiceUpdatedV3") >= 2)
            break;
        std::this_thread::sleep_for(20ms);
    }
    std::string mirrored = proxy.log();
    EXPECT_EQ(count(mirrored, head_run('7')), 1u) << mirrored;
    EXPECT_EQ(count(mirrored, head_run('8')), 1u) << mirrored;
    EXPECT_EQ(metric_value(metrics, "enginemux_sync_mirrored_total{proxy=\"live\"}"), 2) << metrics;
    EXPECT_EQ(metric_value(metrics, "enginemux_sync_mirror_failures_total{proxy=\"live\"}"), 0);
    EXPECT_EQ(metric_value(metrics, "enginemux_sync_mirrored_total{proxy=\"dead\"}"), 2);
    EXPECT_EQ(metric_value(metrics, "enginemux_sync_mirror_failures_total{proxy=\"dead\"}"), 2);
    // The ELs saw only the best client's forkchoiceUpdated.
    EXPECT_EQ(calls_with(head_run('8')), (std::vector<size_t>{0, 0, 0}));
}

TEST_F(SyncFixture, CallsToTheElsFinishWhenTheClientHangsUpEarly) {
    // nginx's mirror gives up after 100 ms (sync-proxy's README): the ELs must still get the
    // whole call and their answers be taken.
    start("[sync]\n", {"--rule", "engine_newPayload*:delay=600"});
    std::string block = payload_request(3, 2, 41);
    HttpReply gone = from("cl-m", block, 100);
    EXPECT_FALSE(gone.ok()) << "the client hung up before the answer";
    std::string sample = "{node=\"el3\",method=\"engine_newPayloadV3\"}";
    std::string metrics;
    for (int i = 0; i < 100; i++) {
        metrics = daemon->admin("GET", "/metrics").body;
        if (metric_value(metrics, "enginemux_upstream_seconds_count" + sample) >= 1) break;
        std::this_thread::sleep_for(20ms);
    }
    EXPECT_EQ(metric_value(metrics, "enginemux_upstream_seconds_count" + sample), 1) << metrics;
    EXPECT_EQ(metric_value(metrics, "enginemux_upstream_errors_total" + sample), 0);
    std::string hash = json_at(block, "/params/0/blockHash");
    EXPECT_EQ(calls_with(hash.substr(1, hash.size() - 2)), (std::vector<size_t>{1, 1, 1}));
}

TEST_F(SyncFixture, AReloadAppliesSyncSettingsLiveAndRefusesNewClientsSecrets) {
    start("[sync]\nfuture_slack_s = 60\n");
    uint64_t now = static_cast<uint64_t>(wall_s());
    from("cl-a", forkchoice(1, 'a', now - 12));
    HttpReply ahead = from("cl-f", forkchoice(2, 'f', now + 600));
    EXPECT_EQ(json_at(ahead.body, "/result/payloadStatus/status"), "\"SYNCING\"") << ahead.body;
    // 600 s ahead is within a slack of 3600: after the reload cl-f is believed, and best.
    dir.write("sync.toml", "[sync]\nfuture_slack_s = 3600\n");
    daemon->process->signal(SIGHUP);
    std::string line = daemon->process->wait_for_line("reload: ", 5000);
    EXPECT_NE(line.find("sync.future_slack_s 60 -> 3600"), std::string::npos) << line;
    HttpReply believed = from("cl-f", forkchoice(3, 'f', now + 600));
    EXPECT_EQ(json_at(believed.body, "/result/payloadStatus/status"), "\"VALID\"") << believed.body;
    EXPECT_EQ(json_at(status(), "/sync/best"), "\"cl-f\"");
    // A client's own secret is read at start only: a reload that lists one is refused whole.
    dir.write("sync.toml",
              "[sync]\nfuture_slack_s = 3600\n[[sync.clients]]\nname = \"cl-a\"\n"
              "jwt_secret = \"" +
                  make_secret(dir, "a.jwt") + "\"\n");
    daemon->process->signal(SIGHUP);
    line = daemon->process->wait_for_line("reload refused", 5000);
    EXPECT_NE(line.find("sync.clients"), std::string::npos) << line;
}

TEST(SyncProxyFlags, AnOperatorsSyncProxyCommandLineRunsWithOneDashFlags) {
    TempDir dir;
    MockEl el1(dir, "el1"), el2(dir, "el2");
    std::string secret = make_secret(dir, "cl.jwt");
    std::string builders = el1.url() + "#jwt-secret=" + el1.secret + "#name=el1," + el2.url() +
                           "#jwt-secret=" + el2.secret + "#name=el2";
    Process daemon({binary("EM_ENGINEMUX"), "--role", "sync", "--jwt-secret", secret, "-addr",
                    "127.0.0.1:0", "-builders", builders, "-request-timeout=1500", "-loglevel",
                    "debug", "--admin-listen", "127.0.0.1:0"},
                   "enginemux");
    std::string line = daemon.wait_for_line("listening on");
    size_t at = line.find("listening on 127.0.0.1:");
    ASSERT_NE(at, std::string::npos) << line;
    auto port = static_cast<uint16_t>(std::atoi(line.c_str() + at + 23));
    EXPECT_NE(daemon.stderr_text().find("sync role, 2 nodes"), std::string::npos)
        << daemon.stderr_text();
    uint64_t now = static_cast<uint64_t>(wall_s());
    HttpReply r =
        http_request(port, "POST", "/", forkchoice(1, 'e', now - 1), jwt_for(secret, "beacon-1"));
    EXPECT_EQ(json_at(r.body, "/result/payloadStatus/status"), "\"VALID\"") << r.body;
    EXPECT_NE(el1.log().find(head_run('e')), std::string::npos);
    EXPECT_NE(el2.log().find(head_run('e')), std::string::npos);
    // Non-engine calls go to an EL (sync-proxy answered them with an empty 200).
    HttpReply eth = http_request(port, "POST", "/",
                                 R"({"jsonrpc":"2.0","id":2,"method":"eth_chainId","params":[]})",
                                 jwt_for(secret, "beacon-1"));
    EXPECT_NE(json_at(eth.body, "/result"), "<missing>") << eth.body;
}

}  // namespace
}  // namespace em::test
