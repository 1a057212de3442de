#include "mockel/options.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string_view>

#include "http/jwt.h"
#include "mockel/amounts.h"

namespace em::mockel {

namespace {

constexpr size_t name_bytes_max = 64;
constexpr size_t rules_file_bytes_max = size_t{1} << 20;
constexpr uint64_t log_entries_limit = 10'000'000;
constexpr uint64_t connections_limit = 65'536;

Result<std::string> read_small_file(const std::string& path, size_t bytes_max, const char* what) {
    FILE* f = std::fopen(path.c_str(), "rb");
    if (!f)
        return failf(Errc::invalid_input, "%s %s: %s", what, path.c_str(), std::strerror(errno));
    std::string text;
    char buf[8192];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0 && text.size() <= bytes_max)
        text.append(buf, n);
    std::fclose(f);
    if (text.size() > bytes_max)
        return failf(Errc::too_large, "%s %s: larger than %zu bytes", what, path.c_str(),
                     bytes_max);
    return text;
}

Result<uint64_t> number_flag(std::string_view flag, std::string_view v, uint64_t min,
                             uint64_t max) {
    uint64_t n = 0;
    if (!parse_u64_flexible(v, &n) || n < min || n > max)
        return failf(Errc::invalid_input, "%.*s %.*s: expected a number %llu..%llu",
                     static_cast<int>(flag.size()), flag.data(),
                     static_cast<int>(v.size() > 40 ? 40 : v.size()), v.data(),
                     static_cast<unsigned long long>(min), static_cast<unsigned long long>(max));
    return n;
}

Result<void> check_name(std::string_view name) {
    if (name.empty() || name.size() > name_bytes_max)
        return failf(Errc::invalid_input, "--name: 1..%zu characters", name_bytes_max);
    for (char c : name)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
            return fail(Errc::invalid_input, "--name: control characters are not allowed");
    return {};
}

Result<void> add_rules_file(const std::string& path, Options& out) {
    std::string text = EM_TRY(read_small_file(path, rules_file_bytes_max, "rules file"));
    auto parsed = parse_rules_text(text, out.rules.get());
    if (!parsed) {
        Error e = parsed.error();
        e.prefix("rules file " + path);
        return Unexpected(e);
    }
    return {};
}

/// Applies one flag that takes a value.
Result<void> apply_value(std::string_view flag, const std::string& v, Options& out,
                         bool& port_seen) {
    MockConfig& c = out.config;
    if (flag == "--port") {
        out.port = static_cast<uint16_t>(EM_TRY(number_flag(flag, v, 0, 65535)));
        port_seen = true;
    } else if (flag == "--listen-addr") {
        if (v.empty()) return fail(Errc::invalid_input, "--listen-addr: empty");
        out.listen_addr = v;
    } else if (flag == "--jwt-secret") {
        c.jwt_secret = EM_TRY(http::load_jwt_secret_file(v.c_str()));
        c.jwt_required = true;
        out.jwt_secret_path = v;
    } else if (flag == "--rule") {
        Rule rule;
        auto parsed = parse_rule(v, &rule);
        if (parsed) parsed = out.rules->add(rule);
        if (!parsed) {
            out.failed_rule = v;
            return Unexpected(parsed.error());
        }
    } else if (flag == "--rules-file") {
        return add_rules_file(v, out);
    } else if (flag == "--payload-file") {
        out.payload_file = v;
    } else if (flag == "--block-value") {
        auto q = parse_wei(v);
        if (!q) return Unexpected(Error(q.error()).prefix("--block-value"));
        c.block_value = *q;
    } else if (flag == "--gas-used") {
        out.gas_used = EM_TRY(number_flag(flag, v, 0, uint64_t{1} << 62));
    } else if (flag == "--name") {
        EM_TRY_VOID(check_name(v));
        c.name = v;
    } else if (flag == "--client-version") {
        if (v.empty() || v.size() > 200)
            return fail(Errc::invalid_input, "--client-version: 1..200 characters");
        c.web3_client_version = v;
    } else if (flag == "--head") {
        c.head = EM_TRY(number_flag(flag, v, 0, uint64_t{1} << 62));
    } else if (flag == "--logs-blocks-max") {
        c.logs_blocks_max = EM_TRY(number_flag(flag, v, 0, uint64_t{1} << 62));
    } else if (flag == "--ws-port") {
        out.ws_port = static_cast<int>(EM_TRY(number_flag(flag, v, 0, 65535)));
    } else if (flag == "--block-ms") {
        out.block_ms = static_cast<uint32_t>(EM_TRY(number_flag(flag, v, 10, 3'600'000)));
    } else if (flag == "--threads") {
        out.threads = static_cast<int>(EM_TRY(number_flag(flag, v, 1, threads_max)));
    } else if (flag == "--log-level") {
        out.log_level = EM_TRY(parse_log_level(v));
    } else if (flag == "--log-format") {
        out.log_format = EM_TRY(parse_log_format(v));
    } else if (flag == "--log-entries-max") {
        c.log_entries_max = EM_TRY(number_flag(flag, v, 1, log_entries_limit));
    } else if (flag == "--connections-max") {
        c.connections_max =
            static_cast<uint32_t>(EM_TRY(number_flag(flag, v, 1, connections_limit)));
    } else {
        return failf(Errc::invalid_input, "unknown option %.*s (see --help)",
                     static_cast<int>(flag.size() > 60 ? 60 : flag.size()), flag.data());
    }
    return {};
}

bool is_boolean_flag(std::string_view flag) {
    return flag == "--verify-block-hash" || flag == "--help" || flag == "-h" || flag == "--version";
}

}  // namespace

