#include "mockel/methods.h"

#include <array>

namespace em::mockel {

namespace {

constexpr std::array<MethodInfo, method_count> table = {{
    {"engine_newPayloadV1", Kind::new_payload, 1},
    {"engine_newPayloadV2", Kind::new_payload, 2},
    {"engine_newPayloadV3", Kind::new_payload, 3},
    {"engine_newPayloadV4", Kind::new_payload, 4},
    {"engine_newPayloadV5", Kind::new_payload, 5},
    {"engine_forkchoiceUpdatedV1", Kind::forkchoice_updated, 1},
    {"engine_forkchoiceUpdatedV2", Kind::forkchoice_updated, 2},
    {"engine_forkchoiceUpdatedV3", Kind::forkchoice_updated, 3},
    {"engine_forkchoiceUpdatedV4", Kind::forkchoice_updated, 4},
    {"engine_getPayloadV1", Kind::get_payload, 1},
    {"engine_getPayloadV2", Kind::get_payload, 2},
    {"engine_getPayloadV3", Kind::get_payload, 3},
    {"engine_getPayloadV4", Kind::get_payload, 4},
    {"engine_getPayloadV5", Kind::get_payload, 5},
    {"engine_getPayloadV6", Kind::get_payload, 6},
    {"engine_exchangeCapabilities", Kind::exchange_capabilities, 0},
    {"engine_getClientVersionV1", Kind::client_version, 1},
    {"engine_getBlobsV1", Kind::get_blobs, 1},
    {"engine_getBlobsV2", Kind::get_blobs, 2},
    {"engine_getBlobsV3", Kind::get_blobs, 3},
    {"engine_getPayloadBodiesByHashV1", Kind::bodies_by_hash, 1},
    {"engine_getPayloadBodiesByHashV2", Kind::bodies_by_hash, 2},
    {"engine_getPayloadBodiesByRangeV1", Kind::bodies_by_range, 1},
    {"engine_getPayloadBodiesByRangeV2", Kind::bodies_by_range, 2},
    {"engine_exchangeTransitionConfigurationV1", Kind::transition_configuration, 1},
    {"eth_syncing", Kind::eth_syncing, 0},
    {"eth_blockNumber", Kind::eth_block_number, 0},
    {"eth_getBlockByNumber", Kind::eth_get_block_by_number, 0},
    {"eth_chainId", Kind::eth_chain_id, 0},
    {"net_version", Kind::net_version, 0},
    {"web3_clientVersion", Kind::web3_client_version, 0},
    {"eth_call", Kind::eth_call, 0},
    {"eth_getLogs", Kind::eth_get_logs, 0},
    {"eth_newFilter", Kind::eth_new_filter, 0},
    {"eth_getFilterChanges", Kind::eth_get_filter_changes, 0},
}};

}  // namespace

std::span<const MethodInfo> methods() {
    return table;
}

int find_method(std::string_view name) {
    // 35 entries: compare the length and the last character first, then the bytes.
    if (name.empty()) return -1;
    for (size_t i = 0; i < table.size(); i++) {
        const std::string_view n = table[i].name;
        if (n.size() == name.size() && n.back() == name.back() && n == name)
            return static_cast<int>(i);
    }
    return -1;
}

}  // namespace em::mockel
