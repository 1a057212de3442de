// MockServer: the HTTP/1.1 listener of enginemux-mock-el on one io::Loop. It is the project's one
// server (http::Server: keep-alive, pipelining with answers in order, 100-continue, 413/431 from
// the parser's limits, deadlines, the idle timeout) with the mock's Responder as its handler.
//
// The mock misbehaves on purpose, and does so through what the server offers a handler:
//  - hang: the request is never answered (the connection stays until the client leaves);
//  - delay=: the answer is written at once and sent from a timer, if the client is still there
//    (a ConnRef says so);
//  - close / reset: ServerConn::drop, the server's fault hook (FIN, or RST with SO_LINGER 0);
//  - http= / huge=: already in the answer the responder wrote.
//
// Threads: a MockServer belongs to the loop thread that called listen(); destroy it on that
// thread (loop teardown) before the loop. Memory: the server pools its connections and buffers;
// delayed answers come from a pool that grows up to connections_max (a connection has at most
// one request being answered) and is reused, so steady traffic allocates nothing.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "base/result.h"
#include "io/loop.h"
#include "io/socket.h"
#include "mockel/responder.h"
#include "net/server.h"

namespace em::mockel {

class MockServer final : private http::Handler {
  public:
    /// responder: this thread's; config: limits (connections_max, sizes, idle timeout).
    MockServer(Responder& responder, const MockConfig& config);
    ~MockServer() override;
    MockServer(const MockServer&) = delete;
    MockServer& operator=(const MockServer&) = delete;

    /// Binds (SO_REUSEPORT, so every loop thread may bind the same address) and accepts.
    [[nodiscard]] Result<void> listen(io::Loop& loop, const io::Address& address);
    /// The bound address (to learn the port chosen for port 0).
    const io::Address& address() const { return server_.address(); }
    /// Open connections (for tests and logs).
    uint32_t connections() const { return server_.connections(); }

  private:
    /// An answer written and waiting for its delay= to pass.
    struct Delayed {
        MockServer* owner = nullptr;
        http::ConnRef conn;
        Plan plan;
        io::Timer timer{};
    };

    void on_request(http::ServerConn& conn, const http::Request& request) override;
    /// What the plan says after its delay: nothing (hang), drop the connection, or send.
    static void carry_out(http::ServerConn& conn, const Plan& plan);
    static void on_delay(io::Timer* timer);

    Responder& responder_;
    const MockConfig& config_;
    io::Loop* loop_ = nullptr;
    http::Server server_;
    std::vector<std::unique_ptr<Delayed>> delayed_;  ///< every Delayed ever made
    std::vector<Delayed*> free_delayed_;
};

}  // namespace em::mockel
