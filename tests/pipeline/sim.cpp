#include "sim.h"

#include <simdjson.h>

#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <queue>

#include "base/log.h"
#include "commands/payload_example.h"
#include "engine/methods.h"
#include "pipeline/core.h"
#include "pipeline/mux_policy.h"

namespace em::pipeline::sim {

namespace {

constexpr uint64_t MS = 1'000'000;

struct Rng {
    uint64_t s;
    uint64_t next() {
        uint64_t z = (s += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    uint64_t below(uint64_t n) { return n ? next() % n : 0; }
    uint64_t range(uint64_t lo, uint64_t hi) { return lo + below(hi - lo + 1); }
    bool chance(double p) { return static_cast<double>(next() >> 11) * 0x1.0p-53 < p; }
};

// ---------------------------------------------------------------------------------------------
// The corpus

std::string minified(simdjson::dom::element e) {
    return simdjson::minify(e);
}

void add_generated(Corpus& c, uint8_t version, uint64_t seed) {
    commands::ExampleOptions o;
    o.version = version;
    o.txs = 3;
    o.tx_bytes = 40;
    o.withdrawals = 2;
    o.count = 6;
    o.seed = seed;
    ByteBuffer out(1 << 24, 4096);
    if (!commands::write_payload_examples(o, out)) return;
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    if (parser.parse(out.data(), out.size()).get(root)) return;
    for (simdjson::dom::element request : root.get_array()) {
        simdjson::dom::element params;
        if (request["params"].get(params)) continue;
        c.by_version[version].push_back({minified(params), true});
    }
}

/// Flips one hex digit of the payload's blockHash: the payload no longer hashes to it.
std::string tampered(const std::string& params) {
    std::string t = params;
    size_t at = t.find("\"blockHash\":\"0x");
    if (at == std::string::npos) return t;
    at += 15 + 40;
    t[at] = t[at] == '0' ? '1' : '0';
    return t;
}

void add_testdata(Corpus& c, const std::string& dir) {
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    std::string path = dir + "/engine/ethereum-tests-newPayloads.json";
    simdjson::padded_string text;
    if (!simdjson::padded_string::load(path).get(text) && !parser.parse(text).get(root)) {
        simdjson::dom::array payloads;
        if (!root["payloads"].get(payloads)) {
            size_t n = 0;
            for (simdjson::dom::element p : payloads) {
                std::string_view method;
                simdjson::dom::element params;
                if (p["method"].get(method) || p["params"].get(params)) continue;
                if (method.size() < 2 || n++ % 4 != 0) continue;  // a quarter is plenty
                int v = method.back() - '0';
                if (v < 1 || v > 4) continue;
                c.by_version[v].push_back({minified(params), true});
                c.from_testdata++;
            }
        }
    }
    path = dir + "/engine/geth-ethtest/newpayload.json";
    if (!simdjson::padded_string::load(path).get(text) && !parser.parse(text).get(root)) {
        size_t n = 0;
        for (simdjson::dom::element request : root.get_array()) {
            if (n++ == 0 || n % 8 != 0) continue;  // element 0 is genesis
            std::string_view method;
            simdjson::dom::element params;
            if (request["method"].get(method) || request["params"].get(params)) continue;
            int v = method.back() - '0';
            if (v < 2 || v > 3) continue;  // V4 there carries base64 requests (a known quirk)
            c.by_version[v].push_back({minified(params), true});
            c.from_testdata++;
        }
    }
}

}  // namespace

Corpus build_corpus(const std::string& testdata_dir) {
    Corpus c;
    for (uint8_t v = 1; v <= 4; v++) add_generated(c, v, 100 + v);
    if (!testdata_dir.empty()) add_testdata(c, testdata_dir);
    for (uint8_t v = 1; v <= 4; v++) {
        size_t n = c.by_version[v].size();
        for (size_t i = 0; i < n; i += 2) {
            c.by_version[v].push_back({tampered(c.by_version[v][i].params), false});
        }
    }
    return c;
}

namespace {

// ---------------------------------------------------------------------------------------------
// The world

/// What a node does with one call.
enum class Outcome : uint8_t {
    valid,
    invalid,
    syncing,
    accepted,
    invalid_block_hash,
    rpc_error,
    garbage,
    wrong_id,
    http_error,
    reset,
    never,
    late,
};

/// How a node behaves overall (it can change during a schedule).
enum class Nature : uint8_t { honest, liar, syncing, flaky, hung };

struct SimNode {
    bool present = false;
    bool voter = true;
    Nature nature = Nature::honest;
    Health health = Health::unknown;
    uint64_t latency_ms = 5;
    uint32_t generation = 0;
    int64_t last_ordered_id = -1;  ///< the order check: ordered calls arrive in CL order
    uint64_t lane_serial = 0;      ///< the ordered call on the wire (0: the lane is free)
    struct Queued {
        uint64_t tag;
        std::string_view body;
        uint64_t deadline;
        uint64_t serial;
    };
    std::deque<Queued> lane;
    std::map<uint64_t, bool> payload_ids;  ///< the EL's own payloadIds it can build
};

/// One CL request or batch element the checker follows.
struct Element {
    int64_t id = 0;
    const engine::MethodInfo* method = nullptr;  ///< null: not an engine method
    bool wants_answer = true;
    bool tampered = false;
    bool decode_fails = false;  ///< expected -32602 and no send
    bool answered = false;
    bool decided = false;  ///< its vote was checked (batch elements: when it was decided)
    uint64_t sends = 0;
    uint64_t deadline = 0;
    uint32_t voter_answers = 0, voter_invalid = 0, voter_invalid_block_hash = 0;
};

struct Request {
    uint64_t client = 0;
    bool batch = false;
    bool answered = false;
    bool gone = false;  ///< the client went away
    uint64_t sent_at = 0;
    uint64_t deadline = 0;
    std::vector<int64_t> ids;  ///< elements (by JSON id)
};

struct Event {
    uint64_t t;
    uint64_t seq;
    std::function<void()> fn;
    bool operator>(const Event& o) const { return t != o.t ? t > o.t : seq > o.seq; }
};

/// Ignores node 0's vote: the broken rule the checker must catch.
class BrokenPolicy final : public ForwardingPolicy {
  public:
    explicit BrokenPolicy(const MuxPolicy& inner) : ForwardingPolicy(inner) {}
    bool votes(const NodeView& n) const override {
        return ForwardingPolicy::votes(n) && n.name != "n0";
    }
};

class World final : public Shell, public NodeTable {
  public:
    World(const Corpus& corpus, const SimOptions& options);
    SimResult run();

