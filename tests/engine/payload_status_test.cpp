// Parsing ELs' PayloadStatus / forkchoiceUpdated answers (good and each kind of malformed) and
// writing the CL's answer (round trip through simdjson).
#include <gtest/gtest.h>

#include <string>

#include <simdjson.h>

#include "engine/payload_status.h"

namespace em::engine {
namespace {

const char* hash_a = "0x3559e851470f6e7bbed1db474980683e8c315bfce99b2a6ef47c057c04de7858";

class PayloadStatusTest : public ::testing::Test {
  protected:
    Result<PayloadStatus> parse(const std::string& json, StatusSchema schema = StatusSchema::v1) {
        input_ = simdjson::padded_string(json);
        return parse_payload_status(parser_, input_, schema);
    }
    Result<ForkchoiceUpdatedAnswer> parse_fcu(const std::string& json,
                                              StatusSchema schema = StatusSchema::v1) {
        input_ = simdjson::padded_string(json);
        return parse_forkchoice_updated(parser_, input_, schema);
    }
    // Expects a malformed answer whose message contains `fragment`.
    void expect_bad(const std::string& json, const char* fragment,
                    StatusSchema schema = StatusSchema::v1) {
        auto r = parse(json, schema);
        ASSERT_FALSE(r.has_value()) << json;
        EXPECT_EQ(r.error().code(), Errc::invalid_input);
        EXPECT_NE(r.error().message().find(fragment), std::string_view::npos)
            << json << " -> " << r.error().message();
    }
    void expect_bad_fcu(const std::string& json, const char* fragment) {
        auto r = parse_fcu(json);
        ASSERT_FALSE(r.has_value()) << json;
        EXPECT_NE(r.error().message().find(fragment), std::string_view::npos)
            << json << " -> " << r.error().message();
    }

    simdjson::ondemand::parser parser_;
    simdjson::padded_string input_;
};

TEST_F(PayloadStatusTest, ParsesAValidAnswer) {
    auto r = parse(std::string(R"({"status":"VALID","latestValidHash":")") + hash_a +
                   R"(","validationError":null})");
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->status, Status::valid);
    ASSERT_TRUE(r->has_latest_valid_hash);
    EXPECT_EQ(r->latest_valid_hash[0], 0x35);
    EXPECT_EQ(r->latest_valid_hash[31], 0x58);
    EXPECT_TRUE(r->validation_error_json.empty());
    EXPECT_EQ(r->inclusion_list_satisfied, OptBool::null);
}

TEST_F(PayloadStatusTest, ParsesEveryStatusAndKeepsValidationErrorRaw) {
    auto r = parse(R"( { "validationError" : "bad \"block\"\u00e9" , "status":"INVALID",)"
                   R"( "latestValidHash":null } )");
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->status, Status::invalid);
    EXPECT_FALSE(r->has_latest_valid_hash);
    EXPECT_EQ(r->validation_error_json, R"("bad \"block\"\u00e9")");
    for (auto [text, status] : {std::pair{"SYNCING", Status::syncing},
                                {"ACCEPTED", Status::accepted},
                                {"INVALID_BLOCK_HASH", Status::invalid_block_hash}}) {
        auto s = parse(std::string(R"({"status":")") + text + R"("})");
        ASSERT_TRUE(s) << text;
        EXPECT_EQ(s->status, status);
        EXPECT_FALSE(s->has_latest_valid_hash);  // absent fields are null (spec schema)
    }
}

TEST_F(PayloadStatusTest, AcceptsUppercaseHexDigits) {
    std::string upper = "0x3559E851470F6E7BBED1DB474980683E8C315BFCE99B2A6EF47C057C04DE7858";
    auto r = parse(R"({"status":"VALID","latestValidHash":")" + upper + "\"}");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->latest_valid_hash[1], 0x59);
}

