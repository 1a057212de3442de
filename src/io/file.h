// Durable file operations on an io::Loop: an atomic, durable whole-file writer (the validator
// guard's priv_validator_state.json and its own epoch record) and a whole-file reader.
//
// AtomicFileWriter follows the only sequence that survives power loss on Linux file systems:
// open a temp file in the same directory (O_CREAT|O_EXCL, mode 0600) -> write all -> fsync ->
// close -> rename over the target -> fsync the directory. A reader therefore sees either the old
// or the new content, never a torn file, and after the callback reports success the new content
// survives a crash. Any error (ENOSPC included) is reported with the step that failed; the temp
// file is then removed (a blocking unlinkat on the error path only) and the target is untouched.
//
// Threads: a writer/reader belongs to the loop thread that opened it; every method runs there and
// callbacks arrive there (never from inside write()/read()). Ownership: the object owns its copy
// of the data, its directory fd and the Completion/Timer of the operation in flight, so it must
// outlive that operation (busy() is false). Memory: buffers are allocated at open() up to the
// configured bytes_max and reused.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/buffer.h"
#include "base/result.h"
#include "io/loop.h"

namespace em::io {

/// The steps of a write or read, in order (named in errors and used by fault injection).
enum class FileStep : uint8_t {
    open_temp,
    write,
    fsync_file,
    close,
    rename,
    fsync_dir,
    open_read,
    read
};

/// "open", "write", "fsync", ... for messages.
const char* file_step_name(FileStep step);

/// Fault injection for tests (slow disk, ENOSPC, EIO): called before each step. Return 0 to run
/// the step, or a negative errno to fail it with that error; set *delay_ms to run it later.
struct FileFaults {
    int (*before)(void* ctx, FileStep step, uint32_t* delay_ms) = nullptr;
    void* ctx = nullptr;
};

/// Called on the loop thread when a write is durable (error == nullptr) or failed.
using FileWriteDoneFn = void (*)(void* ctx, const Error* error);
/// Called on the loop thread with the whole file (valid during the call; 64 readable padding
/// bytes follow it) or an error (Errc::not_found when the file does not exist).
using FileReadDoneFn = void (*)(void* ctx, std::string_view data, const Error* error);

class AtomicFileWriter {
  public:
    AtomicFileWriter() = default;
    ~AtomicFileWriter();
    AtomicFileWriter(const AtomicFileWriter&) = delete;
    AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

    /// Start-up (blocking): opens the directory of `path`, removes temp files that an earlier
    /// crash left behind, and allocates a buffer of bytes_max. Errors name the path.
    Result<void> open(Loop& loop, std::string_view path, size_t bytes_max);
    /// Starts an atomic durable replacement of the file with `data` (copied). One write at a
    /// time: Errc::busy while one is in flight, Errc::too_large over bytes_max.
    Result<void> write(std::string_view data, FileWriteDoneFn done, void* ctx);
    /// True while a write is in flight.
    bool busy() const { return step_ != Step::idle; }
    /// Installs a fault-injection hook (tests); a default FileFaults removes it.
    void set_faults(const FileFaults& faults) { faults_ = faults; }
    /// The target path.
    const std::string& path() const { return path_; }
    /// Writes that completed / failed since open().
    uint64_t writes_ok() const { return writes_ok_; }
    uint64_t writes_failed() const { return writes_failed_; }

  private:
    enum class Step : uint8_t { idle, open_temp, write, fsync_file, close, rename, fsync_dir };
    static void on_complete(Completion* c, int32_t result, uint32_t flags);
    static void on_delay(Timer* t);
    void begin(Step step);
    void issue();
    void advance(int32_t result);
    void finish(int32_t error_result);
    void remove_stale_temps();

    Loop* loop_ = nullptr;
    std::string path_;
    std::string dir_;
    std::string name_;
    char temp_name_[96] = {};
    int dir_fd_ = -1;
    int fd_ = -1;
    Step step_ = Step::idle;
    size_t written_ = 0;
    ByteBuffer data_{0, 0};
    FileFaults faults_;
    FileWriteDoneFn done_ = nullptr;
    void* done_ctx_ = nullptr;
    uint64_t temp_counter_ = 0;
    uint64_t temp_salt_ = 0;
    uint64_t writes_ok_ = 0;
    uint64_t writes_failed_ = 0;
    int32_t injected_ = 0;  ///< error a fault hook chose for the step waiting on delay_
    Completion c_{};
    Timer delay_{};
};

class FileReader {
  public:
    FileReader() = default;
    ~FileReader();
    FileReader(const FileReader&) = delete;
    FileReader& operator=(const FileReader&) = delete;

    /// Remembers the path and allocates a buffer for files up to bytes_max (no I/O yet).
    Result<void> open(Loop& loop, std::string_view path, size_t bytes_max);
    /// Reads the whole file; done runs later on the loop thread. Errc::busy while one is in
    /// flight; a file over bytes_max fails with Errc::too_large.
    Result<void> read(FileReadDoneFn done, void* ctx);
    bool busy() const { return step_ != Step::idle; }
    void set_faults(const FileFaults& faults) { faults_ = faults; }
    const std::string& path() const { return path_; }

  private:
    enum class Step : uint8_t { idle, open, read, close };
    static void on_complete(Completion* c, int32_t result, uint32_t flags);
    static void on_delay(Timer* t);
    void begin(Step step);
    void issue();
    void advance(int32_t result);
    void finish(const Error* error);

    Loop* loop_ = nullptr;
    std::string path_;
    size_t bytes_max_ = 0;
    int fd_ = -1;
    Step step_ = Step::idle;
    int32_t injected_ = 0;
    ByteBuffer data_{0, 0};
    FileFaults faults_;
    FileReadDoneFn done_ = nullptr;
    void* done_ctx_ = nullptr;
    Completion c_{};
    Timer delay_{};
};

}  // namespace em::io
