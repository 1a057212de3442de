#include "app/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

namespace em::app {
namespace {

Result<LoadOutcome> run(std::vector<const char*> args, Config& c) {
    args.insert(args.begin(), "enginemux");
    return load(static_cast<int>(args.size()), args.data(), c);
}

std::string temp_file(const std::string& text) {
    char path[] = "/tmp/em-config-XXXXXX";
    int fd = mkstemp(path);
    EXPECT_GE(fd, 0);
    EXPECT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
    ::close(fd);
    return path;
}

TEST(NodeSpec, ExecutionbackupSyntax) {
    auto n =
        parse_node_spec("http://127.0.0.1:8551#jwt-secret=/etc/jwt.hex#timeout=1500#do-not-use");
    ASSERT_TRUE(n) << n.error().c_str();
    EXPECT_EQ(n->host, "127.0.0.1");
    EXPECT_EQ(n->port, 8551);
    EXPECT_EQ(n->path, "/");
    EXPECT_EQ(n->jwt_secret_path, "/etc/jwt.hex");
    EXPECT_EQ(n->timeout_ms, 1500u);
    EXPECT_EQ(n->role, NodeRole::mirror);
    auto tls = parse_node_spec("https://el.example:9000/engine#name=geth");
    ASSERT_TRUE(tls);
    EXPECT_TRUE(tls->tls);
    EXPECT_EQ(tls->path, "/engine");
    EXPECT_EQ(tls->name, "geth");
    auto v6 = parse_node_spec("http://[::1]:8551");
    ASSERT_TRUE(v6);
    EXPECT_EQ(v6->host, "::1");
    EXPECT_EQ(v6->port, 8551);
    auto dflt = parse_node_spec("http://localhost");
    ASSERT_TRUE(dflt);
    EXPECT_EQ(dflt->port, 80);
}

TEST(NodeSpec, ErrorsNameTheProblem) {
    auto scheme = parse_node_spec("ftp://x:1");
    ASSERT_FALSE(scheme);
    EXPECT_NE(scheme.error().message().find("http:// or https://"), std::string_view::npos);
    auto option = parse_node_spec("http://x:1#fast");
    ASSERT_FALSE(option);
    EXPECT_NE(option.error().message().find("unknown option '#fast'"), std::string_view::npos);
    auto timeout = parse_node_spec("http://x:1#timeout=abc");
    ASSERT_FALSE(timeout);
    EXPECT_NE(timeout.error().message().find("#timeout=abc"), std::string_view::npos);
    auto port = parse_node_spec("http://x:99999");
    ASSERT_FALSE(port);
    EXPECT_NE(port.error().message().find("port must be 1..65535"), std::string_view::npos);
}

// ws_url: the EL's WebSocket for eth_subscribe feeds (issue 17).
TEST(NodeSpec, WsUrl) {
    auto n = parse_node_spec("http://127.0.0.1:8551#ws=ws://127.0.0.1:8546/feed#name=a");
    ASSERT_TRUE(n) << n.error().c_str();
    EXPECT_EQ(n->ws_url, "ws://127.0.0.1:8546/feed");
    EXPECT_EQ(n->ws_host, "127.0.0.1");
    EXPECT_EQ(n->ws_port, 8546);
    EXPECT_EQ(n->ws_path, "/feed");
    EXPECT_EQ(n->name, "a");
    auto dflt = parse_node_spec("http://x:1#ws=ws://el");
    ASSERT_TRUE(dflt);
    EXPECT_EQ(dflt->ws_port, 80);
    EXPECT_EQ(dflt->ws_path, "/");
    auto tls = parse_node_spec("http://x:1#ws=wss://el:8546");
    ASSERT_FALSE(tls);
    EXPECT_NE(tls.error().message().find("wss:// is not supported yet"), std::string_view::npos);
    auto scheme = parse_node_spec("http://x:1#ws=http://el:8546");
    ASSERT_FALSE(scheme);
    EXPECT_NE(scheme.error().message().find("must start with ws://"), std::string_view::npos);
    auto port = parse_node_spec("http://x:1#ws=ws://el:0");
    ASSERT_FALSE(port);
    EXPECT_NE(port.error().message().find("port must be 1..65535"), std::string_view::npos);
}

// Names reach log lines and /metrics labels: one rule (base/name.h), errors naming the character.
TEST(NodeSpec, NamesFollowTheNameRule) {
    auto quote = parse_node_spec("http://x:1#name=ev\"il");
    ASSERT_FALSE(quote);
    EXPECT_EQ(
        quote.error().message(),
        "node #name=: character '\"' at offset 2 is not allowed in a name (use A-Z a-z 0-9 . _ -)");
    auto newline = parse_node_spec("http://x:1#name=a\nb");
    ASSERT_FALSE(newline);
    EXPECT_NE(newline.error().message().find("character 0x0a at offset 1"), std::string_view::npos);
    EXPECT_EQ(newline.error().message().find('\n'), std::string_view::npos);
    auto space = parse_node_spec("http://x:1#name=my node");
    ASSERT_FALSE(space);
    EXPECT_NE(space.error().message().find("character 0x20 at offset 2"), std::string_view::npos);
    ASSERT_FALSE(parse_node_spec("http://x:1#name=" + std::string(64, 'a')));
    EXPECT_TRUE(parse_node_spec("http://x:1#name=el-4.eu_1"));
    // The same rule for --nodes as a whole.
    Config c;
    auto flags = run({"--nodes", "http://x:1#name=a{b}", "--jwt-secret", "/tmp/x"}, c);
    ASSERT_FALSE(flags);
    EXPECT_NE(flags.error().message().find("character '{' at offset 1"), std::string_view::npos);
}

TEST(Flags, ExecutionbackupFlagsWork) {
    Config c;
    auto r = run({"--nodes", "http://127.0.0.1:8551,http://127.0.0.1:8552#do-not-use",
                  "--jwt-secret", "/tmp/jwt", "--port", "7001", "--listen-addr", "0.0.0.0",
                  "--timeout", "3000", "--fcu-majority", "0.5", "--log-level", "debug"},
                 c);
    ASSERT_TRUE(r) << r.error().c_str();
    EXPECT_EQ(*r, LoadOutcome::run);
    ASSERT_EQ(c.nodes.size(), 2u);
    EXPECT_EQ(c.nodes[0].name, "node1");
    EXPECT_EQ(c.nodes[1].role, NodeRole::mirror);
    EXPECT_EQ(c.port, 7001);
    EXPECT_EQ(c.listen_addr, "0.0.0.0");
    EXPECT_EQ(c.engine.timeout_ms, 3000u);
    EXPECT_DOUBLE_EQ(c.engine.fcu_majority, 0.5);
    EXPECT_EQ(c.log_level, LogLevel::debug);
}

TEST(Flags, UnknownAndBadValuesAreErrors) {
    Config c;
    auto unknown = run({"--nodes", "http://a:1", "--jwt-secret", "/j", "--turbo"}, c);
    ASSERT_FALSE(unknown);
    EXPECT_NE(unknown.error().message().find("--turbo"), std::string_view::npos);
    auto majority =
        run({"--nodes", "http://a:1", "--jwt-secret", "/j", "--fcu-majority", "1.5"}, c);
    ASSERT_FALSE(majority);
    EXPECT_NE(majority.error().message().find("--fcu-majority 1.5"), std::string_view::npos);
    auto level = run({"--nodes", "http://a:1", "--jwt-secret", "/j", "--log-level", "loud"}, c);
    ASSERT_FALSE(level);
    EXPECT_NE(level.error().message().find("loud"), std::string_view::npos);
    auto no_nodes = run({"--jwt-secret", "/j"}, c);
    ASSERT_FALSE(no_nodes);
    EXPECT_NE(no_nodes.error().message().find("--nodes"), std::string_view::npos);
    auto no_secret = run({"--nodes", "http://a:1"}, c);
    ASSERT_FALSE(no_secret);
    EXPECT_NE(no_secret.error().message().find("JWT secret"), std::string_view::npos);
    auto spin = run({"--nodes", "http://a:1", "--jwt-secret", "/j", "--spin-us", "-5"}, c);
    ASSERT_FALSE(spin);
    EXPECT_NE(spin.error().message().find("--spin-us -5"), std::string_view::npos);
    auto all_mirrors = run({"--nodes", "http://a:1#do-not-use", "--jwt-secret", "/j"}, c);
    ASSERT_FALSE(all_mirrors);
    Config h;
    EXPECT_EQ(*run({"--help"}, h), LoadOutcome::help);
}

TEST(Toml, FileThenFlagsOverride) {
    std::string path = temp_file(R"(
port = 7100
jwt_secret = "/etc/enginemux/cl.jwt"
log_level = "warn"
spin_us = 250
[engine]
fcu_majority = 0.67
strict_payload_fields = true
[limits]
body_bytes_max = 1048576
body_rate_min_bytes_s = 0
[[nodes]]
url = "http://127.0.0.1:8551"
name = "geth"
jwt_secret = "/etc/enginemux/geth.jwt"
[[nodes]]
url = "http://127.0.0.1:8552"
role = "mirror"
timeout_ms = 900
)");
    Config c;
    auto r = run({"--config", path.c_str(), "--port", "7200"}, c);
    ASSERT_TRUE(r) << r.error().c_str();
    EXPECT_EQ(c.port, 7200);  // flag wins
    EXPECT_EQ(c.log_level, LogLevel::warn);
    EXPECT_EQ(c.spin_us, 250u);
    EXPECT_DOUBLE_EQ(c.engine.fcu_majority, 0.67);
    EXPECT_TRUE(c.engine.strict_payload_fields);
    EXPECT_EQ(c.limits.body_bytes_max, 1048576u);
    EXPECT_EQ(c.limits.body_rate_min_bytes_s, 0u);  // 0: no minimum
    EXPECT_EQ(c.limits.header_timeout_ms, LimitsConfig{}.header_timeout_ms);
    EXPECT_EQ(LimitsConfig{}.body_rate_min_bytes_s, 65536u);
    ASSERT_EQ(c.nodes.size(), 2u);
    EXPECT_EQ(c.nodes[0].name, "geth");
    EXPECT_EQ(c.nodes[1].name, "node2");
    EXPECT_EQ(c.nodes[1].role, NodeRole::mirror);
    EXPECT_EQ(c.nodes[1].timeout_ms, 900u);
    unlink(path.c_str());
}

TEST(Toml, BufferedBodyBudgetHoldsAtLeastOneLargestBody) {
    const std::string nodes = "jwt_secret = \"/j\"\n[[nodes]]\nurl = \"http://a:1\"\n[limits]\n";
    std::string fits =
        temp_file(nodes + "body_bytes_max = 1048576\nbuffered_body_bytes_max = 1048576\n");
    auto ok = load_file(fits);
    ASSERT_TRUE(ok) << ok.error().c_str();
    EXPECT_EQ(ok->limits.buffered_body_bytes_max, 1048576u);
    EXPECT_EQ(Config{}.limits.buffered_body_bytes_max, 256u << 20);
    std::string small = temp_file(nodes + "buffered_body_bytes_max = 1048576\n");
    auto bad = load_file(small);
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message().find("buffered_body_bytes_max 1048576 is below body_bytes_max"),
              std::string_view::npos)
        << bad.error().c_str();
    unlink(fits.c_str());
    unlink(small.c_str());
}

TEST(Sync, RoleFlagAndTableWithDefaults) {
    std::string path = temp_file(
        "jwt_secret = \"/etc/enginemux/jwt.hex\"\n[[nodes]]\nurl = \"http://127.0.0.1:8551\"\n"
        "[sync]\nbest_stale_ms = 6000\ntrusted_proxies = [\"127.0.0.1\", \"10.0.0.0/8\"]\n"
        "[[sync.clients]]\nname = \"lighthouse\"\njwt_secret = \"/etc/lh.hex\"\n");
    Config c;
    auto r = run({"--config", path.c_str(), "--role", "sync"}, c);
    ::unlink(path.c_str());
    ASSERT_TRUE(r) << r.error().c_str();
    EXPECT_EQ(c.role, "sync");
    EXPECT_EQ(c.sync.best_stale_ms, 6000u);
    EXPECT_EQ(c.sync.future_slack_s, 60u);
    EXPECT_EQ(c.sync.dedup_window_ms, 12000u);
    EXPECT_EQ(c.sync.proxy_request_timeout_ms, 2000u);
    ASSERT_EQ(c.sync.trusted_proxies.size(), 2u);
    ASSERT_EQ(c.sync.clients.size(), 1u);
    EXPECT_EQ(c.sync.clients[0].name, "lighthouse");
    EXPECT_EQ(c.sync.clients[0].jwt_secret_path, "/etc/lh.hex");
}

TEST(Sync, SyncProxysFlagsWorkWithOneDashOrTwo) {
    Config c;
    auto r = run(
        {"--role", "sync", "--jwt-secret", "/etc/cl.hex", "-addr", "0.0.0.0:25591",
         "-builders=http://127.0.0.1:8551#jwt-secret=/etc/el1.hex,http://127.0.0.1:8552",
         "--request-timeout", "1500", "-proxy-request-timeout=900", "-loglevel", "debug", "-json"},
        c);
    ASSERT_TRUE(r) << r.error().c_str();
    EXPECT_EQ(c.listen_addr, "0.0.0.0");
    EXPECT_EQ(c.port, 25591);
    ASSERT_EQ(c.nodes.size(), 2u);
    EXPECT_EQ(c.nodes[0].jwt_secret_path, "/etc/el1.hex");
    EXPECT_EQ(c.engine.timeout_ms, 1500u);
    EXPECT_EQ(c.sync.proxy_request_timeout_ms, 900u);
    EXPECT_EQ(c.log_level, LogLevel::debug);
    EXPECT_EQ(c.log_format, LogFormat::json);
    // The role's own defaults: sync-proxy's port and request timeout.
    Config d;
    ASSERT_TRUE(
        run({"--role", "sync", "--jwt-secret", "/x", "--builders", "http://127.0.0.1:1"}, d));
    EXPECT_EQ(d.port, 25590);
    EXPECT_EQ(d.listen_addr, "127.0.0.1");
    EXPECT_EQ(d.engine.timeout_ms, 2000u);
    Config e;
    ASSERT_TRUE(run({"--role", "sync", "--jwt-secret", "/x", "--nodes", "http://127.0.0.1:1",
                     "--port", "7000", "--timeout", "8000"},
                    e));
    EXPECT_EQ(e.port, 7000);
    EXPECT_EQ(e.engine.timeout_ms, 8000u);
    Config f;
    auto mux = run({"--jwt-secret", "/x", "--builders", "http://127.0.0.1:1"}, f);
    ASSERT_FALSE(mux);
    EXPECT_NE(mux.error().message().find("they need --role sync"), std::string_view::npos);
    Config g;
    auto proxies = run({"--role", "sync", "--jwt-secret", "/x", "--builders", "http://127.0.0.1:1",
                        "-proxies", "http://127.0.0.1:25591,http://10.0.0.2:25590#name=dc2"},
                       g);
    ASSERT_TRUE(proxies) << proxies.error().c_str();
    ASSERT_EQ(g.sync.proxies.size(), 2u);
    EXPECT_EQ(g.sync.proxies[1], "http://10.0.0.2:25590#name=dc2");
    auto addr = run({"--role", "sync", "--jwt-secret", "/x", "--builders", "http://127.0.0.1:1",
                     "--addr", "25590"},
                    f);
    ASSERT_FALSE(addr);
    EXPECT_NE(addr.error().message().find("--addr '25590' is not HOST:PORT"),
              std::string_view::npos);
}

TEST(Sync, ErrorsNameTheKey) {
    struct Case {
        const char* table;
        const char* says;
    } cases[] = {
        {"[sync]\nbest_stale_ms = \"soon\"", "sync.best_stale_ms: expected a number"},
        {"[sync]\nfuture_slack = 5", "unknown setting 'sync.future_slack'"},
        {"[sync]\ntrusted_proxies = [\"10.0.0.0/40\"]", "[sync] trusted_proxies[0]"},
        {"[sync]\ntrusted_proxies = \"10.0.0.1\"", "sync.trusted_proxies: expected an array"},
        {"[sync]\nproxies = [\"ftp://127.0.0.1:9\"]", "[sync] proxies[0]"},
        {"[sync]\nproxies = [\"http://127.0.0.1:9#fast\"]", "unknown option '#fast'"},
        {"[[sync.clients]]\nname = \"a b\"\njwt_secret = \"/x\"", "sync.clients[0].name"},
        {"[[sync.clients]]\nname = \"a\"", "sync.clients[0]: name and jwt_secret are required"},
        {"[[sync.clients]]\nname = \"a\"\njwt_secret = \"/x\"\n[[sync.clients]]\nname = "
         "\"a\"\njwt_secret = \"/y\"",
         "two clients are named 'a'"},
        {"[[sync.clients]]\nname = \"a\"\nsecret = \"/x\"",
         "unknown setting 'sync.clients[0].secret'"},
    };
    for (const Case& k : cases) {
        std::string path = temp_file(
            "role = \"sync\"\njwt_secret = \"/etc/enginemux/jwt.hex\"\n[[nodes]]\nurl = "
            "\"http://127.0.0.1:8551\"\n" +
            std::string(k.table) + "\n");
        auto c = load_file(path);
        ::unlink(path.c_str());
        ASSERT_FALSE(c) << k.table;
        EXPECT_NE(c.error().message().find(k.says), std::string_view::npos)
            << k.table << " -> " << c.error().c_str();
    }
    Config c;
    auto role =
        run({"--role", "relay", "--nodes", "http://127.0.0.1:8551", "--jwt-secret", "/x"}, c);
    ASSERT_FALSE(role);
    EXPECT_NE(role.error().message().find(
                  "role 'relay' is not supported (supported: mux, sync, rpc, builder)"),
              std::string_view::npos)
        << role.error().c_str();
}

TEST(Rpc, RoleAloneNeedsNoClSecretAndTakesTheTableWithDefaults) {
    std::string path = temp_file(
        "role = \"rpc\"\n[[nodes]]\nurl = \"http://127.0.0.1:8551\"\njwt_secret = \"/x.hex\"\n"
        "[rpc]\nallow_methods = [\"eth_*\", \"debug_trace*\"]\ntrusted_proxies = [\"10.0.0.0/8\"]\n"
        "max_head_lag_blocks = 4\ncache_bytes_max = 1048576\nbreaker_failures = 7\n"
        "breaker_window_ms = 2000\nbreaker_cooldown_ms = 750\nhedge_max_ratio = "
        "0.25\nmax_logs_block_range = 500\n"
        "[rpc.method_timeouts_ms]\ndefault = 3000\neth_call = 500\n"
        "[rpc.agree]\neth_getBalance = 2\neth_call = 1\n"
        "[rpc.limits]\nclient_rps = 10\nclient_burst = 20\nclient_concurrency = 4\n"
        "key_rps = 2.5\n[rpc.redis]\nurl = \"redis://127.0.0.1:6380/2\"\ntimeout_ms = 20\n"
        "key_prefix = \"mainnet:\"\n");
    Config c;
    auto r = run({"--config", path.c_str()}, c);
    ::unlink(path.c_str());
    ASSERT_TRUE(r) << r.error().c_str();
    EXPECT_EQ(c.role, "rpc");
    EXPECT_EQ(c.rpc.allow_methods, (std::vector<std::string>{"eth_*", "debug_trace*"}));
    EXPECT_EQ(c.rpc.max_head_lag_blocks, 4u);
    EXPECT_EQ(c.rpc.cache_bytes_max, 1048576u);
    EXPECT_EQ(c.rpc.response_bytes_max, 32u << 20);
    EXPECT_EQ(c.rpc.hedge_max_ratio, 0.25);
    EXPECT_EQ(c.rpc.max_logs_block_range, 500u);
    EXPECT_EQ(c.rpc.breaker_failures, 7u);
    EXPECT_EQ(c.rpc.breaker_window_ms, 2000u);
    EXPECT_EQ(c.rpc.breaker_cooldown_ms, 750u);
    EXPECT_EQ(c.rpc.default_timeout_ms, 3000u);
    ASSERT_EQ(c.rpc.agree.size(), 1u) << "agree = 1 is no agreement";
    EXPECT_EQ(c.rpc.agree[0].method, "eth_getBalance");
    EXPECT_EQ(c.rpc.agree[0].nodes, 2u);
    ASSERT_EQ(c.rpc.method_timeouts.size(), 1u);
    EXPECT_EQ(c.rpc.method_timeouts[0].method, "eth_call");
    EXPECT_EQ(c.rpc.method_timeouts[0].timeout_ms, 500u);
    EXPECT_EQ(c.rpc.limits.client_rps, 10);
    EXPECT_EQ(c.rpc.limits.client_burst, 20);
    EXPECT_EQ(c.rpc.limits.client_concurrency, 4u);
    EXPECT_EQ(c.rpc.limits.key_rps, 2.5);
    EXPECT_EQ(c.rpc.limits.key_burst, 0);
    EXPECT_EQ(c.rpc.redis.url, "redis://127.0.0.1:6380/2");
    EXPECT_EQ(c.rpc.redis.timeout_ms, 20u);
    EXPECT_EQ(c.rpc.redis.key_prefix, "mainnet:");
    Config d;
    auto defaults = run({"--role", "rpc", "--nodes", "http://127.0.0.1:8551#jwt-secret=/x"}, d);
    ASSERT_TRUE(defaults) << defaults.error().c_str();
    EXPECT_TRUE(d.rpc.allow_methods.empty()) << "the default rule";
    EXPECT_EQ(d.rpc.max_head_lag_blocks, 2u);
    EXPECT_EQ(d.rpc.hedge_max_ratio, 0.1);
    EXPECT_EQ(d.rpc.max_logs_block_range, 10000u);
    EXPECT_EQ(d.rpc.breaker_failures, 5u);
    EXPECT_EQ(d.rpc.breaker_window_ms, 10000u);
    EXPECT_EQ(d.rpc.breaker_cooldown_ms, 5000u);
    EXPECT_EQ(d.rpc.cache_bytes_max, 256u << 20);
    EXPECT_EQ(d.rpc.default_timeout_ms, 10000u);
    EXPECT_TRUE(d.rpc.redis.url.empty()) << "no Redis by default";
    EXPECT_EQ(d.rpc.redis.timeout_ms, 50u);
    EXPECT_EQ(d.rpc.redis.key_prefix, "enginemux:");
    Config e;
    auto beside = run({"--nodes", "http://127.0.0.1:8551", "--jwt-secret", "/x", "--rpc-listen",
                       "127.0.0.1:8545"},
                      e);
    ASSERT_TRUE(beside) << beside.error().c_str();
    EXPECT_EQ(e.role, "mux");
    EXPECT_EQ(e.rpc.listen, "127.0.0.1:8545");
}

TEST(Rpc, WebSocketTableTakesItsKeysWithDefaults) {
    std::string path = temp_file(
        "role = \"rpc\"\n[[nodes]]\nurl = \"http://127.0.0.1:8551\"\njwt_secret = \"/x.hex\"\n"
        "[rpc.ws]\nsend_queue_bytes = 65536\nclose_linger_ms = 500\nconnections_max = 10\n"
        "subscriptions_per_connection_max = 7\nmessage_bytes_max = 4096\n"
        "grown_buffers_bytes_max = 0\n");
    Config c;
    auto r = run({"--config", path.c_str()}, c);
    ::unlink(path.c_str());
    ASSERT_TRUE(r) << r.error().c_str();
    EXPECT_EQ(c.rpc.ws.send_queue_bytes, 65536u);
    EXPECT_EQ(c.rpc.ws.close_linger_ms, 500u);
    EXPECT_EQ(c.rpc.ws.connections_max, 10u);
    EXPECT_EQ(c.rpc.ws.subscriptions_per_connection_max, 7u);
    EXPECT_EQ(c.rpc.ws.message_bytes_max, 4096u);
    EXPECT_EQ(c.rpc.ws.grown_buffers_bytes_max, 0u);
    Config d;
    auto defaults = run({"--role", "rpc", "--nodes", "http://127.0.0.1:8551#jwt-secret=/x"}, d);
    ASSERT_TRUE(defaults) << defaults.error().c_str();
    EXPECT_EQ(d.rpc.ws.send_queue_bytes, 4u << 20);
    EXPECT_EQ(d.rpc.ws.close_linger_ms, 2000u);
    EXPECT_EQ(d.rpc.ws.subscriptions_per_connection_max, 100u);
    EXPECT_EQ(d.rpc.ws.message_bytes_max, 0u) << "0: [limits] body_bytes_max";
    EXPECT_EQ(d.rpc.ws.grown_buffers_bytes_max, 64u << 20);
}

TEST(Rpc, ErrorsNameTheKey) {
    struct Case {
        const char* table;
        const char* says;
    } cases[] = {
        {"[rpc]\nlisten = 8545", "rpc.listen: expected a string"},
        {"[rpc]\nlisten = \"localhost\"", "[rpc] listen 'localhost' is not ADDR:PORT"},
        {"[rpc]\nallow = [\"*\"]", "unknown setting 'rpc.allow'"},
        {"[rpc.redis]\nurls = \"redis://a\"", "unknown setting 'rpc.redis.urls'"},
        {"[rpc.redis]\nurl = \"http://127.0.0.1\"", "[rpc.redis] url"},
        {"[rpc.redis]\ntimeout_ms = 0", "rpc.redis.timeout_ms"},
        {"[rpc]\nallow_methods = [\"\"]", "allow_methods: a glob is empty"},
        {"[rpc]\ntrusted_proxies = [\"10.0.0.0/40\"]", "[rpc] trusted_proxies[0]"},
        {"[rpc]\nmax_head_lag_blocks = -1", "rpc.max_head_lag_blocks: -1 is outside"},
        {"[rpc]\nresponse_bytes_max = 10", "rpc.response_bytes_max: 10 is outside"},
        {"[rpc]\nmax_logs_block_range = 1.5", "rpc.max_logs_block_range: expected an integer"},
        {"[rpc]\nhedge_max_ratio = 2", "rpc.hedge_max_ratio: 2 is outside 0..1"},
        {"[rpc]\nbreaker_failures = -1", "rpc.breaker_failures: -1 is outside"},
        {"[rpc]\nbreaker_cooldown_ms = 0", "rpc.breaker_cooldown_ms: 0 is outside"},
        {"[rpc]\nbreaker_window_ms = \"10s\"", "rpc.breaker_window_ms: expected a number"},
        {"[rpc.method_timeouts_ms]\neth_call = 0", "rpc.method_timeouts_ms.eth_call: 0 is outside"},
        {"[rpc.agree]\neth_call = 9", "rpc.agree.eth_call: 9 is outside"},
        {"[rpc.agree]\neth_sendRawTransaction = 2",
         "[rpc.agree] eth_sendRawTransaction: only reads can be agreed on"},
        {"[rpc.agree]\neth_getFilterChanges = 2", "only reads can be agreed on"},
        {"[rpc.limits]\nclient_rps = \"fast\"", "rpc.limits.client_rps: expected a number"},
        {"[rpc.limits]\nkey_concurrency = 1", "unknown setting 'rpc.limits.key_concurrency'"},
        {"[rpc.ws]\nqueue_bytes = 1", "unknown setting 'rpc.ws.queue_bytes'"},
        {"[rpc.ws]\nsend_queue_bytes = 10", "rpc.ws.send_queue_bytes: 10 is outside"},
    };
    for (const Case& k : cases) {
        std::string path = temp_file(
            "jwt_secret = \"/etc/enginemux/jwt.hex\"\n[[nodes]]\nurl = "
            "\"http://127.0.0.1:8551\"\n" +
            std::string(k.table) + "\n");
        auto c = load_file(path);
        ::unlink(path.c_str());
        ASSERT_FALSE(c) << k.table;
        EXPECT_NE(c.error().message().find(k.says), std::string_view::npos)
            << k.table << " -> " << c.error().c_str();
    }
    Config c;
    auto flag =
        run({"--nodes", "http://127.0.0.1:8551", "--jwt-secret", "/x", "--rpc-lsten", "a"}, c);
    ASSERT_FALSE(flag);
    EXPECT_NE(flag.error().message().find("--rpc-lsten"), std::string_view::npos)
        << flag.error().c_str();
    Config m;
    auto mux = run({"--nodes", "http://127.0.0.1:8551"}, m);
    ASSERT_FALSE(mux) << "the mux role still needs the CL's secret";
}

TEST(Rpc, ApiKeysAreOneALineAndErrorsNameTheLineNeverTheKey) {
    auto keys = parse_api_keys("# keys\n\nalpha-key-1\n  beta_key.2/=+~  \r\n");
    ASSERT_TRUE(keys) << keys.error().c_str();
    EXPECT_EQ(*keys, (std::vector<std::string>{"alpha-key-1", "beta_key.2/=+~"}));
    struct Case {
        const char* text;
        const char* says;
    } cases[] = {
        {"", "holds no key"},
        {"# only a comment\n", "holds no key"},
        {"short\n", "line 1: a key must be 8..256 characters (5)"},
        {"good-key-1\nsecret key 2\n", "line 2: character 0x20 at offset 6"},
        {"good-key-1\ngood-key-1\n", "line 2: the same key is listed twice"},
    };
    for (const Case& k : cases) {
        auto r = parse_api_keys(k.text);
        ASSERT_FALSE(r) << k.text;
        EXPECT_NE(r.error().message().find(k.says), std::string_view::npos) << r.error().c_str();
        EXPECT_EQ(r.error().message().find("secret key"), std::string_view::npos);
    }
    auto missing = read_api_keys("/nonexistent/keys");
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().message().find("[rpc] api_keys_file /nonexistent/keys"),
              std::string_view::npos);
}

