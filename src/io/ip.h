// IP addresses without ports, and networks (CIDRs): what the sync role uses to tell consensus
// clients apart by where they connect from (a connection's peer, an X-Forwarded-For entry) and
// to decide whose forwarding headers to believe ([sync] trusted_proxies).
//
// Any thread; plain values, pure functions, no allocation, no system calls but getpeername(2).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/result.h"

namespace em::io {

/// An IPv4 or IPv6 address (an IPv4-mapped IPv6 address is kept as IPv4, so "::ffff:10.0.0.1"
/// and "10.0.0.1" are one client).
struct IpAddress {
    uint8_t family = 0;  ///< 0 (none), 4 or 6
    std::array<uint8_t, 16> bytes{};

    /// "10.0.0.1", "::1" (no brackets, no port). Errors quote the text (bounded).
    [[nodiscard]] static Result<IpAddress> parse(std::string_view text);
    /// The address as inet_ntop writes it into out (at least 46 bytes); returns out.
    const char* format(char* out, size_t out_bytes) const;
    bool valid() const { return family != 0; }
    friend bool operator==(const IpAddress&, const IpAddress&) = default;
};

/// The peer of a connected socket (getpeername); an invalid address if that fails.
IpAddress peer_ip(int fd);

/// A network: an address and a prefix length ("10.0.0.0/8", "::1/128"; a bare address is a
/// network of that one address).
struct IpNetwork {
    IpAddress address;
    uint8_t prefix_bits = 0;

    /// Errors name the text and what is wrong ("'10.0.0.0/33': prefix must be 0..32").
    [[nodiscard]] static Result<IpNetwork> parse(std::string_view text);
    bool contains(const IpAddress& ip) const;
};

}  // namespace em::io
