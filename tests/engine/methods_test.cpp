// Method table: every method and version of engine-api-notes §1, with the spec's timeout and a
// strategy; find_method() finds exactly those names.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "engine/methods.h"

namespace em::engine {
namespace {

struct Expected {
    const char* name;
    MethodKind kind;
    uint8_t version;
    Strategy strategy;
    uint32_t timeout_ms;
};

// Written from ../shared/engine-api-notes.md §1 and its "Timeouts" line (not from the table).
std::vector<Expected> expected_methods() {
    std::vector<Expected> out;
    for (int v = 1; v <= 6; v++)
        out.push_back({nullptr, MethodKind::new_payload, static_cast<uint8_t>(v), Strategy::vote,
                       v >= 5 ? 6000u : 8000u});
    for (int v = 1; v <= 5; v++)
        out.push_back({nullptr, MethodKind::forkchoice_updated, static_cast<uint8_t>(v),
                       Strategy::vote, 8000});
    for (int v = 1; v <= 6; v++)
        out.push_back(
            {nullptr, MethodKind::get_payload, static_cast<uint8_t>(v), Strategy::best_of, 1000});
    for (int v = 1; v <= 4; v++)
        out.push_back(
            {nullptr, MethodKind::get_blobs, static_cast<uint8_t>(v), Strategy::primary, 1000});
    out.push_back(
        {"engine_getPayloadBodiesByHashV1", MethodKind::bodies, 1, Strategy::primary, 10000});
    out.push_back(
        {"engine_getPayloadBodiesByHashV2", MethodKind::bodies, 2, Strategy::primary, 10000});
    out.push_back(
        {"engine_getPayloadBodiesByRangeV1", MethodKind::bodies, 1, Strategy::primary, 10000});
    out.push_back(
        {"engine_getPayloadBodiesByRangeV2", MethodKind::bodies, 2, Strategy::primary, 10000});
    out.push_back(
        {"engine_exchangeCapabilities", MethodKind::capabilities, 0, Strategy::intersect, 1000});
    out.push_back(
        {"engine_getClientVersionV1", MethodKind::client_version, 1, Strategy::merge_flat, 1000});
    out.push_back({"engine_exchangeTransitionConfigurationV1", MethodKind::other, 1,
                   Strategy::primary, 1000});
    out.push_back({"engine_getInclusionListV1", MethodKind::other, 1, Strategy::primary, 1000});
    return out;
}

std::string name_of(const Expected& e) {
    if (e.name) return e.name;
    const char* base = e.kind == MethodKind::new_payload          ? "engine_newPayloadV"
                       : e.kind == MethodKind::forkchoice_updated ? "engine_forkchoiceUpdatedV"
                       : e.kind == MethodKind::get_payload        ? "engine_getPayloadV"
                                                                  : "engine_getBlobsV";
    return base + std::to_string(e.version);
}

TEST(Methods, EveryNotedMethodIsPresentWithItsTimeoutAndStrategy) {
    auto expected = expected_methods();
    EXPECT_EQ(expected.size(), method_count);
    for (const auto& e : expected) {
        std::string name = name_of(e);
        const MethodInfo* m = find_method(name);
        ASSERT_NE(m, nullptr) << name;
        EXPECT_EQ(m->name, name);
        EXPECT_EQ(m->kind, e.kind) << name;
        EXPECT_EQ(m->version, e.version) << name;
        EXPECT_EQ(m->strategy, e.strategy) << name;
        EXPECT_EQ(m->timeout_ms, e.timeout_ms) << name;
    }
}

TEST(Methods, TableIsDenseAndUnique) {
    std::set<std::string_view> names;
    auto all = methods();
    ASSERT_EQ(all.size(), method_count);
    for (size_t i = 0; i < all.size(); i++) {
        EXPECT_EQ(all[i].index, i);
        EXPECT_TRUE(names.insert(all[i].name).second) << all[i].name;
        EXPECT_EQ(find_method(all[i].name), &all[i]);
        EXPECT_GT(all[i].timeout_ms, 0u);
    }
}

TEST(Methods, BogotaMethodsUsePayloadStatusV2) {
    EXPECT_EQ(find_method("engine_newPayloadV6")->status_schema, StatusSchema::v2);
    EXPECT_EQ(find_method("engine_forkchoiceUpdatedV5")->status_schema, StatusSchema::v2);
    EXPECT_EQ(find_method("engine_newPayloadV5")->status_schema, StatusSchema::v1);
    EXPECT_EQ(find_method("engine_forkchoiceUpdatedV4")->status_schema, StatusSchema::v1);
}

TEST(Methods, UnknownNamesAreNotFound) {
    for (const char* name :
         {"", "engine_", "engine_newPayloadV7", "engine_newPayloadV0", "engine_newpayloadV1",
          "Engine_newPayloadV1", "engine_newPayloadV1 ", "eth_blockNumber", "engine_getBlobsV5",
          "engine_forkchoiceUpdatedV6", "engine_getClientVersionV2",
          "engine_getPayloadBodiesByHashV3", "engine_exchangeCapabilitiesV1",
          "engine_getInclusionListV2", "xngine_newPayloadV1", "engine_signalSuperchainV1",
          "engine_exchangeTransitionConfigurationV2"}) {
        EXPECT_EQ(find_method(name), nullptr) << '"' << name << '"';
    }
}

TEST(Methods, NearMissesOfEveryNameAreNotFound) {
    // One changed byte anywhere in a known name never finds a method (the final compare runs).
    for (const MethodInfo& m : methods()) {
        std::string name(m.name);
        for (size_t i = 0; i < name.size(); i++) {
            std::string changed = name;
            changed[i] = static_cast<char>(changed[i] ^ 0x01);
            const MethodInfo* found = find_method(changed);
            if (found) {
                EXPECT_EQ(found->name, changed);  // only another real method may match
            }
        }
        EXPECT_EQ(find_method(name.substr(0, name.size() - 1)), nullptr);
        EXPECT_EQ(find_method(name + "1"), nullptr);
    }
}

TEST(Methods, NamesOfEnums) {
    EXPECT_EQ(method_kind_name(MethodKind::forkchoice_updated), "forkchoice_updated");
    EXPECT_EQ(strategy_name(Strategy::merge_flat), "merge_flat");
    EXPECT_EQ(status_name(Status::invalid_block_hash), "INVALID_BLOCK_HASH");
}

}  // namespace
}  // namespace em::engine
