#include "app/runtime_secret.h"

#include <sys/stat.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

namespace em::app {

bool path_is_under(std::string_view path, std::string_view dir) {
    if (dir.empty() || dir.front() != '/' || path.empty() || path.front() != '/') return false;
    if (dir == "/") return true;
    if (path.substr(0, dir.size()) != dir) return false;
    return path.size() == dir.size() || path[dir.size()] == '/';
}

Result<std::string> resolve_runtime_secret(const std::string& path,
                                           const std::string& secrets_dir) {
    char dir[PATH_MAX];
    if (!::realpath(secrets_dir.c_str(), dir)) {
        return failf(Errc::not_found, "[admin] secrets_dir %s: %s (create it or set another)",
                     secrets_dir.c_str(), std::strerror(errno));
    }
    char resolved[PATH_MAX];
    struct stat st;
    bool ok = ::realpath(path.c_str(), resolved) && path_is_under(resolved, dir) &&
              ::stat(resolved, &st) == 0 && S_ISREG(st.st_mode);
    if (!ok) {
        // The directory first: it is the fix, and a long path must not push it out of the
        // bounded message.
        return failf(Errc::invalid_input,
                     "#jwt-secret must name a file under [admin] secrets_dir %s, not %s",
                     secrets_dir.c_str(), path.c_str());
    }
    return std::string(resolved);
}

}  // namespace em::app
