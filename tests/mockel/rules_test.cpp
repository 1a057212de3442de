// Unit tests of the mock EL's rule language (src/mockel/rules.h) and quantity helpers.
#include "mockel/rules.h"

#include <gtest/gtest.h>

#include <string>

#include "base/hex.h"
#include "mockel/amounts.h"

namespace em::mockel {
namespace {

Rule parse_ok(std::string_view text) {
    Rule r;
    auto ok = parse_rule(text, &r);
    EXPECT_TRUE(ok) << text << ": " << (ok ? "" : ok.error().c_str());
    return r;
}

std::string parse_error(std::string_view text) {
    Rule r;
    auto ok = parse_rule(text, &r);
    EXPECT_FALSE(ok) << text << " should be rejected";
    return ok ? std::string() : std::string(ok.error().message());
}

TEST(Glob, Matches) {
    EXPECT_TRUE(glob_match("engine_newPayloadV1", "engine_newPayloadV1"));
    EXPECT_FALSE(glob_match("engine_newPayloadV1", "engine_newPayloadV12"));
    EXPECT_TRUE(glob_match("engine_newPayload*", "engine_newPayloadV3"));
    EXPECT_TRUE(glob_match("engine_newPayload*", "engine_newPayload"));
    EXPECT_FALSE(glob_match("engine_newPayload*", "engine_forkchoiceUpdatedV1"));
    EXPECT_TRUE(glob_match("*", "anything"));
    EXPECT_TRUE(glob_match("*V3", "engine_getPayloadV3"));
    EXPECT_FALSE(glob_match("*V3", "engine_getPayloadV3x"));
    EXPECT_TRUE(glob_match("engine_*Payload*V*", "engine_getPayloadV5"));
    EXPECT_TRUE(glob_match("a*b*c", "aXXbYYbZZc"));
    EXPECT_FALSE(glob_match("a*b*c", "aXXbYYbZZ"));
    EXPECT_FALSE(glob_match("", "x"));
}

TEST(ParseRule, EveryAction) {
    Rule r = parse_ok(
        " engine_newPayload* : status=INVALID , validation_error=bad tx\\, 2\\\\3 ,"
        "lvh=parent, delay=250, http=503, huge=4096, wrong_id, times=3, after=2");
    EXPECT_EQ(r.pattern_text(), "engine_newPayload*");
    EXPECT_TRUE(r.action.has_status);
    EXPECT_EQ(r.action.status, Status::invalid);
    EXPECT_EQ(r.action.validation_error_text(), "bad tx, 2\\3");
    EXPECT_EQ(r.action.lvh, Lvh::parent);
    EXPECT_EQ(r.action.delay_ms, 250u);
    EXPECT_EQ(r.action.http_status, 503);
    EXPECT_EQ(r.action.huge_bytes, 4096u);
    EXPECT_TRUE(r.action.wrong_id);
    EXPECT_EQ(r.times, 3u);
    EXPECT_EQ(r.after, 2u);

    Rule e = parse_ok("eth_*:error=-38001:no such payload\\, sorry");
    EXPECT_TRUE(e.action.has_error);
    EXPECT_EQ(e.action.error_code, -38001);
    EXPECT_EQ(e.action.error_message_text(), "no such payload, sorry");
    EXPECT_EQ(parse_ok("x:error=-32000").action.error_message_text(), "");

    Rule l = parse_ok("x:lvh=0x" + std::string(62, '0') + "ff");
    EXPECT_EQ(l.action.lvh, Lvh::fixed);
    EXPECT_EQ(l.action.lvh_hash[31], 0xff);
    EXPECT_EQ(parse_ok("x:lvh=null").action.lvh, Lvh::null);
    EXPECT_EQ(parse_ok("x:lvh=block").action.lvh, Lvh::block);

    EXPECT_EQ(parse_ok("x:hang").action.transport, Transport::hang);
    EXPECT_EQ(parse_ok("x:close,delay=5").action.transport, Transport::close);
    EXPECT_EQ(parse_ok("x:reset").action.transport, Transport::reset);
    EXPECT_EQ(parse_ok("x:garbage").action.transport, Transport::garbage);
    EXPECT_TRUE(parse_ok("x:no_payload_id").action.no_payload_id);
    EXPECT_TRUE(parse_ok("x:syncing").action.syncing);
    EXPECT_TRUE(parse_ok("engine_getPayload*:bad_hash,delay=10").action.bad_hash);
    EXPECT_FALSE(parse_ok("x:syncing").action.bad_hash);
    EXPECT_TRUE(parse_ok("x:block_value=1000").action.has_block_value);
    EXPECT_EQ(parse_ok("x:block_value=1000").action.block_value, U256::from_u64(1000));
    EXPECT_EQ(parse_ok("x:lvh=0x" + std::string(64, 'A')).action.lvh_hash[31], 0xaa);
    EXPECT_EQ(parse_ok("x:status=INVALID_BLOCK_HASH").action.status, Status::invalid_block_hash);
    EXPECT_EQ(parse_ok("x:status=ACCEPTED").action.status, Status::accepted);
    EXPECT_EQ(parse_ok("x:status=SYNCING").action.status, Status::syncing);
}

TEST(ParseRule, RejectsBadRulesNamingTheProblem) {
    EXPECT_NE(parse_error("").find("empty"), std::string::npos);
    EXPECT_NE(parse_error("eth_chainId").find("':'"), std::string::npos);
    EXPECT_NE(parse_error(":status=VALID").find("pattern"), std::string::npos);
    EXPECT_NE(parse_error("eth-chainId:hang").find("only letters"), std::string::npos);
    EXPECT_NE(parse_error("x:status=valid").find("status=valid"), std::string::npos);
    EXPECT_NE(parse_error("x:frob").find("unknown action"), std::string::npos);
    EXPECT_NE(parse_error("x:hang,hang").find("twice"), std::string::npos);
    EXPECT_NE(parse_error("x:hang=1").find("takes no value"), std::string::npos);
    EXPECT_NE(parse_error("x:delay").find("needs"), std::string::npos);
    EXPECT_NE(parse_error("x:delay=abc").find("decimal"), std::string::npos);
    EXPECT_NE(parse_error("x:delay=99999999999").find("too large"), std::string::npos);
    EXPECT_NE(parse_error("x:huge=999999999999").find("too large"), std::string::npos);
    EXPECT_NE(parse_error("x:http=204").find("204"), std::string::npos);
    EXPECT_NE(parse_error("x:http=99").find("200..599"), std::string::npos);
    EXPECT_NE(parse_error("x:lvh=0x12").find("lvh"), std::string::npos);
    EXPECT_NE(parse_error("x:lvh=0x" + std::string(64, 'g')).find("hex"), std::string::npos);
    EXPECT_NE(parse_error("x:error=abc").find("decimal"), std::string::npos);
    EXPECT_NE(parse_error("x:error=-99999999999").find("large"), std::string::npos);
    EXPECT_NE(parse_error("x:validation_error=a\\b").find("escape"), std::string::npos);
    EXPECT_NE(parse_error("x:validation_error=" + std::string(300, 'a')).find("256"),
              std::string::npos);
    EXPECT_NE(parse_error("x:block_value=0xzz").find("block_value"), std::string::npos);
    EXPECT_NE(parse_error("x:times=0").find("at least 1"), std::string::npos);
    EXPECT_NE(parse_error("x:status=VALID,,hang").find("empty action"), std::string::npos);
    // Contradictions.
    EXPECT_NE(parse_error("x:times=2,after=1").find("nothing would change"), std::string::npos);
    EXPECT_NE(parse_error("x:close,reset").find("at most one"), std::string::npos);
    EXPECT_NE(parse_error("x:http=500,garbage").find("at most one"), std::string::npos);
    EXPECT_NE(parse_error("x:close,status=VALID").find("no JSON answer"), std::string::npos);
    EXPECT_NE(parse_error("x:hang,delay=3").find("hang"), std::string::npos);
    EXPECT_NE(parse_error("x:error=-32000,status=INVALID").find("error="), std::string::npos);
    EXPECT_NE(parse_error("x:error=-32000,bad_hash").find("error="), std::string::npos);
    EXPECT_NE(parse_error("x:hang,bad_hash").find("no JSON answer"), std::string::npos);
    EXPECT_NE(parse_error("x:bad_hash=1").find("takes no value"), std::string::npos);
    EXPECT_NE(parse_error(std::string(200, 'm') + ":hang").find("pattern"), std::string::npos);
}

TEST(RuleSet, TimesAfterAndFirstMatchWins) {
    RuleSet set;
    Rule a = parse_ok("engine_newPayload*:status=INVALID,after=1,times=2");
    Rule b = parse_ok("engine_*:status=SYNCING");
    ASSERT_TRUE(set.add(a));
    ASSERT_TRUE(set.add(b));
    Action out;
    std::string statuses;
    for (int i = 0; i < 5; i++) {
        ASSERT_TRUE(set.match("engine_newPayloadV1", &out));
        statuses += std::string(status_name(out.status)) + " ";
    }
    EXPECT_EQ(statuses, "SYNCING INVALID INVALID SYNCING SYNCING ");
    EXPECT_FALSE(set.match("eth_chainId", &out));
    // Every matching rule counts a call even when an earlier rule applied.
    EXPECT_EQ(set[1].seen, 5u);
    EXPECT_EQ(set[0].seen, 5u);
}

TEST(RuleSet, LimitAndTextParsing) {
    RuleSet set;
    for (size_t i = 0; i < rules_max; i++) ASSERT_TRUE(set.add(parse_ok("x:hang")));
    auto full = set.add(parse_ok("x:hang"));
    ASSERT_FALSE(full);
    EXPECT_EQ(full.error().code(), Errc::too_large);

    RuleSet text;
    size_t line = 0;
    ASSERT_TRUE(
        parse_rules_text("# comment\n\n  eth_chainId:close  \r\nengine_*:delay=5\n", &text, &line));
    EXPECT_EQ(text.size(), 2u);
    RuleSet bad;
    auto r = parse_rules_text("eth_chainId:close\n# ok\nengine_*:delay=x\n", &bad, &line);
    ASSERT_FALSE(r);
    EXPECT_EQ(line, 3u);
    EXPECT_EQ(r.error().message().substr(0, 8), "line 3: ");
}

// Amounts typed by people: decimal or 0x-hex with leading zeros, below 2^256.
std::string wei(std::string_view text) {
    auto v = parse_wei(text);
    if (!v) return "error: " + std::string(v.error().message());
    char q[quantity_u256_chars_max];
    return std::string(q, format_quantity(*v, q));
}

TEST(Amounts, WeiAndU64) {
    EXPECT_EQ(wei("0"), "0x0");
    EXPECT_EQ(wei("1"), "0x1");
    EXPECT_EQ(wei("1000000000000000000"), "0xde0b6b3a7640000");
    EXPECT_EQ(wei("0x00FF"), "0xff");
    EXPECT_EQ(wei("0X" + std::string(70, '0') + "1"), "0x1");
    std::string max =
        "115792089237316195423570985008687907853269984665640564039457584007913129639935";
    EXPECT_EQ(wei(max), "0x" + std::string(64, 'f'));
    EXPECT_EQ(wei("0x" + std::string(64, 'F')), "0x" + std::string(64, 'f'));
    EXPECT_EQ(wei("115792089237316195423570985008687907853269984665640564039457584007913129639936"),
              "error: amount does not fit 256 bits");
    EXPECT_EQ(wei("0x1" + std::string(64, '0')), "error: amount does not fit 256 bits");
    EXPECT_EQ(wei("0x1g"), "error: amount has a non-hex digit");
    EXPECT_EQ(wei(""), "error: empty amount");
    EXPECT_EQ(wei("0x"), "error: amount is not decimal (or 0x-hex)");
    EXPECT_EQ(wei("-1"), "error: amount is not decimal (or 0x-hex)");
    uint64_t v = 0;
    EXPECT_TRUE(parse_u64_flexible("18446744073709551615", &v));
    EXPECT_EQ(v, UINT64_MAX);
    EXPECT_FALSE(parse_u64_flexible("18446744073709551616", &v));
    EXPECT_TRUE(parse_u64_flexible("0x10", &v));
    EXPECT_EQ(v, 16u);
    EXPECT_TRUE(parse_u64_flexible("0XFFFFFFFFFFFFFFFF", &v));
    EXPECT_EQ(v, UINT64_MAX);
    EXPECT_FALSE(parse_u64_flexible("0x1FFFFFFFFFFFFFFFF", &v));
    EXPECT_FALSE(parse_u64_flexible("0x", &v));
    EXPECT_FALSE(parse_u64_flexible("", &v));
}

}  // namespace
}  // namespace em::mockel
