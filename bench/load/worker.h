// Worker: one enginemux-load thread — an io::Loop (run by an io::LoopThread, pinned), its share of
// the connections (http::ClientConn, keep-alive) and of the rate, its RequestWriter, Classifier
// and RunStats.
//
// Scheduling. Open loop (--rate): request k of worker i of T is due at the intended time
// t0 + (k*T + i)/rate. It goes out on an idle connection at once; if none is idle it waits (no
// memory: the backlog is the range of due k not yet sent) and goes out when a connection frees.
// Latency is answer time - intended time, so a stalled target shows up in every request
// scheduled during the stall (no coordinated omission); a request that waits past its timeout
// is counted as a timeout without being sent; one sent >= late_threshold_ns after its intended
// time counts as late. Closed loop: each connection sends the next request when the answer to the
// previous one arrives; latency is answer time - send time. Requests due (open) or sent (closed)
// before t0 + warmup are counted apart and discarded; none are started at or after the end; the
// worker then waits for the ones in flight (at most --timeout) and stops its loop.
//
// Threads: constructed and destroyed by the main thread; setup/teardown and everything else run
// on the worker's loop thread, except go(), stop_early() and progress() (any thread). stats()
// and kind_calls() are read by the main thread after the loop thread was joined.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "base/result.h"
#include "exchange.h"
#include "http/jwt.h"
#include "io/loop.h"
#include "mix.h"
#include "net/client.h"
#include "options.h"
#include "stats.h"

namespace em::load {

/// What every worker reads (immutable while they run; owned by main).
struct RunPlan {
    const Options* options = nullptr;
    const Mix* mix = nullptr;
    const http::Endpoint* endpoint = nullptr;
    const http::JwtSecret* jwt_secret = nullptr;  ///< nullptr: no Authorization header
};

/// Live counters for the progress line: written by the worker (relaxed), read by main.
struct Progress {
    std::atomic<uint64_t> done{0};    ///< requests finished (any outcome, warmup included)
    std::atomic<uint64_t> errors{0};  ///< of those, not ok
    std::atomic<uint64_t> p99_ns{0};  ///< p99 of the current phase so far (updated every 250 ms)
    std::atomic<bool> measuring{false};
    std::atomic<bool> finished{false};
};

class Worker final : public http::ClientCallback {
  public:
    /// A request sent this long after its intended time counts as late (open loop).
    static constexpr uint64_t late_threshold_ns = 1'000'000;
    /// A closed-loop connection waits this long after a connection error before trying again.
    static constexpr uint64_t reconnect_backoff_ns = 10'000'000;
    /// Largest HTTP answer accepted (larger: malformed).
    static constexpr size_t response_bytes_max = 64u << 20;

    /// Worker `index` of --threads; `connections` is its share; rate_rps is the total rate of all
    /// workers (0: closed loop), of which this one sends every T-th request.
    Worker(const RunPlan& plan, uint32_t index, uint32_t connections, double rate_rps);
    ~Worker() override;
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;

    /// io::LoopThread SetupFn (ctx = Worker*): creates the connections on the loop thread.
    static Result<void> setup(io::Loop& loop, void* ctx);
    /// io::LoopThread TeardownFn: destroys the connections on the loop thread.
    static void teardown(io::Loop& loop, void* ctx);

    /// Starts the run at t0_ns (monotonic) from any thread. False if the loop's queue is full.
    bool go(uint64_t t0_ns);
    /// Ends the run now from any thread: nothing new is sent; answers in flight are awaited.
    bool stop_early();

    Progress& progress() { return progress_; }
    /// After join: the measured requests (warmup excluded).
    const RunStats& stats() const { return stats_; }
    /// After join: measured calls per kind.
    const std::vector<uint64_t>& kind_calls() const { return writer_.kind_calls(); }
    /// After join: length of the measured window in ns (shorter than --duration if stopped early).
    uint64_t window_ns() const { return end_ns_ > warmup_end_ns_ ? end_ns_ - warmup_end_ns_ : 0; }

    void on_response(http::ClientConn& conn, const http::Response* response,
                     const Error* error) override;

  private:
    struct Slot {
        Worker* worker = nullptr;
        std::unique_ptr<http::ClientConn> conn;
        uint64_t intended_ns = 0;  ///< open loop: due time; closed loop: send time
        uint64_t first_id = 0;
        std::unique_ptr<uint32_t[]> kinds;  ///< the kind of each call in flight (batch of them)
        bool measured = false;
        io::Timer backoff{};
    };

    void begin();
    void end_now();
    void send(Slot& slot, uint64_t intended_ns);
    void pace();
    void after_answer(Slot& slot, Outcome outcome);
    /// Counts each call of the request `slot` carried into its method's statistics.
    void count_calls(const Slot& slot, RunStats& stats, Outcome outcome, uint64_t latency_ns);
    void maybe_finish();
    void publish_progress();
    uint64_t intended_ns(uint64_t k) const;
    static void on_pace(io::Timer* t);
    static void on_tick(io::Timer* t);
    static void on_end(io::Timer* t);
    static void on_backoff(io::Timer* t);

    const RunPlan plan_;
    const uint32_t index_;
    const uint32_t connection_count_;
    const double rate_rps_;
    const uint32_t thread_count_;
    const uint64_t timeout_ns_;
    io::Loop* loop_ = nullptr;
    std::unique_ptr<Slot[]> slots_;
    std::vector<Slot*> idle_;  ///< open loop: connections with nothing in flight
    RequestWriter writer_;
    Classifier classifier_;
    RunStats stats_;
    RunStats warmup_stats_;
    uint64_t t0_ns_ = 0;
    uint64_t warmup_end_ns_ = 0;
    uint64_t end_ns_ = 0;
    uint64_t next_k_ = 0;   ///< open loop: next request index to send (or expire)
    uint64_t next_id_ = 0;  ///< next JSON-RPC id (unique per run: index in the top bits)
    uint32_t in_flight_ = 0;
    bool started_ = false;
    bool finished_ = false;
    io::Timer pace_timer_{};
    io::Timer tick_timer_{};
    io::Timer end_timer_{};
    Progress progress_;
};

}  // namespace em::load
