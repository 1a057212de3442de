#include "redis/client.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <utility>

#include "base/assert.h"
#include "base/log.h"
#include "http/target.h"

namespace em::redis {

namespace {

constexpr uint64_t ms_to_ns(uint32_t ms) {
    return uint64_t{ms} * 1'000'000ull;
}

/// Strict decimal in [min, max], no sign, no leading zero.
bool parse_decimal(std::string_view text, uint32_t min, uint32_t max, uint32_t& out) {
    if (text.empty() || text.size() > 10 || (text.size() > 1 && text[0] == '0')) return false;
    uint64_t v = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + static_cast<uint64_t>(c - '0');
    }
    if (v < min || v > max) return false;
    out = static_cast<uint32_t>(v);
    return true;
}

Result<std::string> decode_credential(std::string_view text, const char* what) {
    char out[256];
    auto decoded = http::percent_decode(text, out);
    if (!decoded) {
        Error e = decoded.error();
        e.prefix(what);
        return Unexpected(e);
    }
    return std::string(*decoded);
}

bool host_chars_ok(std::string_view host, bool ipv6) {
    for (char c : host) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || (ipv6 ? c == ':' : c == '-');
        if (!ok) return false;
    }
    return !host.empty();
}

/// host[:port] or [v6][:port] into url.
Result<void> parse_host_port(std::string_view text, Url& url) {
    std::string_view host = text;
    std::string_view port;
    bool ipv6 = !text.empty() && text[0] == '[';
    if (ipv6) {
        size_t close = text.find(']');
        if (close == std::string_view::npos) return fail(Errc::invalid_input, "redis URL: no ']'");
        host = text.substr(1, close - 1);
        std::string_view after = text.substr(close + 1);
        if (!after.empty() && after[0] != ':')
            return fail(Errc::invalid_input, "redis URL: bytes after ']' that are no :port");
        if (!after.empty()) port = after.substr(1);
    } else if (size_t colon = text.find(':'); colon != std::string_view::npos) {
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
        if (port.find(':') != std::string_view::npos)
            return fail(Errc::invalid_input, "redis URL: write an IPv6 host as [addr]");
    }
    if (!host_chars_ok(host, ipv6) || host.size() > 253)
        return fail(Errc::invalid_input, "redis URL: the host is empty, too long or not a name");
    uint32_t port_value = 6379;
    if (!port.empty() || text.ends_with(':')) {
        if (!parse_decimal(port, 1, 65535, port_value))
            return fail(Errc::invalid_input, "redis URL: the port is not 1..65535");
    }
    url.host = std::string(host);
    url.port = static_cast<uint16_t>(port_value);
    return {};
}

}  // namespace

Result<Url> parse_url(std::string_view text) {
    if (text.starts_with("rediss://"))
        return fail(Errc::unsupported, "redis URL: rediss:// (TLS) is not supported");
    if (!text.starts_with("redis://"))
        return fail(Errc::invalid_input, "redis URL: must start with redis://");
    std::string_view rest = text.substr(8);
    if (rest.find_first_of("?#") != std::string_view::npos)
        return fail(Errc::invalid_input, "redis URL: no query string or fragment is taken");
    size_t slash = rest.find('/');
    std::string_view authority = rest.substr(0, slash);
    std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
    Url url;
    if (size_t at = authority.rfind('@'); at != std::string_view::npos) {
        std::string_view userinfo = authority.substr(0, at);
        size_t colon = userinfo.find(':');
        if (colon == std::string_view::npos)
            return fail(Errc::invalid_input, "redis URL: write credentials as user:pass or :pass");
        url.user = EM_TRY(decode_credential(userinfo.substr(0, colon), "redis URL user"));
        url.password = EM_TRY(decode_credential(userinfo.substr(colon + 1), "redis URL password"));
        if (url.password.empty()) return fail(Errc::invalid_input, "redis URL: empty password");
        authority = authority.substr(at + 1);
    }
    EM_TRY_VOID(parse_host_port(authority, url));
    if (!path.empty() && !parse_decimal(path, 0, 9999, url.db))
        return fail(Errc::invalid_input, "redis URL: the database (after '/') is not 0..9999");
    return url;
}

