// `enginemux tune`: see tune.h for the commands, the profile format and the exit codes.
#include "commands/tune.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>

namespace em::tune {
namespace {

__extension__ using Int128 = __int128;

constexpr std::string_view installed_profile_dir = "/usr/share/enginemux/sysctl";
/// Longest profile name (names are [a-z0-9_-]; they become file names).
constexpr size_t profile_name_bytes_max = 64;

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

/// Whitespace-separated fields of a value.
std::vector<std::string_view> split_fields(std::string_view s) {
    std::vector<std::string_view> fields;
    size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && is_space(s[i])) ++i;
        size_t start = i;
        while (i < s.size() && !is_space(s[i])) ++i;
        if (i > start) fields.push_back(s.substr(start, i - start));
    }
    return fields;
}

std::string join_fields(const std::vector<std::string_view>& fields) {
    std::string out;
    for (std::string_view f : fields) {
        if (!out.empty()) out += ' ';
        out += f;
    }
    return out;
}

/// A decimal integer (optional '-', at most 20 digits, magnitude <= UINT64_MAX), or nullopt.
std::optional<Int128> parse_integer(std::string_view s) {
    bool negative = !s.empty() && s.front() == '-';
    if (negative) s.remove_prefix(1);
    if (s.empty() || s.size() > 20) return std::nullopt;
    Int128 v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + (c - '0');
    }
    if (v > static_cast<Int128>(UINT64_MAX)) return std::nullopt;
    return negative ? -v : v;
}

/// Whether one current field satisfies one recommended field.
bool field_satisfies(std::string_view current, std::string_view recommended, Compare compare) {
    std::optional<Int128> c = parse_integer(current);
    std::optional<Int128> r = parse_integer(recommended);
    if (!c || !r) return current == recommended;
    switch (compare) {
        case Compare::exact:
            return *c == *r;
        case Compare::at_least:
            return *c >= *r;
        case Compare::at_most:
            return *c <= *r;
    }
    return false;
}

/// Checks a key's spelling: dotted name of [A-Za-z0-9_-] parts, no slashes or globs.
Result<void> check_key(std::string_view key) {
    if (key.empty()) return fail(Errc::invalid_input, "missing key before '='");
    if (key.size() > key_bytes_max)
        return failf(Errc::too_large, "key longer than %zu bytes", key_bytes_max);
    for (char c : key) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-' || c == '.';
        if (c == '/')
            return failf(Errc::invalid_input, "key %.*s: write it with dots, not slashes",
                         static_cast<int>(key.size()), key.data());
        if (!ok)
            return failf(Errc::invalid_input, "key %.*s: character '%c' not allowed",
                         static_cast<int>(key.size()), key.data(), c);
    }
    if (key.front() == '.' || key.back() == '.' || key.find("..") != std::string_view::npos ||
        key.find('.') == std::string_view::npos) {
        return failf(Errc::invalid_input, "key %.*s: expected dotted parts like net.core.somaxconn",
                     static_cast<int>(key.size()), key.data());
    }
    return {};
}

/// Tag and text of the comment above a key: "[min] why" -> {at_least, "why"}.
Result<std::pair<Compare, std::string_view>> parse_why(std::string_view comment) {
    if (comment.empty() || comment.front() != '[') return std::pair{Compare::exact, comment};
    size_t close = comment.find(']');
    bool closed = close != std::string_view::npos;
    std::string_view tag = closed ? comment.substr(1, close - 1) : "";
    std::string_view rest = closed ? trim(comment.substr(close + 1)) : "";
    if (tag == "min") return std::pair{Compare::at_least, rest};
    if (tag == "max") return std::pair{Compare::at_most, rest};
    return fail(Errc::invalid_input,
                "unknown tag at the start of the comment (known: [min], [max])");
}

/// Line-by-line profile parser; remembers the comment line directly above the next key.
class Parser {
  public:
    Result<void> line(std::string_view text, uint32_t line_no);
    Profile take() { return std::move(profile_); }

  private:
    Result<void> key_line(std::string_view text, uint32_t line_no);