Result<ParseOutcome> parse_options(int argc, const char* const* argv, Options& out) {
    bool port_seen = false;
    for (int i = 1; i < argc; i++) {
        std::string_view arg = argv[i];
        if (arg == "--help" || arg == "-h") return ParseOutcome::help;
        if (arg == "--version") return ParseOutcome::version;
        if (arg == "--verify-block-hash") {
            out.config.verify_block_hash = true;
            continue;
        }
        if (!arg.starts_with("-"))
            return failf(Errc::invalid_input, "unexpected argument '%.*s' (see --help)",
                         static_cast<int>(arg.size() > 60 ? 60 : arg.size()), arg.data());
        size_t eq = arg.find('=');
        std::string_view flag = arg.substr(0, eq);
        std::string value;
        if (is_boolean_flag(flag)) {
            return failf(Errc::invalid_input, "%.*s takes no value", static_cast<int>(flag.size()),
                         flag.data());
        } else if (eq != std::string_view::npos) {
            value = std::string(arg.substr(eq + 1));
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            return failf(Errc::invalid_input, "%.*s needs a value", static_cast<int>(flag.size()),
                         flag.data());
        }
        EM_TRY_VOID(apply_value(flag, value, out, port_seen));
    }
    if (!port_seen) return fail(Errc::invalid_input, "--port is required (0 = any free port)");
    return ParseOutcome::run;
}

const char* usage_text() {
    return R"(enginemux-mock-el: a fast, scriptable Ethereum execution client stand-in (Engine API + eth_*)

Usage: enginemux-mock-el --port P [options]

  --port P               TCP port (0 = any free port; the first stdout line says which:
                         "listening on ADDR:PORT")
  --listen-addr A        address to bind (default 127.0.0.1)
  --jwt-secret FILE      require an HS256 JWT (hex secret file) on every non-/mock request
  --rule RULE            scripted behaviour (repeatable, applied in order; see below)
  --rules-file FILE      rules, one per line ('#' comments)
  --payload-file FILE    a JSON-RPC engine_newPayload request whose params[0] getPayload returns
                         (default: built-in synthetic payloads with correct block hashes)
  --block-value WEI      getPayloadV2+ blockValue, decimal or 0x-hex (default 0x1)
  --gas-used N           the synthetic payloads' gasUsed (default 0; their hashes stay correct)
  --name NAME            client name (getClientVersionV1, payload ids; default mock-el)
  --client-version TEXT  web3_clientVersion's answer, e.g. Geth/v1.14.0-stable/linux-amd64/go1.22
                         (default enginemux-mock-el/NAME/vVERSION)
  --head N               initial eth_blockNumber (default 100)
  --logs-blocks-max N    eth_getLogs ranges of more blocks (up to the head) answer -32005
                         (default 0: any). eth_getLogs answers the mock chain's logs of
                         fromBlock..toBlock (tags: the head; earliest: 0; past the head: up to
                         it): block n has n % 3 logs, the same on every mock; address and
                         topics filters are ignored
  --ws-port P            also serve WebSocket on port P (0 = any free port; a stdout line says
                         which: "ws listening on ADDR:PORT"): eth_subscribe newHeads from a
                         chain that is a function of the wall clock (the same on every mock
                         with the same --block-ms), eth_getBlockByNumber with the same
                         headers, eth_blockNumber, eth_unsubscribe, mock_subscriptions
                         (open and total newHeads subscriptions), and mock_chain ["stop"] /
                         ["start"] to freeze the head or let it run (then a gap follows)
  --block-ms N           the WebSocket chain's block interval (default 1000, at least 10)
  --threads N            loop threads sharing the port with SO_REUSEPORT (default 1)
  --verify-block-hash    rebuild each newPayload's block hash; mismatch -> INVALID(_BLOCK_HASH)
  --log-level L          error|warn|info|debug (default info)
  --log-format F         text|json (json: one object per line; default text)
  --log-entries-max N    engine calls kept for GET /mock/log (default 100000)
  --connections-max N    open connections per thread (default 1024)
  --help, --version

Rules: PATTERN:ACTION[,ACTION...]   PATTERN = method name, '*' matches any run
  status=VALID|INVALID|SYNCING|ACCEPTED|INVALID_BLOCK_HASH   lvh=null|block|parent|0x<64 hex>
  validation_error=TEXT   error=CODE[:MESSAGE]   delay=MS   huge=BYTES   http=STATUS
  hang | close | reset | garbage   wrong_id   no_payload_id   syncing   block_value=WEI
  bad_hash (getPayload: a payload whose blockHash does not match its contents)
  times=N (only the next N matching calls)   after=N (skip the first N matching calls)
  In TEXT/MESSAGE write \, for a comma and \\ for a backslash.
  Example: --rule 'engine_newPayload*:status=INVALID,validation_error=bad tx,times=1'

Runtime control (no JWT): POST /mock/rules (body: rules, one per line; replaces them),
  POST /mock/reset (clears rules and log), GET /mock/log, GET /mock/stats
Exit status: 0 after SIGINT/SIGTERM, 1 if it cannot start, 2 on a bad command line.
)";
}

}  // namespace em::mockel
