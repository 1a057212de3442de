// The builder role's settings (app/builder_flags.h): rollup-boost's flags and environment
// variables, the [l2] / [[builders]] / [builder] tables, and errors that name what is wrong.
#include <gtest/gtest.h>
#include <unistd.h>

#include <map>
#include <string>
#include <vector>

#include "app/builder_flags.h"
#include "app/config.h"

namespace em::app {
namespace {

constexpr const char* secret_hex =
    "688f5d737bad920bdfb2fc2f488d6b6209eebda1dae949a8de91398d932c517a";

std::map<std::string, std::string>& fake_env() {
    static std::map<std::string, std::string> vars;
    return vars;
}

const char* lookup(const char* name) {
    auto it = fake_env().find(name);
    return it == fake_env().end() ? nullptr : it->second.c_str();
}

Result<LoadOutcome> run(std::vector<const char*> args, Config& c,
                        std::map<std::string, std::string> env = {}) {
    fake_env() = std::move(env);
    args.insert(args.begin(), "enginemux");
    return load(static_cast<int>(args.size()), args.data(), c, lookup);
}

/// The error's message, or "" when it loaded.
std::string error_of(std::vector<const char*> args, std::map<std::string, std::string> env = {}) {
    Config c;
    auto r = run(std::move(args), c, std::move(env));
    return r ? std::string() : std::string(r.error().message());
}

std::string temp_file(const std::string& text) {
    char path[] = "/tmp/em-builder-config-XXXXXX";
    int fd = mkstemp(path);
    EXPECT_GE(fd, 0);
    EXPECT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
    ::close(fd);
    return path;
}

TEST(BuilderFlags, RollupBoostCommandLineWorksWithItsDefaults) {
    Config c;
    auto r = run(
        {"--role", "builder", "--l2-url", "http://127.0.0.1:8551", "--l2-jwt-path", "/etc/l2.hex",
         "--builder-url", "http://127.0.0.1:8552", "--builder-jwt-token", secret_hex},
        c);
    ASSERT_TRUE(r) << r.error().c_str();
    EXPECT_EQ(c.role, "builder");
    EXPECT_EQ(c.builder.l2.url, "http://127.0.0.1:8551");
    EXPECT_EQ(c.builder.l2.jwt_secret_path, "/etc/l2.hex");
    EXPECT_EQ(c.builder.l2.timeout_ms, 1000u);
    ASSERT_EQ(c.builder.builders.size(), 1u);
    EXPECT_EQ(c.builder.builders[0].name, "builder1");
    EXPECT_EQ(c.builder.builders[0].jwt_secret_hex, secret_hex);
    EXPECT_EQ(c.builder.builders[0].timeout_ms, 1000u);
    EXPECT_EQ(c.listen_addr, "127.0.0.1");
    EXPECT_EQ(c.port, 8081);  // rollup-boost's --rpc-port
    EXPECT_EQ(c.builder.get_payload_deadline_ms, 500u);
    EXPECT_EQ(c.builder.block_selection, engine::BlockSelection::gas_used);
    EXPECT_EQ(c.builder.execution_mode, engine::ExecutionMode::enabled);
    EXPECT_TRUE(c.nodes.empty());
    EXPECT_TRUE(c.warnings.empty());
}

TEST(BuilderFlags, SeveralBuildersWithNamesAndSharedOrPairedSettings) {
    Config c;
    auto r = run({"--role",
                  "builder",
                  "--l2-url",
                  "http://127.0.0.1:8551",
                  "--l2-jwt-token",
                  "0x688F5D737BAD920BDFB2FC2F488D6B6209EEBDA1DAE949A8DE91398D932C517A",
                  "--l2-timeout",
                  "800",
                  "--builder-url",
                  "http://127.0.0.1:8552#name=rbuilder",
                  "--builder-url",
                  "http://127.0.0.1:8553",
                  "--builder-jwt-path",
                  "/etc/b1.hex",
                  "--builder-jwt-path",
                  "/etc/b2.hex",
                  "--builder-timeout",
                  "300",
                  "--rpc-host",
                  "0.0.0.0",
                  "--rpc-port",
                  "9000",
                  "--execution-mode",
                  "dry_run",
                  "--block-selection-policy",
                  "block-value",
                  "--get-payload-deadline-ms",
                  "700"},
                 c);
    ASSERT_TRUE(r) << r.error().c_str();
    EXPECT_EQ(c.builder.l2.jwt_secret_hex, secret_hex);  // 0x and upper case accepted
    EXPECT_EQ(c.builder.l2.timeout_ms, 800u);
    ASSERT_EQ(c.builder.builders.size(), 2u);
    EXPECT_EQ(c.builder.builders[0].name, "rbuilder");
    EXPECT_EQ(c.builder.builders[0].url, "http://127.0.0.1:8552");
    EXPECT_EQ(c.builder.builders[1].name, "builder2");
    EXPECT_EQ(c.builder.builders[0].jwt_secret_path, "/etc/b1.hex");  // paired in order
    EXPECT_EQ(c.builder.builders[1].jwt_secret_path, "/etc/b2.hex");
    EXPECT_EQ(c.builder.builders[0].timeout_ms, 300u);  // shared
    EXPECT_EQ(c.builder.builders[1].timeout_ms, 300u);
    EXPECT_EQ(c.listen_addr, "0.0.0.0");
    EXPECT_EQ(c.port, 9000);
    EXPECT_EQ(c.builder.execution_mode, engine::ExecutionMode::dry_run);
    EXPECT_EQ(c.builder.block_selection, engine::BlockSelection::block_value);
    EXPECT_EQ(c.builder.get_payload_deadline_ms, 700u);
}

TEST(BuilderFlags, EnvironmentVariablesAsRollupBoostNamesThemFlagsWin) {
    std::map<std::string, std::string> env = {
        {"L2_URL", "http://127.0.0.1:8551"},
        {"L2_JWT_PATH", "/etc/l2.hex"},
        {"BUILDER_URL", "http://127.0.0.1:8552#name=a, http://127.0.0.1:8553#name=b"},
        {"BUILDER_JWT_TOKEN", secret_hex},
        {"BUILDER_TIMEOUT", "200,400"},
        {"EXECUTION_MODE", "disabled"},
        {"BLOCK_SELECTION_POLICY", "priority"},
        {"RPC_PORT", "8090"},
        {"LOG_LEVEL", "debug"},
    };
    Config c;
    auto r = run({"--role", "builder", "--execution-mode", "enabled"}, c, env);
    ASSERT_TRUE(r) << r.error().c_str();
    ASSERT_EQ(c.builder.builders.size(), 2u);
    EXPECT_EQ(c.builder.builders[1].name, "b");
    EXPECT_EQ(c.builder.builders[0].timeout_ms, 200u);
    EXPECT_EQ(c.builder.builders[1].timeout_ms, 400u);
    EXPECT_EQ(c.builder.builders[1].jwt_secret_hex, secret_hex);
    EXPECT_EQ(c.builder.execution_mode, engine::ExecutionMode::enabled);  // the flag wins
    EXPECT_EQ(c.builder.block_selection, engine::BlockSelection::priority);
    EXPECT_EQ(c.port, 8090);
    EXPECT_EQ(c.log_level, LogLevel::debug);
    // The environment never overrides the daemon's own --port, nor counts in another role.
    Config d;
    ASSERT_TRUE(run({"--role", "builder", "--port", "7100"}, d, env));
    EXPECT_EQ(d.port, 7100);
    Config e;
    auto mux = run({"--jwt-secret", "/x", "--nodes", "http://127.0.0.1:1"}, e, env);
    ASSERT_TRUE(mux) << mux.error().c_str();
    EXPECT_EQ(e.role, "mux");
    EXPECT_TRUE(e.builder.builders.empty());
    EXPECT_EQ(e.log_level, LogLevel::info);
}

TEST(BuilderFlags, MeaninglessRollupBoostFlagsAreAcceptedWithAWarningNamingThem) {
    Config c;
    auto r = run({"--role",
                  "builder",
                  "--l2-url",
                  "http://127.0.0.1:8551",
                  "--l2-jwt-path",
                  "/x",
                  "--builder-url",
                  "http://127.0.0.1:8552",
                  "--builder-jwt-path",
                  "/y",
                  "--metrics",
                  "--metrics-host",
                  "0.0.0.0",
                  "--tracing",
                  "--otlp-endpoint",
                  "http://127.0.0.1:4317",
                  "--ignore-unhealthy-builders",
                  "--health-check-interval",
                  "30",
                  "--max-unsafe-interval",
                  "5",
                  "--debug-server-port",
                  "5556"},
                 c);
    ASSERT_TRUE(r) << r.error().c_str();
    ASSERT_EQ(c.warnings.size(), 1u);
    for (const char* name : {"--metrics", "--metrics-host", "--tracing", "--otlp-endpoint",
                             "--ignore-unhealthy-builders"})
        EXPECT_NE(c.warnings[0].find(name), std::string::npos) << name;
    EXPECT_EQ(c.builder.health_check_interval_s, 30u);
    EXPECT_EQ(c.builder.max_unsafe_interval_s, 5u);
    EXPECT_EQ(c.builder.debug_listen, "127.0.0.1:5556");
    // Unknown flags still stop start-up, as in every role.
    std::string unknown = error_of({"--role", "builder", "--l2-url", "http://127.0.0.1:1",
                                    "--flashblocks-url", "ws://127.0.0.1:1"});
    EXPECT_NE(unknown.find("--flashblocks-url"), std::string::npos) << unknown;
}

TEST(BuilderFlags, ErrorsNameWhatIsWrong) {
    std::vector<const char*> base = {
        "--role", "builder", "--l2-url", "http://127.0.0.1:8551", "--l2-jwt-path", "/x"};
    auto with = [&](std::vector<const char*> more) {
        std::vector<const char*> args = base;
        args.insert(args.end(), more.begin(), more.end());
        return error_of(args);
    };
    auto expect_in = [](const std::string& message, const char* part) {
        EXPECT_NE(message.find(part), std::string::npos) << "'" << part << "' not in: " << message;
    };
    const char* b = "--builder-url";
    const char* url = "http://127.0.0.1:8552";
    expect_in(with({b, url, "--builder-jwt-path", "/y", "--get-payload-deadline-ms", "1500"}),
              "--get-payload-deadline-ms 1500 ms is over the limit of 1000 ms");
    expect_in(with({b, url, "--builder-jwt-path", "/y", "--get-payload-deadline-ms", "0"}),
              "over the limit of 1000 ms");
    expect_in(with({b, url, "--builder-jwt-path", "/y", "--execution-mode", "sometimes"}),
              "--execution-mode: execution mode 'sometimes' is not one of enabled, dry-run");
    expect_in(with({b, url, "--builder-jwt-path", "/y", "--block-selection-policy", "fastest"}),
              "--block-selection-policy: block selection policy 'fastest' is not one of gas-used");
    expect_in(with({b, url, b, "http://127.0.0.1:8553", b, "http://127.0.0.1:8554",
                    "--builder-jwt-path", "/1", "--builder-jwt-path", "/2"}),
              "--builder-jwt-path has 2 values for 3 builders: give one (shared by all) or one "
              "per --builder-url");
    expect_in(with({b, url, "--builder-jwt-token", "abc"}),
              "--builder-jwt-token: a JWT secret is 64 hex digits");
    expect_in(with({b, url, "--builder-jwt-path", "/y", "--builder-timeout", "fast"}),
              "--builder-timeout 'fast' is not 1..600000 ms");
    expect_in(with({b, url}), "builder builder1 has no JWT secret");
    expect_in(with({b, "http://127.0.0.1:8552#name=a", b, "http://127.0.0.1:8553#name=a",
                    "--builder-jwt-path", "/y"}),
              "two builders are named 'a'");
    expect_in(with({b, "http://127.0.0.1:8552#weight=2", "--builder-jwt-path", "/y"}),
              "unknown option '#weight=2' (known: #name=NAME)");
    expect_in(with({b, "ftp://127.0.0.1:8552", "--builder-jwt-path", "/y"}),
              "--builder-url: node URL 'ftp://127.0.0.1:8552' must start with http://");
    expect_in(with({"--builder-jwt-path", "/y"}), "role builder needs at least one builder");
    expect_in(with({b, url, "--builder-jwt-path", "/y", "--l2-url", "http://127.0.0.1:1"}),
              "--l2-url given 2 times: give it once");
    expect_in(error_of({"--role", "builder", b, url, "--builder-jwt-path", "/y"}),
              "role builder needs the local EL: give --l2-url URL (L2_URL) or [l2] url");
    expect_in(error_of({"--role", "builder", "--l2-url", url, b, url, "--builder-jwt-path", "/y"}),
              "the local EL has no JWT secret");
    expect_in(error_of({"--role", "builder", "--l2-url", url}, {{"L2_JWT_TOKEN", "short"}}),
              "L2_JWT_TOKEN: a JWT secret is 64 hex digits");
    expect_in(error_of({"--role", "builder", "--l2-url", url}, {{"L2_TIMEOUT", "-1"}}),
              "L2_TIMEOUT '-1' is not 1..600000 ms");
    expect_in(with({b, url, "--builder-jwt-path", "/y", "--nodes", "http://127.0.0.1:1"}),
              "role builder takes its ELs from [l2] and [[builders]]");
    // A secret is never quoted in an error.
    std::string bad_token = with({b, url, "--builder-jwt-token", "zz8f5d737bad920b"});
    EXPECT_EQ(bad_token.find("zz8f5d737bad920b"), std::string::npos) << bad_token;
    // rollup-boost's flags need the role.
    expect_in(error_of({"--jwt-secret", "/x", "--nodes", url, "--l2-url", url}),
              "--l2-url is one of rollup-boost's flags (--l2-url, --builder-url, ...): they need "
              "--role builder");
    // An ignored valued flag is named too (its name once came from a temporary that was gone).
    expect_in(error_of({"--jwt-secret", "/x", "--nodes", url, "--otlp-endpoint", "http://o"}),
              "--otlp-endpoint is one of rollup-boost's flags");
    expect_in(error_of({"--jwt-secret", "/x", "--nodes", url, "--metrics-port", "9090"}),
              "--metrics-port is one of rollup-boost's flags");
}

TEST(BuilderToml, BreakerAndDebugPortKeys) {
    std::string head =
        "role = \"builder\"\n[l2]\nurl = \"http://127.0.0.1:8551\"\njwt_secret = \"/x\"\n"
        "[[builders]]\nurl = \"http://127.0.0.1:8552\"\njwt_secret = \"/y\"\n";
    auto loaded = [&](const std::string& more) {
        std::string p = temp_file(head + more);
        auto file = load_file(p);
        ::unlink(p.c_str());
        return file;
    };
    auto defaults = loaded("");
    ASSERT_TRUE(defaults) << defaults.error().c_str();
    EXPECT_EQ(defaults->builder.breaker_failures, 3u);
    EXPECT_EQ(defaults->builder.breaker_window_s, 60u);
    EXPECT_EQ(defaults->builder.breaker_cooldown_s, 30u);
    EXPECT_EQ(defaults->builder.debug_listen, "127.0.0.1:5555");
    auto set = loaded(
        "[builder]\nbreaker_failures = 5\nbreaker_window_s = 120\nbreaker_cooldown_s = 1\n"
        "debug_listen = \"off\"\n");
    ASSERT_TRUE(set) << set.error().c_str();
    EXPECT_EQ(set->builder.breaker_failures, 5u);
    EXPECT_EQ(set->builder.breaker_window_s, 120u);
    EXPECT_EQ(set->builder.breaker_cooldown_s, 1u);
    EXPECT_EQ(set->builder.debug_listen, "") << "off";
    auto bad = loaded("[builder]\nbreaker_cooldown_s = 0\n");
    ASSERT_FALSE(bad);
    EXPECT_NE(std::string(bad.error().message()).find("builder.breaker_cooldown_s"),
              std::string::npos)
        << bad.error().c_str();
    // Port 0: any free port (tests); a flag turns an off debug port on at the defaults.
    std::string p = temp_file(head + "[builder]\ndebug_listen = \"\"\n");
    Config c;
    auto r = run({"--config", p.c_str(), "--debug-server-port", "0"}, c);
    ::unlink(p.c_str());
    ASSERT_TRUE(r) << r.error().c_str();
    EXPECT_EQ(c.builder.debug_listen, "127.0.0.1:0");
}

TEST(BuilderToml, TablesWithDefaultsFlagsOverrideAndErrorsNameTheKey) {
    std::string path = temp_file(
        "role = \"builder\"\n[l2]\nurl = \"http://127.0.0.1:8551\"\njwt_secret = \"/etc/l2.hex\"\n"
        "timeout_ms = 900\n[[builders]]\nname = \"rbuilder\"\nurl = \"http://127.0.0.1:8552\"\n"
        "jwt_secret = \"/etc/b.hex\"\n[[builders]]\nurl = \"https://b2.example/engine\"\n"
        "jwt_secret = \"/etc/b2.hex\"\ntimeout_ms = 250\n[builder]\nget_payload_deadline_ms = 400\n"
        "block_selection_policy = \"priority\"\nexecution_mode = \"dry-run\"\n");
    Config c;
    auto r = run({"--config", path.c_str(), "--execution-mode", "disabled"}, c);
    ASSERT_TRUE(r) << r.error().c_str();
    EXPECT_EQ(c.builder.l2.timeout_ms, 900u);
    ASSERT_EQ(c.builder.builders.size(), 2u);
    EXPECT_EQ(c.builder.builders[0].name, "rbuilder");
    EXPECT_EQ(c.builder.builders[1].name, "builder2");
    EXPECT_EQ(c.builder.builders[1].timeout_ms, 250u);
    EXPECT_EQ(c.builder.get_payload_deadline_ms, 400u);
    EXPECT_EQ(c.builder.block_selection, engine::BlockSelection::priority);
    EXPECT_EQ(c.builder.execution_mode, engine::ExecutionMode::disabled);  // the flag wins
    // check-config reads the same tables.
    auto file = load_file(path);
    ASSERT_TRUE(file) << file.error().c_str();
    EXPECT_EQ(file->builder.execution_mode, engine::ExecutionMode::dry_run);
    EXPECT_EQ(file->port, 8081);
    ::unlink(path.c_str());

    auto file_error = [](const std::string& text) {
        std::string p = temp_file(text);
        auto loaded = load_file(p);
        ::unlink(p.c_str());
        return loaded ? std::string() : std::string(loaded.error().message());
    };
    std::string head =
        "role = \"builder\"\n[l2]\nurl = \"http://127.0.0.1:8551\"\njwt_secret = \"/x\"\n"
        "[[builders]]\nurl = \"http://127.0.0.1:8552\"\njwt_secret = \"/y\"\n";
    EXPECT_NE(file_error(head + "[builder]\nget_payload_deadline_ms = 2000\n")
                  .find("[builder] get_payload_deadline_ms 2000 ms is over the limit of 1000 ms"),
              std::string::npos);
    EXPECT_NE(file_error(head + "[builder]\nexecution_mode = \"off\"\n")
                  .find("builder.execution_mode: execution mode 'off'"),
              std::string::npos);
    EXPECT_NE(file_error(head + "[builder]\nselection = \"gas-used\"\n")
                  .find("unknown setting 'builder.selection'"),
              std::string::npos);
    EXPECT_NE(file_error("role = \"builder\"\n[l2]\nurl = \"http://127.0.0.1:8551\"\n"
                         "secret = \"/x\"\n")
                  .find("unknown setting 'l2.secret'"),
              std::string::npos);
    EXPECT_NE(file_error(head + "priority = 1\n").find("unknown setting 'builders[0].priority'"),
              std::string::npos);
    EXPECT_NE(file_error("role = \"builder\"\n[l2]\nurl = \"http://127.0.0.1:8551\"\n"
                         "jwt_secret = \"/x\"\n[[builders]]\nname = \"local\"\n"
                         "url = \"http://127.0.0.1:8552\"\njwt_secret = \"/y\"\n")
                  .find("may not be named 'local'"),
              std::string::npos);
}

TEST(BuilderNames, ModesAndPoliciesParseBothSpellings) {
    EXPECT_EQ(*engine::parse_execution_mode("dry-run"), engine::ExecutionMode::dry_run);
    EXPECT_EQ(*engine::parse_execution_mode("dry_run"), engine::ExecutionMode::dry_run);
    EXPECT_EQ(*engine::parse_execution_mode("disabled"), engine::ExecutionMode::disabled);
    EXPECT_FALSE(engine::parse_execution_mode("Enabled"));
    EXPECT_EQ(*engine::parse_block_selection("gas_used"), engine::BlockSelection::gas_used);
    EXPECT_EQ(*engine::parse_block_selection("block-value"), engine::BlockSelection::block_value);
    EXPECT_EQ(engine::execution_mode_name(engine::ExecutionMode::dry_run), "dry-run");
    EXPECT_EQ(engine::block_selection_name(engine::BlockSelection::priority), "priority");
}

}  // namespace
}  // namespace em::app
