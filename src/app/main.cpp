// enginemux entry point: the daemon and its subcommands.
//
//   enginemux [flags]                   the daemon (mux role); see usage_text()
//   enginemux blockhash [FILE|-]        rebuild newPayload block hashes (exit 0/1/2)
//   enginemux check-config FILE         validate a config file without starting
//   enginemux tune --check|--apply ...  kernel tuning profiles
//   enginemux validator ...             the CometBFT validator guard (validator/cli.h)
//   enginemux validator-run ... -- CMD  the validator's dead-man switch (validator/supervisor.h)
//   enginemux payload-example [...]     synthetic newPayload requests with correct hashes
//   enginemux top [...]                 a live terminal view of a running daemon (app/top.h)
//   enginemux tokens-service ...        flashbots' jwt-tokens-service (app/tokens_service.h)
//   enginemux --version                 version, build, and the CPU/kernel features in use
#include <unistd.h>
#include "base/version.h"

#include <cstdio>
#include <cstring>
#include <string>

#include <simdjson.h>

#include "app/config.h"
#include "app/daemon.h"
#include "base/buffer.h"
#include "base/cpu.h"
#include "base/log.h"
#include "commands/builder_cli.h"
#include "commands/payload_example.h"
#include "commands/tokens_service.h"
#include "commands/top.h"
#include "commands/tune.h"
#include "engine/json_kernel.h"
#include "eth/blockhash_tool.h"
#include "eth/keccak/keccak.h"
#include "io/loop.h"
#include "io/signals.h"
#include "validator/cli.h"
#include "validator/supervisor.h"

#ifndef EM_BUILD_TYPE
#define EM_BUILD_TYPE "unknown"
#endif
#ifndef EM_BUILD_FLAGS
#define EM_BUILD_FLAGS ""
#endif

namespace {

int print_version() {
    const em::CpuFeatures& cpu = em::cpu_features();
    std::printf("enginemux %s\n", em::version());
    std::printf("commit:     %s\n", em::git_commit());
    std::printf("build:      %s, %s\n", EM_BUILD_TYPE, EM_BUILD_FLAGS);
    std::printf("compiler:   %s\n", __VERSION__);
    std::printf("cpu:        avx2=%s avx512f=%s avx512vl=%s bmi2=%s\n", cpu.avx2 ? "yes" : "no",
                cpu.avx512f ? "yes" : "no", cpu.avx512vl ? "yes" : "no", cpu.bmi2 ? "yes" : "no");
    std::printf("keccak:     %s (%zu lanes)\n",
                em::eth::keccak_impl_name(em::eth::keccak_selected()), em::eth::keccak_lanes());
    std::printf("simdjson:   stage 1 %s\n", simdjson::get_active_implementation()->name().c_str());
    em::engine::JsonKernel json = em::engine::json_kernel_selected();
    const char* json_note = em::engine::json_kernel_note();
    std::printf(
        "json:       %s (request walk and newPayload decode, On-Demand as simdjson %s)%s%s\n",
        em::engine::json_kernel_name(json), em::engine::json_kernel_simdjson_name(json),
        *json_note ? "; " : "", json_note);
    auto ring = em::io::Loop::probe();
    if (!ring) {
        std::printf("io_uring:   unavailable: %s\n", ring.error().c_str());
    } else {
        std::printf(
            "io_uring:   single_issuer=%s defer_taskrun=%s coop_taskrun=%s buffer_ring=%s "
            "recv_multishot=%s accept_multishot=%s msg_ring=%s\n",
            ring->single_issuer ? "yes" : "no", ring->defer_taskrun ? "yes" : "no",
            ring->coop_taskrun ? "yes" : "no", ring->buffer_ring ? "yes" : "no",
            ring->recv_multishot ? "yes" : "no", ring->accept_multishot ? "yes" : "no",
            ring->msg_ring ? "yes" : "no");
    }
    return 0;
}

int run_blockhash(int argc, char** argv) {
    const char* path = argc > 2 ? argv[2] : "-";
    if (argc > 3) {
        std::fprintf(stderr, "usage: enginemux blockhash [FILE|-]\n");
        return 2;
    }
    simdjson::padded_string input;
    if (std::strcmp(path, "-") == 0) {
        std::string text;
        char buffer[65536];
        size_t n;
        while ((n = std::fread(buffer, 1, sizeof buffer, stdin)) > 0) text.append(buffer, n);
        input = simdjson::padded_string(text);
    } else if (simdjson::padded_string::load(path).get(input) != simdjson::SUCCESS) {
        std::fprintf(stderr, "enginemux blockhash: cannot read %s: %s\n", path,
                     std::strerror(errno));
        return 2;
    }
    em::ByteBuffer out(size_t{1} << 30), err(1u << 20);
    int code = em::eth::blockhash_tool(input, out, err);
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fwrite(err.data(), 1, err.size(), stderr);
    return code;
}

int run_check_config(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: enginemux check-config FILE\n");
        return 2;
    }
    auto config = em::app::load_file(argv[2]);
    if (!config) {
        std::fprintf(stderr, "enginemux: %s\n", config.error().c_str());
        return 1;
    }
    bool builder = config->role == "builder";  // its ELs: [l2] and [[builders]]
    std::printf("%s: ok (%zu %s, listen %s:%u, admin %s)\n", argv[2],
                builder ? config->builder.builders.size() : config->nodes.size(),
                builder ? "builders and the local EL" : "nodes", config->listen_addr.c_str(),
                config->port, config->admin.listen.empty() ? "off" : config->admin.listen.c_str());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc > 1) {
        std::string_view command = argv[1];
        if (command == "blockhash") return run_blockhash(argc, argv);
        if (command == "check-config") return run_check_config(argc, argv);
        if (command == "tune") return em::tune_main(argc - 1, argv + 1, stdout, stderr);
        if (command == "payload-example")
            return em::commands::payload_example_main(argc - 1, argv + 1);
        if (command == "validator") return em::validator::validator_main(argc - 1, argv + 1);
        if (command == "validator-run") return em::validator::supervisor_main(argc - 1, argv + 1);
        if (command == "top") return em::commands::top_main(argc - 1, argv + 1);
        if (command == "builder") return em::commands::builder_main(argc - 1, argv + 1);
        if (command == "tokens-service")
            return em::commands::tokens_service_main(argc - 1, argv + 1);
    }
    em::app::Config config;
    auto outcome = em::app::load(argc, argv, config, em::app::environment);
    if (!outcome) {
        std::fprintf(stderr, "enginemux: %s\n", outcome.error().c_str());
        return 2;
    }
    if (*outcome == em::app::LoadOutcome::help) {
        std::fputs(em::app::usage_text().c_str(), stdout);
        return 0;
    }
    if (*outcome == em::app::LoadOutcome::version) return print_version();
    em::log_set_format(config.log_format);
    em::io::block_shutdown_signals();
    // After the signal mask, so the log writer thread inherits it: no event loop waits on stderr.
    em::log_start_async();
    for (const std::string& warning : config.warnings) EM_LOG_WARN("%s", warning.c_str());
    em::app::Daemon daemon(std::move(config));
    daemon.set_reload_args(std::vector<std::string>(argv, argv + argc));
    auto ran = daemon.run();
    em::log_stop_async();
    if (!ran) {
        em::log_failure("enginemux", ran.error().message());
        return 1;
    }
    return 0;
}
