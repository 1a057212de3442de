#include "upstream/prober.h"

#include <simdjson.h>

#include <cstdio>
#include <cstring>

#include "base/assert.h"
#include "base/clock.h"
#include "base/hex.h"
#include "base/log.h"
#include "http/writer.h"

namespace em::upstream {

namespace {

constexpr uint64_t tick_ns = 100'000'000;  // how often due probes are looked for
constexpr std::string_view syncing_request =
    R"({"jsonrpc":"2.0","id":1,"method":"eth_syncing","params":[]})";
constexpr std::string_view head_request =
    R"({"jsonrpc":"2.0","id":2,"method":"eth_getBlockByNumber","params":["latest",false]})";
constexpr std::string_view finalized_request =
    R"({"jsonrpc":"2.0","id":3,"method":"eth_getBlockByNumber","params":["finalized",false]})";
constexpr std::string_view client_request =
    R"({"jsonrpc":"2.0","id":5,"method":"web3_clientVersion","params":[]})";

/// A head field's QUANTITY (the one codec, base/hex.h), or -1 when it is not one.
int64_t head_quantity(std::string_view text) {
    auto v = parse_quantity(text);
    return v && *v <= static_cast<uint64_t>(INT64_MAX) ? static_cast<int64_t>(*v) : -1;
}

}  // namespace

/// One node's probe: a connection of its own and the two-step check.
class Prober::Probe final : public http::ClientCallback {
  public:
    Probe(Prober& prober, const NodeInfo& info)
        : prober_(prober),
          info_(&info),
          conn_(prober.loop_, info.options.endpoint, http::Limits{.body_bytes_max = 4u << 20},
                prober.config_.timeout_ms),
          signer_(info.options.secret) {
        health_.present = true;
        health_.role = info.role;
        std::snprintf(health_.name, sizeof health_.name, "%s", info.name.c_str());
        std::snprintf(health_.reason, sizeof health_.reason, "not probed yet");
    }

    const NodeInfo* info() const { return info_; }
    bool busy() const { return stage_ != 0; }
    uint64_t due_ns = 0;
    NodeHealth health_;

    void start(uint64_t now_ns) {
        EM_ASSERT(!retiring_);
        stage_ = 1;
        started_ns_ = now_ns;
        send(syncing_request);
    }

    /// The node left its slot: publish nothing more; close the connection once no probe is in
    /// flight (a probe in flight ends by its answer or its timeout).
    void retire() {
        retiring_ = true;
        if (!busy()) conn_.close();
    }
    /// Retired and the connection quiescent: the Prober may free this Probe.
    bool retired() const { return retiring_ && !busy() && conn_.quiescent(); }

    void on_response(http::ClientConn&, const http::Response* response,
                     const Error* error) override {
        uint64_t now = prober_.loop_.now_ns();
        if (retiring_) {
            stage_ = 0;
            conn_.close();
            return;
        }
        if (stage_ == 3) {
            on_finalized(error ? nullptr : response);
            return;
        }
        if (stage_ == 4) {
            on_client(error ? nullptr : response);
            return;
        }
        if (error) {
            done(NodeState::dead, error->message());
            return;
        }
        if (response->status == 401 || response->status == 403) {
            char why[96];
            std::snprintf(why, sizeof why,
                          "HTTP %d: the node rejected our JWT (check its jwt-secret)",
                          response->status);
            done(NodeState::dead, why);
            return;
        }
        if (response->status != 200) {
            char why[64];
            std::snprintf(why, sizeof why, "HTTP %d from the node", response->status);
            done(NodeState::dead, why);
            return;
        }
        // Response bodies lie in the connection's padded receive buffer: parse in place.
        simdjson::padded_string_view json(response->body.data(), response->body.size(),
                                          response->body.size() + ByteBuffer::padding_bytes);
        simdjson::ondemand::document doc;
        if (prober_parser().iterate(json).get(doc) != simdjson::SUCCESS) {
            done(NodeState::dead, "malformed JSON answer to a health check");
            return;
        }
        if (stage_ == 1) {
            on_syncing(doc, now);
        } else {
            on_head(doc);
        }
    }

