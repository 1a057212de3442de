#include "http/jwt.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/assert.h"
#include "base/hex.h"
#include "base/name.h"
#include "http/jwt_json.h"
#include "http/message.h"

namespace em::http {

namespace {

constexpr std::string_view signer_header = R"({"alg":"HS256","typ":"JWT"})";
constexpr size_t signature_chars = base64url_encoded_bytes(HmacSha256::digest_bytes);  // 43

Unexpected reject(const char* message) {
    return fail(Errc::unauthorized, message);
}

Unexpected reject_because(const char* context, const Error& cause) {
    return failf(Errc::unauthorized, "%s: %s", context, cause.c_str());
}

/// Copies up to 24 bytes of peer text for an error message, replacing non-printable bytes.
struct Printable {
    char text[28];
    explicit Printable(std::string_view s) {
        size_t n = s.size() < 24 ? s.size() : 24;
        for (size_t i = 0; i < n; i++) {
            uint8_t c = static_cast<uint8_t>(s[i]);
            text[i] = (c >= 0x20 && c < 0x7F && c != '"') ? static_cast<char>(c) : '?';
        }
        if (n < s.size()) {
            std::memcpy(text + n, "...", 3);
            n += 3;
        }
        text[n] = 0;
    }
};

/// Constant-time equality of n bytes (time depends on n only), 8 bytes per step: the cached
/// token is ~150 bytes and CRYPTO_memcmp's byte loop cost more than the rest of a cache hit.
bool equal_const_time(const char* a, const char* b, size_t n) {
    uint64_t diff = 0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t x, y;
        std::memcpy(&x, a + i, 8);
        std::memcpy(&y, b + i, 8);
        diff |= x ^ y;
    }
    for (; i < n; i++) diff |= static_cast<uint8_t>(a[i] ^ b[i]);
    return diff == 0;
}

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

}  // namespace

Result<JwtSecret> parse_jwt_secret(std::string_view text) {
    while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
    while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
    std::string_view digits = strip_0x(text);
    size_t offset = text.size() - digits.size();
    if (digits.empty())
        return fail(Errc::invalid_input, "JWT secret is empty (expected 64 hex digits)");
    // What is wrong is said by offset and count, never by showing a byte: the file may be one
    // that is not a secret at all (issue 19: a quoted first byte of /etc/shadow).
    for (size_t i = 0; i < digits.size(); i++) {
        if (hex_digit_value(digits[i]) < 0) {
            return failf(Errc::invalid_input,
                         "not 32 bytes of hex (non-hex character at offset %zu)", offset + i);
        }
    }
    if (digits.size() != 64) {
        return failf(Errc::invalid_input, "not 32 bytes of hex (%zu hex digits, expected 64)",
                     digits.size());
    }
    JwtSecret secret;
    EM_TRY_VOID(hex_decode(digits, secret.key.data()));
    return secret;
}

Result<JwtSecret> load_jwt_secret_file(const char* path) {
    int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return failf(e == ENOENT ? Errc::not_found : Errc::io, "jwt secret file %s: %s", path,
                     std::strerror(e));
    }
    char buf[jwt_secret_file_bytes_max + 1];
    size_t n = 0;
    while (n < sizeof buf) {
        ssize_t r = ::read(fd, buf + n, sizeof buf - n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            int e = errno;
            ::close(fd);
            return failf(Errc::io, "jwt secret file %s: %s", path, std::strerror(e));
        }
        if (r == 0) break;
        n += static_cast<size_t>(r);
    }
    ::close(fd);
    if (n > jwt_secret_file_bytes_max) {
        return failf(Errc::invalid_input,
                     "jwt secret file %s: larger than %zu bytes, not a JWT secret", path,
                     jwt_secret_file_bytes_max);
    }
    Result<JwtSecret> secret = parse_jwt_secret(std::string_view(buf, n));
    OPENSSL_cleanse(buf, n);
    if (!secret)
        return failf(Errc::invalid_input, "jwt secret file %s: %s", path, secret.error().c_str());
    return secret;
}

std::string_view jwt_unverified_id(std::string_view value, std::span<char> out) {
    size_t sp = value.find(' ');
    if (sp == std::string_view::npos || !iequals(value.substr(0, sp), "bearer")) return {};
    std::string_view token = value.substr(sp);
    while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
    size_t d1 = token.find('.');
    size_t d2 = d1 == std::string_view::npos ? d1 : token.find('.', d1 + 1);
    if (d2 == std::string_view::npos || token.size() > JwtVerifier::token_bytes_max) return {};
    uint8_t json[JwtVerifier::json_bytes_max];
    char scratch[JwtVerifier::json_bytes_max];
    Result<size_t> n = base64url_decode(token.substr(d1 + 1, d2 - d1 - 1), json, sizeof json);
    if (!n) return {};
    detail::JsonObjectReader reader(std::string_view(reinterpret_cast<const char*>(json), *n),
                                    scratch, sizeof scratch);
    detail::JsonMember m;
    for (;;) {
        Result<bool> more = reader.next(m);
        if (!more || !*more) return {};
        if (m.key != "id") continue;
        if (m.kind != detail::JsonKind::string) return {};
        size_t len = m.text.size() < out.size() ? m.text.size() : out.size();
        std::memcpy(out.data(), m.text.data(), len);
        return {out.data(), len};
    }
}

