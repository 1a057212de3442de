// Sockets: address parsing and resolution, listening and connecting sockets, socket options.
//
// Any thread (these are plain syscalls made at set-up time; data transfer goes through Loop).
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string_view>

#include "base/result.h"

namespace em::io {

/// An IPv4 or IPv6 socket address (what connect/bind take).
struct Address {
    sockaddr_storage storage{};
    socklen_t length = 0;
    const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
    int family() const { return storage.ss_family; }
    uint16_t port() const;
    /// "127.0.0.1:8551" or "[::1]:8551" into out (at least 64 bytes); returns out.
    const char* format(char* out, size_t out_bytes) const;
};

/// Same family, IP and port.
bool same_endpoint(const Address& a, const Address& b);
/// True when a connection to `target` would reach a socket listening on `listener`: the same
/// port and IP, or `listener` is a wildcard (0.0.0.0, ::) and `target` is a loopback address or
/// one of this host's interface addresses.
bool reaches_listener(const Address& target, const Address& listener);

/// Parses "HOST:PORT" where HOST is an IPv4 literal, "[IPv6]" or a name (resolved with
/// getaddrinfo, blocking: call at start-up only; a name with an IPv4 address resolves to it,
/// since services on "localhost" usually listen on 127.0.0.1 only). Errors name the text.
Result<Address> resolve(std::string_view host_port);
/// Same with host and port given apart.
Result<Address> resolve(std::string_view host, uint16_t port);

/// A TCP listening socket with SO_REUSEADDR and SO_REUSEPORT (so every shard can bind the same
/// address and the kernel spreads connections), CLOEXEC, given backlog.
Result<int> listen_tcp(const Address& address, int backlog);
/// The address a socket is bound to (to learn an ephemeral port).
Result<Address> local_address(int fd);
/// A new unconnected TCP socket of the address's family, CLOEXEC.
Result<int> tcp_socket_for(const Address& address);
/// TCP_NODELAY on (we write whole messages; Nagle only adds latency).
void set_nodelay(int fd);

}  // namespace em::io
