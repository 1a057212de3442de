// Label sets for /metrics (admin/exposition.h): values escaped per the Prometheus text format
// (backslash, double quote, line feed), pairs that do not fit dropped whole.
#include "admin/exposition.h"

#include <gtest/gtest.h>

#include <string>

namespace em::admin {
namespace {

TEST(Appendf, AppendsTextOfAnyLengthWhole) {
    ByteBuffer out(1u << 20);
    appendf(out, "%s %d\n", "short", 1);
    EXPECT_EQ(out.view(), "short 1\n");
    std::string help(3000, 'h');  // a block of several metrics formatted at once
    out.clear();
    appendf(out, "# HELP a %s\n# TYPE a counter\na %llu\n", help.c_str(), 42ull);
    EXPECT_EQ(out.view(), "# HELP a " + help + "\n# TYPE a counter\na 42\n");
    appendf(out, "%s", "");
    EXPECT_EQ(out.view(), "# HELP a " + help + "\n# TYPE a counter\na 42\n") << "nothing for \"\"";
}

TEST(LabelSet, JoinsPairsAndEscapesValues) {
    LabelSet plain;
    EXPECT_EQ(plain.text(), "");
    plain.add("node", "el1").add("method", "engine_newPayloadV4");
    EXPECT_EQ(plain.text(), R"(node="el1",method="engine_newPayloadV4")");
    EXPECT_TRUE(plain.ok());

    LabelSet hostile;
    hostile.add("node", "a\"} 1\nforged_metric{x=\"\\");
    EXPECT_EQ(hostile.text(), R"(node="a\"} 1\nforged_metric{x=\"\\")");
    EXPECT_EQ(hostile.text().find('\n'), std::string_view::npos);
    EXPECT_EQ(escaped_label_value_bytes("a\"b\\c\nd"), 10u);
    EXPECT_EQ(escaped_label_value_bytes("plain"), 5u);
}

TEST(LabelSet, APairThatDoesNotFitIsDroppedWhole) {
    LabelSet set;
    set.add("node", "el1");
    std::string quotes(LabelSet::bytes_max / 2, '"');  // escapes to bytes_max bytes
    set.add("big", quotes);
    EXPECT_FALSE(set.ok());
    EXPECT_EQ(set.text(), R"(node="el1")");
    std::string fits(LabelSet::bytes_max - 4, 'x');  // a="..." fills it exactly
    LabelSet full;
    full.add("a", fits);
    EXPECT_TRUE(full.ok());
    EXPECT_EQ(full.text().size(), LabelSet::bytes_max);
}

}  // namespace
}  // namespace em::admin