    Profile profile_;
    std::string_view comment_;  // text of the last comment line, if it is directly above
    uint32_t comment_line_ = 0;
    bool have_comment_ = false;
};

Result<void> Parser::line(std::string_view text, uint32_t line_no) {
    if (text.size() > line_bytes_max)
        return failf(Errc::too_large, "%u: line longer than %zu bytes", line_no, line_bytes_max);
    for (char c : text) {
        auto u = static_cast<unsigned char>(c);
        if ((u < 0x20 && c != '\t') || u == 0x7f)
            return failf(Errc::invalid_input,
                         "%u: control character 0x%02x (a file with CRLF line ends?)", line_no, u);
    }
    std::string_view t = trim(text);
    if (t.empty()) {
        have_comment_ = false;
        return {};
    }
    if (t.front() == '#' || t.front() == ';') {
        comment_ = trim(t.substr(1));
        comment_line_ = line_no;
        have_comment_ = true;
        return {};
    }
    Result<void> r = key_line(t, line_no);
    have_comment_ = false;
    return r;
}

Result<void> Parser::key_line(std::string_view t, uint32_t line_no) {
    size_t eq = t.find('=');
    if (eq == std::string_view::npos)
        return failf(Errc::invalid_input, "%u: expected 'key = value' or a comment", line_no);
    Entry e;
    std::string_view key = trim(t.substr(0, eq));
    std::string_view value = trim(t.substr(eq + 1));
    e.optional = !key.empty() && key.front() == '-';
    if (e.optional) key = trim(key.substr(1));
    if (Result<void> k = check_key(key); !k)
        return Unexpected(std::move(k.error().prefix(std::to_string(line_no))));
    e.key = key;
    e.line = line_no;
    const char* k = e.key.c_str();
    if (value.empty()) return failf(Errc::invalid_input, "%u: key %s has no value", line_no, k);
    if (value.find('#') != std::string_view::npos)
        return failf(Errc::invalid_input,
                     "%u: key %s: '#' in the value (comments go on their own line)", line_no, k);
    for (const Entry& other : profile_.entries) {
        if (other.key == e.key)
            return failf(Errc::invalid_input, "%u: key %s repeats line %u", line_no, k, other.line);
    }
    if (profile_.entries.size() >= entries_max)
        return failf(Errc::too_large, "%u: more than %zu settings", line_no, entries_max);
    if (have_comment_) {
        auto why = parse_why(comment_);
        if (!why) return Unexpected(std::move(why.error().prefix(std::to_string(comment_line_))));
        e.compare = why->first;
        e.why = why->second;
    }
    std::vector<std::string_view> fields = split_fields(value);
    for (std::string_view f : fields) {
        if (e.compare != Compare::exact && !parse_integer(f))
            return failf(Errc::invalid_input, "%u: key %s: [min]/[max] need integer fields",
                         line_no, k);
    }
    e.value = join_fields(fields);
    profile_.entries.push_back(std::move(e));
    return {};
}

}  // namespace

Result<Profile> parse_profile(std::string_view text) {
    if (text.size() > profile_bytes_max)
        return failf(Errc::too_large, "1: profile larger than %zu bytes", profile_bytes_max);
    Parser parser;
    uint32_t line_no = 0;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) end = text.size();
        EM_TRY_VOID(parser.line(text.substr(pos, end - pos), ++line_no));
        pos = end + 1;
    }
    return parser.take();
}

bool value_satisfies(std::string_view current, std::string_view recommended, Compare compare) {
    std::vector<std::string_view> c = split_fields(current);
    std::vector<std::string_view> r = split_fields(recommended);
    if (c.size() != r.size()) return false;
    for (size_t i = 0; i < c.size(); ++i) {
        if (!field_satisfies(c[i], r[i], compare)) return false;
    }
    return true;
}

std::string value_to_apply(std::string_view current, std::string_view recommended,
                           Compare compare) {
    std::vector<std::string_view> c = split_fields(current);
    std::vector<std::string_view> r = split_fields(recommended);
    if (compare == Compare::exact || c.size() != r.size()) return join_fields(r);
    for (size_t i = 0; i < r.size(); ++i) {
        if (parse_integer(c[i]) && field_satisfies(c[i], r[i], compare)) r[i] = c[i];
    }
    return join_fields(r);
}

