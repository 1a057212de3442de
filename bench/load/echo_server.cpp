// load-echo-server: a trivial JSON-RPC server to measure enginemux-load's own maximum rate
// (not installed). It answers every call of a request (single or batch) at once with
// {"jsonrpc":"2.0","id":<its id>,"result":"0x1"}, on --threads io_uring loops (SO_REUSEPORT),
// each pinned to the CPUs listed by --cpus (default: the last usable ones).
//
//   load-echo-server --port 8545 [--threads 1] [--cpus 1,0]
//
// Each loop thread owns its http::Server, handler and JSON-RPC parser; nothing is shared.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "echo_handler.h"
#include "io/signals.h"
#include "io/socket.h"
#include "io/thread.h"
#include "net/server.h"

namespace {

using namespace em;

struct Shard {
    io::Address address;
    load::EchoHandler handler;
    std::unique_ptr<http::Server> server;  ///< created and destroyed on the loop thread
};

Result<void> setup(io::Loop& loop, void* ctx) {
    auto* shard = static_cast<Shard*>(ctx);
    http::ServerConfig config;
    config.name = "echo";
    shard->server = std::make_unique<http::Server>();
    return shard->server->listen(loop, shard->address, shard->handler, config);
}

void teardown(io::Loop&, void* ctx) {
    static_cast<Shard*>(ctx)->server.reset();
}

int usage() {
    std::fprintf(stderr, "usage: load-echo-server --port N [--threads T] [--cpus A,B,...]\n");
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    int port = 0, threads = 1;
    std::vector<int> cpus;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string flag = argv[i];
        if (flag == "--port")
            port = std::atoi(argv[i + 1]);
        else if (flag == "--threads")
            threads = std::atoi(argv[i + 1]);
        else if (flag == "--cpus") {
            for (char* p = argv[i + 1]; *p;) {
                cpus.push_back(static_cast<int>(std::strtol(p, &p, 10)));
                if (*p == ',')
                    p++;
                else if (*p)
                    return usage();
            }
        } else
            return usage();
    }
    if (argc % 2 == 0 || port <= 0 || port > 65535 || threads < 1 || threads > 64) return usage();
    io::block_shutdown_signals();
    auto address = io::resolve("127.0.0.1", static_cast<uint16_t>(port));
    if (!address) return usage();
    std::vector<std::unique_ptr<Shard>> shards;
    std::vector<std::unique_ptr<io::LoopThread>> loops;
    int usable = io::usable_cpu_count();
    for (int i = 0; i < threads; i++) {
        shards.push_back(std::make_unique<Shard>());
        shards.back()->address = *address;
        int cpu = i < static_cast<int>(cpus.size()) ? cpus[static_cast<size_t>(i)]
                                                    : io::nth_usable_cpu(usable - 1 - i);
        io::LoopConfig config;
        config.name = "echo";
        auto t = io::LoopThread::start(config, cpu, setup, teardown, shards.back().get());
        if (!t) {
            std::fprintf(stderr, "load-echo-server: %s\n", t.error().c_str());
            return 1;
        }
        loops.push_back(std::move(*t));
    }
    std::fprintf(stderr, "load-echo-server: listening on 127.0.0.1:%d with %d thread(s)\n", port,
                 threads);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    int sig = 0;
    sigwait(&set, &sig);
    for (auto& l : loops) l->request_stop();
    for (auto& l : loops) l->join();
    return 0;
}
