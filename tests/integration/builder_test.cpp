// The builder role end to end (issue 15): the real daemon with `--role builder` (rollup-boost's
// flags) in front of three enginemux-mock-el processes: the local EL ("l2", --gas-used 1000) and
// two builders (b1 --gas-used 5000, b2 --gas-used 3000), all on 127.0.0.1, driven like op-node
// (fcU with attributes, then getPayload). The mocks' synthetic blocks have correct hashes and
// differ by their gas, so the block that comes back names its source; what each EL was asked is
// read from its /mock/log; counters from /metrics. No timed assertions: a slow or dead builder
// is checked by which block came back and by the counters.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"

namespace em::test {
namespace {

std::string zero32() {
    return "0x" + std::string(64, '0');
}

/// The mock ELs build every block on this parent at this time (mockel/payloads.cpp): a fork
/// from it is one their blocks are children of.
const std::string mock_parent = "0x6d6f636b" + std::string(56, '0');

std::string forkchoice(int id, bool no_tx_pool = false, const std::string& head = mock_parent) {
    return R"({"jsonrpc":"2.0","id":)" + std::to_string(id) +
           R"(,"method":"engine_forkchoiceUpdatedV3","params":[{"headBlockHash":")" + head +
           R"(","safeBlockHash":")" + head + R"(","finalizedBlockHash":")" + zero32() +
           R"("},{"timestamp":"0x6553f100","prevRandao":")" + zero32() +
           R"(","suggestedFeeRecipient":"0x)" + std::string(40, '0') +
           R"(","withdrawals":[],"parentBeaconBlockRoot":")" + zero32() +
           R"(","transactions":[],"noTxPool":)" + (no_tx_pool ? "true" : "false") +
           R"(,"gasLimit":"0x1c9c380"}]})";
}

std::string get_payload(int id, const std::string& payload_id) {
    return R"({"jsonrpc":"2.0","id":)" + std::to_string(id) +
           R"(,"method":"engine_getPayloadV3","params":[)" + payload_id + "]}";
}

/// Occurrences of `needle` in `text`.
size_t count(const std::string& text, const std::string& needle) {
    size_t n = 0;
    for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1))
        n++;
    return n;
}

struct BuilderRole : ::testing::Test {
    TempDir dir;
    MockEl l2{dir, "l2", {"--gas-used", "1000"}};
    MockEl b1{dir, "b1", {"--gas-used", "5000"}};
    MockEl b2{dir, "b2", {"--gas-used", "3000"}};
    std::unique_ptr<Daemon> daemon;

    uint16_t debug_port = 0;  ///< the debug server's (debug_setExecutionMode)