JwtVerifier::JwtVerifier(const JwtSecret& secret, bool cache_last)
    : hmac_(secret.key), cache_enabled_(cache_last) {}

Result<void> JwtVerifier::verify_authorization(std::string_view value, int64_t now_s) {
    if (value.empty()) return reject("missing Authorization header");
    size_t sp = value.find(' ');
    std::string_view scheme = value.substr(0, sp);
    if (!iequals(scheme, "bearer")) {
        Printable p(scheme);
        return failf(Errc::unauthorized, "Authorization scheme \"%s\" is not Bearer", p.text);
    }
    std::string_view token = sp == std::string_view::npos ? std::string_view() : value.substr(sp);
    while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
    if (token.empty()) return reject("Bearer token is empty");
    return verify_token(token, now_s);
}

Result<void> JwtVerifier::verify_token(std::string_view token, int64_t now_s) {
    if (token.size() > token_bytes_max) {
        return failf(Errc::unauthorized, "token is %zu bytes, limit %zu", token.size(),
                     token_bytes_max);
    }
    if (cache_enabled_ && cached_bytes_ == token.size() && cached_bytes_ != 0 &&
        equal_const_time(cached_token_, token.data(), token.size())) {
        EM_TRY_VOID(check_time(cached_claims_, now_s));
        cache_hits_++;
        return {};
    }
    size_t d1 = token.find('.');
    size_t d2 = d1 == std::string_view::npos ? d1 : token.find('.', d1 + 1);
    if (d2 == std::string_view::npos || token.find('.', d2 + 1) != std::string_view::npos) {
        size_t parts = 1;
        for (char c : token) parts += c == '.';
        return failf(Errc::unauthorized,
                     "token has %zu parts, expected 3 (header.payload.signature)", parts);
    }
    EM_TRY_VOID(check_header(token.substr(0, d1)));
    EM_TRY_VOID(check_signature(token.substr(0, d2), token.substr(d2 + 1)));
    Claims claims = EM_TRY(parse_claims(token.substr(d1 + 1, d2 - d1 - 1)));
    EM_TRY_VOID(check_time(claims, now_s));
    if (cache_enabled_) {
        std::memcpy(cached_token_, token.data(), token.size());
        cached_bytes_ = token.size();
        cached_claims_ = claims;
    }
    return {};
}

Result<void> JwtVerifier::check_header(std::string_view encoded) {
    // check_header is a pure function of these bytes, and CLs send the same header every time.
    if (encoded.size() == good_header_bytes_ &&
        std::memcmp(encoded.data(), good_header_, good_header_bytes_) == 0) {
        return {};
    }
    Result<size_t> n = base64url_decode(encoded, json_, sizeof json_);
    if (!n) return reject_because("token header is not base64url", n.error());
    detail::JsonObjectReader reader(std::string_view(reinterpret_cast<const char*>(json_), *n),
                                    scratch_, sizeof scratch_);
    detail::JsonMember m;
    std::string_view alg;
    bool has_alg = false;
    for (;;) {
        Result<bool> more = reader.next(m);
        if (!more) return reject_because("token header is not a JSON object", more.error());
        if (!*more) break;
        if (m.key == "alg") {
            if (has_alg) return reject("token header has two alg members");
            if (m.kind != detail::JsonKind::string) return reject("token alg is not a string");
            has_alg = true;
            alg = m.text;
        } else if (m.key == "crit") {
            return reject("token header has crit (no critical extensions are supported)");
        }
    }
    if (!has_alg) return reject("token header has no alg");
    if (alg != "HS256") {
        Printable p(alg);
        return failf(Errc::unauthorized, "token alg \"%s\" is not HS256", p.text);
    }
    if (encoded.size() <= sizeof good_header_) {
        std::memcpy(good_header_, encoded.data(), encoded.size());
        good_header_bytes_ = encoded.size();
    }
    return {};
}

Result<void> JwtVerifier::check_signature(std::string_view signed_part,
                                          std::string_view encoded_sig) {
    if (encoded_sig.size() != signature_chars) {
        return failf(Errc::unauthorized, "signature is %zu base64url characters, HS256 needs %zu",
                     encoded_sig.size(), signature_chars);
    }
    uint8_t sig[HmacSha256::digest_bytes];
    Result<size_t> n = base64url_decode(encoded_sig, sig, sizeof sig);
    if (!n) return reject_because("signature is not base64url", n.error());
    EM_ASSERT(*n == sizeof sig);
    HmacSha256::Digest expected = hmac_.mac(signed_part);
    if (CRYPTO_memcmp(expected.data(), sig, sizeof sig) != 0) {
        return reject("signature does not match the JWT secret");
    }
    return {};
}

