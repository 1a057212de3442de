// redis::Client: one Redis connection on an io::Loop for the rpc role's shared tier (issue 16:
// answers and rate limits shared by several enginemux instances). Commands are pipelined in
// order on one connection (reconnecting); each has a deadline (`timeout_ms`); a reply that comes
// after it is read and dropped (its caller was told Errc::timeout).
//
// Health, because Redis is an optimisation and never a dependency: the client is *admitted*
// (commands go out) or *benched* (send() refuses at once, so a caller falls back to its
// embedded cache and budgets without waiting). It starts benched, and is benched again by any
// failure: a command's timeout, a connection error, a malformed or oversized reply. While
// benched, a probe runs every `probe_interval_ms`: on a live connection a PING, otherwise a
// fresh connection with AUTH and SELECT and a PING; a PONG within `timeout_ms` (the handshake:
// `connect_timeout_ms`) re-admits it. A probe that times out closes the connection (a hung
// server's connection is useless). So during an outage each caller pays at most `timeout_ms`
// once, and every call after that fails at once until Redis answers a probe again.
//
// Threads: a Client belongs to the loop thread that created it (one per shard: N shards make N
// connections). Completion rule (the code base's): no callback runs inside the call that started
// it. send() refuses synchronously (its Result) and otherwise the handler runs exactly once,
// later, from the loop: with the reply, a connection error or the timeout.
//
// Ownership: the caller owns each Command and keeps it alive until its handler ran (at the
// latest at its deadline). The client owns its buffers and its in-flight table, sized at
// construction (`in_flight_max`), so a command allocates nothing. Its io_uring operations point
// into it: stop() it, run the loop until stopped(), then destroy it (the destructor asserts
// this, except after the loop's run() returned).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/buffer.h"
#include "base/result.h"
#include "io/loop.h"
#include "io/socket.h"
#include "redis/resp.h"

namespace em::redis {

/// What a redis:// URL says.
struct Url {
    std::string host;      ///< name or IP literal (an IPv6 literal without its brackets)
    uint16_t port = 6379;  ///< 6379 when the URL names none
    std::string user;      ///< ACL user (Redis 6+), empty for the default user
    std::string password;  ///< empty: no AUTH
    uint32_t db = 0;       ///< SELECTed on connect when not 0
};

/// Parses `redis://[[user]:password@]host[:port][/db]` strictly: user and password may be
/// percent-encoded; db is 0..9999 in decimal; rediss:// (TLS), query strings and fragments are
/// refused. Errors name what is wrong, never quoting the password.
Result<Url> parse_url(std::string_view url);

struct ClientConfig {
    io::Address address;                 ///< where Redis listens (resolved at start-up)
    std::string user;                    ///< AUTH user password when user is set
    std::string password;                ///< AUTH password when set
    uint32_t db = 0;                     ///< SELECT db when not 0
    uint32_t timeout_ms = 50;            ///< each command's deadline ([rpc.redis] timeout_ms)
    uint32_t connect_timeout_ms = 1000;  ///< connect, AUTH, SELECT and the first PING
    uint32_t probe_interval_ms = 1000;   ///< how often a benched client probes
    uint32_t in_flight_max = 1024;       ///< commands sent and not yet answered (or timed out)
    size_t send_bytes_max = 64u << 20;   ///< commands written and not yet sent
    ReaderLimits reply_limits;           ///< per reply (a bigger one fails the connection)
};

/// A ClientConfig for `url` (parse_url, then io::resolve: blocking, call at start-up) with the
/// other settings as given in `base`.
Result<ClientConfig> client_config(std::string_view url, const ClientConfig& base);

class Client;
struct Command;

/// Receives a command's outcome: exactly one of reply/error is non-null. The reply views the
/// client's receive buffer and is valid only during the call (copy what must outlive it). An
/// error reply from Redis (-ERR ...) is a reply (Kind::error), not an error; errors are
/// Errc::timeout (the deadline passed), Errc::closed (the connection failed or closed) or
/// Errc::invalid_input/too_large (a malformed or oversized reply ended the connection). The
/// handler may send() again (the Command is free again when it runs).
class ReplyHandler {
  public:
    virtual ~ReplyHandler() = default;
    virtual void on_reply(Command& command, const Reply* reply, const Error* error) = 0;
};

/// One command in flight, owned by the caller (see the file comment).
struct Command {
    ReplyHandler* handler = nullptr;
    void* owner = nullptr;  ///< free for the caller
    uint64_t tag = 0;       ///< free for the caller

