// TestServer: a tiny JSON-RPC server on 127.0.0.1 for the enginemux-load integration tests, run
// by an http::Server on its own io::LoopThread. What it answers depends on the method called:
//   test_error     -> JSON-RPC error test_error_code          test_http500   -> HTTP 500
//   test_malformed -> HTTP 200 with a body that is not JSON   test_hang      -> never answers
//   anything else  -> {"result":"0x1"}
// A batch is answered per element, except that a batch containing test_http500, test_malformed or
// test_hang gets that treatment as a whole. Optionally it checks each request's JWT (401 if bad)
// and stalls its loop thread (sleeps) for stall_ms when request number stall_at arrives.
//
// Threads: constructed, configured and destroyed on the test thread; requests are handled on the
// server's loop thread; counters may be read from any thread (snapshot() after the load run).
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "http/jwt.h"
#include "io/thread.h"

namespace em::test {

inline constexpr int test_error_code = -32042;

struct ServerOptions {
    std::optional<http::JwtSecret> jwt_secret;  ///< verify Authorization on every request
    uint64_t stall_at = 0;                      ///< 1-based request number that stalls (0: none)
    uint32_t stall_ms = 0;                      ///< how long that request blocks the server
};

/// What the server saw (copied out under a lock).
struct ServerCounts {
    uint64_t http_requests = 0;               ///< HTTP requests received
    uint64_t calls = 0;                       ///< JSON-RPC calls received
    uint64_t auth_failures = 0;               ///< requests answered 401
    std::map<std::string, uint64_t> methods;  ///< calls per method
    std::vector<std::string> ids;             ///< every call's raw id, in arrival order
};

class TestServer {
  public:
    /// Starts listening on 127.0.0.1 (ephemeral port); aborts the test binary on failure.
    explicit TestServer(const ServerOptions& options = {});
    ~TestServer();
    uint16_t port() const { return port_; }
    /// "http://127.0.0.1:<port>/"
    std::string url() const;
    /// What the server has seen so far.
    ServerCounts snapshot() const;

    struct State;

  private:
    std::unique_ptr<State> state_;
    std::unique_ptr<io::LoopThread> thread_;
    uint16_t port_ = 0;
};

}  // namespace em::test
