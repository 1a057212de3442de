// The Engine API method table and its perfect-hash lookup.
//
// Strategy per method, and why:
// - newPayload, forkchoiceUpdated: vote. These are the calls whose answer the CL acts on (import
//   and attest, or set the head), so the CL must only hear what a quorum of ELs said (DESIGN.md
//   "Safety rules of the vote"). Every node gets them, in order, mirrors included.
// - getPayload: best_of. Each EL that built a payload for our payloadId returns its own block; we
//   relay the one with the highest blockValue (getPayloadV1 has none: the primary's).
// - getBlobs V1..V4: primary. Blobs come from the EL's mempool: any synced EL's copy is as good
//   as another's, blobs are large (128 KiB each, V2+ with 128 cell proofs), and the call has a
//   1 s budget, so we do not fan out. If the primary errors, times out or answers `null` (V2: "some
//   blob missing", V3/V4: "syncing"), the proxy asks the next synced voter.
// - getPayloadBodiesByHash/ByRange: primary, same fallback on error or `null`. Bodies are
//   historical data any synced EL has; answers can be tens of MiB, so one EL is asked.
// - exchangeCapabilities: intersect. We fan newPayload/fcU out to every voter, so we may only
//   promise the CL methods that every voting EL supports.
// - getClientVersionV1: merge_flat. identification.md: a multiplexer MUST return all ELs' entries
//   as one flat array.
// - exchangeTransitionConfigurationV1 (deprecated since Cancun; the EL echoes its merge
//   configuration, identical on every EL of one network): primary.
// - getInclusionListV1 (Bogota, FOCIL): primary. The list is the EL's local mempool view;
//   merging several ELs' lists could break the 8192-byte cap and mix conflicting transactions.
//
// Timeouts are the spec's: newPayload 8 s (V5+: 6 s), forkchoiceUpdated 8 s, getPayload 1 s,
// getBlobs 1 s, exchangeCapabilities and getClientVersionV1 1 s, bodies 10 s,
// exchangeTransitionConfigurationV1 1 s (paris.md), getInclusionListV1 1 s (bogota.md).
#include "engine/methods.h"

#include <array>
#include <cstring>

