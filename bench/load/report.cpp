#include "report.h"

#include <cstdarg>
#include <cstdio>
#include <utility>

#include "base/buffer.h"
#include "jsonrpc/writer.h"

namespace em::load {

namespace {

[[gnu::format(printf, 2, 3)]] void appendf(std::string& out, const char* format, ...) {
    char buf[512];
    va_list args;
    va_start(args, format);
    int n = std::vsnprintf(buf, sizeof buf, format, args);
    va_end(args);
    if (n > 0)
        out.append(buf,
                   static_cast<size_t>(n) < sizeof buf ? static_cast<size_t>(n) : sizeof buf - 1);
}

void append_json_string(std::string& out, std::string_view s) {
    ByteBuffer b(s.size() * 6 + 16);
    jsonrpc::write_json_string(b, s);
    out.append(b.view());
}

/// Measured calls per method name, in first-seen order (a range of @file kinds shares a name).
std::vector<std::pair<std::string, uint64_t>> calls_by_method(const ReportInput& in) {
    std::vector<std::pair<std::string, uint64_t>> out;
    const auto& kinds = in.mix->kinds();
    for (size_t i = 0; i < kinds.size(); i++) {
        uint64_t n = i < in.kind_calls.size() ? in.kind_calls[i] : 0;
        bool found = false;
        for (auto& [name, count] : out) {
            if (name == kinds[i].name) {
                count += n;
                found = true;
                break;
            }
        }
        if (!found) out.emplace_back(kinds[i].name, n);
    }
    return out;
}

struct Latency {
    const char* name;   ///< JSON member
    const char* label;  ///< text report
    double q;           ///< percentile, or -1 min, -2 mean, 2 max
};
constexpr Latency latency_fields[] = {
    {"min", "min", -1},   {"mean", "mean", -2},      {"p50", "p50", 0.50}, {"p90", "p90", 0.90},
    {"p99", "p99", 0.99}, {"p99_9", "p99.9", 0.999}, {"max", "max", 2}};

double latency_ns(const LatencyHistogram& h, double q) {
    if (q == -1) return static_cast<double>(h.min());
    if (q == -2) return h.mean();
    if (q == 2) return static_cast<double>(h.max());
    return static_cast<double>(h.percentile(q));
}

constexpr Outcome error_outcomes[] = {Outcome::jsonrpc_error, Outcome::http_error, Outcome::timeout,
                                      Outcome::connection_error, Outcome::malformed};

/// The latency fields shown per method (the run's own line shows them all).
constexpr Latency method_latency_fields[] = {
    {"p50", "p50", 0.50}, {"p99", "p99", 0.99}, {"p99_9", "p99.9", 0.999}, {"max", "max", 2}};

constexpr PayloadStatus payload_statuses[] = {PayloadStatus::valid,
                                              PayloadStatus::invalid,
                                              PayloadStatus::syncing,
                                              PayloadStatus::accepted,
                                              PayloadStatus::invalid_block_hash,
                                              PayloadStatus::other};

/// One text line per method with calls: calls, errors, latency, payload statuses.
void text_by_method(std::string& out, const ReportInput& in) {
    const std::vector<MethodStats>& methods = in.stats->methods();
    for (size_t m = 0; m < methods.size() && m < in.mix->methods().size(); m++) {
        const MethodStats& ms = methods[m];
        if (ms.calls() == 0) continue;
        appendf(out, "  %-34s %9llu calls, errors %llu", in.mix->methods()[m].c_str(),
                static_cast<unsigned long long>(ms.calls()),
                static_cast<unsigned long long>(ms.calls() -
                                                ms.outcomes[static_cast<size_t>(Outcome::ok)]));
        for (const Latency& f : method_latency_fields)
            appendf(out, ", %s %.3f ms", f.label, latency_ns(ms.latency, f.q) / 1e6);
        for (PayloadStatus st : payload_statuses) {
            uint64_t n = ms.statuses[static_cast<size_t>(st)];
            if (n)
                appendf(out, ", %s %llu", payload_status_name(st),
                        static_cast<unsigned long long>(n));
        }
        out += "\n";
    }
}

/// "by_method": {"<method>": {calls, ok, errors{...}, latency_us{...}, statuses{...}}}.
void json_by_method(std::string& out, const ReportInput& in) {
    out += ",\"by_method\":{";
    const std::vector<MethodStats>& methods = in.stats->methods();
    bool first = true;
    for (size_t m = 0; m < methods.size() && m < in.mix->methods().size(); m++) {
        const MethodStats& ms = methods[m];
        if (!first) out += ",";
        first = false;
        append_json_string(out, in.mix->methods()[m]);
        appendf(out, ":{\"calls\":%llu,\"ok\":%llu,\"errors\":{",
                static_cast<unsigned long long>(ms.calls()),
                static_cast<unsigned long long>(ms.outcomes[static_cast<size_t>(Outcome::ok)]));
        for (Outcome e : error_outcomes)
            appendf(out, "%s\"%s\":%llu", e == Outcome::jsonrpc_error ? "" : ",", outcome_name(e),
                    static_cast<unsigned long long>(ms.outcomes[static_cast<size_t>(e)]));
        appendf(out, "},\"latency_us\":{\"count\":%llu",
                static_cast<unsigned long long>(ms.latency.count()));
        for (const Latency& f : method_latency_fields)
            appendf(out, ",\"%s\":%.3f", f.name, latency_ns(ms.latency, f.q) / 1e3);
        out += "},\"statuses\":{";
        bool first_status = true;
        for (PayloadStatus st : payload_statuses) {
            uint64_t n = ms.statuses[static_cast<size_t>(st)];
            if (!n) continue;
            appendf(out, "%s\"%s\":%llu", first_status ? "" : ",", payload_status_name(st),
                    static_cast<unsigned long long>(n));
            first_status = false;
        }
        out += "}}";
    }
    out += "}";
}

}  // namespace

double throughput_rps(const ReportInput& in) {
    return in.window_s > 0 ? static_cast<double>(in.stats->answered()) / in.window_s : 0.0;
}

std::string text_report(const ReportInput& in) {
    const Options& o = *in.options;
    const RunStats& s = *in.stats;
    std::string out;
    appendf(out, "enginemux-load  %s\n", o.target.c_str());
    if (o.open_loop())
        appendf(out, "mode          open loop at %.1f req/s", o.rate_rps);
    else
        out += "mode          closed loop";
    appendf(out, ", %u connection%s, %u thread%s, batch %u\n", o.connections,
            o.connections == 1 ? "" : "s", o.threads, o.threads == 1 ? "" : "s", o.batch);
    appendf(out, "window        %.2f s (warmup %.2f s discarded)\n", in.window_s,
            static_cast<double>(o.warmup_ms) / 1000.0);
    appendf(out, "requests      %llu (%llu calls)\n", static_cast<unsigned long long>(s.requests()),
            static_cast<unsigned long long>(s.calls()));
    appendf(out, "ok            %llu\n", static_cast<unsigned long long>(s.outcome(Outcome::ok)));
    appendf(out, "errors        %llu:", static_cast<unsigned long long>(s.errors()));
    for (Outcome e : error_outcomes) {
        appendf(out, " %s %llu%s", outcome_name(e), static_cast<unsigned long long>(s.outcome(e)),
                e == Outcome::malformed ? "\n" : ",");
    }
    if (s.code_count() > 0 || s.codes_other() > 0) {
        out += "  jsonrpc codes";
        for (size_t i = 0; i < s.code_count(); i++)
            appendf(out, " %d: %llu", s.code(i).code,
                    static_cast<unsigned long long>(s.code(i).count));
        if (s.codes_other())
            appendf(out, " other: %llu", static_cast<unsigned long long>(s.codes_other()));
        out += "\n";
    }
    bool any_status = false;
    for (size_t st = 0; st < RunStats::http_status_slots; st++) {
        if (!s.http_status(st)) continue;
        out += any_status ? "" : "  http statuses";
        any_status = true;
        appendf(out, " %zu: %llu", st, static_cast<unsigned long long>(s.http_status(st)));
    }
    if (any_status) out += "\n";
    if (o.open_loop())
        appendf(out, "late          %llu (sent >= 1 ms after the intended time)\n",
                static_cast<unsigned long long>(s.late()));
    appendf(out, "throughput    %.1f req/s answered (%.1f calls/s)\n", throughput_rps(in),
            throughput_rps(in) * o.batch);
    out += "latency      ";
    for (const Latency& f : latency_fields)
        appendf(out, " %s %.3f ms", f.label, latency_ns(s.latency(), f.q) / 1e6);
    out += "\n";
    out += "calls by method";
    for (const auto& [name, count] : calls_by_method(in))
        appendf(out, " %s: %llu", name.c_str(), static_cast<unsigned long long>(count));
    out += "\n";
    text_by_method(out, in);
    return out;
}

std::string latency_csv(const LatencyHistogram& h) {
    std::string out = "percentile,latency_us\n";
    if (h.count() == 0) return out;
    double tail = 1.0;  // distance to 100% at the start of this halving
    double smallest = 1.0 / static_cast<double>(h.count());
    while (tail >= smallest && tail > 1e-9) {
        for (int tick = 0; tick < 5; tick++) {
            double q = 1.0 - tail + tail / 2.0 * tick / 5.0;
            appendf(out, "%.6f,%.3f\n", q * 100.0, static_cast<double>(h.percentile(q)) / 1e3);
        }
        tail /= 2.0;
    }
    appendf(out, "100.000000,%.3f\n", static_cast<double>(h.max()) / 1e3);
    return out;
}

std::string json_report(const ReportInput& in) {
    const Options& o = *in.options;
    const RunStats& s = *in.stats;
    std::string out = "{\"tool\":\"enginemux-load\",\"target\":";
    append_json_string(out, o.target);
    appendf(out,
            ",\"mode\":\"%s\",\"rate_rps\":%.3f,\"connections\":%u,\"threads\":%u,\"batch\":%u",
            o.open_loop() ? "open" : "closed", o.rate_rps, o.connections, o.threads, o.batch);
    appendf(out, ",\"timeout_ms\":%u,\"duration_s\":%.3f,\"warmup_s\":%.3f,\"window_s\":%.6f",
            o.timeout_ms, static_cast<double>(o.duration_ms) / 1000.0,
            static_cast<double>(o.warmup_ms) / 1000.0, in.window_s);
    appendf(out, ",\"requests\":%llu,\"calls\":%llu,\"ok\":%llu",
            static_cast<unsigned long long>(s.requests()),
            static_cast<unsigned long long>(s.calls()),
            static_cast<unsigned long long>(s.outcome(Outcome::ok)));
    appendf(out, ",\"errors\":{\"total\":%llu", static_cast<unsigned long long>(s.errors()));
    for (Outcome e : error_outcomes)
        appendf(out, ",\"%s\":%llu", outcome_name(e),
                static_cast<unsigned long long>(s.outcome(e)));
    out += "},\"jsonrpc_error_codes\":{";
    for (size_t i = 0; i < s.code_count(); i++)
        appendf(out, "%s\"%d\":%llu", i ? "," : "", s.code(i).code,
                static_cast<unsigned long long>(s.code(i).count));
    if (s.codes_other())
        appendf(out, "%s\"other\":%llu", s.code_count() ? "," : "",
                static_cast<unsigned long long>(s.codes_other()));
    out += "},\"http_status_codes\":{";
    bool first = true;
    for (size_t st = 0; st < RunStats::http_status_slots; st++) {
        if (!s.http_status(st)) continue;
        appendf(out, "%s\"%zu\":%llu", first ? "" : ",", st,
                static_cast<unsigned long long>(s.http_status(st)));
        first = false;
    }
    appendf(out, "},\"late\":%llu,\"throughput_rps\":%.3f",
            static_cast<unsigned long long>(s.late()), throughput_rps(in));
    appendf(out, ",\"latency_us\":{\"count\":%llu",
            static_cast<unsigned long long>(s.latency().count()));
    for (const Latency& f : latency_fields)
        appendf(out, ",\"%s\":%.3f", f.name, latency_ns(s.latency(), f.q) / 1e3);
    out += "},\"calls_by_method\":{";
    first = true;
    for (const auto& [name, count] : calls_by_method(in)) {
        if (!first) out += ",";
        first = false;
        append_json_string(out, name);
        appendf(out, ":%llu", static_cast<unsigned long long>(count));
    }
    out += "}";
    json_by_method(out, in);
    out += "}\n";
    return out;
}

}  // namespace em::load