  private:
    /// Stage 1: eth_syncing's answer, and the round trip; asks for the head block next.
    void on_syncing(simdjson::ondemand::document& doc, uint64_t now) {
        uint32_t rtt_us = static_cast<uint32_t>((now - started_ns_) / 1000);
        health_.last_latency_us = rtt_us;
        health_.latency_ewma_us =
            health_.latency_ewma_us == 0
                ? rtt_us
                : static_cast<uint32_t>(0.7 * health_.latency_ewma_us + 0.3 * rtt_us);
        simdjson::ondemand::value result;
        if (doc["result"].get(result) != simdjson::SUCCESS) {
            done(NodeState::dead, "eth_syncing answered without a result");
            return;
        }
        bool syncing_flag = true;
        if (result.type() == simdjson::ondemand::json_type::boolean) {
            bool b = true;
            if (result.get_bool().get(b) == simdjson::SUCCESS) syncing_flag = b;
        }
        syncing_ = syncing_flag;
        stage_ = 2;
        send(head_request);
    }

    /// The "result" member of a 200 answer as a string or object, parsed into `doc`; false when
    /// there is none.
    bool result_of(const http::Response* response, simdjson::ondemand::document& doc) {
        if (!response || response->status != 200) return false;
        simdjson::padded_string_view json(response->body.data(), response->body.size(),
                                          response->body.size() + ByteBuffer::padding_bytes);
        return prober_parser().iterate(json).get(doc) == simdjson::SUCCESS;
    }

    /// Stage 3 (probe_finalized): the finalized block's number; then the next stage. Any
    /// failure here leaves the finalized block unknown and the verdict as it was.
    void on_finalized(const http::Response* response) {
        int64_t number = -1;
        simdjson::ondemand::document doc;
        simdjson::ondemand::object block;
        std::string_view n;
        if (result_of(response, doc) &&
            doc["result"].get_object().get(block) == simdjson::SUCCESS &&
            block["number"].get_string().get(n) == simdjson::SUCCESS)
            number = head_quantity(n);
        health_.finalized_number = number;
        next_stage();
    }

    /// Stage 4 (probe_client, once per node): web3_clientVersion's implementation name, the
    /// text before the first '/' lowercased ("Geth/v1.14.0-stable/..." is "geth"). A failure
    /// leaves it unknown (asked again next round) and the verdict as it was.
    void on_client(const http::Response* response) {
        simdjson::ondemand::document doc;
        std::string_view version;
        if (result_of(response, doc) &&
            doc["result"].get_string().get(version) == simdjson::SUCCESS)
            set_client(health_, version);
        next_stage();
    }

    /// The head's verdict: published now, or after the stages still due this round.
    void verdict(NodeState state, std::string_view reason) {
        verdict_ = state;
        size_t n =
            reason.size() < sizeof verdict_reason_ - 1 ? reason.size() : sizeof verdict_reason_ - 1;
        std::memcpy(verdict_reason_, reason.data(), n);
        verdict_reason_[n] = 0;
        next_stage();
    }

    /// After stage 2: the finalized block (probe_finalized), then the client's name while it is
    /// unknown (probe_client), then the verdict is published.
    void next_stage() {
        if (stage_ < 3 && prober_.config_.probe_finalized) {
            stage_ = 3;
            send(finalized_request);
        } else if (stage_ < 4 && prober_.config_.probe_client && health_.client[0] == 0) {
            stage_ = 4;
            send(client_request);
        } else {
            done(verdict_, verdict_reason_);
        }
    }

    /// Stage 2: the head block, its age against block_age_max_s; publishes the verdict.
    void on_head(simdjson::ondemand::document& doc) {
        simdjson::ondemand::object block;
        int64_t number = -1, timestamp = -1;
        if (doc["result"].get_object().get(block) == simdjson::SUCCESS) {
            std::string_view n, t;
            if (block["number"].get_string().get(n) == simdjson::SUCCESS) number = head_quantity(n);
            if (block["timestamp"].get_string().get(t) == simdjson::SUCCESS) {
                timestamp = head_quantity(t);
            }
        }
        health_.head_number = number;
        health_.head_age_s = timestamp >= 0 ? wall_s() - timestamp : -1;
        if (syncing_) {
            verdict(NodeState::syncing, "eth_syncing reports the node is syncing");
            return;
        }
        uint32_t age_max = prober_.config_.block_age_max_s;
        if (age_max && health_.head_age_s > static_cast<int64_t>(age_max)) {
            char why[96];
            std::snprintf(why, sizeof why, "head block %lld is %lld s old (limit %u s)",
                          static_cast<long long>(number),
                          static_cast<long long>(health_.head_age_s), age_max);
            verdict(NodeState::syncing, why);
            return;
        }
        verdict(NodeState::synced, "");
    }

