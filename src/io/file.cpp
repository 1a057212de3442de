#include "io/file.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "base/assert.h"
#include "base/clock.h"

namespace em::io {

const char* file_step_name(FileStep step) {
    switch (step) {
        case FileStep::open_temp:
            return "open temp";
        case FileStep::write:
            return "write";
        case FileStep::fsync_file:
            return "fsync";
        case FileStep::close:
            return "close";
        case FileStep::rename:
            return "rename";
        case FileStep::fsync_dir:
            return "fsync dir";
        case FileStep::open_read:
            return "open";
        case FileStep::read:
            return "read";
    }
    return "?";
}

namespace {

/// Splits "a/b/c" into "a/b" and "c" ("." for a bare name).
void split_path(std::string_view path, std::string& dir, std::string& name) {
    size_t slash = path.rfind('/');
    if (slash == std::string_view::npos) {
        dir = std::string(1, '.');
        name = std::string(path);
    } else {
        dir = slash == 0 ? std::string(1, '/') : std::string(path.substr(0, slash));
        name = std::string(path.substr(slash + 1));
    }
}

uint64_t random_salt() {
    uint64_t v = 0;
    if (getrandom(&v, sizeof v, GRND_NONBLOCK) != static_cast<ssize_t>(sizeof v)) {
        v = mono_ns() ^ (static_cast<uint64_t>(getpid()) << 32);
    }
    return v;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// AtomicFileWriter

AtomicFileWriter::~AtomicFileWriter() {
    EM_ASSERT(!busy());
    if (dir_fd_ >= 0) ::close(dir_fd_);
}

Result<void> AtomicFileWriter::open(Loop& loop, std::string_view path, size_t bytes_max) {
    EM_ASSERT(!busy() && dir_fd_ < 0);
    split_path(path, dir_, name_);
    if (name_.empty())
        return failf(Errc::invalid_input, "'%s' names no file", std::string(path).c_str());
    if (name_.size() > 48)
        return failf(Errc::invalid_input, "file name '%s' is longer than 48 bytes", name_.c_str());
    path_ = std::string(path);
    dir_fd_ = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd_ < 0) return Unexpected(Error::sys(errno, "open directory " + dir_));
    loop_ = &loop;
    data_ = ByteBuffer(bytes_max, bytes_max);
    temp_salt_ = random_salt();
    c_.fn = on_complete;
    c_.owner = this;
    delay_.fn = on_delay;
    delay_.owner = this;
    remove_stale_temps();
    return {};
}

void AtomicFileWriter::remove_stale_temps() {
    DIR* dir = ::opendir(dir_.c_str());
    if (!dir) return;
    std::string prefix = "." + name_ + ".tmp.";
    while (dirent* e = ::readdir(dir)) {
        if (std::strncmp(e->d_name, prefix.c_str(), prefix.size()) == 0) {
            ::unlinkat(dir_fd_, e->d_name, 0);
        }
    }
    ::closedir(dir);
}

Result<void> AtomicFileWriter::write(std::string_view data, FileWriteDoneFn done, void* ctx) {
    EM_ASSERT(loop_ != nullptr);
    if (busy()) return fail(Errc::busy, "a write of this file is already in flight");
    if (data.size() > data_.bytes_max()) {
        return failf(Errc::too_large, "%zu bytes exceed the file's limit of %zu", data.size(),
                     data_.bytes_max());
    }
    data_.clear();
    data_.append(data);
    done_ = done;
    done_ctx_ = ctx;
    written_ = 0;
    std::snprintf(temp_name_, sizeof temp_name_, ".%s.tmp.%016llx%llu", name_.c_str(),
                  static_cast<unsigned long long>(temp_salt_),
                  static_cast<unsigned long long>(temp_counter_++));
    begin(Step::open_temp);
    return {};
}

namespace {

FileStep writer_file_step(int step) {
    // Step::open_temp .. Step::fsync_dir map onto FileStep::open_temp .. FileStep::fsync_dir.
    return static_cast<FileStep>(step - 1);
}

}  // namespace

void AtomicFileWriter::begin(Step step) {
    step_ = step;
    uint32_t delay_ms = 0;
    injected_ = 0;
    if (faults_.before) {
        injected_ =
            faults_.before(faults_.ctx, writer_file_step(static_cast<int>(step)), &delay_ms);
        if (injected_ > 0) injected_ = -injected_;
    }
    if (injected_ < 0 || delay_ms > 0 || step == Step::open_temp) {
        // Later (never call back from inside write()); an injected error fails the step then.
        loop_->timer_start(&delay_, loop_->now_ns() + ms_to_ns(delay_ms));
        return;
    }
    issue();
}

void AtomicFileWriter::on_delay(Timer* t) {
    auto* self = static_cast<AtomicFileWriter*>(t->owner);
    if (self->injected_ < 0) {
        self->advance(self->injected_);
        return;
    }
    self->issue();
}

void AtomicFileWriter::issue() {
    switch (step_) {
        case Step::open_temp:
            loop_->openat(&c_, dir_fd_, temp_name_, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
            break;
        case Step::write:
            loop_->write(&c_, fd_, data_.data() + written_, data_.size() - written_, written_);
            break;
        case Step::fsync_file:
            loop_->fsync(&c_, fd_);
            break;
        case Step::close:
            loop_->close(&c_, fd_);
            break;
        case Step::rename:
            loop_->renameat(&c_, dir_fd_, temp_name_, dir_fd_, name_.c_str());
            break;
        case Step::fsync_dir:
            loop_->fsync(&c_, dir_fd_);
            break;
        case Step::idle:
            EM_ASSERT(false);
    }
}

void AtomicFileWriter::on_complete(Completion* c, int32_t result, uint32_t) {
    static_cast<AtomicFileWriter*>(c->owner)->advance(result);
}

void AtomicFileWriter::advance(int32_t result) {
    if (result < 0) {
        finish(result);
        return;
    }
    switch (step_) {
        case Step::open_temp:
            fd_ = result;
            begin(Step::write);
            return;
        case Step::write:
            if (result == 0) {
                finish(-EIO);  // a regular file write of >0 bytes that wrote nothing
                return;
            }
            written_ += static_cast<size_t>(result);
            begin(written_ < data_.size() ? Step::write : Step::fsync_file);
            return;
        case Step::fsync_file:
            begin(Step::close);
            return;
        case Step::close:
            fd_ = -1;
            begin(Step::rename);
            return;
        case Step::rename:
            begin(Step::fsync_dir);
            return;
        case Step::fsync_dir:
            finish(0);
            return;
        case Step::idle:
            EM_ASSERT(false);
    }
}

void AtomicFileWriter::finish(int32_t error_result) {
    Step failed_step = step_;
    step_ = Step::idle;
    if (error_result == 0) {
        writes_ok_++;
        done_(done_ctx_, nullptr);
        return;
    }
    // Error path only: blocking close/unlink so the target stays untouched and no temp remains.
    if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
    }
    if (failed_step <= Step::rename) ::unlinkat(dir_fd_, temp_name_, 0);
    writes_failed_++;
    const char* what = file_step_name(writer_file_step(static_cast<int>(failed_step)));
    Error error = Error::sys(-error_result, std::string(what) + " " + name_);
    done_(done_ctx_, &error);
}

// ---------------------------------------------------------------------------------------------
// FileReader

FileReader::~FileReader() {
    EM_ASSERT(!busy());
}

Result<void> FileReader::open(Loop& loop, std::string_view path, size_t bytes_max) {
    EM_ASSERT(!busy());
    loop_ = &loop;
    path_ = std::string(path);
    bytes_max_ = bytes_max;
    data_ = ByteBuffer(bytes_max + 1, bytes_max + 1);
    c_.fn = on_complete;
    c_.owner = this;
    delay_.fn = on_delay;
    delay_.owner = this;
    return {};
}

Result<void> FileReader::read(FileReadDoneFn done, void* ctx) {
    EM_ASSERT(loop_ != nullptr);
    if (busy()) return fail(Errc::busy, "a read of this file is already in flight");
    done_ = done;
    done_ctx_ = ctx;
    data_.clear();
    begin(Step::open);
    return {};
}

void FileReader::begin(Step step) {
    step_ = step;
    uint32_t delay_ms = 0;
    injected_ = 0;
    if (faults_.before && step != Step::close) {
        FileStep fs = step == Step::open ? FileStep::open_read : FileStep::read;
        injected_ = faults_.before(faults_.ctx, fs, &delay_ms);
        if (injected_ > 0) injected_ = -injected_;
    }
    if (injected_ < 0 || delay_ms > 0 || step == Step::open) {
        loop_->timer_start(&delay_, loop_->now_ns() + ms_to_ns(delay_ms));
        return;
    }
    issue();
}

void FileReader::on_delay(Timer* t) {
    auto* self = static_cast<FileReader*>(t->owner);
    if (self->injected_ < 0) {
        self->advance(self->injected_);
        return;
    }
    self->issue();
}

void FileReader::issue() {
    switch (step_) {
        case Step::open:
            loop_->openat(&c_, AT_FDCWD, path_.c_str(), O_RDONLY | O_CLOEXEC, 0);
            break;
        case Step::read: {
            size_t room = data_.bytes_max() - data_.size();
            char* p = data_.prepare(room);
            EM_ASSERT(p != nullptr);
            loop_->read(&c_, fd_, p, room, data_.size());
            break;
        }
        case Step::close:
            loop_->close(&c_, fd_);
            break;
        case Step::idle:
            EM_ASSERT(false);
    }
}

void FileReader::on_complete(Completion* c, int32_t result, uint32_t) {
    static_cast<FileReader*>(c->owner)->advance(result);
}

void FileReader::advance(int32_t result) {
    if (result < 0 && step_ != Step::close) {
        Error error =
            result == -ENOENT
                ? Error(Errc::not_found, "no such file")
                : Error::sys(-result, file_step_name(step_ == Step::open ? FileStep::open_read
                                                                         : FileStep::read));
        if (fd_ >= 0) {
            ::close(fd_);  // error path only
            fd_ = -1;
        }
        finish(&error);
        return;
    }
    switch (step_) {
        case Step::open:
            fd_ = result;
            begin(Step::read);
            return;
        case Step::read:
            data_.commit(static_cast<size_t>(result));
            if (result > 0 && data_.size() < data_.bytes_max()) {
                begin(Step::read);
                return;
            }
            begin(Step::close);
            return;
        case Step::close: {
            fd_ = -1;
            if (data_.size() > bytes_max_) {
                Error error =
                    Error::fmt(Errc::too_large, "file is larger than %zu bytes", bytes_max_);
                finish(&error);
                return;
            }
            finish(nullptr);
            return;
        }
        case Step::idle:
            EM_ASSERT(false);
    }
}

void FileReader::finish(const Error* error) {
    step_ = Step::idle;
    done_(done_ctx_, error ? std::string_view() : data_.view(), error);
}

}  // namespace em::io