Result<JwtVerifier::Claims> JwtVerifier::parse_claims(std::string_view encoded) {
    Result<size_t> n = base64url_decode(encoded, json_, sizeof json_);
    if (!n) return reject_because("token payload is not base64url", n.error());
    detail::JsonObjectReader reader(std::string_view(reinterpret_cast<const char*>(json_), *n),
                                    scratch_, sizeof scratch_);
    detail::JsonMember m;
    Claims claims;
    bool has_iat = false;
    for (;;) {
        Result<bool> more = reader.next(m);
        if (!more) return reject_because("token payload is not a JSON object", more.error());
        if (!*more) break;
        bool is_iat = m.key == "iat";
        if (!is_iat && m.key != "exp") continue;
        const char* name = is_iat ? "iat" : "exp";
        if (is_iat ? has_iat : claims.has_exp) {
            return failf(Errc::unauthorized, "token payload has two %s claims", name);
        }
        if (m.kind != detail::JsonKind::number) {
            return failf(Errc::unauthorized, "token %s is not a number", name);
        }
        Result<int64_t> v = detail::json_seconds(m.raw);
        if (!v) {
            return failf(Errc::unauthorized, "token %s: %s", name, v.error().c_str());
        }
        (is_iat ? claims.iat : claims.exp) = *v;
        (is_iat ? has_iat : claims.has_exp) = true;
    }
    if (!has_iat) return reject("token has no iat claim (required by the Engine API)");
    return claims;
}

Result<void> JwtVerifier::check_time(const Claims& claims, int64_t now_s) {
    int64_t age = now_s - claims.iat;
    if (age > iat_window_s || age < -iat_window_s) {
        return failf(Errc::unauthorized,
                     "iat is %lld s from now, limit %lld s (iat in the %s; check clocks)",
                     static_cast<long long>(age < 0 ? -age : age),
                     static_cast<long long>(iat_window_s), age < 0 ? "future" : "past");
    }
    if (claims.has_exp && now_s > claims.exp) {
        return failf(Errc::unauthorized, "token expired %lld s ago (exp)",
                     static_cast<long long>(now_s - claims.exp));
    }
    return {};
}

JwtSigner::JwtSigner(const JwtSecret& secret, int64_t cache_s, std::string_view id)
    : hmac_(secret.key), cache_s_(cache_s) {
    EM_ASSERT(cache_s >= 0);
    EM_ASSERT(id.size() <= id_bytes_max);
    for (char c : id) EM_ASSERT(name_char_allowed(c));
    if (!id.empty()) std::memcpy(id_, id.data(), id.size());  // data() may be null
    id_bytes_ = id.size();
    header_bytes_ = base64url_encode(
        std::span(reinterpret_cast<const uint8_t*>(signer_header.data()), signer_header.size()),
        token_);
    token_[header_bytes_] = '.';
}

std::string_view JwtSigner::bearer_token(int64_t now_s) {
    if (!valid_ || now_s < iat_ || now_s - iat_ >= cache_s_) mint(now_s);
    return {token_, token_bytes_};
}

void JwtSigner::mint(int64_t now_s) {
    char payload[40 + id_bytes_max] = "{\"iat\":";
    size_t n = 7;
    char digits[20];
    size_t d = 0;
    uint64_t v = now_s < 0 ? static_cast<uint64_t>(-(now_s + 1)) + 1 : static_cast<uint64_t>(now_s);
    do {
        digits[d++] = static_cast<char>('0' + v % 10);
        v /= 10;
    } while (v);
    if (now_s < 0) payload[n++] = '-';
    while (d) payload[n++] = digits[--d];
    if (id_bytes_ > 0) {
        constexpr std::string_view id_key = ",\"id\":\"";
        std::memcpy(payload + n, id_key.data(), id_key.size());
        n += id_key.size();
        std::memcpy(payload + n, id_, id_bytes_);
        n += id_bytes_;
        payload[n++] = '"';
    }
    payload[n++] = '}';
    size_t at = header_bytes_ + 1;
    at += base64url_encode(std::span(reinterpret_cast<const uint8_t*>(payload), n), token_ + at);
    HmacSha256::Digest sig = hmac_.mac(std::string_view(token_, at));
    token_[at++] = '.';
    at += base64url_encode(sig, token_ + at);
    EM_ASSERT(at <= token_bytes_max);
    token_bytes_ = at;
    iat_ = now_s;
    valid_ = true;
    mint_count_++;
}

}  // namespace em::http
