#include "admin/builder_metrics.h"

#include <cstdarg>
#include <cstdio>
#include <string>

#include "admin/exposition.h"
#include "jsonrpc/writer.h"

namespace em::admin {

namespace {

using Shards = std::span<pipeline::ShardMetrics* const>;
constexpr size_t reasons = static_cast<size_t>(engine::Fallback::count);

template <typename Get>
unsigned long long total(Shards shards, Get get) {
    uint64_t n = 0;
    for (pipeline::ShardMetrics* s : shards) n += get(*s).load(std::memory_order_relaxed);
    return static_cast<unsigned long long>(n);
}

/// Calls and errors to node i over every method.
void node_calls(Shards shards, size_t i, unsigned long long& calls, unsigned long long& errors) {
    calls = errors = 0;
    for (pipeline::ShardMetrics* s : shards) {
        for (const pipeline::UpstreamMetrics& m : s->upstream[i]) {
            calls += m.calls.load(std::memory_order_relaxed);
            errors += m.errors.load(std::memory_order_relaxed);
        }
    }
}

void render_fallbacks(ByteBuffer& out, Shards shards) {
    out.append(
        "# HELP enginemux_builder_fallbacks_total getPayload answers that used the local block "
        "although builders were asked (or noTxPool said so), by reason.\n"
        "# TYPE enginemux_builder_fallbacks_total counter\n");
    for (size_t r = 1; r < reasons; r++) {
        LabelSet labels;
        labels.add("reason", engine::fallback_name(static_cast<engine::Fallback>(r)));
        appendf(out, "enginemux_builder_fallbacks_total{%.*s} %llu\n",
                static_cast<int>(labels.text().size()), labels.text().data(),
                total(shards, [r](pipeline::ShardMetrics& s) -> pipeline::Counter& {
                    return s.builder.fallbacks[r];
                }));
    }
}

void render_per_node(ByteBuffer& out, const BuilderContext& builder, Shards shards,
                     const upstream::Registry& registry) {
    out.append(
        "# HELP enginemux_builder_blocks_total getPayload answers by the block's source (local: "
        "the local EL's).\n# TYPE enginemux_builder_blocks_total counter\n"
        "# HELP enginemux_builder_requests_total Engine calls sent to each builder.\n"
        "# TYPE enginemux_builder_requests_total counter\n"
        "# HELP enginemux_builder_errors_total Engine calls to each builder that failed.\n"
        "# TYPE enginemux_builder_errors_total counter\n"
        "# HELP enginemux_builder_rejected_total Builder blocks not used, by builder and reason.\n"
        "# TYPE enginemux_builder_rejected_total counter\n");
    for (size_t i = 0; i < upstream::nodes_max; i++) {
        const upstream::NodeInfo* info = registry.get(i);
        if (!info) continue;
        bool local = i == builder.local;
        LabelSet source;
        source.add("source", local ? std::string_view("local") : std::string_view(info->name));
        appendf(out, "enginemux_builder_blocks_total{%.*s} %llu\n",
                static_cast<int>(source.text().size()), source.text().data(),
                total(shards, [i](pipeline::ShardMetrics& s) -> pipeline::Counter& {
                    return s.builder.blocks[i];
                }));
        if (local) continue;
        LabelSet name;
        name.add("builder", info->name);
        int n = static_cast<int>(name.text().size());
        unsigned long long calls = 0, errors = 0;
        node_calls(shards, i, calls, errors);
        appendf(out, "enginemux_builder_requests_total{%.*s} %llu\n", n, name.text().data(), calls);
        appendf(out, "enginemux_builder_errors_total{%.*s} %llu\n", n, name.text().data(), errors);
        for (size_t r = 1; r < reasons; r++) {
            unsigned long long k =
                total(shards, [i, r](pipeline::ShardMetrics& s) -> pipeline::Counter& {
                    return s.builder.rejected[i][r];
                });
            if (k == 0) continue;
            LabelSet labels;
            labels.add("builder", info->name)
                .add("reason", engine::fallback_name(static_cast<engine::Fallback>(r)));
            appendf(out, "enginemux_builder_rejected_total{%.*s} %llu\n",
                    static_cast<int>(labels.text().size()), labels.text().data(), k);
        }
    }
}

/// enginemux_builder_breaker_state{builder} (0 closed, 1 open, 2 half-open) and
/// enginemux_builder_breaker_opens_total{builder}.
void render_breakers(ByteBuffer& out, const BuilderContext& builder,
                     const upstream::Registry& registry) {
    out.append(
        "# HELP enginemux_builder_breaker_state Each builder's circuit breaker: 0 closed, 1 open "
        "(benched: no attributes), 2 half-open (its probe fork is out).\n"
        "# TYPE enginemux_builder_breaker_state gauge\n"
        "# HELP enginemux_builder_breaker_opens_total Times each builder was benched.\n"
        "# TYPE enginemux_builder_breaker_opens_total counter\n");
    const pipeline::rpc::BreakerBoard& breakers = builder.shared->breakers();
    for (size_t i = 0; i < upstream::nodes_max; i++) {
        const upstream::NodeInfo* info = registry.get(i);
        if (!info || i == builder.local) continue;
        LabelSet name;
        name.add("builder", info->name);
        int n = static_cast<int>(name.text().size());
        appendf(out, "enginemux_builder_breaker_state{%.*s} %d\n", n, name.text().data(),
                static_cast<int>(breakers.state(i)));
        appendf(out, "enginemux_builder_breaker_opens_total{%.*s} %llu\n", n, name.text().data(),
                static_cast<unsigned long long>(breakers.opens(i)));
    }
}

}  // namespace

void render_builder_metrics(ByteBuffer& out, const BuilderContext& builder, Shards shards,
                            const upstream::Registry& registry) {
    render_fallbacks(out, shards);
    render_per_node(out, builder, shards, registry);
    render_breakers(out, builder, registry);
    struct Scalar {
        const char* name;
        const char* help;
        pipeline::Counter pipeline::BuilderMetrics::*field;
    };
    const Scalar scalars[] = {
        {"enginemux_builder_forks_total",
         "forkchoiceUpdated calls with attributes sent to the builders.",
         &pipeline::BuilderMetrics::forks},
        {"enginemux_builder_ids_attached_total",
         "Builder payloadIds mapped after the local EL had answered.",
         &pipeline::BuilderMetrics::ids_attached},
        {"enginemux_builder_validations_total", "Builder blocks sent to the local EL's newPayload.",
         &pipeline::BuilderMetrics::validations},
        {"enginemux_builder_dry_run_picks_total",
         "dry-run: getPayload answers where a builder block would have been used.",
         &pipeline::BuilderMetrics::dry_run_picks},
    };
    for (const Scalar& sc : scalars) {
        appendf(out, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", sc.name, sc.help, sc.name,
                sc.name, total(shards, [&sc](pipeline::ShardMetrics& s) -> pipeline::Counter& {
                    return s.builder.*sc.field;
                }));
    }
}

void render_builder_status(ByteBuffer& out, const BuilderContext& builder, Shards shards,
                           const upstream::Registry& registry, const upstream::HealthBoard& board) {
    const upstream::NodeInfo* local = registry.get(builder.local);
    out.append(",\"builder\":{\"local\":");
    if (local)
        jsonrpc::write_json_string(out, local->name);
    else
        out.append("null");
    appendf(out,
            ",\"execution_mode\":\"%s\",\"block_selection\":\"%s\",\"get_payload_deadline_ms\":%u,"
            "\"local_blocks\":%llu,\"fallbacks\":{",
            std::string(engine::execution_mode_name(builder.shared->mode())).c_str(),
            builder.block_selection.c_str(), builder.get_payload_deadline_ms,
            total(shards, [&builder](pipeline::ShardMetrics& s) -> pipeline::Counter& {
                return s.builder.blocks[builder.local];
            }));
    for (size_t r = 1; r < reasons; r++) {
        std::string_view reason = engine::fallback_name(static_cast<engine::Fallback>(r));
        appendf(out, "%s\"%.*s\":%llu", r > 1 ? "," : "", static_cast<int>(reason.size()),
                reason.data(), total(shards, [r](pipeline::ShardMetrics& s) -> pipeline::Counter& {
                    return s.builder.fallbacks[r];
                }));
    }
    out.append("},\"builders\":[");
    bool first = true;
    for (size_t i = 0; i < upstream::nodes_max; i++) {
        const upstream::NodeInfo* info = registry.get(i);
        if (!info || i == builder.local) continue;
        out.append(first ? "{\"name\":" : ",{\"name\":");
        first = false;
        jsonrpc::write_json_string(out, info->name);
        out.append(",\"url\":");
        jsonrpc::write_json_string(out, info->url);
        unsigned long long calls = 0, errors = 0, rejected = 0;
        node_calls(shards, i, calls, errors);
        for (size_t r = 1; r < reasons; r++)
            rejected += total(shards, [i, r](pipeline::ShardMetrics& s) -> pipeline::Counter& {
                return s.builder.rejected[i][r];
            });
        std::string_view breaker =
            pipeline::rpc::breaker_state_name(builder.shared->breakers().state(i));
        appendf(
            out,
            ",\"state\":\"%s\",\"calls\":%llu,\"errors\":%llu,\"blocks\":%llu,\"rejected\":%llu,"
            "\"breaker\":\"%.*s\",\"breaker_opens\":%llu}",
            upstream::node_state_name(board.read(i).state), calls, errors,
            total(shards,
                  [i](pipeline::ShardMetrics& s) -> pipeline::Counter& {
                      return s.builder.blocks[i];
                  }),
            rejected, static_cast<int>(breaker.size()), breaker.data(),
            static_cast<unsigned long long>(builder.shared->breakers().opens(i)));
    }
    out.append("]}");
}

}  // namespace em::admin
