#include "listener/builder_listener.h"

#include "base/clock.h"
#include "listener/builder_health.h"

namespace em::listener {

BuilderListener::BuilderListener(io::Loop& loop, const ListenerConfig& config,
                                 const BuilderListenerConfig& builder, upstream::Registry& registry,
                                 upstream::HealthBoard& board, pipeline::ShardMetrics& metrics)
    : policy_(builder.settings, builder.eth_timeout_ms),
      board_(board),
      cl_secret_(config.cl_secret),
      jwt_(std::make_unique<http::JwtVerifier>(config.cl_secret)) {
    Role* role = this;  // a private base: converted here, where it is accessible
    engine_ = std::make_unique<EngineListener>(loop, config, registry, board, metrics, role);
}

BuilderListener::~BuilderListener() = default;

void BuilderListener::apply(const http::JwtSecret& cl_secret) {
    if (cl_secret.key == cl_secret_.key) return;
    cl_secret_ = cl_secret;
    jwt_ = std::make_unique<http::JwtVerifier>(cl_secret);  // a new secret: an empty cache
}

bool BuilderListener::serve_plain(http::ServerConn& conn, const http::Request& request) {
    std::string_view path = request.target.substr(0, request.target.find('?'));
    if (request.method != http::Method::get || path != "/healthz") return false;
    engine::HealthVerdict v = builder_health(*policy_.builder()->shared, board_, mono_ns());
    conn.respond(v.http_status, "application/json", v.body);
    return true;
}

void BuilderListener::node_replied(const pipeline::NodeReply& reply) {
    if (!reply.error && reply.http_status == 200 && reply.current)
        policy_.builder()->shared->answered(reply.node, mono_ns());
}

Result<pipeline::Origin> BuilderListener::admit(const http::ServerConn& conn,
                                                const http::Request& request) {
    (void)conn;
    int64_t now = wall_s();
    EM_TRY_VOID(jwt_->verify_authorization(request.authorization, now));
    pipeline::Origin origin;
    origin.wall_s = now;
    return origin;
}

}  // namespace em::listener
