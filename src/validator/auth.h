// Authentication of the two guards' channel (the `peer` lease back-end): every request and every
// answer carries an HMAC-SHA256 token over
//   direction | sender | receiver | method (or status) | path | sha256(body) | epoch | time | nonce
// (answers also bind the request's nonce, so an answer cannot be replayed onto another request).
// A request is accepted only if its time is within the replay window of ours and its nonce was
// not seen within the window. Sender and receiver names are in the MAC so a message cannot be
// reflected back to the host that sent it.
//
// Token (Authorization: Bearer on requests, X-Em-Auth on answers): v1.<ms>.<nonce>.<epoch>.<mac>
//
// Owned by the guard (one thread); the nonce table is allocated at construction (nonces_max).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/buffer.h"
#include "base/result.h"
#include "http/hmac.h"

namespace em::validator {

/// What a verified token said.
struct AuthToken {
    int64_t wall_ms = 0;
    uint64_t nonce = 0;
    uint64_t epoch = 0;
};

class PeerAuth {
  public:
    static constexpr size_t token_chars_max = 160;
    static constexpr size_t secret_bytes_min = 32;

    /// `secret` is the shared key (at least secret_bytes_min bytes; checked by the config).
    PeerAuth(std::span<const uint8_t> secret, std::string_view self_name,
             std::string_view peer_name, uint32_t window_ms, size_t nonces_max);

    /// Token for a request we send; written to out (token_chars_max bytes), length returned.
    size_t sign_request(std::string_view method, std::string_view path, std::string_view body,
                        uint64_t epoch, int64_t wall_ms, uint64_t nonce, char* out);
    /// Checks a request from the peer. Errors: unauthorized (missing/malformed token or wrong
    /// MAC: not from the peer); timeout (authentic, but its time is outside the window: clock
    /// skew); invalid_input (authentic but replayed); busy (nonce table full).
    /// `authentic` (optional) receives the token whenever its MAC was right, even if refused.
    Result<AuthToken> verify_request(std::string_view method, std::string_view path,
                                     std::string_view body, std::string_view token, int64_t wall_ms,
                                     AuthToken* authentic = nullptr);
    /// Token for our answer to a request that carried `request_nonce`.
    size_t sign_response(int status, std::string_view path, std::string_view body, uint64_t epoch,
                         uint64_t request_nonce, int64_t wall_ms, uint64_t nonce, char* out);
    /// Checks the peer's answer to our request with `request_nonce` (errors as verify_request).
    Result<AuthToken> verify_response(int status, std::string_view path, std::string_view body,
                                      std::string_view token, uint64_t request_nonce,
                                      int64_t wall_ms);
    /// The peer's clock minus ours in the last authentic message (ms).
    int64_t last_skew_ms() const { return last_skew_ms_; }

  private:
    struct Seen {
        uint64_t nonce;
        int64_t wall_ms;
    };
    http::HmacSha256::Digest mac(bool request, bool outgoing, std::string_view method_or_status,
                                 std::string_view path, std::string_view body, uint64_t epoch,
                                 int64_t wall_ms, uint64_t nonce, uint64_t request_nonce);
    size_t format(int64_t wall_ms, uint64_t nonce, uint64_t epoch,
                  const http::HmacSha256::Digest& d, char* out) const;
    Result<AuthToken> check(bool request, std::string_view method_or_status, std::string_view path,
                            std::string_view body, std::string_view token, uint64_t request_nonce,
                            int64_t wall_ms, AuthToken* authentic);
    Result<void> remember(uint64_t nonce, int64_t msg_ms, int64_t wall_ms);

    http::HmacSha256 hmac_;
    std::string self_;
    std::string peer_;
    uint32_t window_ms_;
    size_t nonces_max_;
    std::vector<Seen> seen_;
    ByteBuffer scratch_{4096, 1024};
    int64_t last_skew_ms_ = 0;
};

/// Hex SHA-256 of `data` (64 lowercase digits) into out.
void sha256_hex(std::string_view data, char out[64]);

}  // namespace em::validator
