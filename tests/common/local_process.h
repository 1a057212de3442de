// Helpers for tests that start real servers (redis-server, ...) on 127.0.0.1: find a program on
// PATH (plus /usr/sbin, where Debian puts daemons) and pick a free loopback port.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

namespace em::test {

/// The executable `name` on PATH, /usr/bin or /usr/sbin; "" when there is none.
inline std::string find_in_path(const char* name) {
    const char* path = std::getenv("PATH");
    std::string dirs = std::string(path ? path : "/usr/bin:/bin") + ":/usr/bin:/usr/sbin";
    size_t start = 0;
    while (start <= dirs.size()) {
        size_t end = dirs.find(':', start);
        std::string dir =
            dirs.substr(start, end == std::string::npos ? std::string::npos : end - start);
        std::string candidate = dir + "/" + name;
        if (!dir.empty() && access(candidate.c_str(), X_OK) == 0) return candidate;
        if (end == std::string::npos) break;
        start = end + 1;
    }
    return {};
}

/// A loopback port free a moment ago (bound to 0, read, closed).
inline uint16_t free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
}

}  // namespace em::test
