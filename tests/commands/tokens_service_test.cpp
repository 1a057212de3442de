// `enginemux tokens-service`: its command line, its secrets file (flashbots' format, parsed
// strictly, every error naming what is wrong) and the header lines it answers with, whose
// tokens are checked with the project's JwtVerifier and their claims read back.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "commands/tokens_service.h"
#include "http/base64url.h"

namespace em::commands {
namespace {

const std::string hex_a = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdee";
const std::string hex_b = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
constexpr int64_t now = 1'765'100'000;

/// The error message of a failed parse ("" if it parsed).
std::string secrets_error(const std::string& json) {
    auto entries = parse_tokens_secrets(json);
    return entries ? "" : std::string(entries.error().message());
}

Result<TokensArgs> args(std::vector<const char*> argv, TokensOptions& out) {
    argv.insert(argv.begin(), "tokens-service");
    return parse_tokens_args(static_cast<int>(argv.size()), argv.data(), out);
}

std::string args_error(std::vector<const char*> argv) {
    TokensOptions o;
    auto r = args(std::move(argv), o);
    return r ? "" : std::string(r.error().message());
}

/// The header lines of one answer, split at CRLF.
std::vector<std::string> header_lines(TokensMinter& minter, int64_t at) {
    ByteBuffer out(1 << 16);
    minter.append_headers(at, out);
    std::string text(reinterpret_cast<const char*>(out.data()), out.size());
    std::vector<std::string> lines;
    for (size_t at_line = 0; at_line < text.size();) {
        size_t end = text.find("\r\n", at_line);
        lines.push_back(text.substr(at_line, end - at_line));
        at_line = end + 2;
    }
    return lines;
}

/// A token's claims part, decoded.
std::string claims_of(const std::string& token) {
    size_t d1 = token.find('.');
    size_t d2 = token.find('.', d1 + 1);
    std::string_view part = std::string_view(token).substr(d1 + 1, d2 - d1 - 1);
    uint8_t json[256];
    auto n = http::base64url_decode(part, json, sizeof json);
    EXPECT_TRUE(n.has_value());
    return n ? std::string(reinterpret_cast<const char*>(json), *n) : "";
}

TEST(TokensSecrets, ParsesFlashbotsFormat) {
    auto entries = parse_tokens_secrets(R"({"sync-proxy-1": ")" + hex_a +
                                        R"(", "sync-proxy-2": "0x)" + hex_b + "\"}");
    ASSERT_TRUE(entries.has_value()) << entries.error().c_str();
    ASSERT_EQ(entries->size(), 2u);
    EXPECT_EQ((*entries)[0].name, "sync-proxy-1");
    EXPECT_EQ((*entries)[1].name, "sync-proxy-2");
    EXPECT_EQ((*entries)[0].secret.key[0], 0x01);
    EXPECT_EQ((*entries)[0].secret.key[31], 0xee);
    EXPECT_EQ((*entries)[1].secret.key[31], 0xef);
}

TEST(TokensSecrets, RefusesWhatIsNotAnObjectOfHexSecrets) {
    EXPECT_NE(secrets_error("{").find("not JSON"), std::string::npos) << secrets_error("{");
    EXPECT_NE(secrets_error(R"(["a"])").find("not a JSON object"), std::string::npos);
    EXPECT_NE(secrets_error("{}").find("no entries"), std::string::npos);
    std::string number = secrets_error(R"({"el-1": 5})");
    EXPECT_NE(number.find("entry \"el-1\": not a string"), std::string::npos) << number;
    std::string bad_hex = secrets_error(R"({"el-1": "zz)" + hex_a.substr(2) + "\"}");
    EXPECT_NE(bad_hex.find("entry \"el-1\": "), std::string::npos) << bad_hex;
    EXPECT_NE(bad_hex.find("offset 0"), std::string::npos) << bad_hex;
    EXPECT_EQ(bad_hex.find(hex_a.substr(2)), std::string::npos) << "never quotes a secret";
    std::string short_hex = secrets_error(R"({"el-1": "abcd"})");
    EXPECT_NE(short_hex.find("entry \"el-1\""), std::string::npos) << short_hex;
}

TEST(TokensSecrets, RefusesBadDuplicateAndCollidingNames) {
    std::string twice = secrets_error(R"({"el": ")" + hex_a + R"(", "el": ")" + hex_b + "\"}");
    EXPECT_NE(twice.find("entry \"el\" is given twice"), std::string::npos) << twice;
    std::string one_variable =
        secrets_error(R"({"EL-1": ")" + hex_a + R"(", "el_1": ")" + hex_b + "\"}");
    EXPECT_NE(one_variable.find("\"EL-1\" and \"el_1\" are one nginx variable"), std::string::npos)
        << one_variable;
    std::string newline = secrets_error(R"({"ok": ")" + hex_a + R"(", "a\nb": ")" + hex_b + "\"}");
    EXPECT_NE(newline.find("entry 2's name"), std::string::npos) << newline;
    EXPECT_NE(newline.find("0x0a at offset 1"), std::string::npos) << newline;
    std::string many = "{";
    for (size_t i = 0; i <= tokens_entries_max; i++)
        many += (i ? "," : "") + std::string("\"el") + std::to_string(i) + "\":\"" + hex_a + "\"";
    many += "}";
    EXPECT_NE(secrets_error(many).find("more than 16 entries"), std::string::npos);
}

