#include "admin/access.h"

#include <openssl/crypto.h>

namespace em::admin {

bool is_read(http::Method method) {
    return method == http::Method::get || method == http::Method::head;
}

bool bearer_matches(std::string_view authorization, std::string_view token) {
    constexpr std::string_view scheme = "Bearer ";
    if (token.empty() || authorization.size() != scheme.size() + token.size()) return false;
    if (!http::iequals(authorization.substr(0, scheme.size()), scheme)) return false;
    return CRYPTO_memcmp(authorization.data() + scheme.size(), token.data(), token.size()) == 0;
}

Access check_access(const AccessPolicy& policy, http::Method method,
                    std::string_view authorization) {
    bool needs_token = !is_read(method) || policy.protect_reads;
    if (!needs_token) return Access::allowed;
    if (policy.token.empty()) return Access::no_token;
    return bearer_matches(authorization, policy.token) ? Access::allowed : Access::unauthorized;
}

}  // namespace em::admin