    simdjson::ondemand::parser& prober_parser() {
        static thread_local simdjson::ondemand::parser parser;
        return parser;
    }

    void send(std::string_view body) {
        ByteBuffer& out = conn_.request();
        out.clear();
        const http::Endpoint& ep = info_->options.endpoint;
        size_t mark = http::begin_request(out, "POST", ep.host_header, ep.target,
                                          signer_.bearer_token(wall_s()), "application/json");
        out.append(body);
        http::end_request(out, mark);
        conn_.start(this,
                    prober_.loop_.now_ns() + uint64_t{prober_.config_.timeout_ms} * 1'000'000ull);
    }

    void done(NodeState state, std::string_view reason) {
        stage_ = 0;
        uint64_t now = prober_.loop_.now_ns();
        NodeState before = health_.state;
        if (state != before) health_.changed_ns = now;
        if (state == NodeState::synced && before != NodeState::synced)
            health_.synced_since_ns = now;
        if (state != NodeState::synced) health_.synced_since_ns = 0;
        if (state == NodeState::synced) health_.ok_ns = now;
        if (state == NodeState::dead) health_.failures++;
        health_.state = state;
        health_.probes++;
        size_t n =
            reason.size() < sizeof health_.reason - 1 ? reason.size() : sizeof health_.reason - 1;
        std::memcpy(health_.reason, reason.data(), n);
        health_.reason[n] = 0;
        if (state != before) {
            if (state == NodeState::synced)
                EM_LOG_FIELDS(LogLevel::info,
                              (log_field("node", info_->name), log_field("state", "synced"),
                               log_field("latency_us", health_.latency_ewma_us),
                               log_field("head", health_.head_number)),
                              "node %s is synced (latency %u us, head %lld)", info_->name.c_str(),
                              health_.latency_ewma_us, static_cast<long long>(health_.head_number));
            else
                EM_LOG_FIELDS(
                    LogLevel::warn,
                    (log_field("node", info_->name), log_field("state", node_state_name(state)),
                     log_field("reason", std::string_view(health_.reason))),
                    "node %s is %s: %s", info_->name.c_str(), node_state_name(state),
                    health_.reason);
        }
        if (prober_.config_.log_timings)
            EM_LOG_FIELDS(
                LogLevel::info,
                (log_field("node", info_->name), log_field("state", node_state_name(state)),
                 log_field("probe_us", health_.last_latency_us),
                 log_field("latency_us", health_.latency_ewma_us)),
                "node %s: %s, probe %u us (ewma %u us)", info_->name.c_str(),
                node_state_name(state), health_.last_latency_us, health_.latency_ewma_us);
        prober_.completed(*this);
    }

