// The rpc role's policy (issue 16): public eth_* JSON-RPC spread over the nodes. It is both the
// pipeline's Policy (where each read goes) and its Gate (what happens to a request before it
// runs), as SyncPolicy is for the sync role; the listener (listener/rpc_listener.h) feeds it.
//
// Gate, for each request (a batch: each element, since split_batches()):
//  - a method outside allow_methods is refused -32601 naming it (default: the read-only eth_*,
//    net_*, web3_* methods, filters included, and eth_sendRawTransaction; ["*"] allows all);
//  - an answer that can never change (rpc_cache.h's classify(), against the finalized block) is
//    answered from the shared AnswerCache under the client's id, or (with a SharedAnswers tier:
//    Redis) looked up there first (the core parks the request: Gate::look_up), or forwarded
//    with a Route that asks the core to hand back the result for the cache (and the tier);
//  - eth_getLogs whose fromBlock..toBlock spans more than max_logs_block_range blocks (tags
//    count as the highest head known; with none known, a range with a tag is refused) is split
//    (logs_split, the default): its ends resolved to numbers ("latest" the highest head known,
//    "finalized" finalized(), "earliest" 0), cut into pieces of at most max_logs_block_range
//    blocks run in parallel and merged (pipeline/logs_call.h). Refused -32602 naming the limit
//    and why instead: with logs_split off, an end that is not resolved ("safe", "pending", a
//    tag whose block is not known), or more than logs_split_pieces_max pieces. A blockHash
//    filter is one block: never judged, never split (pipeline/logs_range.h);
//  - eth_sendRawTransaction is broadcast to every node not known dead and not shut out by its
//    circuit breaker (pipeline/breaker.h; first success answers;
//    "already known" is a success with the transaction's hash, computed here);
//  - eth_newFilter / eth_newBlockFilter / eth_newPendingTransactionFilter learn which node made
//    the filter; eth_getFilterChanges / eth_getFilterLogs / eth_uninstallFilter go only there.
// Policy, for each attempt (pick_route):
//  - a read of latest/pending/safe/finalized or without a block argument goes only to nodes at
//    the head: beside the mux or sync role, once the CL has chosen one, the nodes that took it
//    (pipeline/cl_head.h, Route::head_nodes); else their probed head within
//    max_head_lag_blocks of the highest head known; a read
//    of block N only to nodes whose head is at least N ("earliest" and hashes: at the head too,
//    where the block surely is);
//  - never a node whose circuit breaker is open (NodeView::breaker_open, pipeline/breaker.h);
//  - among those, synced nodes first (then unknown, then syncing; never dead), the least
//    (outstanding calls + 1) x latency EWMA; a failed attempt goes to the next (the core's
//    ForwardCall retries reads, also after a timeout);
//  - sticky (off by default): a client's reads (by Origin::sticky) go to the node that last
//    answered it while that node is usable and at the head; else only to nodes whose head
//    reaches the newest block it was served (pipeline/sticky.h; Route::prefer, floor_head);
//  - reads (allowed_by_default's methods but sends and filters) are hedged (Route::hedge,
//    pipeline/hedge.h): unanswered after the method's p95, a second copy goes to another node
//    that qualifies, within hedge.max_ratio of the requests.
// The finalized block is the lowest `finalized` any synced node's health probe reported (the
// conservative choice: a block one node calls final may still be unfinal on another's chain).
//
// Threads: the owning shard's thread (the cache, the sticky table and the filter table are shared
// by every shard's policy and lock their own stripes). No I/O.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/buffer.h"
#include "pipeline/cl_head.h"
#include "pipeline/gate.h"
#include "pipeline/logs_range.h"
#include "pipeline/metrics.h"
#include "pipeline/policy.h"
#include "pipeline/rpc_cache.h"
#include "pipeline/rpc_filters.h"
#include "pipeline/sticky.h"

