#include "listener/rpc_subs.h"

#include <simdjson.h>
#include <sys/random.h>

#include <algorithm>
#include <cstdio>

#include "base/clock.h"

namespace em::listener {

namespace {

simdjson::dom::parser& parser() {
    static thread_local simdjson::dom::parser p;
    return p;
}

std::string error_answer(std::string_view id, int code, std::string_view message) {
    std::string out = "{\"jsonrpc\":\"2.0\",\"id\":";
    out.append(id).append(",\"error\":{\"code\":");
    out.append(std::to_string(code)).append(",\"message\":\"").append(message).append("\"}}");
    return out;
}

std::string result_answer(std::string_view id, std::string_view result) {
    std::string out = "{\"jsonrpc\":\"2.0\",\"id\":";
    out.append(id).append(",\"result\":").append(result).append("}");
    return out;
}

}  // namespace

ShardHeads::ShardHeads(io::Loop& loop, HeadsFeed& feed, uint32_t per_connection_max)
    : feed_(feed), per_connection_max_(per_connection_max) {
    if (getrandom(&prefix_, sizeof prefix_, 0) != sizeof prefix_) prefix_ = wall_ns() ^ mono_ns();
    shard_ = feed_.add_shard(loop, *this);
}

ShardHeads::~ShardHeads() {
    feed_.remove_shard(shard_);
    feed_.subscribers_delta(-static_cast<int64_t>(subs_.size()));
}

bool ShardHeads::handle(http::ServerConn& conn, std::string_view message) {
    // Only a message that names the methods is parsed here; every other one costs a search.
    if (message.find("eth_subscribe") == std::string_view::npos &&
        message.find("eth_unsubscribe") == std::string_view::npos) {
        return false;
    }
    simdjson::dom::object req;
    std::string_view method;
    if (parser().parse(message.data(), message.size(), true).get_object().get(req) ||
        req["method"].get_string().get(method)) {
        return false;  // a batch or a malformed request: the listener's path answers it
    }
    if (method != "eth_subscribe" && method != "eth_unsubscribe") return false;
    simdjson::dom::element id_el;
    std::string id = req["id"].get(id_el) ? "null" : simdjson::minify(id_el);
    simdjson::dom::array params;
    std::string_view first;
    bool has_first =
        !req["params"].get_array().get(params) && !params.at(0).get_string().get(first);
    std::string answer;
    if (!has_first) {
        answer = error_answer(id, -32602, std::string(method) + ": params must be [\"...\"]");
    } else if (method == "eth_subscribe") {
        answer = subscribe(conn, first, id);
    } else {
        answer = unsubscribe(conn, first, id);
    }
    (void)conn.ws_send_text(answer);
    return true;
}

std::string ShardHeads::subscribe(http::ServerConn& conn, std::string_view kind,
                                  std::string_view id) {
    if (kind != "newHeads") {
        return error_answer(id, -32602,
                            "eth_subscribe: only newHeads is served (logs, newPendingTransactions "
                            "and syncing are not yet)");
    }
    if (!feed_.serves()) {
        return error_answer(id, -32000,
                            "eth_subscribe: no node has a ws_url ([[nodes]] ws_url) to feed it");
    }
    size_t mine = static_cast<size_t>(std::count_if(
        subs_.begin(), subs_.end(), [&](const Sub& s) { return s.conn.conn == &conn; }));
    if (mine >= per_connection_max_) {
        char text[160];
        std::snprintf(text, sizeof text,
                      "eth_subscribe: [rpc.ws] subscriptions_per_connection_max (%u) reached",
                      per_connection_max_);
        return error_answer(id, -32005, text);
    }
    Sub s;
    s.conn = conn.ref();
    std::snprintf(s.id.data(), s.id.size(), "0x%016llx%016llx",
                  static_cast<unsigned long long>(prefix_),
                  static_cast<unsigned long long>(++counter_));
    subs_.push_back(s);
    feed_.subscribers_delta(1);
    return result_answer(id, "\"" + std::string(s.id.data(), 34) + "\"");
}

std::string ShardHeads::unsubscribe(http::ServerConn& conn, std::string_view sub,
                                    std::string_view id) {
    for (size_t i = 0; i < subs_.size(); i++) {
        if (subs_[i].conn.conn != &conn || std::string_view(subs_[i].id.data(), 34) != sub) {
            continue;
        }
        remove(i);
        return result_answer(id, "true");
    }
    return result_answer(id, "false");
}

void ShardHeads::remove(size_t at) {
    subs_[at] = subs_.back();
    subs_.pop_back();
    feed_.subscribers_delta(-1);
}

void ShardHeads::on_closed(http::ServerConn& conn) {
    for (size_t i = subs_.size(); i-- > 0;) {
        if (subs_[i].conn.conn == &conn) remove(i);
    }
}

void ShardHeads::on_head(std::string_view head) {
    for (size_t i = subs_.size(); i-- > 0;) {
        Sub& s = subs_[i];
        if (!s.conn.valid()) {
            remove(i);
            continue;
        }
        note_.assign(
            "{\"jsonrpc\":\"2.0\",\"method\":\"eth_subscription\",\"params\":{"
            "\"subscription\":\"");
        note_.append(s.id.data(), 34).append("\",\"result\":").append(head).append("}}");
        // A full send queue closes that client with 1008 (net/ws_conn.h); the others go on.
        (void)s.conn.conn->ws_send_text(note_);
    }
}

}  // namespace em::listener