    Prober& prober_;
    const NodeInfo* info_;
    http::ClientConn conn_;
    http::JwtSigner signer_;
    int stage_ = 0;
    bool retiring_ = false;
    bool syncing_ = false;
    NodeState verdict_ = NodeState::unknown;  ///< stage 3: the head's verdict, published after it
    char verdict_reason_[96] = {};
    uint64_t started_ns_ = 0;
};

Prober::Prober(io::Loop& loop, Registry& registry, HealthBoard& board, const ProberConfig& config)
    : loop_(loop), registry_(registry), board_(board), config_(config) {
    tick_.fn = on_tick;
    tick_.owner = this;
}

Prober::~Prober() {
    loop_.timer_cancel(&tick_);
}

void Prober::start() {
    sync_nodes();
    tick();
}

void Prober::recheck() {
    for (auto& p : probes_)
        if (p) p->due_ns = 0;
    tick();
}

void Prober::on_tick(io::Timer* t) {
    static_cast<Prober*>(t->owner)->tick();
}

void Prober::sync_nodes() {
    bool changed = false;
    for (size_t i = 0; i < nodes_max; i++) {
        const NodeInfo* info = registry_.get(i);
        Probe* p = probes_[i].get();
        if (!p && !info) continue;  // an empty slot stays empty: nothing changed
        if (p && p->info() == info) continue;
        if (p) {
            p->retire();
            retiring_.push_back(std::move(probes_[i]));
        }
        if (info) {
            probes_[i] = std::make_unique<Probe>(*this, *info);
            board_.publish(i, probes_[i]->health_);
        } else {
            board_.publish(i, NodeHealth{});
        }
        changed = true;
    }
    if (changed) recompute_primary("node list changed");
}

void Prober::reap_retired() {
    // Called from tick(), never from inside a Probe's callback: a quiescent Probe may go.
    for (size_t k = 0; k < retiring_.size();) {
        if (!retiring_[k]->retired()) {
            k++;
            continue;
        }
        retiring_[k] = std::move(retiring_.back());
        retiring_.pop_back();
    }
}

void Prober::tick() {
    reap_retired();
    sync_nodes();
    uint64_t now = loop_.now_ns();
    for (size_t i = 0; i < nodes_max; i++) {
        Probe* p = probes_[i].get();
        if (!p || p->busy()) continue;
        if (board_.take_failure_reports(i) > 0) {
            // A shard saw this node fail: the board says dead already; confirm (or clear) now.
            NodeHealth seen = board_.read(i);
            if (p->health_.state != seen.state && seen.state == NodeState::dead) {
                // Logged here, on the change: the next probe sees "dead" already and, if it
                // confirms it, says nothing.
                EM_LOG_FIELDS(
                    LogLevel::warn,
                    (log_field("node", p->info()->name), log_field("state", "dead"),
                     log_field("reason", seen.reason_text()), log_field("source", "data path")),
                    "node %s is dead: %s (seen on the data path; probing it now)",
                    p->info()->name.c_str(), seen.reason);
            }
            p->health_.state = seen.state;
            p->health_.synced_since_ns = 0;
            std::memcpy(p->health_.reason, seen.reason, sizeof seen.reason);
            p->health_.failures = seen.failures;
            recompute_primary("a shard reported a failure");
            p->due_ns = 0;
        }
        if (now >= p->due_ns) {
            p->due_ns = now + uint64_t{config_.interval_ms} * 1'000'000ull;
            p->start(now);
        }
    }
    loop_.timer_start(&tick_, now + tick_ns);
}

void Prober::completed(Probe& probe) {
    size_t i = probe.info()->index;
    rounds_++;
    // A shard reported this node failing while the probe was out (tick() takes reports only
    // between probes). The probe's good answer may predate the failure, so it must not
    // overwrite the board's "dead": the next tick takes the report and probes again at once,
    // and only an answer to a probe sent after the failure restores the node.
    if (probe.health_.state != NodeState::dead && board_.failure_reports_pending(i)) return;
    board_.publish(i, probe.health_);
    recompute_primary("health check");
}

void Prober::recompute_primary(const char* why) {
    NodeHealth health[nodes_max];
    for (size_t i = 0; i < nodes_max; i++) health[i] = board_.read(i);
    int previous = board_.primary();
    int next = choose_primary(health, nodes_max, previous, loop_.now_ns(),
                              uint64_t{config_.failback_hold_ms} * 1'000'000ull);
    if (next == previous) return;
    board_.set_primary(next);
    const char* name = next >= 0 ? health[next].name : "none";
    const char* before = previous >= 0 ? health[previous].name : "none";
    if (previous < 0)
        EM_LOG_FIELDS(LogLevel::info, (log_field("node", name), log_field("reason", why)),
                      "primary is %s (%s)", name, why);
    else
        EM_LOG_FIELDS(
            LogLevel::warn,
            (log_field("node", name), log_field("previous", before), log_field("reason", why)),
            "primary is now %s (was %s; %s)", name, before, why);
}

}  // namespace em::upstream