namespace em::pipeline::rpc {

/// [rpc] sticky: who a client is for stickiness (the listener hashes it: Origin::sticky).
enum class StickyBy : uint8_t {
    off,
    key,      ///< its API key (a request without one: its address)
    address,  ///< its address (X-Forwarded-For from a trusted proxy, else the peer's)
};

struct PolicyConfig {
    /// Globs ('*' matches any run); empty: the default rule (allowed_by_default).
    std::vector<std::string> allow_methods;
    uint32_t max_head_lag_blocks = 2;
    uint32_t default_timeout_ms = 10'000;
    std::vector<std::pair<std::string, uint32_t>> method_timeouts;
    /// Share of reads (0..1) also sent to a second node and compared (shadow compare).
    double shadow_ratio = 0;
    /// [rpc.agree]: method -> how many nodes of different clients must give the same answer.
    std::vector<std::pair<std::string, uint32_t>> agree;
    uint64_t max_logs_block_range = 10'000;   ///< eth_getLogs blocks per request (0 = any)
    bool logs_split = true;                   ///< over the range: split (false: refused)
    uint32_t logs_split_pieces_max = 16;      ///< pieces of one split (more: refused)
    uint64_t response_bytes_max = 32u << 20;  ///< a split's merged answer at most
    StickyBy sticky = StickyBy::off;          ///< per-client stickiness (Origin::sticky)
    size_t sticky_clients_max = 65'536;       ///< clients remembered (by every shard together)
    size_t filters_max = 4096;                ///< filter ids remembered (oldest forgotten first)
    HedgeConfig hedge{.max_ratio = 0};        ///< [rpc] hedge_max_ratio (0 here: no hedging)
};

/// '*' in `glob` matches any run of characters (also none); everything else itself.
[[nodiscard]] bool glob_match(std::string_view glob, std::string_view text);
/// The default allow-list: eth_*, net_*, web3_* except sends (but eth_sendRawTransaction),
/// signs, submits and subscriptions.
[[nodiscard]] bool allowed_by_default(std::string_view method);

/// The block a read needs: the head (latest, pending, safe, finalized, no block argument,
/// hashes, "earliest"), or at least block `number`.
struct BlockNeed {
    bool at_head = true;
    int64_t number = -1;
};
/// What `method` with `params` (raw JSON, "" absent) needs of the node that answers it.
[[nodiscard]] BlockNeed block_needed(std::string_view method, std::string_view params);

/// The transaction hash of eth_sendRawTransaction's params (["0x<rlp>"]) as "0x" + 64 hex
/// digits into out (at least 66 bytes); false when the params are not one DATA string.
[[nodiscard]] bool raw_transaction_hash(std::string_view params, ByteBuffer& scratch, char* out);

/// A cache shared with other instances (the listener's Redis tier, listener/rpc_listener.h),
/// asked after the embedded AnswerCache missed. Owned by the listener; its thread.
class SharedAnswers {
  public:
    virtual ~SharedAnswers() = default;
    /// Starts looking `key` up for the core's parked request `ticket`. True: the owner calls
    /// PipelineCore::resume(ticket, ...) once, later, from the loop; false: unavailable now.
    virtual bool get(uint64_t ticket, std::string_view key) = 0;
    /// Stores a final answer (fire and forget).
    virtual void put(std::string_view key, std::string_view result) = 0;
};

/// The entries a StickyTable for `config` needs (a token table when sticky is off).
[[nodiscard]] size_t sticky_table_size(const PolicyConfig& config);

/// The tables every shard's policy shares (made once, outliving the policies). A null table: the
/// policy makes its own, of the configured size (one shard, unit tests).
struct SharedTables {
    StickyTable* sticky = nullptr;   ///< [rpc] sticky: each client's node and floor
    FilterTable* filters = nullptr;  ///< filter id -> the node that made it
};

class RpcPolicy final : public Policy, public Gate {
  public:
    /// `cache`: shared by every shard (null: no cache); `metrics`: this shard's.
    RpcPolicy(const PolicyConfig& config, AnswerCache* cache, RpcMetrics& metrics,
              SharedTables tables = {});
    RpcPolicy(const RpcPolicy&) = delete;
    RpcPolicy& operator=(const RpcPolicy&) = delete;
    /// The nodes (the listener's table; set before the first request).
    void set_nodes(const NodeTable& nodes) { nodes_ = &nodes; }
    /// The CL's head beside the mux or sync role (null: the probes' heads only). It must
    /// outlive the policy.
    void set_cl_head(const ClHead* head) { cl_head_ = head; }
    /// The shared tier asked after an embedded miss (null: none). It must outlive the policy.
    void set_shared(SharedAnswers* shared) { shared_ = shared; }
    /// Whether `method` may be called (allow_methods).
    [[nodiscard]] bool allowed(std::string_view method) const;
    /// The finalized block the cache trusts now (-1: none known).
    [[nodiscard]] int64_t finalized() const;
    /// The highest head any usable node reported (-1: none known).
    [[nodiscard]] int64_t highest_head() const;

