// The hex codec (see hex.h): portable digit decoder, CPUID dispatch, Engine API DATA/QUANTITY.
#include "base/hex.h"

#include "base/assert.h"
#include "base/cpu.h"
#include "base/hex_internal.h"
#include "base/kernel_choice.h"

namespace em {

namespace {

// 0..15 for [0-9a-fA-F], 0xff for everything else.
constexpr auto make_table() {
    struct Table {
        uint8_t v[256];
    } t{};
    for (int i = 0; i < 256; i++) t.v[i] = 0xff;
    for (int i = 0; i < 10; i++) t.v['0' + i] = static_cast<uint8_t>(i);
    for (int i = 0; i < 6; i++) {
        t.v['a' + i] = static_cast<uint8_t>(10 + i);
        t.v['A' + i] = static_cast<uint8_t>(10 + i);
    }
    return t;
}
constexpr auto hex_table = make_table();

constexpr char lower_digits[] = "0123456789abcdef";

KernelChoice<HexImpl, 2> g_hex_kernel{hex_supported, {HexImpl::avx2, HexImpl::portable}};

// "invalid hex digit 'g' at index 3" (index + base counts from the start of the value).
Unexpected digit_fail(char c, size_t index) {
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f)
        return failf(Errc::invalid_input, "invalid hex digit '%c' at index %zu", u, index);
    return failf(Errc::invalid_input, "invalid hex digit 0x%02x at index %zu", u, index);
}

// The digits after "0x", or an error.
Result<std::string_view> after_prefix(std::string_view text) {
    if (text.size() < 2 || text[0] != '0' || text[1] != 'x')
        return fail(Errc::invalid_input, "missing 0x prefix");
    return text.substr(2);
}

// 1..16 digits; `base` is added to error indexes.
Result<uint64_t> digits_u64(std::string_view d, size_t base) {
    if (d.empty()) return fail(Errc::invalid_input, "no hex digits");
    if (d.size() > 16) return fail(Errc::invalid_input, "quantity exceeds 64 bits");
    uint64_t x = 0;
    for (size_t i = 0; i < d.size(); i++) {
        uint8_t v = hex_table.v[static_cast<uint8_t>(d[i])];
        if (v == 0xff) return digit_fail(d[i], base + i);
        x = x << 4 | v;
    }
    return x;
}

// 1..64 digits; digit i sits at position n-1-i from the least significant end.
Result<U256> digits_u256(std::string_view d, size_t base) {
    if (d.empty()) return fail(Errc::invalid_input, "no hex digits");
    if (d.size() > 64) return fail(Errc::invalid_input, "quantity exceeds 256 bits");
    U256 x;
    size_t n = d.size();
    for (size_t i = 0; i < n; i++) {
        uint8_t v = hex_table.v[static_cast<uint8_t>(d[i])];
        if (v == 0xff) return digit_fail(d[i], base + i);
        size_t k = n - 1 - i;
        x.be[31 - k / 2] |= static_cast<uint8_t>(k % 2 ? v << 4 : v);
    }
    return x;
}

// The digits of a QUANTITY after its shape checks (not empty, no leading zero, at most max).
Result<std::string_view> quantity_digits(std::string_view text, size_t digits_max, int bits) {
    std::string_view d = EM_TRY(after_prefix(text));
    if (d.empty()) return fail(Errc::invalid_input, "empty quantity (zero is 0x0)");
    if (d.size() > 1 && d[0] == '0')
        return fail(Errc::invalid_input, "leading zero digit in quantity");
    if (d.size() > digits_max) return failf(Errc::invalid_input, "quantity exceeds %d bits", bits);
    return d;
}

}  // namespace

// ---- digits ------------------------------------------------------------------------------------

void hex_encode(std::span<const uint8_t> in, char* out) {
    for (size_t i = 0; i < in.size(); i++) {
        out[2 * i] = lower_digits[in[i] >> 4];
        out[2 * i + 1] = lower_digits[in[i] & 15];
    }
}

Result<void> hex_decode(std::string_view in, uint8_t* out) {
    if (in.size() % 2 != 0) return fail(Errc::invalid_input, "odd number of hex digits");
    size_t at = hex_decode_digits(in.data(), out, in.size() / 2);
    if (at != hex_ok) return failf(Errc::invalid_input, "invalid hex digit at offset %zu", at);
    return {};
}

