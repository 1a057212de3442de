// mux_sim: the mux simulator from the command line.
//   mux_sim --seed N                 one schedule, its trace printed (replays a failure)
//   mux_sim --seeds N [--first S]    N schedules from seed S (default 1)
//   mux_sim --seeds N --long         long schedules (1,000 requests each): hours for large N
// EM_TESTDATA=../shared/testdata adds the real payloads. Exit 0 when every invariant held.
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include "base/log.h"
#include "sim.h"

int main(int argc, char** argv) {
    using namespace em::pipeline::sim;
    uint64_t seed = 0, seeds = 0, first = 1;
    bool long_runs = false;
    for (int i = 1; i < argc; i++) {
        auto value = [&] { return i + 1 < argc ? std::strtoull(argv[++i], nullptr, 10) : 0; };
        if (!std::strcmp(argv[i], "--seed"))
            seed = value();
        else if (!std::strcmp(argv[i], "--seeds"))
            seeds = value();
        else if (!std::strcmp(argv[i], "--first"))
            first = value();
        else if (!std::strcmp(argv[i], "--long"))
            long_runs = true;
        else {
            std::fprintf(stderr, "usage: mux_sim --seed N | --seeds N [--first S] [--long]\n");
            return 2;
        }
    }
    if (!seed && !seeds) seeds = 100;
    em::log_set_level(em::LogLevel::error);
    const char* dir = std::getenv("EM_TESTDATA");
    Corpus corpus = build_corpus(dir ? dir : "");
    if (seed) {
        SimOptions o;
        o.seed = seed;
        o.trace = true;
        if (long_runs) o.requests = 1000;
        SimResult r = run_schedule(corpus, o);
        std::fputs(r.trace.c_str(), stdout);
        std::printf("%s\n", r.ok ? "ok: every invariant held" : r.violation.c_str());
        return r.ok ? 0 : 1;
    }
    time_t started = std::time(nullptr);
    uint64_t requests = 0;
    for (uint64_t s = first; s < first + seeds; s++) {
        SimOptions o;
        o.seed = s;
        if (long_runs) o.requests = 1000;
        SimResult r = run_schedule(corpus, o);
        requests += r.requests;
        if (!r.ok) {
            std::printf("FAIL %s\nreplay: mux_sim --seed %" PRIu64 "%s\n", r.violation.c_str(), s,
                        long_runs ? " --long" : "");
            return 1;
        }
        if ((s - first + 1) % 10'000 == 0) {
            std::printf("%" PRIu64 " seeds, %" PRIu64 " requests, %lds\n", s - first + 1, requests,
                        static_cast<long>(std::time(nullptr) - started));
            std::fflush(stdout);
        }
    }
    std::printf("ok: %" PRIu64 " seeds (%" PRIu64 "..%" PRIu64 "), %" PRIu64
                " requests, every invariant held, %lds\n",
                seeds, first, first + seeds - 1, requests,
                static_cast<long>(std::time(nullptr) - started));
    return 0;
}
