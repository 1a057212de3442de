#include "io/file_watch.h"

#include <unistd.h>

#include <cerrno>

namespace em::io {

FileWatch::~FileWatch() {
    if (fd_ >= 0) ::close(fd_);
}

Result<void> FileWatch::open(Loop& loop, const std::string& path, Callback callback, void* ctx) {
    std::string_view p(path);
    size_t slash = p.rfind('/');
    std::string dir(slash == std::string_view::npos ? std::string_view(".")
                    : slash == 0                    ? std::string_view("/")
                                                    : p.substr(0, slash));
    name_.assign(slash == std::string_view::npos ? p : p.substr(slash + 1));
    fd_ = inotify_init1(IN_CLOEXEC);
    if (fd_ < 0) return Unexpected(Error::sys(errno, "inotify_init1"));
    if (inotify_add_watch(fd_, dir.c_str(), IN_CLOSE_WRITE | IN_MOVED_TO) < 0) {
        return Unexpected(Error::sys(errno, "inotify_add_watch " + dir));
    }
    loop_ = &loop;
    callback_ = callback;
    ctx_ = ctx;
    read_.fn = [](Completion* c, int32_t result, uint32_t) {
        static_cast<FileWatch*>(c->owner)->on_read(result);
    };
    read_.owner = this;
    return {};
}

void FileWatch::arm() {
    cancelled_ = false;
    if (armed_) return;
    armed_ = true;
    loop_->read(&read_, fd_, buf_, sizeof buf_, 0);
}

void FileWatch::cancel() {
    cancelled_ = true;
    if (armed_) loop_->cancel(&read_);
}

void FileWatch::on_read(int32_t result) {
    armed_ = false;
    if (result == -ECANCELED || cancelled_) return;
    bool ours = false;
    for (int32_t at = 0;
         result > 0 && at + static_cast<int32_t>(sizeof(inotify_event)) <= result;) {
        auto* ev = reinterpret_cast<inotify_event*>(buf_ + at);
        if (ev->len > 0 && name_ == ev->name) ours = true;
        at += static_cast<int32_t>(sizeof(inotify_event) + ev->len);
    }
    arm();
    if (ours) callback_(ctx_);
}

}  // namespace em::io
