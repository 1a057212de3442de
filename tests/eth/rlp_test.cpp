// RLP: canonical vectors (Ethereum wiki / yellow paper examples), every kind of non-canonical
// input the decoder must reject (with offset and reason), and encoder/decoder agreement with the
// reference implementation on random nested structures.
#include "eth/rlp.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "reference.h"

namespace em::eth {
namespace {

using ref::B;

B bytes_of(const std::string& s) {
    return B(s.begin(), s.end());
}

B encode_string(const B& s) {
    B out(rlp_string_bytes(Bytes(s)));
    uint8_t* end = rlp_put_string(out.data(), Bytes(s));
    EXPECT_EQ(end, out.data() + out.size());
    return out;
}

B encode_u64(uint64_t v) {
    B out(rlp_u64_bytes(v));
    uint8_t* end = rlp_put_u64(out.data(), v);
    EXPECT_EQ(end, out.data() + out.size());
    return out;
}

TEST(Rlp, StringVectors) {
    EXPECT_EQ(encode_string({}), (B{0x80}));
    EXPECT_EQ(encode_string(bytes_of("dog")), (B{0x83, 'd', 'o', 'g'}));
    EXPECT_EQ(encode_string({0x00}), (B{0x00}));
    EXPECT_EQ(encode_string({0x7f}), (B{0x7f}));
    EXPECT_EQ(encode_string({0x80}), (B{0x81, 0x80}));
    B s55(55, 'a');
    B e55 = encode_string(s55);
    EXPECT_EQ(e55.size(), 56u);
    EXPECT_EQ(e55[0], 0xb7);
    std::string lorem = "Lorem ipsum dolor sit amet, consectetur adipisicing elit";
    B e56 = encode_string(bytes_of(lorem));
    ASSERT_EQ(e56.size(), 58u);
    EXPECT_EQ(e56[0], 0xb8);
    EXPECT_EQ(e56[1], 0x38);
    B e1024 = encode_string(B(1024, 1));
    EXPECT_EQ(e1024[0], 0xb9);
    EXPECT_EQ(e1024[1], 0x04);
    EXPECT_EQ(e1024[2], 0x00);
}

TEST(Rlp, IntegerVectors) {
    EXPECT_EQ(encode_u64(0), (B{0x80}));
    EXPECT_EQ(encode_u64(15), (B{0x0f}));
    EXPECT_EQ(encode_u64(0x7f), (B{0x7f}));
    EXPECT_EQ(encode_u64(0x80), (B{0x81, 0x80}));
    EXPECT_EQ(encode_u64(1024), (B{0x82, 0x04, 0x00}));
    EXPECT_EQ(encode_u64(UINT64_MAX), (B{0x88, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}));
    uint8_t be[32] = {};
    be[30] = 0x01;
    be[31] = 0x00;
    B out(rlp_uint_be_bytes(Bytes(be, 32)));
    rlp_put_uint_be(out.data(), Bytes(be, 32));
    EXPECT_EQ(out, (B{0x82, 0x01, 0x00}));
    uint8_t zero[32] = {};
    EXPECT_EQ(rlp_uint_be_bytes(Bytes(zero, 32)), 1u);
}

TEST(Rlp, ListVectors) {
    // [ [], [[]], [ [], [[]] ] ]  (the set-theoretic representation of three)
    B three = {0xc7, 0xc0, 0xc1, 0xc0, 0xc3, 0xc0, 0xc1, 0xc0};
    EXPECT_EQ(
        ref::rlp_list({ref::rlp_list({}), ref::rlp_list({ref::rlp_list({})}),
                       ref::rlp_list({ref::rlp_list({}), ref::rlp_list({ref::rlp_list({})})})}),
        three);
    ASSERT_TRUE(rlp_validate(Bytes(three)));
    B header(rlp_list_header_bytes(8));
    rlp_put_list_header(header.data(), 8);
    EXPECT_EQ(header, (B{0xc8}));
    B long_header(rlp_list_header_bytes(56));
    rlp_put_list_header(long_header.data(), 56);
    EXPECT_EQ(long_header, (B{0xf8, 0x38}));
    // ["cat", "dog"]
    B cat_dog = {0xc8, 0x83, 'c', 'a', 't', 0x83, 'd', 'o', 'g'};
    auto root = rlp_decode_one(Bytes(cat_dog));
    ASSERT_TRUE(root);
    EXPECT_TRUE(root->is_list);
    RlpListReader reader(Bytes(cat_dog), *root);
    auto first = reader.next();
    ASSERT_TRUE(first);
    EXPECT_EQ(B(first->payload.begin(), first->payload.end()), bytes_of("cat"));
    EXPECT_EQ(first->offset, 1u);
    auto second = reader.next();
    ASSERT_TRUE(second);
    EXPECT_EQ(B(second->payload.begin(), second->payload.end()), bytes_of("dog"));
    EXPECT_TRUE(reader.done());
}

void expect_reject(const B& input, const std::string& message) {
    auto r = rlp_validate(Bytes(input));
    ASSERT_FALSE(r) << "accepted " << ref::hex(input);
    EXPECT_EQ(r.error().message(), message) << ref::hex(input);
    EXPECT_EQ(r.error().code(), Errc::invalid_input);
}

TEST(Rlp, RejectsNonCanonical) {
    expect_reject({}, "rlp: offset 0: unexpected end of input");
    expect_reject({0x81, 0x00}, "rlp: offset 0: single byte below 0x80 must not have a prefix");
    expect_reject({0x81, 0x7f}, "rlp: offset 0: single byte below 0x80 must not have a prefix");
    B long_short = {0xb8, 0x05, 1, 2, 3, 4, 5};
    expect_reject(long_short, "rlp: offset 0: long form used for a length <= 55");
    B zero_len(3 + 64, 7);
    zero_len[0] = 0xb9;
    zero_len[1] = 0x00;
    zero_len[2] = 0x40;
    expect_reject(zero_len, "rlp: offset 1: leading zero byte in length");
    B long_list = {0xf8, 0x02, 0x80, 0x80};
    expect_reject(long_list, "rlp: offset 0: long form used for a length <= 55");
    B zero_list(3 + 56, 0x80);
    zero_list[0] = 0xf9;
    zero_list[1] = 0x00;
    zero_list[2] = 0x38;
    expect_reject(zero_list, "rlp: offset 1: leading zero byte in length");
    expect_reject({0x83, 'd', 'o'}, "rlp: offset 0: length exceeds input");
    expect_reject({0xb8}, "rlp: offset 0: length of length exceeds input");
    expect_reject({0xbb, 0x01, 0x00}, "rlp: offset 0: length of length exceeds input");
    expect_reject({0x80, 0x80}, "rlp: offset 1: trailing bytes after the item");
    expect_reject({0xc2, 0x83, 'a'}, "rlp: offset 1: length exceeds input");
    expect_reject({0xc3, 0x81, 0x05, 0x80},
                  "rlp: offset 1: single byte below 0x80 must not have a prefix");
    // A child that runs past its parent list but not past the input.
    expect_reject({0xc4, 0xc1, 0x82, 'a', 'b'},
                  "rlp: offset 2: item runs past the end of its list");
    B long_child = {0xc4, 0xc1, 0xb8, 0x38, 0x00};
    expect_reject(long_child, "rlp: offset 2: length of length exceeds input");
    B past_parent(2 + 2 + 2 + 56, 0x00);
    past_parent[0] = 0xf8;
    past_parent[1] = 60;
    past_parent[2] = 0xc2;  // inner list of 2 bytes holding a 56-byte string header
    past_parent[3] = 0xb8;
    past_parent[4] = 56;
    expect_reject(past_parent, "rlp: offset 3: item runs past the end of its list");
}

TEST(Rlp, RejectsTooDeep) {
    B deep;
    // 200 nested lists, innermost empty: each level adds a header byte.
    B inner = {0xc0};
    for (int i = 0; i < 200; i++) inner = ref::rlp_list({inner});
    auto r = rlp_validate(Bytes(inner), rlp_depth_max);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("nesting too deep"), std::string_view::npos);
    EXPECT_TRUE(rlp_validate(Bytes(inner), 250));
}

TEST(Rlp, Integers) {
    auto as_u64 = [](const B& b) { return rlp_to_u64(*rlp_decode_one(Bytes(b))); };
    EXPECT_EQ(*as_u64({0x80}), 0u);
    EXPECT_EQ(*as_u64({0x05}), 5u);
    EXPECT_EQ(*as_u64({0x82, 0x04, 0x00}), 1024u);
    EXPECT_EQ(as_u64({0x00}).error().message(), "rlp: offset 0: leading zero byte in integer");
    EXPECT_EQ(as_u64({0x82, 0x00, 0x01}).error().message(),
              "rlp: offset 1: leading zero byte in integer");
    EXPECT_EQ(as_u64({0x89, 1, 2, 3, 4, 5, 6, 7, 8, 9}).error().message(),
              "rlp: offset 0: integer wider than 64 bits");
    EXPECT_EQ(as_u64({0xc0}).error().message(), "rlp: offset 0: expected an integer, got a list");
}

TEST(Rlp, ByteBufferAppendIsBounded) {
    ByteBuffer out(16, 16);
    ASSERT_TRUE(rlp_append_list_header(out, 4));
    ASSERT_TRUE(rlp_append_u64(out, 1024));
    ASSERT_TRUE(rlp_append_string(out, Bytes(bytes_of("x"))));
    EXPECT_EQ(B(out.bytes().begin(), out.bytes().end()), (B{0xc4, 0x82, 0x04, 0x00, 'x'}));
    EXPECT_FALSE(rlp_append_string(out, Bytes(B(20, 1))));
    EXPECT_TRUE(out.overflowed());
}

// Random nested structure encoded by the reference; the product must accept it and agree on
// every string's encoding.
B random_item(std::mt19937_64& rng, int depth, size_t& strings) {
    if (depth > 4 || rng() % 3 != 0) {
        strings++;
        size_t len = rng() % 4 == 0 ? rng() % 2 : rng() % 80;
        B s = ref::random_bytes(rng, len);
        B mine = encode_string(s);
        EXPECT_EQ(mine, ref::rlp_string(s));
        return ref::rlp_string(s);
    }
    std::vector<B> items;
    size_t n = rng() % 6;
    for (size_t i = 0; i < n; i++) items.push_back(random_item(rng, depth + 1, strings));
    return ref::rlp_list(items);
}

TEST(Rlp, RandomStructuresRoundTrip) {
    std::mt19937_64 rng(7);
    for (int i = 0; i < 2000; i++) {
        size_t strings = 0;
        B item = random_item(rng, 0, strings);
        ASSERT_TRUE(rlp_validate(Bytes(item))) << ref::hex(item);
        // Any single-byte truncation breaks it.
        if (item.size() > 1) {
            B cut(item.begin(), item.end() - 1);
            EXPECT_FALSE(rlp_validate(Bytes(cut)));
        }
        uint64_t v = rng() >> (rng() % 64);
        EXPECT_EQ(encode_u64(v), ref::rlp_uint(v));
        EXPECT_EQ(*rlp_to_u64(*rlp_decode_one(Bytes(ref::rlp_uint(v)))), v);
    }
}

}  // namespace
}  // namespace em::eth