const char* status_name(Status status) {
    switch (status) {
        case Status::ok:
            return "ok";
        case Status::differs:
            return "differs";
        case Status::missing:
            return "missing on this kernel";
        case Status::unreadable:
            return "unreadable";
    }
    return "?";
}

namespace {

/// Owns a file descriptor.
struct Fd {
    int fd = -1;
    explicit Fd(int f) : fd(f) {}
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
};

std::string sysctl_path(std::string_view root, std::string_view key) {
    std::string path(root);
    path += '/';
    for (char c : key) path += c == '.' ? '/' : c;
    return path;
}

/// Writes all of data to fd (retrying short writes and EINTR).
Result<void> write_all(int fd, std::string_view data, std::string_view what) {
    while (!data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return Unexpected(Error::sys(errno, what));
        data.remove_prefix(static_cast<size_t>(n));
    }
    return {};
}

/// Reads at most bytes_max bytes of a file; more is an Errc::too_large error.
Result<std::string> read_small_file(const std::string& path, size_t bytes_max) {
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.fd < 0) return Unexpected(Error::sys(errno, "open"));
    std::string data;
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(fd.fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return Unexpected(Error::sys(errno, "read"));
        if (n == 0) return data;
        data.append(buf, static_cast<size_t>(n));
        if (data.size() > bytes_max)
            return failf(Errc::too_large, "larger than %zu bytes", bytes_max);
    }
}

}  // namespace

Reading read_sysctl(std::string_view proc_sys_root, std::string_view key) {
    Reading reading;
    Result<std::string> data =
        read_small_file(sysctl_path(proc_sys_root, key), proc_value_bytes_max);
    if (data) {
        reading.status = Status::ok;
        reading.value = join_fields(split_fields(*data));
        return reading;
    }
    int e = data.error().code() == Errc::too_large ? EFBIG : data.error().sys_errno();
    reading.status = (e == ENOENT || e == ENOTDIR) ? Status::missing : Status::unreadable;
    reading.error_number = e;
    return reading;
}

Result<void> write_file_atomically(const std::string& dir, const std::string& name,
                                   std::string_view content) {
    Fd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir_fd.fd < 0) return Unexpected(Error::sys(errno, "open directory"));
    std::string temp = dir + "/." + name + ".tmp-XXXXXX";
    std::string final_path = dir + "/" + name;
    Fd fd(::mkostemp(temp.data(), O_CLOEXEC));
    if (fd.fd < 0) return Unexpected(Error::sys(errno, "create temp file"));
    Result<void> r = write_all(fd.fd, content, "write temp file");
    if (r && ::fsync(fd.fd) != 0) r = Unexpected(Error::sys(errno, "fsync temp file"));
    if (r && ::fchmod(fd.fd, 0644) != 0) r = Unexpected(Error::sys(errno, "chmod temp file"));
    int raw_fd = fd.fd;
    fd.fd = -1;
    if (::close(raw_fd) != 0 && r) r = Unexpected(Error::sys(errno, "close temp file"));
    if (r && ::rename(temp.c_str(), final_path.c_str()) != 0)
        r = Unexpected(Error::sys(errno, "rename"));
    if (!r) {
        ::unlink(temp.c_str());
        return r;
    }
    if (::fsync(dir_fd.fd) != 0) return Unexpected(Error::sys(errno, "fsync directory"));
    return {};
}

