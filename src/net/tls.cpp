#include "net/tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <string>

namespace em::http {

namespace {

Error tls_error(const char* what) {
    unsigned long code = ERR_get_error();
    char text[120];
    ERR_error_string_n(code, text, sizeof text);
    ERR_clear_error();
    return Error::fmt(Errc::io, "%s: %s", what, code ? text : "unknown TLS error");
}

}  // namespace

Result<TlsContext*> tls_client_context(std::string_view ca_file, bool verify) {
    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) return Unexpected(tls_error("SSL_CTX_new"));
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    if (verify) {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
        int ok = ca_file.empty()
                     ? SSL_CTX_set_default_verify_paths(ctx)
                     : SSL_CTX_load_verify_locations(ctx, std::string(ca_file).c_str(), nullptr);
        if (ok != 1) {
            SSL_CTX_free(ctx);
            return Unexpected(tls_error("loading CA certificates"));
        }
    } else {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
    }
    auto* context = new TlsContext{ctx, verify};  // lives for the process
    return context;
}

TlsSession::TlsSession(TlsContext& context, std::string_view server_name) {
    ssl_ = SSL_new(context.ctx);
    in_ = BIO_new(BIO_s_mem());
    out_ = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(in_, -1);
    SSL_set_bio(ssl_, in_, out_);
    SSL_set_connect_state(ssl_);
    std::string name(server_name);
    if (name.empty()) return;
    // An IP literal is checked against the certificate's IP addresses and never sent as SNI
    // (RFC 6066 allows only host names there); a name is both.
    ASN1_OCTET_STRING* literal = a2i_IPADDRESS(name.c_str());
    bool ip = literal != nullptr;
    ASN1_OCTET_STRING_free(literal);
    if (context.verify) {
        if (ip)
            X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), name.c_str());
        else
            SSL_set1_host(ssl_, name.c_str());
    }
    if (!ip) SSL_set_tlsext_host_name(ssl_, name.c_str());
}

TlsSession::~TlsSession() {
    SSL_free(ssl_);
}  // frees both BIOs

void TlsSession::feed(const char* data, size_t bytes) {
    BIO_write(in_, data, static_cast<int>(bytes));
}

Result<void> TlsSession::drain(ByteBuffer& wire_out) {
    char buffer[16384];
    int n;
    while ((n = BIO_read(out_, buffer, sizeof buffer)) > 0) {
        if (!wire_out.append(buffer, static_cast<size_t>(n)))
            return fail(Errc::too_large, "TLS output exceeds the buffer limit");
    }
    return {};
}

Result<bool> TlsSession::handshake(ByteBuffer& wire_out) {
    int rc = SSL_do_handshake(ssl_);
    EM_TRY_VOID(drain(wire_out));
    if (rc == 1) return true;
    int err = SSL_get_error(ssl_, rc);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return false;
    long verify = SSL_get_verify_result(ssl_);
    if (verify != X509_V_OK)
        return failf(Errc::io, "certificate: %s", X509_verify_cert_error_string(verify));
    return Unexpected(tls_error("handshake"));
}

Result<void> TlsSession::encrypt(std::string_view plaintext, ByteBuffer& wire_out) {
    size_t done = 0;
    while (done < plaintext.size()) {
        int n = SSL_write(ssl_, plaintext.data() + done, static_cast<int>(plaintext.size() - done));
        if (n <= 0) return Unexpected(tls_error("SSL_write"));
        done += static_cast<size_t>(n);
        EM_TRY_VOID(drain(wire_out));
    }
    return {};
}

Result<void> TlsSession::decrypt(ByteBuffer& plain_out) {
    for (;;) {
        char* space = plain_out.prepare(16384);
        if (!space) return fail(Errc::too_large, "TLS answer exceeds the body limit");
        int n = SSL_read(ssl_, space, 16384);
        if (n > 0) {
            plain_out.commit(static_cast<size_t>(n));
            continue;
        }
        int err = SSL_get_error(ssl_, n);
        if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return {};
        if (err == SSL_ERROR_ZERO_RETURN) return fail(Errc::closed, "peer closed the TLS session");
        return Unexpected(tls_error("SSL_read"));
    }
}

}  // namespace em::http
