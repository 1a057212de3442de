#include "mockel/ws_chain.h"

#include <simdjson.h>

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "base/hex.h"
#include "http/websocket.h"

namespace em::mockel {

namespace {

constexpr uint64_t ns_per_ms = 1'000'000;

uint64_t mix64(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

/// Block n's hash: n, then three words mixed from it (64 hex digits with 0x).
std::string hash_of(uint64_t n) {
    char text[67];
    std::snprintf(text, sizeof text, "0x%016llx%016llx%016llx%016llx",
                  static_cast<unsigned long long>(n), static_cast<unsigned long long>(mix64(n)),
                  static_cast<unsigned long long>(mix64(n ^ 1)),
                  static_cast<unsigned long long>(mix64(n ^ 2)));
    return text;
}

uint64_t realtime_ms() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1'000'000;
}

simdjson::dom::parser& parser() {
    static thread_local simdjson::dom::parser p;
    return p;
}

std::string header_body(uint64_t n, uint32_t block_ms) {
    static const std::string zeros64(64, '0');
    static const std::string bloom(512, '0');
    unsigned long long timestamp = chain_epoch_ms / 1000 + n * block_ms / 1000;
    char text[256];
    std::snprintf(text, sizeof text,
                  "\"number\":\"0x%llx\",\"gasLimit\":\"0x1c9c380\",\"gasUsed\":\"0x0\","
                  "\"timestamp\":\"0x%llx\",\"extraData\":\"0x\",\"baseFeePerGas\":\"0x7\"",
                  static_cast<unsigned long long>(n), timestamp);
    return "{\"parentHash\":\"" + hash_of(n ? n - 1 : 0) + "\",\"sha3Uncles\":\"0x" + zeros64 +
           "\",\"miner\":\"0x" + std::string(40, '0') + "\",\"stateRoot\":\"0x" + zeros64 +
           "\",\"transactionsRoot\":\"0x" + zeros64 + "\",\"receiptsRoot\":\"0x" + zeros64 +
           "\",\"logsBloom\":\"0x" + bloom + "\",\"difficulty\":\"0x0\"," + text +
           ",\"mixHash\":\"0x" + zeros64 + "\",\"nonce\":\"0x0000000000000000\",\"hash\":\"" +
           hash_of(n) + "\"";
}

}  // namespace

std::string chain_header(uint64_t n, uint32_t block_ms) {
    return header_body(n, block_ms) + "}";
}

std::string chain_block(uint64_t n, uint32_t block_ms) {
    return header_body(n, block_ms) +
           ",\"size\":\"0x220\",\"transactions\":[],\"uncles\":[],\"withdrawals\":[]}";
}

WsChain::WsChain(uint32_t block_ms, uint32_t connections_max)
    : block_ms_(std::max<uint32_t>(block_ms, 1)), connections_max_(connections_max) {}

WsChain::~WsChain() {
    if (loop_) loop_->timer_cancel(&timer_);
}

Result<void> WsChain::listen(io::Loop& loop, const io::Address& address) {
    loop_ = &loop;
    http::ServerConfig config;
    config.name = "mock-el-ws";
    config.connections_max = connections_max_;
    EM_TRY_VOID(server_.listen(loop, address, *this, config));
    announced_ = head();
    timer_.fn = on_tick;
    timer_.owner = this;
    loop.timer_start(&timer_, loop.now_ns() + block_ms_ * ns_per_ms / 4);
    return {};
}

uint64_t WsChain::head() const {
    if (stopped_) return frozen_head_;
    return realtime_ms() / block_ms_ - chain_epoch_ms / block_ms_;
}

void WsChain::on_tick(io::Timer* timer) {
    auto* self = static_cast<WsChain*>(timer->owner);
    uint64_t now = self->head();
    if (now > self->announced_) {
        // A running chain announces each block; one restarted after a stop, only the head.
        uint64_t from = now - self->announced_ > 1 ? now : self->announced_ + 1;
        for (uint64_t n = from; n <= now; n++) self->announce(n);
        self->announced_ = now;
    }
    self->loop_->timer_start(timer, self->loop_->now_ns() + self->block_ms_ * ns_per_ms / 4);
}

void WsChain::announce(uint64_t n) {
    std::string header = chain_header(n, block_ms_);
    char start[160];
    for (Sub& s : subs_) {
        if (!s.conn.valid()) continue;
        std::snprintf(start, sizeof start,
                      "{\"jsonrpc\":\"2.0\",\"method\":\"eth_subscription\",\"params\":{"
                      "\"subscription\":\"0x%llx\",\"result\":",
                      static_cast<unsigned long long>(s.id));
        (void)s.conn.conn->ws_send_text(std::string(start) + header + "}}");
    }
}

void WsChain::on_request(http::ServerConn& conn, const http::Request& request) {
    Result<http::WsUpgrade> up = http::ws_check_upgrade(request);
    ByteBuffer& out = conn.out();
    out.clear();
    if (!up) {
        http::ws_write_rejection(out, up.error());
        conn.send();
        return;
    }
    (void)http::ws_write_accept(out, *up);
    http::WsConfig ws;
    conn.upgrade_websocket(*this, ws);
}

std::string WsChain::answer(http::ServerConn& conn, std::string_view method, std::string_view id,
                            std::string_view params) {
    std::string prefix = "{\"jsonrpc\":\"2.0\",\"id\":" + std::string(id) + ",\"result\":";
    simdjson::dom::array args;
    if (parser().parse(params.data(), params.size(), true).get_array().get(args)) args = {};
    std::string_view first;
    bool has_first = !args.at(0).get_string().get(first);
    if (method == "eth_subscribe" && has_first && first == "newHeads") {
        uint64_t sub = next_sub_id_++;
        subs_.push_back(Sub{conn.ref(), sub});
        char text[32];
        std::snprintf(text, sizeof text, "\"0x%llx\"}", static_cast<unsigned long long>(sub));
        return prefix + text;
    }
    if (method == "eth_unsubscribe") {
        std::erase_if(subs_, [&](const Sub& s) {
            char text[24];
            std::snprintf(text, sizeof text, "0x%llx", static_cast<unsigned long long>(s.id));
            return s.conn.conn == &conn && first == text;
        });
        return prefix + "true}";
    }
    if (method == "mock_subscriptions") {
        size_t live = static_cast<size_t>(
            std::count_if(subs_.begin(), subs_.end(), [](const Sub& s) { return s.conn.valid(); }));
        return prefix + "{\"live\":" + std::to_string(live) +
               ",\"total\":" + std::to_string(next_sub_id_ - 1) + "}}";
    }
    if (method == "eth_blockNumber") {
        char text[32];
        std::snprintf(text, sizeof text, "\"0x%llx\"}", static_cast<unsigned long long>(head()));
        return prefix + text;
    }
    if (method == "eth_getBlockByNumber" && has_first) {
        Result<uint64_t> n = parse_quantity(first);
        if (first == "latest") n = head();
        if (!n || *n > head()) return prefix + "null}";
        return prefix + chain_block(*n, block_ms_) + "}";
    }
    if (method == "mock_chain" && has_first && (first == "stop" || first == "start")) {
        frozen_head_ = head();
        stopped_ = first == "stop";
        return prefix + "true}";
    }
    return "{\"jsonrpc\":\"2.0\",\"id\":" + std::string(id) +
           ",\"error\":{\"code\":-32601,\"message\":\"the mock's WebSocket does not serve this\"}}";
}

void WsChain::on_ws_message(http::ServerConn& conn, std::string_view message, size_t) {
    simdjson::dom::object req;
    std::string_view method;
    if (parser().parse(message.data(), message.size(), true).get_object().get(req) ||
        req["method"].get_string().get(method)) {
        (void)conn.ws_send_text(
            "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32600,\"message\":\"not a "
            "JSON-RPC request\"}}");
        return;
    }
    std::string m(method);
    simdjson::dom::element id, params;
    std::string id_text = req["id"].get(id) ? "null" : simdjson::minify(id);
    std::string params_text = req["params"].get(params) ? "[]" : simdjson::minify(params);
    (void)conn.ws_send_text(answer(conn, m, id_text, params_text));
}

void WsChain::on_ws_closed(http::ServerConn& conn) {
    std::erase_if(subs_, [&](const Sub& s) { return s.conn.conn == &conn || !s.conn.valid(); });
}

}  // namespace em::mockel
