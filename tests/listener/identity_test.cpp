// Who a request to the sync role comes from (listener/sync_listener.h identify()): the JWT's
// `id` claim first; forwarding headers only from a trusted proxy (the right-most X-Forwarded-For
// entry that is not itself trusted, then X-Real-IP); else the connection's source address.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "http/base64url.h"
#include "listener/sync_listener.h"

namespace em::listener {
namespace {

io::IpAddress ip(const char* text) {
    return *io::IpAddress::parse(text);
}

/// "Bearer " + header.payload.signature with the given claims (the signature is not checked).
std::string bearer(const std::string& claims) {
    auto encode = [](const std::string& s) {
        char out[512];
        size_t n = http::base64url_encode(
            std::span(reinterpret_cast<const uint8_t*>(s.data()), s.size()), out);
        return std::string(out, n);
    };
    return "Bearer " + encode(R"({"alg":"HS256","typ":"JWT"})") + "." + encode(claims) + "." +
           std::string(43, 'A');
}

struct Identify : ::testing::Test {
    std::vector<io::IpNetwork> trusted = {*io::IpNetwork::parse("127.0.0.0/8"),
                                          *io::IpNetwork::parse("10.1.0.5")};
    ClientIdentity who;
    void run(const std::string& auth, std::vector<http::Header> headers, const char* peer) {
        identify(auth, headers, ip(peer), trusted, who);
    }
};

TEST_F(Identify, TheIdClaimComesFirst) {
    run(bearer(R"({"iat":1,"id":"lighthouse-1"})"), {{"X-Forwarded-For", "192.0.2.7"}},
        "127.0.0.1");
    EXPECT_TRUE(who.by_id);
    EXPECT_EQ(who.name, "lighthouse-1");
    EXPECT_EQ(who.address, "192.0.2.7");
}

TEST_F(Identify, ForwardingHeadersCountOnlyFromATrustedProxy) {
    run(bearer(R"({"iat":1})"), {{"X-Forwarded-For", "192.0.2.7"}}, "198.51.100.9");
    EXPECT_FALSE(who.by_id);
    EXPECT_EQ(who.name, "198.51.100.9") << "an untrusted peer cannot name itself";
    run(bearer(R"({"iat":1})"), {{"x-forwarded-for", "192.0.2.7"}}, "127.0.0.1");
    EXPECT_EQ(who.name, "192.0.2.7");
}

TEST_F(Identify, TheRightMostUntrustedForwardedEntryIsTheClient) {
    // A client may write any X-Forwarded-For; each proxy appends what it saw.
    run("", {{"X-Forwarded-For", "6.6.6.6, 192.0.2.8 ,10.1.0.5"}}, "127.0.0.1");
    EXPECT_EQ(who.name, "192.0.2.8");
    run("", {{"X-Forwarded-For", "10.1.0.5, 127.0.0.2"}}, "127.0.0.1");
    EXPECT_EQ(who.name, "10.1.0.5") << "every entry trusted: the left-most";
}

TEST_F(Identify, XRealIpWhenThereIsNoForwardedFor) {
    run("", {{"X-Real-IP", " 203.0.113.4 "}}, "10.1.0.5");
    EXPECT_EQ(who.name, "203.0.113.4");
    run("", {}, "10.1.0.5");
    EXPECT_EQ(who.name, "10.1.0.5");
}

TEST_F(Identify, IPv4MappedPeersAreTheirIPv4Address) {
    run("", {{"X-Forwarded-For", "192.0.2.9"}}, "::ffff:127.0.0.1");
    EXPECT_EQ(who.name, "192.0.2.9");
}

TEST(IpNetwork, ParsesAndMatchesPrefixes) {
    auto net = io::IpNetwork::parse("10.0.0.0/9");
    ASSERT_TRUE(net);
    EXPECT_TRUE(net->contains(ip("10.127.255.255")));
    EXPECT_FALSE(net->contains(ip("10.128.0.0")));
    EXPECT_FALSE(net->contains(ip("::1")));
    EXPECT_TRUE(io::IpNetwork::parse("::1")->contains(ip("::1")));
    auto bad = io::IpNetwork::parse("10.0.0.0/33");
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message().find("prefix must be 0..32"), std::string_view::npos);
    EXPECT_FALSE(io::IpNetwork::parse("example.org"));
}

}  // namespace
}  // namespace em::listener
