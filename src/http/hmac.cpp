// The SHA256_Init/Update/Final block API is deprecated in OpenSSL 3.0 in favour of EVP, whose
// context copies allocate (see hmac.h); it is still part of the 3.x API.
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include "http/hmac.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <cstring>

namespace em::http {

static_assert(sizeof(SHA256_CTX) <= 128 && alignof(SHA256_CTX) <= 8,
              "SHA256_CTX does not fit the opaque state in hmac.h");

namespace {
SHA256_CTX* ctx(unsigned char* state) {
    return reinterpret_cast<SHA256_CTX*>(state);
}
const SHA256_CTX* ctx(const unsigned char* state) {
    return reinterpret_cast<const SHA256_CTX*>(state);
}
}  // namespace

HmacSha256::HmacSha256(std::span<const uint8_t> key) {
    uint8_t block[block_bytes] = {};
    if (key.size() > block_bytes) {
        SHA256(key.data(), key.size(), block);
    } else if (!key.empty()) {
        std::memcpy(block, key.data(), key.size());
    }
    uint8_t pad[block_bytes];
    for (size_t i = 0; i < block_bytes; i++) pad[i] = block[i] ^ 0x36;
    SHA256_Init(ctx(inner_));
    SHA256_Update(ctx(inner_), pad, block_bytes);
    for (size_t i = 0; i < block_bytes; i++) pad[i] = block[i] ^ 0x5c;
    SHA256_Init(ctx(outer_));
    SHA256_Update(ctx(outer_), pad, block_bytes);
    OPENSSL_cleanse(block, sizeof block);
    OPENSSL_cleanse(pad, sizeof pad);
}

HmacSha256::~HmacSha256() {
    OPENSSL_cleanse(inner_, sizeof inner_);
    OPENSSL_cleanse(outer_, sizeof outer_);
}

HmacSha256::Digest HmacSha256::mac(std::string_view message) const {
    SHA256_CTX c = *ctx(inner_);
    SHA256_Update(&c, message.data(), message.size());
    Digest inner_hash;
    SHA256_Final(inner_hash.data(), &c);
    c = *ctx(outer_);
    SHA256_Update(&c, inner_hash.data(), inner_hash.size());
    Digest out;
    SHA256_Final(out.data(), &c);
    OPENSSL_cleanse(&c, sizeof c);
    return out;
}

}  // namespace em::http
