#include "options.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>

namespace em::load {

namespace {

/// A finite non-negative decimal number covering the whole text (strtod syntax, no hex/inf).
bool parse_number(std::string_view text, double* out) {
    if (text.empty() || text.size() > 40) return false;
    for (char c : text) {
        bool ok =
            (c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-';
        if (!ok) return false;
    }
    char buf[48];
    std::memcpy(buf, text.data(), text.size());
    buf[text.size()] = '\0';
    char* end = nullptr;
    errno = 0;
    double v = std::strtod(buf, &end);
    if (errno != 0 || end != buf + text.size() || !std::isfinite(v) || v < 0) return false;
    *out = v;
    return true;
}

/// An unsigned integer in [lo, hi] covering the whole text.
Result<uint64_t> parse_uint(std::string_view flag, std::string_view text, uint64_t lo,
                            uint64_t hi) {
    uint64_t v = 0;
    bool ok = !text.empty() && text.size() <= 19;
    for (char c : text) {
        if (c < '0' || c > '9')
            ok = false;
        else
            v = v * 10 + static_cast<uint64_t>(c - '0');
    }
    if (!ok || v < lo || v > hi) {
        return failf(Errc::invalid_input, "%.*s: '%.*s' is not a whole number in %llu..%llu",
                     static_cast<int>(flag.size()), flag.data(), static_cast<int>(text.size()),
                     text.data(), static_cast<unsigned long long>(lo),
                     static_cast<unsigned long long>(hi));
    }
    return v;
}

Result<double> parse_rate(std::string_view text) {
    std::string_view number = text;
    if (number.ends_with("/s")) number.remove_suffix(2);
    double v = 0;
    if (!parse_number(number, &v) || v <= 0 || v > OptionLimits::rate_max_rps) {
        return failf(Errc::invalid_input,
                     "--rate: '%.*s' is not a rate in requests per second (0 < N <= %.0f)",
                     static_cast<int>(text.size()), text.data(), OptionLimits::rate_max_rps);
    }
    return v;
}

Result<uint64_t> parse_duration_flag(std::string_view flag, std::string_view text, bool zero_ok) {
    auto ms = parse_duration_ms(text);
    if (!ms || (*ms == 0 && !zero_ok)) {
        return failf(Errc::invalid_input, "%.*s: '%.*s' is not a duration%s (e.g. 10s, 500ms, 2m)",
                     static_cast<int>(flag.size()), flag.data(), static_cast<int>(text.size()),
                     text.data(), zero_ok ? "" : " above zero");
    }
    return *ms;
}

/// Flags that take no value.
bool apply_switch(std::string_view flag, Options& o) {
    if (flag == "--json")
        o.json = true;
    else if (flag == "--quiet" || flag == "-q")
        o.quiet = true;
    else if (flag == "--no-pin")
        o.pin = false;
    else if (flag == "--help" || flag == "-h")
        o.help = true;
    else if (flag == "--version" || flag == "-V")
        o.version = true;
    else
        return false;
    return true;
}

using Limits = OptionLimits;

/// Flags that take a value; Errc::not_found if `flag` is none of them.
Result<void> apply_value(std::string_view flag, std::string_view v, Options& o) {
    if (flag == "--target")
        o.target = std::string(v);
    else if (flag == "--jwt-secret")
        o.jwt_secret_path = std::string(v);
    else if (flag == "--jwt-cache")
        o.jwt_cache_s =
            static_cast<int64_t>(EM_TRY(parse_uint(flag, v, 0, Limits::jwt_cache_max_s)));
    else if (flag == "--rate")
        o.rate_rps = EM_TRY(parse_rate(v));
    else if (flag == "--connections")
        o.connections =
            static_cast<uint32_t>(EM_TRY(parse_uint(flag, v, 1, Limits::connections_max)));
    else if (flag == "--duration")
        o.duration_ms = EM_TRY(parse_duration_flag(flag, v, false));
    else if (flag == "--warmup")
        o.warmup_ms = EM_TRY(parse_duration_flag(flag, v, true));
    else if (flag == "--threads")
        o.threads = static_cast<uint32_t>(EM_TRY(parse_uint(flag, v, 1, Limits::threads_max)));
    else if (flag == "--mix")
        o.mix_path = std::string(v);
    else if (flag == "--method")
        o.method = std::string(v);
    else if (flag == "--params")
        o.params = std::string(v);
    else if (flag == "--batch")
        o.batch = static_cast<uint32_t>(EM_TRY(parse_uint(flag, v, 1, Limits::batch_max)));
    else if (flag == "--timeout")
        o.timeout_ms =
            static_cast<uint32_t>(EM_TRY(parse_uint(flag, v, 1, Limits::timeout_max_ms)));
    else if (flag == "--seed")
        o.seed = EM_TRY(parse_uint(flag, v, 0, UINT64_MAX / 2));
    else if (flag == "--latency-csv")
        o.latency_csv_path = std::string(v);
    else
        return fail(Errc::not_found, "not a value flag");
    return {};
}

Result<void> check_combination(const Options& o) {
    if (o.help || o.version) return {};
    if (o.target.empty())
        return fail(Errc::invalid_input, "--target: missing (e.g. --target http://127.0.0.1:8545)");
    if (!o.mix_path.empty() && !o.method.empty())
        return fail(Errc::invalid_input,
                    "--mix: give either --mix FILE or --method NAME, not both");
    if (o.mix_path.empty() && o.method.empty())
        return fail(Errc::invalid_input, "--method: missing (give --method NAME or --mix FILE)");
    if (o.threads > o.connections) {
        return failf(Errc::invalid_input,
                     "--threads: %u threads need at least as many --connections (%u)", o.threads,
                     o.connections);
    }
    if (o.warmup_ms + o.duration_ms > OptionLimits::duration_max_ms)
        return fail(Errc::invalid_input, "--duration: warmup + duration exceed 24 h");
    return {};
}

}  // namespace

Result<uint64_t> parse_duration_ms(std::string_view text) {
    double scale_ms = 1000.0;
    std::string_view number = text;
    if (number.ends_with("ms")) {
        scale_ms = 1.0;
        number.remove_suffix(2);
    } else if (number.ends_with("s")) {
        number.remove_suffix(1);
    } else if (number.ends_with("m")) {
        scale_ms = 60'000.0;
        number.remove_suffix(1);
    } else if (number.ends_with("h")) {
        scale_ms = 3'600'000.0;
        number.remove_suffix(1);
    }
    double v = 0;
    if (!parse_number(number, &v)) return fail(Errc::invalid_input, "not a duration");
    double ms = v * scale_ms;
    if (ms > static_cast<double>(OptionLimits::duration_max_ms))
        return fail(Errc::invalid_input, "longer than 24 h");
    return static_cast<uint64_t>(std::llround(ms));
}

Result<Options> parse_options(int argc, const char* const* argv) {
    Options o;
    for (int i = 1; i < argc; i++) {
        std::string_view arg = argv[i];
        std::string_view flag = arg, value;
        bool inline_value = false;
        if (size_t eq = arg.find('='); arg.starts_with("--") && eq != std::string_view::npos) {
            flag = arg.substr(0, eq);
            value = arg.substr(eq + 1);
            inline_value = true;
        }
        if (!inline_value && apply_switch(flag, o)) continue;
        if (!flag.starts_with("-")) {
            return failf(Errc::invalid_input, "unexpected argument '%.*s' (flags start with --)",
                         static_cast<int>(arg.size()), arg.data());
        }
        if (!inline_value) {
            if (i + 1 >= argc) {
                Options probe;
                if (apply_value(flag, "", probe).error().code() == Errc::not_found)
                    return failf(Errc::invalid_input, "unknown flag %.*s",
                                 static_cast<int>(flag.size()), flag.data());
                return failf(Errc::invalid_input, "%.*s: needs a value",
                             static_cast<int>(flag.size()), flag.data());
            }
            value = argv[++i];
        }
        auto applied = apply_value(flag, value, o);
        if (!applied) {
            if (applied.error().code() == Errc::not_found)
                return failf(Errc::invalid_input, "unknown flag %.*s",
                             static_cast<int>(flag.size()), flag.data());
            return Unexpected(applied.error());
        }
    }
    EM_TRY_VOID(check_combination(o));
    return o;
}

Result<TargetUrl> parse_target_url(std::string_view url) {
    auto bad = [&](const char* why) {
        return failf(Errc::invalid_input, "--target: '%.*s' %s", static_cast<int>(url.size()),
                     url.data(), why);
    };
    std::string_view rest = url;
    if (rest.starts_with("https://")) return bad("is https: only http targets are supported");
    if (!rest.starts_with("http://")) return bad("is not an http:// URL");
    rest.remove_prefix(7);
    size_t slash = rest.find('/');
    std::string_view authority = rest.substr(0, slash);
    TargetUrl t;
    if (slash != std::string_view::npos) t.path = std::string(rest.substr(slash));
    if (t.path.find_first_of(" \r\n\t") != std::string::npos)
        return bad("has whitespace in its path");
    std::string_view host = authority, port_text;
    if (authority.starts_with("[")) {
        size_t close = authority.find(']');
        if (close == std::string_view::npos) return bad("has an unclosed [IPv6] host");
        host = authority.substr(1, close - 1);
        std::string_view after = authority.substr(close + 1);
        if (!after.empty() && !after.starts_with(":")) return bad("has text after the [IPv6] host");
        if (!after.empty()) port_text = after.substr(1);
    } else if (size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
        host = authority.substr(0, colon);
        port_text = authority.substr(colon + 1);
    }
    if (host.empty()) return bad("has no host");
    if (authority.find('@') != std::string_view::npos) return bad("has user info (not supported)");
    if (!port_text.empty() || authority.ends_with(":")) {
        auto port = parse_uint("--target port", port_text, 1, 65535);
        if (!port) return bad("has a port that is not 1..65535");
        t.port = static_cast<uint16_t>(*port);
    }
    t.host = std::string(host);
    t.host_header = std::string(authority);
    return t;
}

const char* usage_text() {
    return "usage: enginemux-load --target http://HOST:PORT[/path] (--method NAME [--params JSON] "
           "| --mix FILE)\n"
           "                     [--rate N[/s]] [--connections C] [--duration 10s] [--warmup 2s]\n"
           "                     [--threads T] [--no-pin] [--batch N] [--timeout MS]\n"
           "                     [--jwt-secret FILE] [--jwt-cache S] [--seed N] [--json] "
           "[--quiet]\n"
           "                     [--latency-csv FILE]\n"
           "\n"
           "  --target URL       where to send requests (http only; keep-alive HTTP/1.1)\n"
           "  --method NAME      send one method; --params JSON gives its params (default [])\n"
           "  --mix FILE         weighted request kinds, one per line (see the README):\n"
           "                       <weight> <method> [<params-json>]\n"
           "                       <weight> @<file.json>[#<index>|#<first>-<last>]\n"
           "  --rate N           open loop: N requests/s at fixed intended times; latency counts\n"
           "                     from the intended time (no coordinated omission)\n"
           "                     (without --rate: closed loop, each connection sends on answer)\n"
           "  --connections C    TCP connections in total (default 64)\n"
           "  --duration D       measured time (default 10s); --warmup D before it is discarded\n"
           "                     (default 2s). Units: ms, s, m, h; a bare number is seconds\n"
           "  --threads T        io_uring loop threads, each pinned to a CPU (default 1)\n"
           "  --no-pin           do not pin the threads\n"
           "  --batch N          N JSON-RPC calls per HTTP request (a JSON array)\n"
           "  --timeout MS       give up on an answer after MS ms (default 10000); in open loop\n"
           "                     counted from the intended send time\n"
           "  --jwt-secret FILE  sign each request with an HS256 JWT (Engine API authrpc)\n"
           "  --jwt-cache S      reuse a token for S seconds (default 5; 0 = a fresh token each "
           "time)\n"
           "  --seed N           seed of the mix choice (default 1)\n"
           "  --latency-csv FILE write the latency percentile spectrum (percentile,latency_us)\n"
           "  --json             print the report as one JSON object\n"
           "  --quiet            no progress line\n"
           "exit status: 0 run done (see the report for errors), 1 could not run, 2 bad flags or "
           "mix\n";
}

}  // namespace em::load
