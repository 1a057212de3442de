// io::Loop: one io_uring ring per thread, and everything that thread waits on — socket operations,
// timers and messages from other threads. The only place in enginemux that knows io_uring
// (with socket.h, file.h and thread.h next to it).
//
// Threads: a Loop is created, run and destroyed by one thread (its owner; the ring is set up
// with SINGLE_ISSUER|DEFER_TASKRUN when the kernel has them). Every method is owner-thread-only
// except post(), request_stop() and the feature queries, which any thread may call.
//
// Ownership: operations are *intrusive*: the caller owns a Completion (usually a member of its
// connection object) and must keep it alive until its last completion has been delivered (for a
// multishot operation: until a completion arrives without IORING_CQE_F_MORE). The loop
// allocates nothing per operation. Closing a file descriptor does not end the operations on it:
// the ring holds its own reference to the file, so a pending multishot recv keeps the socket
// open and still completes later (into the Completion's memory). To end them: cancel(), then
// wait for each operation's final completion; only then may the Completion's memory be freed.
// The one exception is after run() has returned (ended()): nothing is delivered any more and
// the ring's teardown cancels what is left. Received bytes live in the loop's provided-buffer
// ring: a recv completion names a buffer that the caller must give back with release_buffer().
#pragma once

#include <liburing.h>
#include <sys/socket.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <vector>

#include "base/queue.h"
#include "base/result.h"

namespace em::io {

struct Completion;
/// Called on the loop thread with the CQE's result (>= 0 or -errno) and flags.
using CompletionFn = void (*)(Completion* completion, int32_t result, uint32_t flags);

/// One pending operation's callback; embed it in the object that owns the operation.
struct Completion {
    CompletionFn fn = nullptr;
    void* owner = nullptr;  ///< free for the caller (typically the object that embeds it)
};

/// True if a CQE says more completions will follow for this (multishot) operation.
inline bool cqe_more(uint32_t flags) {
    return (flags & IORING_CQE_F_MORE) != 0;
}
/// True if a CQE carries a provided buffer; buffer_id() names it.
inline bool cqe_has_buffer(uint32_t flags) {
    return (flags & IORING_CQE_F_BUFFER) != 0;
}
inline uint16_t cqe_buffer_id(uint32_t flags) {
    return static_cast<uint16_t>(flags >> IORING_CQE_BUFFER_SHIFT);
}

/// A deadline callback. Embed it; keep it alive while armed (timer_cancel before destroying).
struct Timer {
    using Fn = void (*)(Timer* timer);
    Fn fn = nullptr;
    void* owner = nullptr;
    uint64_t deadline_ns = 0;
    uint32_t heap_index = UINT32_MAX;  ///< position in the loop's heap; UINT32_MAX = not armed
    bool armed() const { return heap_index != UINT32_MAX; }
};

/// A message for another loop: fn(arg0, arg1) runs on the target loop's thread.
struct Task {
    void (*fn)(void* arg0, uint64_t arg1) = nullptr;
    void* arg0 = nullptr;
    uint64_t arg1 = 0;
};

/// Ring features found at start-up (for `enginemux --version` and the logs).
struct RingFeatures {
    bool single_issuer = false;
    bool defer_taskrun = false;
    bool coop_taskrun = false;
    bool buffer_ring = false;
    bool recv_multishot = false;
    bool accept_multishot = false;
    bool msg_ring = false;
};

struct LoopConfig {
    const char* name = "loop";          ///< thread role for logs ("shard0", "control")
    unsigned sq_entries = 1024;         ///< submission queue size (CQ is 4x)
    unsigned buffer_count = 512;        ///< provided buffers for multishot recv (power of two)
    unsigned buffer_bytes = 16 * 1024;  ///< bytes per provided buffer (plus 64 B padding)
    size_t post_queue_capacity = 8192;  ///< cross-thread tasks queued before post() says full
    /// After its last completion the loop keeps polling (entering the kernel without sleeping)
    /// this long before it blocks; 0 = block at once. Spends the core to skip wake-up latency.
    uint64_t spin_ns = 0;
};

class Loop {
  public:
    /// Probes the kernel and sets up the ring; a clear error (naming the fix) if io_uring is
    /// unavailable or lacks what enginemux needs.
    static Result<std::unique_ptr<Loop>> create(const LoopConfig& config);
    /// What the kernel offers, probed once with a throw-away ring (any thread).
    static Result<RingFeatures> probe();
    ~Loop();
    Loop(const Loop&) = delete;
    Loop& operator=(const Loop&) = delete;

    /// The loop owned by the calling thread, or nullptr.
    static Loop* current();

    /// Runs until request_stop() and then until `drain` returns true (checked each turn), or
    /// forever if never stopped. Owner thread.
    void run();
    /// Runs at most one turn: submits, waits up to timeout_ns for a completion, dispatches.
    void run_once(uint64_t timeout_ns);
    /// Asks the loop to stop (any thread). stopping() turns true on the loop thread.
    void request_stop();
    bool stopping() const { return stop_requested_.load(std::memory_order_acquire); }
    /// True once run() has returned: no completion will be delivered any more, so objects with
    /// operations still pending may be destroyed (owner thread; teardown after run()).
    bool ended() const { return ended_; }
    /// Called each turn once stopping(); run() returns when it returns true (default: at once).
    void set_drain_check(bool (*check)(void* ctx), void* ctx) {
        drain_check_ = check;
        drain_ctx_ = ctx;
    }

