// The Engine API method table: every engine_* method and version enginemux knows, with what the
// proxy does with it (strategy) and the spec's timeout.
//
// Any thread; the table is immutable (constexpr) and find_method() is a pure function. An
// engine_* method that is not in the table is not an error: the proxy forwards it to the primary.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "engine/types.h"

namespace em::engine {

/// What a method is about (for routing and metrics).
enum class MethodKind : uint8_t {
    new_payload,
    forkchoice_updated,
    get_payload,
    get_blobs,
    bodies,
    capabilities,
    client_version,
    other,
};

/// How the proxy turns N ELs' answers into one answer for the CL.
enum class Strategy : uint8_t {
    /// Fan out to every node (mirrors too); voters' PayloadStatus answers go through vote().
    vote,
    /// Fan out to the nodes that built the payload; answer with choose_best_payload()'s pick.
    best_of,
    /// Send to the primary; if it errors, times out or answers `null`, try the next synced voter.
    primary,
    /// Fan out to the voters; answer one flat array of all their entries (merge_client_versions).
    merge_flat,
    /// Fan out to the voters; answer the intersection of their lists (intersect_capabilities).
    intersect,
};

struct MethodInfo {
    /// Full JSON-RPC method name, e.g. "engine_newPayloadV4".
    std::string_view name;
    MethodKind kind;
    /// The "Vn" suffix (1..6); 0 for the unversioned engine_exchangeCapabilities.
    uint8_t version;
    Strategy strategy;
    /// The spec's timeout for the EL's answer; per-node `#timeout=` may shorten it.
    uint32_t timeout_ms;
    /// PayloadStatus structure of the answer (meaningful for new_payload and forkchoice_updated).
    StatusSchema status_schema;
    /// Dense position in methods() (0..method_count-1), for per-method metric arrays.
    uint8_t index;
};

inline constexpr size_t method_count = 29;

/// The whole table, in a fixed order (index == position).
std::span<const MethodInfo> methods();

/// The table entry for `name` (exact, case-sensitive), or nullptr when unknown. O(1): a
/// collision-free hash of the length and three characters, then one comparison.
const MethodInfo* find_method(std::string_view name);

/// "new_payload", "forkchoice_updated", ... (metric label values).
std::string_view method_kind_name(MethodKind kind);
/// "vote", "best_of", "primary", "merge_flat", "intersect".
std::string_view strategy_name(Strategy strategy);

/// True for a JSON-RPC method that only reads and may be asked of another node when one does
/// not answer in time: eth_*, net_*, web3_* and txpool_* reads. Not: anything that sends or
/// signs (eth_sendRawTransaction, eth_sign...), node-local filter state (eth_newFilter,
/// eth_getFilterChanges...), subscriptions, engine_* calls or any other namespace.
bool read_only(std::string_view method);

}  // namespace em::engine