TEST(Toml, StrictAboutKeysTypesAndRanges) {
    struct Case {
        const char* text;
        const char* expect;
    } cases[] = {
        {"prot = 1\n", "unknown setting 'prot'"},
        {"[limits]\nbody_bytes = 1\n", "unknown setting 'limits.body_bytes'"},
        {"[limits]\nbody_rate_min_bytes_s = -1\n",
         "limits.body_rate_min_bytes_s: -1 is outside 0..1073741824"},
        {"[limits]\nbuffered_body_bytes_max = 10\n",
         "limits.buffered_body_bytes_max: 10 is outside 1024.."},
        {"port = \"7000\"\n", "port: expected a number"},
        {"port = 70000\n", "port: 70000 is outside 0..65535"},
        {"spin_us = 100000000\n", "spin_us: 100000000 is outside 0..60000000"},
        {"[engine]\nfcu_majority = 2.0\n", "engine.fcu_majority: 2 is outside 0..1"},
        {"[[nodes]]\nname = \"x\"\n", "nodes[0]: url is required"},
        {"[[nodes]]\nurl = \"tcp://x\"\n", "nodes[0].url: node URL 'tcp://x'"},
        {"[[nodes]]\nurl = \"http://x:1\"\nrole = \"boss\"\n",
         "role 'boss' is not voter or mirror"},
        {"[[nodes]]\nurl = \"http://x:1\"\nname = \"a\\\"b\"\n",
         "nodes[0].name: character '\"' at offset 1 is not allowed in a name"},
        {"[[nodes]]\nurl = \"http://x:1\"\nname = \"a\\nb\"\n",
         "nodes[0].name: character 0x0a at offset 1"},
        {"port = = 3\n", ":1:"},
    };
    for (const auto& tc : cases) {
        std::string path = temp_file(tc.text);
        auto r = load_file(path);
        ASSERT_FALSE(r) << tc.text;
        EXPECT_NE(r.error().message().find(tc.expect), std::string_view::npos)
            << tc.text << " -> " << r.error().c_str();
        EXPECT_NE(r.error().message().find(path), std::string_view::npos) << r.error().c_str();
        unlink(path.c_str());
    }
}