Result<ClientConfig> client_config(std::string_view url, const ClientConfig& base) {
    Url parsed = EM_TRY(parse_url(url));
    ClientConfig config = base;
    config.address = EM_TRY(io::resolve(parsed.host, parsed.port));
    config.user = std::move(parsed.user);
    config.password = std::move(parsed.password);
    config.db = parsed.db;
    return config;
}

// ---- Client ----

Client::Client(io::Loop& loop, const ClientConfig& config)
    : loop_(loop),
      config_(config),
      slots_(size_t{config.in_flight_max} + 4),
      sending_(config.send_bytes_max, 4096),
      queued_(config.send_bytes_max, 4096),
      // A partial reply plus the recv that completes it.
      in_(config.reply_limits.reply_bytes_max + loop.buffer_bytes(), 16384),
      reader_(config.reply_limits) {
    EM_ASSERT(config_.in_flight_max >= 1 && config_.timeout_ms >= 1);
    char address[64];
    std::snprintf(name_, sizeof name_, "redis %s", config_.address.format(address, sizeof address));
    for (Command& c : handshake_) c.handler = this;
    probe_.handler = this;
    connect_c_ = {on_connect, this};
    recv_c_ = {on_recv, this};
    send_c_ = {on_send, this};
    close_c_ = {on_close, this};
    deadline_timer_.fn = on_deadline;
    deadline_timer_.owner = this;
    probe_timer_.fn = on_probe_timer;
    probe_timer_.owner = this;
    connect_timer_.fn = on_connect_timer;
    connect_timer_.owner = this;
}

Client::~Client() {
    bool ops = recv_armed_ || send_in_flight_ || connect_in_flight_ || close_in_flight_;
    // A completion still to come would be delivered into freed memory (see the header).
    EM_ASSERT(!ops || loop_.ended());
    loop_.timer_cancel(&deadline_timer_);
    loop_.timer_cancel(&probe_timer_);
    loop_.timer_cancel(&connect_timer_);
    if (fd_ >= 0) ::close(fd_);
}

void Client::start() {
    EM_ASSERT(!started_);
    started_ = true;
    connect();
}

bool Client::stopped() const {
    return health_ == Health::stopping && conn_ == Conn::disconnected && count_ == 0 &&
           !recv_armed_ && !send_in_flight_ && !connect_in_flight_ && !close_in_flight_;
}

Result<void> Client::admit_check() const {
    if (health_ == Health::stopping) return failf(Errc::closed, "%s: stopping", name_);
    if (health_ != Health::admitted) return failf(Errc::busy, "%s is benched", name_);
    if (count_ >= config_.in_flight_max)
        return failf(Errc::busy, "%s: %u commands in flight", name_, count_);
    return {};
}

Result<void> Client::send(Command& command, std::span<const std::string_view> args) {
    EM_ASSERT(command.handler != nullptr && !command.in_flight);
    auto ok = admit_check();
    if (ok) ok = enqueue(&command, args, false, loop_.now_ns() + ms_to_ns(config_.timeout_ms));
    if (!ok) stats_.refused++;
    return ok;
}

Result<void> Client::send_and_forget(std::span<const std::string_view> args) {
    auto ok = admit_check();
    if (ok) ok = enqueue(nullptr, args, false, loop_.now_ns() + ms_to_ns(config_.timeout_ms));
    if (!ok) stats_.refused++;
    return ok;
}

Result<void> Client::enqueue(Command* command, std::span<const std::string_view> args,
                             bool internal, uint64_t deadline_ns) {
    EM_ASSERT(count_ < slots_.size());
    EM_TRY_VOID(write_command(queued_, args));
    // Replies come in send order, so deadlines are kept in that order too (one timer watches
    // the oldest): a command never gets an earlier deadline than the one sent before it.
    if (count_ > 0) deadline_ns = std::max(deadline_ns, slot_at(count_ - 1).deadline_ns);
    slot_at(count_) = {command, deadline_ns, internal};
    count_++;
    if (command) command->in_flight = true;
    stats_.sent++;
    if (!deadline_timer_.armed()) arm_deadline();
    flush();
    return {};
}

