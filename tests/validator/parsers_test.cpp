// Strict parsers and writers of the validator guard: priv_validator_state.json (cmtjson types),
// the high-watermark rule, CometBFT /status and /net_info (the testdata bodies), RFC 3339 times,
// base64, the peer messages and the guard's record.
#include <gtest/gtest.h>

#include <string>

#include "common/testdata.h"
#include "validator/base64.h"
#include "validator/messages.h"
#include "validator/rpc.h"
#include "validator/sign_state.h"

namespace em::validator {
namespace {

JsonParser parser(1 << 20);

Result<SignState> state(std::string_view json) {
    return parse_sign_state(json, parser);
}

std::string error_of(std::string_view json) {
    auto s = state(json);
    return s ? std::string("(accepted)") : std::string(s.error().message());
}

TEST(SignState, ParsesTheMinimalFileAndARealOne) {
    auto s = state(R"({"height":"0","round":0,"step":0})");
    ASSERT_TRUE(s) << s.error().c_str();
    EXPECT_EQ(s->hrs, (Hrs{0, 0, 0}));
    EXPECT_EQ(s->signature_chars, 0);
    // Shape of a real file (horcrux docs/migrating.md): lowercase hex is accepted and kept.
    auto r = state(R"({
  "height": "1353000",
  "round": 2,
  "step": 3,
  "signature": "7F6T7Rez1XQOdVVqvK/vzXKPh0y0BtpHPZNJW8S4MCz/xVUqJqD8V8l5XSLh8E1IpmVGDd2G/a8KG1Cq6IOvAg==",
  "signbytes": "76080211284a14000000000022480a20ab"
})");
    ASSERT_TRUE(r) << r.error().c_str();
    EXPECT_EQ(r->hrs, (Hrs{1353000, 2, 3}));
    EXPECT_EQ(r->signbytes_hex(), "76080211284a14000000000022480a20ab");
    EXPECT_EQ(r->signature_chars, 88);
}

TEST(SignState, RoundTripsThroughTheWriterKeepingSignatureAndSignBytes) {
    auto s = state(R"({"height":"42","round":1,"step":2,"signature":"AAAA","signbytes":"0A0B"})");
    ASSERT_TRUE(s);
    ByteBuffer out(4096, 256);
    write_sign_state(*s, out);
    EXPECT_EQ(out.view(),
              R"({"height":"42","round":1,"step":2,"signature":"AAAA","signbytes":"0A0B"})");
    auto again = state(out.view());
    ASSERT_TRUE(again);
    EXPECT_TRUE(again->same_as(*s));
}

TEST(SignState, RejectsWhatCometBftWouldNotWriteNamingTheField) {
    EXPECT_NE(
        error_of(R"({"height":42,"round":0,"step":0})").find("height: expected a decimal string"),
        std::string::npos);
    EXPECT_NE(error_of(R"({"height":"1","round":"0","step":0})")
                  .find("round: expected a number, got a string"),
              std::string::npos);
    EXPECT_NE(error_of(R"({"height":"1","round":0,"step":4})").find("step: 4 is outside 0..3"),
              std::string::npos);
    EXPECT_NE(
        error_of(R"({"height":"-1","round":0,"step":0})").find("height: must not be negative"),
        std::string::npos);
    EXPECT_NE(error_of(R"({"height":"01","round":0,"step":0})").find("height: leading zero"),
              std::string::npos);
    EXPECT_NE(error_of(R"({"height":"9223372036854775808","round":0,"step":0})").find("height"),
              std::string::npos);
    EXPECT_NE(error_of(R"({"height":"1","round":1.0,"step":0})").find("round: expected an integer"),
              std::string::npos);
    EXPECT_NE(error_of(R"({"height":"1","round":-1,"step":0})").find("round: -1 is outside"),
              std::string::npos);
    EXPECT_NE(error_of(R"({"height":"1","round":0})").find("missing field 'step'"),
              std::string::npos);
    EXPECT_NE(error_of(R"({"height":"1","height":"2","round":0,"step":0})")
                  .find("duplicate field 'height'"),
              std::string::npos);
    EXPECT_NE(
        error_of(R"({"height":"1","round":0,"step":0,"extra":1})").find("unknown field 'extra'"),
        std::string::npos);
    EXPECT_NE(error_of(R"({"height":"1","round":0,"step":0,"signbytes":"ABC"})")
                  .find("signbytes: odd number of hex digits"),
              std::string::npos);
    EXPECT_NE(error_of(R"({"height":"1","round":0,"step":0,"signbytes":"zz"})")
                  .find("signbytes: invalid hex digit"),
              std::string::npos);
    EXPECT_NE(error_of(R"({"height":"1","round":0,"step":0,"signature":"A==="})").find("signature"),
              std::string::npos);
    EXPECT_NE(error_of(R"({"height":"1","round":0,"step":0} x)").find("malformed JSON"),
              std::string::npos);
    EXPECT_NE(error_of(R"([1,2])").find("state: expected an object"), std::string::npos);
}

TEST(SignState, HrsOrderIsHeightThenRoundThenStep) {
    EXPECT_LT((Hrs{1, 9, 3}), (Hrs{2, 0, 0}));
    EXPECT_LT((Hrs{2, 0, 3}), (Hrs{2, 1, 0}));
    EXPECT_LT((Hrs{2, 1, 2}), (Hrs{2, 1, 3}));
}

TEST(HighWatermark, IsTheHighestOfLocalPeerAndChainPlusOnePlusMargin) {
    SignState local(Hrs{100, 0, 3});
    SignState h = high_watermark(local, nullptr, 120, 2);
    EXPECT_EQ(h.hrs, (Hrs{123, round_max, step_max}));
    EXPECT_EQ(h.signature_chars, 0);
    // A real state above the synthetic one wins whole, signature and sign bytes included.
    SignState peer(Hrs{130, 1, 2});
    ASSERT_TRUE(peer.set_signature("AAAA"));
    ASSERT_TRUE(peer.set_signbytes("0A"));
    h = high_watermark(local, &peer, 120, 2);
    EXPECT_TRUE(h.same_as(peer));
    SignState high_local(Hrs{140, 0, 1});
    h = high_watermark(high_local, &peer, 120, 2);
    EXPECT_TRUE(h.same_as(high_local));
    // Margin 0: chain height + 1 exactly.
    EXPECT_EQ(high_watermark(local, nullptr, 120, 0).hrs, (Hrs{121, round_max, step_max}));
}

TEST(Rpc, ParsesTheTestdataStatusBodies) {
    std::string readme =
        test::read_file(test::testdata_path("cometbft/status.spec-rpc-readme.json"));
    auto s = parse_status(readme, parser);
    ASSERT_TRUE(s) << s.error().c_str();
    EXPECT_EQ(s->latest_block_height, 5622165);
    EXPECT_FALSE(s->catching_up);
    EXPECT_EQ(s->pub_key_b64(), "Z+8kntVegi1sQiWLYwFSVLNWqdAUGEy7lskL78gxLZI=");
    EXPECT_EQ(s->pub_key_type_name(), "tendermint/PubKeyEd25519");
    EXPECT_EQ(s->voting_power, 0);
    EXPECT_EQ(s->latest_block_time_ns, *parse_rfc3339_ns("2021-03-25T14:00:43.356134226Z"));
    std::string openapi =
        test::read_file(test::testdata_path("cometbft/status.openapi-v0.38-examples.json"));
    auto o = parse_status(openapi, parser);
    ASSERT_TRUE(o) << o.error().c_str();
    EXPECT_EQ(o->latest_block_height, 1262196);
}

TEST(Rpc, ParsesTheTestdataNetInfoBodies) {
    for (const char* f : {"cometbft/net_info.spec-rpc-readme.json",
                          "cometbft/net_info.openapi-v0.38-examples.json"}) {
        auto peers = parse_net_info(test::read_file(test::testdata_path(f)), parser);
        ASSERT_TRUE(peers) << f << ": " << peers.error().c_str();
        EXPECT_EQ(*peers, 1) << f;
    }
}

TEST(Rpc, RejectsWrongTypesAndReportsRpcErrors) {
    auto e = parse_net_info(R"({"jsonrpc":"2.0","id":-1,"result":{"n_peers":3}})", parser);
    ASSERT_FALSE(e);
    EXPECT_NE(std::string(e.error().message()).find("result.n_peers: expected a decimal string"),
              std::string::npos);
    e = parse_net_info(
        R"({"jsonrpc":"2.0","id":-1,"error":{"code":-32603,"message":"node is shutting down"}})",
        parser);
    ASSERT_FALSE(e);
    EXPECT_NE(std::string(e.error().message()).find("RPC error: node is shutting down"),
              std::string::npos);
    auto s = parse_status(
        R"({"result":{"sync_info":{"latest_block_height":"1","latest_block_time":"yesterday","catching_up":false},"validator_info":{"pub_key":{"type":"t","value":"AAAA"},"voting_power":"0"}}})",
        parser);
    ASSERT_FALSE(s);
    EXPECT_NE(std::string(s.error().message()).find("latest_block_time"), std::string::npos);
    s = parse_status(
        R"({"result":{"sync_info":{"latest_block_height":"1","latest_block_time":"2021-03-25T14:00:43Z","catching_up":"no"},"validator_info":{"pub_key":{"type":"t","value":"AAAA"},"voting_power":"0"}}})",
        parser);
    ASSERT_FALSE(s);
    EXPECT_NE(std::string(s.error().message()).find("catching_up: expected a boolean"),
              std::string::npos);
}

TEST(Rpc, Rfc3339Times) {
    EXPECT_EQ(*parse_rfc3339_ns("1970-01-01T00:00:00Z"), 0);
    EXPECT_EQ(*parse_rfc3339_ns("2019-08-01T11:52:22.818762194Z"), 1564660342818762194ll);
    EXPECT_EQ(*parse_rfc3339_ns("2019-12-11T16:11:34Z"), 1576080694000000000ll);
    EXPECT_EQ(*parse_rfc3339_ns("1970-01-01T01:00:00+01:00"), 0);
    EXPECT_EQ(*parse_rfc3339_ns("2000-02-29T00:00:00.5Z"), 951782400500000000ll);
    EXPECT_FALSE(parse_rfc3339_ns("2019-08-01 11:52:22Z"));
    EXPECT_FALSE(parse_rfc3339_ns("2019-08-01T11:52:22"));
    EXPECT_FALSE(parse_rfc3339_ns("2019-13-01T11:52:22Z"));
    EXPECT_FALSE(parse_rfc3339_ns("2019-08-01T11:52:22.1234567890Z"));
    EXPECT_FALSE(parse_rfc3339_ns("2019-08-01T11:52:22.Z"));
}

TEST(Base64, Rfc4648VectorsAndStrictness) {
    const char* vectors[][2] = {{"", ""},
                                {"f", "Zg=="},
                                {"fo", "Zm8="},
                                {"foo", "Zm9v"},
                                {"foob", "Zm9vYg=="},
                                {"fooba", "Zm9vYmE="},
                                {"foobar", "Zm9vYmFy"}};
    for (auto& v : vectors) {
        ByteBuffer out(64, 64);
        std::string_view plain = v[0];
        base64_encode({reinterpret_cast<const uint8_t*>(plain.data()), plain.size()}, out);
        EXPECT_EQ(out.view(), v[1]);
        uint8_t back[16];
        auto n = base64_decode(v[1], back);
        ASSERT_TRUE(n);
        EXPECT_EQ(std::string_view(reinterpret_cast<char*>(back), *n), plain);
    }
    for (const char* bad : {"Zg", "Zg=", "Z===", "Zm9v=Zg=", "Zm9-", "Zm 9"})
        EXPECT_FALSE(base64_validate(bad)) << bad;
}

TEST(Messages, RoundTripAndStrictness) {
    PeerMessage m;
    m.type = MessageType::state;
    m.set_from("host-a");
    m.epoch = 7;
    m.status.role = Role::active;
    m.status.holding = m.status.bounded = m.status.healthy = m.status.preferred = true;
    m.status.healthy_for_ms = 1234;
    m.status.chain_height = 99;
    m.has_state = true;
    m.state = SignState(Hrs{100, 0, 2});
    ByteBuffer out(16384, 1024);
    write_message(m, out);
    auto back = parse_message(out.view(), parser);
    ASSERT_TRUE(back) << back.error().c_str() << " in " << std::string(out.view());
    EXPECT_EQ(back->from_name(), "host-a");
    EXPECT_EQ(back->epoch, 7u);
    EXPECT_EQ(back->status.role, Role::active);
    EXPECT_TRUE(back->status.bounded);
    EXPECT_EQ(back->status.healthy_for_ms, 1234u);
    EXPECT_EQ(back->state.hrs, (Hrs{100, 0, 2}));

    PeerReply r;
    r.ok = true;
    r.granted = true;
    r.ttl_ms = 5000;
    r.epoch = 8;
    r.holder = HolderView::you;
    out.clear();
    write_reply(r, out);
    auto rb = parse_reply(out.view(), parser);
    ASSERT_TRUE(rb) << rb.error().c_str();
    EXPECT_TRUE(rb->granted);
    EXPECT_EQ(rb->holder, HolderView::you);
    EXPECT_EQ(rb->ttl_ms, 5000u);

    std::string text(out.view());
    std::string unknown = text.substr(0, text.size() - 1) + ",\"x\":1}";
    EXPECT_FALSE(parse_reply(unknown, parser));
    // A beat must not carry a state; a state message must.
    m.type = MessageType::beat;
    out.clear();
    write_message(m, out);
    EXPECT_FALSE(parse_message(out.view(), parser));
    // Grants need a ttl.
    r.ttl_ms = 0;
    out.clear();
    write_reply(r, out);
    EXPECT_FALSE(parse_reply(out.view(), parser));
}

TEST(Messages, RecordAndNames) {
    ByteBuffer out(256, 256);
    write_record(GuardRecord{42, Holder::peer}, out);
    auto r = parse_record(out.view(), parser);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, (GuardRecord{42, Holder::peer}));
    EXPECT_FALSE(parse_record(R"({"epoch":"1","holder":"someone"})", parser));
    EXPECT_FALSE(parse_record(R"({"epoch":1,"holder":"self"})", parser));
    EXPECT_TRUE(check_name("host-a.eu_1"));
    EXPECT_FALSE(check_name("host a"));
    EXPECT_FALSE(check_name(""));
    EXPECT_FALSE(check_name(std::string(64, 'a')));
}

}  // namespace
}  // namespace em::validator