    // Shell
    void send(uint64_t tag, size_t node, std::string_view body, bool ordered,
              uint64_t deadline_ns) override;
    void flush() override {}
    void answer(uint64_t client, int http_status, std::string_view body) override;
    bool client_waiting(uint64_t client) const override { return !requests_[client].gone; }
    void node_failed(size_t node, const Error&) override { nodes_[node].health = Health::dead; }
    uint64_t now_ns() const override { return t_; }
    void element_decided(uint64_t client, std::string_view response) override;
    // NodeTable
    NodeView node(size_t i) const override;
    int primary() const override { return primary_; }

  private:
    void at(uint64_t delay, std::function<void()> fn) {
        queue_.push(Event{t_ + delay, seq_++, std::move(fn)});
    }
    void log(const char* format, ...) __attribute__((format(printf, 2, 3)));
    void violate(const char* format, ...) __attribute__((format(printf, 2, 3)));
    void check_bounds();

    // The CL.
    void next_request(uint32_t left);
    void send_request(const std::string& body, Request request);
    std::string element_text(Element& e, bool* notification);
    std::string new_payload(Element& e);
    std::string forkchoice(Element& e);
    std::string get_payload(Element& e);
    /// `decided`: a batch element as it is decided (the vote rules are checked then);
    /// otherwise part of the answer the client got (each element exactly once).
    void check_answer_object(simdjson::dom::element object, Request& r, bool decided);
    void check_vote_answer(Element& e, std::string_view status);

    // The nodes.
    void add_node(size_t i);
    void remove_node(size_t i);
    void fault();
    void probe();
    void start_call(size_t node, uint64_t tag, std::string_view body, bool ordered,
                    uint64_t deadline, uint32_t generation, uint64_t serial);
    void finish_call(size_t node, uint64_t serial, bool ordered);
    Outcome outcome_for(const SimNode& n, const Element* e);
    std::string reply_body(SimNode& n, Element* e, int64_t id, Outcome o, int* status);
    void deliver(size_t node, uint64_t tag, uint64_t serial, uint32_t generation, uint64_t sent_ns,
                 int status, std::string body, const Error* error);

