// The one name rule (base/name.h): [A-Za-z0-9._-], 1..63 characters; errors name the first
// offending character (in hex when it is not printable) and never repeat the name.
#include "base/name.h"

#include <gtest/gtest.h>

#include <string>

namespace em {
namespace {

TEST(NameRule, AcceptsTheSafeCharset) {
    EXPECT_TRUE(check_name("el1"));
    EXPECT_TRUE(check_name("host-a.eu_1"));
    EXPECT_TRUE(check_name("A.Z-a_z.0-9"));
    EXPECT_TRUE(check_name(std::string(name_chars_max, 'a')));
    for (char c = 0; c >= 0 && c < 127; c++) {
        bool expect = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '_' || c == '-';
        EXPECT_EQ(name_char_allowed(c), expect) << static_cast<int>(c);
        EXPECT_EQ(check_name(std::string("a") + c).has_value(), expect) << static_cast<int>(c);
    }
}

TEST(NameRule, LengthIsOneToSixtyThree) {
    auto empty = check_name("");
    ASSERT_FALSE(empty);
    EXPECT_EQ(empty.error().code(), Errc::invalid_input);
    EXPECT_EQ(empty.error().message(), "a name must have 1..63 characters (has 0)");
    auto long_name = check_name(std::string(64, 'a'));
    ASSERT_FALSE(long_name);
    EXPECT_EQ(long_name.error().message(), "a name must have 1..63 characters (has 64)");
}

TEST(NameRule, ErrorsNameTheCharacterAndItsOffsetButNeverTheName) {
    struct Case {
        std::string name;
        const char* expect;
    } cases[] = {
        {"ev\"il", "character '\"' at offset 2 is not allowed in a name (use A-Z a-z 0-9 . _ -)"},
        {"a\nforged 1",
         "character 0x0a at offset 1 is not allowed in a name (use A-Z a-z 0-9 . _ -)"},
        {"my node", "character 0x20 at offset 2 is not allowed in a name (use A-Z a-z 0-9 . _ -)"},
        {"a\\b", "character '\\' at offset 1 is not allowed in a name (use A-Z a-z 0-9 . _ -)"},
        {"x}y", "character '}' at offset 1 is not allowed in a name (use A-Z a-z 0-9 . _ -)"},
        {"caf\xc3\xa9",
         "character 0xc3 at offset 3 is not allowed in a name (use A-Z a-z 0-9 . _ -)"},
        {std::string("nul\0", 4),
         "character 0x00 at offset 3 is not allowed in a name (use A-Z a-z 0-9 . _ -)"},
    };
    for (const Case& c : cases) {
        auto r = check_name(c.name);
        ASSERT_FALSE(r) << c.name;
        EXPECT_EQ(r.error().message(), c.expect);
    }
}

}  // namespace
}  // namespace em
