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
//
// Threads: one per shard, on that shard's loop thread. Memory: one JwtVerifier per listed
// client plus the global one, made at start; a reload replaces them only with the listener.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

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
};

class SyncListener final : private Role {
  public:
    SyncListener(io::Loop& loop, const ListenerConfig& config, const SyncListenerConfig& sync,
                 upstream::Registry& registry, upstream::HealthBoard& board,
                 pipeline::ShardMetrics& metrics);

    /// The listener that serves the clients (the http::Handler) and owns the nodes.
    EngineListener& engine() { return *engine_; }
    /// A reload's settings (shard thread): the global secret checks the next request; the
    /// policy's deadlines, staleness, slack and window and the trusted proxies apply from the
    /// next request on. Listed clients' secrets change only at a restart.
    void apply(const http::JwtSecret& cl_secret, const pipeline::SyncPolicyConfig& policy,
               const std::vector<io::IpNetwork>& trusted_proxies);
    const pipeline::SyncPolicy& policy() const { return policy_; }

  private:
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

    pipeline::SyncPolicy policy_;
    std::vector<io::IpNetwork> trusted_;
    http::JwtSecret cl_secret_;
    std::unique_ptr<http::JwtVerifier> global_;
    std::vector<std::unique_ptr<Client>> clients_;
    std::unique_ptr<EngineListener> engine_;  ///< last: it uses the policy from its start
};

}  // namespace em::listener
