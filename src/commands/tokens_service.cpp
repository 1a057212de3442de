#include "commands/tokens_service.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <simdjson.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/name.h"
#include "io/loop.h"
#include "io/signals.h"
#include "io/socket.h"
#include "net/server.h"

namespace em::commands {

namespace {

constexpr int exit_cannot_run = 1;
constexpr int exit_usage = 2;

constexpr const char* flag_names[] = {"addr", "config", "client-id"};

/// The nginx variable a header name becomes: lowercase, '-' written '_'.
std::string nginx_variable(std::string_view name) {
    std::string v;
    for (char c : name) {
        if (c == '-') c = '_';
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        v.push_back(c);
    }
    return v;
}

/// Splits "--name=value" / "-name value" into the flag's index in flag_names and its value.
Result<int> tokens_flag(std::string_view arg, std::string_view& name) {
    if (arg.size() < 2 || arg[0] != '-') {
        return failf(Errc::invalid_input, "unexpected argument '%.*s' (see --help)",
                     static_cast<int>(arg.size()), arg.data());
    }
    name = arg.substr(arg[1] == '-' ? 2 : 1);
    name = name.substr(0, name.find('='));
    for (int i = 0; i < 3; i++) {
        if (name == flag_names[i]) return i;
    }
    return failf(Errc::invalid_input,
                 "unknown flag '%.*s' (known: --addr, --config, --client-id, --help)",
                 static_cast<int>(arg.size()), arg.data());
}

Result<void> check_tokens_options(const TokensOptions& o) {
    if (o.config_path.empty()) {
        return fail(Errc::invalid_input,
                    "--config FILE is required: the secrets JSON, {\"name\": \"hex secret\", ...}");
    }
    if (o.addr.empty()) return fail(Errc::invalid_input, "--addr is empty (HOST:PORT)");
    if (!o.client_id.empty()) {
        if (auto ok = check_name(o.client_id); !ok)
            return Unexpected(ok.error().prefix("--client-id"));
    }
    return {};
}

/// One entry: its name (checked against the name rule and the names before it) and secret.
Result<TokensEntry> parse_entry(size_t index, std::string_view key, simdjson::dom::element value,
                                const std::vector<TokensEntry>& before) {
    if (auto ok = check_name(key); !ok)
        return Unexpected(ok.error().prefix("entry " + std::to_string(index) + "'s name"));
    std::string variable = nginx_variable(key);
    for (const TokensEntry& e : before) {
        if (e.name == key)
            return failf(Errc::invalid_input, "entry \"%.*s\" is given twice",
                         static_cast<int>(key.size()), key.data());
        if (nginx_variable(e.name) == variable)
            return failf(Errc::invalid_input,
                         "entries \"%s\" and \"%.*s\" are one nginx variable (case, '-' = '_')",
                         e.name.c_str(), static_cast<int>(key.size()), key.data());
    }
    std::string_view text;
    if (value.get(text) != simdjson::SUCCESS)
        return failf(Errc::invalid_input, "entry \"%.*s\": not a string (64 hex digits)",
                     static_cast<int>(key.size()), key.data());
    auto secret = http::parse_jwt_secret(text);
    if (!secret)
        return failf(Errc::invalid_input, "entry \"%.*s\": %s", static_cast<int>(key.size()),
                     key.data(), secret.error().c_str());
    return TokensEntry{std::string(key), *secret};
}

/// Answers every request under /tokens with the tokens, anything else 404.
class TokensHandler final : public http::Handler {
  public:
    explicit TokensHandler(TokensMinter& minter) : minter_(minter) {}

    void on_request(http::ServerConn& conn, const http::Request& request) override {
        std::string_view path = request.target.substr(0, request.target.find('?'));
        if (path != "/tokens" && !path.starts_with("/tokens/")) {
            conn.respond(404, "text/plain", "not found: the tokens are at GET /tokens/\n");
            return;
        }
        ByteBuffer& out = conn.out();
        out.append("HTTP/1.1 200 OK\r\n");
        minter_.append_headers(wall_s(), out);
        out.append("Cache-Control: no-store\r\nContent-Length: 0\r\n");
        if (!conn.keep_alive()) out.append("Connection: close\r\n");
        out.append("\r\n");
        conn.send();
    }

