#include "io/ip.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <charconv>
#include <cstring>

namespace em::io {

namespace {

constexpr uint8_t v4_mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

IpAddress from_v6(const uint8_t* b) {
    IpAddress a;
    if (std::memcmp(b, v4_mapped_prefix, sizeof v4_mapped_prefix) == 0) {
        a.family = 4;
        std::memcpy(a.bytes.data(), b + 12, 4);
    } else {
        a.family = 6;
        std::memcpy(a.bytes.data(), b, 16);
    }
    return a;
}

}  // namespace

Result<IpAddress> IpAddress::parse(std::string_view text) {
    char buffer[64];
    if (text.empty() || text.size() >= sizeof buffer)
        return failf(Errc::invalid_input, "'%.*s' is not an IP address",
                     static_cast<int>(text.size() < 64 ? text.size() : 64), text.data());
    std::memcpy(buffer, text.data(), text.size());
    buffer[text.size()] = 0;
    IpAddress a;
    if (inet_pton(AF_INET, buffer, a.bytes.data()) == 1) {
        a.family = 4;
        return a;
    }
    uint8_t v6[16];
    if (inet_pton(AF_INET6, buffer, v6) == 1) return from_v6(v6);
    return failf(Errc::invalid_input, "'%s' is not an IPv4 or IPv6 address", buffer);
}

const char* IpAddress::format(char* out, size_t out_bytes) const {
    if (out_bytes == 0) return out;
    out[0] = 0;
    if (family == 4) inet_ntop(AF_INET, bytes.data(), out, static_cast<socklen_t>(out_bytes));
    if (family == 6) inet_ntop(AF_INET6, bytes.data(), out, static_cast<socklen_t>(out_bytes));
    return out;
}

IpAddress peer_ip(int fd) {
    sockaddr_storage storage{};
    socklen_t length = sizeof storage;
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&storage), &length) != 0) return {};
    if (storage.ss_family == AF_INET) {
        IpAddress a;
        a.family = 4;
        std::memcpy(a.bytes.data(), &reinterpret_cast<const sockaddr_in*>(&storage)->sin_addr, 4);
        return a;
    }
    if (storage.ss_family == AF_INET6) {
        auto* in6 = reinterpret_cast<const sockaddr_in6*>(&storage);
        return from_v6(reinterpret_cast<const uint8_t*>(&in6->sin6_addr));
    }
    return {};
}

Result<IpNetwork> IpNetwork::parse(std::string_view text) {
    size_t slash = text.find('/');
    IpNetwork n;
    auto address = IpAddress::parse(text.substr(0, slash));
    if (!address) return Unexpected(address.error());
    n.address = *address;
    uint32_t max = n.address.family == 4 ? 32 : 128;
    n.prefix_bits = static_cast<uint8_t>(max);
    if (slash == std::string_view::npos) return n;
    std::string_view bits = text.substr(slash + 1);
    uint32_t v = 0;
    auto [end, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), v);
    if (bits.empty() || ec != std::errc() || end != bits.data() + bits.size() || v > max)
        return failf(Errc::invalid_input, "'%.*s': prefix must be 0..%u",
                     static_cast<int>(text.size() < 80 ? text.size() : 80), text.data(), max);
    n.prefix_bits = static_cast<uint8_t>(v);
    return n;
}

bool IpNetwork::contains(const IpAddress& ip) const {
    if (ip.family != address.family || !ip.valid()) return false;
    size_t full = prefix_bits / 8, rest = prefix_bits % 8;
    if (std::memcmp(ip.bytes.data(), address.bytes.data(), full) != 0) return false;
    if (rest == 0) return true;
    uint8_t mask = static_cast<uint8_t>(0xff00u >> rest);
    return (ip.bytes[full] & mask) == (address.bytes[full] & mask);
}

}  // namespace em::io