    void SetUp() override { start(); }
    /// `toml`: more of the config file (after [health]).
    void start(std::vector<std::string> extra = {}, const std::string& toml = "") {
        std::vector<std::string> args = {"--role",
                                         "builder",
                                         "--l2-url",
                                         l2.url(),
                                         "--l2-jwt-path",
                                         l2.secret,
                                         "--builder-url",
                                         b1.url() + "#name=b1",
                                         "--builder-url",
                                         b2.url() + "#name=b2",
                                         "--builder-jwt-path",
                                         b1.secret,
                                         "--builder-jwt-path",
                                         b2.secret};
        // Probes often, so a builder found dead by a failed call is found well again soon.
        args.push_back("--config");
        args.push_back(dir.write("builder.toml", "[health]\ninterval_ms = 250\n" + toml));
        args.push_back("--debug-server-port");  // any free port: tests run side by side
        args.push_back("0");
        args.insert(args.end(), extra.begin(), extra.end());
        daemon = std::make_unique<Daemon>(dir, std::vector<MockEl*>{}, args);
        std::string line = daemon->process->wait_for_line("builder debug server");
        size_t at = line.find("127.0.0.1:");
        EXPECT_NE(at, std::string::npos) << line;
        if (at != std::string::npos)
            debug_port = static_cast<uint16_t>(std::stoi(line.substr(at + 10)));
    }
    /// A debug_* call on the debug port; returns the JSON-RPC answer.
    std::string debug(const std::string& method, const std::string& params) {
        std::string body =
            R"({"jsonrpc":"2.0","id":1,"method":")" + method + R"(","params":)" + params + "}";
        HttpReply r = http_request(debug_port, "POST", "/", body);
        EXPECT_EQ(r.status, 200) << r.body;
        return r.body;
    }
    /// /status's builder.execution_mode, raw JSON.
    std::string status_mode() {
        return json_at(daemon->admin("GET", "/status").body, "/builder/execution_mode");
    }
    /// /status's breaker state of builder k (0-based in configured order), raw JSON.
    std::string breaker_of(int k) {
        return json_at(daemon->admin("GET", "/status").body,
                       "/builder/builders/" + std::to_string(k) + "/breaker");
    }
    /// fcU with attributes; returns the payloadId op-node got (raw JSON).
    /// A forkchoiceUpdated with attributes; returns the payloadId op-node gets. The local
    /// answer comes before the builders': then waits (up to 10 s) until each builder in
    /// `answering` has had its answer taken (its fcU round trip counted), so that a getPayload
    /// sent next finds their ids mapped, as op-node's would a slot later.
    std::string fork(bool no_tx_pool = false,
                     const std::vector<std::string>& answering = {"b1", "b2"},
                     const std::string& head = mock_parent) {
        auto replies = [&](const std::string& name) {
            return metric("enginemux_upstream_seconds_count{node=\"" + name +
                          "\",method=\"engine_forkchoiceUpdatedV3\"}");
        };
        std::vector<double> before;
        for (const std::string& name : answering) before.push_back(replies(name));
        HttpReply r = daemon->call(forkchoice(1, no_tx_pool, head));
        EXPECT_EQ(r.status, 200) << r.body;
        EXPECT_EQ(json_at(r.body, "/result/payloadStatus/status"), "\"VALID\"") << r.body;
        for (size_t k = 0; k < answering.size(); k++) {
            for (int i = 0; i < 200 && replies(answering[k]) <= std::max(before[k], 0.0); i++)
                std::this_thread::sleep_for(std::chrono::milliseconds(50));
            EXPECT_GT(replies(answering[k]), std::max(before[k], 0.0)) << answering[k];
        }
        return json_at(r.body, "/result/payloadId");
    }
    /// The gasUsed of the block a getPayload answered ("<missing>" when none).
    std::string gas_of(const HttpReply& r) {
        return json_at(r.body, "/result/executionPayload/gasUsed");
    }
    /// Waits (up to 10 s; the probes run every 250 ms here) until /status no longer shows
    /// builder `name` dead.
    bool wait_until_not_dead(const std::string& name) {
        for (int i = 0; i < 100; i++) {
            std::string body = daemon->admin("GET", "/status").body;
            for (int k = 0; k < 2; k++) {
                std::string at = "/builder/builders/" + std::to_string(k);
                if (json_at(body, at + "/name") == "\"" + name + "\"" &&
                    json_at(body, at + "/state") != "\"dead\"")
                    return true;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        return false;
    }
    double metric(const std::string& sample) {
        return metric_value(daemon->admin("GET", "/metrics").body, sample);
    }
};

// A builder block for another parent (the fork's head is not the mocks' parent): each is named
// in the log with its builder and counted as wrong_parent; op-node gets the local block.
TEST_F(BuilderRole, ABlockForAnotherParentIsNotUsedAndTheLogNamesTheBuilder) {
    std::string id = fork(false, {"b1", "b2"}, "0x" + std::string(64, '4'));
    HttpReply r = daemon->call(get_payload(2, id));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(gas_of(r), "\"0x3e8\"") << "the local block (1000 gas): " << r.body;
    EXPECT_EQ(metric("enginemux_builder_rejected_total{builder=\"b1\",reason=\"wrong_parent\"}"),
              1);
    EXPECT_EQ(metric("enginemux_builder_validations_total"), 0) << "nothing sent to validate";
    EXPECT_NE(daemon->process->stderr_text().find("builder b1: block not used (wrong_parent): its "
                                                  "block's parent is 0x6d6f636b"),
              std::string::npos);
}

TEST_F(BuilderRole, TheValidBuilderBlockWithTheMostGasIsAnsweredAndWasValidatedLocally) {
    std::string id = fork();
    ASSERT_NE(id, "null");
    // op-node got the local EL's own id: the local EL answers getPayload for it (a mock EL
    // answers -38001 for an id it did not issue).
    HttpReply r = daemon->call(get_payload(2, id));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(gas_of(r), "\"0x1388\"") << "b1's block (5000 gas): " << r.body;
    std::string hash = json_at(r.body, "/result/executionPayload/blockHash");
    ASSERT_NE(hash, "<missing>");
    // The local EL imported that block before op-node got it.
    std::string log = l2.log();
    EXPECT_NE(log.find(hash.substr(1, hash.size() - 2)), std::string::npos) << log;
    EXPECT_EQ(metric("enginemux_builder_blocks_total{source=\"b1\"}"), 1);
    EXPECT_EQ(metric("enginemux_builder_blocks_total{source=\"local\"}"), 0);
    EXPECT_EQ(metric("enginemux_builder_validations_total"), 2);
    HttpReply status = daemon->admin("GET", "/status");
    EXPECT_EQ(json_at(status.body, "/builder/builders/0/name"), "\"b1\"") << status.body;
    EXPECT_EQ(json_at(status.body, "/builder/builders/0/blocks"), "1") << status.body;
}

TEST_F(BuilderRole, ABlockWithAWrongHashIsNotUsedAndCountedAsHashMismatch) {
    b1.set_rules("engine_getPayload*:bad_hash");
    b2.set_rules("engine_getPayload*:bad_hash");
    std::string id = fork();
    HttpReply r = daemon->call(get_payload(2, id));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(gas_of(r), "\"0x3e8\"") << "the local block (1000 gas): " << r.body;
    EXPECT_EQ(metric("enginemux_builder_fallbacks_total{reason=\"hash_mismatch\"}"), 1);
    EXPECT_EQ(metric("enginemux_builder_rejected_total{builder=\"b1\",reason=\"hash_mismatch\"}"),
              1);
    EXPECT_EQ(metric("enginemux_builder_blocks_total{source=\"local\"}"), 1);
    EXPECT_EQ(count(l2.log(), "engine_newPayload"), 0u) << "a mismatched block is never sent";
}

// Bad input from builders (issue 15): whatever a builder answers getPayload with, op-node gets
// the local block before the deadline; each is counted against the builder and logged with its
// name. Both builders answer the same way, once (a fresh daemon per case: a breaker would
// bench a builder after three).
void bad_answers_mean_the_local_block(BuilderRole& t, const std::string& action,
                                      const std::string& reason) {
    t.b1.set_rules("engine_getPayload*:" + action);
    t.b2.set_rules("engine_getPayload*:" + action);
    std::string id = t.fork();
    HttpReply r = t.daemon->call(get_payload(2, id));
    ASSERT_EQ(r.status, 200) << action << ": " << r.body;
    EXPECT_EQ(t.gas_of(r), "\"0x3e8\"") << action << ": the local block: " << r.body;
    for (const char* b : {"b1", "b2"})
        EXPECT_EQ(t.metric(std::string("enginemux_builder_rejected_total{builder=\"") + b +
                           "\",reason=\"" + reason + "\"}"),
                  1)
            << action << " " << b;
    EXPECT_NE(t.daemon->process->stderr_text().find("builder b1: block not used (" + reason + ")"),
              std::string::npos)
        << action;
}

TEST_F(BuilderRole, GarbageFromBuildersMeansTheLocalBlock) {
    bad_answers_mean_the_local_block(*this, "garbage", "invalid");
}

TEST_F(BuilderRole, AnAnswerUnderAnotherIdMeansTheLocalBlock) {
    bad_answers_mean_the_local_block(*this, "wrong_id", "invalid");
}

TEST_F(BuilderRole, AJsonRpcErrorFromBuildersMeansTheLocalBlock) {
    bad_answers_mean_the_local_block(*this, "error=-38001:Unknown payload", "invalid");
}

TEST_F(BuilderRole, ABuilderBlockTheLocalElCallsInvalidIsNotUsed) {
    l2.set_rules("engine_newPayload*:status=INVALID,validation_error=bad block");
    std::string id = fork();
    HttpReply r = daemon->call(get_payload(2, id));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(gas_of(r), "\"0x3e8\"") << r.body;
    EXPECT_EQ(metric("enginemux_builder_fallbacks_total{reason=\"invalid\"}"), 1);
}

TEST_F(BuilderRole, ASlowAndADeadBuilderMeanTheLocalBlock) {
    // The builders' own deadline (5 s) and the spec's getPayload timeout (1 s) are longer than
    // the slow one's delay (800 ms): only getPayload's one deadline (500 ms) keeps it out.
    daemon.reset();
    start({"--builder-timeout", "5000"});
    std::string id = fork();
    b1.set_rules("engine_getPayload*:delay=800");
    b2.process->signal(SIGKILL);
    b2.process->wait_exit();
    HttpReply r = daemon->call(get_payload(2, id));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(gas_of(r), "\"0x3e8\"") << "the local block: " << r.body;
    EXPECT_EQ(metric("enginemux_builder_fallbacks_total{reason=\"late\"}"), 1);
    EXPECT_EQ(metric("enginemux_builder_rejected_total{builder=\"b1\",reason=\"late\"}"), 1);
    // The daemon goes on: once the probes find b1 well again, the next slot uses its block.
    b1.set_rules("");
    ASSERT_TRUE(wait_until_not_dead("b1")) << daemon->admin("GET", "/status").body;
    id = fork(false, {"b1"});
    r = daemon->call(get_payload(3, id));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(gas_of(r), "\"0x1388\"") << r.body;
}

TEST_F(BuilderRole, NoTxPoolMeansTheLocalBlockAndNoBuilderIsAskedForOne) {
    std::string id = fork(/*no_tx_pool=*/true);
    HttpReply r = daemon->call(get_payload(2, id));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(gas_of(r), "\"0x3e8\"") << r.body;
    EXPECT_EQ(metric("enginemux_builder_fallbacks_total{reason=\"no_tx_pool\"}"), 1);
    EXPECT_EQ(count(b1.log(), "engine_getPayload"), 0u);
    EXPECT_EQ(count(b1.log(), "engine_forkchoiceUpdated"), 1u) << "the builders still follow";
}

TEST_F(BuilderRole, ABuilderThatAnswersTheForkAfterTheLocalElStillHasItsIdMapped) {
    b1.set_rules("engine_forkchoiceUpdated*:delay=300");
    b2.process->signal(SIGKILL);  // b1's block is then the only candidate
    b2.process->wait_exit();
    std::string id = fork(false, {});  // answered with the local EL's id, b1 still building
    // Wait (up to 10 s) until b1's late id is attached to the local one.
    for (int i = 0; i < 100 && metric("enginemux_builder_ids_attached_total") < 1; i++)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ASSERT_EQ(metric("enginemux_builder_ids_attached_total"), 1);
    HttpReply r = daemon->call(get_payload(2, id));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(gas_of(r), "\"0x1388\"") << "b1's block: " << r.body;
}

TEST_F(BuilderRole, DryRunValidatesBuilderBlocksButAnswersTheLocalOne) {
    daemon.reset();
    start({"--execution-mode", "dry-run"});
    std::string id = fork();
    HttpReply r = daemon->call(get_payload(2, id));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(gas_of(r), "\"0x3e8\"") << r.body;
    EXPECT_EQ(metric("enginemux_builder_fallbacks_total{reason=\"dry_run\"}"), 1);
    EXPECT_EQ(metric("enginemux_builder_dry_run_picks_total"), 1);
    EXPECT_EQ(count(l2.log(), "engine_newPayload"), 2u) << "both builder blocks validated";
}

TEST_F(BuilderRole, DisabledNeverCallsABuilder) {
    daemon.reset();
    start({"--execution-mode", "disabled"});
    std::string id = fork(false, {});
    HttpReply r = daemon->call(get_payload(2, id));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(gas_of(r), "\"0x3e8\"") << r.body;
    EXPECT_EQ(count(b1.log(), "engine_"), 0u) << b1.log();
    EXPECT_EQ(count(b2.log(), "engine_"), 0u) << b2.log();
}

TEST_F(BuilderRole, TheAdminApiDoesNotChangeTheBuilderRolesNodes) {
    const std::string token = "a-test-admin-token-0123456789";
    daemon.reset();
    start({"--admin-token-file", dir.write("admin.token", token + "\n")});
    daemon->admin_token = token;
    HttpReply removed = daemon->admin("DELETE", "/nodes/b1");
    EXPECT_EQ(removed.status, 400) << removed.body;
    EXPECT_NE(removed.body.find("[[builders]]"), std::string::npos) << removed.body;
    HttpReply added =
        daemon->admin("POST", "/nodes", b2.url() + "#name=b3#jwt-secret=" + b2.secret);
    EXPECT_EQ(added.status, 400) << added.body;
    EXPECT_NE(added.body.find("[[builders]]"), std::string::npos) << added.body;
    std::string status = daemon->admin("GET", "/status").body;
    EXPECT_EQ(json_at(status, "/builder/builders/0/name"), "\"b1\"") << status;
    EXPECT_EQ(json_at(status, "/builder/builders/2"), "<missing>") << status;
}

TEST_F(BuilderRole, AReloadIsRefusedAndTheNodesStay) {
    daemon->process->signal(SIGHUP);
    std::string line = daemon->process->wait_for_line("reload refused");
    EXPECT_NE(line.find("role builder"), std::string::npos) << line;
    std::string id = fork();  // still served, by the same nodes
    HttpReply r = daemon->call(get_payload(2, id));
    EXPECT_EQ(gas_of(r), "\"0x1388\"") << r.body;
}

TEST_F(BuilderRole, OpNodeSignsWithTheL2SecretWhenNoJwtSecretIsGiven) {
    // The harness passes --jwt-secret (op-node's own); a second daemon without it checks
    // op-node's token with the L2's secret.
    std::vector<std::string> args = {binary("EM_ENGINEMUX"),
                                     "--role",
                                     "builder",
                                     "--l2-url",
                                     l2.url(),
                                     "--l2-jwt-path",
                                     l2.secret,
                                     "--builder-url",
                                     b1.url(),
                                     "--builder-jwt-path",
                                     b1.secret,
                                     "--port",
                                     "0",
                                     "--admin-listen",
                                     "127.0.0.1:0"};
    args.push_back("--debug-server-port");
    args.push_back("0");
    Process p(args, "enginemux-l2-secret");
    std::string line = p.wait_for_line("listening on");
    size_t at = line.find("listening on 127.0.0.1:");
    ASSERT_NE(at, std::string::npos) << line;
    uint16_t port = static_cast<uint16_t>(std::stoi(line.substr(at + 23)));
    std::string body = R"({"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]})";
    EXPECT_EQ(http_request(port, "POST", "/", body, jwt_for(l2.secret)).status, 200);
    EXPECT_EQ(http_request(port, "POST", "/", body, jwt_for(b1.secret)).status, 401);
}

