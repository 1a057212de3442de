#include "base/buffer.h"

#include <gtest/gtest.h>

namespace em {
namespace {

TEST(ByteBuffer, GrowsToLimitThenRefuses) {
    ByteBuffer b(1000, 16);
    std::string chunk(300, 'a');
    EXPECT_TRUE(b.append(chunk));
    EXPECT_TRUE(b.append(chunk));
    EXPECT_TRUE(b.append(chunk));
    EXPECT_FALSE(b.append(chunk));
    EXPECT_TRUE(b.overflowed());
    EXPECT_EQ(b.size(), 900u);
    EXPECT_LE(b.capacity(), 1000u);
    b.clear();
    EXPECT_FALSE(b.overflowed());
}

TEST(ByteBuffer, NumbersAndConsume) {
    ByteBuffer b;
    b.append_u64(0);
    b.push_back(' ');
    b.append_i64(-1234567890123);
    b.push_back(' ');
    b.append_u64(UINT64_MAX);
    EXPECT_EQ(b.view(), "0 -1234567890123 18446744073709551615");
    b.consume_front(2);
    EXPECT_EQ(b.view().substr(0, 3), "-12");
}

TEST(ByteBuffer, ReuseDoesNotReallocate) {
    ByteBuffer b(1 << 20, 64);
    b.append(std::string(5000, 'x'));
    const char* p = b.data();
    for (int i = 0; i < 100; i++) {
        b.clear();
        b.append(std::string(5000, 'y'));
    }
    EXPECT_EQ(p, b.data());
}

}  // namespace
}  // namespace em
