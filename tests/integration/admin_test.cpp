// The admin API's security contract end to end (issue 19, defect 2): nothing that can change
// routing or mint a token is reachable without a credential.
//   - without [admin] token_file, POST and DELETE answer 403 naming the fix; GETs stay open;
//   - a node added at run time must bring its own secret, from a file under [admin] secrets_dir
//     (checked after resolving `..` and symlinks), so a local process can never make enginemux
//     sign a probe to it with the CL's secret (or another EL's);
//   - errors about a secret file never quote the file's contents;
//   - protect_reads = true puts the GETs behind the token too; a wrong token is 401.
// Each test starts its own enginemux in front of one enginemux-mock-el, and an AuthRecorder
// plays the attacker's "EL", recording every Authorization header enginemux sends it.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdlib>
#include <string>
#include <string_view>
#include <thread>

#include "base/clock.h"
#include "harness.h"
#include "http/jwt.h"

namespace em::test {
namespace {

const std::string admin_token = "a-test-admin-token-0123456789";  // 16+ characters
const std::string fast_health = "[health]\ninterval_ms = 100\ntimeout_ms = 500\n";

/// Probes of the daemon's first node so far (from /status).
long probes_of_first_node(Daemon& d) {
    std::string probes = json_at(d.admin("GET", "/status").body, "/nodes/0/probes");
    return probes == "<missing>" ? -1 : std::stol(probes);
}

/// Waits until the first node has been probed `rounds` more times, or `recorder` received a
/// request. A node registered before that would have been probed in those rounds (an added
/// node is probed at once), so "no request by then" means enginemux never sent it one.
void wait_probe_rounds(Daemon& d, const AuthRecorder& recorder, int rounds) {
    long start = probes_of_first_node(d);
    for (int i = 0; i < 400 && recorder.requests() == 0; i++) {
        if (probes_of_first_node(d) >= start + rounds) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
}

/// True when `token` (an Authorization value) is a JWT the secret file's owner would accept.
bool signed_with(const std::string& authorization, const std::string& secret_path) {
    auto secret = http::load_jwt_secret_file(secret_path.c_str());
    if (!secret) return false;
    http::JwtVerifier verifier(*secret, false);
    return verifier.verify_authorization(authorization, wall_s()).has_value();
}

/// No token the recorder got is accepted with the CL's secret, by the verifier or by enginemux.
void expect_no_cl_token(const AuthRecorder& recorder, Daemon& d) {
    for (const std::string& authorization : recorder.authorizations()) {
        EXPECT_FALSE(signed_with(authorization, d.secret))
            << "enginemux signed a probe to a node with the CL's secret: " << authorization;
        std::string token = authorization.substr(authorization.find(' ') + 1);
        HttpReply replay =
            http_request(d.port, "POST", "/",
                         R"({"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]})", token);
        EXPECT_EQ(replay.status, 401)
            << "a harvested token was accepted as the CL's: " << replay.body;
    }
}

/// The message does not quote any character of `content` ('c' for each c in it).
void expect_quotes_nothing_of(const std::string& message, const std::string& content) {
    for (char c : content) {
        std::string quoted = std::string("'") + c + "'";
        EXPECT_EQ(message.find(quoted), std::string::npos)
            << "quotes " << quoted << ": " << message;
    }
    EXPECT_EQ(message.find(content.substr(0, 8)), std::string::npos) << message;
}

TEST(AdminWithoutToken, WritesAreRefusedWith403NamingTheFixAndReadsStayOpen) {
    TempDir dir;
    MockEl el(dir, "el1");
    Daemon d(dir, {&el});
    MockEl other(dir, "el2");
    for (auto [method, target, body] :
         {std::tuple{"POST", "/nodes", other.url() + "#jwt-secret=" + other.secret + "#name=el2"},
          std::tuple{"DELETE", "/nodes/el1", std::string()},
          std::tuple{"POST", "/recheck", std::string()}}) {
        HttpReply r = d.admin(method, target, body);
        EXPECT_EQ(r.status, 403) << method << " " << target << ": " << r.body;
        EXPECT_NE(r.body.find("[admin] token_file"), std::string::npos) << r.body;
        EXPECT_NE(r.body.find("--admin-token-file"), std::string::npos) << r.body;
    }
    for (const char* target : {"/status", "/metrics", "/healthz"})
        EXPECT_EQ(d.admin("GET", target).status, 200) << target;
    std::string status = d.admin("GET", "/status").body;
    EXPECT_EQ(json_at(status, "/nodes/0/name"), "\"el1\"") << status;  // not removed
    EXPECT_EQ(json_at(status, "/nodes/1"), "<missing>") << status;     // nothing added
}

TEST(AdminWithoutToken, ALocalProcessCannotHarvestTheClsToken) {
    // The attack: POST /nodes with one's own URL and no secret, collect the probe's JWT (signed
    // with the CL's secret, the default for nodes without one), replay it to enginemux as the CL.
    TempDir dir;
    MockEl el(dir, "el1");
    Daemon d(dir, {&el}, {"--config", dir.write("fast.toml", fast_health)});
    AuthRecorder attacker;
    HttpReply added = d.admin("POST", "/nodes", attacker.url() + "#name=evil");
    EXPECT_EQ(added.status, 403) << added.body;
    wait_probe_rounds(d, attacker, 3);
    EXPECT_EQ(attacker.requests(), 0u)
        << "enginemux sent requests to a node added without a credential";
    expect_no_cl_token(attacker, d);
    EXPECT_EQ(d.admin("GET", "/status").body.find(attacker.url()), std::string::npos);
}

TEST(AdminWithToken, ANodeWithoutItsOwnSecretIsRefused) {
    TempDir dir;
    MockEl el(dir, "el1");
    Daemon d(dir, {&el},
             {"--config", dir.write("fast.toml", fast_health), "--admin-token-file",
              dir.write("admin.token", admin_token + "\n")});
    d.admin_token = admin_token;
    AuthRecorder attacker;
    HttpReply added = d.admin("POST", "/nodes", attacker.url() + "#name=evil");
    EXPECT_EQ(added.status, 400) << added.body;
    EXPECT_NE(added.body.find("#jwt-secret="), std::string::npos) << added.body;
    EXPECT_NE(added.body.find("secrets_dir"), std::string::npos) << added.body;
    wait_probe_rounds(d, attacker, 3);
    EXPECT_EQ(attacker.requests(), 0u);
    expect_no_cl_token(attacker, d);
}

TEST(AdminWithToken, SecretsOutsideTheDefaultSecretsDirAreRefused) {
    // The default secrets_dir is /etc/enginemux: another EL's secret in /tmp, the CL's own secret
    // and /etc/shadow are all outside it.
    TempDir dir;
    MockEl el(dir, "el1");
    Daemon d(dir, {&el},
             {"--config", dir.write("fast.toml", fast_health), "--admin-token-file",
              dir.write("admin.token", admin_token + "\n")});
    d.admin_token = admin_token;
    AuthRecorder attacker;
    int n = 0;
    for (const std::string& path :
         {el.secret, d.secret, std::string("/etc/shadow"), std::string("/etc/passwd"),
          std::string("/etc/enginemux/../shadow")}) {
        std::string name = "#name=evil" + std::to_string(++n);
        HttpReply added = d.admin("POST", "/nodes", attacker.url() + "#jwt-secret=" + path + name);
        EXPECT_EQ(added.status, 400) << path << ": " << added.body;
        EXPECT_NE(added.body.find("/etc/enginemux"), std::string::npos) << added.body;
        expect_quotes_nothing_of(added.body, "root:x:0:0:root:/root:/bin/bash");
    }
    wait_probe_rounds(d, attacker, 3);
    EXPECT_EQ(attacker.requests(), 0u);
    for (const std::string& authorization : attacker.authorizations())
        EXPECT_FALSE(signed_with(authorization, el.secret))
            << "enginemux signed with another EL's secret";
    expect_no_cl_token(attacker, d);
}

TEST(AdminWithToken, SecretsDirIsCheckedAfterResolvingDotDotAndSymlinks) {
    TempDir dir;
    MockEl el(dir, "el1");
    std::string secrets = dir.path + "/secrets";
    ASSERT_EQ(::mkdir(secrets.c_str(), 0700), 0);
    ASSERT_EQ(::mkdir((dir.path + "/secrets-evil").c_str(), 0700), 0);
    std::string config =
        dir.write("admin.toml", fast_health + "[admin]\nsecrets_dir = \"" + secrets + "\"\n");
    Daemon d(dir, {&el},
             {"--config", config, "--admin-token-file", dir.write("admin.token", admin_token)});
    d.admin_token = admin_token;
    AuthRecorder attacker;
    // el1's secret sits in dir, next to secrets/: reach it by .., by a symlink inside
    // secrets/, and from a sibling directory whose name starts with secrets_dir's.
    ASSERT_EQ(::symlink(el.secret.c_str(), (secrets + "/link.hex").c_str()), 0);
    ASSERT_EQ(::symlink(dir.path.c_str(), (secrets + "/up").c_str()), 0);
    std::string sibling = dir.write("secrets-evil/el1.hex", "00" + std::string(62, '1'));
    std::string el1_name = el.secret.substr(el.secret.rfind('/') + 1);
    for (const std::string& path :
         {secrets + "/../" + el1_name, secrets + "/link.hex", secrets + "/up/" + el1_name, sibling,
          std::string("secrets/../") + el1_name}) {
        HttpReply added =
            d.admin("POST", "/nodes", attacker.url() + "#jwt-secret=" + path + "#name=evil");
        EXPECT_EQ(added.status, 400) << path << ": " << added.body;
        EXPECT_NE(added.body.find(secrets), std::string::npos) << added.body;
    }
    // A file inside secrets_dir that is not a secret: the error names the file and the problem,
    // never its contents.
    const std::string text = "root:x:0:0:root:/root:/bin/bash\n";
    std::string not_hex = dir.write("secrets/passwd", text);
    HttpReply bad =
        d.admin("POST", "/nodes", attacker.url() + "#jwt-secret=" + not_hex + "#name=evil");
    EXPECT_EQ(bad.status, 400) << bad.body;
    EXPECT_NE(bad.body.find(not_hex), std::string::npos) << bad.body;
    EXPECT_NE(bad.body.find("offset 0"), std::string::npos) << bad.body;
    expect_quotes_nothing_of(bad.body, text);
    wait_probe_rounds(d, attacker, 3);
    EXPECT_EQ(attacker.requests(), 0u);
    // The node's own secret, inside secrets_dir: accepted, and its probes are signed with it,
    // never with the CL's secret.
    std::string own = make_secret(dir, "secrets/evil.hex");
    HttpReply ok = d.admin("POST", "/nodes", attacker.url() + "#jwt-secret=" + own + "#name=evil");
    ASSERT_EQ(ok.status, 201) << ok.body;
    for (int i = 0; i < 400 && attacker.requests() == 0; i++)
        std::this_thread::sleep_for(std::chrono::milliseconds(25));
    ASSERT_GT(attacker.requests(), 0u);
    for (const std::string& authorization : attacker.authorizations())
        EXPECT_TRUE(signed_with(authorization, own)) << authorization;
    expect_no_cl_token(attacker, d);
    EXPECT_EQ(d.admin("DELETE", "/nodes/evil").status, 200);
}

// Issue 19 (defect 7e): a node at another node's endpoint would vote twice; a node at
// enginemux's own listener would send every call back into the daemon.
TEST(AdminWithToken, NodesThatDuplicateOrLoopBackAreRefused) {
    TempDir dir;
    MockEl el(dir, "el1");
    std::string secrets = dir.path + "/secrets";
    ASSERT_EQ(::mkdir(secrets.c_str(), 0700), 0);
    std::string config =
        dir.write("admin.toml", fast_health + "[admin]\nsecrets_dir = \"" + secrets + "\"\n");
    Daemon d(dir, {&el},
             {"--config", config, "--admin-token-file", dir.write("admin.token", admin_token)});
    d.admin_token = admin_token;
    std::string own = make_secret(dir, "secrets/el2.hex");
    struct Case {
        std::string url;
        const char* says;
    } cases[] = {
        {el.url(), "same endpoint as node"},
        {"http://localhost:" + std::to_string(el.port), "same endpoint as node"},
        {"http://127.0.0.1:" + std::to_string(d.port), "enginemux's own CL listener"},
        {"http://localhost:" + std::to_string(d.admin_port), "enginemux's own admin API"},
    };
    for (const Case& c : cases) {
        HttpReply added = d.admin("POST", "/nodes", c.url + "#jwt-secret=" + own + "#name=el2");
        EXPECT_EQ(added.status, 400) << c.url << ": " << added.body;
        EXPECT_NE(added.body.find(c.says), std::string::npos) << added.body;
    }
    // The same EL behind another path (a reverse proxy routing by path) is a different node.
    HttpReply other_path =
        d.admin("POST", "/nodes", el.url() + "/el2#jwt-secret=" + own + "#name=el2");
    EXPECT_EQ(other_path.status, 201) << other_path.body;
    // Two nodes at one endpoint in the configuration: enginemux does not start.
    Process p({binary("EM_ENGINEMUX"), "--nodes",
               el.url() + "#jwt-secret=" + el.secret + "," + el.url() + "/#jwt-secret=" + el.secret,
               "--jwt-secret", el.secret, "--port", "0", "--admin-listen", ""},
              "enginemux-duplicate");
    EXPECT_NE(p.wait_exit(), 0);
    EXPECT_NE(p.stderr_text().find("same endpoint as node"), std::string::npos) << p.stderr_text();
}

TEST(AdminProtectReads, GetsNeedTheTokenToo) {
    TempDir dir;
    MockEl el(dir, "el1");
    std::string config = dir.write("admin.toml", "[admin]\nprotect_reads = true\n");
    Daemon d(dir, {&el},
             {"--config", config, "--admin-token-file", dir.write("admin.token", admin_token)});
    for (const char* target : {"/status", "/metrics", "/healthz", "/readyz"}) {
        EXPECT_EQ(d.admin("GET", target).status, 401) << target;
        EXPECT_EQ(http_request(d.admin_port, "GET", target, "", admin_token + "x").status, 401)
            << target;
    }
    d.admin_token = admin_token;
    for (const char* target : {"/status", "/metrics", "/healthz"})
        EXPECT_EQ(d.admin("GET", target).status, 200) << target;
}

TEST(AdminProtectReads, NeedsATokenFileToStart) {
    TempDir dir;
    MockEl el(dir, "el1");
    std::string config = dir.write("admin.toml", "[admin]\nprotect_reads = true\n");
    Process p(
        {binary("EM_ENGINEMUX"), "--nodes", el.url() + "#jwt-secret=" + el.secret, "--jwt-secret",
         el.secret, "--port", "0", "--admin-listen", "127.0.0.1:0", "--config", config},
        "enginemux");
    EXPECT_NE(p.wait_exit(), 0);
    EXPECT_NE(p.stderr_text().find("token_file"), std::string::npos) << p.stderr_text();
}

TEST(AdminWithToken, AWrongTokenIs401AndReadsStayOpen) {
    TempDir dir;
    MockEl el(dir, "el1");
    Daemon d(dir, {&el}, {"--admin-token-file", dir.write("admin.token", admin_token + "\n")});
    std::string wrong_same_length = admin_token;
    wrong_same_length.back() = wrong_same_length.back() == 'x' ? 'y' : 'x';
    for (const std::string& bearer :
         {std::string(), wrong_same_length, admin_token + "x", admin_token.substr(1)}) {
        HttpReply r = http_request(d.admin_port, "POST", "/recheck", "", bearer);
        EXPECT_EQ(r.status, 401) << "'" << bearer << "': " << r.body;
    }
    EXPECT_EQ(d.admin("GET", "/status").status,
              200);  // reads need no token (protect_reads = false)
    d.admin_token = admin_token;
    EXPECT_EQ(d.admin("POST", "/recheck").status, 200);
}

/// Checks Prometheus text exposition (0.0.4) strictly, line by line: every line ends with a
/// line feed; comments are "# HELP name text" or "# TYPE name type"; every other line is
/// `name{label="value",...} value` or `name value`, label values using only the escapes \\,
/// \" and \n. Returns "" or the first bad line with what is wrong.
std::string exposition_error(const std::string& text) {
    auto is_name = [](std::string_view n, bool colon) {
        if (n.empty() || std::isdigit(static_cast<unsigned char>(n[0]))) return false;
        for (char c : n)
            if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && !(colon && c == ':'))
                return false;
        return true;
    };
    auto is_value = [](std::string_view v) {
        if (v == "+Inf" || v == "-Inf" || v == "NaN") return true;
        char* end = nullptr;
        std::string copy(v);
        std::strtod(copy.c_str(), &end);
        return !copy.empty() && end == copy.c_str() + copy.size();
    };
    if (!text.empty() && text.back() != '\n') return "no line feed after the last line";
    size_t start = 0;
    while (start < text.size()) {
        size_t end = text.find('\n', start);
        std::string_view line(text.data() + start, end - start);
        start = end + 1;
        std::string bad = "bad line: " + std::string(line);
        if (line.substr(0, 7) == "# HELP " || line.substr(0, 7) == "# TYPE ") {
            std::string_view rest = line.substr(7);
            if (!is_name(rest.substr(0, rest.find(' ')), true)) return bad;
            continue;
        }
        if (line.empty() || line[0] == '#') return bad;
        size_t i = 0;
        while (i < line.size() && line[i] != '{' && line[i] != ' ') i++;
        if (!is_name(line.substr(0, i), true) || i == line.size()) return bad;
        if (line[i] == '{') {
            i++;
            while (i < line.size() && line[i] != '}') {
                size_t eq = line.find('=', i);
                if (eq == std::string_view::npos || !is_name(line.substr(i, eq - i), false) ||
                    eq + 1 >= line.size() || line[eq + 1] != '"')
                    return bad + " (label name)";
                i = eq + 2;
                while (i < line.size() && line[i] != '"') {
                    if (line[i] == '\\') {
                        if (i + 1 >= line.size() ||
                            std::string_view("\\\"n").find(line[i + 1]) == std::string_view::npos)
                            return bad + " (escape)";
                        i++;
                    }
                    i++;
                }
                if (i >= line.size()) return bad + " (unterminated label value)";
                i++;
                if (i < line.size() && line[i] == ',')
                    i++;
                else if (i < line.size() && line[i] != '}')
                    return bad + " (after a label)";
            }
            if (i >= line.size()) return bad + " (no closing brace)";
            i++;
        }
        if (i >= line.size() || line[i] != ' ' || !is_value(line.substr(i + 1)))
            return bad + " (value)";
    }
    return {};
}

