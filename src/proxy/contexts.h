// Request contexts of the proxy (internal to src/proxy): a ForwardContext carries one request
// to one node at a time (the primary, then the next usable node if it fails); an EngineContext
// carries one engine call to several nodes at once and turns their answers into one.
//
// Threads: the owning shard's loop thread. Memory: pooled by Proxy (bounded by in_flight_max);
// their buffers keep their grown size between requests.
#pragma once

#include <array>

#include "base/buffer.h"
#include "engine/payload_id_map.h"
#include "engine/types.h"
#include "engine/vote.h"
#include "eth/payload.h"
#include "http/server.h"
#include "proxy/proxy.h"
#include "upstream/node.h"

namespace em::proxy {

class Proxy::ForwardContext final : public upstream::CallDone {
public:
    explicit ForwardContext(Proxy& proxy);
    /// Sends body to the primary (or the next usable node) and relays the answer to sink.
    void start(const Sink& sink, http::ServerConn& conn, std::string_view body, std::string_view ids,
               bool batch, size_t method_slot, const engine::MethodInfo* method);
    void on_call_done(upstream::Call& call, const http::Response* response, const Error* error) override;

private:
    void attempt();
    void reply_failure(std::string_view message);
    void finish();

    bool client_gone() const;

    Proxy& proxy_;
    Sink sink_;
    ByteBuffer body_;
    ByteBuffer ids_;  ///< raw ids of the entries expecting an answer, '\n'-separated
    ByteBuffer answer_;  ///< error answers are built here before delivery
    bool batch_ = false;
    size_t method_slot_ = 0;
    const engine::MethodInfo* method_ = nullptr;  ///< engine method routed to the primary, if any
    uint32_t tried_mask_ = 0;
    int node_ = -1;
    upstream::Call call_;
    ByteBuffer last_error_;
    uint64_t start_ns_ = 0;
    uint64_t upstream_ns_ = 0;  ///< time spent waiting for nodes, over every attempt
};

class Proxy::EngineContext final : public upstream::CallDone {
public:
    explicit EngineContext(Proxy& proxy);
    /// Fans `method` out per its strategy. Returns after the calls are submitted (or answered).
    /// Fans a vote method out and keeps the context open (launch guard) until launched(), so
    /// the caller can check the block hash while the ELs work.
    void start_vote(const Sink& sink, http::ServerConn& conn, const engine::MethodInfo& method,
                    std::string_view body, std::string_view id);
    /// The block-hash check of the newPayload just fanned out: a decode error answers -32602,
    /// a mismatch answers INVALID (INVALID_BLOCK_HASH for V1) at once.
    void check_block_hash(const Result<eth::Verdict>& verdict);
    /// Ends the launch: from here on the vote may be decided.
    void launched();
    void start_get_payload(const Sink& sink, http::ServerConn& conn, const engine::MethodInfo& method,
                           std::string_view id, std::span<const engine::NodePayloadId> builders);
    void start_merge(const Sink& sink, http::ServerConn& conn, const engine::MethodInfo& method,
                     std::string_view body, std::string_view id);
    void on_call_done(upstream::Call& call, const http::Response* response, const Error* error) override;

private:
    enum class SlotState : uint8_t { unused, pending, result, rpc_error, failed };
    struct Slot {
        upstream::Call call;
        const upstream::NodeInfo* info = nullptr;  ///< the node asked (NodeInfos are never freed)
        ByteBuffer body{64u << 20, 256};   ///< per-node request (getPayload ids differ per node)
        ByteBuffer answer{64u << 20, 256}; ///< the node's whole JSON-RPC response
        std::string_view result;           ///< view of answer: the result member
        SlotState state = SlotState::unused;
        bool voter = false;
        bool dead_at_start = false;
        engine::VoteSlot vote;
        engine::PayloadId payload_id;
        bool has_payload_id = false;
        int error_code = 0;
        uint64_t latency_us = 0;
        char failure[Error::message_bytes_max + 48] = {};
    };

    void fan_out(bool ordered, bool voters_only);
    void record_answer(Slot& slot, size_t index, const http::Response* response, const Error* error);
    void progress();
    void answer_vote();
    void answer_get_payload();
    void answer_merge();
    void reply(std::string_view result_json);
    void reply_raw(std::string_view response_json);
    void reply_error(int code, std::string_view message);
    void mark_answered();
    void log_disagreement(const engine::VoteResult& result);
    void finish();
    simdjson::padded_string_view padded(const Slot& slot, std::string_view part) const;

    void begin(const Sink& sink, http::ServerConn& conn, const engine::MethodInfo& method,
               std::string_view id);

    Proxy& proxy_;
    Sink sink_;
    const engine::MethodInfo* method_ = nullptr;
    ByteBuffer body_;
    ByteBuffer id_;
    ByteBuffer result_;  ///< the result member we build (vote, merge)
    ByteBuffer answer_;  ///< the whole response object, built from result_ before delivery
    std::array<Slot, upstream::nodes_max> slots_;
    uint32_t pending_ = 0;   ///< calls in flight, plus one while launching
    bool launching_ = false;
    bool answered_ = false;
    bool hash_checked_ = false;
    bool hash_match_ = true;
    eth::Hash32 claimed_hash_{};
    eth::Hash32 computed_hash_{};
    uint64_t start_ns_ = 0;
    // The window spent waiting for the nodes before the answer: from the first call on the wire
    // to the last answer that arrived before the decision (0 = none arrived).
    uint64_t first_sent_ns_ = 0;
    uint64_t last_answer_ns_ = 0;
    engine::VoteResult final_vote_{};
    bool voted_ = false;
};

/// A batch holding engine calls: each element runs as its own context (vote, forward, ...)
/// and delivers its answer here; when every element is in, the array goes to the client.
class Proxy::BatchContext {
public:
    explicit BatchContext(Proxy& proxy) : proxy_(proxy) {}
    /// Launches every entry; answers once all have delivered.
    void start(http::ServerConn& conn, std::span<const jsonrpc::Entry> entries);
    /// Element `index`'s response object (copied).
    void set(uint32_t index, std::string_view response_json);

private:
    void element_done();
    Proxy& proxy_;
    http::ConnRef conn_;
    std::vector<ByteBuffer> elements_;
    std::vector<uint8_t> wanted_;  ///< 1 = the client expects this element's answer
    size_t count_ = 0;
    size_t pending_ = 0;
    uint64_t start_ns_ = 0;
};

}  // namespace em::proxy
