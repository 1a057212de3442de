// SyncListener: the sync role's engine listener (several consensus clients, N ELs). It is the
// mux's EngineListener (listener/engine_listener.h: the same sockets, nodes, pipeline and calls)
// with a Role that puts the sync policy (pipeline/sync_policy.h: the best client, one call per
// block) in place of the mux's, and admits each request as coming from one client:
//  - who: the JWT's `id` claim; else, when the connection comes from [sync] trusted_proxies,
//    X-Forwarded-For (the right-most entry that is not itself a trusted proxy) or X-Real-IP;
//    else the connection's source address (identify(), a pure function);
//  - credentials: a client listed in [[sync.clients]] (matched by its `id` claim) must sign
//    with its own secret; every other client with the global one (--jwt-secret). A token that
//    fails is answered 401 and changes nothing (the client is not even recorded).
//  - mirroring ([sync] proxies): every admitted engine_* request is also sent, fire-and-forget,
//    to each other proxy (enginemux or sync-proxy), in order on that proxy's lane, under
//    proxy_request_timeout_ms; answers are dropped, failures (and calls dropped because
//    mirrors_max were in flight) counted on the sync board. Nothing of it reaches a client.
//
// Threads: one per shard, on that shard's loop thread. Memory: one JwtVerifier per listed
// client plus the global one, made at start; a reload replaces them only with the listener.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include <simdjson.h>

#include "io/ip.h"
#include "listener/engine_listener.h"
#include "pipeline/sync_policy.h"

namespace em::listener {

/// Who a request comes from, as identify() found it.
struct ClientIdentity {
    bool by_id = false;     ///< from the JWT's `id` claim
    std::string_view name;  ///< the id, else the address (views into the buffers below)
    std::string_view address;
    char name_bytes[pipeline::sync_name_bytes_max];
    char address_bytes[pipeline::sync_address_bytes_max];
};

/// Finds who sent a request (see the header comment); `peer`: the connection's source.
void identify(std::string_view authorization, std::span<const http::Header> headers,
              const io::IpAddress& peer, std::span<const io::IpNetwork> trusted_proxies,
              ClientIdentity& out);

struct SyncClientSecret {
    std::string name;  ///< matched against the JWT's `id` claim
    http::JwtSecret secret;
};

struct SyncListenerConfig {
    pipeline::SyncPolicyConfig policy;
    std::vector<io::IpNetwork> trusted_proxies;
    std::vector<SyncClientSecret> clients;
    std::vector<upstream::NodeOptions> proxies;  ///< at most pipeline::sync_proxies_max
    uint32_t proxy_request_timeout_ms = 2'000;
};

class SyncListener final : private Role {
  public:
    /// Mirrored calls in flight at once, every proxy together (beyond: dropped and counted).
    static constexpr size_t mirrors_max = 256;

    SyncListener(io::Loop& loop, const ListenerConfig& config, const SyncListenerConfig& sync,
                 upstream::Registry& registry, upstream::HealthBoard& board,
                 pipeline::ShardMetrics& metrics);
    ~SyncListener();

    /// The listener that serves the clients (the http::Handler) and owns the nodes.
    EngineListener& engine() { return *engine_; }
    /// A reload's settings (shard thread): the global secret checks the next request; the
    /// policy's deadlines, staleness, slack and window and the trusted proxies apply from the
    /// next request on. Listed clients' secrets change only at a restart.
    void apply(const http::JwtSecret& cl_secret, const pipeline::SyncPolicyConfig& policy,
               const std::vector<io::IpNetwork>& trusted_proxies);
    const pipeline::SyncPolicy& policy() const { return policy_; }

  private:
    class Mirror;
    struct Client {
        Client(std::string n, const http::JwtSecret& secret)
            : name(std::move(n)), verifier(secret) {}
        std::string name;
        http::JwtVerifier verifier;
    };
    // Role
    pipeline::Policy& policy() override { return policy_; }
    pipeline::Gate* gate() override { return &policy_; }
    Result<pipeline::Origin> admit(const http::ServerConn& conn,
                                   const http::Request& request) override;
    void admitted(std::string_view body, size_t capacity) override;
    bool engine_call(std::string_view body, size_t capacity);
    void mirror_done(Mirror& mirror, const http::Response* response, const Error* error);

    pipeline::SyncPolicy policy_;
    std::vector<io::IpNetwork> trusted_;
    http::JwtSecret cl_secret_;
    std::unique_ptr<http::JwtVerifier> global_;
    std::vector<std::unique_ptr<Client>> clients_;
    io::Loop& loop_;
    pipeline::SyncBoard& board_;
    uint32_t proxy_timeout_ms_;
    std::vector<std::unique_ptr<Mirror>> mirrors_;  ///< every Mirror ever made
    std::vector<Mirror*> free_mirrors_;
    /// After the mirrors: destroyed first, while the calls they may still hold are alive.
    std::vector<std::unique_ptr<upstream::Node>> proxies_;
    simdjson::ondemand::parser method_parser_;
    std::unique_ptr<EngineListener> engine_;  ///< last: it uses the policy from its start
};

}  // namespace em::listener