    // Policy
    CallKind route(const engine::MethodInfo* method) const override;
    bool takes_part(CallKind kind, const NodeView& n) const override;
    bool votes(const NodeView& n) const override { return n.present && n.voter; }
    int pick(const NodeTable& nodes, uint32_t skip_mask) const override;
    engine::Quorum quorum() const override { return engine::Quorum{}; }
    bool verify_block_hash(const engine::MethodInfo&) const override { return false; }
    uint64_t deadline_ns(const engine::MethodInfo* method, const NodeView& n,
                         uint64_t now_ns) const override;
    int pick_route(const NodeTable& nodes, uint32_t skip_mask, const Route& route) const override;
    bool split_batches() const override { return true; }
    HedgePlanner* hedges() const override { return hedges_.enabled() ? &hedges_ : nullptr; }

    // Gate
    GateDecision admit(const CallFacts& facts, uint64_t now_ns) override;
    void started(const CallFacts&, uint32_t, uint64_t) override {}
    void answered(uint32_t, const engine::Status*, std::string_view, uint64_t) override {}
    void learned(Learn what, std::string_view key, std::string_view result, size_t node,
                 uint64_t now_ns) override;
    void served(uint64_t client, size_t node, int64_t block) override;
    bool look_up(uint64_t ticket, std::string_view key) override;

  private:
    uint32_t timeout_ms(std::string_view method) const;
    /// The cache's part of admit: a hit (true: `d` answers) or what to learn.
    bool from_cache(std::string_view name, std::string_view params, GateDecision& d);
    /// eth_getLogs over max_logs_block_range: true when `d` refuses it (-32602 naming the limit
    /// and why) or splits it; false when it runs as it is.
    bool logs_over_limit(std::string_view params, GateDecision& d);
    /// Refuses with -32602 and `message_`'s first `length` bytes.
    void refuse_params(int length, GateDecision& d);
    /// The route's node and floor for a sticky client (no-op when sticky is off or it has none).
    void stick(uint64_t client, Route& route);
    /// The route of a read that runs: deadline, metrics, block needed, broadcast, filters, hedge.
    void route_read(std::string_view name, std::string_view params, GateDecision& d);
    /// [rpc.agree]'s node count for `name` (0: not agreed).
    uint32_t agree_nodes(std::string_view name) const;
    /// An agreed read: `d` asks that many nodes of different clients (agree_on), or refuses
    /// -32000 naming the clients usable when there are fewer.
    void agree_route(std::string_view name, uint32_t nodes, GateDecision& d);
    /// A read in the shadow_ratio sample: `d` sends it to its node and a second (another
    /// implementation when one is usable) and compares; false when no second node is usable.
    bool shadow_route(GateDecision& d);
    /// The node a filter id was made on (-1: unknown).
    int filter_node(std::string_view params) const;

    PolicyConfig config_;
    /// Each method's answer times and the hedge budget: learned as calls answer (mutable:
    /// the policy's routing is const, its learning is not; the shard's thread only).
    mutable HedgePlanner hedges_;
    AnswerCache* cache_;
    SharedAnswers* shared_ = nullptr;
    const ClHead* cl_head_ = nullptr;
    RpcMetrics& metrics_;
    const NodeTable* nodes_ = nullptr;
    std::string key_;     ///< the cache key being built
    ByteBuffer hit_;      ///< a cached result being answered
    ByteBuffer scratch_;  ///< a raw transaction's bytes
    char tx_hash_[72] = {};
    char message_[512] = {};
    double shadow_credit_ = 0;  ///< shadow_ratio's running share: a read is sampled at 1
    std::unique_ptr<StickyTable> own_sticky_;   ///< when no shared table was given
    std::unique_ptr<FilterTable> own_filters_;  ///< when no shared table was given
    StickyTable& sticky_;   ///< [rpc] sticky: each client's node and floor (shared)
    FilterTable& filters_;  ///< filter id -> node (shared; looked up by view)
};

}  // namespace em::pipeline::rpc