namespace em::engine {
namespace {

constexpr uint32_t new_payload_timeout_ms = 8000;
constexpr uint32_t new_payload_v5_timeout_ms = 6000;
constexpr uint32_t forkchoice_updated_timeout_ms = 8000;
constexpr uint32_t get_payload_timeout_ms = 1000;
constexpr uint32_t get_blobs_timeout_ms = 1000;
constexpr uint32_t bodies_timeout_ms = 10000;
constexpr uint32_t capabilities_timeout_ms = 1000;
constexpr uint32_t client_version_timeout_ms = 1000;
constexpr uint32_t transition_configuration_timeout_ms = 1000;
constexpr uint32_t inclusion_list_timeout_ms = 1000;

using K = MethodKind;
using S = Strategy;
constexpr StatusSchema v1 = StatusSchema::v1;
constexpr StatusSchema v2 = StatusSchema::v2;

constexpr std::array<MethodInfo, method_count> table = {{
    {"engine_newPayloadV1", K::new_payload, 1, S::vote, new_payload_timeout_ms, v1, 0},
    {"engine_newPayloadV2", K::new_payload, 2, S::vote, new_payload_timeout_ms, v1, 1},
    {"engine_newPayloadV3", K::new_payload, 3, S::vote, new_payload_timeout_ms, v1, 2},
    {"engine_newPayloadV4", K::new_payload, 4, S::vote, new_payload_timeout_ms, v1, 3},
    {"engine_newPayloadV5", K::new_payload, 5, S::vote, new_payload_v5_timeout_ms, v1, 4},
    {"engine_newPayloadV6", K::new_payload, 6, S::vote, new_payload_v5_timeout_ms, v2, 5},
    {"engine_forkchoiceUpdatedV1", K::forkchoice_updated, 1, S::vote, forkchoice_updated_timeout_ms,
     v1, 6},
    {"engine_forkchoiceUpdatedV2", K::forkchoice_updated, 2, S::vote, forkchoice_updated_timeout_ms,
     v1, 7},
    {"engine_forkchoiceUpdatedV3", K::forkchoice_updated, 3, S::vote, forkchoice_updated_timeout_ms,
     v1, 8},
    {"engine_forkchoiceUpdatedV4", K::forkchoice_updated, 4, S::vote, forkchoice_updated_timeout_ms,
     v1, 9},
    {"engine_forkchoiceUpdatedV5", K::forkchoice_updated, 5, S::vote, forkchoice_updated_timeout_ms,
     v2, 10},
    {"engine_getPayloadV1", K::get_payload, 1, S::best_of, get_payload_timeout_ms, v1, 11},
    {"engine_getPayloadV2", K::get_payload, 2, S::best_of, get_payload_timeout_ms, v1, 12},
    {"engine_getPayloadV3", K::get_payload, 3, S::best_of, get_payload_timeout_ms, v1, 13},
    {"engine_getPayloadV4", K::get_payload, 4, S::best_of, get_payload_timeout_ms, v1, 14},
    {"engine_getPayloadV5", K::get_payload, 5, S::best_of, get_payload_timeout_ms, v1, 15},
    {"engine_getPayloadV6", K::get_payload, 6, S::best_of, get_payload_timeout_ms, v1, 16},
    {"engine_getBlobsV1", K::get_blobs, 1, S::primary, get_blobs_timeout_ms, v1, 17},
    {"engine_getBlobsV2", K::get_blobs, 2, S::primary, get_blobs_timeout_ms, v1, 18},
    {"engine_getBlobsV3", K::get_blobs, 3, S::primary, get_blobs_timeout_ms, v1, 19},
    {"engine_getBlobsV4", K::get_blobs, 4, S::primary, get_blobs_timeout_ms, v1, 20},
    {"engine_getPayloadBodiesByHashV1", K::bodies, 1, S::primary, bodies_timeout_ms, v1, 21},
    {"engine_getPayloadBodiesByHashV2", K::bodies, 2, S::primary, bodies_timeout_ms, v1, 22},
    {"engine_getPayloadBodiesByRangeV1", K::bodies, 1, S::primary, bodies_timeout_ms, v1, 23},
    {"engine_getPayloadBodiesByRangeV2", K::bodies, 2, S::primary, bodies_timeout_ms, v1, 24},
    {"engine_exchangeCapabilities", K::capabilities, 0, S::intersect, capabilities_timeout_ms, v1,
     25},
    {"engine_getClientVersionV1", K::client_version, 1, S::merge_flat, client_version_timeout_ms,
     v1, 26},
    {"engine_exchangeTransitionConfigurationV1", K::other, 1, S::primary,
     transition_configuration_timeout_ms, v1, 27},
    {"engine_getInclusionListV1", K::other, 1, S::primary, inclusion_list_timeout_ms, v1, 28},
}};

// Perfect hash: every name is 17..40 bytes; (length, name[7], name[10], last byte) separate
// them all into 64 buckets (constants found by search; the static_assert below proves it).
constexpr size_t name_bytes_min = 17;
constexpr size_t name_bytes_max = 40;
constexpr size_t bucket_count = 64;

constexpr size_t bucket_of(std::string_view s) {
    auto c = [&](size_t i) { return static_cast<size_t>(static_cast<unsigned char>(s[i])); };
    return (s.size() * 2 + c(7) + c(10) * 6 + c(s.size() - 1)) & (bucket_count - 1);
}

struct Buckets {
    std::array<uint8_t, bucket_count> slot{};  // table index + 1, 0 = empty
    bool collision_free = true;
};

constexpr Buckets build_buckets() {
    Buckets b;
    for (const MethodInfo& m : table) {
        if (m.name.size() < name_bytes_min || m.name.size() > name_bytes_max) {
            b.collision_free = false;
            continue;
        }
        size_t h = bucket_of(m.name);
        if (b.slot[h] != 0) b.collision_free = false;
        b.slot[h] = static_cast<uint8_t>(m.index + 1);
    }
    return b;
}

constexpr Buckets buckets = build_buckets();
static_assert(buckets.collision_free, "method table: retune bucket_of() after adding a method");

constexpr bool indices_dense() {
    for (size_t i = 0; i < table.size(); i++) {
        if (table[i].index != i) return false;
    }
    return true;
}
static_assert(indices_dense(), "method table: index must equal position");

}  // namespace

std::span<const MethodInfo> methods() {
    return table;
}

const MethodInfo* find_method(std::string_view name) {
    if (name.size() < name_bytes_min || name.size() > name_bytes_max) return nullptr;
    uint8_t slot = buckets.slot[bucket_of(name)];
    if (slot == 0) return nullptr;
    const MethodInfo& m = table[slot - 1];
    if (m.name.size() != name.size() || std::memcmp(m.name.data(), name.data(), name.size()) != 0)
        return nullptr;
    return &m;
}

std::string_view method_kind_name(MethodKind kind) {
    switch (kind) {
        case MethodKind::new_payload:
            return "new_payload";
        case MethodKind::forkchoice_updated:
            return "forkchoice_updated";
        case MethodKind::get_payload:
            return "get_payload";
        case MethodKind::get_blobs:
            return "get_blobs";
        case MethodKind::bodies:
            return "bodies";
        case MethodKind::capabilities:
            return "capabilities";
        case MethodKind::client_version:
            return "client_version";
        case MethodKind::other:
            return "other";
    }
    return "other";
}

bool read_only(std::string_view method) {
    auto starts = [&](std::string_view prefix) {
        return method.substr(0, prefix.size()) == prefix;
    };
    if (!starts("eth_") && !starts("net_") && !starts("web3_") && !starts("txpool_")) return false;
    constexpr std::string_view writes[] = {"eth_send",
                                           "eth_sign",
                                           "eth_submit",
                                           "eth_newFilter",
                                           "eth_newBlockFilter",
                                           "eth_newPendingTransactionFilter",
                                           "eth_uninstallFilter",
                                           "eth_getFilter",
                                           "eth_subscribe",
                                           "eth_unsubscribe"};
    for (std::string_view w : writes) {
        if (starts(w)) return false;
    }
    return true;
}

std::string_view strategy_name(Strategy strategy) {
    switch (strategy) {
        case Strategy::vote:
            return "vote";
        case Strategy::best_of:
            return "best_of";
        case Strategy::primary:
            return "primary";
        case Strategy::merge_flat:
            return "merge_flat";
        case Strategy::intersect:
            return "intersect";
    }
    return "primary";
}

}  // namespace em::engine