// Issue 19, defect 5: a node name with a quote or a line feed wrote forged lines into /metrics
// (Prometheus dropped the whole scrape) and split log lines, and DELETE /nodes/NAME did not
// percent-decode. Names now follow one rule (base/name.h), refused with the character named;
// NAME is percent-decoded strictly; label values are escaped.
TEST(AdminNames, HostileNamesAreRefusedAndMetricsStayParseable) {
    TempDir dir;
    MockEl el(dir, "el1");
    Daemon d(dir, {&el},
             {"--config", dir.write("fast.toml", fast_health), "--admin-token-file",
              dir.write("admin.token", admin_token), "--admin-secrets-dir", dir.path});
    d.admin_token = admin_token;
    AuthRecorder other;
    std::string own = make_secret(dir, "own.hex");
    std::string node = other.url() + "#jwt-secret=" + own + "#name=";
    ASSERT_EQ(exposition_error(d.admin("GET", "/metrics").body), "");

    HttpReply quote = d.admin("POST", "/nodes", node + "ev\"il");
    EXPECT_EQ(quote.status, 400) << quote.body;
    EXPECT_NE(quote.body.find("character '\\\"' at offset 2 is not allowed in a name"),
              std::string::npos)
        << quote.body;
    HttpReply forged =
        d.admin("POST", "/nodes", node + "x\"} 1\nenginemux_node_primary{node=\"el1");
    EXPECT_EQ(forged.status, 400) << forged.body;
    HttpReply newline = d.admin("POST", "/nodes", node + "ev\nil");
    EXPECT_EQ(newline.status, 400) << newline.body;
    EXPECT_NE(newline.body.find("character 0x0a at offset 2"), std::string::npos) << newline.body;
    HttpReply space = d.admin("POST", "/nodes", node + "my node");
    EXPECT_EQ(space.status, 400) << space.body;
    std::string metrics = d.admin("GET", "/metrics").body;
    EXPECT_EQ(exposition_error(metrics), "") << metrics;
    EXPECT_EQ(metrics.find("node=\"ev"), std::string::npos);
    EXPECT_EQ(metrics.find("node=\"x"), std::string::npos);

    // A name with every allowed kind of character: added, shown, and removed by its
    // percent-encoded name too.
    HttpReply added = d.admin("POST", "/nodes", node + "EL-4.b_1");
    ASSERT_EQ(added.status, 201) << added.body;
    metrics = d.admin("GET", "/metrics").body;
    EXPECT_EQ(exposition_error(metrics), "") << metrics;
    EXPECT_NE(metrics.find("enginemux_node_primary{node=\"EL-4.b_1\"}"), std::string::npos);
    HttpReply bad_escape = d.admin("DELETE", "/nodes/EL%2D4.b_1%zz");
    EXPECT_EQ(bad_escape.status, 400) << bad_escape.body;
    EXPECT_NE(bad_escape.body.find("bad percent escape at offset 10"), std::string::npos)
        << bad_escape.body;
    HttpReply bad_name = d.admin("DELETE", "/nodes/my%20node");
    EXPECT_EQ(bad_name.status, 400) << bad_name.body;
    EXPECT_NE(bad_name.body.find("character 0x20 at offset 2"), std::string::npos) << bad_name.body;
    EXPECT_EQ(d.admin("DELETE", "/nodes/EL%2d4%2Eb_1").status, 200);
    EXPECT_EQ(d.admin("DELETE", "/nodes/EL-4.b_1").status, 404);
    EXPECT_EQ(exposition_error(d.admin("GET", "/metrics").body), "");
}

}  // namespace
}  // namespace em::test