  private:
    TokensMinter& minter_;
};

struct Running {
    io::Loop* loop = nullptr;
    http::Server* server = nullptr;
};

void on_signal(int signal_number, void* ctx) {
    if (signal_number == SIGHUP) return;  // nothing to reload: restart to read the file again
    auto* running = static_cast<Running*>(ctx);
    running->server->shutdown();
    running->loop->request_stop();
}

Result<io::Address> listen_address(std::string_view addr) {
    std::string host_port(addr);
    if (host_port.starts_with(':')) host_port.insert(0, "0.0.0.0");  // Go's ":1337": every address
    auto address = io::resolve(host_port);
    if (!address) return Unexpected(address.error().prefix("--addr"));
    return address;
}

/// Serves until SIGINT/SIGTERM.
Result<void> serve(const io::Address& address, TokensMinter& minter, size_t entries) {
    io::LoopConfig lc;
    lc.name = "tokens";
    lc.buffer_count = 64;
    auto loop = EM_TRY(io::Loop::create(lc));
    TokensHandler handler(minter);
    http::ServerConfig sc;
    sc.name = "tokens";
    sc.connections_max = 256;
    sc.limits.body_bytes_max = 64 * 1024;
    http::Server server;
    EM_TRY_VOID(server.listen(*loop, address, handler, sc));
    Running running{loop.get(), &server};
    io::SignalWatcher signals;
    EM_TRY_VOID(signals.start(*loop, on_signal, &running));
    char where[64];
    server.address().format(where, sizeof where);
    std::printf("listening on %s\n", where);
    std::fflush(stdout);
    EM_LOG_INFO("tokens-service: listening on %s, %zu token(s) per answer at /tokens/", where,
                entries);
    loop->run();
    return {};
}

}  // namespace

Result<TokensArgs> parse_tokens_args(int argc, const char* const* argv, TokensOptions& out) {
    bool seen[3] = {};
    for (int i = 1; i < argc; i++) {
        std::string_view arg = argv[i];
        if (arg == "--help" || arg == "-help" || arg == "-h") return TokensArgs::help;
        std::string_view name;
        int which = EM_TRY(tokens_flag(arg, name));
        if (seen[which])
            return failf(Errc::invalid_input, "--%s is given twice", flag_names[which]);
        seen[which] = true;
        size_t eq = arg.find('=');
        std::string_view value;
        if (eq != std::string_view::npos) {
            value = arg.substr(eq + 1);
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            return failf(Errc::invalid_input, "--%s needs a value", flag_names[which]);
        }
        std::string* fields[] = {&out.addr, &out.config_path, &out.client_id};
        *fields[which] = value;
    }
    EM_TRY_VOID(check_tokens_options(out));
    return TokensArgs::run;
}

Result<std::vector<TokensEntry>> parse_tokens_secrets(std::string_view json) {
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    simdjson::padded_string padded(json);
    if (auto error = parser.parse(padded).get(root); error)
        return failf(Errc::invalid_input, "not JSON: %s", simdjson::error_message(error));
    simdjson::dom::object object;
    if (root.get(object) != simdjson::SUCCESS)
        return fail(Errc::invalid_input,
                    "not a JSON object ({\"name\": \"64 hex digits\", ...}, as flashbots')");
    std::vector<TokensEntry> entries;
    size_t index = 0;
    for (simdjson::dom::key_value_pair field : object) {
        if (++index > tokens_entries_max)
            return failf(Errc::too_large, "more than %zu entries", tokens_entries_max);
        entries.push_back(EM_TRY(parse_entry(index, field.key, field.value, entries)));
    }
    if (entries.empty())
        return fail(Errc::invalid_input, "no entries ({\"name\": \"64 hex digits\", ...})");
    return entries;
}

Result<std::vector<TokensEntry>> load_tokens_secrets(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Unexpected(Error::sys(errno, "cannot open"));
    std::string text(tokens_file_bytes_max + 1, '\0');
    size_t n = 0;
    while (n < text.size()) {
        ssize_t r = ::read(fd, text.data() + n, text.size() - n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            int e = r < 0 ? errno : 0;
            if (e) {
                ::close(fd);
                return Unexpected(Error::sys(e, "cannot read"));
            }
            break;
        }
        n += static_cast<size_t>(r);
    }
    ::close(fd);
    if (n > tokens_file_bytes_max)
        return failf(Errc::too_large, "larger than %zu bytes, not a secrets file",
                     tokens_file_bytes_max);
    text.resize(n);
    auto entries = parse_tokens_secrets(text);
    std::memset(text.data(), 0, text.size());  // the secrets live on only in the signers
    return entries;
}

TokensMinter::TokensMinter(std::span<const TokensEntry> entries, std::string_view client_id) {
    for (const TokensEntry& e : entries) {
        names_.push_back(e.name);
        signers_.push_back(std::make_unique<http::JwtSigner>(e.secret, 0, client_id));
    }
}

void TokensMinter::append_headers(int64_t now_s, ByteBuffer& out) {
    for (size_t i = 0; i < names_.size(); i++) {
        out.append("Authorization-");
        out.append(names_[i]);
        out.append(": Bearer ");
        out.append(signers_[i]->bearer_token(now_s));
        out.append("\r\n");
    }
}

const char* tokens_usage_text() {
    return "usage: enginemux tokens-service --config FILE [--addr HOST:PORT] [--client-id ID]\n"
           "\n"
           "flashbots' jwt-tokens-service for nginx's auth_request (the sync-proxy README's\n"
           "per-proxy secrets): GET /tokens/ answers 200 with one header per entry of FILE,\n"
           "  Authorization-<name>: Bearer <HS256 JWT, fresh iat, id = --client-id>\n"
           "signed with that entry's secret; nginx reads it as\n"
           "$upstream_http_authorization_<name, lowercase, '-' as '_'>.\n"
           "\n"
           "  --config FILE      JSON object, name -> 32-byte hex secret (at most 16 entries;\n"
           "                     names: A-Z a-z 0-9 . _ -, 1..63 characters)\n"
           "  --addr HOST:PORT   listen address (default 127.0.0.1:1337; ':PORT' = every\n"
           "                     address; port 0 = any free port)\n"
           "  --client-id ID     the tokens' id claim: the CL's name at the enginemux sync\n"
           "                     instances (default: no id claim)\n"
           "  -h, --help         this text\n"
           "One dash works too (-config, -addr=...), as with flashbots' tool.\n";
}

int tokens_service_main(int argc, char** argv) {
    TokensOptions options;
    auto args = parse_tokens_args(argc, argv, options);
    if (!args) {
        std::fprintf(stderr, "enginemux tokens-service: %s\n", args.error().c_str());
        return exit_usage;
    }
    if (*args == TokensArgs::help) {
        std::fputs(tokens_usage_text(), stdout);
        return 0;
    }
    auto address = listen_address(options.addr);
    if (!address) {
        std::fprintf(stderr, "enginemux tokens-service: %s\n", address.error().c_str());
        return exit_usage;
    }
    auto entries = load_tokens_secrets(options.config_path);
    if (!entries) {
        std::fprintf(stderr, "enginemux tokens-service: --config %s: %s\n",
                     options.config_path.c_str(), entries.error().c_str());
        return exit_usage;
    }
    TokensMinter minter(*entries, options.client_id);
    for (TokensEntry& e : *entries) e.secret = {};
    io::block_shutdown_signals();
    auto served = serve(*address, minter, entries->size());
    if (!served) {
        log_failure("enginemux tokens-service", served.error().message());
        return exit_cannot_run;
    }
    return 0;
}

}  // namespace em::commands
