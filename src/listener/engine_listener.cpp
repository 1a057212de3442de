#include "listener/engine_listener.h"

#include <sys/random.h>

#include <cstring>

#include "base/clock.h"
#include "base/log.h"
#include "http/writer.h"
#include "jsonrpc/codes.h"
#include "jsonrpc/writer.h"

namespace em::listener {

namespace {

/// How often removed nodes are checked for retired() while any is retiring.
constexpr uint64_t reap_interval_ns = 10'000'000;

bool json_content_type(std::string_view ct) {
    if (ct.empty()) return true;
    std::string_view base = ct.substr(0, ct.find(';'));
    while (!base.empty() && base.back() == ' ') base.remove_suffix(1);
    return http::iequals(base, "application/json");
}

pipeline::Health health_of(upstream::NodeState s) {
    switch (s) {
        case upstream::NodeState::synced:
            return pipeline::Health::synced;
        case upstream::NodeState::syncing:
            return pipeline::Health::syncing;
        case upstream::NodeState::dead:
            return pipeline::Health::dead;
        case upstream::NodeState::unknown:
            break;
    }
    return pipeline::Health::unknown;
}

pipeline::CoreConfig with_random_key(pipeline::CoreConfig c) {
    // payloadIds are SipHash of a counter under this key: unpredictable to the CL.
    if (getrandom(c.payload_id_key.data(), c.payload_id_key.size(), 0) !=
        static_cast<ssize_t>(c.payload_id_key.size())) {
        uint64_t seed[2] = {wall_ns(), mono_ns()};
        std::memcpy(c.payload_id_key.data(), seed, sizeof seed);
    }
    return c;
}

}  // namespace

/// One call on its way to a node: the upstream::Call and the core's tag for it. Pooled.
class EngineListener::CallSlot final : public upstream::CallDone {
  public:
    explicit CallSlot(EngineListener& owner) : owner_(owner) {}
    void on_call_done(upstream::Call&, const http::Response* response,
                      const Error* error) override {
        owner_.on_call_done(*this, response, error);
    }
    EngineListener& owner_;
    upstream::Call call;
    uint64_t tag = 0;
    size_t node = 0;
    bool ordered = false;
};

EngineListener::EngineListener(io::Loop& loop, const ListenerConfig& config,
                               upstream::Registry& registry, upstream::HealthBoard& board,
                               pipeline::ShardMetrics& metrics, Role* role)
    : loop_(loop),
      registry_(registry),
      board_(board),
      metrics_(metrics),
      role_(role),
      cl_secret_(config.cl_secret),
      jwt_(std::in_place, config.cl_secret),
      policy_(config.policy),
      core_(with_random_key(config.core), role ? role->policy() : policy_, *this, *this, metrics),
      poll_ns_(uint64_t{config.poll_us} * 1000),
      response_bytes_max_(config.response_bytes_max) {
    if (role) core_.set_gate(role->gate());
    reap_timer_.fn = on_reap_timer;
    reap_timer_.owner = this;
    retiring_.reserve(upstream::nodes_max);
    for (size_t i = 0; i < upstream::nodes_max; i++) refresh_node(i);
}

void EngineListener::apply(const http::JwtSecret& cl_secret,
                           const pipeline::MuxPolicyConfig& policy) {
    if (cl_secret.key != cl_secret_.key) {  // a new secret: a new verifier (and empty cache)
        cl_secret_ = cl_secret;
        jwt_.emplace(cl_secret);
    }
    policy_.set_config(policy);
}

EngineListener::~EngineListener() {
    // Teardown after the loop ended: the nodes go first, while the calls they may still list
    // are alive.
    loop_.timer_cancel(&reap_timer_);
    for (auto& w : wakes_)
        if (w->timer.armed()) loop_.timer_cancel(&w->timer);
    retiring_.clear();
    for (auto& node : nodes_) node.reset();
}

// ---------------------------------------------------------------------------------------------
// Nodes

void EngineListener::refresh_node(size_t i) {
    const upstream::NodeInfo* info = registry_.get(i);
    if (info == infos_[i]) return;
    std::unique_ptr<upstream::Node> old = std::move(nodes_[i]);
    infos_[i] = info;
    core_.forget_node(i);
    metrics_.forget_node(i);
    outstanding_[i] = 0;  // the old node's calls end on it, counted against nothing
    if (info && response_bytes_max_) {
        upstream::NodeOptions options = info->options;
        options.response_limits.body_bytes_max = response_bytes_max_;
        nodes_[i] = std::make_unique<upstream::Node>(loop_, options);
    } else if (info) {
        nodes_[i] = std::make_unique<upstream::Node>(loop_, info->options);
    }
    // Retired after the slot changed: the calls it fails may fail over, never back to it.
    if (old) retire_node(std::move(old));
}

void EngineListener::retire_node(std::unique_ptr<upstream::Node> node) {
    retiring_.push_back(std::move(node));
    retiring_.back()->retire();
    if (!reap_timer_.armed()) loop_.timer_start(&reap_timer_, loop_.now_ns() + reap_interval_ns);
}

void EngineListener::on_reap_timer(io::Timer* timer) {
    static_cast<EngineListener*>(timer->owner)->reap_retired();
}

void EngineListener::reap_retired() {
    // A timer callback runs outside every completion, so a retired Node may be freed here.
    for (size_t k = 0; k < retiring_.size();) {
        if (!retiring_[k]->retired()) {
            k++;
            continue;
        }
        EM_LOG_INFO("removed node %s: its calls are done and its connections closed",
                    retiring_[k]->name().c_str());
        retiring_[k] = std::move(retiring_.back());
        retiring_.pop_back();
    }
    if (!retiring_.empty()) loop_.timer_start(&reap_timer_, loop_.now_ns() + reap_interval_ns);
}

pipeline::NodeView EngineListener::node(size_t i) const {
    pipeline::NodeView v;
    const upstream::NodeInfo* info = infos_[i];
    if (!info || !nodes_[i]) return v;
    upstream::NodeHealth h = board_.read(i);
    v.present = true;
    v.voter = info->role == upstream::NodeRole::voter;
    v.health = health_of(h.state);
    v.latency_ewma_us = h.latency_ewma_us;
    v.timeout_ms = info->timeout_ms;
    v.name = info->name;
    v.head_number = h.head_number;
    v.finalized_number = h.finalized_number;
    v.outstanding = outstanding_[i];
    v.breaker_open = role_ && role_->node_blocked(i);
    std::memcpy(v.client, h.client, sizeof v.client);
    return v;
}

// ---------------------------------------------------------------------------------------------
// Requests in

void EngineListener::reply_http_error(http::ServerConn& conn, int status,
                                      std::string_view message) {
    ByteBuffer& out = conn.out();
    out.clear();
    int code = status == 401 ? jsonrpc::code::server_error : jsonrpc::code::invalid_request;
    if (conn.websocket()) {  // the rpc role's WebSocket message: the JSON-RPC error alone
        jsonrpc::write_error(out, "null", code, message);
        conn.ws_send_text(out.view());
        return;
    }
    size_t mark = http::begin_response(out, status, "application/json", conn.keep_alive());
    jsonrpc::write_error(out, "null", code, message);
    http::end_response(out, mark);
    conn.send();
}

void EngineListener::on_request(http::ServerConn& conn, const http::Request& request) {
    if (role_ && role_->serve_plain(conn, request)) return;
    if (request.method != http::Method::post) {
        pipeline::bump(metrics_.http_bad_requests);
        reply_http_error(conn, 405, "use POST with a JSON-RPC body");
        return;
    }
    if (!json_content_type(request.content_type)) {
        pipeline::bump(metrics_.http_bad_requests);
        reply_http_error(conn, 415, "Content-Type must be application/json");
        return;
    }
    Result<pipeline::Origin> origin = pipeline::Origin{};
    if (role_) {
        origin = role_->admit(conn, request);
    } else if (auto auth = jwt_->verify_authorization(request.authorization, wall_s()); !auth) {
        origin = Unexpected(auth.error());
    }
    if (!origin) {
        pipeline::bump(metrics_.http_unauthorized);
        EM_LOG_LIMITED(LogLevel::warn, 1, "rejected a consensus-client request: %s",
                       origin.error().c_str());
        reply_http_error(conn, 401, origin.error().message());
        return;
    }
    std::string_view body = request.body;
    size_t capacity = conn.readable_bytes_from(body.data());
    if (role_) role_->admitted(body, capacity);
    core_.on_request(remember(conn, *origin), body.data(), body.size(), capacity, conn.request_ns(),
                     mono_ns(), *origin);
}

bool EngineListener::runnable(const http::Request& request) {
    return request.method == http::Method::post && json_content_type(request.content_type);
}

void EngineListener::run_deferred(http::ServerConn& conn, const pipeline::Origin& origin,
                                  std::string_view body, size_t capacity) {
    if (role_) role_->admitted(body, capacity);
    core_.on_request(remember(conn, origin), body.data(), body.size(), capacity, conn.request_ns(),
                     mono_ns(), origin);
}

uint64_t EngineListener::remember(http::ServerConn& conn, const pipeline::Origin& origin) {
    uint32_t i;
    if (!free_clients_.empty()) {
        i = free_clients_.back();
        free_clients_.pop_back();
        clients_[i] = conn.ref();
        origins_[i] = origin;
    } else {
        i = static_cast<uint32_t>(clients_.size());
        clients_.push_back(conn.ref());
        origins_.push_back(origin);
    }
    return i;
}

// ---------------------------------------------------------------------------------------------
// pipeline::Shell

void EngineListener::send(uint64_t tag, size_t node, std::string_view body, bool ordered,
                          uint64_t deadline_ns) {
    CallSlot* slot;
    if (!free_calls_.empty()) {
        slot = free_calls_.back();
        free_calls_.pop_back();
    } else {
        calls_.push_back(std::make_unique<CallSlot>(*this));
        slot = calls_.back().get();
    }
    slot->tag = tag;
    slot->node = node;
    slot->call = upstream::Call{};
    slot->call.body = body;
    slot->call.deadline_ns = deadline_ns;
    slot->call.done = slot;
    slot->ordered = ordered;
    upstream::Node& n = *nodes_[node];
    outstanding_[node]++;
    if (role_) role_->node_sending(node);
    if (ordered) {
        // An engine call: its answer is due within milliseconds, so the loop polls instead of
        // sleeping until the last one is in or poll_ns_ after this send (a hung node costs
        // poll_ns_, not its whole deadline). Engine calls are a few per slot: this costs a
        // fraction of a percent of a core, where spin_us costs all of it.
        engine_in_flight_++;
        if (poll_ns_) loop_.poll_until(mono_ns() + poll_ns_);
        n.submit_ordered(slot->call);
    } else {
        n.submit(slot->call);
    }
    metrics_.lane_depth[node].store(n.lane_depth(), std::memory_order_relaxed);
}

void EngineListener::wake(uint64_t call, uint64_t at_ns) {
    Wake* w;
    if (!free_wakes_.empty()) {
        w = free_wakes_.back();
        free_wakes_.pop_back();
    } else {
        wakes_.push_back(std::make_unique<Wake>());
        w = wakes_.back().get();
        w->self = this;
        w->timer.fn = on_wake_timer;
        w->timer.owner = w;
    }
    w->call = call;
    loop_.timer_start(&w->timer, at_ns);
}

void EngineListener::on_wake_timer(io::Timer* timer) {
    auto* w = static_cast<Wake*>(timer->owner);
    EngineListener& self = *w->self;
    self.free_wakes_.push_back(w);  // first: on_wake may ask for another wake
    self.core_.on_wake(w->call, mono_ns());
}

void EngineListener::on_call_done(CallSlot& slot, const http::Response* response,
                                  const Error* error) {
    size_t i = slot.node;
    pipeline::NodeReply reply;
    reply.node = i;
    // The Node that took the call is alive during this callback even if it was removed since.
    reply.current = nodes_[i].get() == slot.call.node;
    reply.sent_ns = slot.call.sent_ns;
    reply.error = error;
    if (response) {
        reply.http_status = response->status;
        reply.body = response->body;
    }
    if (nodes_[i]) {
        metrics_.lane_depth[i].store(nodes_[i]->lane_depth(), std::memory_order_relaxed);
    }
    if (reply.current && outstanding_[i] > 0) outstanding_[i]--;
    if (slot.ordered && --engine_in_flight_ == 0) loop_.poll_until(0);
    if (role_) role_->node_replied(reply);
    core_.on_reply(slot.tag, reply, mono_ns());
    free_calls_.push_back(&slot);
}

void EngineListener::answer(uint64_t client, int http_status, std::string_view body) {
    http::ConnRef ref = clients_[client];
    clients_[client] = http::ConnRef{};
    free_clients_.push_back(static_cast<uint32_t>(client));
    if (role_) role_->answered(origins_[client]);
    if (!ref.valid()) return;  // the client went away
    http::ServerConn& conn = *ref.conn;
    if (conn.websocket()) {  // the rpc role's WebSocket message: its answer is one text frame
        if (!body.empty()) conn.ws_send_text(body);
        return;
    }
    ByteBuffer& out = conn.out();
    out.clear();
    if (body.empty()) {
        // Only notifications: JSON-RPC answers nothing (204, or the node's own empty 200).
        http::write_response(out, http_status, http_status == 204 ? "" : "application/json", {},
                             conn.keep_alive());
    } else {
        size_t mark = http::begin_response(out, http_status, "application/json", conn.keep_alive());
        out.append(body);
        http::end_response(out, mark);
    }
    conn.send();
}

bool EngineListener::client_waiting(uint64_t client) const {
    return clients_[client].valid();
}

void EngineListener::node_failed(size_t node, const Error& error) {
    board_.report_failure(node, error.message(), loop_.now_ns());
}

uint64_t EngineListener::now_ns() const {
    return mono_ns();
}

}  // namespace em::listener
