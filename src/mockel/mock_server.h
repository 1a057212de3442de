// MockServer: the HTTP/1.1 listener and connections of enginemux-mock-el on one io::Loop.
//
// Why not http::Server: the mock must misbehave on purpose — close without answering, reset the
// connection (SO_LINGER 0), hang forever, answer late — which a production server rightly does
// not offer. This is a small connection layer over the same pieces (io::Loop multishot accept and
// recv, http::RequestParser, http writers): keep-alive, pipelining (one request at a time per
// connection, answers in order), 413/431 from the parser's limits, an idle timeout, and a
// per-connection timer for delay=.
//
// Threads: a MockServer and its connections belong to the loop thread that called listen();
// destroy it on that thread (loop teardown) before the loop. Memory: connections come from a
// pool that grows up to connections_max and is reused with its grown buffers, so steady traffic
// allocates nothing.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "base/buffer.h"
#include "base/result.h"
#include "http/parser.h"
#include "io/loop.h"
#include "io/socket.h"
#include "mockel/responder.h"

namespace em::mockel {

class MockServer;

/// One client connection (internal to MockServer; pooled).
class MockConn {
  public:
    MockConn(MockServer& server, const http::Limits& limits, size_t response_bytes_max);

  private:
    friend class MockServer;
    enum class State : uint8_t { free, reading, waiting, hung, sending, closing };

    static void on_recv(io::Completion* c, int32_t result, uint32_t flags);
    static void on_send(io::Completion* c, int32_t result, uint32_t flags);
    static void on_close(io::Completion* c, int32_t result, uint32_t flags);
    static void on_timer(io::Timer* t);
    void start(int fd);
    void process();
    void deliver();
    void send_out(bool interim);
    void begin_close(bool reset);
    void maybe_recycle();
    uint64_t idle_ns() const;

    MockServer& server_;
    io::Loop* loop_ = nullptr;
    int fd_ = -1;
    State state_ = State::free;
    bool keep_alive_ = true;
    bool recv_armed_ = false;
    bool send_in_flight_ = false;
    bool close_in_flight_ = false;
    bool peer_closed_ = false;
    bool interim_ = false;        // the send in flight is "100 Continue"
    bool continue_sent_ = false;  // for the request being read
    Plan plan_;                   // of the answer in out_
    size_t sent_ = 0;
    uint64_t last_active_ns_ = 0;  // last bytes received or answer sent (idle timeout)
    ByteBuffer in_;
    ByteBuffer out_;
    http::RequestParser parser_;
    io::Completion recv_{};
    io::Completion send_{};
    io::Completion close_{};
    io::Timer timer_{};
};

class MockServer {
  public:
    /// responder: this thread's; config: limits (connections_max, sizes, idle timeout).
    MockServer(Responder& responder, const MockConfig& config);
    ~MockServer();
    MockServer(const MockServer&) = delete;
    MockServer& operator=(const MockServer&) = delete;

    /// Binds (SO_REUSEPORT, so every loop thread may bind the same address) and accepts.
    [[nodiscard]] Result<void> listen(io::Loop& loop, const io::Address& address);
    /// The bound address (to learn the port chosen for port 0).
    const io::Address& address() const { return address_; }
    /// Open connections (for tests and logs).
    uint32_t connections() const { return open_; }

  private:
    friend class MockConn;
    static void on_accept(io::Completion* c, int32_t result, uint32_t flags);
    MockConn* take_conn();

    Responder& responder_;
    const MockConfig& config_;
    http::Limits limits_;
    io::Loop* loop_ = nullptr;
    io::Address address_;
    int listen_fd_ = -1;
    io::Completion accept_{};
    std::vector<std::unique_ptr<MockConn>> conns_;
    std::vector<MockConn*> free_;
    uint32_t open_ = 0;
};

}  // namespace em::mockel
