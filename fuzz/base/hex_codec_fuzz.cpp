// Differential fuzzer for the hex codec (base/hex.h) against a deliberately plain reference
// written here (character tests and string arithmetic, nothing shared with src/base):
//   - parse_data (fixed size), data_bytes, parse_quantity, parse_quantity_u256 accept exactly
//     what the reference accepts and give the same value; a rejection carries a message;
//   - what is accepted and written back (format_data, format_quantity) is the input in lower
//     case, so reading and writing are inverses up to case;
//   - every supported digit decoder gives the portable decoder's bytes and first bad index.
//
// Input: byte 0 is the size in bytes of the DATA value to expect (0..255); the rest is the text.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "../fuzz_check.h"
#include "base/hex.h"

namespace {

// ---- the reference ------------------------------------------------------------------------------

int ref_digit(char c) {
    const std::string_view lower = "0123456789abcdef", upper = "0123456789ABCDEF";
    size_t at = lower.find(c);
    if (at == std::string_view::npos) at = upper.find(c);
    return at == std::string_view::npos ? -1 : static_cast<int>(at);
}

std::string ref_lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

bool ref_all_digits(std::string_view d) {
    for (char c : d)
        if (ref_digit(c) < 0) return false;
    return true;
}

// DATA of exactly n bytes: ^0x([0-9a-fA-F]{2}){n}$
std::optional<std::vector<uint8_t>> ref_data(std::string_view text, size_t n) {
    if (text.substr(0, 2) != "0x") return std::nullopt;
    std::string_view d = text.substr(2);
    if (d.size() != 2 * n || !ref_all_digits(d)) return std::nullopt;
    std::vector<uint8_t> out;
    for (size_t i = 0; i < n; i++)
        out.push_back(static_cast<uint8_t>(ref_digit(d[2 * i]) * 16 + ref_digit(d[2 * i + 1])));
    return out;
}

// QUANTITY of at most `digits_max` digits: ^0x(0|[1-9a-fA-F][0-9a-fA-F]*)$, as 32 big-endian
// bytes (the digits padded on the left to 64, then read in pairs).
std::optional<std::vector<uint8_t>> ref_quantity(std::string_view text, size_t digits_max) {
    if (text.substr(0, 2) != "0x") return std::nullopt;
    std::string_view d = text.substr(2);
    if (d.empty() || d.size() > digits_max || !ref_all_digits(d)) return std::nullopt;
    if (d.size() > 1 && d[0] == '0') return std::nullopt;
    std::string padded = std::string(64 - d.size(), '0') + std::string(d);
    std::vector<uint8_t> be;
    for (size_t i = 0; i < 32; i++)
        be.push_back(
            static_cast<uint8_t>(ref_digit(padded[2 * i]) * 16 + ref_digit(padded[2 * i + 1])));
    return be;
}

size_t ref_first_bad(std::string_view digits) {
    for (size_t i = 0; i < digits.size(); i++)
        if (ref_digit(digits[i]) < 0) return i;
    return em::hex_ok;
}

// ---- the checks ---------------------------------------------------------------------------------

void check_data(std::string_view text, size_t n) {
    std::vector<uint8_t> out(n + 1, 0xee);
    auto got = em::parse_data(text, std::span<uint8_t>(out.data(), n));
    auto want = ref_data(text, n);
    FUZZ_CHECK(got.has_value() == want.has_value());
    FUZZ_CHECK(out[n] == 0xee);  // never past the end
    if (!got) {
        FUZZ_CHECK(!got.error().message().empty());
        return;
    }
    FUZZ_CHECK(std::equal(want->begin(), want->end(), out.begin()));  // (n may be 0)
    std::string written(2 + 2 * n, '?');
    em::format_data(std::span<const uint8_t>(out.data(), n), written.data());
    FUZZ_CHECK(written == ref_lower(text));
    auto bytes = em::data_bytes(text);
    FUZZ_CHECK(bytes && *bytes == n);
}

void check_quantities(std::string_view text) {
    auto want64 = ref_quantity(text, 16);
    auto got64 = em::parse_quantity(text);
    FUZZ_CHECK(got64.has_value() == want64.has_value());
    if (got64) {
        uint64_t v = 0;
        for (size_t i = 24; i < 32; i++) v = v << 8 | (*want64)[i];
        FUZZ_CHECK(*got64 == v);
        char q[em::quantity_chars_max];
        FUZZ_CHECK(std::string_view(q, em::format_quantity(*got64, q)) == ref_lower(text));
    } else {
        FUZZ_CHECK(!got64.error().message().empty());
    }
    auto want256 = ref_quantity(text, 64);
    auto got256 = em::parse_quantity_u256(text);
    FUZZ_CHECK(got256.has_value() == want256.has_value());
    if (got256) {
        FUZZ_CHECK(std::memcmp(got256->be.data(), want256->data(), 32) == 0);
        char q[em::quantity_u256_chars_max];
        FUZZ_CHECK(std::string_view(q, em::format_quantity(*got256, q)) == ref_lower(text));
    } else {
        FUZZ_CHECK(!got256.error().message().empty());
    }
}

void check_decoders(std::string_view digits) {
    size_t n = digits.size() / 2;
    std::vector<uint8_t> portable(n), other(n);
    size_t want = em::hex_decode_digits_portable(digits.data(), portable.data(), n);
    FUZZ_CHECK(want == ref_first_bad(digits.substr(0, 2 * n)));
    for (em::HexImpl impl : {em::HexImpl::portable, em::HexImpl::avx2}) {
        if (!em::hex_supported(impl)) continue;
        em::hex_force(impl);
        size_t got = em::hex_decode_digits(digits.data(), other.data(), n);
        FUZZ_CHECK(got == want);
        if (got == em::hex_ok) FUZZ_CHECK(other == portable);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
    check_data(text, data[0]);
    // The same text as a value of its own length, so valid DATA is reached often.
    if (text.size() >= 2 && text.size() % 2 == 0) check_data(text, text.size() / 2 - 1);
    check_quantities(text);
    check_decoders(text);
    if (text.size() > 2) check_decoders(text.substr(2));
    return 0;
}
