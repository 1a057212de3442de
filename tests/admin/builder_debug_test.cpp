// The builder role's debug server (rollup-boost's debug_setExecutionMode and
// debug_getExecutionMode) and the admin API's /execution-mode as functions of their request:
// the mode switched in the shared state, the answer in rollup-boost's wire spelling, and
// JSON-RPC errors that name what was wrong.
#include <gtest/gtest.h>

#include "admin/builder_debug.h"

namespace em::admin {
namespace {

struct Debug : ::testing::Test {
    pipeline::BuilderShared shared{pipeline::BuilderSharedConfig{}};
    std::string call(const std::string& body) { return debug_rpc_answer(body, shared, "a test"); }
    static std::string set(const std::string& mode_json) {
        return R"({"jsonrpc":"2.0","id":7,"method":"debug_setExecutionMode","params":[)" +
               mode_json + "]}";
    }
};

TEST_F(Debug, SetAndGetSpeakRollupBoostsWireFormat) {
    EXPECT_EQ(call(set(R"({"execution_mode":"dry_run"})")),
              R"({"jsonrpc":"2.0","id":7,"result":{"execution_mode":"dry_run"}})");
    EXPECT_EQ(shared.mode(), engine::ExecutionMode::dry_run);
    EXPECT_EQ(call(R"({"jsonrpc":"2.0","id":"x","method":"debug_getExecutionMode","params":[]})"),
              R"({"jsonrpc":"2.0","id":"x","result":{"execution_mode":"dry_run"}})");
    EXPECT_EQ(call(set(R"({"execution_mode":"disabled"})")),
              R"({"jsonrpc":"2.0","id":7,"result":{"execution_mode":"disabled"}})");
    EXPECT_EQ(shared.mode(), engine::ExecutionMode::disabled);
    (void)call(set(R"({"execution_mode":"dry-run"})"));  // our spelling too
    EXPECT_EQ(shared.mode(), engine::ExecutionMode::dry_run);
    (void)call(set(R"({"execution_mode":"enabled"})"));
    EXPECT_EQ(shared.mode(), engine::ExecutionMode::enabled);
    EXPECT_EQ(call(R"({"jsonrpc":"2.0","id":1,"method":"debug_getExecutionMode"})"),
              R"({"jsonrpc":"2.0","id":1,"result":{"execution_mode":"enabled"}})");
}

TEST_F(Debug, BadRequestsAreJsonRpcErrorsThatSayWhatWasWrong) {
    auto expect_error = [&](const std::string& body, int code, const std::string& says) {
        std::string answer = call(body);
        EXPECT_NE(answer.find("\"code\":" + std::to_string(code)), std::string::npos) << answer;
        EXPECT_NE(answer.find(says), std::string::npos) << body << " -> " << answer;
        EXPECT_EQ(shared.mode(), engine::ExecutionMode::enabled) << body;
    };
    expect_error("{nope", -32700, "not JSON");
    expect_error("[]", -32600, "no batches");
    expect_error(R"({"jsonrpc":"2.0","id":1})", -32600, "\\\"method\\\" must be a string");
    expect_error(R"({"jsonrpc":"2.0","id":1,"method":"debug_setHealthOverride","params":[]})",
                 -32601, "debug_setHealthOverride");
    expect_error(set(R"({"execution_mode":"fast"})"), -32602, "'fast'");
    expect_error(set(R"({"mode":"enabled"})"), -32602, "unknown member \\\"mode\\\"");
    expect_error(set(R"("enabled")"), -32602, "must be a JSON object");
    expect_error(R"({"jsonrpc":"2.0","id":1,"method":"debug_setExecutionMode","params":[]})",
                 -32602, "takes one parameter");
    expect_error(R"({"jsonrpc":"2.0","id":1,"method":"debug_setExecutionMode"})", -32602,
                 "needs [{");
    expect_error(R"({"jsonrpc":"2.0","id":1,"method":"debug_getExecutionMode","params":[1]})",
                 -32602, "takes none");
}

TEST_F(Debug, TheAdminRouteSwitchesAndSaysWhatItWas) {
    std::string answer;
    EXPECT_EQ(post_execution_mode(R"({"execution_mode":"dry_run"})", shared, "t", answer), 200);
    EXPECT_EQ(answer, R"({"execution_mode":"dry-run","was":"enabled"})");
    EXPECT_EQ(get_execution_mode(shared), R"({"execution_mode":"dry-run"})");
    EXPECT_EQ(post_execution_mode(R"({"execution_mode":"off"})", shared, "t", answer), 400);
    EXPECT_NE(answer.find("'off'"), std::string::npos) << answer;
    EXPECT_EQ(shared.mode(), engine::ExecutionMode::dry_run);
}

}  // namespace
}  // namespace em::admin
