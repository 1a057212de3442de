// FileWatch: tells, on an io::Loop, when one file was written whole: closed after a write, or
// renamed into place (the atomic-replace idiom every careful writer uses, CometBFT's included).
// An inotify watch on the file's directory (a watch on the file itself would follow the old inode
// away after a rename), read through the ring; events for other names are ignored.
//
// Threads: a FileWatch belongs to the loop thread that opened it; the callback runs there, from
// the loop (never from inside arm()). Lifetime: the read in flight points into this object, so
// cancel() it and run the loop until armed() is false before destroying it, or destroy it only
// after the loop's run() returned (its ring is then torn down without delivering anything).
#pragma once

#include <sys/inotify.h>

#include <string>

#include "base/result.h"
#include "io/loop.h"

namespace em::io {

class FileWatch {
  public:
    /// Called once per batch of events that names the file (a burst of writes may be one call).
    using Callback = void (*)(void* ctx);

    FileWatch() = default;
    ~FileWatch();
    FileWatch(const FileWatch&) = delete;
    FileWatch& operator=(const FileWatch&) = delete;

    /// Watches `path`'s directory for `path` written whole. The directory must exist.
    [[nodiscard]] Result<void> open(Loop& loop, const std::string& path, Callback callback,
                                    void* ctx);
    /// Starts watching (again after cancel()); events keep coming until cancel().
    void arm();
    /// Stops watching: no callback after this; armed() turns false once the read is done.
    void cancel();
    /// A read is in flight (the object must not be destroyed while the loop runs).
    bool armed() const { return armed_; }

  private:
    void on_read(int32_t result);

    Loop* loop_ = nullptr;
    int fd_ = -1;
    std::string name_;  ///< the file's name in its directory
    Callback callback_ = nullptr;
    void* ctx_ = nullptr;
    bool armed_ = false;
    bool cancelled_ = false;
    Completion read_{};
    alignas(inotify_event) char buf_[4096];
};

}  // namespace em::io