void Client::flush() {
    if (conn_ != Conn::ready && conn_ != Conn::handshaking) return;
    if (send_in_flight_ || queued_.empty()) return;
    // The send in flight reads sending_; new commands go to queued_ meanwhile.
    std::swap(sending_, queued_);
    queued_.clear();
    sent_ = 0;
    send_in_flight_ = true;
    loop_.send(&send_c_, fd_, sending_.data(), sending_.size());
}

void Client::on_send(io::Completion* c, int32_t result, uint32_t) {
    auto* self = static_cast<Client*>(c->owner);
    self->send_in_flight_ = false;
    if (self->conn_ == Conn::closing) {
        self->finish_close();
        return;
    }
    if (result < 0) {
        self->stats_.connection_failures++;
        self->close_connection(Error::fmt(Errc::closed, "send: %s", std::strerror(-result)));
        return;
    }
    self->sent_ += static_cast<size_t>(result);
    if (self->sent_ < self->sending_.size()) {
        self->send_in_flight_ = true;
        self->loop_.send(&self->send_c_, self->fd_, self->sending_.data() + self->sent_,
                         self->sending_.size() - self->sent_);
        return;
    }
    self->sending_.clear();
    self->flush();
}

void Client::connect() {
    stats_.connects++;
    auto fd = io::tcp_socket_for(config_.address);
    if (!fd) {
        stats_.connection_failures++;
        bench(fd.error());  // the probe timer tries again
        return;
    }
    fd_ = *fd;
    conn_ = Conn::connecting;
    connect_in_flight_ = true;
    loop_.connect(&connect_c_, fd_, config_.address.get(), config_.address.length);
    loop_.timer_start(&connect_timer_, loop_.now_ns() + ms_to_ns(config_.connect_timeout_ms));
}

void Client::on_connect(io::Completion* c, int32_t result, uint32_t) {
    auto* self = static_cast<Client*>(c->owner);
    self->connect_in_flight_ = false;
    self->loop_.timer_cancel(&self->connect_timer_);
    if (self->conn_ == Conn::closing) {
        self->finish_close();
        return;
    }
    if (result < 0) {
        self->stats_.connection_failures++;
        self->close_connection(Error::fmt(Errc::closed, "connect: %s", std::strerror(-result)));
        return;
    }
    io::set_nodelay(self->fd_);
    self->loop_.recv_multishot(&self->recv_c_, self->fd_);
    self->recv_armed_ = true;
    self->conn_ = Conn::handshaking;
    self->handshake();
}

void Client::on_connect_timer(io::Timer* t) {
    auto* self = static_cast<Client*>(t->owner);
    if (self->conn_ != Conn::connecting) return;
    self->stats_.connection_failures++;
    self->close_connection(
        Error::fmt(Errc::timeout, "connect took over %u ms", self->config_.connect_timeout_ms));
}

void Client::handshake() {
    // AUTH, SELECT and PING pipelined; the PING's PONG admits the client (on_reply).
    uint64_t deadline = loop_.now_ns() + ms_to_ns(config_.connect_timeout_ms);
    Result<void> ok;
    if (!config_.password.empty()) {
        std::string_view with_user[] = {"AUTH", config_.user, config_.password};
        std::string_view without[] = {"AUTH", config_.password};
        ok = config_.user.empty() ? enqueue(&handshake_[0], without, true, deadline)
                                  : enqueue(&handshake_[0], with_user, true, deadline);
    }
    if (ok && config_.db != 0) {
        char db[12];
        auto [end, ec] = std::to_chars(db, db + sizeof db, config_.db);
        (void)ec;  // 12 bytes hold every uint32_t
        std::string_view select[] = {"SELECT", std::string_view(db, static_cast<size_t>(end - db))};
        ok = enqueue(&handshake_[1], select, true, deadline);
    }
    std::string_view ping[] = {"PING"};
    if (ok) ok = enqueue(&handshake_[2], ping, true, deadline);
    if (!ok) close_connection(ok.error());
}