TEST_F(BuilderRole, TheDebugPortSwitchesTheModeAsRollupBoostsDoes) {
    EXPECT_EQ(json_at(debug("debug_getExecutionMode", "[]"), "/result/execution_mode"),
              "\"enabled\"");
    std::string set = debug("debug_setExecutionMode", R"([{"execution_mode":"disabled"}])");
    EXPECT_EQ(json_at(set, "/result/execution_mode"), "\"disabled\"") << set;
    EXPECT_EQ(status_mode(), "\"disabled\"");
    EXPECT_NE(daemon->process->wait_for_line("builder execution mode enabled -> disabled")
                  .find("debug_setExecutionMode from 127.0.0.1"),
              std::string::npos);
    // Disabled: the builders get no engine call at all.
    size_t b1_calls = count(b1.log(), "engine_"), b2_calls = count(b2.log(), "engine_");
    std::string id = fork(false, {});
    HttpReply r = daemon->call(get_payload(2, id));
    EXPECT_EQ(gas_of(r), "\"0x3e8\"") << r.body;
    EXPECT_EQ(count(b1.log(), "engine_"), b1_calls) << b1.log();
    EXPECT_EQ(count(b2.log(), "engine_"), b2_calls) << b2.log();
    // dry_run, rollup-boost's spelling: the builders build again, the local block is answered.
    set = debug("debug_setExecutionMode", R"([{"execution_mode":"dry_run"}])");
    EXPECT_EQ(json_at(set, "/result/execution_mode"), "\"dry_run\"") << set;
    id = fork();
    r = daemon->call(get_payload(3, id));
    EXPECT_EQ(gas_of(r), "\"0x3e8\"") << r.body;
    EXPECT_EQ(metric("enginemux_builder_dry_run_picks_total"), 1);
    // A bad mode is an error that names it, and changes nothing.
    std::string bad = debug("debug_setExecutionMode", R"([{"execution_mode":"on"}])");
    EXPECT_EQ(json_at(bad, "/error/code"), "-32602") << bad;
    EXPECT_NE(bad.find("'on'"), std::string::npos) << bad;
    EXPECT_EQ(status_mode(), "\"dry-run\"");
}