    /// True between an accepted send() and the handler's call (set by the client).
    bool pending() const { return in_flight; }
    bool in_flight = false;
};

struct ClientStats {
    uint64_t sent = 0;           ///< commands accepted by send() (and internal ones)
    uint64_t replies = 0;        ///< replies read
    uint64_t refused = 0;        ///< send() refused: benched, full or too large
    uint64_t timeouts = 0;       ///< commands whose deadline passed
    uint64_t late_replies = 0;   ///< replies to commands that had timed out (dropped)
    uint64_t error_replies = 0;  ///< -ERR replies (delivered to their handlers)
    uint64_t connects = 0;       ///< connections attempted
    uint64_t connection_failures = 0;
    uint64_t benched = 0;   ///< admitted -> benched transitions
    uint64_t admitted = 0;  ///< benched -> admitted transitions (the first included)
    uint64_t probes = 0;    ///< probes started while benched
};

class Client : private ReplyHandler {
  public:
    Client(io::Loop& loop, const ClientConfig& config);
    ~Client() override;
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    /// Starts the first connection (the client is benched until it is ready). Once.
    void start();
    /// Sends the command `args` (name first): command.handler runs later, exactly once. Refused
    /// at once, with no callback: benched or not started (Errc::busy "benched"), stopping
    /// (Errc::closed), in_flight_max commands outstanding (Errc::busy), too large for the send
    /// buffer (Errc::too_large).
    Result<void> send(Command& command, std::span<const std::string_view> args);
    /// Sends a command whose reply nobody waits for (read and dropped; counted if an error).
    /// Refused like send().
    Result<void> send_and_forget(std::span<const std::string_view> args);
    /// True while send() accepts commands.
    bool admitted() const { return health_ == Health::admitted; }
    /// Takes no new commands and stops probing; the commands in flight finish (reply or
    /// deadline), then the connection closes. stopped() turns true when nothing is pending.
    void stop();
    /// Stopped and no io_uring operation pending: the owner may destroy the client now.
    bool stopped() const;
    const ClientStats& stats() const { return stats_; }
    /// Commands sent and not yet answered or timed out.
    uint32_t in_flight() const { return count_ - expired_; }
    const ClientConfig& config() const { return config_; }

  private:
    enum class Health : uint8_t { benched, admitted, stopping };
    enum class Conn : uint8_t { disconnected, connecting, handshaking, ready, closing };
    /// One sent command awaiting its reply, in send order (replies come in that order).
    struct Slot {
        Command* command = nullptr;  ///< nullptr: nobody waits (forgotten or timed out)
        uint64_t deadline_ns = 0;
        bool internal = false;  ///< the client's own (handshake, probe)
    };

    Result<void> enqueue(Command* command, std::span<const std::string_view> args, bool internal,
                         uint64_t deadline_ns);
    Result<void> admit_check() const;
    void flush();
    void connect();
    void handshake();
    void close_connection(const Error& why);
    void finish_close();
    void bench(const Error& why);
    void admit();
    void probe();
    void handle_bytes(const char* data, size_t bytes);
    void read_replies();
    void deliver(Slot slot, const Reply* reply, const Error* error);
    void expire_due();
    void arm_deadline();
    void maybe_finish_stop();
    Slot& slot_at(uint32_t i) { return slots_[(head_ + i) % slots_.size()]; }
    void on_reply(Command& command, const Reply* reply, const Error* error) override;

    static void on_connect(io::Completion* c, int32_t result, uint32_t flags);
    static void on_recv(io::Completion* c, int32_t result, uint32_t flags);
    static void on_send(io::Completion* c, int32_t result, uint32_t flags);
    static void on_close(io::Completion* c, int32_t result, uint32_t flags);
    static void on_deadline(io::Timer* t);
    static void on_probe_timer(io::Timer* t);
    static void on_connect_timer(io::Timer* t);

    io::Loop& loop_;
    ClientConfig config_;
    char name_[64] = {};  ///< "redis 127.0.0.1:6379" for messages
    Health health_ = Health::benched;
    Conn conn_ = Conn::disconnected;
    bool started_ = false;
    int fd_ = -1;
    bool recv_armed_ = false;
    bool send_in_flight_ = false;
    bool connect_in_flight_ = false;
    bool close_in_flight_ = false;

    // Sent commands, oldest first: a ring of in_flight_max + 4 slots (room for the handshake).
    std::vector<Slot> slots_;
    uint32_t head_ = 0;
    uint32_t count_ = 0;
    uint32_t expired_ = 0;  ///< slots_[head_ .. head_+expired_) are past their deadline

    ByteBuffer sending_;  ///< the bytes of the send in flight
    size_t sent_ = 0;     ///< of sending_
    ByteBuffer queued_;   ///< commands written since that send started
    ByteBuffer in_;       ///< received bytes not yet parsed into replies
    Reader reader_;

    Command handshake_[3];  ///< AUTH, SELECT, PING on a fresh connection
    Command probe_;         ///< PING on a live connection while benched
    io::Completion connect_c_{};
    io::Completion recv_c_{};
    io::Completion send_c_{};
    io::Completion close_c_{};
    io::Timer deadline_timer_{};  ///< the oldest unexpired slot's deadline
    io::Timer probe_timer_{};     ///< next probe while benched
    io::Timer connect_timer_{};   ///< the TCP connect's deadline
    ClientStats stats_;
};

}  // namespace em::redis
