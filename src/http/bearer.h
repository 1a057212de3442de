// Bearer tokens for the control surfaces that change routing or signing (the admin API, the
// validator guard's control endpoint): reading the token file an operator wrote, and checking
// a request's Authorization header against it in constant time.
//
// Threads: any; no state. read_token_file blocks (start-up and tools only).
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"

namespace em::http {

/// True when `authorization` is "Bearer <token>" (scheme in any case), compared in constant
/// time. An empty token never matches.
[[nodiscard]] bool bearer_matches(std::string_view authorization, std::string_view token);

/// A shorter token can be guessed.
constexpr size_t token_bytes_min = 16;

/// The token in the file at `path`, trailing whitespace removed. Errors name the file and say
/// what is wrong (cannot be read, empty, shorter than token_bytes_min; with `private_only`,
/// readable by group or others), never quote its content.
[[nodiscard]] Result<std::string> read_token_file(const std::string& path, bool private_only);

}  // namespace em::http
