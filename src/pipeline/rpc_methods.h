// The eth_* methods the rpc role counts by name (issue 16): a fixed table, so a metric label
// only ever comes from this list ("other" for the rest), never from a client's bytes.
//
// Threads: any (constant data). No I/O.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace em::pipeline::rpc {

inline constexpr std::array<std::string_view, 43> method_names = {
    "eth_blockNumber",
    "eth_chainId",
    "eth_syncing",
    "eth_gasPrice",
    "eth_maxPriorityFeePerGas",
    "eth_feeHistory",
    "eth_blobBaseFee",
    "eth_getBalance",
    "eth_getCode",
    "eth_getStorageAt",
    "eth_getTransactionCount",
    "eth_getProof",
    "eth_call",
    "eth_estimateGas",
    "eth_createAccessList",
    "eth_getBlockByNumber",
    "eth_getBlockByHash",
    "eth_getBlockReceipts",
    "eth_getBlockTransactionCountByNumber",
    "eth_getBlockTransactionCountByHash",
    "eth_getTransactionByHash",
    "eth_getTransactionByBlockHashAndIndex",
    "eth_getTransactionByBlockNumberAndIndex",
    "eth_getTransactionReceipt",
    "eth_getUncleCountByBlockNumber",
    "eth_getUncleCountByBlockHash",
    "eth_getUncleByBlockHashAndIndex",
    "eth_getUncleByBlockNumberAndIndex",
    "eth_getLogs",
    "eth_sendRawTransaction",
    "eth_newFilter",
    "eth_newBlockFilter",
    "eth_newPendingTransactionFilter",
    "eth_getFilterChanges",
    "eth_getFilterLogs",
    "eth_uninstallFilter",
    "eth_accounts",
    "eth_protocolVersion",
    "net_version",
    "net_listening",
    "net_peerCount",
    "web3_clientVersion",
    "web3_sha3",
};

/// Counter slots: one per name above, then "other".
inline constexpr size_t method_slots = method_names.size() + 1;
inline constexpr size_t method_slot_other = method_names.size();

/// The slot of `method` (method_slot_other when it is not in the table).
inline size_t method_slot(std::string_view method) {
    for (size_t i = 0; i < method_names.size(); i++)
        if (method_names[i] == method) return i;
    return method_slot_other;
}

/// The label of slot i ("other" for method_slot_other).
inline std::string_view method_label(size_t i) {
    return i < method_names.size() ? method_names[i] : std::string_view("other");
}

}  // namespace em::pipeline::rpc
