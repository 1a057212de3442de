// Integration-test harness: real processes on 127.0.0.1 — enginemux-mock-el nodes and the
// enginemux daemon — started on free ports (port 0, read back from their output), driven with
// real HTTP and JWTs, and always cleaned up (SIGTERM, then SIGKILL) by PID.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <simdjson.h>

namespace em::test {

/// A child process with its stdout and stderr captured to files.
class Process {
  public:
    /// Starts argv[0] with the arguments; output goes to files under a temp dir.
    Process(const std::vector<std::string>& argv, const std::string& name);
    ~Process();
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;

    pid_t pid() const { return pid_; }
    /// Waits (up to timeout_ms) until `needle` appears in stdout or stderr; returns the line.
    std::string wait_for_line(const std::string& needle, int timeout_ms = 10000);
    /// Sends a signal.
    void signal(int sig);
    /// Waits for exit (up to timeout_ms); returns the exit code, or -1 on timeout/signal.
    int wait_exit(int timeout_ms = 10000);
    bool running();
    std::string stdout_text() const;
    std::string stderr_text() const;

  private:
    pid_t pid_ = -1;
    int status_ = 0;
    bool exited_ = false;
    std::string out_path_, err_path_;
};

/// A temporary directory removed at destruction.
struct TempDir {
    TempDir();
    ~TempDir();
    std::string path;
    /// Writes a file (0600) and returns its path.
    std::string write(const std::string& name, const std::string& content) const;
};

/// Path of a built binary from the environment (EM_ENGINEMUX, EM_MOCK_EL, EM_LOAD).
std::string binary(const char* env_name);

/// A JSON-RPC answer as seen by a client.
struct HttpReply {
    int status = 0;
    std::string body;
    bool ok() const { return status != 0; }
};

/// One blocking HTTP/1.1 POST/GET to 127.0.0.1:port (a new connection each time).
/// `extra_headers`: more header lines, each ending in \r\n (e.g. "X-Forwarded-For: 1.2.3.4\r\n").
HttpReply http_request(uint16_t port, const std::string& method, const std::string& target,
                       const std::string& body, const std::string& bearer = "",
                       int timeout_ms = 15000, const std::string& extra_headers = "");

/// A 32-byte hex JWT secret (random) written to dir; returns the path.
std::string make_secret(const TempDir& dir, const std::string& name);
/// A fresh HS256 JWT for the secret file.
std::string jwt_for(const std::string& secret_path);
/// A fresh HS256 JWT for the secret file with an `id` claim (the CL instance, authentication.md).
std::string jwt_for(const std::string& secret_path, const std::string& id);

/// A running enginemux-mock-el.
struct MockEl {
    MockEl(const TempDir& dir, const std::string& name, std::vector<std::string> extra = {});
    std::string name;
    std::string secret;
    uint16_t port = 0;
    std::unique_ptr<Process> process;
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }
    /// Replaces the rules (POST /mock/rules); empty = default behaviour.
    void set_rules(const std::string& rules);
    /// GET /mock/log body.
    std::string log();
    void restart();
    std::vector<std::string> extra_args;
    const TempDir* dir;
};

/// A running enginemux daemon in front of `nodes` (with per-node extra URL options); with no
/// nodes, the nodes come from a --config file in `extra`. With an rpc listener (`extra` has
/// "rpc" or --rpc-listen) and no --shards in `extra`, it runs `--shards 1`.
struct Daemon {
    Daemon(const TempDir& dir, const std::vector<MockEl*>& nodes,
           std::vector<std::string> extra = {}, const std::vector<std::string>& node_options = {});
    std::string secret;  ///< the CL's
    uint16_t port = 0;
    uint16_t admin_port = 0;
    std::unique_ptr<Process> process;
    /// A JSON-RPC call with a fresh JWT; returns the HTTP reply.
    HttpReply call(const std::string& body, int timeout_ms = 15000);
    /// An admin API request, with `Authorization: Bearer admin_token` when admin_token is set.
    HttpReply admin(const std::string& method, const std::string& target,
                    const std::string& body = "");
    std::string admin_token;  ///< sent by admin(); "" = none
};