size_t hex_decode_digits_portable(const char* in, uint8_t* out, size_t out_bytes) {
    for (size_t i = 0; i < out_bytes; i++) {
        uint8_t hi = hex_table.v[static_cast<uint8_t>(in[2 * i])];
        uint8_t lo = hex_table.v[static_cast<uint8_t>(in[2 * i + 1])];
        if ((hi | lo) == 0xff) return hi == 0xff ? 2 * i : 2 * i + 1;
        out[i] = static_cast<uint8_t>(hi << 4 | lo);
    }
    return hex_ok;
}

bool hex_supported(HexImpl impl) {
    return impl == HexImpl::portable || cpu_features().avx2;
}

void hex_force(HexImpl impl) {
    g_hex_kernel.force(impl);
}

size_t hex_decode_digits(const char* in, uint8_t* out, size_t out_bytes) {
    if (g_hex_kernel.selected() == HexImpl::avx2) return hex_decode_digits_avx2(in, out, out_bytes);
    return hex_decode_digits_portable(in, out, out_bytes);
}

Result<uint64_t> hex_digits_to_u64(std::string_view digits) {
    return digits_u64(digits, 0);
}

Result<U256> hex_digits_to_u256(std::string_view digits) {
    return digits_u256(digits, 0);
}

// ---- Engine API values ---------------------------------------------------------------------

Result<size_t> data_bytes(std::string_view text) {
    std::string_view d = EM_TRY(after_prefix(text));
    if (d.size() % 2) return fail(Errc::invalid_input, "odd number of hex digits");
    return d.size() / 2;
}

Result<void> parse_data(std::string_view text, std::span<uint8_t> out) {
    size_t n = EM_TRY(data_bytes(text));
    if (n != out.size())
        return failf(Errc::invalid_input, "expected %zu bytes, got %zu", out.size(), n);
    size_t at = hex_decode_digits(text.data() + 2, out.data(), n);
    if (at != hex_ok) return digit_fail(text[2 + at], 2 + at);
    return {};
}

Result<uint64_t> parse_quantity(std::string_view text) {
    std::string_view d = EM_TRY(quantity_digits(text, 16, 64));
    return digits_u64(d, 2);
}

Result<U256> parse_quantity_u256(std::string_view text) {
    std::string_view d = EM_TRY(quantity_digits(text, 64, 256));
    return digits_u256(d, 2);
}

size_t format_quantity(uint64_t v, char* out) {
    char tmp[16];
    size_t n = 0;
    do {
        tmp[15 - n++] = lower_digits[v & 15];
        v >>= 4;
    } while (v);
    out[0] = '0';
    out[1] = 'x';
    for (size_t i = 0; i < n; i++) out[2 + i] = tmp[16 - n + i];
    return 2 + n;
}

size_t format_quantity(const U256& v, char* out) {
    out[0] = '0';
    out[1] = 'x';
    size_t n = 2;
    for (size_t i = 0; i < 64; i++) {
        unsigned d = i % 2 ? v.be[i / 2] & 15u : v.be[i / 2] >> 4;
        if (n == 2 && d == 0 && i != 63) continue;  // no leading zeros; zero is "0x0"
        out[n++] = lower_digits[d];
    }
    return n;
}

void format_data(std::span<const uint8_t> bytes, char* out) {
    out[0] = '0';
    out[1] = 'x';
    hex_encode(bytes, out + 2);
}

bool append_data(ByteBuffer& out, std::span<const uint8_t> bytes) {
    char* p = out.prepare(2 + 2 * bytes.size());
    if (!p) return false;
    format_data(bytes, p);
    out.commit(2 + 2 * bytes.size());
    return true;
}

bool append_quantity(ByteBuffer& out, uint64_t v) {
    char text[quantity_chars_max];
    return out.append(text, format_quantity(v, text));
}

bool append_quantity(ByteBuffer& out, const U256& v) {
    char text[quantity_u256_chars_max];
    return out.append(text, format_quantity(v, text));
}

}  // namespace em
