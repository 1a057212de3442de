// The builder role's run-time control as pure functions (engine/builder_control.h): the body
// that switches the execution mode, in every spelling and every way it can be wrong, and the
// /healthz verdict (200 / 206 / 503) with the reason it gives.
#include <gtest/gtest.h>

#include "engine/builder_control.h"

namespace em::engine {
namespace {

std::string error_of(std::string_view body) {
    auto r = parse_execution_mode_body(body);
    EXPECT_FALSE(r) << body;
    return r ? std::string() : std::string(r.error().message());
}

TEST(ExecutionModeBody, EverySpellingOfEveryMode) {
    struct Case {
        const char* body;
        ExecutionMode mode;
    };
    const Case cases[] = {
        {R"({"execution_mode":"enabled"})", ExecutionMode::enabled},
        {R"({"execution_mode":"dry-run"})", ExecutionMode::dry_run},
        {R"({"execution_mode":"dry_run"})", ExecutionMode::dry_run},
        {R"( { "execution_mode" : "disabled" } )", ExecutionMode::disabled},
    };
    for (const Case& c : cases) {
        auto r = parse_execution_mode_body(c.body);
        ASSERT_TRUE(r) << c.body << ": " << r.error().c_str();
        EXPECT_EQ(*r, c.mode) << c.body;
    }
}

TEST(ExecutionModeBody, BadBodiesSayWhatIsWrong) {
    EXPECT_NE(error_of("").find("not JSON"), std::string::npos);
    EXPECT_NE(error_of("{\"execution_mode\":").find("not JSON"), std::string::npos);
    EXPECT_NE(error_of(R"(["dry_run"])").find("must be a JSON object"), std::string::npos);
    EXPECT_NE(error_of("{}").find("execution_mode is missing"), std::string::npos);
    EXPECT_NE(error_of(R"({"execution_mode":1})").find("must be a string"), std::string::npos);
    EXPECT_NE(error_of(R"({"mode":"enabled"})").find("unknown member \"mode\""), std::string::npos);
    EXPECT_NE(error_of(R"({"execution_mode":"enabled","x":1})").find("unknown member \"x\""),
              std::string::npos);
    EXPECT_NE(
        error_of(R"({"execution_mode":"enabled","execution_mode":"disabled"})").find("given twice"),
        std::string::npos);
    std::string unknown = error_of(R"({"execution_mode":"Enabled"})");
    EXPECT_NE(unknown.find("'Enabled'"), std::string::npos) << unknown;
    EXPECT_NE(unknown.find("dry-run"), std::string::npos) << unknown;
    EXPECT_NE(error_of(R"({"execution_mode":"dry run"})").find("'dry run'"), std::string::npos);
}

TEST(ExecutionModeBody, TheWireNameIsRollupBoosts) {
    EXPECT_EQ(execution_mode_wire_name(ExecutionMode::dry_run), "dry_run");
    EXPECT_EQ(execution_mode_wire_name(ExecutionMode::enabled), "enabled");
    EXPECT_EQ(execution_mode_wire_name(ExecutionMode::disabled), "disabled");
}

constexpr uint64_t s_ns = 1'000'000'000ull;

struct Health : ::testing::Test {
    uint64_t now = 1000 * s_ns;
    uint64_t max_unsafe = 10 * s_ns;
    NodeFreshness local{"local", true, now - 2 * s_ns, false, false};
    NodeFreshness builders[2] = {{"b1", true, now - s_ns, false, false},
                                 {"b2", true, now - s_ns, false, false}};
    HealthVerdict judge(ExecutionMode mode = ExecutionMode::enabled) {
        return judge_builder_health(mode, now, max_unsafe, local, builders);
    }
};

TEST_F(Health, FreshLocalAndAUsableBuilderIs200) {
    builders[0].benched = true;
    HealthVerdict v = judge();
    EXPECT_EQ(v.http_status, 200) << v.body;
    EXPECT_NE(v.body.find("\"status\":\"healthy\""), std::string::npos) << v.body;
    EXPECT_NE(v.body.find("1 of 2 builders usable"), std::string::npos) << v.body;
    EXPECT_NE(v.body.find("benched by its circuit breaker"), std::string::npos) << v.body;
}

TEST_F(Health, NoUsableBuilderIs206WithEachOnesReason) {
    builders[0].benched = true;
    builders[1].good_ns = now - 11 * s_ns;  // older than max_unsafe
    HealthVerdict v = judge();
    EXPECT_EQ(v.http_status, 206) << v.body;
    EXPECT_NE(v.body.find("0 of 2 builders usable"), std::string::npos) << v.body;
    EXPECT_NE(v.body.find("stale: last good answer 11000 ms ago"), std::string::npos) << v.body;
    builders[1].good_ns = now;
    builders[1].failing = true;
    v = judge();
    EXPECT_EQ(v.http_status, 206) << v.body;
    EXPECT_NE(v.body.find("failing its health checks"), std::string::npos) << v.body;
}

TEST_F(Health, DryRunJudgesBuildersAsEnabledDoes) {
    builders[0].benched = builders[1].benched = true;
    EXPECT_EQ(judge(ExecutionMode::dry_run).http_status, 206);
}

TEST_F(Health, DisabledIs200WhileTheLocalElIsFresh) {
    builders[0].benched = builders[1].benched = true;
    HealthVerdict v = judge(ExecutionMode::disabled);
    EXPECT_EQ(v.http_status, 200) << v.body;
    EXPECT_NE(v.body.find("execution mode disabled"), std::string::npos) << v.body;
    local.failing = true;
    EXPECT_EQ(judge(ExecutionMode::disabled).http_status, 503);
}

TEST_F(Health, AStaleOrFailingOrSilentLocalElIs503) {
    local.good_ns = now - 10 * s_ns;  // exactly the limit: still fresh
    EXPECT_EQ(judge().http_status, 200);
    local.good_ns = now - 10 * s_ns - 1;
    HealthVerdict v = judge();
    EXPECT_EQ(v.http_status, 503) << v.body;
    EXPECT_NE(v.body.find("the local EL is stale"), std::string::npos) << v.body;
    EXPECT_NE(v.body.find("max_unsafe_interval 10 s"), std::string::npos) << v.body;
    local.good_ns = 0;
    v = judge();
    EXPECT_NE(v.body.find("never answered well"), std::string::npos) << v.body;
    local.good_ns = now;
    local.failing = true;
    v = judge();
    EXPECT_EQ(v.http_status, 503) << v.body;
    EXPECT_NE(v.body.find("the local EL is failing"), std::string::npos) << v.body;
}

TEST_F(Health, AnAnswerStampedAfterNowIsFresh) {
    local.good_ns = now + 5;  // another thread stored a newer time than our reading
    EXPECT_EQ(judge().http_status, 200);
}

}  // namespace
}  // namespace em::engine
