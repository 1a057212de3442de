// Fuzzes JwtVerifier::verify_authorization on arbitrary Authorization values. If the first byte
// is odd, the rest is taken as "header.payload" and signed correctly with the fuzzer's secret,
// so the claim parser behind the signature check is reached too. A verifier with the cache and
// one without must agree, and a second call must give the same answer.
#include <cstdint>
#include <cstring>
#include <string_view>

#include "../fuzz_check.h"
#include "http/base64url.h"
#include "http/hmac.h"
#include "http/jwt.h"

namespace {

using em::http::JwtSecret;
using em::http::JwtVerifier;

constexpr int64_t now_s = 1'700'000'000;

JwtSecret fuzz_secret() {
    JwtSecret s;
    for (size_t i = 0; i < s.key.size(); i++) s.key[i] = static_cast<uint8_t>(i);
    return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static JwtVerifier cached(fuzz_secret(), true);
    static JwtVerifier uncached(fuzz_secret(), false);
    static em::http::HmacSha256 hmac(fuzz_secret().key);
    static char value[8192];
    if (size == 0 || size > 4096) return 0;
    std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
    size_t n = 0;
    if (data[0] & 1) {
        std::memcpy(value, "Bearer ", 7);
        std::memcpy(value + 7, rest.data(), rest.size());
        n = 7 + rest.size();
        auto sig = hmac.mac(rest);
        value[n++] = '.';
        n += em::http::base64url_encode(sig, value + n);
    } else {
        std::memcpy(value, rest.data(), rest.size());
        n = rest.size();
    }
    std::string_view auth(value, n);
    int64_t now = now_s + (data[0] >> 1) - 64;  // a window around the seeds' iat
    auto a = cached.verify_authorization(auth, now);
    auto b = uncached.verify_authorization(auth, now);
    auto c = cached.verify_authorization(auth, now);
    FUZZ_CHECK(a.has_value() == b.has_value() && a.has_value() == c.has_value());
    if (!a) {
        FUZZ_CHECK(a.error().message() == b.error().message());
        FUZZ_CHECK(a.error().code() == em::Errc::unauthorized && !a.error().message().empty());
    }
    return 0;
}
