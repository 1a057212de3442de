#include "base/buffer.h"

#include <gtest/gtest.h>

#include <string>

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

TEST(ByteBuffer, ShrinkToGivesMemoryBackAndKeepsTheContent) {
    ByteBuffer b(64u << 20, 4096);
    b.append(std::string(3u << 20, 'x'));
    EXPECT_GE(b.capacity(), 3u << 20);
    EXPECT_FALSE(b.shrink_to(4096));  // the content does not fit
    b.consume_front((3u << 20) - 10);
    ASSERT_TRUE(b.shrink_to(4096));
    EXPECT_EQ(b.capacity(), 4096u);
    EXPECT_EQ(b.view(), std::string(10, 'x'));
    EXPECT_FALSE(b.shrink_to(4096));  // already that small
    EXPECT_TRUE(b.append(std::string(100, 'y')));
    EXPECT_EQ(b.size(), 110u);
    b.clear();
    ASSERT_TRUE(b.shrink_to(0));  // nothing held at all
    EXPECT_EQ(b.capacity(), 0u);
    EXPECT_TRUE(b.append("again"));
    EXPECT_EQ(b.view(), "again");
}

TEST(ByteBuffer, ReleaseIfGrownGivesALargeBufferBackAndKeepsASmallOne) {
    ByteBuffer b(64u << 20, 256);
    b.append(std::string(3u << 20, 'x'));
    ASSERT_GE(b.capacity(), 3u << 20);
    b.release_if_grown(1u << 20, 256);
    EXPECT_TRUE(b.empty());
    EXPECT_EQ(b.capacity(), 256u);
    b.append(std::string(1000, 'y'));
    size_t grown = b.capacity();
    b.release_if_grown(1u << 20, 256);
    EXPECT_EQ(b.capacity(), grown);  // small enough to keep: steady state allocates nothing
    EXPECT_EQ(b.size(), 1000u);
}

}  // namespace
}  // namespace em
