#include "app/builder_flags.h"

#include <charconv>
#include <set>

#include "app/toml_values.h"
#include "base/name.h"

namespace em::app {

const std::array<RollupBoostFlags::Spec, RollupBoostFlags::count> RollupBoostFlags::specs = {{
    {"--l2-url", "L2_URL", false},
    {"--l2-jwt-path", "L2_JWT_PATH", false},
    {"--l2-jwt-token", "L2_JWT_TOKEN", false},
    {"--l2-timeout", "L2_TIMEOUT", false},
    {"--builder-url", "BUILDER_URL", true},
    {"--builder-jwt-path", "BUILDER_JWT_PATH", true},
    {"--builder-jwt-token", "BUILDER_JWT_TOKEN", true},
    {"--builder-timeout", "BUILDER_TIMEOUT", true},
    {"--rpc-host", "RPC_HOST", false},
    {"--rpc-port", "RPC_PORT", false},
    {"--execution-mode", "EXECUTION_MODE", false},
    {"--block-selection-policy", "BLOCK_SELECTION_POLICY", false},
    {"--get-payload-deadline-ms", "GET_PAYLOAD_DEADLINE_MS", false},
    {"--health-check-interval", "HEALTH_CHECK_INTERVAL", false},
    {"--max-unsafe-interval", "MAX_UNSAFE_INTERVAL", false},
    {"--debug-host", "DEBUG_HOST", false},
    {"--debug-server-port", "DEBUG_SERVER_PORT", false},
}};

namespace {

constexpr uint32_t timeout_ms_max = 600'000;

/// `text` as an integer in lo..hi; the error names `what` and the range (`unit` after it).
Result<uint64_t> number(std::string_view text, std::string_view what, uint64_t lo, uint64_t hi,
                        const char* unit) {
    uint64_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() || v < lo || v > hi)
        return failf(Errc::invalid_input, "%.*s '%.*s' is not %llu..%llu%s",
                     static_cast<int>(what.size()), what.data(), static_cast<int>(text.size()),
                     text.data(), static_cast<unsigned long long>(lo),
                     static_cast<unsigned long long>(hi), unit);
    return v;
}

Result<void> check_deadline(uint64_t ms, std::string_view what) {
    if (ms == 0 || ms > get_payload_deadline_ms_max)
        return failf(Errc::invalid_input,
                     "%.*s %llu ms is over the limit of %u ms (the spec's getPayload timeout; "
                     "at least 1)",
                     static_cast<int>(what.size()), what.data(),
                     static_cast<unsigned long long>(ms), get_payload_deadline_ms_max);
    return {};
}

/// The comma-separated parts of `text`, blanks trimmed, empty parts dropped.
void split_list(std::string_view text, std::vector<std::string>& out) {
    while (!text.empty()) {
        size_t comma = text.find(',');
        std::string_view one = text.substr(0, comma);
        while (!one.empty() && (one.front() == ' ' || one.front() == '\t')) one.remove_prefix(1);
        while (!one.empty() && (one.back() == ' ' || one.back() == '\t')) one.remove_suffix(1);
        if (!one.empty()) out.emplace_back(one);
        text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    }
}

Result<void> load_l2(const toml::table& t, L2Config& l2) {
    for (auto&& [k, v] : t) {
        std::string_view key = k.str();
        std::string full = "l2." + std::string(key);
        if (key == "url")
            EM_TRY_VOID(toml_string(v, full, l2.url));
        else if (key == "jwt_secret")
            EM_TRY_VOID(toml_string(v, full, l2.jwt_secret_path));
        else if (key == "timeout_ms")
            EM_TRY_VOID(toml_number(v, full, l2.timeout_ms, 1, timeout_ms_max));
        else
            return unknown_key("l2", key);
    }
    return {};
}

Result<void> load_builder_entry(const toml::table& t, size_t index, BuilderEndpointConfig& b) {
    std::string where = "builders[" + std::to_string(index) + "]";
    for (auto&& [k, v] : t) {
        std::string_view key = k.str();
        std::string full = where + "." + std::string(key);
        if (key == "name")
            EM_TRY_VOID(toml_string(v, full, b.name));
        else if (key == "url")
            EM_TRY_VOID(toml_string(v, full, b.url));
        else if (key == "jwt_secret")
            EM_TRY_VOID(toml_string(v, full, b.jwt_secret_path));
        else if (key == "timeout_ms")
            EM_TRY_VOID(toml_number(v, full, b.timeout_ms, 1, timeout_ms_max));
        else
            return unknown_key(where, key);
    }
    return {};
}

Result<void> load_builder_settings(const toml::table& t, BuilderRoleConfig& b) {
    for (auto&& [k, v] : t) {
        std::string_view key = k.str();
        std::string full = "builder." + std::string(key);
        std::string text;
        if (key == "get_payload_deadline_ms") {
            // The range is checked by validate_builder, whose error names the limit.
            EM_TRY_VOID(toml_number(v, full, b.get_payload_deadline_ms, 0, 1e9));
        } else if (key == "block_selection_policy") {
            EM_TRY_VOID(toml_string(v, full, text));
            auto s = engine::parse_block_selection(text);
            if (!s) return Unexpected(s.error().prefix(full));
            b.block_selection = *s;
        } else if (key == "execution_mode") {
            EM_TRY_VOID(toml_string(v, full, text));
            auto m = engine::parse_execution_mode(text);
            if (!m) return Unexpected(m.error().prefix(full));
            b.execution_mode = *m;
        } else if (key == "health_check_interval_s") {
            EM_TRY_VOID(toml_number(v, full, b.health_check_interval_s, 1, 3600));
        } else if (key == "max_unsafe_interval_s") {
            EM_TRY_VOID(toml_number(v, full, b.max_unsafe_interval_s, 1, 3600));
        } else if (key == "debug_listen") {
            EM_TRY_VOID(toml_string(v, full, b.debug_listen));
            if (b.debug_listen == "off") b.debug_listen.clear();
        } else if (key == "breaker_failures") {
            EM_TRY_VOID(toml_number(v, full, b.breaker_failures, 0, 1000));
        } else if (key == "breaker_window_s") {
            EM_TRY_VOID(toml_number(v, full, b.breaker_window_s, 1, 86'400));
        } else if (key == "breaker_cooldown_s") {
            EM_TRY_VOID(toml_number(v, full, b.breaker_cooldown_s, 1, 86'400));
        } else {
            return unknown_key("builder", key);
        }
    }
    return {};
}

}  // namespace

Result<bool> load_builder_toml(std::string_view key, const toml::node& value, Config& c) {
    if (key == "l2" && value.is_table()) {
        EM_TRY_VOID(load_l2(*value.as_table(), c.builder.l2));
    } else if (key == "builder" && value.is_table()) {
        EM_TRY_VOID(load_builder_settings(*value.as_table(), c.builder));
    } else if (key == "builders" && value.is_array_of_tables()) {
        c.builder.builders.clear();
        for (auto&& element : *value.as_array()) {
            BuilderEndpointConfig b;
            EM_TRY_VOID(load_builder_entry(*element.as_table(), c.builder.builders.size(), b));
            c.builder.builders.push_back(std::move(b));
        }
    } else {
        return false;
    }
    return true;
}

Result<BuilderEndpointConfig> parse_builder_spec(std::string_view spec) {
    BuilderEndpointConfig b;
    size_t hash = spec.find('#');
    b.url = std::string(spec.substr(0, hash));
    while (hash != std::string_view::npos) {
        size_t next = spec.find('#', hash + 1);
        std::string_view option =
            spec.substr(hash + 1, next == std::string_view::npos ? next : next - hash - 1);
        hash = next;
        if (option.substr(0, 5) == "name=" && option.size() > 5) {
            if (auto ok = check_name(option.substr(5)); !ok)
                return Unexpected(ok.error().prefix("builder #name="));
            b.name = std::string(option.substr(5));
        } else {
            return failf(Errc::invalid_input,
                         "builder '%.*s': unknown option '#%.*s' (known: #name=NAME)",
                         static_cast<int>(spec.size()), spec.data(),
                         static_cast<int>(option.size()), option.data());
        }
    }
    NodeConfig parsed;
    if (auto ok = parse_node_url(b.url, parsed); !ok) return Unexpected(ok.error());
    return b;
}

Result<std::string> parse_jwt_hex(std::string_view text, std::string_view what) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\n' ||
                             text.back() == '\r'))
        text.remove_suffix(1);
    if (text.substr(0, 2) == "0x" || text.substr(0, 2) == "0X") text.remove_prefix(2);
    std::string out;
    for (char ch : text) {
        bool digit = (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f');
        bool upper = ch >= 'A' && ch <= 'F';
        if (!digit && !upper) {
            out.clear();
            break;
        }
        out.push_back(upper ? static_cast<char>(ch - 'A' + 'a') : ch);
    }
    if (out.size() != 64)
        return failf(Errc::invalid_input,
                     "%.*s: a JWT secret is 64 hex digits (32 bytes, 0x allowed); the value "
                     "given is not (not shown)",
                     static_cast<int>(what.size()), what.data());
    return out;
}

void RollupBoostFlags::add(CLI::App& cli) {
    for (size_t i = 0; i < count; i++)
        options_[i] = cli.add_option(specs[i].flag, values_[i])->allow_extra_args(false);
    cli.add_flag("--metrics", metrics_);
    cli.add_flag("--tracing", tracing_);
    cli.add_flag("--ignore-unhealthy-builders", ignore_unhealthy_);
    ignored_valued_[0] = cli.add_option("--metrics-host", metrics_host_);
    ignored_valued_[1] = cli.add_option("--metrics-port", metrics_port_);
    ignored_valued_[2] = cli.add_option("--otlp-endpoint", otlp_endpoint_);
}

std::string_view RollupBoostFlags::first_given() const {
    for (size_t i = 0; i < count; i++) {
        if (options_[i]->count()) return specs[i].flag;
    }
    if (metrics_) return "--metrics";
    if (tracing_) return "--tracing";
    if (ignore_unhealthy_) return "--ignore-unhealthy-builders";
    // Literals, not o->get_name(): that is a std::string by value, and a view of it would
    // dangle once this returns.
    static constexpr std::string_view valued[] = {"--metrics-host", "--metrics-port",
                                                  "--otlp-endpoint"};
    static_assert(std::size(valued) == std::tuple_size_v<decltype(ignored_valued_)>);
    for (size_t k = 0; k < std::size(valued); k++) {
        if (ignored_valued_[k]->count()) return valued[k];
    }
    return "";
}

RollupBoostFlags::Values RollupBoostFlags::effective(Index i, EnvLookup env) const {
    Values v;
    if (options_[i]->count()) {
        v.from = specs[i].flag;
        for (const std::string& one : values_[i]) {
            if (specs[i].repeatable)
                split_list(one, v.list);
            else
                v.list.push_back(one);
        }
        return v;
    }
    const char* text = env ? env(specs[i].env) : nullptr;
    if (!text || !*text) return v;
    v.from = specs[i].env;
    if (specs[i].repeatable)
        split_list(text, v.list);
    else
        v.list.emplace_back(text);
    return v;
}

Result<void> RollupBoostFlags::apply(Config& c, EnvLookup env, const GivenFlags& given) const {
    std::string_view first = first_given();
    if (c.role != "builder") {
        if (first.empty()) return {};
        return failf(Errc::invalid_input,
                     "%.*s is one of rollup-boost's flags (--l2-url, --builder-url, ...): they "
                     "need --role builder",
                     static_cast<int>(first.size()), first.data());
    }
    std::array<Values, count> v;
    for (size_t i = 0; i < count; i++) {
        v[i] = effective(static_cast<Index>(i), env);
        if (!specs[i].repeatable && v[i].list.size() > 1)
            return failf(Errc::invalid_input, "%s given %zu times: give it once", v[i].from,
                         v[i].list.size());
    }
    EM_TRY_VOID(apply_l2(c, v));
    EM_TRY_VOID(apply_builders(c, v));
    EM_TRY_VOID(apply_role(c, v, given));
    if (!given.log_level && env) {
        if (const char* level = env("LOG_LEVEL"); level && *level) {
            auto parsed = parse_log_level(level);
            if (!parsed) return Unexpected(parsed.error().prefix("LOG_LEVEL"));
            c.log_level = *parsed;
        }
    }
    if (!given.log_format && env) {
        if (const char* format = env("LOG_FORMAT"); format && *format) {
            auto parsed = parse_log_format(format);
            if (!parsed) return Unexpected(parsed.error().prefix("LOG_FORMAT"));
            c.log_format = *parsed;
        }
    }
    warn_ignored(c);
    return {};
}

Result<void> RollupBoostFlags::apply_l2(Config& c, const std::array<Values, count>& v) const {
    L2Config& l2 = c.builder.l2;
    if (!v[l2_url].list.empty()) l2.url = v[l2_url].list[0];
    if (!v[l2_jwt_path].list.empty()) l2.jwt_secret_path = v[l2_jwt_path].list[0];
    if (!v[l2_jwt_token].list.empty())
        l2.jwt_secret_hex = EM_TRY(parse_jwt_hex(v[l2_jwt_token].list[0], v[l2_jwt_token].from));
    if (!v[l2_timeout].list.empty())
        l2.timeout_ms = static_cast<uint32_t>(
            EM_TRY(number(v[l2_timeout].list[0], v[l2_timeout].from, 1, timeout_ms_max, " ms")));
    return {};
}

// tidy: long because each of the three shared-or-paired settings is spelled out
Result<void> RollupBoostFlags::apply_builders(Config& c, const std::array<Values, count>& v) const {
    auto& builders = c.builder.builders;
    if (!v[builder_url].list.empty()) {
        builders.clear();
        for (const std::string& spec : v[builder_url].list) {
            auto b = parse_builder_spec(spec);
            if (!b) return Unexpected(b.error().prefix(v[builder_url].from));
            builders.push_back(std::move(*b));
        }
    }
    // Each of these is given once (shared by every builder) or once per builder (in order).
    for (Index i : {builder_jwt_path, builder_jwt_token, builder_timeout}) {
        const Values& values = v[i];
        if (values.list.empty()) continue;
        if (values.list.size() != 1 && values.list.size() != builders.size())
            return failf(Errc::invalid_input,
                         "%s has %zu values for %zu builders: give one (shared by all) or one "
                         "per --builder-url, in the same order",
                         values.from, values.list.size(), builders.size());
        for (size_t b = 0; b < builders.size(); b++) {
            const std::string& one = values.list[values.list.size() == 1 ? 0 : b];
            if (i == builder_jwt_path) {
                builders[b].jwt_secret_path = one;
            } else if (i == builder_jwt_token) {
                builders[b].jwt_secret_hex = EM_TRY(parse_jwt_hex(one, values.from));
            } else {
                builders[b].timeout_ms = static_cast<uint32_t>(
                    EM_TRY(number(one, values.from, 1, timeout_ms_max, " ms")));
            }
        }
    }
    return {};
}

// tidy: long because it is one flat list of rollup-boost's role settings
Result<void> RollupBoostFlags::apply_role(Config& c, const std::array<Values, count>& v,
                                          const GivenFlags& given) const {
    BuilderRoleConfig& b = c.builder;
    // The environment never overrides --listen-addr / --port.
    bool from_flag_host = options_[rpc_host]->count() > 0;
    bool from_flag_port = options_[rpc_port]->count() > 0;
    if (!v[rpc_host].list.empty() && (from_flag_host || !given.listen)) {
        c.listen_addr = v[rpc_host].list[0];
        c.listen_set = true;
    }
    if (!v[rpc_port].list.empty() && (from_flag_port || !given.listen)) {
        c.port = static_cast<uint16_t>(
            EM_TRY(number(v[rpc_port].list[0], v[rpc_port].from, 0, 65535, " (0: any free port)")));
        c.listen_set = true;
    }
    if (!v[execution_mode].list.empty()) {
        auto mode = engine::parse_execution_mode(v[execution_mode].list[0]);
        if (!mode) return Unexpected(mode.error().prefix(v[execution_mode].from));
        b.execution_mode = *mode;
    }
    if (!v[block_selection_policy].list.empty()) {
        auto s = engine::parse_block_selection(v[block_selection_policy].list[0]);
        if (!s) return Unexpected(s.error().prefix(v[block_selection_policy].from));
        b.block_selection = *s;
    }
    if (!v[get_payload_deadline_ms].list.empty()) {
        const Values& d = v[get_payload_deadline_ms];
        uint64_t ms = EM_TRY(number(d.list[0], d.from, 0, UINT32_MAX, " ms"));
        EM_TRY_VOID(check_deadline(ms, d.from));
        b.get_payload_deadline_ms = static_cast<uint32_t>(ms);
    }
    if (!v[health_check_interval].list.empty())
        b.health_check_interval_s = static_cast<uint32_t>(EM_TRY(number(
            v[health_check_interval].list[0], v[health_check_interval].from, 1, 3600, " s")));
    if (!v[max_unsafe_interval].list.empty())
        b.max_unsafe_interval_s = static_cast<uint32_t>(EM_TRY(
            number(v[max_unsafe_interval].list[0], v[max_unsafe_interval].from, 1, 3600, " s")));
    if (!v[debug_host].list.empty() || !v[debug_server_port].list.empty()) {
        // Off in the file ([builder] debug_listen = ""): a flag turns it on, at the defaults.
        std::string listen = b.debug_listen.empty() ? "127.0.0.1:5555" : b.debug_listen;
        size_t colon = listen.rfind(':');
        std::string host = listen.substr(0, colon);
        std::string port = listen.substr(colon + 1);
        if (!v[debug_host].list.empty()) host = v[debug_host].list[0];
        if (!v[debug_server_port].list.empty())
            port = std::to_string(
                EM_TRY(number(v[debug_server_port].list[0], v[debug_server_port].from, 0, 65535,
                              " (0: any free port)")));
        b.debug_listen = host + ":" + port;
    }
    return {};
}

void RollupBoostFlags::warn_ignored(Config& c) const {
    std::string names;
    auto add = [&](bool given, std::string_view name) {
        if (!given) return;
        if (!names.empty()) names += ", ";
        names += name;
    };
    add(metrics_, "--metrics");
    add(ignored_valued_[0]->count() > 0, "--metrics-host");
    add(ignored_valued_[1]->count() > 0, "--metrics-port");
    add(tracing_, "--tracing");
    add(ignored_valued_[2]->count() > 0, "--otlp-endpoint");
    add(ignore_unhealthy_, "--ignore-unhealthy-builders");
    if (names.empty()) return;
    c.warnings.push_back("rollup-boost's " + names +
                         " mean nothing to enginemux and are ignored (metrics are always on the "
                         "admin API's /metrics; a failing builder never delays the local block)");
}

namespace {

Result<void> check_builder(BuilderEndpointConfig& b, size_t index, std::set<std::string>& names) {
    if (b.name.empty()) b.name = "builder" + std::to_string(index + 1);
    if (auto ok = check_name(b.name); !ok) return Unexpected(ok.error().prefix("builder name"));
    if (b.name == "local")
        return fail(Errc::invalid_input,
                    "a builder may not be named 'local' (metrics name the local EL's blocks so)");
    if (!names.insert(b.name).second)
        return failf(Errc::invalid_input, "two builders are named '%s'", b.name.c_str());
    if (b.url.empty()) return failf(Errc::invalid_input, "builder %s has no url", b.name.c_str());
    NodeConfig parsed;
    if (auto ok = parse_node_url(b.url, parsed); !ok)
        return Unexpected(ok.error().prefix("builder " + b.name));
    if (b.jwt_secret_path.empty() && b.jwt_secret_hex.empty())
        return failf(Errc::invalid_input,
                     "builder %s has no JWT secret: give --builder-jwt-path PATH, "
                     "--builder-jwt-token HEX or [[builders]] jwt_secret",
                     b.name.c_str());
    if (!b.jwt_secret_path.empty() && !b.jwt_secret_hex.empty())
        return failf(Errc::invalid_input,
                     "builder %s has two JWT secrets: give a path or a token, not both",
                     b.name.c_str());
    return {};
}

}  // namespace

Result<void> validate_builder(Config& c) {
    BuilderRoleConfig& b = c.builder;
    if (!c.nodes.empty())
        return fail(Errc::invalid_input,
                    "role builder takes its ELs from [l2] and [[builders]] (--l2-url, "
                    "--builder-url), not from --nodes or [[nodes]]");
    if (b.l2.url.empty())
        return fail(Errc::invalid_input,
                    "role builder needs the local EL: give --l2-url URL (L2_URL) or [l2] url");
    NodeConfig parsed;
    if (auto ok = parse_node_url(b.l2.url, parsed); !ok)
        return Unexpected(ok.error().prefix("[l2] url"));
    if (b.l2.jwt_secret_path.empty() && b.l2.jwt_secret_hex.empty())
        return fail(Errc::invalid_input,
                    "the local EL has no JWT secret: give --l2-jwt-path PATH, --l2-jwt-token HEX "
                    "or [l2] jwt_secret");
    if (!b.l2.jwt_secret_path.empty() && !b.l2.jwt_secret_hex.empty())
        return fail(Errc::invalid_input,
                    "the local EL has two JWT secrets: give --l2-jwt-path or --l2-jwt-token, not "
                    "both");
    if (b.builders.empty())
        return fail(Errc::invalid_input,
                    "role builder needs at least one builder: give --builder-url URL "
                    "(BUILDER_URL) or [[builders]]");
    if (b.builders.size() > builders_max)
        return failf(Errc::invalid_input, "%zu builders: at most %zu", b.builders.size(),
                     builders_max);
    std::set<std::string> names;
    for (size_t i = 0; i < b.builders.size(); i++)
        EM_TRY_VOID(check_builder(b.builders[i], i, names));
    EM_TRY_VOID(check_deadline(b.get_payload_deadline_ms, "[builder] get_payload_deadline_ms"));
    if (!b.debug_listen.empty() && b.debug_listen.rfind(':') == std::string::npos)
        return failf(Errc::invalid_input, "[builder] debug_listen '%s' is not ADDR:PORT",
                     b.debug_listen.c_str());
    if (!c.listen_set) c.port = 8081;  // rollup-boost's --rpc-port
    return {};
}

}  // namespace em::app