std::string default_profile_dir() {
    std::string installed(installed_profile_dir);
    struct stat st;
    if (::stat(installed.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return installed;
#ifdef EM_TUNE_SOURCE_PROFILE_DIR
    return EM_TUNE_SOURCE_PROFILE_DIR;
#else
    return installed;
#endif
}

namespace {

// ---- command line --------------------------------------------------------------------------

enum class Action : uint8_t { none, check, apply, help };

struct Args {
    Action action = Action::none;
    std::string profile = "latency";  // --check default
    bool profile_given = false;
    bool dry_run = false;
    std::string profile_dir;
    bool profile_dir_given = false;
};

constexpr const char* usage_text =
    "usage: enginemux tune --check [--profile latency|throughput] [--profile-dir DIR]\n"
    "       enginemux tune --apply PROFILE [--dry-run] [--profile-dir DIR]\n"
    "\n"
    "  --check          compare /proc/sys with a profile (default latency); no root needed.\n"
    "                   Exit 0: all ok (keys this kernel lacks are only reported);\n"
    "                   1: some differ or cannot be read; 2: usage or profile error.\n"
    "  --apply PROFILE  write /etc/sysctl.d/60-enginemux-PROFILE.conf (removing other\n"
    "                   60-enginemux-*.conf) and set the values that differ in /proc/sys\n"
    "                   (needs root; never lowers a [min] value already higher).\n"
    "                   Exit 0: all set; 1: some changes failed; 2: error.\n"
    "  --dry-run        with --apply: print the file and the changes, change nothing.\n"
    "  --profile-dir DIR  where PROFILE.conf files are (default: %s).\n";

bool valid_profile_name(std::string_view name) {
    if (name.empty() || name.size() > profile_name_bytes_max) return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    });
}

Result<void> set_action(Args& args, Action action) {
    if (args.action != Action::none && args.action != action)
        return fail(Errc::invalid_input, "--check and --apply exclude each other");
    args.action = action;
    return {};
}

/// Checks combinations once every flag is known.
Result<void> validate_args(const Args& args) {
    if (args.action == Action::help) return {};
    if (args.action == Action::none)
        return fail(Errc::invalid_input, "nothing to do: give --check or --apply PROFILE");
    if (args.dry_run && args.action != Action::apply)
        return fail(Errc::invalid_input, "--dry-run goes with --apply");
    if (args.profile_given && args.action == Action::apply)
        return fail(Errc::invalid_input,
                    "--profile goes with --check; --apply takes the profile name itself");
    if (!valid_profile_name(args.profile))
        return failf(Errc::invalid_input,
                     "bad profile name '%.40s' (expected letters a-z, digits, '_' or '-')",
                     args.profile.c_str());
    return {};
}

Result<Args> parse_args(int argc, char** argv, const TuneEnv& env) {
    Args args;
    args.profile_dir = env.profile_dir;
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        std::string_view name = arg;
        std::optional<std::string_view> inline_value;
        if (size_t eq = arg.find('='); arg.starts_with("--") && eq != std::string_view::npos) {
            name = arg.substr(0, eq);
            inline_value = arg.substr(eq + 1);
        }
        auto value = [&]() -> Result<std::string_view> {
            if (inline_value) return *inline_value;
            if (i + 1 >= argc)
                return failf(Errc::invalid_input, "%.*s needs a value",
                             static_cast<int>(name.size()), name.data());
            return std::string_view(argv[++i]);
        };
        bool takes_value = name == "--apply" || name == "--profile" || name == "--profile-dir";
        if (inline_value && !takes_value)
            return failf(Errc::invalid_input, "%.*s takes no value", static_cast<int>(name.size()),
                         name.data());
        if (name == "--check") {
            EM_TRY_VOID(set_action(args, Action::check));
        } else if (name == "--apply") {
            EM_TRY_VOID(set_action(args, Action::apply));
            args.profile = EM_TRY(value());
        } else if (name == "--profile") {
            args.profile = EM_TRY(value());
            args.profile_given = true;
        } else if (name == "--profile-dir") {
            args.profile_dir = EM_TRY(value());
            args.profile_dir_given = true;
        } else if (name == "--dry-run") {
            args.dry_run = true;
        } else if (name == "--help" || name == "-h") {
            args.action = Action::help;
        } else {
            return failf(Errc::invalid_input, "unknown argument '%.60s'", argv[i]);
        }
    }
    EM_TRY_VOID(validate_args(args));
    return args;
}

// ---- profiles and readings ---------------------------------------------------------------------

/// Names of the visible files in dir that start with prefix and end in ".conf", sorted.
std::vector<std::string> conf_files(const std::string& dir, std::string_view prefix) {
    std::vector<std::string> names;
    if (DIR* d = ::opendir(dir.c_str())) {
        while (dirent* ent = ::readdir(d)) {
            std::string_view n = ent->d_name;
            if (n.size() > prefix.size() + 5 && n.starts_with(prefix) && n.ends_with(".conf") &&
                n.front() != '.')
                names.emplace_back(n);
        }
        ::closedir(d);
    }
    std::sort(names.begin(), names.end());
    return names;
}

