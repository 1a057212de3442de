// io::FileWatch on a real directory: a file written whole (closed after a write, or renamed into
// place) is told, other names are not, and cancel() ends the watch.
#include "io/file_watch.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "base/clock.h"

namespace em::io {
namespace {

std::unique_ptr<Loop> make_loop() {
    LoopConfig config;
    config.name = "test";
    auto loop = Loop::create(config);
    EXPECT_TRUE(loop) << (loop ? "" : loop.error().c_str());
    return std::move(*loop);
}

template <typename Pred>
bool run_until(Loop& loop, Pred pred, uint64_t timeout_ms) {
    uint64_t deadline = mono_ns() + timeout_ms * 1'000'000ull;
    while (!pred()) {
        if (mono_ns() > deadline) return false;
        loop.run_once(2'000'000);
    }
    return true;
}

void write_file(const std::string& path, const std::string& text) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ASSERT_GE(fd, 0) << path;
    ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
    ::close(fd);
}

struct Dir {
    std::string path;
    Dir() {
        char tmpl[] = "/tmp/em-watch-XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~Dir() { (void)std::system(("rm -rf " + path).c_str()); }
};

TEST(FileWatch, TellsWholeWritesOfItsFileOnly) {
    auto loop = make_loop();
    Dir dir;
    std::string file = dir.path + "/state.json";
    int told = 0;
    FileWatch watch;
    ASSERT_TRUE(watch.open(
        *loop, file, [](void* ctx) { ++*static_cast<int*>(ctx); }, &told));
    watch.arm();
    EXPECT_EQ(told, 0) << "never from inside arm()";

    write_file(file, "{}");  // closed after a write
    ASSERT_TRUE(run_until(
        *loop, [&] { return told == 1; }, 2000));

    write_file(dir.path + "/state.json.tmp", "{\"x\":1}");  // another name: not told
    ASSERT_EQ(::rename((dir.path + "/state.json.tmp").c_str(), file.c_str()), 0);  // renamed in
    ASSERT_TRUE(run_until(
        *loop, [&] { return told >= 2; }, 2000));
    int after_rename = told;

    write_file(dir.path + "/other.json", "{}");
    run_until(
        *loop, [] { return false; }, 100);
    EXPECT_EQ(told, after_rename) << "a file of another name is not this watch's business";

    watch.cancel();
    ASSERT_TRUE(run_until(
        *loop, [&] { return !watch.armed(); }, 2000));
    write_file(file, "{}");
    run_until(
        *loop, [] { return false; }, 100);
    EXPECT_EQ(told, after_rename) << "nothing after cancel()";

    watch.arm();  // and again
    write_file(file, "{}");
    ASSERT_TRUE(run_until(
        *loop, [&] { return told == after_rename + 1; }, 2000));
    watch.cancel();
    ASSERT_TRUE(run_until(
        *loop, [&] { return !watch.armed(); }, 2000));
}

TEST(FileWatch, AMissingDirectoryIsAnErrorNamingIt) {
    auto loop = make_loop();
    FileWatch watch;
    auto r = watch.open(
        *loop, "/nonexistent-em-dir/state.json", [](void*) {}, nullptr);
    ASSERT_FALSE(r);
    EXPECT_NE(std::string(r.error().c_str()).find("/nonexistent-em-dir"), std::string::npos)
        << r.error().c_str();
}

}  // namespace
}  // namespace em::io
