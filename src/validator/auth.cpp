#include "validator/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <charconv>
#include <cstdio>
#include <cstring>

#include "base/assert.h"
#include "base/hex.h"

namespace em::validator {

void sha256_hex(std::string_view data, char out[64]) {
    unsigned char digest[32];
    unsigned int n = 0;
    int ok = EVP_Digest(data.data(), data.size(), digest, &n, EVP_sha256(), nullptr);
    EM_ASSERT(ok == 1 && n == 32);
    hex_encode({digest, 32}, out);
}

PeerAuth::PeerAuth(std::span<const uint8_t> secret, std::string_view self_name,
                   std::string_view peer_name, uint32_t window_ms, size_t nonces_max)
    : hmac_(secret),
      self_(self_name),
      peer_(peer_name),
      window_ms_(window_ms),
      nonces_max_(nonces_max) {
    seen_.reserve(nonces_max);
}

http::HmacSha256::Digest PeerAuth::mac(bool request, bool outgoing,
                                       std::string_view method_or_status, std::string_view path,
                                       std::string_view body, uint64_t epoch, int64_t wall_ms,
                                       uint64_t nonce, uint64_t request_nonce) {
    char body_hash[64];
    sha256_hex(body, body_hash);
    scratch_.clear();
    scratch_.append("em-validator/1\n");
    scratch_.append(request ? "req\n" : "resp\n");
    scratch_.append(outgoing ? self_ : peer_);
    scratch_.push_back('\n');
    scratch_.append(outgoing ? peer_ : self_);
    scratch_.push_back('\n');
    scratch_.append(method_or_status);
    scratch_.push_back('\n');
    scratch_.append(path);
    scratch_.push_back('\n');
    scratch_.append(body_hash, 64);
    scratch_.push_back('\n');
    scratch_.append_u64(epoch);
    scratch_.push_back('\n');
    scratch_.append_i64(wall_ms);
    scratch_.push_back('\n');
    scratch_.append_u64(nonce);
    if (!request) {
        scratch_.push_back('\n');
        scratch_.append_u64(request_nonce);
    }
    EM_ASSERT(!scratch_.overflowed());
    return hmac_.mac(scratch_.view());
}

size_t PeerAuth::format(int64_t wall_ms, uint64_t nonce, uint64_t epoch,
                        const http::HmacSha256::Digest& d, char* out) const {
    char mac_hex[65];
    hex_encode({d.data(), d.size()}, mac_hex);
    mac_hex[64] = 0;
    int n = std::snprintf(out, token_chars_max, "v1.%lld.%016llx.%llu.%s",
                          static_cast<long long>(wall_ms), static_cast<unsigned long long>(nonce),
                          static_cast<unsigned long long>(epoch), mac_hex);
    EM_ASSERT(n > 0 && static_cast<size_t>(n) < token_chars_max);
    return static_cast<size_t>(n);
}

size_t PeerAuth::sign_request(std::string_view method, std::string_view path, std::string_view body,
                              uint64_t epoch, int64_t wall_ms, uint64_t nonce, char* out) {
    auto d = mac(true, true, method, path, body, epoch, wall_ms, nonce, 0);
    return format(wall_ms, nonce, epoch, d, out);
}

size_t PeerAuth::sign_response(int status, std::string_view path, std::string_view body,
                               uint64_t epoch, uint64_t request_nonce, int64_t wall_ms,
                               uint64_t nonce, char* out) {
    char status_text[8];
    int n = std::snprintf(status_text, sizeof status_text, "%d", status);
    auto d = mac(false, true, {status_text, static_cast<size_t>(n)}, path, body, epoch, wall_ms,
                 nonce, request_nonce);
    return format(wall_ms, nonce, epoch, d, out);
}

namespace {

/// Splits "v1.<ms>.<nonce hex 16>.<epoch>.<mac hex 64>".
bool split_token(std::string_view token, AuthToken& t, uint8_t mac[32]) {
    if (token.substr(0, 3) != "v1.") return false;
    token.remove_prefix(3);
    std::string_view parts[4];
    for (int i = 0; i < 4; i++) {
        size_t dot = i < 3 ? token.find('.') : token.size();
        if (dot == std::string_view::npos) return false;
        parts[i] = token.substr(0, dot);
        token.remove_prefix(i < 3 ? dot + 1 : dot);
    }
    auto dec = [](std::string_view s, auto& v, int base) {
        if (s.empty()) return false;
        auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
        return ec == std::errc() && end == s.data() + s.size();
    };
    if (!dec(parts[0], t.wall_ms, 10) || parts[1].size() != 16 || !dec(parts[1], t.nonce, 16) ||
        !dec(parts[2], t.epoch, 10) || parts[3].size() != 64) {
        return false;
    }
    return static_cast<bool>(hex_decode(parts[3], mac));
}

}  // namespace

Result<AuthToken> PeerAuth::check(bool request, std::string_view method_or_status,
                                  std::string_view path, std::string_view body,
                                  std::string_view token, uint64_t request_nonce, int64_t wall_ms,
                                  AuthToken* authentic) {
    AuthToken t;
    uint8_t got[32];
    if (token.empty()) return fail(Errc::unauthorized, "missing authentication token");
    if (token.size() >= token_chars_max || !split_token(token, t, got)) {
        return fail(Errc::unauthorized, "malformed authentication token");
    }
    auto want = mac(request, false, method_or_status, path, body, t.epoch, t.wall_ms, t.nonce,
                    request_nonce);
    if (CRYPTO_memcmp(want.data(), got, 32) != 0) {
        return fail(Errc::unauthorized, "authentication failed (wrong secret or altered message)");
    }
    if (authentic) *authentic = t;
    last_skew_ms_ = t.wall_ms - wall_ms;
    int64_t skew = last_skew_ms_ < 0 ? -last_skew_ms_ : last_skew_ms_;
    if (skew > static_cast<int64_t>(window_ms_)) {
        return failf(Errc::timeout, "peer clock differs by %lld ms (replay window %u ms)",
                     static_cast<long long>(last_skew_ms_), window_ms_);
    }
    if (request) EM_TRY_VOID(remember(t.nonce, t.wall_ms, wall_ms));
    return t;
}

Result<void> PeerAuth::remember(uint64_t nonce, int64_t msg_ms, int64_t wall_ms) {
    // Drop entries whose time left the window: a replay of them fails the time check instead.
    size_t kept = 0;
    for (size_t i = 0; i < seen_.size(); i++) {
        if (seen_[i].nonce == nonce)
            return fail(Errc::invalid_input, "replayed request (nonce seen)");
        int64_t age = wall_ms - seen_[i].wall_ms;
        if (age <= static_cast<int64_t>(window_ms_)) seen_[kept++] = seen_[i];
    }
    seen_.resize(kept);
    if (seen_.size() >= nonces_max_) return fail(Errc::busy, "replay table full");
    seen_.push_back(Seen{nonce, msg_ms});
    return {};
}

Result<AuthToken> PeerAuth::verify_request(std::string_view method, std::string_view path,
                                           std::string_view body, std::string_view token,
                                           int64_t wall_ms, AuthToken* authentic) {
    return check(true, method, path, body, token, 0, wall_ms, authentic);
}

Result<AuthToken> PeerAuth::verify_response(int status, std::string_view path,
                                            std::string_view body, std::string_view token,
                                            uint64_t request_nonce, int64_t wall_ms) {
    char status_text[8];
    int n = std::snprintf(status_text, sizeof status_text, "%d", status);
    return check(false, {status_text, static_cast<size_t>(n)}, path, body, token, request_nonce,
                 wall_ms, nullptr);
}

}  // namespace em::validator
