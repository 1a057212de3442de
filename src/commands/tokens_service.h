// `enginemux tokens-service`: flashbots' jwt-tokens-service (sync-proxy's cmd/jwt-tokens-service),
// for nginx's auth_request in the sync-proxy README's per-instance-secret set-up. It serves
// `GET /tokens/` (and `/tokens`, anything under `/tokens/`, any method: nginx's auth subrequest
// keeps the client's POST) with one `Authorization-<name>: Bearer <jwt>` header per entry of a
// secrets file, each an HS256 token with a fresh `iat` (and `id` = --client-id when given)
// signed with that entry's secret. nginx reads them as $upstream_http_authorization_<name> with
// the name lowercased and '-' written '_', and passes each on to the proxy it names.
//
// The secrets file, as flashbots': one JSON object, name -> 32-byte hex secret
// ({"sync-proxy-1": "0123...", ...}); names follow base/name.h's rule, at most
// tokens_entries_max, and no two may name one nginx variable.
//
// Threads: tokens_service_main runs one io_uring loop on the calling thread; the parsers are
// pure and may run anywhere. Start-up code: allocates freely; a request allocates nothing.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/buffer.h"
#include "base/result.h"
#include "http/jwt.h"

namespace em::commands {

/// Entries in one secrets file. Their headers must fit nginx's proxy_buffer_size (4 KiB by
/// default: 16 tokens with short names do, ~160 bytes each; with 63-character names and ids,
/// ~290 bytes each, raise it in nginx's /_tokens location).
inline constexpr size_t tokens_entries_max = 16;
/// A secrets file larger than this is not one.
inline constexpr size_t tokens_file_bytes_max = 64 * 1024;

/// One entry of the secrets file: the header is `Authorization-<name>`.
struct TokensEntry {
    std::string name;
    http::JwtSecret secret;
};

/// The command line: `--addr HOST:PORT --config FILE [--client-id ID]` (one dash works too, and
/// `--flag=value`), as flashbots' tool.
struct TokensOptions {
    std::string addr = "127.0.0.1:1337";  ///< flashbots' default is localhost:1337
    std::string config_path;              ///< required
    std::string client_id;                ///< the tokens' `id` claim; "" = no id claim
};

enum class TokensArgs : uint8_t { run, help };

/// Parses argv (argv[0] = "tokens-service"). Errors name the flag and what is wrong with it.
[[nodiscard]] Result<TokensArgs> parse_tokens_args(int argc, const char* const* argv,
                                                   TokensOptions& out);
/// Parses a secrets file's text. Errors name the entry (by name, or by position when the name
/// itself is what is wrong) and never quote a secret.
[[nodiscard]] Result<std::vector<TokensEntry>> parse_tokens_secrets(std::string_view json);
/// Reads and parses a secrets file (errors do not repeat the path: the caller says which file).
[[nodiscard]] Result<std::vector<TokensEntry>> load_tokens_secrets(const std::string& path);

/// Mints the header lines of one answer: one signer per entry, a fresh token every call.
class TokensMinter {
  public:
    TokensMinter(std::span<const TokensEntry> entries, std::string_view client_id);
    /// Appends `Authorization-<name>: Bearer <token>\r\n` per entry, tokens with iat = now_s.
    void append_headers(int64_t now_s, ByteBuffer& out);

  private:
    std::vector<std::string> names_;
    std::vector<std::unique_ptr<http::JwtSigner>> signers_;
};

/// The subcommand's --help text.
const char* tokens_usage_text();

/// The subcommand: argv[0] = "tokens-service". Prints "listening on ADDR:PORT" to stdout once
/// it accepts, runs until SIGINT/SIGTERM. Exit 0, 1 (cannot run) or 2 (bad flags or file).
int tokens_service_main(int argc, char** argv);

}  // namespace em::commands
