// A full disk blocks activation: host-b's state directory is a 64 KiB tmpfs filled to the last
// block, so its high-watermark write fails with ENOSPC. The guard must report it and must not
// start the validator; once space is freed it activates normally. Needs root to mount the tmpfs
// (exit 77 otherwise).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "../io/uring_skip.h"
#include "harness.h"

namespace em::validator::test {
namespace {

void fill(const std::string& path) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    char block[4096] = {};
    while (::write(fd, block, sizeof block) > 0) {
    }
    while (::write(fd, block, 1) > 0) {
    }
    ::close(fd);
}

TEST(DiskFull, EnospcBlocksActivationAndIsReported) {
    TempDir tmp;
    std::string sign_log = tmp.path() + "/signs.log";
    int64_t genesis_ms = now_ms() - 10'000;
    HostSpec sa;
    sa.name = "host-a";
    sa.preferred = true;
    sa.peer_name = "host-b";
    HostSpec sb;
    sb.name = "host-b";
    sb.peer_name = "host-a";
    auto a = std::make_unique<Host>(tmp.path(), sa, genesis_ms, sign_log);
    auto b = std::make_unique<Host>(tmp.path(), sb, genesis_ms, sign_log);
    ASSERT_EQ(::mount("tmpfs", b->home().c_str(), "tmpfs", 0, "size=64k,mode=0700"), 0)
        << "mount tmpfs: " << std::strerror(errno);
    write_text(b->state_file(), "{\"height\":\"0\",\"round\":0,\"step\":0}\n", 0600);
    a->spec().peer_address_port = b->peer_port();
    b->spec().peer_address_port = a->peer_port();
    a->start_guard();
    b->start_guard();
    bool a_active = wait_for([&] { return a->is("active"); }, 8000);
    EXPECT_TRUE(a_active) << a->view().raw;
    std::string filler = b->home() + "/filler";
    fill(filler);
    ASSERT_EQ(a->control("POST", "/demote"), 200);
    // B takes the lease but cannot write its high watermark: it reports ENOSPC and stays off.
    EXPECT_TRUE(wait_for(
        [&] { return b->view().last_error.find("No space left on device") != std::string::npos; },
        6000))
        << b->view().raw;
    usleep(1'000'000);
    EXPECT_FALSE(b->is("active"));
    EXPECT_EQ(check_sign_log(sign_log).per_host["host-b"], 0u);
    // Space again: the next attempt succeeds.
    ::unlink(filler.c_str());
    EXPECT_TRUE(wait_for([&] { return b->is("active"); }, 8000)) << b->view().raw;
    SignReport r = check_sign_log(sign_log);
    EXPECT_TRUE(r.double_signs.empty());
    if (HasFailure()) {
        std::fprintf(stderr, "--- host-b guard log ---\n%s\n", b->log_tail().c_str());
    }
    a.reset();
    std::string home = b->home();
    b.reset();
    ::umount2(home.c_str(), MNT_DETACH);
}

}  // namespace
}  // namespace em::validator::test

int main(int argc, char** argv) {
    if (geteuid() != 0) {
        std::fprintf(stderr, "SKIP: mounting a tmpfs needs root\n");
        return 77;
    }
    return em::test::run_io_uring_tests(argc, argv);
}
