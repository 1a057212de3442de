// app/runtime_secret.h: a node added at run time may load its secret only from a regular file
// under [admin] secrets_dir, decided after realpath (so `..`, symlinks and look-alike sibling
// directories do not get out), and the errors read the same whether the path exists or not.
#include "app/runtime_secret.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

namespace em::app {
namespace {

TEST(PathIsUnder, ComparesWholeComponents) {
    EXPECT_TRUE(path_is_under("/etc/enginemux/el.hex", "/etc/enginemux"));
    EXPECT_TRUE(path_is_under("/etc/enginemux/a/b.hex", "/etc/enginemux"));
    EXPECT_TRUE(path_is_under("/etc/enginemux", "/etc/enginemux"));
    EXPECT_TRUE(path_is_under("/x", "/"));
    EXPECT_FALSE(path_is_under("/etc/enginemux-evil/el.hex", "/etc/enginemux"));
    EXPECT_FALSE(path_is_under("/etc/enginemuxel.hex", "/etc/enginemux"));
    EXPECT_FALSE(path_is_under("/etc/shadow", "/etc/enginemux"));
    EXPECT_FALSE(path_is_under("/etc", "/etc/enginemux"));
    EXPECT_FALSE(path_is_under("etc/enginemux/el.hex", "etc/enginemux"));  // not absolute
    EXPECT_FALSE(path_is_under("/etc/enginemux/el.hex", ""));
}

class RuntimeSecret : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/em-secrets-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        root = tmpl;
        dir = root + "/secrets";
        ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
        ASSERT_EQ(mkdir((root + "/secrets-evil").c_str(), 0700), 0);
        write(dir + "/el.hex");
        write(root + "/cl.hex");
        write(root + "/secrets-evil/el.hex");
        ASSERT_EQ(symlink((root + "/cl.hex").c_str(), (dir + "/out.hex").c_str()), 0);
        ASSERT_EQ(symlink("el.hex", (dir + "/in.hex").c_str()), 0);
        ASSERT_EQ(mkdir((dir + "/sub").c_str(), 0700), 0);
    }
    void TearDown() override {
        std::string cmd = "rm -rf '" + root + "'";
        ASSERT_EQ(std::system(cmd.c_str()), 0);
    }
    static void write(const std::string& path) {
        std::ofstream(path) << std::string(64, 'a') << "\n";
    }
    std::string root, dir;
};

TEST_F(RuntimeSecret, AFileInsideIsResolved) {
    auto direct = resolve_runtime_secret(dir + "/el.hex", dir);
    ASSERT_TRUE(direct) << direct.error().c_str();
    EXPECT_EQ(*direct, dir + "/el.hex");
    auto via_link = resolve_runtime_secret(dir + "/in.hex", dir);  // a symlink that stays inside
    ASSERT_TRUE(via_link) << via_link.error().c_str();
    EXPECT_EQ(*via_link, dir + "/el.hex");  // the file that will be read is the file checked
    auto dotted = resolve_runtime_secret(dir + "/sub/../el.hex", dir);
    ASSERT_TRUE(dotted) << dotted.error().c_str();
    EXPECT_EQ(*dotted, dir + "/el.hex");
    auto dir_with_slash = resolve_runtime_secret(dir + "/el.hex", dir + "/");
    EXPECT_TRUE(dir_with_slash);
}

TEST_F(RuntimeSecret, EverythingElseIsRefusedWithTheSameWords) {
    for (const std::string& path :
         {root + "/cl.hex", dir + "/../cl.hex", dir + "/out.hex", root + "/secrets-evil/el.hex",
          dir + "/missing.hex", dir + "/sub", dir, std::string("/etc/shadow"),
          std::string("/dev/zero"), std::string("secrets/el.hex")}) {
        auto r = resolve_runtime_secret(path, dir);
        ASSERT_FALSE(r) << path;
        EXPECT_EQ(r.error().code(), Errc::invalid_input);
        std::string words =
            "#jwt-secret must name a file under [admin] secrets_dir " + dir + ", not " + path;
        EXPECT_EQ(r.error().message(), words.substr(0, Error::message_bytes_max));
    }
}

TEST_F(RuntimeSecret, AMissingSecretsDirNamesTheSetting) {
    auto r = resolve_runtime_secret(dir + "/el.hex", root + "/nope");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("[admin] secrets_dir " + root + "/nope"),
              std::string_view::npos)
        << r.error().c_str();
}

}  // namespace
}  // namespace em::app
