// JSON text helpers (see json_text.h).
#include "jsonrpc/json_text.h"

#include <cstring>

#include "base/hex.h"

namespace em::jsonrpc {

namespace {

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

// Four hex digits at p (p + 4 <= end), or -1.
int32_t hex4(const char* p, const char* end) {
    if (end - p < 4) return -1;
    int32_t v = 0;
    for (int i = 0; i < 4; i++) {
        int d = hex_digit_value(p[i]);
        if (d < 0) return -1;
        v = v * 16 + d;
    }
    return v;
}

constexpr uint32_t invalid_code_point = 0xFFFFFFFFu;
constexpr uint32_t end_of_text = 0xFFFFFFFEu;
// A code point value outside Unicode that stands for a raw byte that is not valid UTF-8, so that
// invalid bytes still compare equal only to themselves.
constexpr uint32_t raw_byte_base = 0x110000u;

// Decodes raw JSON string content one code point at a time. Lone surrogate escapes yield the
// surrogate's value with `lone_surrogate` set.
class CodePointReader {
  public:
    explicit CodePointReader(std::string_view content)
        : p_(content.data()), end_(content.data() + content.size()) {}

    bool lone_surrogate = false;

    uint32_t next() {
        if (p_ == end_) return end_of_text;
        unsigned char c = static_cast<unsigned char>(*p_);
        if (c == '\\') return next_escape();
        if (c < 0x80) {
            p_++;
            return c;
        }
        return next_utf8(c);
    }

  private:
    uint32_t next_escape() {
        if (end_ - p_ < 2) return invalid_code_point;
        char e = p_[1];
        p_ += 2;
        switch (e) {
            case '"':
                return '"';
            case '\\':
                return '\\';
            case '/':
                return '/';
            case 'b':
                return '\b';
            case 'f':
                return '\f';
            case 'n':
                return '\n';
            case 'r':
                return '\r';
            case 't':
                return '\t';
            case 'u':
                return next_unicode_escape();
            default:
                return invalid_code_point;
        }
    }

    uint32_t next_unicode_escape() {
        int32_t u = hex4(p_, end_);
        if (u < 0) return invalid_code_point;
        p_ += 4;
        if (u >= 0xD800 && u <= 0xDBFF && end_ - p_ >= 6 && p_[0] == '\\' && p_[1] == 'u') {
            int32_t low = hex4(p_ + 2, end_);
            if (low >= 0xDC00 && low <= 0xDFFF) {
                p_ += 6;
                return 0x10000u + ((static_cast<uint32_t>(u) - 0xD800u) << 10) +
                       (static_cast<uint32_t>(low) - 0xDC00u);
            }
        }
        if (u >= 0xD800 && u <= 0xDFFF) lone_surrogate = true;
        return static_cast<uint32_t>(u);
    }

    uint32_t next_utf8(unsigned char c) {
        int extra = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : -1;
        if (extra < 0 || end_ - p_ <= extra)
            return raw_byte_base + *reinterpret_cast<const unsigned char*>(p_++);
        uint32_t cp = c & (0x3Fu >> extra);
        for (int i = 1; i <= extra; i++) {
            unsigned char k = static_cast<unsigned char>(p_[i]);
            if ((k & 0xC0) != 0x80)
                return raw_byte_base + *reinterpret_cast<const unsigned char*>(p_++);
            cp = (cp << 6) | (k & 0x3Fu);
        }
        p_ += extra + 1;
        return cp;
    }

