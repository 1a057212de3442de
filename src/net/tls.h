// TLS for https upstreams (OpenSSL 3) as a pure filter over memory BIOs: the io_uring
// connection moves ciphertext; TlsSession turns it into plaintext and back. No I/O here.
//
// Threads: a TlsContext is created at start-up and shared read-only by every thread (SSL_CTX is
// thread-safe once configured); a TlsSession belongs to one connection on one loop thread.
#pragma once

#include <string_view>

#include "base/buffer.h"
#include "base/result.h"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;
typedef struct bio_st BIO;

namespace em::http {

struct TlsContext {
    SSL_CTX* ctx = nullptr;
    bool verify = true;
};

/// A client context: TLS 1.2+, verifying the peer against ca_file (or the system store when
/// ca_file is empty) unless verify is false (for tests against self-signed peers).
Result<TlsContext*> tls_client_context(std::string_view ca_file, bool verify);

class TlsSession {
  public:
    TlsSession(TlsContext& context, std::string_view server_name);
    ~TlsSession();
    TlsSession(const TlsSession&) = delete;
    TlsSession& operator=(const TlsSession&) = delete;

    /// Ciphertext received from the peer.
    void feed(const char* data, size_t bytes);
    /// Advances the handshake; appends records to send to wire_out. True once established.
    Result<bool> handshake(ByteBuffer& wire_out);
    /// Encrypts plaintext into records appended to wire_out.
    Result<void> encrypt(std::string_view plaintext, ByteBuffer& wire_out);
    /// Appends every plaintext byte available so far to plain_out (may be none).
    Result<void> decrypt(ByteBuffer& plain_out);

  private:
    Result<void> drain(ByteBuffer& wire_out);
    SSL* ssl_ = nullptr;
    BIO* in_ = nullptr;   // network -> SSL
    BIO* out_ = nullptr;  // SSL -> network
};

}  // namespace em::http