/// Profile names in dir joined by ", " ("none" if there are none).
std::string list_profiles(const std::string& dir) {
    std::string out;
    for (const std::string& n : conf_files(dir, "")) {
        out += (out.empty() ? "" : ", ") + n.substr(0, n.size() - 5);
    }
    return out.empty() ? "none" : out;
}

/// Reads and parses dir/name.conf; prints what went wrong to err.
std::optional<Profile> load_profile(const Args& args, const std::string& path, FILE* err) {
    Result<std::string> text = read_small_file(path, profile_bytes_max);
    if (!text && text.error().sys_errno() == ENOENT) {
        std::fprintf(err,
                     "enginemux tune: no profile '%s': %s does not exist (profiles in %s: %s)\n",
                     args.profile.c_str(), path.c_str(), args.profile_dir.c_str(),
                     list_profiles(args.profile_dir).c_str());
        return std::nullopt;
    }
    if (!text) {
        std::fprintf(err, "enginemux tune: %s: %s\n", path.c_str(), text.error().c_str());
        return std::nullopt;
    }
    Result<Profile> profile = parse_profile(*text);
    if (!profile) {
        std::fprintf(err, "enginemux tune: %s:%s\n", path.c_str(), profile.error().c_str());
        return std::nullopt;
    }
    return std::move(*profile);
}

/// One profile entry and what the running kernel has for it.
struct Row {
    const Entry* entry;
    Reading reading;
    Status status;  // reading.status, with ok split into ok/differs
};

std::vector<Row> evaluate(const Profile& profile, const TuneEnv& env) {
    std::vector<Row> rows;
    rows.reserve(profile.entries.size());
    for (const Entry& e : profile.entries) {
        Row row{&e, read_sysctl(env.proc_sys_root, e.key), Status::ok};
        row.status = row.reading.status;
        if (row.status == Status::ok && !value_satisfies(row.reading.value, e.value, e.compare))
            row.status = Status::differs;
        rows.push_back(std::move(row));
    }
    return rows;
}

std::string recommended_text(const Entry& e) {
    if (e.compare == Compare::at_least) return ">= " + e.value;
    if (e.compare == Compare::at_most) return "<= " + e.value;
    return e.value;
}

std::string current_text(const Row& row) {
    if (row.reading.status == Status::missing) return "-";
    if (row.reading.status == Status::unreadable) return "?";
    return row.reading.value;
}

// ---- --check -----------------------------------------------------------------------------------

void print_table(const std::vector<Row>& rows, FILE* out) {
    int key_w = 3, cur_w = 7, rec_w = 11;  // widths of the header words
    for (const Row& r : rows) {
        key_w = std::max(key_w, static_cast<int>(r.entry->key.size()));
        cur_w = std::max(cur_w, static_cast<int>(current_text(r).size()));
        rec_w = std::max(rec_w, static_cast<int>(recommended_text(*r.entry).size()));
    }
    std::fprintf(out, "%-*s  %-*s  %-*s  %s\n", key_w, "KEY", cur_w, "CURRENT", rec_w,
                 "RECOMMENDED", "STATUS");
    for (const Row& r : rows) {
        std::string status = status_name(r.status);
        if (r.status == Status::unreadable)
            status += std::string(" (") + std::strerror(r.reading.error_number) + ")";
        std::fprintf(out, "%-*s  %-*s  %-*s  %s\n", key_w, r.entry->key.c_str(), cur_w,
                     current_text(r).c_str(), rec_w, recommended_text(*r.entry).c_str(),
                     status.c_str());
    }
}

