// io::AtomicFileWriter / io::FileReader on a real io_uring loop: durable replacement, mode 0600,
// no temp files left, every failing step (injected) keeps the old content and names the step,
// slow steps, ENOSPC, stale temp files from a crash, and a process killed -9 in the middle of
// writes: the file is always the old or the new content, never torn.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>

#include "base/clock.h"
#include "harness.h"
#include "io/file.h"
#include "validator/json.h"
#include "validator/sign_state.h"

namespace em::io {
namespace {

using validator::test::read_text;
using validator::test::TempDir;
using validator::test::write_text;

std::unique_ptr<Loop> make_loop() {
    LoopConfig config;
    config.name = "file-test";
    config.buffer_count = 16;
    auto loop = Loop::create(config);
    EXPECT_TRUE(loop) << loop.error().c_str();
    return std::move(*loop);
}

struct WriteOutcome {
    bool done = false;
    bool ok = false;
    std::string error;
    static void on_done(void* ctx, const Error* e) {
        auto* self = static_cast<WriteOutcome*>(ctx);
        self->done = true;
        self->ok = e == nullptr;
        if (e) self->error = std::string(e->message());
    }
};

struct ReadOutcome {
    bool done = false;
    std::string data;
    Errc code = Errc::ok;
    static void on_done(void* ctx, std::string_view data, const Error* e) {
        auto* self = static_cast<ReadOutcome*>(ctx);
        self->done = true;
        self->data = std::string(data);
        self->code = e ? e->code() : Errc::ok;
    }
};

template <typename Pred>
bool run_until(Loop& loop, Pred pred, uint64_t timeout_ms = 5000) {
    uint64_t end = mono_ns() + ms_to_ns(timeout_ms);
    while (!pred() && mono_ns() < end) loop.run_once(ms_to_ns(5));
    return pred();
}

int count_temps(const std::string& dir) {
    int n = 0;
    std::string listing;
    DIR* d = opendir(dir.c_str());
    while (dirent* e = readdir(d)) {
        if (std::string(e->d_name).find(".tmp.") != std::string::npos) n++;
    }
    closedir(d);
    return n;
}

struct FileTest : ::testing::Test {
    TempDir tmp;
    std::string path = tmp.path() + "/state.json";
    std::unique_ptr<Loop> loop = make_loop();
    AtomicFileWriter writer;

    void SetUp() override { ASSERT_TRUE(writer.open(*loop, path, 4096)); }

