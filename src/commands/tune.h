// `enginemux tune`: compares the running kernel's sysctl values with a tuning profile
// (kernel-tuning/{latency,throughput}.conf, installed as /usr/share/enginemux/sysctl/*.conf) and
// installs a profile as /etc/sysctl.d/60-enginemux-PROFILE.conf.
//
//   enginemux tune --check [--profile latency|throughput] [--profile-dir DIR]
//       Prints key, current value (from /proc/sys), recommended value and status (ok, differs,
//       missing on this kernel, unreadable). Needs no root. Exit 0 when every key the kernel has
//       is ok, 1 when some differ or cannot be read, 2 on usage or profile errors.
//   enginemux tune --apply PROFILE [--dry-run] [--profile-dir DIR]
//       Needs root (refuses before writing anything). Writes the sysctl.d file atomically
//       (temp file, fsync, rename, fsync of the directory), removes other profiles'
//       60-enginemux-*.conf files (one profile is active at a time), then sets each differing
//       value by writing /proc/sys directly (no sysctl(8) needed). Never lowers a [min] value
//       nor raises a [max] value that already satisfies the profile. Exit 0 when every change
//       took effect, 1 when some failed, 2 on usage, profile, permission or file errors.
//       --dry-run prints what it would do and changes nothing (no root needed).
//
// Profile format (strict; a bad line is an error naming file:line): blank lines; whole-line
// comments starting with # or ;; and `key = value` lines (key optionally prefixed with "-": the
// kernel may lack it). The comment line directly above a key is its "why"; it may start with
// the tag [min] (value is a lower bound, field by field) or [max] (an upper bound); without a
// tag the value must match exactly. Multi-field values ("4096 131072 6291456") compare field by
// field, numerically where both sides are integers.
//
// Threads: a command-line subcommand; runs on the main thread before (instead of) the daemon.
// Ownership: everything is owned by the call; nothing outlives tune_main().
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace em::tune {

/// Largest profile file we read.
inline constexpr size_t profile_bytes_max = 64 * 1024;
/// Longest profile line (sysctl.conf(5): values are at most 4096 bytes).
inline constexpr size_t line_bytes_max = 4096;
/// Most settings in one profile.
inline constexpr size_t entries_max = 256;
/// Longest sysctl key.
inline constexpr size_t key_bytes_max = 256;
/// Most bytes read from one /proc/sys file.
inline constexpr size_t proc_value_bytes_max = 4096;

/// How a current value is compared with the recommended one.
enum class Compare : uint8_t {
    exact,     ///< every field equal (integers numerically, text byte for byte)
    at_least,  ///< "[min]": every current field >= the recommended field
    at_most,   ///< "[max]": every current field <= the recommended field
};

/// One `key = value` line of a profile.
struct Entry {
    std::string key;    ///< dotted name without the "-" prefix, e.g. "net.core.somaxconn"
    std::string value;  ///< recommended value, fields joined by single spaces
    Compare compare = Compare::exact;  ///< from the tag of the comment above
    bool optional = false;             ///< key had a "-" prefix: the kernel may lack it
    std::string why;                   ///< comment line above (tag and "# " removed), "" if none
    uint32_t line = 0;                 ///< 1-based line number in the profile
};

struct Profile {
    std::vector<Entry> entries;  ///< in file order
};

/// Parses profile text. Errors are "LINE: what was wrong" (the caller prefixes the file name).
[[nodiscard]] Result<Profile> parse_profile(std::string_view text);

/// True if `current` satisfies `recommended` under `compare` (both whitespace-separated fields).
bool value_satisfies(std::string_view current, std::string_view recommended, Compare compare);

/// The value --apply writes: `recommended`, except that fields of a [min]/[max] value that the
/// current value already satisfies keep their current value (so applying never makes them worse).
std::string value_to_apply(std::string_view current, std::string_view recommended, Compare compare);

/// What --check found for one key.
enum class Status : uint8_t { ok, differs, missing, unreadable };
/// "ok", "differs", "missing on this kernel", "unreadable".
const char* status_name(Status status);

/// The current value of a key read from proc_sys_root (normally "/proc/sys").
struct Reading {
    Status status = Status::missing;  ///< ok/differs are decided later by value_satisfies()
    std::string value;                ///< fields joined by single spaces; "" unless readable
    int error_number = 0;             ///< errno when unreadable
};
/// Reads proc_sys_root/KEY-with-dots-as-slashes. Status is missing (ENOENT/ENOTDIR),
/// unreadable (other errors, value too long) or ok (read; not yet compared).
Reading read_sysctl(std::string_view proc_sys_root, std::string_view key);

/// Writes dir/name atomically: a temp file in dir, write, fsync, chmod 0644, rename over name,
/// fsync of dir. On failure nothing but a possibly existing old dir/name remains.
[[nodiscard]] Result<void> write_file_atomically(const std::string& dir, const std::string& name,
                                                 std::string_view content);

/// Where tune_main() looks for things; tests point these at temporary trees.
struct TuneEnv {
    std::string profile_dir;                     ///< default for --profile-dir
    std::string proc_sys_root = "/proc/sys";     ///< root of the sysctl tree
    std::string sysctl_d_dir = "/etc/sysctl.d";  ///< where --apply writes its file
    uint32_t euid = ::geteuid();                 ///< --apply needs 0
};

/// Runs `enginemux tune` (argv[0] = "tune") with the given environment; returns the exit code.
int tune_main(int argc, char** argv, FILE* out, FILE* err, const TuneEnv& env);

/// The profile directory to use by default: /usr/share/enginemux/sysctl if it exists, else the
/// source tree's kernel-tuning/ when compiled with -DEM_TUNE_SOURCE_PROFILE_DIR="...".
std::string default_profile_dir();

}  // namespace em::tune

namespace em {

/// Runs `enginemux tune` against the real system (default_profile_dir(), /proc/sys,
/// /etc/sysctl.d, geteuid()); returns the exit code.
int tune_main(int argc, char** argv, FILE* out, FILE* err);

}  // namespace em
