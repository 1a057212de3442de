#include "http/jwt_json.h"

#include <cstring>

#include "base/hex.h"

namespace em::http::detail {

Unexpected JsonObjectReader::error(const char* what) const {
    return failf(Errc::invalid_input, "%s at offset %zu", what, static_cast<size_t>(p_ - begin_));
}

void JsonObjectReader::skip_ws() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) p_++;
}

Result<void> JsonObjectReader::expect(char c) {
    if (p_ == end_ || *p_ != c) {
        char what[24];
        std::memcpy(what, "expected '?'", 13);
        what[10] = c;
        return error(what);
    }
    p_++;
    return {};
}

Result<bool> JsonObjectReader::next(JsonMember& m) {
    if (done_) return false;
    skip_ws();
    bool first = !started_;
    if (first) {
        EM_TRY_VOID(expect('{'));
        started_ = true;
        skip_ws();
    }
    if (p_ < end_ && *p_ == '}') {
        p_++;
        skip_ws();
        if (p_ != end_) return error("bytes after the JSON object");
        done_ = true;
        return false;
    }
    if (!first) {
        EM_TRY_VOID(expect(','));
        skip_ws();
    }
    if (p_ == end_ || *p_ != '"') return error("expected a string key");
    EM_TRY_VOID(string(&m.key));
    skip_ws();
    EM_TRY_VOID(expect(':'));
    skip_ws();
    const char* value_begin = p_;
    m.text = {};
    m.kind = EM_TRY(value(0, &m.text));
    m.raw = std::string_view(value_begin, static_cast<size_t>(p_ - value_begin));
    return true;
}

Result<JsonKind> JsonObjectReader::value(int depth, std::string_view* decoded) {
    if (p_ == end_) return error("expected a value");
    switch (*p_) {
        case '"':
            EM_TRY_VOID(string(decoded));
            return JsonKind::string;
        case '{':
            if (depth == depth_max) return error("JSON nested too deeply");
            p_++;
            EM_TRY_VOID(container('}', depth + 1));
            return JsonKind::object;
        case '[':
            if (depth == depth_max) return error("JSON nested too deeply");
            p_++;
            EM_TRY_VOID(container(']', depth + 1));
            return JsonKind::array;
        case 't':
            EM_TRY_VOID(literal("true"));
            return JsonKind::boolean;
        case 'f':
            EM_TRY_VOID(literal("false"));
            return JsonKind::boolean;
        case 'n':
            EM_TRY_VOID(literal("null"));
            return JsonKind::null;
        default:
            EM_TRY_VOID(number());
            return JsonKind::number;
    }
}

// After the opening bracket: members (objects) or elements (arrays) up to `close`.
Result<void> JsonObjectReader::container(char close, int depth) {
    skip_ws();
    if (p_ < end_ && *p_ == close) {
        p_++;
        return {};
    }
    for (;;) {
        skip_ws();
        if (close == '}') {
            if (p_ == end_ || *p_ != '"') return error("expected a string key");
            EM_TRY_VOID(string(nullptr));
            skip_ws();
            EM_TRY_VOID(expect(':'));
            skip_ws();
        }
        EM_TRY(value(depth, nullptr));
        skip_ws();
        if (p_ < end_ && *p_ == close) {
            p_++;
            return {};
        }
        EM_TRY_VOID(expect(','));
    }
}

Result<void> JsonObjectReader::literal(std::string_view word) {
    if (static_cast<size_t>(end_ - p_) < word.size() ||
        std::memcmp(p_, word.data(), word.size()) != 0) {
        return error("bad literal");
    }
    p_ += word.size();
    return {};
}

Result<void> JsonObjectReader::number() {
    auto digits = [this] {
        const char* s = p_;
        while (p_ < end_ && *p_ >= '0' && *p_ <= '9') p_++;
        return p_ != s;
    };
    if (p_ < end_ && *p_ == '-') p_++;
    if (p_ < end_ && *p_ == '0') {
        p_++;
    } else if (!digits()) {
        return error("bad number");
    }
    if (p_ < end_ && *p_ == '.') {
        p_++;
        if (!digits()) return error("bad number fraction");
    }
    if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
        p_++;
        if (p_ < end_ && (*p_ == '+' || *p_ == '-')) p_++;
        if (!digits()) return error("bad number exponent");
    }
    return {};
}

