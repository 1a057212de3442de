#include "pipeline/rpc_policy.h"

#include <simdjson.h>

#include <cstdio>

#include "base/hex.h"
#include "eth/keccak/keccak.h"
#include "jsonrpc/codes.h"

namespace em::pipeline::rpc {

namespace {

simdjson::dom::parser& json_parser() {
    static thread_local simdjson::dom::parser parser;
    return parser;
}

bool starts_with(std::string_view s, std::string_view prefix) {
    return s.substr(0, prefix.size()) == prefix;
}

/// Position of the block parameter of the methods that take one (-1: none).
int block_position(std::string_view method) {
    struct Position {
        std::string_view method;
        int position;
    };
    static constexpr Position positions[] = {
        {"eth_getBlockByNumber", 0},
        {"eth_getBlockTransactionCountByNumber", 0},
        {"eth_getTransactionByBlockNumberAndIndex", 0},
        {"eth_getUncleCountByBlockNumber", 0},
        {"eth_getUncleByBlockNumberAndIndex", 0},
        {"eth_getBlockReceipts", 0},
        {"eth_getBalance", 1},
        {"eth_getCode", 1},
        {"eth_getTransactionCount", 1},
        {"eth_call", 1},
        {"eth_estimateGas", 1},
        {"eth_createAccessList", 1},
        {"eth_getStorageAt", 2},
        {"eth_getProof", 2},
    };
    for (const Position& p : positions)
        if (p.method == method) return p.position;
    return -1;
}

/// A block parameter: a QUANTITY or {"blockNumber": QUANTITY} needs that block; anything
/// else (tags, hashes, malformed) needs the head.
BlockNeed need_of(simdjson::dom::element block) {
    std::string_view text;
    simdjson::dom::object object;
    if (block.get_object().get(object) == simdjson::SUCCESS) {
        simdjson::dom::element number;
        if (object["blockNumber"].get(number) == simdjson::SUCCESS) return need_of(number);
        return BlockNeed{};
    }
    if (block.get_string().get(text) != simdjson::SUCCESS) return BlockNeed{};
    auto number = parse_quantity(text);
    if (!number || *number > static_cast<uint64_t>(INT64_MAX)) return BlockNeed{};
    return BlockNeed{false, static_cast<int64_t>(*number)};
}

/// A node's tier for reads: synced first, then unknown (not probed yet), then syncing.
int tier_of(Health h) {
    switch (h) {
        case Health::synced:
            return 0;
        case Health::unknown:
            return 1;
        case Health::syncing:
            return 2;
        case Health::dead:
            break;
    }
    return 3;
}

bool is_filter_use(std::string_view method) {
    return method == "eth_getFilterChanges" || method == "eth_getFilterLogs" ||
           method == "eth_uninstallFilter";
}

bool is_filter_creation(std::string_view method) {
    return method == "eth_newFilter" || method == "eth_newBlockFilter" ||
           method == "eth_newPendingTransactionFilter";
}

}  // namespace

bool glob_match(std::string_view glob, std::string_view text) {
    // Iterative wildcard match: remember the last '*' and where it began matching.
    size_t g = 0, t = 0, star = std::string_view::npos, mark = 0;
    while (t < text.size()) {
        if (g < glob.size() && glob[g] == '*') {
            star = g++;
            mark = t;
        } else if (g < glob.size() && glob[g] == text[t]) {
            g++;
            t++;
        } else if (star != std::string_view::npos) {
            g = star + 1;
            t = ++mark;
        } else {
            return false;
        }
    }
    while (g < glob.size() && glob[g] == '*') g++;
    return g == glob.size();
}

bool allowed_by_default(std::string_view method) {
    if (method == "eth_sendRawTransaction") return true;
    if (!starts_with(method, "eth_") && !starts_with(method, "net_") &&
        !starts_with(method, "web3_"))
        return false;
    constexpr std::string_view writes[] = {"eth_send", "eth_sign", "eth_submit", "eth_subscribe",
                                           "eth_unsubscribe"};
    for (std::string_view w : writes)
        if (starts_with(method, w)) return false;
    return true;
}

BlockNeed block_needed(std::string_view method, std::string_view params) {
    bool logs = method == "eth_getLogs";
    int position = block_position(method);
    if ((!logs && position < 0) || params.empty()) return BlockNeed{};
    simdjson::dom::element doc;
    simdjson::dom::array array;
    if (json_parser().parse(params.data(), params.size()).get(doc) != simdjson::SUCCESS ||
        doc.get_array().get(array) != simdjson::SUCCESS)
        return BlockNeed{};
    if (logs) {
        simdjson::dom::object filter;
        simdjson::dom::element to;
        if (array.at(0).get_object().get(filter) != simdjson::SUCCESS ||
            filter["toBlock"].get(to) != simdjson::SUCCESS)
            return BlockNeed{};  // no toBlock: up to latest
        return need_of(to);
    }
    simdjson::dom::element block;
    if (array.at(static_cast<size_t>(position)).get(block) != simdjson::SUCCESS)
        return BlockNeed{};  // absent: latest
    return need_of(block);
}

bool raw_transaction_hash(std::string_view params, ByteBuffer& scratch, char* out) {
    simdjson::dom::element doc;
    simdjson::dom::array array;
    std::string_view text;
    if (params.empty() ||
        json_parser().parse(params.data(), params.size()).get(doc) != simdjson::SUCCESS ||
        doc.get_array().get(array) != simdjson::SUCCESS || array.size() != 1 ||
        array.at(0).get_string().get(text) != simdjson::SUCCESS)
        return false;
    auto bytes = data_bytes(text);
    if (!bytes || *bytes == 0) return false;
    scratch.clear();
    char* p = scratch.prepare(*bytes);
    if (!p) return false;
    auto* raw = reinterpret_cast<uint8_t*>(p);
    if (!parse_data(text, std::span<uint8_t>(raw, *bytes))) return false;
    eth::Hash32 hash = eth::keccak256(std::span<const uint8_t>(raw, *bytes));
    format_data(hash, out);
    return true;
}

size_t sticky_table_size(const PolicyConfig& config) {
    return config.sticky != StickyBy::off ? config.sticky_clients_max : StickyTable::ways;
}

RpcPolicy::RpcPolicy(const PolicyConfig& config, AnswerCache* cache, RpcMetrics& metrics,
                     SharedTables tables)
    : config_(config),
      hedges_(config.hedge),
      cache_(cache),
      metrics_(metrics),
      hit_(64u << 20, 4096),
      scratch_(64u << 20, 4096),
      own_sticky_(tables.sticky ? nullptr
                                : std::make_unique<StickyTable>(sticky_table_size(config))),
      own_filters_(tables.filters ? nullptr : std::make_unique<FilterTable>(config.filters_max)),
      sticky_(tables.sticky ? *tables.sticky : *own_sticky_),
      filters_(tables.filters ? *tables.filters : *own_filters_) {}

bool RpcPolicy::allowed(std::string_view method) const {
    if (config_.allow_methods.empty()) return allowed_by_default(method);
    for (const std::string& glob : config_.allow_methods)
        if (glob_match(glob, method)) return true;
    return false;
}

int64_t RpcPolicy::finalized() const {
    if (!nodes_) return -1;
    int64_t lowest = -1;
    for (size_t i = 0; i < nodes_max; i++) {
        NodeView n = nodes_->node(i);
        if (!n.present || !n.voter || n.health != Health::synced || n.finalized_number < 0)
            continue;
        if (lowest < 0 || n.finalized_number < lowest) lowest = n.finalized_number;
    }
    return lowest;
}

int64_t RpcPolicy::highest_head() const {
    if (!nodes_) return -1;
    int64_t highest = -1;
    for (size_t i = 0; i < nodes_max; i++) {
        NodeView n = nodes_->node(i);
        if (n.present && n.voter && n.health != Health::dead && n.head_number > highest)
            highest = n.head_number;
    }
    return highest;
}

CallKind RpcPolicy::route(const engine::MethodInfo* method) const {
    (void)method;  // every method one node answers (engine_* only when allow_methods says so)
    return CallKind::forward;
}

bool RpcPolicy::takes_part(CallKind kind, const NodeView& n) const {
    if (!n.present || !n.voter) return false;
    if (kind == CallKind::broadcast) return n.health != Health::dead && !n.breaker_open;
    return true;
}

int RpcPolicy::pick(const NodeTable& nodes, uint32_t skip_mask) const {
    return pick_route(nodes, skip_mask, Route{});
}

uint64_t RpcPolicy::deadline_ns(const engine::MethodInfo* method, const NodeView& n,
                                uint64_t now_ns) const {
    (void)method;
    uint64_t ms = config_.default_timeout_ms;
    if (n.timeout_ms && n.timeout_ms < ms) ms = n.timeout_ms;
    return now_ns + ms * 1'000'000ull;
}

namespace {

/// What pick_route knows of the nodes before it judges one.
struct PickContext {
    const Route& route;
    uint32_t skip_mask;
    int64_t highest;
    int64_t lag;
    bool at_head;
    int64_t min_head;
};

/// Whether node k may take an attempt with this route.
bool qualifies(const PickContext& c, const NodeView& n, int k) {
    if (!n.present || !n.voter || (c.skip_mask & (1u << k)) || n.health == Health::dead ||
        n.breaker_open)
        return false;
    if (c.route.sticky >= 0 && k != c.route.sticky) return false;
    // At the head: the nodes the CL's own calls put there when that is known; else, when any
    // head is known, only nodes whose own is known and close to it.
    if (c.at_head && c.route.head_nodes) {
        if (!((c.route.head_nodes >> k) & 1u)) return false;
    } else if (c.at_head && c.highest >= 0 &&
               (n.head_number < 0 || n.head_number + c.lag < c.highest)) {
        return false;
    }
    if (c.min_head >= 0 && n.head_number >= 0 && n.head_number < c.min_head) return false;
    // A sticky client's floor: the node's head must be known to reach it.
    if (c.route.floor_head >= 0 && n.head_number < c.route.floor_head) return false;
    return true;
}

}  // namespace

int RpcPolicy::pick_route(const NodeTable& nodes, uint32_t skip_mask, const Route& route) const {
    NodeView views[nodes_max];
    int64_t highest = -1;
    for (size_t i = 0; i < nodes_max; i++) {
        views[i] = nodes.node(i);
        const NodeView& n = views[i];
        if (n.present && n.voter && n.health != Health::dead && n.head_number > highest)
            highest = n.head_number;
    }
    // A block past every node's head (a future block, a range that ends there) is for the
    // nodes at the head to answer as an EL does ("not found", or its error): not refused here.
    bool beyond = route.min_head >= 0 && highest >= 0 && route.min_head > highest;
    PickContext c{route,
                  skip_mask,
                  highest,
                  static_cast<int64_t>(config_.max_head_lag_blocks),
                  route.at_head || beyond,
                  beyond ? -1 : route.min_head};
    if (route.prefer >= 0 && static_cast<size_t>(route.prefer) < nodes_max &&
        qualifies(c, views[route.prefer], route.prefer))
        return route.prefer;
    int best = -1, best_tier = 4;
    uint64_t best_score = 0;
    for (size_t i = 0; i < nodes_max; i++) {
        const NodeView& n = views[i];
        int k = static_cast<int>(i);
        if (!qualifies(c, n, k)) continue;
        int tier = tier_of(n.health);
        uint64_t latency = n.latency_ewma_us ? n.latency_ewma_us : 1;
        uint64_t score = (uint64_t{n.outstanding} + 1) * latency;
        if (best < 0 || tier < best_tier || (tier == best_tier && score < best_score)) {
            best = k;
            best_tier = tier;
            best_score = score;
        }
    }
    return best;
}

uint32_t RpcPolicy::timeout_ms(std::string_view method) const {
    for (const auto& [name, ms] : config_.method_timeouts)
        if (name == method) return ms;
    return config_.default_timeout_ms;
}

uint32_t RpcPolicy::agree_nodes(std::string_view name) const {
    for (const auto& [method, nodes] : config_.agree)
        if (method == name) return nodes;
    return 0;
}

void RpcPolicy::agree_route(std::string_view name, uint32_t nodes, GateDecision& d) {
    d.route.hedge = false;
    d.route.learn = Learn::nothing;
    uint32_t skip = 0;
    while (d.agree_count < nodes && d.agree_count < sizeof d.agree_on) {
        int k = pick_route(*nodes_, skip, d.route);
        if (k < 0) break;
        NodeView n = nodes_->node(static_cast<size_t>(k));
        // Skip the node, and every other node of its client: one answer per implementation.
        for (size_t i = 0; i < nodes_max; i++) {
            NodeView other = nodes_->node(i);
            if (i == static_cast<size_t>(k) ||
                (other.client[0] && other.client_text() == n.client_text()))
                skip |= 1u << i;
        }
        if (n.client[0] == 0) continue;  // an unknown client may be the same as another
        d.agree_on[d.agree_count++] = static_cast<uint8_t>(k);
    }
    if (d.agree_count >= nodes) return;
    bump(metrics_.agree_short);
    int used =
        std::snprintf(message_, sizeof message_,
                      "%.*s needs %u execution clients of different implementations to "
                      "agree ([rpc.agree]); usable now: ",
                      static_cast<int>(name.size() > 128 ? 128 : name.size()), name.data(), nodes);
    size_t length = used < 0 ? 0 : static_cast<size_t>(used);
    for (uint8_t k = 0; k < d.agree_count && length < sizeof message_; k++) {
        NodeView n = nodes_->node(k < d.agree_count ? d.agree_on[k] : 0);
        used =
            std::snprintf(message_ + length, sizeof message_ - length, "%s%.*s (%s)", k ? ", " : "",
                          static_cast<int>(n.name.size()), n.name.data(), n.client);
        length += used < 0 ? 0 : static_cast<size_t>(used);
    }
    if (d.agree_count == 0 && length < sizeof message_)
        length +=
            static_cast<size_t>(std::snprintf(message_ + length, sizeof message_ - length, "none"));
    d.agree_count = 0;
    d.verdict = GateDecision::Verdict::refuse;
    d.code = jsonrpc::code::server_error;
    d.message = std::string_view(message_, length < sizeof message_ ? length : sizeof message_ - 1);
}

bool RpcPolicy::shadow_route(GateDecision& d) {
    int first = pick_route(*nodes_, 0, d.route);
    if (first < 0) return false;
    NodeView a = nodes_->node(static_cast<size_t>(first));
    uint32_t same = 1u << first;
    for (size_t i = 0; i < nodes_max; i++) {
        NodeView n = nodes_->node(i);
        if (a.client[0] && n.client_text() == a.client_text()) same |= 1u << i;
    }
    int second = pick_route(*nodes_, same, d.route);  // another implementation first
    if (second < 0) second = pick_route(*nodes_, 1u << first, d.route);
    if (second < 0) return false;
    d.route.hedge = false;
    d.route.learn = Learn::nothing;
    d.agree_on[0] = static_cast<uint8_t>(first);
    d.agree_on[1] = static_cast<uint8_t>(second);
    d.agree_count = 2;
    d.shadow = true;
    return true;
}

bool RpcPolicy::from_cache(std::string_view name, std::string_view params, GateDecision& d) {
    if (!cache_ && !shared_) return false;
    int64_t final_block = finalized();
    metrics_.finalized.store(final_block, std::memory_order_relaxed);
    Reuse reuse = classify(name, params, final_block);
    if (reuse == Reuse::never || !cache_key(name, params, key_)) return false;
    hit_.clear();
    if (cache_ && cache_->lookup(key_, hit_)) {
        d.verdict = GateDecision::Verdict::answer;
        d.result = hit_.view();
        return true;
    }
    d.route.learn = reuse == Reuse::immutable ? Learn::cache : Learn::cache_if_final;
    d.route.key = key_;
    // Another instance may have it: the core parks the request while the tier looks.
    if (shared_) d.verdict = GateDecision::Verdict::look_up;
    return false;
}

int RpcPolicy::filter_node(std::string_view params) const {
    simdjson::dom::element doc;
    simdjson::dom::array array;
    std::string_view id;
    if (params.empty() ||
        json_parser().parse(params.data(), params.size()).get(doc) != simdjson::SUCCESS ||
        doc.get_array().get(array) != simdjson::SUCCESS ||
        array.at(0).get_string().get(id) != simdjson::SUCCESS)
        return -1;
    return filters_.node_of(id);
}

void RpcPolicy::refuse_params(int length, GateDecision& d) {
    size_t n = length < 0 ? 0 : static_cast<size_t>(length);
    d.verdict = GateDecision::Verdict::refuse;
    d.code = jsonrpc::code::invalid_params;
    d.message = std::string_view(message_, n < sizeof message_ ? n : sizeof message_ - 1);
}

bool RpcPolicy::logs_over_limit(std::string_view params, GateDecision& d) {
    using ull = unsigned long long;
    uint64_t max = config_.max_logs_block_range;
    int64_t head = highest_head();
    LogsSpan span = logs_span(params, head);
    if (span.kind == LogsSpan::Kind::not_a_range ||
        (span.kind == LogsSpan::Kind::known && span.blocks() <= max))
        return false;
    if (span.kind == LogsSpan::Kind::unknown) {
        refuse_params(std::snprintf(message_, sizeof message_,
                                    "eth_getLogs: the range's size is unknown (a block tag, and "
                                    "no head known yet) and this endpoint allows at most %llu "
                                    "blocks ([rpc] max_logs_block_range); use block numbers",
                                    static_cast<ull>(max)),
                      d);
        return true;
    }
    int n = std::snprintf(message_, sizeof message_,
                          "eth_getLogs: blocks %llu..%llu are %llu blocks, over this endpoint's "
                          "limit of %llu ([rpc] max_logs_block_range)",
                          static_cast<ull>(span.from), static_cast<ull>(span.to),
                          static_cast<ull>(span.blocks()), static_cast<ull>(max));
    size_t at = n < 0 ? 0 : static_cast<size_t>(n);
    char* rest = message_ + at;
    size_t room = at < sizeof message_ ? sizeof message_ - at : 0;
    if (!config_.logs_split) {
        refuse_params(n + std::snprintf(rest, room, "; ask for smaller ranges"), d);
        return true;
    }
    LogsEnds ends = resolve_logs_ends(params, KnownBlocks{head, finalized()});
    if (!ends.ok) {
        refuse_params(
            n + std::snprintf(rest, room, ", and it is not split: %.*s; use block numbers",
                              static_cast<int>(ends.why.size()), ends.why.data()),
            d);
        return true;
    }
    if (ends.from > ends.to || ends.to - ends.from < max) return false;  // the EL judges it
    uint64_t pieces = (ends.to - ends.from) / max + 1;
    if (pieces > config_.logs_split_pieces_max) {
        refuse_params(n + std::snprintf(rest, room,
                                        ", and split it would be %llu pieces, over this "
                                        "endpoint's limit of %u ([rpc] logs_split_pieces_max); "
                                        "ask for at most %llu blocks at once",
                                        static_cast<ull>(pieces), config_.logs_split_pieces_max,
                                        static_cast<ull>(max) * config_.logs_split_pieces_max),
                      d);
        return true;
    }
    d.verdict = GateDecision::Verdict::split;
    d.split = LogsSplit{
        .from = ends.from, .to = ends.to, .blocks = max, .bytes_max = config_.response_bytes_max};
    return true;
}

void RpcPolicy::stick(uint64_t client, Route& route) {
    if (config_.sticky == StickyBy::off || client == 0 || !nodes_) return;
    route.sticky_client = client;
    StickyEntry entry;
    if (!sticky_.find(client, entry)) return;  // new (or forgotten): any node that qualifies
    const StickyEntry* e = &entry;
    route.floor_head = e->floor;
    // Its last node while usable and at the head; pick_route checks the rest of the route.
    NodeView n = nodes_->node(static_cast<size_t>(e->node));
    int64_t highest = highest_head();
    bool at_head = n.head_number >= 0 &&
                   (highest < 0 || n.head_number + config_.max_head_lag_blocks >= highest);
    if (n.present && n.voter && n.health != Health::dead && !n.breaker_open && at_head &&
        pick_route(*nodes_, ~(1u << e->node), route) == e->node) {
        route.prefer = e->node;
        bump(metrics_.sticky_kept);
    } else {
        bump(metrics_.sticky_moved);
    }
}

void RpcPolicy::served(uint64_t client, size_t node, int64_t block) {
    if (config_.sticky == StickyBy::off || client == 0 || !nodes_) return;
    // What the client saw: the node's head for a read of the head, else the block it asked
    // for (no further than the node's head: a block past it was not there to see).
    int64_t head = nodes_->node(node).head_number;
    int64_t seen = block < 0 || (head >= 0 && head < block) ? head : block;
    if (sticky_.served(client, static_cast<int>(node), seen)) bump(metrics_.sticky_evicted);
}

void RpcPolicy::route_read(std::string_view name, std::string_view params, GateDecision& d) {
    BlockNeed need = block_needed(name, params);
    d.route.at_head = need.at_head;
    d.route.min_head = need.number;
    if (name == "eth_sendRawTransaction") {
        d.broadcast = true;
        if (raw_transaction_hash(params, scratch_, tx_hash_)) d.route.tx_hash = {tx_hash_, 66};
    } else if (is_filter_creation(name)) {
        d.route.learn = Learn::filter_node;
    } else if (is_filter_use(name)) {
        d.route.sticky = filter_node(params);
        d.route.at_head = false;  // the filter's node, wherever its head is
    } else if (hedges_.enabled() && allowed_by_default(name)) {
        d.route.hedge = true;  // an idempotent read
        hedges_.on_request();
    }
}

GateDecision RpcPolicy::admit(const CallFacts& facts, uint64_t now_ns) {
    GateDecision d;
    std::string_view name = facts.method ? facts.method->name : facts.name;
    size_t slot = method_slot(name);
    RpcMethodMetrics& m = metrics_.methods[slot];
    bump(m.requests);
    if (!allowed(name)) {
        bump(m.errors);
        bump(metrics_.not_allowed);
        int n = std::snprintf(message_, sizeof message_,
                              "the method %.*s is not available on this endpoint (allow_methods)",
                              static_cast<int>(name.size() > 128 ? 128 : name.size()), name.data());
        d.verdict = GateDecision::Verdict::refuse;
        d.code = jsonrpc::code::method_not_found;
        size_t length = n < 0 ? 0 : static_cast<size_t>(n);
        d.message =
            std::string_view(message_, length < sizeof message_ ? length : sizeof message_ - 1);
        return d;
    }
    bool split = false;
    if (name == "eth_getLogs" && config_.max_logs_block_range && logs_over_limit(facts.params, d)) {
        if (d.verdict == GateDecision::Verdict::refuse) {
            bump(m.errors);
            bump(metrics_.logs_refused);
            return d;
        }
        split = true;  // the pieces' answers are not cached
    }
    d.route.rewrite_id = true;
    d.route.counted = true;
    d.route.metrics_slot = static_cast<uint8_t>(slot);
    d.route.timeout_ms = timeout_ms(name);
    if (!split && from_cache(name, facts.params, d)) {
        bump(m.cache_hits);
        return d;
    }
    route_read(name, facts.params, d);
    if (d.route.at_head && cl_head_) {
        ClHead::View head = cl_head_->read(now_ns);
        if (head.number >= 0 && head.nodes) {
            d.route.head_nodes = head.nodes;
            bump(metrics_.cl_head_reads);
        }
    }
    if (uint32_t agree = split ? 0 : agree_nodes(name); agree > 1) {
        agree_route(name, agree, d);
        if (d.verdict == GateDecision::Verdict::refuse) bump(m.errors);
        return d;
    }
    if (config_.shadow_ratio > 0 && !split && !d.broadcast && d.route.sticky < 0 &&
        d.route.learn != Learn::filter_node && allowed_by_default(name)) {
        shadow_credit_ += config_.shadow_ratio;
        if (shadow_credit_ >= 1 && shadow_route(d)) {
            shadow_credit_ -= 1;
            return d;
        }
        if (shadow_credit_ > 1) shadow_credit_ = 1;  // no second node now: the next read
    }
    // Filters stay on their node, transactions go to every node: not the client's to steer.
    if (!d.broadcast && d.route.sticky < 0) stick(facts.origin.sticky, d.route);
    return d;
}

void RpcPolicy::learned(Learn what, std::string_view key, std::string_view result, size_t node,
                        uint64_t now_ns) {
    (void)now_ns;
    if (what == Learn::cache || what == Learn::cache_if_final) {
        if (what == Learn::cache_if_final && !answer_final(result, finalized())) return;
        if (cache_) {
            cache_->insert(key, result);
            bump(metrics_.cache_stores);
        }
        if (shared_) shared_->put(key, result);
        return;
    }
    if (what != Learn::filter_node || result.size() < 2 || result.front() != '"') return;
    filters_.remember(result.substr(1, result.size() - 2), node);
}

bool RpcPolicy::look_up(uint64_t ticket, std::string_view key) {
    return shared_ && shared_->get(ticket, key);
}

}  // namespace em::pipeline::rpc
