// Live reload (issue 19, item 10): SIGHUP and POST /reload re-read the configuration. Nodes are
// added, removed and changed, and the live settings applied, without dropping the CL's
// keep-alive connection or a call in flight; a file that does not load, or that changes a
// setting only a restart can change, is refused with the reason and the old configuration keeps
// running; the CL's secret can be rotated.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <string>
#include <thread>

#include "harness.h"

namespace em::test {
namespace {

const std::string admin_token = "a-test-admin-token-0123456789";

std::string node_table(const MockEl& el) {
    return "[[nodes]]\nurl = \"" + el.url() + "\"\nname = \"" + el.name + "\"\njwt_secret = \"" +
           el.secret + "\"\n";
}

/// Times `needle` occurs in the process's stderr.
size_t count_in_log(const Process& p, const std::string& needle) {
    std::string log = p.stderr_text();
    size_t n = 0;
    for (size_t at = log.find(needle); at != std::string::npos; at = log.find(needle, at + 1)) n++;
    return n;
}

/// Waits until `needle` occurs more than `before` times; returns the log.
std::string wait_for_more(const Process& p, const std::string& needle, size_t before) {
    for (int i = 0; i < 400 && count_in_log(p, needle) <= before; i++)
        std::this_thread::sleep_for(std::chrono::milliseconds(25));
    return p.stderr_text();
}

/// The node names /status lists, in slot order, joined by ','.
std::string node_names(Daemon& d) {
    std::string status = d.admin("GET", "/status").body;
    std::string out;
    for (int i = 0; i < 16; i++) {
        std::string name = json_at(status, "/nodes/" + std::to_string(i) + "/name");
        if (name == "<missing>") break;
        out += (out.empty() ? "" : ",") + name.substr(1, name.size() - 2);
    }
    return out;
}

std::string eth_call(int id) {
    return R"({"jsonrpc":"2.0","id":)" + std::to_string(id) +
           R"(,"method":"eth_blockNumber","params":[]})";
}

std::string post_with_jwt(const std::string& body, const std::string& secret) {
    return "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
           "Authorization: Bearer " +
           jwt_for(secret) + "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
           body;
}

TEST(Reload, SighupChangesNodesAndSettingsWithoutDroppingTheClOrACall) {
    TempDir dir;
    // Every EL holds newPayload 1.5 s: the call sent before the reload is still in flight
    // during it.
    MockEl el1(dir, "el1", {"--rule", "engine_newPayload*:delay=1500"});
    MockEl el2(dir, "el2", {"--rule", "engine_newPayload*:delay=1500"});
    MockEl el3(dir, "el3");
    const std::string health = "[health]\ninterval_ms = 200\ntimeout_ms = 500\n";
    std::string config = dir.write("enginemux.toml", health + node_table(el1) + node_table(el2));
    Daemon d(dir, {}, {"--config", config});
    ASSERT_EQ(node_names(d), "el1,el2");

    // The CL's keep-alive connection, used before and after the reload.
    ClientSocket cl(d.port);
    ASSERT_TRUE(cl.send_all(post_with_jwt(eth_call(1), d.secret)));
    ASSERT_EQ(status_of_response(cl.read_response()), 200);

    HttpReply in_flight;
    std::thread caller([&] { in_flight = d.call(payload_request(3, 2, 7), 10'000); });
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the call reached the ELs

    // el2 out, el3 in, more logging, a lower quorum, a shorter eth deadline.
    dir.write("enginemux.toml", "log_level = \"debug\"\n" + health +
                                    "[engine]\nfcu_majority = 0.5\neth_timeout_ms = 800\n" +
                                    node_table(el1) + node_table(el3));
    size_t reloads = count_in_log(*d.process, "reload: ");
    d.process->signal(SIGHUP);
    std::string log = wait_for_more(*d.process, "reload: ", reloads);
    size_t line = log.rfind("reload: ");
    ASSERT_NE(line, std::string::npos) << log;
    std::string said = log.substr(line, log.find('\n', line) - line);
    EXPECT_NE(said.find("log_level info -> debug"), std::string::npos) << said;
    EXPECT_NE(said.find("engine.fcu_majority 0.6 -> 0.5"), std::string::npos) << said;
    EXPECT_NE(said.find("engine.eth_timeout_ms 1000 -> 800"), std::string::npos) << said;
    EXPECT_NE(said.find("added el3"), std::string::npos) << said;
    EXPECT_NE(said.find("removed el2"), std::string::npos) << said;

    // The call in flight is answered (el2's answer still arrives: a removed node's calls
    // finish), and the CL's connection was not dropped.
    caller.join();
    EXPECT_EQ(status_of(in_flight), "\"VALID\"") << in_flight.status << " " << in_flight.body;
    ASSERT_TRUE(cl.send_all(post_with_jwt(eth_call(2), d.secret)));
    std::string again = cl.read_response();
    EXPECT_EQ(status_of_response(again), 200) << again;

    EXPECT_EQ(node_names(d), "el1,el3");
    EXPECT_EQ(json_at(d.admin("GET", "/status").body, "/quorum"), "0.5");
    // el3 now gets the engine calls; el2 no more.
    std::string before_el2 = el2.log();
    EXPECT_EQ(status_of(d.call(payload_request(3, 2, 8), 10'000)), "\"VALID\"");
    EXPECT_NE(el3.log().find("engine_newPayloadV3"), std::string::npos);
    EXPECT_EQ(el2.log(), before_el2);
    // A node's URL changed under the same name: replaced in place (same slot, so same metrics
    // series), named in the log.
    dir.write("enginemux.toml", "log_level = \"debug\"\n" + health +
                                    "[engine]\nfcu_majority = 0.5\neth_timeout_ms = 800\n" +
                                    node_table(el1) + "[[nodes]]\nurl = \"" + el2.url() +
                                    "\"\nname = \"el3\"\njwt_secret = \"" + el2.secret + "\"\n");
    reloads = count_in_log(*d.process, "reload: ");
    d.process->signal(SIGHUP);
    log = wait_for_more(*d.process, "reload: ", reloads);
    EXPECT_NE(log.find("changed el3 (url, secret)"), std::string::npos) << log;
    EXPECT_EQ(node_names(d), "el1,el3");
}

TEST(Reload, ABadFileIsRefusedWithTheReasonAndTheRunningConfigurationStays) {
    TempDir dir;
    MockEl el1(dir, "el1"), el2(dir, "el2");
    std::string token = dir.write("admin.token", admin_token);
    std::string good = "[admin]\ntoken_file = \"" + token + "\"\n" + node_table(el1);
    std::string config = dir.write("enginemux.toml", good);
    Daemon d(dir, {}, {"--config", config});
    d.admin_token = admin_token;
    struct Case {
        std::string file;
        const char* says;
    } cases[] = {
        {good + "[[nodes]]\nurl = \"http://127.0.0.1:1\"\nname = \"el1\"\n", "el1"},
        {good + "port = ", "enginemux.toml"},
        {"shards = 3\n" + good, "take effect only at a restart: shards 0 -> 3"},
        {"[limits]\nbody_bytes_max = 4096\n" + good,
         "take effect only at a restart: limits.body_bytes_max 33554432 -> 4096"},
        {good + "[[nodes]]\nurl = \"" + el1.url() + "\"\nname = \"el2\"\njwt_secret = \"" +
             el2.secret + "\"\n",
         "same endpoint as node el1"},
        {good + "[[nodes]]\nurl = \"http://127.0.0.1:" + std::to_string(d.port) +
             "\"\nname = \"loop\"\njwt_secret = \"" + el2.secret + "\"\n",
         "enginemux's own CL listener"},
        {good + "[[nodes]]\nurl = \"" + el2.url() + "\"\nname = \"el2\"\njwt_secret = \"" +
             dir.path + "/missing.hex\"\n",
         "missing.hex"},
    };
    for (const Case& c : cases) {
        dir.write("enginemux.toml", c.file);
        HttpReply r = d.admin("POST", "/reload");
        EXPECT_EQ(r.status, 400) << c.says << ": " << r.body;
        EXPECT_NE(r.body.find(c.says), std::string::npos) << r.body;
        EXPECT_EQ(node_names(d), "el1") << c.says;
    }
    // SIGHUP with a bad file: the same refusal, in the log.
    size_t refused = count_in_log(*d.process, "reload refused");
    dir.write("enginemux.toml", "shards = 3\n" + good);
    d.process->signal(SIGHUP);
    std::string log = wait_for_more(*d.process, "reload refused", refused);
    EXPECT_NE(log.find("reload refused, the running configuration stays: these settings take "
                       "effect only at a restart: shards 0 -> 3"),
              std::string::npos)
        << log;
    EXPECT_EQ(status_of(d.call(payload_request(3))), "\"VALID\"");
    // The file fixed: accepted, and the answer says what changed.
    dir.write("enginemux.toml", good + node_table(el2));
    HttpReply ok = d.admin("POST", "/reload");
    EXPECT_EQ(ok.status, 200) << ok.body;
    EXPECT_EQ(json_at(ok.body, "/reloaded"), "\"added el2\"") << ok.body;
    EXPECT_EQ(node_names(d), "el1,el2");
    HttpReply same = d.admin("POST", "/reload");
    EXPECT_EQ(json_at(same.body, "/reloaded"), "\"nothing changed\"") << same.body;
    // Without the token, a reload is refused like every other write.
    d.admin_token.clear();
    EXPECT_EQ(d.admin("POST", "/reload").status, 401);
}

TEST(Reload, TheClsSecretIsRotated) {
    TempDir dir;
    MockEl el1(dir, "el1");
    std::string config = dir.write("enginemux.toml", node_table(el1));
    Daemon d(dir, {}, {"--config", config});
    std::string old_token = jwt_for(d.secret);
    EXPECT_EQ(d.call(eth_call(1)).status, 200);
    // The CL's secret file gets a new secret: not used before a reload...
    std::string rotated = make_secret(dir, "rotated.hex");
    ASSERT_EQ(::rename(rotated.c_str(), d.secret.c_str()), 0);
    EXPECT_EQ(d.call(eth_call(2)).status, 401);
    size_t reloads = count_in_log(*d.process, "reload: ");
    d.process->signal(SIGHUP);
    std::string log = wait_for_more(*d.process, "reload: ", reloads);
    EXPECT_NE(log.find("reload: the CL's JWT secret"), std::string::npos) << log;
    // ...and after it, the new one is accepted and the old one refused.
    EXPECT_EQ(d.call(eth_call(3)).status, 200);
    EXPECT_EQ(http_request(d.port, "POST", "/", eth_call(4), old_token).status, 401);
}

}  // namespace
}  // namespace em::test