TEST_F(PayloadStatusTest, RejectsMalformedAnswers) {
    std::string h = hash_a;
    expect_bad("", "not valid JSON");
    expect_bad("null", "not a JSON object");
    expect_bad("\"VALID\"", "not a JSON object");
    expect_bad("[]", "not a JSON object");
    expect_bad("{}", "missing field \"status\"");
    expect_bad(R"({"status":"valid"})", "status: unknown value \"valid\"");
    expect_bad(R"({"status":"BOGUS"})", "status: unknown value");
    expect_bad(R"({"status":1})", "status: not a string");
    expect_bad(R"({"status":"VALID"})", "latestValidHash: null with status VALID");
    expect_bad(R"({"status":"VALID","latestValidHash":null})",
               "latestValidHash: null with status VALID");
    expect_bad(R"({"status":"INVALID","latestValidHash":"0x1234"})",
               "latestValidHash: expected 0x + 64");
    expect_bad(R"({"status":"INVALID","latestValidHash":")" + h.substr(2) + "\"}",
               "latestValidHash");
    expect_bad(R"({"status":"INVALID","latestValidHash":")" + h + "00\"}", "latestValidHash");
    expect_bad(R"({"status":"INVALID","latestValidHash":")" + h.substr(0, 65) + "g\"}",
               "latestValidHash");
    expect_bad(R"({"status":"INVALID","latestValidHash":12})", "latestValidHash: not a string");
    expect_bad(R"({"status":"INVALID","latestValidHash":nul})", "latestValidHash");
    expect_bad(R"({"status":"INVALID","validationError":5})", "validationError");
    expect_bad(R"({"status":"INVALID","validationError":{}})", "validationError");
    expect_bad("{\"status\":\"INVALID\",\"validationError\":\"a\x01\"}", "unescaped");
    expect_bad(R"({"status":"INVALID","validationError":"\q"})", "validationError");
    expect_bad(R"({"status":"SYNCING","status":"SYNCING"})", "duplicate field \"status\"");
    expect_bad(R"({"status":"SYNCING","latestValidHash":null,"latestValidHash":null})",
               "duplicate field");
    expect_bad(R"({"status":"SYNCING","extra":1})", "unexpected field \"extra\"");
    expect_bad(R"({"status":"SYNCING","inclusionListSatisfied":null})", "unexpected field");
    expect_bad(R"({"status":"SYNCING"} {})", "trailing content");
    expect_bad(R"({"status":"SYNCING"}])", "not valid JSON");
    expect_bad(R"({"status":"SYNCING")", "");
    expect_bad(R"({"status" "SYNCING"})", "");
    expect_bad("{\"status\":\"SYNC\xff\"}", "not valid JSON");
}

TEST_F(PayloadStatusTest, OverlongValidationErrorIsReplaced) {
    std::string big(validation_error_bytes_max + 10, 'x');
    auto r = parse(R"({"status":"INVALID","validationError":")" + big + "\"}");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->validation_error_json, validation_error_truncated_json);
}

TEST_F(PayloadStatusTest, SchemaV2InclusionListSatisfied) {
    std::string h = hash_a;
    auto r = parse(R"({"status":"VALID","latestValidHash":")" + h +
                       R"(","validationError":null,"inclusionListSatisfied":false})",
                   StatusSchema::v2);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->inclusion_list_satisfied, OptBool::no);
    auto s = parse(R"({"status":"SYNCING","inclusionListSatisfied":null})", StatusSchema::v2);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->inclusion_list_satisfied, OptBool::null);
    expect_bad(R"({"status":"VALID","latestValidHash":")" + h + "\"}", "must be true or false",
               StatusSchema::v2);
    expect_bad(R"({"status":"INVALID","inclusionListSatisfied":true})", "must be null unless",
               StatusSchema::v2);
    expect_bad(R"({"status":"SYNCING","inclusionListSatisfied":1})", "not a boolean",
               StatusSchema::v2);
}

TEST_F(PayloadStatusTest, ParsesForkchoiceUpdatedAnswers) {
    auto r = parse_fcu(R"({"payloadStatus":{"status":"VALID","latestValidHash":")" +
                       std::string(hash_a) +
                       R"(","validationError":null},"payloadId":"0x0065bd195a9b3bfb"})");
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->payload_status.status, Status::valid);
    ASSERT_TRUE(r->has_payload_id);
    EXPECT_EQ(r->payload_id.bytes[0], 0x00);
    EXPECT_EQ(r->payload_id.bytes[1], 0x65);
    EXPECT_EQ(r->payload_id.bytes[7], 0xfb);
    auto n = parse_fcu(R"({"payloadStatus":{"status":"SYNCING","latestValidHash":null,)"
                       R"("validationError":null},"payloadId":null})");
    ASSERT_TRUE(n);
    EXPECT_FALSE(n->has_payload_id);
    auto absent = parse_fcu(R"({"payloadStatus":{"status":"SYNCING"}})");
    ASSERT_TRUE(absent);
    EXPECT_FALSE(absent->has_payload_id);
}

TEST_F(PayloadStatusTest, RejectsMalformedForkchoiceUpdatedAnswers) {
    expect_bad_fcu(R"({"status":"SYNCING"})", "unexpected field \"status\"");
    expect_bad_fcu(R"({"payloadId":null})", "missing field \"payloadStatus\"");
    expect_bad_fcu(R"({"payloadStatus":null})", "payloadStatus: not a JSON object");
    expect_bad_fcu(R"({"payloadStatus":{"status":"ACCEPTED"}})",
                   "payloadStatus.status: ACCEPTED is not allowed");
    expect_bad_fcu(R"({"payloadStatus":{"status":"INVALID_BLOCK_HASH"}})", "not allowed");
    expect_bad_fcu(R"({"payloadStatus":{"status":"SYNCING","x":1}})",
                   "payloadStatus.unexpected field \"x\"");
    expect_bad_fcu(R"({"payloadStatus":{"status":"SYNCING"},"payloadId":"0x01"})", "payloadId");
    expect_bad_fcu(R"({"payloadStatus":{"status":"SYNCING"},"payloadId":7})", "payloadId");
    expect_bad_fcu(R"({"payloadStatus":{"status":"SYNCING"},"payloadId":null,"payloadId":null})",
                   "duplicate field \"payloadId\"");
    expect_bad_fcu(R"({"payloadStatus":{"status":"SYNCING"},"payloadStatus":{"status":"SYNCING"}})",
                   "duplicate field");
    // executionbackup's quirk: payloadId outside `result` reaches us as trailing content.
    expect_bad_fcu(R"({"payloadStatus":{"status":"SYNCING"}},"payloadId":null)", "not valid JSON");
}