int run_check(const Args& args, const TuneEnv& env, FILE* out, FILE* err) {
    std::string path = args.profile_dir + "/" + args.profile + ".conf";
    std::optional<Profile> profile = load_profile(args, path, err);
    if (!profile) return 2;
    std::fprintf(out, "profile %s (%s) against %s\n", args.profile.c_str(), path.c_str(),
                 env.proc_sys_root.c_str());
    std::vector<Row> rows = evaluate(*profile, env);
    print_table(rows, out);
    size_t counts[4] = {};
    for (const Row& r : rows) ++counts[static_cast<size_t>(r.status)];
    std::fprintf(out, "%zu ok, %zu differ, %zu missing on this kernel, %zu unreadable\n", counts[0],
                 counts[1], counts[2], counts[3]);
    bool bad = counts[static_cast<size_t>(Status::differs)] +
                   counts[static_cast<size_t>(Status::unreadable)] >
               0;
    if (bad) {
        std::string dir_flag = args.profile_dir_given ? " --profile-dir " + args.profile_dir : "";
        std::fprintf(out, "to apply: sudo enginemux tune --apply %s%s\n", args.profile.c_str(),
                     dir_flag.c_str());
    }
    return bad ? 1 : 0;
}

// ---- --apply -----------------------------------------------------------------------------------

/// The sysctl.d file --apply installs: each entry with its why, the value before and the value
/// to apply. It is itself a valid profile.
std::string render_conf(const Args& args, const std::string& source, const std::vector<Row>& rows) {
    std::string text =
        "# Written by `enginemux tune --apply " + args.profile + "` from " + source + ".\n";
    text +=
        "# Loaded at boot by systemd-sysctl (or `sysctl --system`). To revert: delete this file,\n";
    text +=
        "# then reboot or set each key back to its \"was:\" value with `sysctl -w KEY=VALUE`.\n";
    for (const Row& r : rows) {
        const Entry& e = *r.entry;
        text += "\n# was: " +
                (r.reading.status == Status::missing ? std::string("(missing on this kernel)")
                                                     : current_text(r)) +
                "\n";
        const char* tag = e.compare == Compare::at_least  ? "[min] "
                          : e.compare == Compare::at_most ? "[max] "
                                                          : "";
        if (!e.why.empty() || *tag) text += std::string("# ") + tag + e.why + "\n";
        bool optional = e.optional || r.reading.status == Status::missing;
        std::string value = r.reading.status == Status::ok
                                ? value_to_apply(r.reading.value, e.value, e.compare)
                                : e.value;
        text += (optional ? "-" : "") + e.key + " = " + value + "\n";
    }
    return text;
}