    WriteOutcome write(const std::string& text) {
        WriteOutcome w;
        auto started = writer.write(text, WriteOutcome::on_done, &w);
        EXPECT_TRUE(started);
        EXPECT_FALSE(w.done) << "the callback must not run inside write()";
        EXPECT_TRUE(run_until(*loop, [&] { return w.done; }));
        return w;
    }
};

TEST_F(FileTest, ReplacesTheFileWithMode0600AndLeavesNoTempFile) {
    ASSERT_TRUE(write("first").ok);
    EXPECT_EQ(read_text(path), "first");
    ASSERT_TRUE(write("second, longer").ok);
    EXPECT_EQ(read_text(path), "second, longer");
    struct stat st;
    ASSERT_EQ(stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_EQ(count_temps(tmp.path()), 0);
    EXPECT_EQ(writer.writes_ok(), 2u);
}

TEST_F(FileTest, RefusesOverlappingAndOversizedWrites) {
    WriteOutcome w;
    ASSERT_TRUE(writer.write("a", WriteOutcome::on_done, &w));
    auto second = writer.write("b", WriteOutcome::on_done, &w);
    ASSERT_FALSE(second);
    EXPECT_EQ(second.error().code(), Errc::busy);
    ASSERT_TRUE(run_until(*loop, [&] { return w.done; }));
    auto big = writer.write(std::string(5000, 'x'), WriteOutcome::on_done, &w);
    ASSERT_FALSE(big);
    EXPECT_EQ(big.error().code(), Errc::too_large);
}

struct Injector {
    FileStep step;
    int error;
    uint32_t delay_ms;
    static int before(void* ctx, FileStep step, uint32_t* delay_ms) {
        auto* self = static_cast<Injector*>(ctx);
        if (step != self->step) return 0;
        *delay_ms = self->delay_ms;
        return self->error;
    }
};

TEST_F(FileTest, AFailureAtAnyStepKeepsTheOldContentAndNamesTheStep) {
    const FileStep steps[] = {FileStep::open_temp, FileStep::write, FileStep::fsync_file,
                              FileStep::close, FileStep::rename};
    for (FileStep step : steps) {
        ASSERT_TRUE(write("old").ok);
        Injector inj{step, -EIO, 0};
        writer.set_faults(FileFaults{Injector::before, &inj});
        WriteOutcome w = write("new");
        writer.set_faults(FileFaults{});
        EXPECT_FALSE(w.ok) << file_step_name(step);
        EXPECT_NE(w.error.find(file_step_name(step)), std::string::npos) << w.error;
        EXPECT_NE(w.error.find("Input/output error"), std::string::npos) << w.error;
        EXPECT_EQ(read_text(path), "old") << file_step_name(step);
        EXPECT_EQ(count_temps(tmp.path()), 0) << file_step_name(step);
    }
    // After the rename only the directory fsync can fail: new content, but reported.
    Injector inj{FileStep::fsync_dir, -EIO, 0};
    writer.set_faults(FileFaults{Injector::before, &inj});
    WriteOutcome w = write("newest");
    EXPECT_FALSE(w.ok);
    EXPECT_NE(w.error.find("fsync dir"), std::string::npos) << w.error;
}

TEST_F(FileTest, EnospcIsReportedByName) {
    ASSERT_TRUE(write("old").ok);
    Injector inj{FileStep::write, -ENOSPC, 0};
    writer.set_faults(FileFaults{Injector::before, &inj});
    WriteOutcome w = write("new");
    EXPECT_FALSE(w.ok);
    EXPECT_NE(w.error.find("No space left on device"), std::string::npos) << w.error;
    EXPECT_EQ(read_text(path), "old");
    EXPECT_EQ(writer.writes_failed(), 1u);
}

TEST_F(FileTest, ASlowStepDelaysTheCompletionOnly) {
    Injector inj{FileStep::fsync_file, 0, 80};
    writer.set_faults(FileFaults{Injector::before, &inj});
    uint64_t start = mono_ns();
    ASSERT_TRUE(write("slow").ok);
    EXPECT_GE(mono_ns() - start, ms_to_ns(80));
    EXPECT_EQ(read_text(path), "slow");
}

TEST_F(FileTest, StaleTempFilesFromACrashAreRemovedAtOpen) {
    write_text(tmp.path() + "/.state.json.tmp.deadbeef0", "torn");
    write_text(tmp.path() + "/unrelated.tmp.1", "keep");
    AtomicFileWriter second;
    ASSERT_TRUE(second.open(*loop, path, 4096));
    EXPECT_EQ(count_temps(tmp.path()), 1);  // only the unrelated file is left
}

TEST_F(FileTest, ReaderReportsMissingTooLargeAndContent) {
    FileReader reader;
    ASSERT_TRUE(reader.open(*loop, path, 8));
    ReadOutcome r;
    ASSERT_TRUE(reader.read(ReadOutcome::on_done, &r));
    ASSERT_TRUE(run_until(*loop, [&] { return r.done; }));
    EXPECT_EQ(r.code, Errc::not_found);
    ASSERT_TRUE(write("12345678").ok);
    r = ReadOutcome{};
    ASSERT_TRUE(reader.read(ReadOutcome::on_done, &r));
    ASSERT_TRUE(run_until(*loop, [&] { return r.done; }));
    EXPECT_EQ(r.code, Errc::ok);
    EXPECT_EQ(r.data, "12345678");
    ASSERT_TRUE(write("123456789").ok);
    r = ReadOutcome{};
    ASSERT_TRUE(reader.read(ReadOutcome::on_done, &r));
    ASSERT_TRUE(run_until(*loop, [&] { return r.done; }));
    EXPECT_EQ(r.code, Errc::too_large);
}

/// Child: writes {"height":"N",...} for N = 1, 2, ... as fast as it can until killed.
[[noreturn]] void write_forever(const std::string& path) {
    auto loop = make_loop();
    AtomicFileWriter writer;
    if (!writer.open(*loop, path, 4096)) _exit(2);
    for (int64_t n = 1;; n++) {
        validator::SignState s(validator::Hrs{n, static_cast<int32_t>(n % 7), 3});
        (void)s.set_signbytes(std::string(64 + 2 * static_cast<size_t>(n % 150), 'A'));
        ByteBuffer out(8192, 8192);
        validator::write_sign_state(s, out);
        WriteOutcome w;
        if (!writer.write(out.view(), WriteOutcome::on_done, &w)) _exit(3);
        while (!w.done) loop->run_once(ms_to_ns(5));
        if (!w.ok) _exit(4);
    }
}

TEST_F(FileTest, KilledInTheMiddleOfWritesTheFileIsOldOrNewNeverTorn) {
    validator::JsonParser parser(8192);
    uint64_t seed = mono_ns();
    int64_t last_height = 0;
    int rounds = 60;
    for (int i = 0; i < rounds; i++) {
        pid_t child = fork();
        if (child == 0) write_forever(path);
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        usleep(static_cast<useconds_t>(2'000 + (seed >> 33) % 25'000));
        ::kill(child, SIGKILL);
        int status;
        waitpid(child, &status, 0);
        ASSERT_TRUE(WIFSIGNALED(status)) << "writer child failed with status " << status;
        std::string text = read_text(path);
        if (text.empty()) continue;  // killed before its first rename completed
        auto state = validator::parse_sign_state(text, parser);
        ASSERT_TRUE(state) << "torn file after kill #" << i << ": " << state.error().c_str();
        // Every complete state is self-consistent: round = height % 7, 64 + 2 (height % 150)
        // digits.
        EXPECT_EQ(state->hrs.round, state->hrs.height % 7);
        EXPECT_EQ(state->signbytes_chars, 64 + 2 * (state->hrs.height % 150));
        last_height = state->hrs.height;
    }
    EXPECT_GT(last_height, 0);
}

}  // namespace
}  // namespace em::io
