#include "listener/heads_feed.h"

#include <poll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/clock.h"
#include "base/log.h"
#include "http/parser.h"
#include "http/websocket.h"

namespace em::listener {

namespace sub = pipeline::subs;

namespace {

constexpr int poll_ms = 50;
constexpr int connect_timeout_ms = 2000;
constexpr size_t handshake_bytes_max = 16 * 1024;

uint64_t splitmix(uint64_t& state) {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

}  // namespace

/// One head shared by the shards it was posted to; the last to take it frees it.
struct HeadsFeed::Delivery {
    HeadsFeed* feed = nullptr;
    std::atomic<int> refs{0};
    std::string head;
};

HeadsFeed::HeadsFeed(const sub::HubConfig& config, std::vector<FeedNode> nodes)
    : hub_(config, nodes.size()), nodes_(std::move(nodes)) {
    for (size_t i = 0; i < nodes_.size(); i++) hub_.set_node(i, nodes_[i].has_ws, true);
    if (getrandom(&mask_state_, sizeof mask_state_, 0) != sizeof mask_state_) {
        mask_state_ = mono_ns() ^ wall_ns();
    }
}

HeadsFeed::~HeadsFeed() {
    stop();
}

bool HeadsFeed::serves() const {
    return std::any_of(nodes_.begin(), nodes_.end(), [](const FeedNode& n) { return n.has_ws; });
}

void HeadsFeed::start() {
    thread_ = std::thread([this] { run(); });
}

void HeadsFeed::stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
    close_conn();
}

size_t HeadsFeed::add_shard(io::Loop& loop, HeadsSink& sink) {
    std::lock_guard lock(shards_mutex_);
    EM_ASSERT(shards_.size() < shards_max);
    shards_.push_back(Shard{&loop, &sink});
    return shards_.size() - 1;
}

void HeadsFeed::remove_shard(size_t index) {
    std::lock_guard lock(shards_mutex_);
    shards_[index] = Shard{};
}

void HeadsFeed::deliver_task(void* delivery, uint64_t shard) {
    auto* d = static_cast<Delivery*>(delivery);
    HeadsSink* sink = nullptr;
    {
        std::lock_guard lock(d->feed->shards_mutex_);
        sink = d->feed->shards_[shard].sink;
    }
    if (sink) sink->on_head(d->head);
    if (d->refs.fetch_sub(1) == 1) delete d;
}

void HeadsFeed::post_head(std::string head) {
    auto* d = new Delivery;
    d->feed = this;
    d->head = std::move(head);
    d->refs.store(1);  // ours, given back at the end
    std::lock_guard lock(shards_mutex_);
    for (size_t i = 0; i < shards_.size(); i++) {
        if (!shards_[i].loop) continue;
        d->refs.fetch_add(1);
        if (!shards_[i].loop->post(io::Task{deliver_task, d, i})) {
            d->refs.fetch_sub(1);
            counters_.post_failures.fetch_add(1, std::memory_order_relaxed);
        }
    }
    if (d->refs.fetch_sub(1) == 1) delete d;
}

void HeadsFeed::run() {
    int64_t known = 0;
    uint64_t next_tick_ns = 0;
    while (!stop_.load()) {
        uint64_t now = mono_ns();
        int64_t total = subscribers_.load();
        if (total != known) {
            known = total;
            hub_.subscribers(static_cast<size_t>(std::max<int64_t>(total, 0)), now);
        }
        if (now >= next_tick_ns) {
            if (int64_t best = probed_best(); best > 0)
                hub_.best_head(static_cast<uint64_t>(best), now);
            hub_.tick(now);
            next_tick_ns = now + poll_ms * 1'000'000ull;
        }
        carry_out(now);
        pollfd p{fd_, POLLIN, 0};
        int ready = fd_ >= 0 ? ::poll(&p, 1, poll_ms) : (::usleep(poll_ms * 1000), 0);
        if (ready > 0) on_readable(mono_ns());
        carry_out(mono_ns());
        publish_counters();
    }
}

int64_t HeadsFeed::probed_best() const {
    int64_t best = -1;
    if (!board_) return best;
    for (size_t i = 0; i < upstream::nodes_max; i++) {  // any synced node, whatever its feed
        upstream::NodeHealth h = board_->read(i);
        if (h.present && h.state == upstream::NodeState::synced && h.head_number > best)
            best = h.head_number;
    }
    return best;
}

void HeadsFeed::carry_out(uint64_t now_ns) {
    // Actions may add actions (a failed connect fails over at once): take them in turns.
    while (!hub_.actions().empty()) {
        std::vector<sub::HubAction> batch;
        batch.swap(hub_.actions());
        for (sub::HubAction& a : batch) {
            switch (a.kind) {
                case sub::HubAction::Kind::connect:
                    connect(a.node, now_ns);
                    break;
                case sub::HubAction::Kind::send:
                    if (fd_ >= 0 && a.node == conn_node_) send_text(a.bytes);
                    break;
                case sub::HubAction::Kind::close:
                    if (a.node == conn_node_) close_conn();
                    break;
                case sub::HubAction::Kind::deliver:
                    post_head(std::move(a.bytes));
                    break;
            }
        }
    }
}

void HeadsFeed::close_conn() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    handshaken_ = false;
    in_.clear();
    message_.clear();
}

void HeadsFeed::fail_conn(uint64_t now_ns) {
    size_t node = conn_node_;
    close_conn();
    hub_.on_closed(node, now_ns);
}

