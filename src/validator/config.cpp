#include "validator/config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <toml++/toml.h>

#include "base/log.h"
#include "io/socket.h"
#include "validator/base64.h"
#include "validator/messages.h"

namespace em::validator {

namespace {

/// One setting: where it lives, its type and range, and the field it fills.
struct Setting {
    const char* table;  ///< "" for [validator], else the sub-table name
    const char* key;
    enum Kind : uint8_t { text, flag, u32 } kind;
    void* field;
    uint32_t lo = 0;
    uint32_t hi = 0;
};

std::vector<Setting> settings_of(ValidatorConfig& c) {
    using K = Setting::Kind;
    return {
        {"", "name", K::text, &c.name},
        {"", "preferred", K::flag, &c.preferred},
        {"", "data_dir", K::text, &c.data_dir},
        {"", "state_file", K::text, &c.state_file},
        {"", "rpc_url", K::text, &c.rpc_url},
        {"", "validator_pub_key", K::text, &c.validator_pub_key},
        {"", "control_listen", K::text, &c.control_listen},
        {"", "control_token_file", K::text, &c.control_token_file},
        {"", "tick_ms", K::u32, &c.tick_ms, 10, 10'000},
        {"", "state_file_bytes_max", K::u32, &c.state_file_bytes_max, 1024, 1 << 20},
        {"", "log_format", K::text, &c.log_format},
        {"health", "interval_ms", K::u32, &c.health_interval_ms, 10, 600'000},
        {"health", "timeout_ms", K::u32, &c.health_timeout_ms, 10, 600'000},
        {"health", "failures_before_failover", K::u32, &c.failures_before_failover, 1, 1000},
        {"health", "min_peers", K::u32, &c.min_peers, 0, 10'000},
        {"health", "block_time_ms", K::u32, &c.block_time_ms, 10, 3'600'000},
        {"health", "stale_blocks", K::u32, &c.stale_blocks, 1, 10'000},
        {"health", "start_grace_ms", K::u32, &c.start_grace_ms, 0, 3'600'000},
        {"process", "mode", K::text, &c.process_mode},
        {"process", "start_command", K::text, &c.start_command},
        {"process", "stop_command", K::text, &c.stop_command},
        {"process", "status_command", K::text, &c.status_command},
        {"process", "permit_file", K::text, &c.permit_file},
        {"process", "run_command", K::text, &c.run_command},
        {"process", "follower_command", K::text, &c.follower_command},
        {"process", "stop_timeout_ms", K::u32, &c.stop_timeout_ms, 10, 600'000},
        {"process", "command_timeout_ms", K::u32, &c.command_timeout_ms, 10, 3'600'000},
        {"lease", "backend", K::text, &c.backend},
        {"lease", "ttl_ms", K::u32, &c.ttl_ms, 100, 3'600'000},
        {"lease", "renew_interval_ms", K::u32, &c.renew_interval_ms, 10, 600'000},
        {"lease", "fence_margin_ms", K::u32, &c.fence_margin_ms, 10, 3'600'000},
        {"lease", "takeover_margin_ms", K::u32, &c.takeover_margin_ms, 10, 600'000},
        {"lease", "request_timeout_ms", K::u32, &c.request_timeout_ms, 10, 600'000},
        {"lease", "failback_grace_ms", K::u32, &c.failback_grace_ms, 0, 86'400'000},
        {"lease", "hwm_margin_heights", K::u32, &c.hwm_margin_heights, 0, 1000},
        {"lease", "retry_ms", K::u32, &c.retry_ms, 10, 3'600'000},
        {"lease", "acquire_defer_ms", K::u32, &c.acquire_defer_ms, 0, 600'000},
        {"peer", "name", K::text, &c.peer_name},
        {"peer", "listen", K::text, &c.peer_listen},
        {"peer", "address", K::text, &c.peer_address},
        {"peer", "secret_file", K::text, &c.secret_file},
        {"peer", "replay_window_ms", K::u32, &c.replay_window_ms, 100, 600'000},
        {"peer", "takeover_on_silence", K::flag, &c.takeover_on_silence},
        {"peer", "body_bytes_max", K::u32, &c.peer_body_bytes_max, 4096, 1 << 20},
        {"etcd", "endpoint", K::text, &c.etcd_endpoint},
        {"etcd", "prefix", K::text, &c.etcd_prefix},
    };
}

Result<void> set_value(const Setting& s, const toml::node& node, const std::string& name) {
    if (s.kind == Setting::text) {
        if (!node.is_string())
            return failf(Errc::invalid_input, "%s: expected a string", name.c_str());
        *static_cast<std::string*>(s.field) = *node.value<std::string>();
    } else if (s.kind == Setting::flag) {
        if (!node.is_boolean())
            return failf(Errc::invalid_input, "%s: expected true or false", name.c_str());
        *static_cast<bool*>(s.field) = *node.value<bool>();
    } else {
        if (!node.is_integer())
            return failf(Errc::invalid_input, "%s: expected an integer", name.c_str());
        int64_t v = *node.value<int64_t>();
        if (v < s.lo || v > s.hi) {
            return failf(Errc::invalid_input, "%s: %lld is outside %u..%u", name.c_str(),
                         static_cast<long long>(v), s.lo, s.hi);
        }
        *static_cast<uint32_t*>(s.field) = static_cast<uint32_t>(v);
    }
    return {};
}

Result<void> load_table(const toml::table& t, const char* table, std::vector<Setting>& settings) {
    for (auto&& [k, v] : t) {
        std::string_view key = k.str();
        std::string name =
            std::string("validator.") + (*table ? std::string(table) + "." : "") + std::string(key);
        if (!*table && v.is_table()) {
            static constexpr const char* subs[] = {"health", "process", "lease", "peer", "etcd"};
            bool known = false;
            for (const char* sub : subs) {
                if (key == sub) {
                    EM_TRY_VOID(load_table(*v.as_table(), sub, settings));
                    known = true;
                }
            }
            if (!known) return failf(Errc::invalid_input, "unknown table [%s]", name.c_str());
            continue;
        }
        const Setting* found = nullptr;
        for (const Setting& s : settings) {
            if (std::strcmp(s.table, table) == 0 && key == s.key) found = &s;
        }
        if (!found) return failf(Errc::invalid_input, "unknown setting '%s'", name.c_str());
        EM_TRY_VOID(set_value(*found, v, name));
    }
    return {};
}

bool is_loopback(const io::Address& a) {
    if (a.family() == AF_INET) {
        auto* in = reinterpret_cast<const sockaddr_in*>(&a.storage);
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    auto* in6 = reinterpret_cast<const sockaddr_in6*>(&a.storage);
    return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
}

Result<void> check_required(const ValidatorConfig& c) {
    auto missing = [](const char* key) {
        return failf(Errc::invalid_input, "validator.%s is required", key);
    };
    if (c.name.empty()) return missing("name");
    if (auto ok = check_name(c.name); !ok) return Unexpected(ok.error().prefix("validator.name"));
    if (c.data_dir.empty()) return missing("data_dir");
    if (c.state_file.empty()) return missing("state_file");
    if (c.validator_pub_key.empty()) return missing("validator_pub_key");
    if (auto ok = base64_validate(c.validator_pub_key); !ok) {
        return Unexpected(ok.error().prefix("validator.validator_pub_key"));
    }
    if (c.rpc_url.rfind("http://", 0) != 0) {
        return fail(Errc::invalid_input, "validator.rpc_url must start with http://");
    }
    return {};
}

Result<void> check_process(const ValidatorConfig& c) {
    if (c.process_mode == "commands") {
        if (c.start_command.empty() || c.stop_command.empty() || c.status_command.empty()) {
            return fail(Errc::invalid_input,
                        "validator.process: mode \"commands\" needs start_command, stop_command "
                        "and status_command");
        }
        if (c.permit_file.empty() || c.permit_file[0] != '/') {
            return fail(Errc::invalid_input,
                        "validator.process.permit_file (absolute) is required in mode "
                        "\"commands\": see `enginemux validator-run --permit`");
        }
    } else if (c.process_mode == "child") {
        if (c.run_command.empty()) {
            return fail(Errc::invalid_input, "validator.process: mode \"child\" needs run_command");
        }
        if (!c.permit_file.empty()) {
            return fail(Errc::invalid_input,
                        "validator.process.permit_file is for mode \"commands\"; in mode "
                        "\"child\" the guard hands the permit to the supervisor it spawns");
        }
    } else {
        return fail(Errc::invalid_input,
                    "validator.process.mode must be \"commands\" or \"child\"");
    }
    return {};
}

Result<void> check_timing(const ValidatorConfig& c) {
    if (c.fence_margin_ms <= c.stop_timeout_ms) {
        return failf(Errc::invalid_input,
                     "validator.lease.fence_margin_ms (%u) must exceed validator.process."
                     "stop_timeout_ms (%u): fencing must finish before the lease can expire",
                     c.fence_margin_ms, c.stop_timeout_ms);
    }
    if (c.fence_margin_ms + 2 * c.renew_interval_ms >= c.ttl_ms) {
        return failf(Errc::invalid_input,
                     "validator.lease.ttl_ms (%u) must exceed fence_margin_ms + 2 x "
                     "renew_interval_ms (%u)",
                     c.ttl_ms, c.fence_margin_ms + 2 * c.renew_interval_ms);
    }
    if (c.request_timeout_ms >= c.renew_interval_ms) {
        return fail(Errc::invalid_input,
                    "validator.lease.request_timeout_ms must be shorter than renew_interval_ms");
    }
    if (c.takeover_margin_ms < c.ttl_ms / 100 + 10) {
        return fail(
            Errc::invalid_input,
            "validator.lease.takeover_margin_ms must be at least ttl_ms/100 + 10 (clock drift)");
    }
    if (c.health_timeout_ms > c.health_interval_ms) {
        return fail(Errc::invalid_input, "validator.health.timeout_ms must not exceed interval_ms");
    }
    return {};
}

Result<void> check_backend(const ValidatorConfig& c) {
    if (c.backend == "peer") {
        if (c.peer_name.empty() || c.peer_listen.empty() || c.peer_address.empty() ||
            c.secret_file.empty()) {
            return fail(Errc::invalid_input,
                        "validator.peer: name, listen, address and secret_file are required for "
                        "the peer back-end");
        }
        if (auto ok = check_name(c.peer_name); !ok)
            return Unexpected(ok.error().prefix("validator.peer.name"));
        if (c.peer_name == c.name)
            return fail(Errc::invalid_input, "validator.peer.name equals validator.name");
        if (c.replay_window_ms >= c.ttl_ms) {
            return fail(Errc::invalid_input,
                        "validator.peer.replay_window_ms must be below lease.ttl_ms");
        }
    } else if (c.backend == "etcd") {
        if (c.etcd_endpoint.empty()) {
            return fail(Errc::invalid_input,
                        "validator.etcd.endpoint is required for the etcd back-end");
        }
        if (c.ttl_ms < 2000)
            return fail(Errc::invalid_input, "etcd leases need lease.ttl_ms >= 2000");
        if (c.etcd_prefix.empty() || c.etcd_prefix[0] != '/' || c.etcd_prefix.back() == '/') {
            return fail(Errc::invalid_input,
                        "validator.etcd.prefix must start with '/' and not end with one");
        }
    } else {
        return fail(Errc::invalid_input, "validator.lease.backend must be \"peer\" or \"etcd\"");
    }
    return {};
}

}  // namespace

Result<void> check_validator_config(const ValidatorConfig& c) {
    EM_TRY_VOID(check_required(c));
    EM_TRY_VOID(check_process(c));
    EM_TRY_VOID(check_timing(c));
    EM_TRY_VOID(check_backend(c));
    if (auto format = parse_log_format(c.log_format); !format)
        return Unexpected(format.error().prefix("validator.log_format"));
    auto control = io::resolve(c.control_listen);
    if (!control) return Unexpected(control.error().prefix("validator.control_listen"));
    if (!is_loopback(*control)) {
        return fail(
            Errc::invalid_input,
            "validator.control_listen must be a loopback address (it can stop the validator)");
    }
    return {};
}

Result<ValidatorConfig> parse_validator_config(std::string_view text, std::string_view origin) {
    toml::table root;
    try {
        root = toml::parse(text, origin);
    } catch (const toml::parse_error& e) {
        return failf(Errc::invalid_input, "%.*s:%u: %.*s", static_cast<int>(origin.size()),
                     origin.data(), static_cast<unsigned>(e.source().begin.line),
                     static_cast<int>(e.description().size()), e.description().data());
    }
    const toml::table* v = root["validator"].as_table();
    if (!v) return fail(Errc::invalid_input, "no [validator] table");
    ValidatorConfig c;
    std::vector<Setting> settings = settings_of(c);
    EM_TRY_VOID(load_table(*v, "", settings));
    EM_TRY_VOID(check_validator_config(c));
    return c;
}

Result<ValidatorConfig> load_validator_config(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return Unexpected(Error::sys(errno, "open " + path));
    std::ostringstream text;
    text << in.rdbuf();
    return parse_validator_config(text.str(), path);
}

Result<std::vector<uint8_t>> load_peer_secret(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Unexpected(Error::sys(errno, "open secret file " + path));
    struct stat st;
    if (fstat(fd, &st) != 0 || (st.st_mode & 077) != 0) {
        ::close(fd);
        return failf(Errc::invalid_input,
                     "secret file %s must not be accessible by group or others (chmod 600)",
                     path.c_str());
    }
    std::vector<uint8_t> secret(4096);
    ssize_t n = ::read(fd, secret.data(), secret.size());
    ::close(fd);
    if (n < 0) return Unexpected(Error::sys(errno, "read secret file"));
    secret.resize(static_cast<size_t>(n));
    while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
    if (secret.size() < 32) {
        return fail(Errc::invalid_input,
                    "the peer secret must have at least 32 bytes (openssl rand -hex 32)");
    }
    return secret;
}

}  // namespace em::validator
