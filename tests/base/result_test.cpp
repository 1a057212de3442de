#include "base/result.h"

#include <gtest/gtest.h>

#include <string>

namespace em {
namespace {

Result<int> parse_positive(int v) {
    if (v <= 0) return failf(Errc::invalid_input, "value %d is not positive", v);
    return v;
}

Result<int> doubled(int v) {
    int x = EM_TRY(parse_positive(v));
    return 2 * x;
}

TEST(Result, PropagatesErrorsAndValues) {
    EXPECT_EQ(*doubled(4), 8);
    auto r = doubled(-3);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), Errc::invalid_input);
    EXPECT_EQ(r.error().message(), "value -3 is not positive");
}

TEST(Result, MessageIsTruncatedNotOverflowed) {
    std::string long_text(500, 'x');
    Error e(Errc::too_large, long_text);
    EXPECT_EQ(e.message().size(), Error::message_bytes_max);
    e.prefix("params[0]");
    EXPECT_EQ(e.message().substr(0, 11), "params[0]: ");
    EXPECT_EQ(e.message().size(), Error::message_bytes_max);
}

TEST(Result, SysErrorCarriesErrno) {
    Error e = Error::sys(2, "open config.toml");
    EXPECT_EQ(e.code(), Errc::io);
    EXPECT_EQ(e.sys_errno(), 2);
    EXPECT_EQ(e.message(), "open config.toml: No such file or directory");
}

}  // namespace
}  // namespace em