TEST_F(BuilderRole, TheAdminApiSwitchesTheModeOnlyWithItsToken) {
    // No token configured: every write is refused.
    HttpReply r = daemon->admin("POST", "/execution-mode", R"({"execution_mode":"disabled"})");
    EXPECT_EQ(r.status, 403) << r.body;
    const std::string token = "a-test-admin-token-0123456789";
    daemon.reset();
    start({"--admin-token-file", dir.write("admin.token", token + "\n")});
    r = daemon->admin("POST", "/execution-mode", R"({"execution_mode":"disabled"})");
    EXPECT_EQ(r.status, 401) << r.body;
    daemon->admin_token = "a-wrong-token-0123456789";
    EXPECT_EQ(daemon->admin("POST", "/execution-mode", R"({"execution_mode":"disabled"})").status,
              401);
    EXPECT_EQ(status_mode(), "\"enabled\"");
    daemon->admin_token = token;
    r = daemon->admin("POST", "/execution-mode", R"({"execution_mode":"disabled"})");
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(json_at(r.body, "/was"), "\"enabled\"") << r.body;
    EXPECT_EQ(status_mode(), "\"disabled\"");
    EXPECT_EQ(json_at(daemon->admin("GET", "/execution-mode").body, "/execution_mode"),
              "\"disabled\"");
    r = daemon->admin("POST", "/execution-mode", R"({"execution_mode":"fast"})");
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_NE(r.body.find("'fast'"), std::string::npos) << r.body;
}