void Client::on_reply(Command& command, const Reply* reply, const Error* error) {
    // The client's own commands. A timeout or a failed connection has already closed it (or
    // is closing it): nothing more to do.
    if (error) return;
    bool ping = &command == &handshake_[2] || &command == &probe_;
    bool ok = reply->kind() == Kind::simple && (!ping || reply->str() == "PONG");
    if (!ok) {
        // A misconfiguration as often as not (a wrong password, NOAUTH, a database out of
        // range): say what Redis said.
        const char* what = ping ? "PING" : &command == &handshake_[0] ? "AUTH" : "SELECT";
        std::string_view text = reply->str();
        EM_LOG_LIMITED(LogLevel::error, 1, "%s: %s answered with %s '%.*s'", name_, what,
                       kind_name(reply->kind()),
                       static_cast<int>(std::min<size_t>(text.size(), 200)), text.data());
        stats_.connection_failures++;
        close_connection(
            Error::fmt(ping ? Errc::invalid_input : Errc::unauthorized, "%s refused", what));
        return;
    }
    if (!ping) return;  // AUTH or SELECT done; the PING that follows admits
    if (conn_ == Conn::handshaking) conn_ = Conn::ready;
    admit();
}

void Client::on_recv(io::Completion* c, int32_t result, uint32_t flags) {
    auto* self = static_cast<Client*>(c->owner);
    if (!io::cqe_more(flags)) self->recv_armed_ = false;
    bool live = self->conn_ == Conn::ready || self->conn_ == Conn::handshaking;
    if (result > 0) {
        uint16_t id = io::cqe_buffer_id(flags);
        if (live) self->handle_bytes(self->loop_.buffer_data(id), static_cast<size_t>(result));
        self->loop_.release_buffer(id);
    } else if (result != -ENOBUFS) {
        if (live) {
            self->stats_.connection_failures++;
            self->close_connection(
                result == 0 ? Error(Errc::closed, "the server closed it")
                            : Error::fmt(Errc::closed, "recv: %s", std::strerror(-result)));
        }
    }
    if (self->conn_ == Conn::closing) {
        self->finish_close();
        return;
    }
    bool still_live = self->conn_ == Conn::ready || self->conn_ == Conn::handshaking;
    if (!self->recv_armed_ && self->fd_ >= 0 && still_live) {
        self->loop_.recv_multishot(&self->recv_c_, self->fd_);
        self->recv_armed_ = true;
    }
}

void Client::handle_bytes(const char* data, size_t bytes) {
    if (!in_.append(data, bytes)) {
        stats_.connection_failures++;
        close_connection(Error::fmt(Errc::too_large, "a reply over %zu bytes",
                                    config_.reply_limits.reply_bytes_max));
        return;
    }
    read_replies();
}

void Client::read_replies() {
    size_t used = 0;
    while (used < in_.size() && (conn_ == Conn::ready || conn_ == Conn::handshaking)) {
        std::string_view input = in_.view().substr(used);
        auto complete = reader_.parse(input);
        if (!complete) {
            stats_.connection_failures++;
            close_connection(complete.error());
            return;
        }
        if (!*complete) break;
        used += reader_.consumed();
        stats_.replies++;
        if (count_ == 0) {
            stats_.connection_failures++;
            close_connection(Error(Errc::invalid_input, "a reply to no command"));
            return;
        }
        Slot slot = slot_at(0);
        head_ = static_cast<uint32_t>((head_ + 1) % slots_.size());
        count_--;
        if (expired_ > 0) {  // its caller was told it timed out
            expired_--;
            stats_.late_replies++;
        } else {
            Reply reply = reader_.reply(input);
            if (reply.is_error()) stats_.error_replies++;
            deliver(slot, &reply, nullptr);
        }
        reader_.reset();
    }
    in_.consume_front(used);
    arm_deadline();
    maybe_finish_stop();
}

void Client::deliver(Slot slot, const Reply* reply, const Error* error) {
    if (!slot.command) return;
    slot.command->in_flight = false;
    slot.command->handler->on_reply(*slot.command, reply, error);
}

void Client::arm_deadline() {
    if (count_ > expired_)
        loop_.timer_start(&deadline_timer_, slot_at(expired_).deadline_ns);
    else
        loop_.timer_cancel(&deadline_timer_);
}

void Client::on_deadline(io::Timer* t) {
    static_cast<Client*>(t->owner)->expire_due();
}