TEST(TokensSecrets, LoadNamesWhyAFileCannotBeRead) {
    auto missing = load_tokens_secrets("/nonexistent/secrets.json");
    ASSERT_FALSE(missing.has_value());
    EXPECT_NE(std::string(missing.error().message()).find("No such file"), std::string::npos);
    char path[] = "/tmp/em-tokens-test-XXXXXX";
    int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    std::string big(tokens_file_bytes_max + 1, ' ');
    ASSERT_EQ(write(fd, big.data(), big.size()), static_cast<ssize_t>(big.size()));
    close(fd);
    auto too_big = load_tokens_secrets(path);
    unlink(path);
    ASSERT_FALSE(too_big.has_value());
    EXPECT_NE(std::string(too_big.error().message()).find("larger than"), std::string::npos);
}

TEST(TokensArgs, FlashbotsFlagsWithOneOrTwoDashes) {
    TokensOptions o;
    ASSERT_TRUE(args({"--config", "s.json"}, o).has_value());
    EXPECT_EQ(o.addr, "127.0.0.1:1337");
    EXPECT_EQ(o.config_path, "s.json");
    EXPECT_EQ(o.client_id, "");
    TokensOptions one;
    auto r = args({"-config", "a.json", "-client-id=cl-1", "-addr", ":9000"}, one);
    ASSERT_TRUE(r.has_value()) << r.error().c_str();
    EXPECT_EQ(*r, TokensArgs::run);
    EXPECT_EQ(one.config_path, "a.json");
    EXPECT_EQ(one.client_id, "cl-1");
    EXPECT_EQ(one.addr, ":9000");
    TokensOptions help;
    EXPECT_EQ(args({"--help"}, help).value(), TokensArgs::help);
}

TEST(TokensArgs, ErrorsNameTheFlag) {
    EXPECT_NE(args_error({}).find("--config FILE is required"), std::string::npos);
    EXPECT_NE(args_error({"--config", "a", "--port", "1"}).find("unknown flag '--port'"),
              std::string::npos);
    EXPECT_NE(args_error({"--config"}).find("--config needs a value"), std::string::npos);
    EXPECT_NE(args_error({"--config", "a", "-config", "b"}).find("--config is given twice"),
              std::string::npos);
    EXPECT_NE(args_error({"--config", "a", "stray"}).find("unexpected argument 'stray'"),
              std::string::npos);
    std::string id = args_error({"--config", "a", "--client-id", "cl 1"});
    EXPECT_NE(id.find("--client-id: "), std::string::npos) << id;
    EXPECT_NE(id.find("offset 2"), std::string::npos) << id;
    EXPECT_NE(args_error({"--config", "a", "--addr="}).find("--addr is empty"), std::string::npos);
}

TEST(TokensMinter, OneHeaderPerEntryEachTokenSignedWithItsSecretWithIatAndId) {
    auto entries = parse_tokens_secrets(R"({"sync-proxy-1": ")" + hex_a +
                                        R"(", "Sync-Proxy-2": ")" + hex_b + "\"}");
    ASSERT_TRUE(entries.has_value());
    TokensMinter minter(*entries, "cl-1");
    std::vector<std::string> lines = header_lines(minter, now);
    ASSERT_EQ(lines.size(), 2u);
    for (size_t i = 0; i < 2; i++) {
        std::string prefix = "Authorization-" + (*entries)[i].name + ": Bearer ";
        ASSERT_EQ(lines[i].rfind(prefix, 0), 0u) << lines[i];
        std::string token = lines[i].substr(prefix.size());
        http::JwtVerifier own((*entries)[i].secret, false);
        EXPECT_TRUE(own.verify_token(token, now).has_value()) << lines[i];
        http::JwtVerifier other((*entries)[1 - i].secret, false);
        EXPECT_FALSE(other.verify_token(token, now).has_value()) << "signed with its own secret";
        EXPECT_EQ(claims_of(token), R"({"iat":1765100000,"id":"cl-1"})");
        char id[64];
        EXPECT_EQ(http::jwt_unverified_id("Bearer " + token, id), "cl-1");
    }
    std::vector<std::string> later = header_lines(minter, now + 7);
    ASSERT_EQ(later.size(), 2u);
    EXPECT_EQ(claims_of(later[0].substr(later[0].find("Bearer ") + 7)),
              R"({"iat":1765100007,"id":"cl-1"})")
        << "every answer has a fresh iat";
}

TEST(TokensMinter, WithoutAClientIdTheTokensHaveNoIdClaim) {
    auto entries = parse_tokens_secrets(R"({"el": ")" + hex_a + "\"}");
    ASSERT_TRUE(entries.has_value());
    TokensMinter minter(*entries, "");
    std::vector<std::string> lines = header_lines(minter, now);
    ASSERT_EQ(lines.size(), 1u);
    std::string token = lines[0].substr(lines[0].find("Bearer ") + 7);
    EXPECT_EQ(claims_of(token), R"({"iat":1765100000})");
    http::JwtVerifier verifier((*entries)[0].secret, false);
    EXPECT_TRUE(verifier.verify_token(token, now).has_value());
}

}  // namespace
}  // namespace em::commands