TEST_F(PayloadStatusTest, DataSizeCapacityOverloadParses) {
    std::string json = R"({"status":"SYNCING"})";
    std::string storage = json + std::string(simdjson::SIMDJSON_PADDING, ' ');
    auto r = parse_payload_status(parser_, storage.data(), json.size(), storage.size(),
                                  StatusSchema::v1);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, Status::syncing);
    std::string fcu = R"({"payloadStatus":{"status":"SYNCING"},"payloadId":null})";
    std::string fcu_storage = fcu + std::string(simdjson::SIMDJSON_PADDING, ' ');
    EXPECT_TRUE(parse_forkchoice_updated(parser_, fcu_storage.data(), fcu.size(),
                                         fcu_storage.size(), StatusSchema::v1));
}

// Writer output must be JSON that simdjson's DOM parser reads back to the same fields.
TEST_F(PayloadStatusTest, WriterOutputRoundTripsThroughSimdjson) {
    PayloadStatus s;
    s.status = Status::invalid;
    s.has_latest_valid_hash = true;
    for (size_t i = 0; i < 32; i++) s.latest_valid_hash[i] = static_cast<uint8_t>(i * 7);
    s.validation_error_json = R"("nonce \"too\" low")";
    ByteBuffer out(1 << 16);
    ASSERT_TRUE(write_payload_status(out, s, StatusSchema::v1));
    simdjson::dom::parser dom;
    simdjson::dom::element root;
    ASSERT_EQ(dom.parse(out.data(), out.size()).get(root), simdjson::SUCCESS) << out.view();
    EXPECT_EQ(std::string_view(root["status"]), "INVALID");
    EXPECT_EQ(std::string_view(root["latestValidHash"]),
              "0x00070e151c232a31383f464d545b626970777e858c939aa1a8afb6bdc4cbd2d9");
    EXPECT_EQ(std::string_view(root["validationError"]), "nonce \"too\" low");
    // And our own strict parser reads back the same struct.
    auto back = parse(std::string(out.view()));
    ASSERT_TRUE(back) << back.error().message();
    EXPECT_EQ(back->status, s.status);
    EXPECT_EQ(back->latest_valid_hash, s.latest_valid_hash);
    EXPECT_EQ(back->validation_error_json, s.validation_error_json);
}

TEST_F(PayloadStatusTest, WritesForkchoiceUpdatedWithAndWithoutPayloadId) {
    PayloadStatus s;
    s.status = Status::valid;
    s.has_latest_valid_hash = true;
    s.inclusion_list_satisfied = OptBool::yes;
    PayloadId id{{0xde, 0xad, 0xbe, 0xef, 0x00, 0x01, 0x02, 0x03}};
    ByteBuffer out(1 << 16);
    ASSERT_TRUE(write_forkchoice_updated(out, s, StatusSchema::v2, &id));
    auto r = parse_fcu(std::string(out.view()), StatusSchema::v2);
    ASSERT_TRUE(r) << out.view() << " " << r.error().message();
    EXPECT_EQ(r->payload_status.inclusion_list_satisfied, OptBool::yes);
    ASSERT_TRUE(r->has_payload_id);
    EXPECT_EQ(r->payload_id, id);
    EXPECT_NE(out.view().find("\"payloadId\":\"0xdeadbeef00010203\""), std::string_view::npos);
    out.clear();
    s.status = Status::syncing;
    s.has_latest_valid_hash = false;
    s.inclusion_list_satisfied = OptBool::null;
    ASSERT_TRUE(write_forkchoice_updated(out, s, StatusSchema::v1, nullptr));
    EXPECT_EQ(out.view(), R"({"payloadStatus":{"status":"SYNCING","latestValidHash":null,)"
                          R"("validationError":null},"payloadId":null})");
}

TEST_F(PayloadStatusTest, WriterRefusesPastBytesMaxAndLeavesBufferUnchanged) {
    PayloadStatus s;
    s.status = Status::syncing;
    ByteBuffer out(40, 16);
    out.append("[");
    auto r = write_payload_status(out, s, StatusSchema::v1);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), Errc::too_large);
    EXPECT_EQ(out.view(), "[");
}

TEST(IsNullResult, RecognisesOnlyTheNullLiteral) {
    EXPECT_TRUE(is_null_result("null"));
    EXPECT_TRUE(is_null_result(" \n null\t"));
    EXPECT_FALSE(is_null_result("[null]"));
    EXPECT_FALSE(is_null_result("nul"));
    EXPECT_FALSE(is_null_result(""));
    EXPECT_FALSE(is_null_result("\"null\""));
}

}  // namespace
}  // namespace em::engine