void Client::expire_due() {
    uint64_t now = loop_.now_ns();
    Error why = Error::fmt(Errc::timeout, "no answer within %u ms", config_.timeout_ms);
    Error error = why;  // what the handlers are told: with the client's name
    error.prefix(name_);
    bool internal = false;
    while (expired_ < count_ && slot_at(expired_).deadline_ns <= now) {
        Slot slot = slot_at(expired_);
        slot_at(expired_).command = nullptr;  // its reply, if it comes, is dropped
        expired_++;
        stats_.timeouts++;
        internal = internal || slot.internal;
        bench(why);  // first, so that handlers calling send() are refused
        deliver(slot, nullptr, &error);
    }
    // A handshake or probe that timed out: the connection is no use (a hung server); the next
    // probe makes a fresh one.
    if (internal && conn_ != Conn::closing && conn_ != Conn::disconnected)
        close_connection(Error(Errc::timeout, "a handshake or probe timed out"));
    else
        arm_deadline();
    maybe_finish_stop();
}

void Client::bench(const Error& why) {
    if (health_ == Health::stopping) return;
    if (health_ == Health::admitted) {
        stats_.benched++;
        EM_LOG_LIMITED(LogLevel::warn, 1, "%s benched (probed every %u ms): %s", name_,
                       config_.probe_interval_ms, why.c_str());
    }
    health_ = Health::benched;
    if (!probe_timer_.armed())
        loop_.timer_start(&probe_timer_, loop_.now_ns() + ms_to_ns(config_.probe_interval_ms));
}

void Client::admit() {
    if (health_ != Health::benched) return;
    health_ = Health::admitted;
    stats_.admitted++;
    loop_.timer_cancel(&probe_timer_);
    EM_LOG_LIMITED(LogLevel::info, 1, "%s admitted", name_);
}

void Client::on_probe_timer(io::Timer* t) {
    static_cast<Client*>(t->owner)->probe();
}

void Client::probe() {
    if (health_ != Health::benched) return;
    loop_.timer_start(&probe_timer_, loop_.now_ns() + ms_to_ns(config_.probe_interval_ms));
    stats_.probes++;
    if (conn_ == Conn::disconnected) {
        connect();
        return;
    }
    // Connecting or handshaking: their own deadlines decide. Closing: the next probe connects.
    if (conn_ != Conn::ready || probe_.in_flight) return;
    std::string_view ping[] = {"PING"};
    auto ok = enqueue(&probe_, ping, true, loop_.now_ns() + ms_to_ns(config_.timeout_ms));
    if (!ok) close_connection(ok.error());
}

void Client::close_connection(const Error& why) {
    if (conn_ == Conn::disconnected || conn_ == Conn::closing) return;
    bench(why);  // first: handlers told below may call send(), which must be refused
    conn_ = Conn::closing;
    loop_.timer_cancel(&connect_timer_);
    loop_.timer_cancel(&deadline_timer_);
    loop_.close_socket(fd_,
                       {recv_armed_ ? &recv_c_ : nullptr, send_in_flight_ ? &send_c_ : nullptr,
                        connect_in_flight_ ? &connect_c_ : nullptr},
                       &close_c_);
    close_in_flight_ = true;
    fd_ = -1;
    queued_.clear();
    Error closed = why;
    closed.prefix(name_);
    while (count_ > 0) {
        Slot slot = slot_at(0);
        head_ = static_cast<uint32_t>((head_ + 1) % slots_.size());
        count_--;
        if (expired_ > 0) expired_--;
        deliver(slot, nullptr, &closed);
    }
}

void Client::on_close(io::Completion* c, int32_t, uint32_t) {
    auto* self = static_cast<Client*>(c->owner);
    self->close_in_flight_ = false;
    self->finish_close();
}

void Client::finish_close() {
    if (recv_armed_ || send_in_flight_ || connect_in_flight_ || close_in_flight_) return;
    conn_ = Conn::disconnected;
    in_.clear();
    reader_.reset();
    sending_.clear();
    queued_.clear();
    sent_ = 0;
    maybe_finish_stop();
}

void Client::stop() {
    health_ = Health::stopping;
    loop_.timer_cancel(&probe_timer_);
    maybe_finish_stop();
}

void Client::maybe_finish_stop() {
    if (health_ != Health::stopping) return;
    if (count_ > expired_) return;  // commands still waiting for their reply or deadline
    if (conn_ != Conn::disconnected && conn_ != Conn::closing)
        close_connection(Error(Errc::closed, "stopping"));
}

}  // namespace em::redis
