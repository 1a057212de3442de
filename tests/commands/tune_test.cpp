// Tests for `enginemux tune` (src/commands/tune.cpp): profile parsing, value comparison, --check
// against a fake /proc/sys tree, --apply into a temporary sysctl.d directory, root refusal.
#include "commands/tune.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace em::tune {
namespace {

namespace fs = std::filesystem;

/// A fresh directory under $TMPDIR (or /tmp), removed with everything in it at the end.
class TempDir {
  public:
    TempDir() {
        const char* base = std::getenv("TMPDIR");
        std::string templ = std::string(base && *base ? base : "/tmp") + "/em-tune-XXXXXX";
        EXPECT_NE(::mkdtemp(templ.data()), nullptr);
        path_ = templ;
    }
    ~TempDir() { fs::remove_all(path_); }
    const std::string& path() const { return path_; }
    std::string operator/(const std::string& rel) const { return path_ + "/" + rel; }

  private:
    std::string path_;
};

void write_text(const std::string& path, const std::string& text) {
    fs::create_directories(fs::path(path).parent_path());
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f << text;
    ASSERT_TRUE(f.good()) << path;
}

std::string read_text(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

/// A FILE* that collects everything written to it.
class Capture {
  public:
    Capture() : file_(::open_memstream(&buf_, &len_)) {}
    ~Capture() {
        std::fclose(file_);
        std::free(buf_);
    }
    FILE* file() { return file_; }
    std::string text() {
        std::fflush(file_);
        return std::string(buf_, len_);
    }

  private:
    char* buf_ = nullptr;
    size_t len_ = 0;
    FILE* file_;
};

/// The table line of --check output that starts with key.
std::string row_of(const std::string& output, const std::string& key) {
    std::istringstream in(output);
    for (std::string line; std::getline(in, line);) {
        if (line.rfind(key + " ", 0) == 0) return line;
    }
    return "";
}

/// Whitespace-separated words of a line.
std::vector<std::string> words(const std::string& line) {
    std::istringstream in(line);
    std::vector<std::string> out;
    for (std::string w; in >> w;) out.push_back(w);
    return out;
}

// ---- parsing -----------------------------------------------------------------------------------

TEST(TuneParse, GoodProfile) {
    const char* text =
        "# header comment, not attached to anything\n"
        "\n"
        "# [min] accept queue\n"
        "net.core.somaxconn = 4096\n"
        "; plain why\n"
        "-kernel.io_uring_disabled = 0\n"
        "# [max] fin timeout\n"
        "  net.ipv4.tcp_fin_timeout   =   15  \n"
        "net.ipv4.tcp_rmem = 4096\t131072   6291456\n"
        "# detached comment\n"
        "\n"
        "net.core.default_qdisc = fq";  // no final newline
    Result<Profile> p = parse_profile(text);
    ASSERT_TRUE(p) << p.error().c_str();
    ASSERT_EQ(p->entries.size(), 5u);
    const Entry& a = p->entries[0];
    EXPECT_EQ(a.key, "net.core.somaxconn");
    EXPECT_EQ(a.value, "4096");
    EXPECT_EQ(a.compare, Compare::at_least);
    EXPECT_EQ(a.why, "accept queue");
    EXPECT_FALSE(a.optional);
    EXPECT_EQ(a.line, 4u);
    const Entry& b = p->entries[1];
    EXPECT_EQ(b.key, "kernel.io_uring_disabled");
    EXPECT_TRUE(b.optional);
    EXPECT_EQ(b.compare, Compare::exact);
    EXPECT_EQ(b.why, "plain why");
    EXPECT_EQ(p->entries[2].compare, Compare::at_most);
    EXPECT_EQ(p->entries[2].value, "15");
    EXPECT_EQ(p->entries[3].value, "4096 131072 6291456");
    EXPECT_EQ(p->entries[3].why, "");  // the line above is a key, not a comment
    EXPECT_EQ(p->entries[4].why, "");  // a blank line separates the comment
    EXPECT_EQ(p->entries[4].line, 12u);
}

TEST(TuneParse, EmptyProfileIsValid) {
    Result<Profile> p = parse_profile("# nothing yet\n\n");
    ASSERT_TRUE(p);
    EXPECT_TRUE(p->entries.empty());
}

struct BadCase {
    std::string text;
    std::string message_start;  // "LINE: ..." prefix the error must start with
};

TEST(TuneParse, BadLinesNameTheirLine) {
    std::vector<BadCase> cases = {
        {"net.core.somaxconn 4096\n", "1: expected 'key = value'"},
        {"# ok\n\n = 5\n", "3: missing key"},
        {"a.b =\n", "1: key a.b has no value"},
        {"a.b =   \n", "1: key a.b has no value"},
        {"net/core/somaxconn = 1\n", "1: key net/core/somaxconn: write it with dots"},
        {"net.core.some*thing = 1\n", "1: key net.core.some*thing: character '*'"},
        {"somaxconn = 1\n", "1: key somaxconn: expected dotted parts"},
        {"net..core = 1\n", "1: key net..core: expected dotted parts"},
        {".net.core = 1\n", "1: key .net.core: expected dotted parts"},
        {"a.b = 1 # why\n", "1: key a.b: '#' in the value"},
        {"a.b = 1\nx.y = 2\n-a.b = 3\n", "3: key a.b repeats line 1"},
        {"\n# [mni] typo\na.b = 1\n", "2: unknown tag"},
        {"# [min] x\nnet.core.default_qdisc = fq\n",
         "2: key net.core.default_qdisc: [min]/[max] need integer"},
        {"# [max] x\na.b = 1 two\n", "2: key a.b: [min]/[max] need integer"},
        {"a.b = 1\r\n", "1: control character 0x0d"},
        {"a.b = 1\n\x01\n", "2: control character 0x01"},
        {"a.b = " + std::string(5000, '1') + "\n", "1: line longer than 4096 bytes"},
        {"a." + std::string(300, 'k') + " = 1\n", "1: key longer than 256 bytes"},
    };
    for (const BadCase& c : cases) {
        Result<Profile> p = parse_profile(c.text);
        ASSERT_FALSE(p) << c.text;
        EXPECT_EQ(std::string(p.error().message()).rfind(c.message_start, 0), 0u)
            << "got: " << p.error().c_str() << "\nwant prefix: " << c.message_start;
    }
}

TEST(TuneParse, LimitsOnSettingsAndSize) {
    std::string many;
    for (size_t i = 0; i <= entries_max; ++i) many += "a.k" + std::to_string(i) + " = 1\n";
    Result<Profile> p = parse_profile(many);
    ASSERT_FALSE(p);
    EXPECT_EQ(p.error().code(), Errc::too_large);
    EXPECT_EQ(std::string(p.error().message()).rfind("257: more than 256 settings", 0), 0u)
        << p.error().c_str();

    std::string huge(profile_bytes_max + 1, '#');
    Result<Profile> q = parse_profile(huge);
    ASSERT_FALSE(q);
    EXPECT_EQ(q.error().code(), Errc::too_large);
}

/// The shipped profiles parse, document every line and cover the knobs issue 5 asks for.
TEST(TuneParse, ShippedProfiles) {
    const char* root = std::getenv("EM_SOURCE_ROOT");
    if (!root || !*root) GTEST_SKIP() << "EM_SOURCE_ROOT not set";
    const std::vector<std::string> required = {
        "net.core.somaxconn",
        "net.ipv4.tcp_max_syn_backlog",
        "net.core.netdev_max_backlog",
        "net.core.busy_poll",
        "net.core.busy_read",
        "net.core.rmem_max",
        "net.core.wmem_max",
        "net.ipv4.tcp_rmem",
        "net.ipv4.tcp_wmem",
        "net.ipv4.tcp_fastopen",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.tcp_tw_reuse",
        "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_slow_start_after_idle",
        "fs.file-max",
        "fs.nr_open",
        "kernel.io_uring_disabled",
        "kernel.io_uring_group",
    };
    for (const char* name : {"latency", "throughput"}) {
        std::string path = std::string(root) + "/kernel-tuning/" + name + ".conf";
        std::string text = read_text(path);
        ASSERT_FALSE(text.empty()) << path;
        Result<Profile> p = parse_profile(text);
        ASSERT_TRUE(p) << path << ":" << p.error().c_str();
        for (const Entry& e : p->entries) EXPECT_FALSE(e.why.empty()) << path << ":" << e.line;
        for (const std::string& key : required) {
            auto it = std::find_if(p->entries.begin(), p->entries.end(),
                                   [&](const Entry& e) { return e.key == key; });
            EXPECT_NE(it, p->entries.end()) << name << " lacks " << key;
            if (it == p->entries.end()) continue;
            if (key == "kernel.io_uring_disabled") {
                EXPECT_EQ(it->value, "0");
                EXPECT_EQ(it->compare, Compare::exact);
                EXPECT_TRUE(it->optional);  // kernels before 6.6 lack it
            }
            if (key == "net.core.busy_poll") {
                EXPECT_EQ(it->value == "0", std::string(name) == "throughput") << name;
            }
        }
    }
}

// ---- comparison --------------------------------------------------------------------------------

TEST(TuneCompare, Exact) {
    EXPECT_TRUE(value_satisfies("4096", "4096", Compare::exact));
    EXPECT_FALSE(value_satisfies("4095", "4096", Compare::exact));
    EXPECT_FALSE(value_satisfies("8192", "4096", Compare::exact));
    EXPECT_TRUE(value_satisfies("-1", "-1", Compare::exact));
    EXPECT_TRUE(value_satisfies("fq", "fq", Compare::exact));
    EXPECT_FALSE(value_satisfies("fq_codel", "fq", Compare::exact));
    EXPECT_FALSE(value_satisfies("", "0", Compare::exact));
}

TEST(TuneCompare, MultiFieldFieldByField) {
    EXPECT_TRUE(value_satisfies("4096\t131072\t6291456\n", "4096 131072 6291456", Compare::exact));
    EXPECT_FALSE(value_satisfies("4096 87380 6291456", "4096 131072 6291456", Compare::exact));
    EXPECT_FALSE(value_satisfies("4096 131072", "4096 131072 6291456", Compare::exact));
    EXPECT_FALSE(value_satisfies("4096 131072 6291456 1", "4096 131072 6291456", Compare::exact));
    EXPECT_TRUE(value_satisfies("32768 60999", "32768 60999", Compare::exact));
    EXPECT_FALSE(value_satisfies("32768 60999", "10240 65535", Compare::exact));
}

TEST(TuneCompare, AtLeastAndAtMost) {
    EXPECT_TRUE(value_satisfies("8192", "4096", Compare::at_least));
    EXPECT_TRUE(value_satisfies("4096", "4096", Compare::at_least));
    EXPECT_FALSE(value_satisfies("1024", "4096", Compare::at_least));
    EXPECT_TRUE(value_satisfies("9223372036854775807", "2097152", Compare::at_least));
    EXPECT_TRUE(value_satisfies("18446744073709551615", "4294967295", Compare::at_least));
    EXPECT_FALSE(value_satisfies("-1", "0", Compare::at_least));
    EXPECT_TRUE(value_satisfies("4096 131072 33554432", "4096 131072 16777216", Compare::at_least));
    EXPECT_FALSE(value_satisfies("4096 87380 33554432", "4096 131072 16777216", Compare::at_least));
    EXPECT_TRUE(value_satisfies("10", "15", Compare::at_most));
    EXPECT_FALSE(value_satisfies("60", "15", Compare::at_most));
    EXPECT_TRUE(value_satisfies("4294967295", "4294967295", Compare::at_most));
}

TEST(TuneCompare, ValueToApplyNeverMakesThingsWorse) {
    // [min]: keep fields already higher, raise the others.
    EXPECT_EQ(value_to_apply("4096 87380 33554432", "4096 131072 16777216", Compare::at_least),
              "4096 131072 33554432");
    EXPECT_EQ(value_to_apply("65535", "4096", Compare::at_least), "65535");
    EXPECT_EQ(value_to_apply("1024", "4096", Compare::at_least), "4096");
    // [max]: keep fields already lower.
    EXPECT_EQ(value_to_apply("10", "15", Compare::at_most), "10");
    EXPECT_EQ(value_to_apply("60", "15", Compare::at_most), "15");
    // exact, or a field count that does not match: the recommended value.
    EXPECT_EQ(value_to_apply("1", "0", Compare::exact), "0");
    EXPECT_EQ(value_to_apply("1 2", "3  4   5", Compare::at_least), "3 4 5");
}

// ---- reading /proc/sys and writing files -------------------------------------------------------

TEST(TuneRead, ReadsNormalisesAndClassifies) {
    TempDir proc;
    write_text(proc / "net/ipv4/tcp_rmem", "4096\t131072\t6291456\n");
    Reading r = read_sysctl(proc.path(), "net.ipv4.tcp_rmem");
    EXPECT_EQ(r.status, Status::ok);
    EXPECT_EQ(r.value, "4096 131072 6291456");

    Reading missing = read_sysctl(proc.path(), "kernel.io_uring_group");
    EXPECT_EQ(missing.status, Status::missing);
    Reading under_file = read_sysctl(proc.path(), "net.ipv4.tcp_rmem.x");  // ENOTDIR
    EXPECT_EQ(under_file.status, Status::missing);

    fs::create_directories(proc / "net/core");
    Reading dir = read_sysctl(proc.path(), "net.core");
    EXPECT_EQ(dir.status, Status::unreadable);
    EXPECT_EQ(dir.error_number, EISDIR);

    write_text(proc / "net/core/big", std::string(proc_value_bytes_max + 1, '7'));
    Reading big = read_sysctl(proc.path(), "net.core.big");
    EXPECT_EQ(big.status, Status::unreadable);
}

TEST(TuneWrite, AtomicWriteCreatesAndReplaces) {
    TempDir dir;
    ASSERT_TRUE(write_file_atomically(dir.path(), "60-x.conf", "a.b = 1\n"));
    EXPECT_EQ(read_text(dir / "60-x.conf"), "a.b = 1\n");
    struct stat st;
    ASSERT_EQ(::stat((dir / "60-x.conf").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0644u);
    ASSERT_TRUE(write_file_atomically(dir.path(), "60-x.conf", "a.b = 2\n"));
    EXPECT_EQ(read_text(dir / "60-x.conf"), "a.b = 2\n");
    size_t files = 0;
    for (const auto& ent : fs::directory_iterator(dir.path())) {
        EXPECT_EQ(ent.path().filename(), "60-x.conf");  // no temp file left behind
        ++files;
    }
    EXPECT_EQ(files, 1u);

    Result<void> bad = write_file_atomically(dir / "no-such-dir", "60-x.conf", "x");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code(), Errc::io);
    EXPECT_EQ(bad.error().sys_errno(), ENOENT);
}

// ---- tune_main ---------------------------------------------------------------------------------

const char* demo_profile =
    "# demo profile for tests\n"
    "\n"
    "# [min] accept queue\n"
    "net.core.somaxconn = 4096\n"
    "# keep cwnd\n"
    "net.ipv4.tcp_slow_start_after_idle = 0\n"
    "# [min] buffers\n"
    "net.ipv4.tcp_rmem = 4096 131072 16777216\n"
    "# only some kernels\n"
    "-kernel.io_uring_group = -1\n";

/// A profile dir with demo.conf, a fake /proc/sys, an empty sysctl.d and a root euid.
class TuneMain : public ::testing::Test {
  protected:
    void SetUp() override {
        write_text(profiles_ / "demo.conf", demo_profile);
        set("net.core.somaxconn", "8192");
        set("net.ipv4.tcp_slow_start_after_idle", "0");
        set("net.ipv4.tcp_rmem", "4096\t131072\t33554432");
        fs::create_directories(sysctl_d_.path());
        env_.profile_dir = profiles_.path();
        env_.proc_sys_root = proc_.path();
        env_.sysctl_d_dir = sysctl_d_.path();
        env_.euid = 0;
    }
    void set(const std::string& key, const std::string& value) {
        std::string rel = key;
        std::replace(rel.begin(), rel.end(), '.', '/');
        write_text(proc_ / rel, value + "\n");
    }
    std::string get(const std::string& key) { return read_sysctl(proc_.path(), key).value; }
    int run(std::vector<std::string> args) {
        args.insert(args.begin(), "tune");
        std::vector<char*> argv;
        for (std::string& a : args) argv.push_back(a.data());
        return tune_main(static_cast<int>(argv.size()), argv.data(), out_.file(), err_.file(),
                         env_);
    }
    size_t sysctl_d_files() {
        return static_cast<size_t>(
            std::distance(fs::directory_iterator(sysctl_d_.path()), fs::directory_iterator()));
    }

    TempDir profiles_, proc_, sysctl_d_;
    TuneEnv env_;
    Capture out_, err_;
};

TEST_F(TuneMain, CheckAllOk) {
    EXPECT_EQ(run({"--check", "--profile", "demo"}), 0) << err_.text();
    std::string out = out_.text();
    EXPECT_EQ(words(row_of(out, "net.core.somaxconn")),
              (std::vector<std::string>{"net.core.somaxconn", "8192", ">=", "4096", "ok"}));
    EXPECT_EQ(words(row_of(out, "net.ipv4.tcp_rmem")),
              (std::vector<std::string>{"net.ipv4.tcp_rmem", "4096", "131072", "33554432",
                                        ">=", "4096", "131072", "16777216", "ok"}));
    EXPECT_EQ(words(row_of(out, "kernel.io_uring_group")),
              (std::vector<std::string>{"kernel.io_uring_group", "-", "-1", "missing", "on", "this",
                                        "kernel"}));
    EXPECT_NE(out.find("3 ok, 0 differ, 1 missing on this kernel, 0 unreadable"), std::string::npos)
        << out;
    EXPECT_EQ(out.find("to apply"), std::string::npos);
    EXPECT_EQ(err_.text(), "");
}

TEST_F(TuneMain, CheckReportsDifferences) {
    set("net.ipv4.tcp_slow_start_after_idle", "1");
    set("net.core.somaxconn", "128");
    EXPECT_EQ(run({"--check", "--profile=demo"}), 1);
    std::string out = out_.text();
    EXPECT_EQ(words(row_of(out, "net.ipv4.tcp_slow_start_after_idle")).back(), "differs") << out;
    EXPECT_EQ(words(row_of(out, "net.core.somaxconn")).back(), "differs") << out;
    EXPECT_EQ(words(row_of(out, "net.ipv4.tcp_rmem")).back(), "ok") << out;
    EXPECT_NE(out.find("1 ok, 2 differ, 1 missing"), std::string::npos) << out;
    EXPECT_NE(out.find("to apply: sudo enginemux tune --apply demo"), std::string::npos) << out;
}

TEST_F(TuneMain, CheckUnreadableCountsAsNotOk) {
    fs::remove(proc_ / "net/core/somaxconn");
    fs::create_directories(proc_ / "net/core/somaxconn");
    EXPECT_EQ(run({"--check", "--profile", "demo"}), 1);
    EXPECT_NE(row_of(out_.text(), "net.core.somaxconn").find("unreadable"), std::string::npos)
        << out_.text();
}

TEST_F(TuneMain, CheckDefaultsToLatencyProfile) {
    write_text(profiles_ / "latency.conf", "# exact\nnet.ipv4.tcp_slow_start_after_idle = 0\n");
    EXPECT_EQ(run({"--check"}), 0) << err_.text();
    EXPECT_NE(out_.text().find("profile latency"), std::string::npos) << out_.text();
}

TEST_F(TuneMain, ApplyWritesFileAndSetsValues) {
    set("net.core.somaxconn", "1024");
    set("net.ipv4.tcp_slow_start_after_idle", "1");
    set("net.ipv4.tcp_rmem", "4096 87380 33554432");
    EXPECT_EQ(run({"--apply", "demo"}), 0) << err_.text() << out_.text();

    // /proc/sys now satisfies the profile, without lowering the larger tcp_rmem max.
    EXPECT_EQ(get("net.core.somaxconn"), "4096");
    EXPECT_EQ(get("net.ipv4.tcp_slow_start_after_idle"), "0");
    EXPECT_EQ(get("net.ipv4.tcp_rmem"), "4096 131072 33554432");
    EXPECT_FALSE(fs::exists(proc_ / "kernel/io_uring_group"));  // missing keys are not created

    // The installed file is a valid profile with the applied values, and the only file there.
    EXPECT_EQ(sysctl_d_files(), 1u);
    std::string text = read_text(sysctl_d_ / "60-enginemux-demo.conf");
    Result<Profile> installed = parse_profile(text);
    ASSERT_TRUE(installed) << installed.error().c_str() << "\n" << text;
    ASSERT_EQ(installed->entries.size(), 4u);
    EXPECT_EQ(installed->entries[0].value, "4096");
    EXPECT_EQ(installed->entries[0].compare, Compare::at_least);
    EXPECT_EQ(installed->entries[2].value, "4096 131072 33554432");
    EXPECT_TRUE(installed->entries[3].optional);
    EXPECT_NE(text.find("# was: 1024\n"), std::string::npos) << text;

    std::string out = out_.text();
    EXPECT_NE(out.find("set net.core.somaxconn = 4096 (was 1024)"), std::string::npos) << out;
    EXPECT_NE(out.find("skip kernel.io_uring_group: missing on this kernel"), std::string::npos);
    EXPECT_NE(out.find("writing " + proc_.path() + " directly"), std::string::npos) << out;

    // A second --check finds nothing to do.
    Capture again_out, again_err;
    std::string check = "--check", profile = "--profile", demo = "demo", name = "tune";
    char* argv[] = {name.data(), check.data(), profile.data(), demo.data()};
    EXPECT_EQ(tune_main(4, argv, again_out.file(), again_err.file(), env_), 0) << again_out.text();
}

TEST_F(TuneMain, ApplyNeverLowersAtLeastValues) {
    set("net.core.somaxconn", "65535");
    set("net.ipv4.tcp_slow_start_after_idle", "1");
    EXPECT_EQ(run({"--apply", "demo"}), 0) << err_.text();
    EXPECT_EQ(get("net.core.somaxconn"), "65535");
    EXPECT_NE(out_.text().find("keep net.core.somaxconn = 65535 (ok)"), std::string::npos);
    Result<Profile> installed = parse_profile(read_text(sysctl_d_ / "60-enginemux-demo.conf"));
    ASSERT_TRUE(installed);
    EXPECT_EQ(installed->entries[0].value, "65535");  // the boot-time file keeps it too
}

TEST_F(TuneMain, ApplyReplacesAnEarlierFile) {
    write_text(sysctl_d_ / "60-enginemux-demo.conf", "old.key = 1\n");
    EXPECT_EQ(run({"--apply", "demo"}), 0) << err_.text();
    std::string text = read_text(sysctl_d_ / "60-enginemux-demo.conf");
    EXPECT_EQ(text.find("old.key"), std::string::npos);
    EXPECT_NE(text.find("net.core.somaxconn = 8192"), std::string::npos) << text;
    EXPECT_EQ(sysctl_d_files(), 1u);
}

TEST_F(TuneMain, ApplyKeepsOneEnginemuxProfileActive) {
    write_text(sysctl_d_ / "60-enginemux-throughput.conf", "a.b = 1\n");
    write_text(sysctl_d_ / "50-unrelated.conf", "a.b = 1\n");
    EXPECT_EQ(run({"--apply", "demo", "--dry-run"}), 0);
    EXPECT_NE(
        out_.text().find("would remove " + sysctl_d_.path() + "/60-enginemux-throughput.conf"),
        std::string::npos)
        << out_.text();
    EXPECT_TRUE(fs::exists(sysctl_d_ / "60-enginemux-throughput.conf"));

    EXPECT_EQ(run({"--apply", "demo"}), 0) << err_.text();
    EXPECT_FALSE(fs::exists(sysctl_d_ / "60-enginemux-throughput.conf"));
    EXPECT_TRUE(fs::exists(sysctl_d_ / "50-unrelated.conf"));
    EXPECT_TRUE(fs::exists(sysctl_d_ / "60-enginemux-demo.conf"));
    EXPECT_NE(out_.text().find("removed " + sysctl_d_.path() + "/60-enginemux-throughput.conf"),
              std::string::npos);
}

TEST_F(TuneMain, ApplyRefusesWithoutRootBeforeWritingAnything) {
    env_.euid = 1000;
    set("net.ipv4.tcp_slow_start_after_idle", "1");
    EXPECT_EQ(run({"--apply", "demo"}), 2);
    std::string err = err_.text();
    EXPECT_NE(err.find("needs root"), std::string::npos) << err;
    EXPECT_NE(err.find("sudo enginemux tune --apply demo"), std::string::npos) << err;
    EXPECT_EQ(sysctl_d_files(), 0u);
    EXPECT_EQ(get("net.ipv4.tcp_slow_start_after_idle"), "1");
}

TEST_F(TuneMain, DryRunChangesNothingAndNeedsNoRoot) {
    env_.euid = 1000;
    set("net.core.somaxconn", "1024");
    EXPECT_EQ(run({"--apply", "demo", "--dry-run"}), 0) << err_.text();
    std::string out = out_.text();
    EXPECT_NE(out.find("would write " + sysctl_d_.path() + "/60-enginemux-demo.conf"),
              std::string::npos)
        << out;
    EXPECT_NE(out.find("would set net.core.somaxconn = 4096 (now 1024)"), std::string::npos) << out;
    EXPECT_NE(out.find("net.core.somaxconn = 4096\n"), std::string::npos) << out;  // file preview
    EXPECT_EQ(sysctl_d_files(), 0u);
    EXPECT_EQ(get("net.core.somaxconn"), "1024");
}

TEST_F(TuneMain, ApplyReportsKeysItCannotSet) {
    fs::remove(proc_ / "net/ipv4/tcp_slow_start_after_idle");
    fs::create_directories(proc_ / "net/ipv4/tcp_slow_start_after_idle");  // EISDIR on open
    EXPECT_EQ(run({"--apply", "demo"}), 1);
    EXPECT_NE(out_.text().find("FAILED net.ipv4.tcp_slow_start_after_idle"), std::string::npos)
        << out_.text();
    EXPECT_NE(err_.text().find("1 change(s) failed"), std::string::npos) << err_.text();
    EXPECT_EQ(sysctl_d_files(), 1u);  // the file is still installed for the next boot
}

TEST_F(TuneMain, ApplyFailsCleanlyWhenTheDirectoryIsMissing) {
    env_.sysctl_d_dir = sysctl_d_ / "missing";
    set("net.core.somaxconn", "1024");
    EXPECT_EQ(run({"--apply", "demo"}), 2);
    EXPECT_NE(err_.text().find("cannot write"), std::string::npos) << err_.text();
    EXPECT_EQ(get("net.core.somaxconn"), "1024");  // no value set without the file
}

TEST_F(TuneMain, ProfileErrorsNameFileAndLine) {
    write_text(profiles_ / "bad.conf", "# fine\na.b = 1\nthis line is wrong\n");
    EXPECT_EQ(run({"--check", "--profile", "bad"}), 2);
    EXPECT_NE(err_.text().find(profiles_.path() + "/bad.conf:3: expected"), std::string::npos)
        << err_.text();
    EXPECT_EQ(run({"--apply", "bad"}), 2);
    EXPECT_EQ(sysctl_d_files(), 0u);
}

TEST_F(TuneMain, UnknownProfileListsTheAvailableOnes) {
    write_text(profiles_ / "latency.conf", "");
    EXPECT_EQ(run({"--check", "--profile", "nosuch"}), 2);
    EXPECT_NE(err_.text().find("(profiles in " + profiles_.path() + ": demo, latency)"),
              std::string::npos)
        << err_.text();
}

TEST_F(TuneMain, ProfileDirFlagOverridesTheDefault) {
    TempDir other;
    write_text(other / "demo.conf", "# exact\nnet.core.somaxconn = 1\n");
    EXPECT_EQ(run({"--check", "--profile", "demo", "--profile-dir", other.path()}), 1);
    EXPECT_NE(out_.text().find("--apply demo --profile-dir " + other.path()), std::string::npos)
        << out_.text();
}

TEST_F(TuneMain, UsageErrors) {
    struct Case {
        std::vector<std::string> args;
        std::string message;
    };
    std::vector<Case> cases = {
        {{}, "nothing to do"},
        {{"--bogus"}, "unknown argument '--bogus'"},
        {{"--check", "--apply", "demo"}, "exclude each other"},
        {{"--check", "--dry-run"}, "--dry-run goes with --apply"},
        {{"--apply"}, "--apply needs a value"},
        {{"--apply", "demo", "--profile", "demo"}, "--profile goes with --check"},
        {{"--apply", "../etc/passwd"}, "bad profile name"},
        {{"--check=yes"}, "--check takes no value"},
    };
    for (const Case& c : cases) {
        Capture out, err;
        std::vector<std::string> args = c.args;
        args.insert(args.begin(), "tune");
        std::vector<char*> argv;
        for (std::string& a : args) argv.push_back(a.data());
        EXPECT_EQ(
            tune_main(static_cast<int>(argv.size()), argv.data(), out.file(), err.file(), env_), 2);
        EXPECT_NE(err.text().find(c.message), std::string::npos) << err.text();
    }
    EXPECT_EQ(sysctl_d_files(), 0u);
    EXPECT_EQ(run({"--help"}), 0);
    EXPECT_NE(out_.text().find("usage: enginemux tune --check"), std::string::npos);
}

/// The real entry point reads the real /proc/sys with the source tree's profiles and never
/// needs root for --check.
TEST(TuneReal, CheckRunsAgainstThisKernel) {
    std::string dir = default_profile_dir();
    if (!fs::exists(dir + "/latency.conf")) GTEST_SKIP() << "no profiles in " << dir;
    for (const char* profile : {"latency", "throughput"}) {
        Capture out, err;
        std::string a0 = "tune", a1 = "--check", a2 = "--profile", a3 = profile;
        char* argv[] = {a0.data(), a1.data(), a2.data(), a3.data()};
        int rc = em::tune_main(4, argv, out.file(), err.file());
        EXPECT_TRUE(rc == 0 || rc == 1) << rc << err.text();
        EXPECT_NE(row_of(out.text(), "net.core.somaxconn"), "") << out.text();
    }
}

}  // namespace
}  // namespace em::tune
