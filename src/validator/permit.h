// The validator's permit: a deadline that a process outside the guard's event loop enforces.
//
// The guard writes the deadline into one shared page each time it has renewed its lease (and
// only then); the supervisor (`enginemux validator-run`, supervisor.h) reads it and SIGKILLs the
// validator the moment it lapses, whatever the guard is doing: stopped by SIGSTOP or a cgroup
// freezer, blocked on a write, swapped out. The deadline is the moment the guard's own lease
// check would fence (last renewal's send time + ttl - fence margin), which is strictly before
// the other host may take the lease over (its grant + ttl + takeover margin).
//
// The page is a memfd handed to the supervisor as a file descriptor (child mode: the guard
// spawns the supervisor), or a file under /run (commands mode: the validator's own unit runs the
// supervisor and the guard only writes the file).
//
// Clock: CLOCK_BOOTTIME nanoseconds (boot_ns(): keeps counting across a suspend). 0 = revoked.
// Threads: PermitWriter on the guard's loop thread; PermitReader in the supervisor process.
// Lock-free: one atomic 64-bit store and load on shared memory, nothing else.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "base/result.h"

namespace em::validator {

/// The shared page's layout (version 1). Only `deadline_ns` decides; the rest is for people
/// (`enginemux validator-run` prints them when it refuses to start).
struct PermitPage {
    static constexpr uint64_t magic_value = 0x54494d5245504d45ull;  // "EMPERMIT"
    uint64_t magic;
    uint32_t version;
    uint32_t reserved;
    std::atomic<uint64_t> deadline_ns;  ///< CLOCK_BOOTTIME; 0 = revoked
    std::atomic<uint64_t> epoch;        ///< the lease epoch the permit was last granted under
    std::atomic<uint64_t> grants;       ///< how many times it was granted (renewed)
};
static_assert(std::atomic<uint64_t>::is_always_lock_free);

/// A mapped permit page; the base of the writer and the reader. Move-only.
class PermitMapping {
  public:
    PermitMapping() = default;
    PermitMapping(PermitMapping&& other) noexcept;
    PermitMapping& operator=(PermitMapping&& other) noexcept;
    ~PermitMapping();
    bool mapped() const { return page_ != nullptr; }
    /// The file descriptor (kept open; close-on-exec).
    int fd() const { return fd_; }
    uint64_t deadline_ns() const { return page_->deadline_ns.load(std::memory_order_acquire); }
    uint64_t epoch() const { return page_->epoch.load(std::memory_order_relaxed); }

  protected:
    PermitPage* page_ = nullptr;
    int fd_ = -1;
};

/// The guard's side.
class PermitWriter : public PermitMapping {
  public:
    /// An anonymous page (memfd) for a supervisor spawned by the guard. Starts revoked.
    static Result<PermitWriter> create_anonymous();
    /// The page in a file (created 0640 if missing, never through a symlink). Starts revoked.
    static Result<PermitWriter> open_file(const std::string& path);
    /// The validator may run until deadline_ns (CLOCK_BOOTTIME).
    void grant_until(uint64_t deadline_ns, uint64_t epoch);
    /// The validator must stop now.
    void revoke();
};

/// The supervisor's side (read-only mapping).
class PermitReader : public PermitMapping {
  public:
    /// An inherited descriptor (child mode); the reader owns it from now on.
    static Result<PermitReader> from_fd(int fd);
    static Result<PermitReader> open_file(const std::string& path);
};

}  // namespace em::validator