TEST_F(BuilderRole, TheCliSwitchesTheModeThroughTheAdminApi) {
    const std::string token = "a-test-admin-token-0123456789";
    daemon.reset();
    std::string token_file = dir.write("admin.token", token + "\n");
    start({"--admin-token-file", token_file});
    std::string admin = "127.0.0.1:" + std::to_string(daemon->admin_port);
    Process set({binary("EM_ENGINEMUX"), "builder", "set-execution-mode", "dry-run", "--admin",
                 admin, "--admin-token-file", token_file},
                "enginemux-builder-set");
    EXPECT_EQ(set.wait_exit(), 0) << set.stderr_text();
    EXPECT_EQ(status_mode(), "\"dry-run\"");
    Process get({binary("EM_ENGINEMUX"), "builder", "get-execution-mode", "--admin", admin},
                "enginemux-builder-get");
    EXPECT_EQ(get.wait_exit(), 0) << get.stderr_text();
    EXPECT_NE(get.stdout_text().find("dry-run"), std::string::npos) << get.stdout_text();
    Process refused(
        {binary("EM_ENGINEMUX"), "builder", "set-execution-mode", "disabled", "--admin", admin},
        "enginemux-builder-refused");
    EXPECT_EQ(refused.wait_exit(), 1);
    EXPECT_NE(refused.stderr_text().find("401"), std::string::npos) << refused.stderr_text();
    EXPECT_EQ(status_mode(), "\"dry-run\"");
}

