// CometBFT RPC answers the guard reads: /status (sync_info, validator_info) and /net_info
// (n_peers), in the shapes of rpc/core/types (int64 fields are JSON strings, times RFC3339Nano).
// Only the fields the guard uses are checked, strictly; other fields are ignored so newer nodes
// that add fields still parse.
//
// Any thread; pure functions over the caller's parser; no allocation (keys live inline).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/result.h"
#include "validator/json.h"

namespace em::validator {

/// What /status says about the node.
struct NodeStatus {
    static constexpr size_t key_chars_max = 128;
    static constexpr size_t type_chars_max = 64;

    int64_t latest_block_height = 0;
    int64_t latest_block_time_ns = 0;  ///< Unix nanoseconds
    bool catching_up = false;
    int64_t voting_power = 0;
    uint8_t pub_key_type_chars = 0;
    uint8_t pub_key_chars = 0;
    char pub_key_type[type_chars_max] = {};  ///< "tendermint/PubKeyEd25519"
    char pub_key[key_chars_max] = {};        ///< base64 value of validator_info.pub_key

    std::string_view pub_key_b64() const { return {pub_key, pub_key_chars}; }
    std::string_view pub_key_type_name() const { return {pub_key_type, pub_key_type_chars}; }
};

/// Parses a /status JSON-RPC answer. A JSON-RPC error object is an error quoting its message.
Result<NodeStatus> parse_status(std::string_view body, JsonParser& parser);
/// Parses a /net_info answer and returns result.n_peers.
Result<int64_t> parse_net_info(std::string_view body, JsonParser& parser);
/// Parses an RFC 3339 UTC/offset time with up to 9 fraction digits into Unix nanoseconds
/// ("2019-08-01T11:52:22.818762194Z").
Result<int64_t> parse_rfc3339_ns(std::string_view text);

}  // namespace em::validator
