// ValidatorGuard: the guard running on an io::Loop — the GuardCore and a lease back-end wired
// to real I/O: health probes of the local CometBFT (/status, /net_info) over http::ClientConn,
// the peer channel (http::Server + ClientConn, HMAC-authenticated) or etcd's JSON gateway,
// atomic durable state and record writes (io/file.h), an inotify watch of the state file (to
// publish the active's states as they change), the validator process (process.h), and a local
// control endpoint (GET /status, GET /metrics, GET /healthz, POST /promote[?force=1],
// POST /demote) on a loopback address.
//
// Threads: created, run and destroyed on one loop thread (the daemon's control core, or the
// thread of `enginemux validator`). Memory: every buffer and connection is allocated at create()
// with a configured maximum; steady-state operation allocates only inside the status/metrics
// writers' ByteBuffers (which keep their size).
#pragma once

#include <cstdint>
#include <memory>

#include "base/buffer.h"
#include "base/result.h"
#include "io/loop.h"
#include "io/socket.h"
#include "validator/config.h"
#include "validator/guard.h"

namespace em::validator {

class ValidatorGuard {
  public:
    /// Opens files and sockets (blocking, start-up): the record in data_dir, the state file's
    /// directory, the listeners. Errors name what to fix.
    static Result<std::unique_ptr<ValidatorGuard>> create(io::Loop& loop,
                                                          const ValidatorConfig& config);
    ~ValidatorGuard();

    /// Starts probing and deciding; the first act is fencing the local validator.
    void start();
    /// Graceful stop: fence and release if active; done() turns true when finished (or after
    /// a bounded wait).
    void shutdown();
    bool done();

    /// The status API's JSON document / Prometheus text (for the admin API as well).
    void write_status_json(ByteBuffer& out);
    void write_metrics(ByteBuffer& out);

    const GuardCore& core() const;
    /// The control endpoint's bound address.
    const io::Address& control_address() const;
    /// Test hook: shifts this guard's wall clock (HMAC times, block age) by offset_ms.
    void set_wall_offset_ms(int64_t offset_ms);

    class Impl;

  private:
    explicit ValidatorGuard(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace em::validator
