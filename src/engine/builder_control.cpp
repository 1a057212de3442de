#include "engine/builder_control.h"

#include <simdjson.h>

#include <cstdio>

namespace em::engine {

namespace {

/// The body's one member, execution_mode, as text.
Result<std::string_view> mode_member(simdjson::dom::object object) {
    std::string_view mode;
    bool seen = false;
    for (auto [key, value] : object) {
        if (key != "execution_mode")
            return failf(Errc::invalid_input,
                         "unknown member \"%.*s\": the body is {\"execution_mode\": \"enabled\" | "
                         "\"dry-run\" | \"disabled\"}",
                         static_cast<int>(key.size()), key.data());
        if (seen) return fail(Errc::invalid_input, "execution_mode is given twice");
        seen = true;
        if (value.get_string().get(mode) != simdjson::SUCCESS)
            return fail(Errc::invalid_input,
                        "execution_mode must be a string: \"enabled\", \"dry-run\" (or "
                        "\"dry_run\") or \"disabled\"");
    }
    if (!seen)
        return fail(Errc::invalid_input,
                    "execution_mode is missing: the body is {\"execution_mode\": \"enabled\" | "
                    "\"dry-run\" | \"disabled\"}");
    return mode;
}

const char* age_text(const NodeFreshness& n, uint64_t now_ns, char* buf, size_t size) {
    if (!n.good_ns) return "never answered well";
    uint64_t ms = now_ns > n.good_ns ? (now_ns - n.good_ns) / 1'000'000 : 0;
    std::snprintf(buf, size, "last good answer %llu ms ago", static_cast<unsigned long long>(ms));
    return buf;
}

/// Why a builder is not usable ("" when it is).
std::string builder_trouble(const NodeFreshness& b, uint64_t now_ns, uint64_t max_unsafe_ns) {
    char age[64];
    if (b.benched) return "benched by its circuit breaker";
    if (b.failing) return "failing its health checks";
    if (!fresh(b, now_ns, max_unsafe_ns))
        return std::string("stale: ") + age_text(b, now_ns, age, sizeof age);
    return "";
}

void append_node(std::string& out, const NodeFreshness& n, bool usable, const std::string& why,
                 uint64_t now_ns) {
    char buf[160];
    long long ago =
        n.good_ns
            ? static_cast<long long>((now_ns > n.good_ns ? now_ns - n.good_ns : 0) / 1'000'000)
            : -1;
    std::snprintf(buf, sizeof buf, "{\"name\":\"%.*s\",\"usable\":%s,\"last_good_ms_ago\":%lld",
                  static_cast<int>(n.name.size()), n.name.data(), usable ? "true" : "false", ago);
    out += buf;
    if (!why.empty()) out += ",\"why\":\"" + why + "\"";
    out += "}";
}

}  // namespace

Result<ExecutionMode> parse_execution_mode_body(std::string_view json) {
    simdjson::dom::parser parser;
    simdjson::padded_string padded(json);
    simdjson::dom::element root;
    if (auto e = parser.parse(padded).get(root); e != simdjson::SUCCESS)
        return failf(Errc::invalid_input, "the body is not JSON (%s)", simdjson::error_message(e));
    simdjson::dom::object object;
    if (root.get_object().get(object) != simdjson::SUCCESS)
        return fail(Errc::invalid_input,
                    "the body must be a JSON object: {\"execution_mode\": \"dry-run\"}");
    std::string_view text = EM_TRY(mode_member(object));
    return parse_execution_mode(text);
}

std::string_view execution_mode_wire_name(ExecutionMode mode) {
    return mode == ExecutionMode::dry_run ? "dry_run" : execution_mode_name(mode);
}

bool fresh(const NodeFreshness& n, uint64_t now_ns, uint64_t max_unsafe_ns) {
    if (!n.present || n.failing || n.good_ns == 0) return false;
    return now_ns <= n.good_ns || now_ns - n.good_ns <= max_unsafe_ns;
}

HealthVerdict judge_builder_health(ExecutionMode mode, uint64_t now_ns, uint64_t max_unsafe_ns,
                                   const NodeFreshness& local,
                                   std::span<const NodeFreshness> builders) {
    HealthVerdict v;
    char age[64], reason[256];
    size_t usable = 0;
    std::string list;
    for (const NodeFreshness& b : builders) {
        if (!b.present) continue;
        std::string why = builder_trouble(b, now_ns, max_unsafe_ns);
        if (why.empty()) usable++;
        list += list.empty() ? "" : ",";
        append_node(list, b, why.empty(), why, now_ns);
    }
    bool local_ok = fresh(local, now_ns, max_unsafe_ns);
    unsigned long long limit_s = max_unsafe_ns / 1'000'000'000ull;
    if (!local_ok) {
        v.http_status = 503;
        std::snprintf(reason, sizeof reason, "the local EL is %s: %s (max_unsafe_interval %llu s)",
                      local.failing ? "failing" : "stale", age_text(local, now_ns, age, sizeof age),
                      limit_s);
    } else if (mode == ExecutionMode::disabled) {
        v.http_status = 200;
        std::snprintf(reason, sizeof reason,
                      "the local EL is fresh; execution mode disabled: builders are not used");
    } else {
        v.http_status = usable ? 200 : 206;
        std::snprintf(reason, sizeof reason, "the local EL is fresh; %zu of %zu builders usable",
                      usable, builders.size());
    }
    const char* status = v.http_status == 200   ? "healthy"
                         : v.http_status == 206 ? "partial"
                                                : "unhealthy";
    std::string_view m = execution_mode_name(mode);
    v.body = std::string("{\"status\":\"") + status +
             "\",\"code\":" + std::to_string(v.http_status) + ",\"execution_mode\":\"" +
             std::string(m) + "\",\"reason\":\"" + reason + "\",\"local\":";
    append_node(v.body, local, local_ok, local_ok ? "" : (local.failing ? "failing" : "stale"),
                now_ns);
    v.body += ",\"builders\":[" + list + "]}";
    return v;
}

}  // namespace em::engine