/// Connects (blocking, under connect_timeout_ms) and sends the opening handshake.
void HeadsFeed::connect(size_t node, uint64_t now_ns) {
    close_conn();
    conn_node_ = node;
    const FeedNode& n = nodes_[node];
    auto fd = io::tcp_socket_for(n.address);
    if (!fd) return hub_.on_closed(node, now_ns);
    fd_ = *fd;
    timeval tv{connect_timeout_ms / 1000, (connect_timeout_ms % 1000) * 1000};
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (::connect(fd_, n.address.get(), n.address.length) != 0) {
        EM_LOG_WARN("newHeads feed: cannot connect to %s's ws_url: %s", n.name.c_str(),
                    std::strerror(errno));
        return fail_conn(now_ns);
    }
    io::set_nodelay(fd_);
    std::array<uint8_t, 16> nonce{};
    for (size_t i = 0; i < 16; i += 8) {
        uint64_t r = splitmix(mask_state_);
        std::memcpy(nonce.data() + i, &r, 8);
    }
    std::array<char, http::ws_key_chars> key = http::ws_key(nonce);
    key_.assign(key.data(), key.size());
    ByteBuffer out(4096, 1024);
    (void)http::ws_write_upgrade_request(out, n.host, n.target, key_);
    http::WsLimits limits;
    limits.frame_bytes_max = limits.message_bytes_max = message_bytes_max;
    parser_ = std::make_unique<http::WsParser>(limits, http::WsRole::client);
    if (::send(fd_, out.data(), out.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(out.size())) {
        fail_conn(now_ns);
    }
}

void HeadsFeed::send_text(std::string_view text) {
    http::WsMask mask;
    uint64_t r = splitmix(mask_state_);
    std::memcpy(mask.key.data(), &r, 4);
    ByteBuffer out(text.size() + 64, text.size() + 64);
    if (!http::ws_write_text(out, text, &mask)) return;
    // Small messages on a healthy socket; a peer that does not read fails the connection.
    if (::send(fd_, out.data(), out.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(out.size())) {
        fail_conn(mono_ns());
    }
}

void HeadsFeed::on_readable(uint64_t now_ns) {
    char buf[16 * 1024];
    ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) return fail_conn(now_ns);
    in_.append(buf, static_cast<size_t>(n));
    if (!handshaken_) return on_handshake(now_ns);
    on_frames(now_ns);
}

/// The server's answer to the opening handshake: 101 with the right Sec-WebSocket-Accept.
void HeadsFeed::on_handshake(uint64_t now_ns) {
    if (in_.size() > handshake_bytes_max) return fail_conn(now_ns);
    http::Limits limits;
    http::ResponseParser parser{limits};
    parser.expect_upgrade();
    std::string copy = in_;
    copy.reserve(copy.size() + 64);
    http::ParseStatus st = parser.parse(copy.data(), copy.size());
    if (st == http::ParseStatus::incomplete) return;
    Result<void> ok =
        st == http::ParseStatus::complete
            ? http::ws_check_accept(parser.response().status, parser.response().headers, key_)
            : fail(Errc::invalid_input, "malformed answer to the upgrade");
    if (!ok) {
        EM_LOG_WARN("newHeads feed: %s's ws_url refused the WebSocket: %s",
                    nodes_[conn_node_].name.c_str(), ok.error().c_str());
        return fail_conn(now_ns);
    }
    in_.erase(0, parser.consumed());
    handshaken_ = true;
    hub_.on_open(conn_node_, now_ns);
    carry_out(now_ns);
    if (fd_ >= 0 && !in_.empty()) on_frames(now_ns);
}

void HeadsFeed::on_frames(uint64_t now_ns) {
    size_t used = 0;
    while (fd_ >= 0 && used < in_.size()) {
        auto bytes =
            std::span<uint8_t>(reinterpret_cast<uint8_t*>(in_.data()) + used, in_.size() - used);
        http::WsEvent ev = parser_->parse(bytes);
        used += ev.consumed;
        switch (ev.kind) {
            case http::WsEventKind::incomplete:
                break;
            case http::WsEventKind::data:
                message_.append(reinterpret_cast<const char*>(ev.payload.data()),
                                ev.payload.size());
                if (ev.fin) {
                    hub_.on_message(conn_node_, message_, now_ns);
                    message_.clear();
                    carry_out(now_ns);
                }
                break;
            case http::WsEventKind::ping: {
                http::WsMask mask;
                ByteBuffer out(256, 256);
                (void)http::ws_write_frame(out, http::WsOpcode::pong, ev.payload, true, &mask);
                (void)::send(fd_, out.data(), out.size(), MSG_NOSIGNAL);
                break;
            }
            case http::WsEventKind::pong:
                break;
            case http::WsEventKind::close:
            case http::WsEventKind::error:
                return fail_conn(now_ns);
        }
        if (ev.kind == http::WsEventKind::incomplete) break;
    }
    if (fd_ >= 0) in_.erase(0, used);
}

void HeadsFeed::publish_counters() {
    const sub::HubCounters& c = hub_.counters();
    counters_.delivered.store(c.delivered, std::memory_order_relaxed);
    counters_.failovers.store(c.failovers, std::memory_order_relaxed);
    counters_.filled.store(c.filled, std::memory_order_relaxed);
    counters_.duplicates.store(c.duplicates, std::memory_order_relaxed);
    counters_.skipped.store(c.skipped, std::memory_order_relaxed);
}

}  // namespace em::listener
