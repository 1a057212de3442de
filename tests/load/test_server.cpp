#include "test_server.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "base/clock.h"
#include "http/writer.h"
#include "io/socket.h"
#include "jsonrpc/request.h"
#include "jsonrpc/writer.h"
#include "net/server.h"

namespace em::test {

namespace {

enum class Special { none, http500, malformed, hang };

Special special_of(std::string_view method) {
    if (method == "test_http500") return Special::http500;
    if (method == "test_malformed") return Special::malformed;
    if (method == "test_hang") return Special::hang;
    return Special::none;
}

}  // namespace

struct TestServer::State final : http::Handler {
    ServerOptions options;
    std::optional<http::JwtVerifier> verifier;
    jsonrpc::RequestParser parser{1024, 64u << 20};
    std::unique_ptr<http::Server> server;
    std::vector<http::ConnRef> held;  // test_hang: never answered
    uint16_t port = 0;
    mutable std::mutex mutex;
    ServerCounts counts;

    void on_request(http::ServerConn& conn, const http::Request& request) override {
        uint64_t number;
        {
            std::lock_guard lock(mutex);
            number = ++counts.http_requests;
        }
        if (options.stall_at != 0 && number == options.stall_at)
            std::this_thread::sleep_for(std::chrono::milliseconds(options.stall_ms));
        if (verifier && !verifier->verify_authorization(request.authorization, wall_s())) {
            {
                std::lock_guard lock(mutex);
                counts.auth_failures++;
            }
            conn.respond(401, "text/plain", "bad jwt");
            return;
        }
        auto envelope = parser.parse(request.body.data(), request.body.size(),
                                     conn.readable_bytes_from(request.body.data()));
        if (!envelope) {
            conn.respond(400, "text/plain", "not JSON-RPC");
            return;
        }
        Special special = Special::none;
        {
            std::lock_guard lock(mutex);
            for (const jsonrpc::Entry& e : envelope->entries) {
                counts.calls++;
                counts.methods[std::string(e.request.method)]++;
                counts.ids.emplace_back(e.request.id);
                if (special_of(e.request.method) != Special::none)
                    special = special_of(e.request.method);
            }
        }
        switch (special) {
            case Special::http500:
                conn.respond(500, "text/plain", "boom");
                return;
            case Special::malformed:
                conn.respond(200, "application/json", "this is not json");
                return;
            case Special::hang:
                held.push_back(conn.ref());
                return;
            case Special::none:
                break;
        }
        answer(conn, *envelope);
    }

    void answer(http::ServerConn& conn, const jsonrpc::Envelope& envelope) {
        ByteBuffer& out = conn.out();
        size_t mark = http::begin_response(out, 200, "application/json", conn.keep_alive());
        if (envelope.batch) jsonrpc::begin_batch(out);
        bool first = true;
        for (const jsonrpc::Entry& e : envelope.entries) {
            if (!first) jsonrpc::batch_separator(out);
            first = false;
            if (!e.ok)
                jsonrpc::write_error(out, e.request.id, e.error_code, e.error_message);
            else if (e.request.method == "test_error")
                jsonrpc::write_error(out, e.request.id, test_error_code, "test error");
            else
                jsonrpc::write_result(out, e.request.id, "\"0x1\"");
        }
        if (envelope.batch) jsonrpc::end_batch(out);
        http::end_response(out, mark);
        conn.send();
    }
};

TestServer::TestServer(const ServerOptions& options) : state_(std::make_unique<State>()) {
    state_->options = options;
    if (options.jwt_secret) state_->verifier.emplace(*options.jwt_secret, false);
    io::LoopConfig config;
    config.name = "test-server";
    auto setup = [](io::Loop& loop, void* ctx) -> Result<void> {
        auto* s = static_cast<State*>(ctx);
        auto address = EM_TRY(io::resolve("127.0.0.1:0"));
        s->server = std::make_unique<http::Server>();
        EM_TRY_VOID(s->server->listen(loop, address, *s, http::ServerConfig{}));
        s->port = s->server->address().port();
        return {};
    };
    auto teardown = [](io::Loop&, void* ctx) { static_cast<State*>(ctx)->server.reset(); };
    auto thread = io::LoopThread::start(config, -1, setup, teardown, state_.get());
    if (!thread) {
        std::fprintf(stderr, "test server: %s\n", thread.error().c_str());
        std::abort();
    }
    thread_ = std::move(*thread);
    port_ = state_->port;
}

TestServer::~TestServer() {
    thread_->request_stop();
    thread_->join();
}

std::string TestServer::url() const {
    return "http://127.0.0.1:" + std::to_string(port_) + "/";
}

ServerCounts TestServer::snapshot() const {
    std::lock_guard lock(state_->mutex);
    return state_->counts;
}

}  // namespace em::test