    const Corpus& corpus_;
    SimOptions options_;
    Rng rng_;
    SimResult result_;
    uint64_t t_ = 0;
    uint64_t seq_ = 0;
    std::priority_queue<Event, std::vector<Event>, std::greater<Event>> queue_;
    std::array<SimNode, nodes_max> nodes_{};
    size_t node_slots_ = 3;
    int primary_ = 0;
    MuxPolicy mux_;
    BrokenPolicy broken_{mux_};
    ShardMetrics metrics_;
    CoreConfig core_config_;
    std::unique_ptr<PipelineCore> core_;
    std::vector<Request> requests_;
    std::map<int64_t, Element> elements_;
    int64_t next_id_ = 1;
    std::vector<uint64_t> minted_;  ///< our payloadIds seen in FCU answers (for getPayload)
    struct OpenCall {
        bool done = false;
        bool voter = false;  ///< the node was a voter (per the schedule) when it got the call
        uint32_t generation = 0;
    };
    std::map<uint64_t, OpenCall> open_calls_;  ///< by serial
    uint64_t serial_ = 0;
    std::deque<std::string> trace_;
    simdjson::dom::parser parser_;
};

const char* const node_names[nodes_max] = {"n0", "n1", "n2",  "n3",  "n4",  "n5",  "n6",  "n7",
                                           "n8", "n9", "n10", "n11", "n12", "n13", "n14", "n15"};

World::World(const Corpus& corpus, const SimOptions& options)
    : corpus_(corpus),
      options_(options),
      rng_{options.seed * 0x9e3779b97f4a7c15ull + 11},
      mux_(MuxPolicyConfig{
          *engine::Quorum::from_fraction(0.5 + 0.1 * static_cast<double>(rng_.below(5))), true,
          0}) {
    node_slots_ = rng_.range(2, 6);
    core_config_.in_flight_max = rng_.chance(0.2) ? static_cast<uint32_t>(rng_.range(1, 6)) : 256;
    core_config_.body_bytes_max = 4u << 20;
    core_config_.batch_entries_max = 16;
    core_config_.payload_ids_max = static_cast<uint32_t>(rng_.range(2, 16));
    for (size_t i = 0; i < 16; i++) core_config_.payload_id_key[i] = static_cast<uint8_t>(i);
    const Policy& policy = options.broken_vote ? static_cast<const Policy&>(broken_)
                                               : static_cast<const Policy&>(mux_);
    core_ = std::make_unique<PipelineCore>(core_config_, policy, *this, *this, metrics_);
    for (size_t i = 0; i < node_slots_; i++) add_node(i);
    if (options.broken_vote) nodes_[0].voter = true;
}

void World::log(const char* format, ...) {
    if (!options_.trace) return;
    char line[300];
    int n = std::snprintf(line, sizeof line, "%9.3f ", static_cast<double>(t_) / 1e9);
    va_list args;
    va_start(args, format);
    std::vsnprintf(line + n, sizeof line - static_cast<size_t>(n), format, args);
    va_end(args);
    trace_.emplace_back(line);
    if (trace_.size() > 300) trace_.pop_front();
}

void World::violate(const char* format, ...) {
    if (!result_.ok) return;
    char line[400];
    int n = std::snprintf(line, sizeof line, "seed %" PRIu64 " t=%.3fs: ", options_.seed,
                          static_cast<double>(t_) / 1e9);
    va_list args;
    va_start(args, format);
    std::vsnprintf(line + n, sizeof line - static_cast<size_t>(n), format, args);
    va_end(args);
    result_.ok = false;
    result_.violation = line;
    log("VIOLATION %s", line);
}

NodeView World::node(size_t i) const {
    const SimNode& n = nodes_[i];
    NodeView v;
    if (!n.present) return v;
    v.present = true;
    v.voter = n.voter;
    v.health = n.health;
    v.latency_ewma_us = n.latency_ms * 1000;
    v.name = node_names[i];
    return v;
}

// ---------------------------------------------------------------------------------------------
// Nodes

void World::add_node(size_t i) {
    SimNode& n = nodes_[i];
    n.present = true;
    n.generation++;
    n.voter = rng_.chance(0.8);
    Nature natures[] = {Nature::honest,  Nature::honest, Nature::honest, Nature::liar,
                        Nature::syncing, Nature::flaky,  Nature::hung};
    n.nature = natures[rng_.below(7)];
    n.health = Health::synced;
    n.latency_ms = rng_.range(1, 40);
    n.payload_ids.clear();
    n.last_ordered_id = -1;
    n.lane_serial = 0;
    n.lane.clear();
    log("node %s added (%s, nature %d, %" PRIu64 " ms)", node_names[i],
        n.voter ? "voter" : "mirror", static_cast<int>(n.nature), n.latency_ms);
}

void World::remove_node(size_t i) {
    SimNode& n = nodes_[i];
    if (!n.present) return;
    log("node %s removed (%zu queued in its lane)", node_names[i], n.lane.size());
    n.present = false;
    n.generation++;
    core_->forget_node(i);
    // Its queued calls fail (never sent), from the next turn; the ones on the wire finish.
    for (const SimNode::Queued& q : n.lane) {
        at(0, [this, i, q] {
            Error e(Errc::closed, "removed before the call was sent");
            deliver(i, q.tag, q.serial, 0, 0, 0, {}, &e);
        });
    }
    n.lane.clear();
    n.lane_serial = 0;
}

void World::fault() {
    size_t i = rng_.below(node_slots_);
    SimNode& n = nodes_[i];
    result_.faults++;
    switch (rng_.below(6)) {
        case 0:
            result_.node_changes++;
            if (n.present) {
                remove_node(i);
                if (rng_.chance(0.7)) {
                    at(rng_.range(0, 3000) * MS, [this, i] {
                        if (!nodes_[i].present) add_node(i);
                    });
                }
            } else {
                add_node(i);
            }
            break;
        case 1:
            n.health = Health::dead;
            log("node %s marked dead", node_names[i]);
            break;
        case 2:
            n.payload_ids.clear();
            log("node %s lost its payloadIds", node_names[i]);
            break;
        case 3: {
            Nature natures[] = {Nature::honest, Nature::liar, Nature::syncing, Nature::flaky,
                                Nature::hung};
            n.nature = natures[rng_.below(5)];
            log("node %s becomes nature %d", node_names[i], static_cast<int>(n.nature));
            break;
        }
        case 4:
            primary_ = static_cast<int>(rng_.below(node_slots_));
            break;
        default:
            n.latency_ms = rng_.range(1, 3000);
            break;
    }
}

void World::probe() {
    for (size_t i = 0; i < node_slots_; i++) {
        SimNode& n = nodes_[i];
        if (!n.present) continue;
        n.health = n.nature == Nature::hung      ? Health::dead
                   : n.nature == Nature::syncing ? Health::syncing
                                                 : Health::synced;
    }
}

Outcome World::outcome_for(const SimNode& n, const Element* e) {
    bool newpayload = e && e->method && e->method->kind == engine::MethodKind::new_payload;
    switch (n.nature) {
        case Nature::hung:
            return rng_.chance(0.5) ? Outcome::never : Outcome::late;
        case Nature::syncing:
            return newpayload && rng_.chance(0.3) ? Outcome::accepted : Outcome::syncing;
        case Nature::liar:
            return Outcome::valid;
        case Nature::flaky: {
            Outcome all[] = {Outcome::rpc_error,  Outcome::garbage,  Outcome::wrong_id,
                             Outcome::http_error, Outcome::reset,    Outcome::never,
                             Outcome::late,       Outcome::valid,    Outcome::invalid,
                             Outcome::syncing,    Outcome::accepted, Outcome::invalid_block_hash};
            return all[rng_.below(12)];
        }
        case Nature::honest:
            break;
    }
    if (e && e->tampered) {
        return e->method->version == 1 && rng_.chance(0.5) ? Outcome::invalid_block_hash
                                                           : Outcome::invalid;
    }
    if (rng_.chance(0.03)) return Outcome::syncing;
    return Outcome::valid;
}

std::string World::reply_body(SimNode& n, Element* e, int64_t id, Outcome o, int* status) {
    char head[64];
    std::snprintf(head, sizeof head, "{\"jsonrpc\":\"2.0\",\"id\":%" PRId64 ",", id);
    std::string out = head;
    *status = 200;
    switch (o) {
        case Outcome::rpc_error:
            return out + R"("error":{"code":-38005,"message":"Unsupported fork"}})";
        case Outcome::garbage:
            return "this is not json";
        case Outcome::wrong_id:
            return R"({"jsonrpc":"2.0","id":"someone else","result":null})";
        case Outcome::http_error:
            *status = 500;
            return "internal error";
        default:
            break;
    }
    const engine::MethodInfo* m = e ? e->method : nullptr;
    if (!m || m->kind == engine::MethodKind::other) return out + R"("result":"0x10"})";
    const char* statuses[] = {"VALID", "INVALID", "SYNCING", "ACCEPTED", "INVALID_BLOCK_HASH"};
    const char* st = o == Outcome::invalid              ? statuses[1]
                     : o == Outcome::syncing            ? statuses[2]
                     : o == Outcome::accepted           ? statuses[3]
                     : o == Outcome::invalid_block_hash ? statuses[4]
                                                        : statuses[0];
    std::string payload_status =
        std::string("{\"status\":\"") + st + "\",\"latestValidHash\":" +
        (std::string(st) == "VALID" ? "\"0x2222222222222222222222222222222222222222222222222222"
                                      "222222222222\""
                                    : "null") +
        ",\"validationError\":null}";
    switch (m->kind) {
        case engine::MethodKind::new_payload:
            return out + "\"result\":" + payload_status + "}";
        case engine::MethodKind::forkchoice_updated: {
            std::string pid = "null";
            if (std::string(st) == "VALID" && rng_.chance(0.7)) {
                uint64_t el_id = rng_.next();
                n.payload_ids[el_id] = true;
                char hex[24];
                std::snprintf(hex, sizeof hex, "\"0x%016" PRIx64 "\"", el_id);
                pid = hex;
            }
            return out + "\"result\":{\"payloadStatus\":" + payload_status +
                   ",\"payloadId\":" + pid + "}}";
        }
        case engine::MethodKind::get_payload: {
            if (rng_.chance(0.2) || n.payload_ids.empty()) {
                return out + R"("error":{"code":-38001,"message":"Unknown payload"}})";
            }
            char value[40];
            std::snprintf(value, sizeof value, "\"0x%" PRIx64 "\"", rng_.range(1, 1'000'000));
            if (m->version == 1) return out + R"("result":{"blockNumber":"0x1"}})";
            return out +
                   "\"result\":{\"executionPayload\":{\"blockNumber\":\"0x1\"},\"blockValue\":" +
                   value + "}}";
        }
        case engine::MethodKind::capabilities:
            return out + R"("result":["engine_newPayloadV4","engine_getPayloadV4"]})";
        case engine::MethodKind::client_version:
            return out +
                   R"("result":[{"code":"GE","name":"Geth","version":"1","commit":"0x12345678"}]})";
        case engine::MethodKind::get_blobs:
            return out + (rng_.chance(0.5) ? R"("result":null})" : R"("result":[]})");
        default:
            return out + R"("result":null})";
    }
}

void World::send(uint64_t tag, size_t node, std::string_view body, bool ordered,
                 uint64_t deadline_ns) {
    result_.sends++;
    SimNode& n = nodes_[node];
    uint64_t serial = ++serial_;
    open_calls_[serial] = OpenCall{false, n.voter, n.generation};
    // The request's id, to find the element it belongs to.
    size_t at_id = body.find("\"id\":");
    int64_t id = at_id == std::string_view::npos ? 0 : std::atoll(body.data() + at_id + 5);
    auto e = elements_.find(id);
    if (e != elements_.end()) e->second.sends++;
    if (!n.present) {
        violate("a call was sent to removed node %s", node_names[node]);
        return;
    }
    uint32_t generation = n.generation;
    // The deadline: the call fails then if nothing else happened (queued or on the wire).
    at(deadline_ns > t_ ? deadline_ns - t_ : 0, [this, node, tag, serial, generation] {
        if (open_calls_[serial].done) return;
        Error e(Errc::timeout, "did not answer in time");
        deliver(node, tag, serial, generation, 0, 0, {}, &e);
    });
    if (ordered && n.lane_serial != 0) {
        n.lane.push_back({tag, body, deadline_ns, serial});
        return;
    }
    start_call(node, tag, body, ordered, deadline_ns, generation, serial);
}

void World::start_call(size_t node, uint64_t tag, std::string_view body, bool ordered,
                       uint64_t deadline, uint32_t generation, uint64_t serial) {
    SimNode& n = nodes_[node];
    size_t at_id = body.find("\"id\":");
    int64_t id = at_id == std::string_view::npos ? 0 : std::atoll(body.data() + at_id + 5);
    if (ordered) {
        n.lane_serial = serial;
        if (id <= n.last_ordered_id) {
            violate("node %s got ordered call %" PRId64 " after %" PRId64, node_names[node], id,
                    n.last_ordered_id);
        }
        n.last_ordered_id = id;
    }
    auto found = elements_.find(id);
    Element* e = found == elements_.end() ? nullptr : &found->second;
    Outcome o = outcome_for(n, e);
    uint64_t sent = t_;
    if (o == Outcome::never) return;  // the deadline event answers for it
    uint64_t delay = n.latency_ms * MS + rng_.below(n.latency_ms * MS + 1);
    if (o == Outcome::late) delay = (deadline > t_ ? deadline - t_ : 0) + rng_.range(1, 500) * MS;
    if (o == Outcome::reset) {
        at(delay, [this, node, tag, serial, generation, sent] {
            Error err(Errc::io, "connection reset by peer");
            deliver(node, tag, serial, generation, sent, 0, {}, &err);
        });
        return;
    }
    int status = 200;
    std::string body_text;
    if (!body.empty() && body.front() == '[') {
        // A whole batch (no engine calls): one result per element that has an id.
        body_text = "[";
        for (size_t at = body.find("\"id\":"); at != std::string_view::npos;
             at = body.find("\"id\":", at + 5)) {
            if (body_text.size() > 1) body_text += ",";
            body_text +=
                "{\"jsonrpc\":\"2.0\",\"id\":" + std::to_string(std::atoll(body.data() + at + 5)) +
                ",\"result\":\"0x10\"}";
        }
        body_text += "]";
        if (body_text == "[]") body_text.clear();
    } else {
        body_text = reply_body(n, e, id, o, &status);
    }
    at(delay, [this, node, tag, serial, generation, sent, status, body_text] {
        deliver(node, tag, serial, generation, sent, status, body_text, nullptr);
    });
    (void)ordered;
}

void World::finish_call(size_t node, uint64_t serial, bool) {
    SimNode& n = nodes_[node];
    if (n.lane_serial != serial) return;  // not the lane's call (or the node was replaced)
    n.lane_serial = 0;
    while (!n.lane.empty()) {
        SimNode::Queued q = n.lane.front();
        n.lane.pop_front();
        if (open_calls_[q.serial].done) continue;  // timed out in the queue
        start_call(node, q.tag, q.body, true, q.deadline, n.generation, q.serial);
        return;
    }
}

void World::deliver(size_t node, uint64_t tag, uint64_t serial, uint32_t generation,
                    uint64_t sent_ns, int status, std::string body, const Error* error) {
    OpenCall& call = open_calls_[serial];
    if (call.done) return;  // already answered (a late answer after the deadline)
    call.done = true;
    result_.replies++;
    if (error && error->code() == Errc::timeout) result_.timeouts++;
    SimNode& n = nodes_[node];
    // The checker's view: voter answers to this element before the answer.
    int64_t id = 0;
    if (!error) {
        size_t at_id = body.find("\"id\":");
        if (at_id != std::string::npos) id = std::atoll(body.c_str() + at_id + 5);
        auto e = elements_.find(id);
        if (e != elements_.end() && call.voter && status == 200 &&
            body.find("\"result\"") != std::string::npos) {
            Element& el = e->second;
            bool np = el.method && el.method->kind == engine::MethodKind::new_payload;
            bool fcu = el.method && el.method->kind == engine::MethodKind::forkchoice_updated;
            // Only statuses the method allows are answers (forkchoiceUpdated knows no ACCEPTED
            // or INVALID_BLOCK_HASH: such an answer is malformed, so no answer).
            bool accepted = body.find("\"ACCEPTED\"") != std::string::npos;
            bool ibh = body.find("\"INVALID_BLOCK_HASH\"") != std::string::npos;
            if (np || (fcu && !accepted && !ibh)) {
                el.voter_answers++;
                if (body.find("\"INVALID\"") != std::string::npos) el.voter_invalid++;
                if (ibh) el.voter_invalid_block_hash++;
            }
        }
    }
    NodeReply reply;
    reply.node = node;
    reply.current = n.present && n.generation == generation;
    reply.sent_ns = sent_ns;
    reply.error = error;
    body.reserve(body.size() + 64);
    reply.http_status = status;
    reply.body = body;
    log("node %s %s call %" PRIu64 ": %.160s", node_names[node], error ? "fails" : "answers",
        serial, error ? error->c_str() : body.c_str());
    core_->on_reply(tag, reply, t_);
    if (n.generation == generation) finish_call(node, serial, true);
    check_bounds();
}

// ---------------------------------------------------------------------------------------------
// The CL

std::string World::new_payload(Element& e) {
    uint8_t v = static_cast<uint8_t>(rng_.range(1, 5));
    std::string params;
    if (v == 5) {
        // No generator or test data for V5 here: a V4 payload is malformed for V5 (-32602,
        // never sent to a node), which is its own rule.
        const auto& list = corpus_.by_version[4];
        params = list[rng_.below(list.size())].params;
        e.decode_fails = true;
    } else {
        const auto& list = corpus_.by_version[v];
        const Corpus::Payload& p = list[rng_.below(list.size())];
        params = p.params;
        e.tampered = !p.hash_ok;
    }
    char name[32];
    std::snprintf(name, sizeof name, "engine_newPayloadV%u", v);
    e.method = engine::find_method(name);
    if (e.tampered) result_.tampered++;
    return std::string("\"method\":\"") + name + "\",\"params\":" + params;
}

std::string World::forkchoice(Element& e) {
    e.method = engine::find_method("engine_forkchoiceUpdatedV3");
    std::string state =
        R"({"headBlockHash":"0x3333333333333333333333333333333333333333333333333333333333333333",)"
        R"("safeBlockHash":"0x3333333333333333333333333333333333333333333333333333333333333333",)"
        R"("finalizedBlockHash":"0x0000000000000000000000000000000000000000000000000000000000000000"})";
    std::string attrs =
        rng_.chance(0.5)
            ? R"({"timestamp":"0x10","prevRandao":"0x0000000000000000000000000000000000000000000000000000000000000000",)"
              R"("suggestedFeeRecipient":"0x0000000000000000000000000000000000000000","withdrawals":[],)"
              R"("parentBeaconBlockRoot":"0x0000000000000000000000000000000000000000000000000000000000000000"})"
            : "null";
    return R"("method":"engine_forkchoiceUpdatedV3","params":[)" + state + "," + attrs + "]";
}

std::string World::get_payload(Element& e) {
    e.method = engine::find_method("engine_getPayloadV4");
    uint64_t id =
        !minted_.empty() && rng_.chance(0.8) ? minted_[rng_.below(minted_.size())] : rng_.next();
    char text[80];
    std::snprintf(text, sizeof text,
                  R"("method":"engine_getPayloadV4","params":["0x%016)" PRIx64 "\"]", id);
    return text;
}

std::string World::element_text(Element& e, bool* notification) {
    *notification = false;
    std::string call;
    switch (rng_.below(10)) {
        case 0:
        case 1:
        case 2:
            call = new_payload(e);
            break;
        case 3:
        case 4:
            call = forkchoice(e);
            break;
        case 5:
            call = get_payload(e);
            break;
        case 6: {
            const char* names[] = {"engine_exchangeCapabilities", "engine_getClientVersionV1",
                                   "engine_getBlobsV1"};
            const char* name = names[rng_.below(3)];
            e.method = engine::find_method(name);
            call = std::string("\"method\":\"") + name + "\",\"params\":[[]]";
            break;
        }
        default:
            call = R"("method":"eth_blockNumber","params":[])";
            *notification = rng_.chance(0.1);
            break;
    }
    e.wants_answer = !*notification;
    if (*notification) return "{\"jsonrpc\":\"2.0\"," + call + "}";
    char head[48];
    std::snprintf(head, sizeof head, "{\"jsonrpc\":\"2.0\",\"id\":%" PRId64 ",", e.id);
    return head + call + "}";
}

void World::next_request(uint32_t left) {
    if (left == 0) return;
    Request r;
    r.sent_at = t_;
    std::string body;
    if (rng_.chance(0.04)) {
        body = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":";  // truncated: -32700
    } else {
        size_t n = rng_.chance(0.15) ? rng_.range(2, 5) : 1;
        r.batch = n > 1;
        if (r.batch) body = "[";
        for (size_t k = 0; k < n; k++) {
            Element e;
            e.id = next_id_++;
            bool notification = false;
            std::string text = element_text(e, &notification);
            if (k) body += ",";
            body += text;
            if (notification) e.id = -e.id;  // no id on the wire
            // Fan-out calls answer within their method's timeout; a forwarded call may try
            // each node in turn, each within its own.
            bool forwarded = !e.method || e.method->strategy == engine::Strategy::primary;
            uint64_t timeout_ms = e.method ? e.method->timeout_ms : 1'000;  // eth_timeout_ms
            e.deadline = t_ + timeout_ms * MS * (forwarded ? nodes_max + 1 : 1);
            r.ids.push_back(e.id);
            elements_[e.id] = e;
        }
        if (r.batch) body += "]";
    }
    r.gone = rng_.chance(0.02);
    send_request(body, r);
    at(rng_.range(0, 400) * MS, [this, left] { next_request(left - 1); });
}

void World::send_request(const std::string& body, Request request) {
    result_.requests++;
    request.client = requests_.size();
    uint64_t deadline = 0;
    for (int64_t id : request.ids) {
        auto e = elements_.find(id);
        if (e != elements_.end() && e->second.deadline > deadline) deadline = e->second.deadline;
    }
    request.deadline = deadline ? deadline : t_ + MS;
    requests_.push_back(request);
    std::string padded = body;
    padded.reserve(body.size() + 64);
    log("CL request %" PRIu64 ": %.300s", request.client, body.c_str());
    core_->on_request(request.client, padded.data(), padded.size(), padded.capacity(), t_, t_);
    check_bounds();
}

void World::answer(uint64_t client, int http_status, std::string_view body) {
    result_.answers++;
    if (client >= requests_.size()) return violate("answer to unknown client %" PRIu64, client);
    Request& r = requests_[client];
    if (r.answered) return violate("request %" PRIu64 " answered twice", client);
    r.answered = true;
    log("answer to %" PRIu64 ": %d %.400s", client, http_status, std::string(body).c_str());
    if (t_ > r.deadline) {
        violate("request %" PRIu64 " answered %.3fs after its deadline", client,
                static_cast<double>(t_ - r.deadline) / 1e9);
    }
    if (body.empty()) {
        for (int64_t id : r.ids) {
            if (id > 0 && elements_[id].wants_answer) {
                return violate("request %" PRIu64 " answered empty (%d)", client, http_status);
            }
        }
        return;
    }
    std::string copy(body);
    simdjson::dom::element root;
    if (parser_.parse(copy).get(root)) {
        return violate("request %" PRIu64 " answered with malformed JSON", client);
    }
    if (root.is_array()) {
        for (simdjson::dom::element o : root.get_array()) check_answer_object(o, r, false);
    } else {
        check_answer_object(root, r, false);
    }
}

void World::element_decided(uint64_t client, std::string_view response) {
    if (response.empty()) return;  // a notification's
    std::string copy(response);
    simdjson::dom::element root;
    if (parser_.parse(copy).get(root)) return violate("a batch element decided as malformed JSON");
    check_answer_object(root, requests_[client], true);
}

void World::check_answer_object(simdjson::dom::element object, Request& r, bool decided) {
    int64_t id = 0;
    if (object["id"].get(id)) {
        // An error with id null: an unreadable request (-32700), or a batch refused whole (the
        // in-flight limit). It answers every element.
        int64_t code = 0;
        if (object["error"]["code"].get(code)) return violate("an answer without id and error");
        if (decided) return;  // a notification's or a malformed element's: not sent back
        for (int64_t element : r.ids) {
            if (element > 0) elements_[element].answered = true;
        }
        return;
    }
    auto found = elements_.find(id);
    if (found == elements_.end()) return violate("an answer for unknown id %" PRId64, id);
    Element& e = found->second;
    if (!decided) {
        if (e.answered) return violate("id %" PRId64 " answered twice", id);
        e.answered = true;
    }
    if (e.decided) return;
    e.decided = true;
    int64_t code = 0;
    if (!object["error"]["code"].get(code)) {
        if (e.decode_fails && code != -32602) {
            violate("malformed payload %" PRId64 " answered %" PRId64, id, code);
        }
        return;
    }
    if (e.decode_fails) violate("a malformed payload %" PRId64 " was not answered -32602", id);
    if (!e.method) return;
    std::string_view status;
    if (e.method->kind == engine::MethodKind::new_payload) {
        if (object["result"]["status"].get(status)) return violate("newPayload without status");
        check_vote_answer(e, status);
    } else if (e.method->kind == engine::MethodKind::forkchoice_updated) {
        if (object["result"]["payloadStatus"]["status"].get(status)) {
            return violate("forkchoiceUpdated without payloadStatus");
        }
        check_vote_answer(e, status);
        std::string_view pid;
        if (status == "VALID" && !object["result"]["payloadId"].get(pid) && pid.size() == 18) {
            minted_.push_back(std::strtoull(std::string(pid.substr(2)).c_str(), nullptr, 16));
        }
    }
}

void World::check_vote_answer(Element& e, std::string_view status) {
    if (status == "VALID") result_.valid++;
    if (status == "SYNCING") result_.syncing++;
    if (status == "VALID") {
        if (e.tampered) {
            violate("VALID for %" PRId64 " whose block hash does not match its payload", e.id);
        }
        if (e.voter_invalid + e.voter_invalid_block_hash > 0) {
            violate("VALID for %" PRId64 " after %u voter(s) answered INVALID", e.id,
                    e.voter_invalid + e.voter_invalid_block_hash);
        }
    } else if (status == "INVALID" || status == "INVALID_BLOCK_HASH") {
        result_.invalid++;
        engine::Quorum q = mux_.quorum();
        uint32_t invalid = e.voter_invalid + e.voter_invalid_block_hash;
        if (!e.tampered && (invalid == 0 || invalid < q.need(e.voter_answers))) {
            violate("%.*s for %" PRId64 " with %u INVALID of %u voter answers (need %u)",
                    static_cast<int>(status.size()), status.data(), e.id, invalid, e.voter_answers,
                    q.need(e.voter_answers));
        }
    }
}

void World::check_bounds() {
    if (core_->busy() > core_config_.in_flight_max) {
        violate("%zu calls in flight over the limit %u", core_->busy(), core_config_.in_flight_max);
    }
    if (core_->largest_pool() > core_config_.in_flight_max)
        violate("a call pool grew past its limit");
    if (core_->payload_ids() && core_->payload_ids()->size() > core_config_.payload_ids_max) {
        violate("the payloadId map holds %zu of %u", core_->payload_ids()->size(),
                core_config_.payload_ids_max);
    }
}

SimResult World::run() {
    at(0, [this] { next_request(options_.requests); });
    std::function<void()> faults = [this, &faults] {
        if (result_.requests >= options_.requests) return;
        fault();
        at(rng_.range(100, 3000) * MS, faults);
    };
    at(rng_.range(0, 1000) * MS, faults);
    std::function<void()> probes = [this, &probes] {
        if (result_.requests >= options_.requests && queue_.size() <= 1) return;
        probe();
        at(1000 * MS, probes);
    };
    at(1000 * MS, probes);
    while (!queue_.empty() && result_.ok) {
        Event e = queue_.top();
        queue_.pop();
        t_ = e.t;
        e.fn();
    }
    if (result_.ok) {
        for (const Request& r : requests_) {
            if (!r.answered) violate("request %" PRIu64 " was never answered", r.client);
        }
        for (auto& [serial, call] : open_calls_) {
            if (!call.done) violate("call %" PRIu64 " to a node never completed", serial);
        }
        for (auto& [id, e] : elements_) {
            if (id > 0 && e.wants_answer && !e.answered) {
                violate("element %" PRId64 " of a request was never answered", id);
            }
            if (e.decode_fails && e.sends > 0) {
                violate("malformed payload %" PRId64 " was sent to a node", id);
            }
        }
        if (core_->busy() != 0) violate("%zu calls still in flight at the end", core_->busy());
    }
    if (options_.trace) {
        for (const std::string& line : trace_) {
            result_.trace += line;
            result_.trace += '\n';
        }
    }
    return result_;
}

}  // namespace

SimResult run_schedule(const Corpus& corpus, const SimOptions& options) {
    World world(corpus, options);
    return world.run();
}

}  // namespace em::pipeline::sim
