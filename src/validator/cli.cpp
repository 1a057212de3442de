#include "validator/cli.h"

#include <netinet/in.h>
#include <poll.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "base/log.h"
#include "http/bearer.h"
#include "io/loop.h"
#include "io/signals.h"
#include "io/socket.h"
#include "net/blocking_client.h"
#include "validator/config.h"
#include "validator/daemon.h"

namespace em::validator {

namespace {

constexpr int control_timeout_ms = 5'000;

const char usage[] =
    "usage: enginemux validator --config FILE [--log-level L] [--log-format text|json]\n"
    "                                                            run the validator guard\n"
    "       enginemux validator status  [--config FILE | --control HOST:PORT]\n"
    "       enginemux validator promote [--force] [--config FILE | --control HOST:PORT]\n"
    "                                   [--token-file F]\n"
    "       enginemux validator demote  [--config FILE | --control HOST:PORT] [--token-file F]\n"
    "promote and demote need the guard's control token: the file in the config's\n"
    "[validator] control_token_file, or --token-file.\n";

struct Args {
    std::string command;  ///< "" = run
    std::string config;
    std::string control;
    std::string token_file;  ///< "" = the config's validator.control_token_file
    std::string log_level;
    std::string log_format;  ///< "" = the config's validator.log_format
    bool force = false;
};

int usage_error(const char* what) {
    std::fprintf(stderr, "enginemux validator: %s\n%s", what, usage);
    return 2;
}

bool parse_args(int argc, char** argv, Args& a, int& exit_code) {
    for (int i = 1; i < argc; i++) {
        std::string_view arg = argv[i];
        auto value = [&](std::string& out) {
            if (i + 1 >= argc) return false;
            out = argv[++i];
            return true;
        };
        if ((arg == "status" || arg == "promote" || arg == "demote") && a.command.empty()) {
            a.command = std::string(arg);
        } else if (arg == "--config") {
            if (!value(a.config)) return (exit_code = usage_error("--config needs a file")), false;
        } else if (arg == "--control") {
            if (!value(a.control))
                return (exit_code = usage_error("--control needs HOST:PORT")), false;
        } else if (arg == "--token-file") {
            if (!value(a.token_file))
                return (exit_code = usage_error("--token-file needs a file")), false;
        } else if (arg == "--log-level") {
            if (!value(a.log_level))
                return (exit_code = usage_error("--log-level needs a level")), false;
        } else if (arg == "--log-format") {
            if (!value(a.log_format))
                return (exit_code = usage_error("--log-format needs text or json")), false;
        } else if (arg == "--force" && a.command == "promote") {
            a.force = true;
        } else if (arg == "-h" || arg == "--help") {
            std::fputs(usage, stdout);
            exit_code = 0;
            return false;
        } else {
            std::string what = "unknown argument '" + std::string(arg) + "'";
            exit_code = usage_error(what.c_str());
            return false;
        }
    }
    return true;
}

/// One HTTP exchange with the control endpoint; prints the body.
int control_request(const std::string& address, const char* method, const std::string& target,
                    const std::string& token = {}) {
    auto a = io::resolve(address);
    if (!a) {
        std::fprintf(stderr, "enginemux validator: %s\n", a.error().c_str());
        return 2;
    }
    std::string authorization = token.empty() ? std::string() : "Bearer " + token;
    http::BlockingRequest request;
    request.method = method;
    request.target = target;
    request.host = address;
    request.authorization = authorization;
    request.timeout_ms = control_timeout_ms;
    auto reply = http::blocking_exchange(*a, request);
    if (!reply) {
        std::fprintf(stderr, "enginemux validator: the guard at %s: %s\n", address.c_str(),
                     reply.error().c_str());
        return 1;
    }
    const std::string& body = reply->body;
    std::fwrite(body.data(), 1, body.size(), stdout);
    if (body.empty() || body.back() != '\n') std::fputc('\n', stdout);
    return reply->status == 200 ? 0 : 1;
}

struct RunContext {
    io::Loop* loop;
    ValidatorGuard* guard;
};

int run_guard(const ValidatorConfig& config) {
    io::block_shutdown_signals();
    // The guard's loop must never wait on stderr (journald stalls, a pipe nobody reads): lines
    // go through a queue to a writer thread (which inherits the signal mask set just above).
    log_start_async();
    io::LoopConfig lc;
    lc.name = "validator";
    lc.sq_entries = 256;
    lc.buffer_count = 64;
    lc.post_queue_capacity = 64;
    auto loop = io::Loop::create(lc);
    if (!loop) {
        log_failure("enginemux validator", loop.error().message());
        return 1;
    }
    auto guard = ValidatorGuard::create(**loop, config);
    if (!guard) {
        log_failure("enginemux validator", guard.error().message());
        return 1;
    }
    if (const char* skew = std::getenv("EM_VALIDATOR_WALL_OFFSET_MS")) {
        (*guard)->set_wall_offset_ms(std::strtoll(skew, nullptr, 10));  // test hook
    }
    RunContext ctx{loop->get(), guard->get()};
    io::SignalWatcher signals;
    auto watching = signals.start(
        **loop,
        [](int signal_number, void* p) {
            auto* c = static_cast<RunContext*>(p);
            if (signal_number == SIGHUP) return;  // no reload: restart the guard to change settings
            EM_LOG_INFO("validator: signal %d: handing over and stopping", signal_number);
            c->guard->shutdown();
            c->loop->request_stop();
        },
        &ctx);
    if (!watching) {
        log_failure("enginemux validator", watching.error().message());
        return 1;
    }
    (*loop)->set_drain_check([](void* p) { return static_cast<RunContext*>(p)->guard->done(); },
                             &ctx);
    (*guard)->start();
    (*loop)->run();
    guard->reset();
    log_stop_async();
    return 0;
}

}  // namespace

int validator_main(int argc, char** argv) {
    Args args;
    int exit_code = 0;
    if (!parse_args(argc, argv, args, exit_code)) return exit_code;
    if (!args.log_level.empty()) {
        auto level = parse_log_level(args.log_level);
        if (!level) return usage_error(level.error().c_str());
        log_set_level(*level);
    }
    if (!args.log_format.empty()) {
        auto format = parse_log_format(args.log_format);
        if (!format) return usage_error(format.error().c_str());
        log_set_format(*format);
    }
    if (args.command.empty()) {
        if (args.config.empty()) return usage_error("--config FILE is required");
        auto config = load_validator_config(args.config);
        if (!config) {
            std::fprintf(stderr, "enginemux validator: %s\n", config.error().c_str());
            return 2;
        }
        if (args.log_format.empty()) log_set_format(*parse_log_format(config->log_format));
        return run_guard(*config);
    }
    std::string control = args.control;
    std::string token_file = args.token_file;
    if (!args.config.empty()) {
        auto config = load_validator_config(args.config);
        if (!config) {
            std::fprintf(stderr, "enginemux validator: %s\n", config.error().c_str());
            return 2;
        }
        if (control.empty()) control = config->control_listen;
        if (token_file.empty()) token_file = config->control_token_file;
    }
    if (control.empty()) control = ValidatorConfig().control_listen;
    if (args.command == "status") return control_request(control, "GET", "/status");
    std::string token;
    if (!token_file.empty()) {  // without one the guard answers 403 and says what to set
        auto read = http::read_token_file(token_file, false);
        if (!read) return usage_error(read.error().c_str());
        token = std::move(*read);
    }
    if (args.command == "demote") return control_request(control, "POST", "/demote", token);
    return control_request(control, "POST", args.force ? "/promote?force=1" : "/promote", token);
}

}  // namespace em::validator
