// Engine API authentication (execution-apis src/engine/authentication.md): HS256 JWTs in
// "Authorization: Bearer <token>". JwtVerifier checks the CL's token on every request;
// JwtSigner mints (and caches for a few seconds) the token we send to each EL; the secret
// loaders read the 32-byte hex secret files that CLs and ELs share.
//
// Verifier and signer are owned by one thread each (one per shard and per secret); they
// allocate nothing after construction. Secrets are plain values (copy them only into these
// objects); the HMAC pad states are wiped when the objects die.
//
// Verification rules: scheme "Bearer" (any case); three base64url parts without padding; the
// header's alg must be "HS256" (alg "none" and every other alg rejected; a "crit" header is
// rejected); the HMAC is compared in constant time (CRYPTO_memcmp) before any claim is trusted;
// claim iat is required and must be within ±60 s of now; exp, if present, must not have passed;
// other claims (id, clv, ...) are ignored. The JSON parts are parsed strictly (jwt_json.h);
// duplicate alg/iat/exp members are rejected. Every rejection is Errc::unauthorized with a
// message a CL operator can act on.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "base/result.h"
#include "http/base64url.h"
#include "http/hmac.h"

namespace em::http {

/// A 256-bit HS256 key.
struct JwtSecret {
    std::array<uint8_t, 32> key{};
};

/// Limits of a secret file: anything bigger is not a JWT secret.
inline constexpr size_t jwt_secret_file_bytes_max = 4096;

/// 64 hex digits, optional 0x, surrounding whitespace trimmed. Errors say what is wrong by
/// offset and count ("not 32 bytes of hex (non-hex character at offset 0)") and never quote the
/// text: a secret file may be any file someone named.
[[nodiscard]] Result<JwtSecret> parse_jwt_secret(std::string_view text);
/// Reads and parses a secret file; errors name the file ("jwt secret file /x: ...") and never
/// quote its contents.
[[nodiscard]] Result<JwtSecret> load_jwt_secret_file(const char* path);

/// The `id` claim (authentication.md: the CL instance's id) of the bearer token in an
/// Authorization value, read WITHOUT checking the token: only to choose the secret to verify it
/// with (the sync role's per-client secrets). Trust it once that verification passed (the
/// signature covers it). "" when absent, not a string, or the token is unreadable (verification
/// then says why). Copied into out, cut at out.size().
std::string_view jwt_unverified_id(std::string_view authorization_value, std::span<char> out);

class JwtVerifier {
  public:
    static constexpr int64_t iat_window_s = 60;      ///< |now - iat| allowed (spec: ±60 s)
    static constexpr size_t token_bytes_max = 2048;  ///< longer tokens are rejected unread
    static constexpr size_t json_bytes_max = base64url_decoded_bytes_max(token_bytes_max);

    /// cache_last: remember the last accepted token and skip the HMAC when the same bytes come
    /// again while its iat is in the window (compared in constant time).
    explicit JwtVerifier(const JwtSecret& secret, bool cache_last = true);

    /// Checks an Authorization header value ("" = header absent) at wall time now_s.
    [[nodiscard]] Result<void> verify_authorization(std::string_view authorization_value,
                                                    int64_t now_s);
    /// Checks a bare token (the part after "Bearer ").
    [[nodiscard]] Result<void> verify_token(std::string_view token, int64_t now_s);
    /// Accepted tokens that were answered from the cache.
    uint64_t cache_hits() const { return cache_hits_; }

  private:
    struct Claims {
        int64_t iat = 0;
        int64_t exp = 0;
        bool has_exp = false;
    };
    Result<void> check_header(std::string_view encoded);
    Result<void> check_signature(std::string_view signed_part, std::string_view encoded_sig);
    Result<Claims> parse_claims(std::string_view encoded);
    static Result<void> check_time(const Claims& claims, int64_t now_s);

    static constexpr size_t good_header_bytes_max = 96;

    HmacSha256 hmac_;
    bool cache_enabled_;
    size_t good_header_bytes_ = 0;  // the last header part that passed check_header
    char good_header_[good_header_bytes_max];
    size_t cached_bytes_ = 0;
    Claims cached_claims_;
    uint64_t cache_hits_ = 0;
    char cached_token_[token_bytes_max];
    uint8_t json_[json_bytes_max];
    char scratch_[json_bytes_max];
};

class JwtSigner {
  public:
    static constexpr size_t id_bytes_max = 63;      ///< base/name.h's name_chars_max
    static constexpr size_t token_bytes_max = 224;  ///< header.{"iat":N,"id":"<63>"}.signature

    /// Signs with `secret`; a minted token is reused for cache_s seconds (0: mint every call).
    /// `id`: the claim authentication.md defines (the CL instance's id); "" = no id claim. It
    /// must follow base/name.h's rule (checked by the caller; asserted), so it needs no escaping.
    explicit JwtSigner(const JwtSecret& secret, int64_t cache_s = 5, std::string_view id = {});

    /// A token {"alg":"HS256","typ":"JWT"}.{"iat":now_s[,"id":"<id>"]}.sig, minted again once it
    /// is cache_s old (or the clock went back). The view is valid until the next call.
    std::string_view bearer_token(int64_t now_s);
    /// Tokens minted so far (for tests and metrics).
    uint64_t mint_count() const { return mint_count_; }

  private:
    void mint(int64_t now_s);

    HmacSha256 hmac_;
    int64_t cache_s_;
    int64_t iat_ = 0;
    bool valid_ = false;
    uint64_t mint_count_ = 0;
    size_t header_bytes_ = 0;
    size_t token_bytes_ = 0;
    size_t id_bytes_ = 0;
    char id_[id_bytes_max];
    char token_[token_bytes_max];
};

}  // namespace em::http
