// EchoHandler: the trivial JSON-RPC answerer behind load-echo-server and bench_load's end-to-end
// benchmark: every call of a request (single or batch) is answered at once with result "0x1";
// invalid entries get their JSON-RPC error, a body that is not JSON gets -32700.
//
// One handler per server loop thread (it owns a JSON-RPC parser); allocates only at construction.
#pragma once

#include "http/writer.h"
#include "jsonrpc/request.h"
#include "jsonrpc/writer.h"
#include "net/server.h"

namespace em::load {

class EchoHandler final : public http::Handler {
  public:
    static constexpr size_t batch_entries_max = 1024;
    static constexpr size_t body_bytes_max = 32u << 20;

    EchoHandler() : parser_(batch_entries_max, body_bytes_max) {}

    /// Answers the request at once (see the header comment).
    void on_request(http::ServerConn& conn, const http::Request& request) override {
        ByteBuffer& out = conn.out();
        size_t mark = http::begin_response(out, 200, "application/json", conn.keep_alive());
        auto envelope = parser_.parse(request.body.data(), request.body.size(),
                                      conn.readable_bytes_from(request.body.data()));
        if (!envelope) {
            jsonrpc::write_error(out, "null", jsonrpc::error_code_of(envelope.error()),
                                 envelope.error().message());
        } else {
            if (envelope->batch) jsonrpc::begin_batch(out);
            bool first = true;
            for (const jsonrpc::Entry& e : envelope->entries) {
                if (!e.wants_response()) continue;
                if (!first) jsonrpc::batch_separator(out);
                first = false;
                if (e.ok)
                    jsonrpc::write_result(out, e.request.id, "\"0x1\"");
                else
                    jsonrpc::write_error(out, e.request.id, e.error_code, e.error_message);
            }
            if (envelope->batch) jsonrpc::end_batch(out);
        }
        http::end_response(out, mark);
        conn.send();
    }

  private:
    jsonrpc::RequestParser parser_;
};

}  // namespace em::load
