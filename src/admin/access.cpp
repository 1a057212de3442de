#include "admin/access.h"

#include <openssl/crypto.h>

namespace em::admin {

bool is_read(http::Method method) {
    return method == http::Method::get || method == http::Method::head;
}

Access check_access(const AccessPolicy& policy, http::Method method,
                    std::string_view authorization) {
    bool needs_token = !is_read(method) || policy.protect_reads;
    if (!needs_token) return Access::allowed;
    if (policy.token.empty()) return Access::no_token;
    return http::bearer_matches(authorization, policy.token) ? Access::allowed
                                                             : Access::unauthorized;
}

}  // namespace em::admin
