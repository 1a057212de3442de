// admin/access.h: writes need a configured token (403 without one, 401 with a wrong one); reads
// are open unless protect_reads; the bearer comparison takes the scheme in any case and nothing
// but the exact token.
#include "admin/access.h"

#include <gtest/gtest.h>

#include <string>

namespace em::admin {
namespace {

using http::Method;

const std::string token = "0123456789abcdef-token";
const std::string good = "Bearer " + token;

TEST(AdminAccess, WithoutATokenWritesAreRefusedAndReadsAreOpen) {
    AccessPolicy none{};
    for (Method m : {Method::post, Method::delete_, Method::put, Method::patch, Method::options,
                     Method::other}) {
        EXPECT_EQ(check_access(none, m, ""), Access::no_token);
        EXPECT_EQ(check_access(none, m, good),
                  Access::no_token);  // no token configured: nothing matches
        EXPECT_FALSE(is_read(m));
    }
    for (Method m : {Method::get, Method::head}) {
        EXPECT_EQ(check_access(none, m, ""), Access::allowed);
        EXPECT_TRUE(is_read(m));
    }
}

TEST(AdminAccess, WithATokenWritesNeedItAndReadsOnlyWithProtectReads) {
    AccessPolicy writes{token, false};
    EXPECT_EQ(check_access(writes, Method::post, good), Access::allowed);
    EXPECT_EQ(check_access(writes, Method::delete_, good), Access::allowed);
    EXPECT_EQ(check_access(writes, Method::post, ""), Access::unauthorized);
    EXPECT_EQ(check_access(writes, Method::get, ""), Access::allowed);
    EXPECT_EQ(check_access(writes, Method::get, "Bearer wrong"),
              Access::allowed);  // reads ignore it
    AccessPolicy all{token, true};
    EXPECT_EQ(check_access(all, Method::get, ""), Access::unauthorized);
    EXPECT_EQ(check_access(all, Method::head, "Bearer x"), Access::unauthorized);
    EXPECT_EQ(check_access(all, Method::get, good), Access::allowed);
    EXPECT_EQ(check_access(all, Method::post, good), Access::allowed);
    // protect_reads without a token (config refuses it): nobody gets in rather than everybody.
    EXPECT_EQ(check_access(AccessPolicy{"", true}, Method::get, ""), Access::no_token);
}

TEST(AdminAccess, BearerMatchesOnlyTheExactToken) {
    EXPECT_TRUE(http::bearer_matches(good, token));
    EXPECT_TRUE(http::bearer_matches("bearer " + token, token));
    EXPECT_TRUE(http::bearer_matches("BEARER " + token, token));
    std::string flipped = good;
    flipped.back() ^= 1;
    for (const std::string& wrong :
         {std::string(), std::string("Bearer"), std::string("Bearer "), token, "Basic " + token,
          "Bearer  " + token, good + " ", good + "x", good.substr(0, good.size() - 1), flipped,
          "Bearer " + token.substr(1) + "0"}) {
        EXPECT_FALSE(http::bearer_matches(wrong, token)) << "'" << wrong << "'";
    }
    EXPECT_FALSE(http::bearer_matches("Bearer ", ""));  // an empty token never matches
}

}  // namespace
}  // namespace em::admin
