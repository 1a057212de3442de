#include "commands/builder_cli.h"

#include <cstdio>
#include <string>
#include <string_view>

#include "http/bearer.h"
#include "io/socket.h"
#include "net/blocking_client.h"

namespace em::commands {

namespace {

const char usage[] =
    "usage: enginemux builder set-execution-mode MODE [--admin HOST:PORT]\n"
    "                         [--admin-token-file FILE]\n"
    "       enginemux builder get-execution-mode [--admin HOST:PORT] [--admin-token-file FILE]\n"
    "The builder role's execution mode, through a running daemon's admin API.\n"
    "  MODE                     enabled | dry-run (or dry_run) | disabled\n"
    "  --admin HOST:PORT        the admin API (default 127.0.0.1:9551)\n"
    "  --admin-token-file FILE  its bearer token (a switch is a write: required)\n";

int usage_error(const std::string& what) {
    std::fprintf(stderr, "enginemux builder: %s\n%s", what.c_str(), usage);
    return 2;
}

struct Options {
    std::string command;
    std::string mode;
    std::string admin = "127.0.0.1:9551";
    std::string token_file;
};

/// Fills o; returns -1 to go on, else an exit code.
int parse(int argc, char** argv, Options& o) {
    for (int i = 1; i < argc; i++) {
        std::string_view arg = argv[i];
        if (arg == "--admin" || arg == "--admin-token-file") {
            if (i + 1 >= argc) return usage_error(std::string(arg) + " needs a value");
            (arg == "--admin" ? o.admin : o.token_file) = argv[++i];
        } else if (arg == "-h" || arg == "--help") {
            std::fputs(usage, stdout);
            return 0;
        } else if (o.command.empty()) {
            o.command = arg;
        } else if (o.command == "set-execution-mode" && o.mode.empty()) {
            o.mode = arg;
        } else {
            return usage_error("unexpected argument '" + std::string(arg) + "'");
        }
    }
    if (o.command != "set-execution-mode" && o.command != "get-execution-mode")
        return usage_error(o.command.empty() ? "which command?"
                                             : "unknown command '" + o.command + "'");
    if (o.command == "set-execution-mode" && o.mode.empty())
        return usage_error("set-execution-mode needs MODE");
    for (char c : o.mode)  // it goes into a JSON string as it is
        if (!((c >= 'a' && c <= 'z') || c == '-' || c == '_'))
            return usage_error("MODE '" + o.mode + "' is not one of enabled, dry-run, disabled");
    return -1;
}

int ask_admin(const Options& o, const std::string& token) {
    auto address = io::resolve(o.admin);
    if (!address) return usage_error("--admin " + o.admin + ": " + address.error().c_str());
    bool set = o.command == "set-execution-mode";
    std::string body = set ? "{\"execution_mode\":\"" + o.mode + "\"}" : std::string();
    std::string authorization = token.empty() ? std::string() : "Bearer " + token;
    http::BlockingRequest request;
    request.method = set ? "POST" : "GET";
    request.target = "/execution-mode";
    request.host = o.admin;
    request.authorization = authorization;
    request.body = body;
    auto reply = http::blocking_exchange(*address, request);
    if (!reply) {
        std::fprintf(stderr, "enginemux builder: cannot reach the admin API at %s: %s\n",
                     o.admin.c_str(), reply.error().c_str());
        return 1;
    }
    if (reply->status != 200) {
        const char* hint = reply->status == 401 || reply->status == 403
                               ? " (pass the admin token with --admin-token-file)"
                           : reply->status == 404 ? " (is the daemon in the builder role?)"
                                                  : "";
        std::fprintf(stderr, "enginemux builder: the admin API at %s answered %d%s: %s\n",
                     o.admin.c_str(), reply->status, hint, reply->body.c_str());
        return 1;
    }
    std::printf("%s\n", reply->body.c_str());
    return 0;
}

}  // namespace

int builder_main(int argc, char** argv) {
    Options o;
    if (int code = parse(argc, argv, o); code >= 0) return code;
    std::string token;
    if (!o.token_file.empty()) {
        auto read = http::read_token_file(o.token_file, false);
        if (!read) return usage_error("--admin-token-file: " + std::string(read.error().c_str()));
        token = *read;
    }
    return ask_admin(o, token);
}

}  // namespace em::commands