TEST_F(BuilderRole, ABuilderSendingBadBlocksIsBenchedAndProbedBackAfterItsCooldown) {
    daemon.reset();
    start({}, "[builder]\nbreaker_failures = 3\nbreaker_window_s = 60\nbreaker_cooldown_s = 1\n");
    b1.set_rules("engine_getPayload*:bad_hash");
    b2.set_rules("engine_getPayload*:bad_hash");
    for (int k = 0; k < 3; k++) {
        EXPECT_EQ(breaker_of(0), "\"closed\"") << k;
        std::string id = fork();
        HttpReply r = daemon->call(get_payload(2, id));
        EXPECT_EQ(gas_of(r), "\"0x3e8\"") << r.body;
    }
    EXPECT_EQ(breaker_of(0), "\"open\"");
    EXPECT_EQ(breaker_of(1), "\"open\"");
    EXPECT_EQ(metric("enginemux_builder_breaker_state{builder=\"b1\"}"), 1);
    EXPECT_EQ(metric("enginemux_builder_breaker_opens_total{builder=\"b1\"}"), 1);
    // b1 is good again; b2 stays bad. Each slot is one fork and getPayload, until the probe
    // after the cooldown (1 s) has b1's block used (at most 10 s).
    b1.set_rules("");
    bool back = false;
    const std::string b1_forks =
        "enginemux_upstream_seconds_count{node=\"b1\",method=\"engine_forkchoiceUpdatedV3\"}";
    for (int i = 0; i < 50 && !back; i++) {
        double before = metric(b1_forks);
        std::string id = fork(false, {});
        // When this fork was b1's probe, its id is mapped once its answer is in (up to 1 s).
        for (int k = 0; k < 20 && metric(b1_forks) <= before; k++)
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        HttpReply r = daemon->call(get_payload(3, id));
        back = gas_of(r) == "\"0x1388\"";
        if (!back) std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    EXPECT_TRUE(back) << daemon->admin("GET", "/status").body;
    EXPECT_EQ(breaker_of(0), "\"closed\"");
    EXPECT_GE(metric("enginemux_builder_fallbacks_total{reason=\"breaker_open\"}"), 1);
}

TEST_F(BuilderRole, HealthzTellsLocalFaultsFromBuilderFaults) {
    auto healthz = [&](bool admin) {
        return admin ? daemon->admin("GET", "/healthz")
                     : http_request(daemon->port, "GET", "/healthz", "");  // no JWT
    };
    // Polls (up to 10 s; probes every 250 ms) until /healthz on both ports answers `code`.
    auto wait_for = [&](int code) {
        for (int i = 0; i < 100; i++) {
            if (healthz(false).status == code && healthz(true).status == code) return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        return false;
    };
    ASSERT_TRUE(wait_for(200)) << healthz(false).body;
    EXPECT_EQ(json_at(healthz(false).body, "/status"), "\"healthy\"");
    b1.process->signal(SIGKILL);
    b2.process->signal(SIGKILL);
    b1.process->wait_exit();
    b2.process->wait_exit();
    ASSERT_TRUE(wait_for(206)) << healthz(false).body;
    HttpReply partial = healthz(true);
    EXPECT_NE(partial.body.find("0 of 2 builders usable"), std::string::npos) << partial.body;
    EXPECT_NE(partial.body.find("failing its health checks"), std::string::npos) << partial.body;
    // Disabled: the builders do not matter.
    (void)debug("debug_setExecutionMode", R"([{"execution_mode":"disabled"}])");
    EXPECT_EQ(healthz(false).status, 200) << healthz(false).body;
    l2.process->signal(SIGKILL);
    l2.process->wait_exit();
    ASSERT_TRUE(wait_for(503)) << healthz(false).body;
    HttpReply down = healthz(false);
    EXPECT_NE(down.body.find("the local EL is failing"), std::string::npos) << down.body;
    EXPECT_EQ(json_at(down.body, "/status"), "\"unhealthy\"");
}

}  // namespace
}  // namespace em::test