    /// Submits the queued operations now instead of at the end of the turn (so the kernel
    /// starts on them while the caller keeps computing).
    void flush() { io_uring_submit(&ring_); }
    /// Keeps the loop polling (entering the kernel without sleeping) until `deadline_ns` on the
    /// loop's clock; 0 ends it now. Owner thread. For a caller that expects its completions
    /// within microseconds (an engine call in flight): waking a sleeping thread costs tens of
    /// microseconds, more on a VM whose vCPU the host descheduled.
    void poll_until(uint64_t deadline_ns) { poll_until_ns_ = deadline_ns; }

    /// Monotonic time cached at the start of this loop turn.
    uint64_t now_ns() const { return now_ns_; }
    const RingFeatures& features() const { return features_; }
    const char* name() const { return config_.name; }

    // Socket operations (owner thread). Results arrive through the Completion.
    void accept_multishot(Completion* c, int listen_fd);
    /// Multishot recv into the provided-buffer ring: each completion has a buffer id.
    void recv_multishot(Completion* c, int fd);
    void send(Completion* c, int fd, const void* data, size_t bytes);
    /// A gathered send: `message` (and the iovecs and bytes it points to) must stay valid until
    /// the completion arrives, which may be after a cancel of it was asked for.
    void sendmsg(Completion* c, int fd, const msghdr* message);
    void connect(Completion* c, int fd, const sockaddr* address, socklen_t address_bytes);
    /// Asynchronous close (the completion may be nullptr: nobody waits for it).
    void close(Completion* c, int fd);
    /// Ends a connected socket whose operations may still be in the ring: cancels each of
    /// `armed` (null entries skipped), shuts it down (a recv the cancel did not reach completes
    /// with 0, and the FIN goes now: the ring holds its own reference to the socket, so a close
    /// alone would leave it open with the recv armed), then closes it; `closed` is told when the
    /// close is done.
    void close_socket(int fd, std::initializer_list<Completion*> armed, Completion* closed);
    /// Cancels every pending operation of `target` (its completions arrive with -ECANCELED or
    /// their natural result; a multishot one ends with a completion without F_MORE). `c` is told
    /// when the cancel itself is done (nullptr: not told). `target`'s memory must stay valid
    /// until those completions have arrived, not merely until the cancel is done.
    void cancel(Completion* target, Completion* c = nullptr);

    // File operations (owner thread): for the validator guard's durable state writes.
    void openat(Completion* c, int dir_fd, const char* path, int flags, mode_t mode);
    void read(Completion* c, int fd, void* data, size_t bytes, uint64_t offset);
    void write(Completion* c, int fd, const void* data, size_t bytes, uint64_t offset);
    void fsync(Completion* c, int fd);
    void renameat(Completion* c, int old_dir_fd, const char* old_path, int new_dir_fd,
                  const char* new_path);

    /// Bytes of provided buffer `id` (valid until release_buffer(id)); capacity includes 64 B
    /// of readable padding after the data, so simdjson may read it in place.
    char* buffer_data(uint16_t id) { return buffers_ + static_cast<size_t>(id) * buffer_stride_; }
    size_t buffer_bytes() const { return config_.buffer_bytes; }
    /// Gives a provided buffer back to the kernel.
    void release_buffer(uint16_t id);
    /// Buffers currently held by the application (for metrics).
    uint32_t buffers_held() const { return buffers_held_; }

    // Timers (owner thread).
    void timer_start(Timer* timer, uint64_t deadline_ns);
    void timer_cancel(Timer* timer);
    size_t timers_armed() const { return timers_.size(); }

    /// Queues a task for this loop from any thread and wakes it (MSG_RING from another loop's
    /// thread, eventfd otherwise). False when the queue is full: nothing was queued and the
    /// caller must handle it (each call site says how).
    bool post(const Task& task);
    /// Pending cross-thread tasks (approximate; any thread).
    size_t posted_backlog() const { return posts_.size_approx(); }

    /// The ring's fd (for MSG_RING targets).
    int ring_fd() const { return ring_.ring_fd; }
    /// Counters for metrics (owner thread writes; other threads may read approximately).
    struct Stats {
        std::atomic<uint64_t> turns{0};
        std::atomic<uint64_t> polls{0};  ///< turns that did not sleep (spin_ns, poll_until)
        std::atomic<uint64_t> cqes{0};
        std::atomic<uint64_t> wakeups_sent{0};
        std::atomic<uint64_t> buffer_exhausted{0};
    };
    const Stats& stats() const { return stats_; }

  private:
    explicit Loop(const LoopConfig& config);
    Result<void> init();
    io_uring_sqe* get_sqe();
    void dispatch(io_uring_cqe* cqe);
    void drain_posts();
    void fire_timers();
    void heap_up(uint32_t i);
    void heap_down(uint32_t i);
    void heap_remove(uint32_t i);
    void arm_wake_read();

    LoopConfig config_;
    io_uring ring_{};
    bool ring_ready_ = false;
    RingFeatures features_;
    uint64_t now_ns_ = 0;
    uint64_t last_event_ns_ = 0;  ///< turn time of the last turn with a completion (spin_ns)
    uint64_t poll_until_ns_ = 0;  ///< poll_until()

    // Provided-buffer ring.
    io_uring_buf_ring* buf_ring_ = nullptr;
    size_t buf_ring_bytes_ = 0;
    char* buffers_ = nullptr;
    size_t buffer_stride_ = 0;
    uint32_t buffers_held_ = 0;

    // Timers: binary min-heap of armed timers.
    std::vector<Timer*> timers_;

    // Cross-thread tasks.
    MpscQueue<Task> posts_;
    std::atomic<bool> wake_pending_{false};
    int wake_fd_ = -1;
    uint64_t wake_value_ = 0;
    Completion wake_read_{};

    std::atomic<bool> stop_requested_{false};
    bool ended_ = false;
    bool (*drain_check_)(void*) = nullptr;
    void* drain_ctx_ = nullptr;
    Stats stats_;
};

}  // namespace em::io