// At the opening quote. Decodes into the scratch buffer when `decoded` is not null.
Result<void> JsonObjectReader::string(std::string_view* decoded) {
    p_++;
    char local[8];
    char* out = decoded ? scratch_ : local;
    char* out_begin = out;
    for (;;) {
        if (p_ == end_) return error("unterminated string");
        if (decoded && static_cast<size_t>(out - out_begin) + 4 > scratch_left_) {
            return error("string too long for scratch");
        }
        if (!decoded) out = local;
        uint8_t c = static_cast<uint8_t>(*p_);
        if (c == '"') break;
        if (c < 0x20) return error("control byte in string");
        if (c == '\\') {
            EM_TRY_VOID(escape(out));
        } else if (c < 0x80) {
            *out++ = static_cast<char>(c);
            p_++;
        } else {
            EM_TRY_VOID(utf8(out));
        }
    }
    p_++;
    if (decoded) {
        size_t n = static_cast<size_t>(out - out_begin);
        *decoded = std::string_view(out_begin, n);
        scratch_ += n;
        scratch_left_ -= n;
    }
    return {};
}

// At a backslash inside a string; writes the decoded character (UTF-8) to out.
Result<void> JsonObjectReader::escape(char*& out) {
    if (end_ - p_ < 2) return error("unterminated escape");
    char e = p_[1];
    static constexpr char from[] = "\"\\/bfnrt";
    static constexpr char to[] = "\"\\/\b\f\n\r\t";
    if (const char* f = std::strchr(from, e); f && e) {
        *out++ = to[f - from];
        p_ += 2;
        return {};
    }
    if (e != 'u') return error("bad escape");
    auto hex4 = [this](const char* at, uint32_t& v) {
        if (end_ - at < 4) return false;
        v = 0;
        for (int i = 0; i < 4; i++) {
            int d = hex_digit_value(at[i]);
            if (d < 0) return false;
            v = (v << 4) | static_cast<uint32_t>(d);
        }
        return true;
    };
    uint32_t cp;
    if (!hex4(p_ + 2, cp)) return error("bad \\u escape");
    p_ += 6;
    if (cp >= 0xDC00 && cp <= 0xDFFF) return error("lone low surrogate");
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        uint32_t lo;
        if (end_ - p_ < 6 || p_[0] != '\\' || p_[1] != 'u' || !hex4(p_ + 2, lo) || lo < 0xDC00 ||
            lo > 0xDFFF) {
            return error("lone high surrogate");
        }
        p_ += 6;
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    }
    if (cp < 0x80) {
        *out++ = static_cast<char>(cp);
    } else if (cp < 0x800) {
        *out++ = static_cast<char>(0xC0 | (cp >> 6));
        *out++ = static_cast<char>(0x80 | (cp & 63));
    } else if (cp < 0x10000) {
        *out++ = static_cast<char>(0xE0 | (cp >> 12));
        *out++ = static_cast<char>(0x80 | ((cp >> 6) & 63));
        *out++ = static_cast<char>(0x80 | (cp & 63));
    } else {
        *out++ = static_cast<char>(0xF0 | (cp >> 18));
        *out++ = static_cast<char>(0x80 | ((cp >> 12) & 63));
        *out++ = static_cast<char>(0x80 | ((cp >> 6) & 63));
        *out++ = static_cast<char>(0x80 | (cp & 63));
    }
    return {};
}

// At a byte >= 0x80: one well-formed UTF-8 sequence (RFC 3629), copied to out.
Result<void> JsonObjectReader::utf8(char*& out) {
    uint8_t c = static_cast<uint8_t>(*p_);
    int n;
    uint8_t lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
        n = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 2;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 3;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else {
        return error("invalid UTF-8");
    }
    if (end_ - p_ < n + 1) return error("truncated UTF-8");
    for (int i = 1; i <= n; i++) {
        uint8_t b = static_cast<uint8_t>(p_[i]);
        if (b < (i == 1 ? lo : 0x80) || b > (i == 1 ? hi : 0xBF)) return error("invalid UTF-8");
    }
    std::memcpy(out, p_, static_cast<size_t>(n) + 1);
    out += n + 1;
    p_ += n + 1;
    return {};
}

Result<int64_t> json_seconds(std::string_view raw) {
    size_t i = 0;
    bool negative = !raw.empty() && raw[0] == '-';
    if (negative) i++;
    int64_t v = 0;
    size_t digits = 0;
    for (; i < raw.size() && raw[i] >= '0' && raw[i] <= '9'; i++, digits++) {
        if (digits == 15) return fail(Errc::invalid_input, "out of range");
        v = v * 10 + (raw[i] - '0');
    }
    if (digits == 0) return fail(Errc::invalid_input, "not a number");
    if (i < raw.size() && raw[i] == '.') {
        for (i++; i < raw.size() && raw[i] >= '0' && raw[i] <= '9'; i++) {
        }
    }
    if (i != raw.size()) return fail(Errc::invalid_input, "not a plain number of seconds");
    return negative ? -v : v;
}

}  // namespace em::http::detail
