// Where a request to the rpc listener carries its API key (listener/rpc_listener.h
// api_key_of()): `Authorization: Bearer KEY` (scheme in any case), else the target's path /KEY.
#include <gtest/gtest.h>

#include "listener/rpc_listener.h"

namespace em::listener {
namespace {

TEST(ApiKey, BearerFirstThenThePath) {
    EXPECT_EQ(api_key_of("Bearer abc123", "/"), "abc123");
    EXPECT_EQ(api_key_of("bearer  abc123 ", "/other"), "abc123");
    EXPECT_EQ(api_key_of("BEARER abc123", ""), "abc123");
    EXPECT_EQ(api_key_of("", "/abc123"), "abc123");
    EXPECT_EQ(api_key_of("", "/abc123?x=1"), "abc123");
    EXPECT_EQ(api_key_of("Basic dXNlcjpwYXNz", "/abc123"), "abc123") << "not a bearer token";
    EXPECT_EQ(api_key_of("", "/"), "");
    EXPECT_EQ(api_key_of("", ""), "");
    EXPECT_EQ(api_key_of("", "/?key=1"), "");
}

}  // namespace
}  // namespace em::listener
