// The JSON-RPC methods enginemux-mock-el answers by itself (everything else is -32601), with a
// dense index per method for its per-method counters.
//
// Any thread; the table is immutable and find_method() is a pure function.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace em::mockel {

/// What the mock does for a method.
enum class Kind : uint8_t {
    new_payload,
    forkchoice_updated,
    get_payload,
    exchange_capabilities,
    client_version,
    get_blobs,
    bodies_by_hash,
    bodies_by_range,
    transition_configuration,
    eth_syncing,
    eth_block_number,
    eth_get_block_by_number,
    eth_chain_id,
    net_version,
    web3_client_version,
    eth_call,
    eth_get_logs,
    eth_new_filter,          ///< a filter id naming this EL (SharedState::filter_id)
    eth_get_filter_changes,  ///< no changes: []
};

struct MethodInfo {
    std::string_view name;  ///< full JSON-RPC name, e.g. "engine_newPayloadV3"
    Kind kind;
    uint8_t version;  ///< the "Vn" suffix; 0 when unversioned
};

/// Number of methods in the table.
inline constexpr size_t method_count = 35;

/// The whole table; a method's index is its position.
std::span<const MethodInfo> methods();

/// Index of `name` in methods() (exact, case-sensitive), or -1.
int find_method(std::string_view name);

/// True for "engine_*" names (those are logged in /mock/log).
inline bool is_engine_method(std::string_view name) {
    return name.starts_with("engine_");
}

}  // namespace em::mockel