/// Writes value to proc_sys_root/key and reads it back.
Result<void> write_sysctl(const TuneEnv& env, const Entry& e, const std::string& value) {
    std::string path = sysctl_path(env.proc_sys_root, e.key);
    Fd fd(::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
    if (fd.fd < 0) return Unexpected(Error::sys(errno, "open"));
    EM_TRY_VOID(write_all(fd.fd, value + "\n", "write"));
    Reading after = read_sysctl(env.proc_sys_root, e.key);
    if (after.status != Status::ok) return Unexpected(Error::sys(after.error_number, "read back"));
    if (!value_satisfies(after.value, e.value, e.compare))
        return failf(Errc::unsupported, "reads back as '%.60s'", after.value.c_str());
    return {};
}

/// Sets (or, dry_run, describes) every value that differs; returns how many failed.
size_t set_values(const std::vector<Row>& rows, const TuneEnv& env, bool dry_run, FILE* out) {
    size_t failed = 0;
    for (const Row& r : rows) {
        const Entry& e = *r.entry;
        if (r.status == Status::ok) {
            std::fprintf(out, "keep %s = %s (ok)\n", e.key.c_str(), r.reading.value.c_str());
            continue;
        }
        if (r.status == Status::missing) {
            std::fprintf(out, "skip %s: missing on this kernel\n", e.key.c_str());
            continue;
        }
        std::string value = r.reading.status == Status::ok
                                ? value_to_apply(r.reading.value, e.value, e.compare)
                                : e.value;
        if (dry_run) {
            std::fprintf(out, "would set %s = %s (now %s)\n", e.key.c_str(), value.c_str(),
                         current_text(r).c_str());
            continue;
        }
        Result<void> w = write_sysctl(env, e, value);
        if (w) {
            std::fprintf(out, "set %s = %s (was %s)\n", e.key.c_str(), value.c_str(),
                         current_text(r).c_str());
        } else {
            std::fprintf(out, "FAILED %s = %s: %s\n", e.key.c_str(), value.c_str(),
                         w.error().c_str());
            ++failed;
        }
    }
    return failed;
}

/// Removes (or, dry_run, names) the files of other enginemux profiles in dir: one profile is
/// active at a time, and at boot the one sorting last would otherwise win. Returns failures.
size_t remove_other_profiles(const std::string& dir, const std::string& keep, bool dry_run,
                             FILE* out) {
    size_t failed = 0;
    for (const std::string& name : conf_files(dir, "60-enginemux-")) {
        if (name == keep) continue;
        std::string path = dir + "/" + name;
        if (dry_run) {
            std::fprintf(out, "would remove %s (one enginemux profile at a time)\n", path.c_str());
        } else if (::unlink(path.c_str()) == 0) {
            std::fprintf(
                out,
                "removed %s (its values stay set until reboot unless this profile sets them)\n",
                path.c_str());
        } else {
            std::fprintf(out, "FAILED to remove %s: %s\n", path.c_str(), std::strerror(errno));
            ++failed;
        }
    }
    return failed;
}

int run_apply(const Args& args, const TuneEnv& env, FILE* out, FILE* err) {
    std::string path = args.profile_dir + "/" + args.profile + ".conf";
    std::optional<Profile> profile = load_profile(args, path, err);
    if (!profile) return 2;
    std::string file_name = "60-enginemux-" + args.profile + ".conf";
    std::string target = env.sysctl_d_dir + "/" + file_name;
    if (!args.dry_run && env.euid != 0) {
        std::fprintf(
            err,
            "enginemux tune: --apply needs root (it writes %s and %s); nothing was changed.\n"
            "Run it with sudo: sudo enginemux tune --apply %s (or --dry-run to preview)\n",
            target.c_str(), env.proc_sys_root.c_str(), args.profile.c_str());
        return 2;
    }
    std::vector<Row> rows = evaluate(*profile, env);
    std::string content = render_conf(args, path, rows);
    if (args.dry_run) {
        std::fprintf(out, "would write %s:\n%s\n", target.c_str(), content.c_str());
        remove_other_profiles(env.sysctl_d_dir, file_name, true, out);
        set_values(rows, env, true, out);
        std::fprintf(out, "dry run: nothing was changed\n");
        return 0;
    }
    if (Result<void> w = write_file_atomically(env.sysctl_d_dir, file_name, content); !w) {
        std::fprintf(err, "enginemux tune: cannot write %s: %s\n", target.c_str(),
                     w.error().c_str());
        return 2;
    }
    std::fprintf(out, "wrote %s\n", target.c_str());
    size_t failed = remove_other_profiles(env.sysctl_d_dir, file_name, false, out);
    failed += set_values(rows, env, false, out);
    std::fprintf(
        out,
        "applied by writing %s directly (no sysctl(8) needed); the file applies again at boot\n",
        env.proc_sys_root.c_str());
    if (failed)
        std::fprintf(err, "enginemux tune: %zu change(s) failed (see FAILED above)\n", failed);
    return failed ? 1 : 0;
}

}  // namespace

int tune_main(int argc, char** argv, FILE* out, FILE* err, const TuneEnv& env) {
    Result<Args> args = parse_args(argc, argv, env);
    if (!args) {
        std::fprintf(err, "enginemux tune: %s (see enginemux tune --help)\n", args.error().c_str());
        return 2;
    }
    switch (args->action) {
        case Action::help:
            std::fprintf(out, usage_text, env.profile_dir.c_str());
            return 0;
        case Action::check:
            return run_check(*args, env, out, err);
        case Action::apply:
            return run_apply(*args, env, out, err);
        case Action::none:
            break;
    }
    return 2;
}

}  // namespace em::tune

namespace em {

int tune_main(int argc, char** argv, FILE* out, FILE* err) {
    tune::TuneEnv env;
    env.profile_dir = tune::default_profile_dir();
    return tune::tune_main(argc, argv, out, err, env);
}

}  // namespace em
