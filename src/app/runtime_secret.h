// Secrets of nodes added at run time (admin API `POST /nodes`; issue 19). Such a node must
// bring its own `#jwt-secret=PATH`, and PATH must name a regular file under [admin] secrets_dir
// once every `..` and symlink is resolved: whoever holds the admin token can then point
// enginemux only at secret files the operator put there, never at another EL's secret kept
// elsewhere or at a file such as /etc/shadow. Start-up nodes (--nodes, [[nodes]]) are not
// checked: the operator wrote them.
//
// Threads: any (the control thread calls it). Reads the file system (realpath, stat); keeps no
// state. Errors name the path and secrets_dir, never a file's contents, and say the same for a
// path that does not exist as for one outside the directory.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"

namespace em::app {

/// True when `path` is `dir` or lies below it. Both must be absolute and normalised (what
/// realpath returns): "/etc/enginemux-evil/x" is not under "/etc/enginemux".
[[nodiscard]] bool path_is_under(std::string_view path, std::string_view dir);

/// Resolves `path` and `secrets_dir` (realpath) and checks that the path is a regular file under
/// the directory. Returns the resolved path, the one to load (so the file checked is the file
/// read).
[[nodiscard]] Result<std::string> resolve_runtime_secret(const std::string& path,
                                                         const std::string& secrets_dir);

}  // namespace em::app
