// What a reload takes live and what needs a restart (app/reload.h): each key is changed alone in
// a TOML file, and the difference must be reported once, under the file's own key name, in the
// right list.
#include "app/reload.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

namespace em::app {
namespace {

std::string temp_file(const std::string& text) {
    char path[] = "/tmp/em-reload-XXXXXX";
    int fd = mkstemp(path);
    EXPECT_GE(fd, 0);
    EXPECT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
    ::close(fd);
    return path;
}

/// A file with one node and the CL's secret path, plus `extra` (top-level keys first, then
/// tables).
Config load_with(const std::string& top, const std::string& tables = "") {
    std::string path =
        temp_file("jwt_secret = \"/etc/enginemux/jwt.hex\"\n" + top +
                  "\n[[nodes]]\nurl = \"http://127.0.0.1:8551\"\nname = \"el1\"\n" + tables);
    auto c = load_file(path);
    ::unlink(path.c_str());
    EXPECT_TRUE(c) << c.error().c_str();
    return c ? *c : Config{};
}

struct Case {
    const char* top;    ///< a top-level "key = value", or ""
    const char* table;  ///< a "[section]\nkey = value", or ""
    const char* says;   ///< the start of the diff's line
    bool live;
};

TEST(Reload, EachKeyIsReportedOnceInTheRightList) {
    const Case cases[] = {
        {"listen_addr = \"0.0.0.0\"", "", "listen_addr ", false},
        {"port = 7001", "", "port 7000 -> 7001", false},
        {"log_level = \"debug\"", "", "log_level info -> debug", true},
        {"log_format = \"json\"", "", "log_format text -> json", false},
        {"shards = 3", "", "shards 0 -> 3", false},
        {"spin_us = 10", "", "spin_us ", false},
        {"tls_ca_file = \"/etc/ssl/ca.pem\"", "", "tls_ca_file ", false},
        {"node_timings = true", "", "node_timings false -> true", true},
        {"", "[limits]\nbody_bytes_max = 2048", "limits.body_bytes_max ", false},
        {"", "[limits]\nheader_bytes_max = 2048", "limits.header_bytes_max ", false},
        {"", "[limits]\nconnections_max = 10", "limits.connections_max 4096 -> 10", true},
        {"", "[limits]\nbatch_entries_max = 10", "limits.batch_entries_max ", false},
        {"", "[limits]\nin_flight_max = 10", "limits.in_flight_max ", false},
        {"", "[limits]\nupstream_connections_max = 10", "limits.upstream_connections_max ", false},
        {"", "[limits]\nheader_timeout_ms = 10", "limits.header_timeout_ms ", true},
        {"", "[limits]\nbody_timeout_ms = 10", "limits.body_timeout_ms ", true},
        {"", "[limits]\nbody_rate_min_bytes_s = 10", "limits.body_rate_min_bytes_s ", true},
        {"", "[limits]\nidle_timeout_ms = 10", "limits.idle_timeout_ms ", true},
        {"", "[limits]\nconnect_timeout_ms = 10", "limits.connect_timeout_ms ", false},
        {"", "[limits]\nlane_queue_max = 10", "limits.lane_queue_max ", false},
        {"", "[limits]\nshutdown_drain_ms = 10", "limits.shutdown_drain_ms ", true},
        {"", "[health]\ninterval_ms = 1000", "health.interval_ms 5000 -> 1000", true},
        {"", "[health]\ntimeout_ms = 100", "health.timeout_ms ", true},
        {"", "[health]\nblock_age_max_s = 0", "health.block_age_max_s ", true},
        {"", "[health]\nfailback_hold_ms = 0", "health.failback_hold_ms ", true},
        {"", "[engine]\nfcu_majority = 1.0", "engine.fcu_majority 0.6 -> 1", true},
        {"", "[engine]\ntimeout_ms = 100", "engine.timeout_ms ", true},
        {"", "[engine]\neth_timeout_ms = 100", "engine.eth_timeout_ms ", true},
        {"", "[engine]\nverify_block_hash = false", "engine.verify_block_hash ", true},
        {"", "[engine]\nstrict_payload_fields = true", "engine.strict_payload_fields ", false},
        {"", "[engine]\npayload_id_lifetime_s = 12", "engine.payload_id_lifetime_s ", false},
        {"", "[engine]\npayload_ids_max = 8", "engine.payload_ids_max ", false},
        {"", "[admin]\nlisten = \"127.0.0.1:9999\"", "admin.listen ", false},
        {"", "[admin]\ntoken_file = \"/etc/enginemux/admin.token\"", "admin.token_file ", false},
        {"", "[admin]\nsecrets_dir = \"/etc/other\"", "admin.secrets_dir ", false},
        {"", "[sync]\nbest_stale_ms = 1000", "sync.best_stale_ms 24000 -> 1000", true},
        {"", "[sync]\nfuture_slack_s = 5", "sync.future_slack_s 60 -> 5", true},
        {"", "[sync]\ntrusted_proxies = [\"10.0.0.0/8\"]",
         "sync.trusted_proxies [] -> [\"10.0.0.0/8\"]", true},
        {"", "[sync]\ndedup_window_ms = 100", "sync.dedup_window_ms ", true},
        {"", "[sync]\nproxies = [\"http://127.0.0.1:1\"]", "sync.proxies ", false},
        {"", "[sync]\nproxy_request_timeout_ms = 100", "sync.proxy_request_timeout_ms ", false},
        {"", "[[sync.clients]]\nname = \"cl-a\"\njwt_secret = \"/etc/a.hex\"",
         "sync.clients [] -> [\"cl-a=/etc/a.hex\"]", false},
        {"", "[rpc]\nlisten = \"127.0.0.1:8545\"", "rpc.listen ", false},
        {"", "[rpc]\nallow_methods = [\"*\"]", "rpc.allow_methods [] -> [\"*\"]", false},
        {"", "[rpc]\napi_keys_file = \"/etc/keys\"", "rpc.api_keys_file ", false},
        {"", "[rpc]\ntrusted_proxies = [\"10.0.0.1\"]", "rpc.trusted_proxies ", false},
        {"", "[rpc]\nmax_head_lag_blocks = 5", "rpc.max_head_lag_blocks 2 -> 5", false},
        {"", "[rpc]\nresponse_bytes_max = 4096", "rpc.response_bytes_max ", false},
        {"", "[rpc]\nbreaker_cooldown_ms = 900", "rpc.breaker_cooldown_ms 5000 -> 900", false},
        {"", "[rpc]\ncache_bytes_max = 0", "rpc.cache_bytes_max ", false},
        {"", "[rpc.method_timeouts_ms]\ndefault = 5", "rpc.method_timeouts_ms.default ", false},
        {"", "[rpc.method_timeouts_ms]\neth_call = 5", "rpc.method_timeouts_ms [] -> ", false},
        {"", "[rpc.limits]\nclient_rps = 5", "rpc.limits.client_rps 0 -> 5", false},
        {"", "[rpc.redis]\nurl = \"redis://:pw@127.0.0.1\"", "rpc.redis.url (changed; not shown",
         false},
        {"", "[rpc.redis]\ntimeout_ms = 20", "rpc.redis.timeout_ms 50 -> 20", false},
        {"", "[rpc.redis]\nkey_prefix = \"a:\"", "rpc.redis.key_prefix \"enginemux:\" -> \"a:\"",
         false},
        {"", "[rpc.limits]\nclient_burst = 5", "rpc.limits.client_burst ", false},
        {"", "[rpc.limits]\nclient_concurrency = 5", "rpc.limits.client_concurrency ", false},
        {"", "[rpc.limits]\nkey_rps = 5", "rpc.limits.key_rps ", false},
        {"", "[rpc.limits]\nkey_burst = 5", "rpc.limits.key_burst ", false},
        {"", "[rpc.ws]\nsend_queue_bytes = 8192", "rpc.ws.send_queue_bytes ", false},
        {"", "[rpc.ws]\nclose_linger_ms = 5", "rpc.ws.close_linger_ms 2000 -> 5", false},
        {"", "[rpc.ws]\nconnections_max = 5", "rpc.ws.connections_max 1024 -> 5", false},
        {"", "[rpc.ws]\nsubscriptions_per_connection_max = 5",
         "rpc.ws.subscriptions_per_connection_max 100 -> 5", false},
        {"", "[rpc.ws]\nmessage_bytes_max = 4096", "rpc.ws.message_bytes_max 0 -> 4096", false},
        {"", "[rpc.ws]\ngrown_buffers_bytes_max = 0", "rpc.ws.grown_buffers_bytes_max ", false},
    };
    Config base = load_with("");
    for (const Case& c : cases) {
        Config next = load_with(c.top, c.table);
        SettingsDiff d = diff_settings(base, next);
        const auto& in = c.live ? d.live : d.restart_only;
        const auto& other = c.live ? d.restart_only : d.live;
        ASSERT_EQ(in.size(), 1u) << c.says << ": " << join(d.live) << " | " << join(d.restart_only);
        EXPECT_EQ(in[0].rfind(c.says, 0), 0u) << in[0];
        EXPECT_TRUE(other.empty()) << c.says << ": " << join(other);
    }
}

TEST(Reload, TheSameFileChangesNothingAndNodesAreNotSettings) {
    Config a = load_with("");
    Config b = load_with("", "[[nodes]]\nurl = \"http://127.0.0.1:8552\"\nname = \"el2\"\n");
    SettingsDiff d = diff_settings(a, b);
    EXPECT_TRUE(d.live.empty()) << join(d.live);
    EXPECT_TRUE(d.restart_only.empty()) << join(d.restart_only);
}

TEST(Reload, TheCLsSecretPathIsLiveTheRoleIsNot) {
    Config a = load_with("");
    Config b = a;
    b.jwt_secret_path = "/etc/enginemux/jwt-2.hex";
    b.role = "sync";  // the role is fixed at start
    SettingsDiff d = diff_settings(a, b);
    ASSERT_EQ(d.live.size(), 1u);
    EXPECT_EQ(d.live[0], "jwt_secret \"/etc/enginemux/jwt.hex\" -> \"/etc/enginemux/jwt-2.hex\"");
    ASSERT_EQ(d.restart_only.size(), 1u);
    EXPECT_EQ(d.restart_only[0], "role \"mux\" -> \"sync\"");
}

}  // namespace
}  // namespace em::app