/// A fake "EL" for security tests: a blocking listener on 127.0.0.1 (its own thread) that
/// answers every request with `{"jsonrpc":"2.0","id":1,"result":false}` and records the
/// Authorization header of each request it received (what enginemux signed for it).
class AuthRecorder {
  public:
    AuthRecorder();
    ~AuthRecorder();
    AuthRecorder(const AuthRecorder&) = delete;
    AuthRecorder& operator=(const AuthRecorder&) = delete;
    uint16_t port() const { return port_; }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
    /// Requests received so far.
    size_t requests() const { return requests_.load(); }
    /// The Authorization header values received so far ("" for a request without one).
    std::vector<std::string> authorizations() const;

  private:
    void serve();
    void answer(int fd);
    int listen_fd_ = -1;
    uint16_t port_ = 0;
    std::atomic<bool> stop_{false};
    std::atomic<size_t> requests_{0};
    mutable std::mutex mutex_;
    std::vector<std::string> authorizations_;
    std::thread thread_;
};

/// Parses JSON (padded copy) for assertions; returns the document root's text of `pointer`
/// (JSON pointer, e.g. "/result/status") as raw JSON, or "<missing>".
std::string json_at(const std::string& json, const std::string& pointer);

/// Calls to `method` the mock EL has answered (its /mock/stats), 0 when none.
long el_calls(MockEl& el, const std::string& method);

/// A JSON-RPC request object: `id` raw JSON, `params` raw JSON (default []).
std::string rpc_request(const std::string& id, const std::string& method,
                        const std::string& params = "[]");

/// A synthetic newPayload request (from `enginemux payload-example`), version 1..4.
std::string payload_request(int version, int txs = 4, uint64_t seed = 1);

/// The rpc listener's port in the daemon's start-up line "rpc listener on 127.0.0.1:PORT ...",
/// 0 when the line does not say.
uint16_t rpc_port_in(const std::string& line);

/// The process's resident set (VmRSS in /proc/PID/status) in KiB; -1 if unreadable.
long vm_rss_kib(pid_t pid);
/// VmRSS once it has settled: two reads 100 ms apart within tolerance_kib of each other (at
/// most 5 s; then the last read).
long settled_rss_kib(pid_t pid, long tolerance_kib = 64);

/// One HTTP/1.1 keep-alive client connection to 127.0.0.1:port with blocking I/O under
/// deadlines, for tests that hold many connections or send a request in parts.
class ClientSocket {
  public:
    /// Connects (ok() false if that failed).
    explicit ClientSocket(uint16_t port);
    ~ClientSocket();
    ClientSocket(const ClientSocket&) = delete;
    ClientSocket& operator=(const ClientSocket&) = delete;
    bool ok() const { return fd_ >= 0; }
    int fd() const { return fd_; }
    /// Sends all bytes; false if the peer closed or reset the connection.
    bool send_all(std::string_view bytes);
    /// Reads one response (head and Content-Length body, or up to the close); "" if nothing
    /// came within timeout_ms. A 1xx interim response counts as a response.
    std::string read_response(int timeout_ms = 10000);
    /// True when the server has closed the connection (reads what was pending first).
    bool peer_closed(int timeout_ms);
    void close();

  private:
    int fd_ = -1;
    std::string buffered_;  ///< bytes read past the last response
};

/// An engine answer's result.status as raw JSON ("\"VALID\""), or "<missing>".
std::string status_of(const HttpReply& r);

/// The value of one sample line `name{labels} value` in Prometheus text, or -1 when absent.
double metric_value(const std::string& text, const std::string& sample);

/// The status code of a raw response ("HTTP/1.1 503 ..." gives 503), 0 if none.
int status_of_response(const std::string& raw);
/// The value of a header in a raw response (case-insensitive name), "" if absent.
std::string header_of_response(const std::string& raw, const std::string& name);

}  // namespace em::test
