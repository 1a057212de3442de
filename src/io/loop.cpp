#include "io/loop.h"

#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/assert.h"
#include "base/clock.h"
#include "base/log.h"

namespace em::io {

namespace {

thread_local Loop* t_current = nullptr;

/// user_data of MSG_RING wake-ups; Completion pointers are aligned, so 1 is never one of them.
constexpr uint64_t wake_tag = 1;
constexpr uint16_t buffer_group = 0;
constexpr size_t padding_bytes = 64;

Error ring_setup_error(int err) {
    switch (err) {
        case ENOSYS:
            return Error(Errc::unsupported,
                         "io_uring is not available in this kernel: enginemux needs Linux >= 6.1 "
                         "built with CONFIG_IO_URING");
        case EPERM:
        case EACCES:
            return Error(Errc::unsupported,
                         "io_uring is disabled for this process: set sysctl "
                         "kernel.io_uring_disabled=0 (or add the user to kernel.io_uring_group) "
                         "and allow io_uring_setup/enter/register in seccomp/container profiles");
        case ENOMEM:
            return Error(Errc::unsupported,
                         "io_uring ring could not be allocated: raise the locked-memory limit "
                         "(ulimit -l unlimited, or LimitMEMLOCK=infinity in the systemd unit)");
        default:
            return Error::sys(err, "io_uring_setup");
    }
}

}  // namespace

Loop* Loop::current() {
    return t_current;
}

Loop::Loop(const LoopConfig& config) : config_(config), posts_(config.post_queue_capacity) {}

Result<std::unique_ptr<Loop>> Loop::create(const LoopConfig& config) {
    EM_ASSERT(config.buffer_count > 0 && (config.buffer_count & (config.buffer_count - 1)) == 0);
    EM_ASSERT(config.buffer_count <= 32768);
    std::unique_ptr<Loop> loop(new Loop(config));
    EM_TRY_VOID(loop->init());
    return loop;
}

static int setup_ring(io_uring* ring, unsigned entries, RingFeatures* features) {
    // Strongest set first; older kernels reject unknown flags with EINVAL.
    const unsigned attempts[] = {
        IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
        IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN,
        IORING_SETUP_COOP_TASKRUN,
        0,
    };
    int err = 0;
    for (unsigned flags : attempts) {
        io_uring_params params{};
        params.flags = flags | IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL;
        params.cq_entries = entries * 4;
        err = io_uring_queue_init_params(entries, ring, &params);
        if (err == 0) {
            features->single_issuer = (flags & IORING_SETUP_SINGLE_ISSUER) != 0;
            features->defer_taskrun = (flags & IORING_SETUP_DEFER_TASKRUN) != 0;
            features->coop_taskrun = (flags & IORING_SETUP_COOP_TASKRUN) != 0;
            return 0;
        }
        if (err != -EINVAL) return err;
    }
    return err;
}

Result<RingFeatures> Loop::probe() {
    io_uring ring;
    RingFeatures features;
    int err = setup_ring(&ring, 8, &features);
    if (err < 0) return Unexpected(ring_setup_error(-err));
    io_uring_probe* probe = io_uring_get_probe_ring(&ring);
    if (probe) {
        features.msg_ring = io_uring_opcode_supported(probe, IORING_OP_MSG_RING);
        io_uring_free_probe(probe);
    }
    // Buffer rings (5.19+) are required for multishot recv; try registering a tiny one.
    size_t bytes = 4096;
    void* mem = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (mem != MAP_FAILED) {
        io_uring_buf_reg reg{};
        reg.ring_addr = reinterpret_cast<uint64_t>(mem);
        reg.ring_entries = 8;
        reg.bgid = 7;
        if (io_uring_register_buf_ring(&ring, &reg, 0) == 0) {
            features.buffer_ring = true;
            features.recv_multishot = true;  // same kernel generation (6.0)
            features.accept_multishot = true;
            io_uring_unregister_buf_ring(&ring, 7);
        }
        munmap(mem, bytes);
    }
    io_uring_queue_exit(&ring);
    return features;
}

Result<void> Loop::init() {
    int err = setup_ring(&ring_, config_.sq_entries, &features_);
    if (err < 0) return Unexpected(ring_setup_error(-err));
    ring_ready_ = true;
    io_uring_probe* probe = io_uring_get_probe_ring(&ring_);
    if (probe) {
        features_.msg_ring = io_uring_opcode_supported(probe, IORING_OP_MSG_RING);
        io_uring_free_probe(probe);
    }

    // Provided-buffer ring: buffer_count buffers of buffer_bytes, each followed by padding.
    buf_ring_bytes_ = (config_.buffer_count * sizeof(io_uring_buf) + 4095) & ~size_t{4095};
    void* mem =
        mmap(nullptr, buf_ring_bytes_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (mem == MAP_FAILED) return Unexpected(Error::sys(errno, "mmap buffer ring"));
    buf_ring_ = static_cast<io_uring_buf_ring*>(mem);
    io_uring_buf_reg reg{};
    reg.ring_addr = reinterpret_cast<uint64_t>(mem);
    reg.ring_entries = config_.buffer_count;
    reg.bgid = buffer_group;
    err = io_uring_register_buf_ring(&ring_, &reg, 0);
    if (err < 0) {
        return failf(Errc::unsupported,
                     "io_uring provided-buffer rings are not supported (%s): enginemux needs "
                     "Linux >= 6.1",
                     std::strerror(-err));
    }
    features_.buffer_ring = features_.recv_multishot = features_.accept_multishot = true;
    io_uring_buf_ring_init(buf_ring_);
    buffer_stride_ = config_.buffer_bytes + padding_bytes;
    buffers_ = static_cast<char*>(std::aligned_alloc(64, buffer_stride_ * config_.buffer_count));
    if (!buffers_) return fail(Errc::internal, "out of memory for receive buffers");
    std::memset(buffers_, 0, buffer_stride_ * config_.buffer_count);
    int mask = io_uring_buf_ring_mask(config_.buffer_count);
    for (unsigned i = 0; i < config_.buffer_count; i++) {
        io_uring_buf_ring_add(buf_ring_, buffer_data(static_cast<uint16_t>(i)),
                              config_.buffer_bytes, static_cast<uint16_t>(i), mask,
                              static_cast<int>(i));
    }
    io_uring_buf_ring_advance(buf_ring_, static_cast<int>(config_.buffer_count));

    wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake_fd_ < 0) return Unexpected(Error::sys(errno, "eventfd"));
    wake_read_.fn = [](Completion* c, int32_t, uint32_t) {
        Loop* loop = static_cast<Loop*>(c->owner);
        loop->drain_posts();
        loop->arm_wake_read();
    };
    wake_read_.owner = this;
    timers_.reserve(1024);
    t_current = this;
    arm_wake_read();
    now_ns_ = mono_ns();
    return {};
}

Loop::~Loop() {
    if (t_current == this) t_current = nullptr;
    if (ring_ready_) io_uring_queue_exit(&ring_);
    if (buf_ring_) munmap(buf_ring_, buf_ring_bytes_);
    std::free(buffers_);
    if (wake_fd_ >= 0) ::close(wake_fd_);
}

void Loop::arm_wake_read() {
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_read(sqe, wake_fd_, &wake_value_, sizeof wake_value_, 0);
    io_uring_sqe_set_data(sqe, &wake_read_);
}

io_uring_sqe* Loop::get_sqe() {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    while (!sqe) {
        io_uring_submit(&ring_);
        sqe = io_uring_get_sqe(&ring_);
    }
    return sqe;
}

void Loop::accept_multishot(Completion* c, int listen_fd) {
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_multishot_accept(sqe, listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    io_uring_sqe_set_data(sqe, c);
}

void Loop::recv_multishot(Completion* c, int fd) {
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_recv_multishot(sqe, fd, nullptr, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = buffer_group;
    io_uring_sqe_set_data(sqe, c);
}

void Loop::send(Completion* c, int fd, const void* data, size_t bytes) {
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_send(sqe, fd, data, bytes, MSG_NOSIGNAL);
    io_uring_sqe_set_data(sqe, c);
}

void Loop::sendmsg(Completion* c, int fd, const msghdr* message) {
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_sendmsg(sqe, fd, message, MSG_NOSIGNAL);
    io_uring_sqe_set_data(sqe, c);
}

void Loop::connect(Completion* c, int fd, const sockaddr* address, socklen_t address_bytes) {
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_connect(sqe, fd, address, address_bytes);
    io_uring_sqe_set_data(sqe, c);
}

void Loop::close(Completion* c, int fd) {
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_close(sqe, fd);
    io_uring_sqe_set_data(sqe, c);
}

void Loop::close_socket(int fd, std::initializer_list<Completion*> armed, Completion* closed) {
    for (Completion* c : armed) {
        if (c) cancel(c);
    }
    ::shutdown(fd, SHUT_RDWR);
    close(closed, fd);
}

void Loop::cancel(Completion* target, Completion* c) {
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_cancel(sqe, target, IORING_ASYNC_CANCEL_ALL);
    io_uring_sqe_set_data(sqe, c);
}

void Loop::openat(Completion* c, int dir_fd, const char* path, int flags, mode_t mode) {
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_openat(sqe, dir_fd, path, flags, mode);
    io_uring_sqe_set_data(sqe, c);
}

void Loop::read(Completion* c, int fd, void* data, size_t bytes, uint64_t offset) {
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_read(sqe, fd, data, static_cast<unsigned>(bytes), offset);
    io_uring_sqe_set_data(sqe, c);
}

void Loop::write(Completion* c, int fd, const void* data, size_t bytes, uint64_t offset) {
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_write(sqe, fd, data, static_cast<unsigned>(bytes), offset);
    io_uring_sqe_set_data(sqe, c);
}

void Loop::fsync(Completion* c, int fd) {
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_fsync(sqe, fd, 0);
    io_uring_sqe_set_data(sqe, c);
}

void Loop::renameat(Completion* c, int old_dir_fd, const char* old_path, int new_dir_fd,
                    const char* new_path) {
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_renameat(sqe, old_dir_fd, old_path, new_dir_fd, new_path, 0);
    io_uring_sqe_set_data(sqe, c);
}

void Loop::release_buffer(uint16_t id) {
    EM_DEBUG_ASSERT(buffers_held_ > 0);
    buffers_held_--;
    io_uring_buf_ring_add(buf_ring_, buffer_data(id), config_.buffer_bytes, id,
                          io_uring_buf_ring_mask(config_.buffer_count), 0);
    io_uring_buf_ring_advance(buf_ring_, 1);
}

void Loop::dispatch(io_uring_cqe* cqe) {
    uint64_t data = cqe->user_data;
    uint32_t flags = cqe->flags;
    if (cqe_has_buffer(flags)) buffers_held_++;
    if (cqe->res == -ENOBUFS) stats_.buffer_exhausted.fetch_add(1, std::memory_order_relaxed);
    if (data == wake_tag) {
        drain_posts();
        return;
    }
    if (data == 0) return;  // fire-and-forget operation
    Completion* c = reinterpret_cast<Completion*>(data);
    c->fn(c, cqe->res, flags);
}

void Loop::run_once(uint64_t timeout_ns) {
    uint64_t now = mono_ns();
    if (!timers_.empty()) {
        uint64_t next = timers_[0]->deadline_ns;
        uint64_t until = next > now ? next - now : 0;
        if (until < timeout_ns) timeout_ns = until;
    }
    if (posts_.size_approx() > 0) timeout_ns = 0;
    bool spin = config_.spin_ns && last_event_ns_ && now - last_event_ns_ < config_.spin_ns;
    if (timeout_ns && (spin || now < poll_until_ns_)) {
        timeout_ns = 0;
        stats_.polls.fetch_add(1, std::memory_order_relaxed);
    }
    __kernel_timespec ts;
    ts.tv_sec = static_cast<long long>(timeout_ns / 1'000'000'000ull);
    ts.tv_nsec = static_cast<long long>(timeout_ns % 1'000'000'000ull);
    io_uring_cqe* cqe = nullptr;
    int ret = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
    if (ret < 0 && ret != -ETIME && ret != -EINTR && ret != -EBUSY) {
        EM_LOG_LIMITED(LogLevel::error, 1, "%s: io_uring_submit_and_wait: %s", config_.name,
                       std::strerror(-ret));
    }
    now_ns_ = mono_ns();
    stats_.turns.fetch_add(1, std::memory_order_relaxed);
    unsigned head;
    unsigned count = 0;
    io_uring_for_each_cqe(&ring_, head, cqe) {
        count++;
        dispatch(cqe);
    }
    io_uring_cq_advance(&ring_, count);
    stats_.cqes.fetch_add(count, std::memory_order_relaxed);
    if (count || posts_.size_approx() > 0) last_event_ns_ = now_ns_;
    drain_posts();
    fire_timers();
}

void Loop::run() {
    for (;;) {
        if (stopping() && (!drain_check_ || drain_check_(drain_ctx_))) break;
        run_once(stopping() ? 10'000'000ull : 1'000'000'000ull);
    }
    // Flush what callbacks queued on the way out (closes, cancels).
    io_uring_submit(&ring_);
    ended_ = true;
}

void Loop::request_stop() {
    stop_requested_.store(true, std::memory_order_release);
    post(Task{[](void*, uint64_t) {}, nullptr, 0});
}

bool Loop::post(const Task& task) {
    if (!posts_.push(Task(task))) return false;
    if (wake_pending_.exchange(true, std::memory_order_acq_rel)) return true;
    Loop* from = t_current;
    if (from == this) return true;  // drained at the end of this turn
    stats_.wakeups_sent.fetch_add(1, std::memory_order_relaxed);
    if (from && from->features_.msg_ring) {
        io_uring_sqe* sqe = from->get_sqe();
        io_uring_prep_msg_ring(sqe, ring_fd(), 0, wake_tag, 0);
        sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
        io_uring_sqe_set_data(sqe, nullptr);
        io_uring_submit(&from->ring_);
        return true;
    }
    uint64_t one = 1;
    ssize_t ignored = ::write(wake_fd_, &one, sizeof one);
    (void)ignored;
    return true;
}

void Loop::drain_posts() {
    // An exchange, not a store: a store(false) followed by the queue's loads may be reordered
    // (store buffering), so a poster could find wake_pending_ still true, skip its wake-up, and
    // the task it pushed would miss this drain too: it would wait for the next completion or
    // the turn's timeout (up to 1 s). As a read-modify-write, this exchange either reads the
    // poster's `true` (and then sees its push, which came before) or comes before the poster's
    // exchange in the flag's order (and then the poster reads `false` and sends a wake-up).
    wake_pending_.exchange(false, std::memory_order_acq_rel);
    // Bounded per turn so a flood of posts cannot starve socket completions.
    for (size_t i = 0; i < config_.post_queue_capacity; i++) {
        auto task = posts_.pop();
        if (!task) break;
        task->fn(task->arg0, task->arg1);
    }
}

// Timers: a binary min-heap on deadline_ns; each timer knows its index for O(log n) cancel.
void Loop::timer_start(Timer* timer, uint64_t deadline_ns) {
    if (timer->armed()) heap_remove(timer->heap_index);
    timer->deadline_ns = deadline_ns;
    timer->heap_index = static_cast<uint32_t>(timers_.size());
    timers_.push_back(timer);
    heap_up(timer->heap_index);
}

void Loop::timer_cancel(Timer* timer) {
    if (timer->armed()) heap_remove(timer->heap_index);
}

void Loop::heap_up(uint32_t i) {
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (timers_[parent]->deadline_ns <= timers_[i]->deadline_ns) break;
        std::swap(timers_[parent], timers_[i]);
        timers_[parent]->heap_index = parent;
        timers_[i]->heap_index = i;
        i = parent;
    }
}

void Loop::heap_down(uint32_t i) {
    uint32_t n = static_cast<uint32_t>(timers_.size());
    for (;;) {
        uint32_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && timers_[l]->deadline_ns < timers_[m]->deadline_ns) m = l;
        if (r < n && timers_[r]->deadline_ns < timers_[m]->deadline_ns) m = r;
        if (m == i) break;
        std::swap(timers_[m], timers_[i]);
        timers_[m]->heap_index = m;
        timers_[i]->heap_index = i;
        i = m;
    }
}

void Loop::heap_remove(uint32_t i) {
    Timer* removed = timers_[i];
    uint32_t last = static_cast<uint32_t>(timers_.size() - 1);
    if (i != last) {
        timers_[i] = timers_[last];
        timers_[i]->heap_index = i;
    }
    timers_.pop_back();
    if (i < timers_.size()) {
        heap_down(i);
        heap_up(i);
    }
    removed->heap_index = UINT32_MAX;
}

void Loop::fire_timers() {
    uint64_t now = now_ns_;
    while (!timers_.empty() && timers_[0]->deadline_ns <= now) {
        Timer* t = timers_[0];
        heap_remove(0);
        t->fn(t);
    }
}

}  // namespace em::io
