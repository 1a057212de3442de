#include "http/bearer.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>

#include "http/message.h"

namespace em::http {

bool bearer_matches(std::string_view authorization, std::string_view token) {
    constexpr std::string_view scheme = "Bearer ";
    if (token.empty() || authorization.size() != scheme.size() + token.size()) return false;
    if (!iequals(authorization.substr(0, scheme.size()), scheme)) return false;
    return CRYPTO_memcmp(authorization.data() + scheme.size(), token.data(), token.size()) == 0;
}

Result<std::string> read_token_file(const std::string& path, bool private_only) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Unexpected(Error::sys(errno, "token file " + path + ": cannot read it"));
    struct stat st {};
    if (private_only && (fstat(fd, &st) != 0 || (st.st_mode & 077) != 0)) {
        ::close(fd);
        return failf(Errc::invalid_input,
                     "token file %s must not be accessible by group or others (chmod 600)",
                     path.c_str());
    }
    std::string token(4096, '\0');
    ssize_t n = ::read(fd, token.data(), token.size());
    ::close(fd);
    if (n < 0) return Unexpected(Error::sys(errno, "token file " + path + ": cannot read it"));
    token.resize(static_cast<size_t>(n));
    while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back())))
        token.pop_back();
    if (token.empty()) return failf(Errc::invalid_input, "token file %s is empty", path.c_str());
    if (token.size() < token_bytes_min)
        return failf(Errc::invalid_input,
                     "the token in %s is shorter than %zu characters (openssl rand -hex 32)",
                     path.c_str(), token_bytes_min);
    return token;
}

}  // namespace em::http