    const char* p_;
    const char* end_;
};

// Writes cp as UTF-8 at out (room for 4 bytes); returns the length.
size_t encode_utf8(uint32_t cp, char* out) {
    if (cp < 0x80) {
        out[0] = static_cast<char>(cp);
        return 1;
    }
    if (cp < 0x800) {
        out[0] = static_cast<char>(0xC0 | (cp >> 6));
        out[1] = static_cast<char>(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = static_cast<char>(0xE0 | (cp >> 12));
        out[1] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out[2] = static_cast<char>(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = static_cast<char>(0xF0 | (cp >> 18));
    out[1] = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out[2] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out[3] = static_cast<char>(0x80 | (cp & 0x3F));
    return 4;
}

// A number token split into its parts: value = sign * 0.<significant digits> * 10^scale.
struct Decimal {
    bool negative = false;
    bool zero = true;
    std::string_view int_digits, frac_digits;
    size_t first = 0;  // index of the first significant digit in int_digits ++ frac_digits
    size_t last = 0;   // one past the last significant digit
    int64_t scale = 0;

    char digit(size_t k) const {
        return k < int_digits.size() ? int_digits[k] : frac_digits[k - int_digits.size()];
    }
};

constexpr int64_t exponent_saturation = int64_t{1} << 40;

Decimal split_number(std::string_view t) {
    Decimal d;
    size_t i = 0;
    if (i < t.size() && t[i] == '-') d.negative = true, i++;
    size_t s = i;
    while (i < t.size() && is_digit(t[i])) i++;
    d.int_digits = t.substr(s, i - s);
    if (i < t.size() && t[i] == '.') {
        s = ++i;
        while (i < t.size() && is_digit(t[i])) i++;
        d.frac_digits = t.substr(s, i - s);
    }
    int64_t exp = 0;
    if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
        i++;
        bool neg = i < t.size() && t[i] == '-';
        if (i < t.size() && (t[i] == '-' || t[i] == '+')) i++;
        for (; i < t.size(); i++) {
            if (exp < exponent_saturation) exp = exp * 10 + (t[i] - '0');
        }
        if (neg) exp = -exp;
    }
    size_t n = d.int_digits.size() + d.frac_digits.size();
    while (d.first < n && d.digit(d.first) == '0') d.first++;
    if (d.first == n) return d;
    d.zero = false;
    d.last = n;
    while (d.digit(d.last - 1) == '0') d.last--;
    d.scale = static_cast<int64_t>(d.int_digits.size()) - static_cast<int64_t>(d.first) + exp;
    return d;
}

}  // namespace

std::string_view trim_json_space(std::string_view s) {
    size_t b = 0;
    while (b < s.size() && is_json_space(s[b])) b++;
    return trim_json_space_right(s.substr(b));
}

bool is_json_number(std::string_view t) {
    size_t i = 0, n = t.size();
    if (i < n && t[i] == '-') i++;
    if (i == n) return false;
    if (t[i] == '0') {
        i++;
    } else if (t[i] >= '1' && t[i] <= '9') {
        while (i < n && is_digit(t[i])) i++;
    } else {
        return false;
    }
    if (i < n && t[i] == '.') {
        size_t s = ++i;
        while (i < n && is_digit(t[i])) i++;
        if (i == s) return false;
    }
    if (i < n && (t[i] == 'e' || t[i] == 'E')) {
        i++;
        if (i < n && (t[i] == '+' || t[i] == '-')) i++;
        size_t s = i;
        while (i < n && is_digit(t[i])) i++;
        if (i == s) return false;
    }
    return i == n;
}

bool parse_json_int32(std::string_view t, int32_t* out) {
    if (!is_json_number(t)) return false;
    size_t i = t[0] == '-' ? 1 : 0;
    int64_t v = 0;
    for (; i < t.size(); i++) {
        if (!is_digit(t[i])) return false;  // fraction or exponent
        v = v * 10 + (t[i] - '0');
        if (v > int64_t{1} << 31) return false;
    }
    if (t[0] == '-') v = -v;
    if (v < INT32_MIN || v > INT32_MAX) return false;
    *out = static_cast<int32_t>(v);
    return true;
}

bool is_json_string_literal(std::string_view raw) {
    if (raw.size() < 2 || raw.front() != '"' || raw.back() != '"') return false;
    std::string_view content = raw.substr(1, raw.size() - 2);
    for (size_t i = 0; i < content.size(); i++) {
        auto c = static_cast<unsigned char>(content[i]);
        if (c < 0x20 || c == '"') return false;
        if (c == '\\' && ++i >= content.size()) return false;  // an escape: skip its letter
    }
    return json_escapes_valid(content);
}

bool json_escapes_valid(std::string_view content) {
    const char* p = content.data();
    const char* end = p + content.size();
    for (;;) {
        const void* hit = std::memchr(p, '\\', static_cast<size_t>(end - p));
        if (!hit) return true;
        p = static_cast<const char*>(hit);
        if (end - p < 2) return false;
        switch (p[1]) {
            case '"':
            case '\\':
            case '/':
            case 'b':
            case 'f':
            case 'n':
            case 'r':
            case 't':
                p += 2;
                break;
            case 'u':
                if (hex4(p + 2, end) < 0) return false;
                p += 6;
                break;
            default:
                return false;
        }
    }
}

ptrdiff_t json_unescape(std::string_view content, char* out, size_t out_bytes_max) {
    CodePointReader r(content);
    size_t n = 0;
    char tmp[4];
    for (;;) {
        uint32_t cp = r.next();
        if (cp == end_of_text) return static_cast<ptrdiff_t>(n);
        if (cp == invalid_code_point || r.lone_surrogate) return -1;
        if (cp >= raw_byte_base) {
            tmp[0] = static_cast<char>(cp - raw_byte_base);
            if (n + 1 > out_bytes_max) return -1;
            out[n++] = tmp[0];
            continue;
        }
        size_t k = encode_utf8(cp, tmp);
        if (n + k > out_bytes_max) return -1;
        std::memcpy(out + n, tmp, k);
        n += k;
    }
}

bool json_string_content_equal(std::string_view a, std::string_view b) {
    if (a == b) return true;
    CodePointReader ra(a), rb(b);
    for (;;) {
        uint32_t x = ra.next(), y = rb.next();
        if (x != y || x == invalid_code_point) return false;
        if (x == end_of_text) return true;
    }
}

bool json_number_equal(std::string_view a, std::string_view b) {
    if (a == b) return true;
    if (!is_json_number(a) || !is_json_number(b)) return false;
    Decimal x = split_number(a), y = split_number(b);
    if (x.zero || y.zero) return x.zero && y.zero;
    if (x.negative != y.negative || x.scale != y.scale) return false;
    if (x.last - x.first != y.last - y.first) return false;
    for (size_t i = 0; i < x.last - x.first; i++) {
        if (x.digit(x.first + i) != y.digit(y.first + i)) return false;
    }
    return true;
}

}  // namespace em::jsonrpc
