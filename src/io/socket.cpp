#include "io/socket.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>

namespace em::io {

uint16_t Address::port() const {
    if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage)->sin_port);
    if (family() == AF_INET6)
        return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_port);
    return 0;
}

namespace {

/// The IP bytes of an AF_INET/AF_INET6 address (empty for another family).
std::string_view ip_bytes(const sockaddr* a) {
    if (a->sa_family == AF_INET) {
        auto* in = reinterpret_cast<const sockaddr_in*>(a);
        return {reinterpret_cast<const char*>(&in->sin_addr), sizeof in->sin_addr};
    }
    if (a->sa_family == AF_INET6) {
        auto* in6 = reinterpret_cast<const sockaddr_in6*>(a);
        return {reinterpret_cast<const char*>(&in6->sin6_addr), sizeof in6->sin6_addr};
    }
    return {};
}

bool is_wildcard(const Address& a) {
    std::string_view ip = ip_bytes(a.get());
    return !ip.empty() && ip.find_first_not_of('\0') == std::string_view::npos;
}

bool is_loopback(const Address& a) {
    if (a.family() == AF_INET)
        return (ntohl(reinterpret_cast<const sockaddr_in*>(&a.storage)->sin_addr.s_addr) >> 24) ==
               127;
    if (a.family() == AF_INET6)
        return IN6_IS_ADDR_LOOPBACK(&reinterpret_cast<const sockaddr_in6*>(&a.storage)->sin6_addr);
    return false;
}

/// One of this host's interface addresses (getifaddrs; false if that fails).
bool is_interface_address(const Address& a) {
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0) return false;
    bool found = false;
    std::string_view want = ip_bytes(a.get());
    for (ifaddrs* i = list; i && !found; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != a.family()) continue;
        found = ip_bytes(i->ifa_addr) == want;
    }
    ::freeifaddrs(list);
    return found;
}

}  // namespace

bool same_endpoint(const Address& a, const Address& b) {
    return a.family() == b.family() && a.port() == b.port() && !ip_bytes(a.get()).empty() &&
           ip_bytes(a.get()) == ip_bytes(b.get());
}

bool reaches_listener(const Address& target, const Address& listener) {
    if (target.port() != listener.port() || target.port() == 0) return false;
    if (same_endpoint(target, listener)) return true;
    // A wildcard listener of either family takes loopback and local addresses (a v6 wildcard
    // socket also takes v4 unless IPV6_V6ONLY; assume it does).
    if (!is_wildcard(listener)) return false;
    if (listener.family() == AF_INET && target.family() != AF_INET) return false;
    return is_loopback(target) || is_interface_address(target);
}

const char* Address::format(char* out, size_t out_bytes) const {
    char host[INET6_ADDRSTRLEN] = "?";
    if (family() == AF_INET) {
        inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage)->sin_addr, host,
                  sizeof host);
        std::snprintf(out, out_bytes, "%s:%u", host, port());
    } else {
        inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_addr, host,
                  sizeof host);
        std::snprintf(out, out_bytes, "[%s]:%u", host, port());
    }
    return out;
}

Result<Address> resolve(std::string_view host, uint16_t port) {
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    if (host.empty() || host.size() > 253)
        return failf(Errc::invalid_input, "host '%.*s' is empty or too long",
                     static_cast<int>(host.size()), host.data());
    char name[256];
    std::memcpy(name, host.data(), host.size());
    name[host.size()] = 0;
    Address a;
    sockaddr_in* v4 = reinterpret_cast<sockaddr_in*>(&a.storage);
    sockaddr_in6* v6 = reinterpret_cast<sockaddr_in6*>(&a.storage);
    if (inet_pton(AF_INET, name, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        a.length = sizeof(sockaddr_in);
        return a;
    }
    if (inet_pton(AF_INET6, name, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        a.length = sizeof(sockaddr_in6);
        return a;
    }
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_family = AF_UNSPEC;
    addrinfo* list = nullptr;
    int rc = getaddrinfo(name, nullptr, &hints, &list);
    if (rc != 0 || !list)
        return failf(Errc::invalid_input, "cannot resolve host '%s': %s", name, gai_strerror(rc));
    // An IPv4 address when the name has one: "localhost" often lists ::1 first, while ELs
    // (geth's authrpc.addr=localhost among them) listen on 127.0.0.1 only.
    const addrinfo* pick = list;
    for (const addrinfo* ai = list; ai; ai = ai->ai_next) {
        if (ai->ai_family == AF_INET) {
            pick = ai;
            break;
        }
    }
    std::memcpy(&a.storage, pick->ai_addr, pick->ai_addrlen);
    a.length = pick->ai_addrlen;
    freeaddrinfo(list);
    if (a.family() == AF_INET)
        v4->sin_port = htons(port);
    else
        v6->sin6_port = htons(port);
    return a;
}

Result<Address> resolve(std::string_view host_port) {
    size_t colon = host_port.rfind(':');
    if (colon == std::string_view::npos || colon + 1 == host_port.size())
        return failf(Errc::invalid_input, "address '%.*s' is not HOST:PORT",
                     static_cast<int>(host_port.size()), host_port.data());
    std::string_view host = host_port.substr(0, colon);
    std::string_view port_text = host_port.substr(colon + 1);
    if (host.find(':') != std::string_view::npos && host.front() != '[')
        return failf(Errc::invalid_input, "address '%.*s': write IPv6 hosts as [addr]:port",
                     static_cast<int>(host_port.size()), host_port.data());
    unsigned port = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535)
        return failf(Errc::invalid_input, "address '%.*s': port '%.*s' is not 0..65535",
                     static_cast<int>(host_port.size()), host_port.data(),
                     static_cast<int>(port_text.size()), port_text.data());
    return resolve(host, static_cast<uint16_t>(port));
}

Result<int> listen_tcp(const Address& address, int backlog) {
    int fd = ::socket(address.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return Unexpected(Error::sys(errno, "socket"));
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    if (::bind(fd, address.get(), address.length) != 0) {
        int err = errno;
        ::close(fd);
        char text[80];
        char what[120];
        std::snprintf(what, sizeof what, "bind %s", address.format(text, sizeof text));
        return Unexpected(Error::sys(err, what));
    }
    if (::listen(fd, backlog) != 0) {
        int err = errno;
        ::close(fd);
        return Unexpected(Error::sys(err, "listen"));
    }
    return fd;
}

Result<Address> local_address(int fd) {
    Address a;
    a.length = sizeof a.storage;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&a.storage), &a.length) != 0)
        return Unexpected(Error::sys(errno, "getsockname"));
    return a;
}

Result<int> tcp_socket_for(const Address& address) {
    int fd = ::socket(address.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return Unexpected(Error::sys(errno, "socket"));
    return fd;
}

void set_nodelay(int fd) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

}  // namespace em::io
