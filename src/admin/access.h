// Who may use the admin API (issue 19): the decision taken for every request before it is
// routed, as a pure function so that the rules are unit-tested apart from the HTTP server.
//
//   - writes (every method but GET and HEAD: POST /nodes, DELETE /nodes/NAME, POST /recheck)
//     need a configured token ([admin] token_file) and that token as `Authorization: Bearer`;
//     with no token configured they are refused (403), because anything that changes routing
//     can also make enginemux sign requests for a stranger;
//   - reads (GET, HEAD) are open unless `protect_reads`, which puts them behind the token too.
//
// Threads: any; no state. The token is compared in constant time (http::bearer_matches, shared
// with the validator guard's control endpoint); only its length is compared first.
#pragma once

#include <cstdint>
#include <string_view>

#include "http/bearer.h"
#include "http/message.h"

namespace em::admin {

enum class Access : uint8_t {
    allowed,       ///< go on and route the request
    no_token,      ///< 403: a write, and no token is configured (the fix: set token_file)
    unauthorized,  ///< 401: the request's bearer token is missing or wrong
};

struct AccessPolicy {
    std::string_view token;      ///< the configured token; "" = none configured
    bool protect_reads = false;  ///< GET and HEAD need the token too
};

/// True for the methods that change nothing (GET, HEAD).
[[nodiscard]] bool is_read(http::Method method);
/// What to do with a request of `method` carrying `authorization` ("" = no header).
[[nodiscard]] Access check_access(const AccessPolicy& policy, http::Method method,
                                  std::string_view authorization);

}  // namespace em::admin