TEST(Admin, WritesNeedATokenReadsAreOpenAndSecretsLiveInOneDirectory) {
    Config d;
    ASSERT_TRUE(run({"--nodes", "http://a:1", "--jwt-secret", "/j"}, d));
    EXPECT_EQ(d.admin.token_file, "");
    EXPECT_FALSE(d.admin.protect_reads);
    EXPECT_EQ(d.admin.secrets_dir, "/etc/enginemux");

    std::string path = temp_file(
        "jwt_secret = \"/j\"\n[[nodes]]\nurl = \"http://a:1\"\n[admin]\n"
        "token_file = \"/etc/enginemux/admin.token\"\nprotect_reads = true\n"
        "secrets_dir = \"/srv/secrets\"\n");
    auto file = load_file(path);
    ASSERT_TRUE(file) << file.error().c_str();
    EXPECT_TRUE(file->admin.protect_reads);
    EXPECT_EQ(file->admin.secrets_dir, "/srv/secrets");
    unlink(path.c_str());

    Config f;
    auto flags = run({"--nodes", "http://a:1", "--jwt-secret", "/j", "--admin-token-file", "/t",
                      "--admin-protect-reads", "--admin-secrets-dir", "/srv/el-secrets"},
                     f);
    ASSERT_TRUE(flags) << flags.error().c_str();
    EXPECT_TRUE(f.admin.protect_reads);
    EXPECT_EQ(f.admin.secrets_dir, "/srv/el-secrets");

    // protect_reads without a token would lock everyone out: refused, naming the fix.
    Config c;
    auto locked = run({"--nodes", "http://a:1", "--jwt-secret", "/j", "--admin-protect-reads"}, c);
    ASSERT_FALSE(locked);
    EXPECT_NE(locked.error().message().find("[admin] token_file"), std::string_view::npos)
        << locked.error().c_str();
    auto relative =
        run({"--nodes", "http://a:1", "--jwt-secret", "/j", "--admin-secrets-dir", "secrets"}, c);
    ASSERT_FALSE(relative);
    EXPECT_NE(relative.error().message().find("must be an absolute path"), std::string_view::npos)
        << relative.error().c_str();
    std::string bad = temp_file("[admin]\nprotect_reads = \"yes\"\n");
    auto typed = load_file(bad);
    ASSERT_FALSE(typed);
    EXPECT_NE(typed.error().message().find("admin.protect_reads: expected true or false"),
              std::string_view::npos);
    unlink(bad.c_str());
}

}  // namespace
}  // namespace em::app
