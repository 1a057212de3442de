// enginemux-mock-el: a scriptable execution-client stand-in for tests, demos and benchmarks.
//
// main() parses the command line, loads the payloads, starts --threads loop threads (each with
// its own Responder and MockServer on the same address, SO_REUSEPORT), prints
// "listening on ADDR:PORT" as the first stdout line, then waits for SIGINT/SIGTERM and stops.
#include <signal.h>  // NOLINT(modernize-deprecated-headers): POSIX sigaction, kill, sigset_t
#include "base/version.h"

#include <cstdio>
#include <memory>
#include <vector>

#include "base/log.h"
#include "io/signals.h"
#include "io/socket.h"
#include "io/thread.h"
#include "mockel/mock_server.h"
#include "mockel/options.h"
#include "mockel/payloads.h"
#include "mockel/responder.h"
#include "mockel/shared_state.h"
#include "mockel/ws_chain.h"

namespace em::mockel {
namespace {

constexpr int exit_running_failed = 1;
constexpr int exit_usage = 2;

/// One loop thread's objects (created and destroyed on that thread).
struct Worker {
    Shared* shared = nullptr;
    size_t index = 0;
    io::Address address;
    char name[24] = {};
    std::unique_ptr<Responder> responder;
    std::unique_ptr<MockServer> server;
    std::unique_ptr<WsChain> ws;  ///< worker 0 with --ws-port
    int ws_port = -1;
    uint32_t block_ms = 1000;
    io::Address ws_address;
    std::unique_ptr<io::LoopThread> thread;
};

Result<void> setup(io::Loop& loop, void* ctx) {
    auto* w = static_cast<Worker*>(ctx);
    w->responder = std::make_unique<Responder>(*w->shared, w->index);
    w->server = std::make_unique<MockServer>(*w->responder, w->shared->config());
    EM_TRY_VOID(w->server->listen(loop, w->address));
    w->address = w->server->address();  // the port chosen for --port 0
    if (w->index == 0 && w->ws_port >= 0) {
        w->ws = std::make_unique<WsChain>(w->block_ms, w->shared->config().connections_max);
        EM_TRY_VOID(w->ws->listen(loop, w->ws_address));
        w->ws_address = w->ws->address();
    }
    return {};
}

void teardown(io::Loop&, void* ctx) {
    auto* w = static_cast<Worker*>(ctx);
    w->ws.reset();
    w->server.reset();
    w->responder.reset();
}

int wait_for_shutdown_signal() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0) continue;
        if (sig == SIGINT || sig == SIGTERM) return sig;
        // SIGHUP: nothing to reload.
    }
}

int run(Options& opts) {
    auto address = io::resolve(opts.listen_addr, opts.port);
    if (!address) {
        std::fprintf(stderr, "enginemux-mock-el: --listen-addr: %s\n", address.error().c_str());
        return exit_usage;
    }
    auto payloads =
        load_payloads(opts.payload_file, opts.config.head, opts.config.payloads, opts.gas_used);
    if (!payloads) {
        std::fprintf(stderr, "enginemux-mock-el: %s\n", payloads.error().c_str());
        return exit_usage;
    }
    size_t threads = static_cast<size_t>(opts.threads);
    Shared shared(std::move(opts.config), *opts.rules, threads);
    std::vector<Worker> workers(threads);
    for (size_t i = 0; i < threads; i++) {
        Worker& w = workers[i];
        w.shared = &shared;
        w.index = i;
        w.address = i == 0 ? *address : workers[0].address;  // later threads bind the same port
        std::snprintf(w.name, sizeof w.name, "mockel%zu", i);
        w.ws_port = opts.ws_port;
        w.block_ms = opts.block_ms;
        if (i == 0 && opts.ws_port >= 0) {
            auto ws_address = io::resolve(opts.listen_addr, static_cast<uint16_t>(opts.ws_port));
            if (!ws_address) {
                std::fprintf(stderr, "enginemux-mock-el: --ws-port: %s\n",
                             ws_address.error().c_str());
                return exit_usage;
            }
            w.ws_address = *ws_address;
        }
        io::LoopConfig lc;
        lc.name = w.name;
        lc.buffer_count = 256;
        auto thread = io::LoopThread::start(lc, -1, setup, teardown, &w);
        if (!thread) {
            std::fprintf(stderr, "enginemux-mock-el: cannot start: %s\n", thread.error().c_str());
            for (size_t j = 0; j < i; j++) workers[j].thread.reset();
            return exit_running_failed;
        }
        w.thread = std::move(*thread);
    }
    char where[64];
    std::printf("listening on %s\n", workers[0].address.format(where, sizeof where));
    if (workers[0].ws)
        std::printf("ws listening on %s\n", workers[0].ws_address.format(where, sizeof where));
    std::fflush(stdout);
    EM_LOG_INFO("mock-el %s: %zu thread(s), %zu rule(s)%s%s", shared.config().name.c_str(), threads,
                opts.rules->size(), shared.config().jwt_required ? ", JWT required" : "",
                shared.config().verify_block_hash ? ", verifying block hashes" : "");
    int sig = wait_for_shutdown_signal();
    EM_LOG_INFO("mock-el: signal %d: stopping", sig);
    for (auto& w : workers) w.thread->request_stop();
    for (auto& w : workers) w.thread->join();
    return 0;
}

}  // namespace
}  // namespace em::mockel

int main(int argc, char** argv) {
    using namespace em::mockel;
    em::io::block_shutdown_signals();  // before any thread starts: threads inherit the mask
    Options opts;
    auto outcome = parse_options(argc, argv, opts);
    if (!outcome) {
        if (!opts.failed_rule.empty())
            std::fprintf(stderr, "enginemux-mock-el: --rule '%s': %s\n", opts.failed_rule.c_str(),
                         outcome.error().c_str());
        else
            std::fprintf(stderr, "enginemux-mock-el: %s\n", outcome.error().c_str());
        return 2;
    }
    if (*outcome == ParseOutcome::help) {
        std::fputs(usage_text(), stdout);
        return 0;
    }
    if (*outcome == ParseOutcome::version) {
        std::printf("enginemux-mock-el %s\n", em::version());
        return 0;
    }
    em::log_set_level(opts.log_level);
    em::log_set_format(opts.log_format);
    return run(opts);
}
