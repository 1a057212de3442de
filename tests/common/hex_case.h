// Case variants of Engine API JSON for the tests of issue 13 item 3 ("accept what ELs accept"):
// every "0x" string's digits in upper case, and every 20-byte DATA value (an address) in its
// EIP-55 checksummed form. The block hash is computed over bytes, so each variant must decode
// and hash exactly like the lower-case original.
//
// Header-only, test code (allocates freely; the payload_decode fuzzer uses upper_hex too). The
// caller supplies Keccak-256 (Crypto++ in the eth tests, src/eth/keccak elsewhere), so this
// header depends on no layer of src/.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace em::test {

/// Keccak-256 of `size` bytes at `data` into out[32].
using Keccak256Fn = void (*)(const uint8_t* data, size_t size, uint8_t* out);

/// Upper-cases the hex digits of every JSON string that starts with "0x" (the prefix stays
/// "0x": ELs accept upper-case digits, not "0X").
inline std::string upper_hex(std::string json) {
    for (size_t at = json.find("\"0x"); at != std::string::npos; at = json.find("\"0x", at + 1)) {
        for (size_t i = at + 3; i < json.size() && json[i] != '"'; i++)
            if (json[i] >= 'a' && json[i] <= 'f') json[i] = static_cast<char>(json[i] - 'a' + 'A');
    }
    return json;
}

/// EIP-55: the checksummed spelling of a 40-digit address (no prefix, either case): digit i is
/// upper case when nibble i of keccak256(lower-case digits) is 8 or more.
inline std::string eip55(std::string_view digits, Keccak256Fn keccak) {
    std::string lower(digits);
    for (char& c : lower)
        if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    uint8_t h[32];
    keccak(reinterpret_cast<const uint8_t*>(lower.data()), lower.size(), h);
    std::string out = lower;
    for (size_t i = 0; i < out.size(); i++) {
        unsigned nibble = i % 2 ? h[i / 2] & 15u : h[i / 2] >> 4;
        if (out[i] >= 'a' && out[i] <= 'f' && nibble >= 8)
            out[i] = static_cast<char>(out[i] - 'a' + 'A');
    }
    return out;
}

/// Rewrites every JSON string of exactly "0x" + 40 hex digits (feeRecipient, withdrawal
/// addresses, suggestedFeeRecipient) in its EIP-55 form. Returns the number rewritten in *count.
inline std::string checksum_addresses(std::string json, Keccak256Fn keccak,
                                      size_t* count = nullptr) {
    size_t n = 0;
    for (size_t at = json.find("\"0x"); at != std::string::npos; at = json.find("\"0x", at + 1)) {
        size_t end = json.find('"', at + 1);
        if (end == std::string::npos || end - at - 3 != 40) continue;
        std::string_view digits(json.data() + at + 3, 40);
        if (digits.find_first_not_of("0123456789abcdefABCDEF") != std::string_view::npos) continue;
        json.replace(at + 3, 40, eip55(digits, keccak));
        n++;
    }
    if (count) *count = n;
    return json;
}

/// The variant the issue names: checksummed addresses and every other "0x" value upper case.
inline std::string checksummed_and_upper(const std::string& json, Keccak256Fn keccak) {
    return checksum_addresses(upper_hex(json), keccak);
}

}  // namespace em::test
