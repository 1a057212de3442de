#include "listener/sync_listener.h"

#include <cstring>

#include "base/clock.h"

namespace em::listener {

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

bool trusted(const io::IpAddress& ip, std::span<const io::IpNetwork> networks) {
    for (const io::IpNetwork& n : networks)
        if (n.contains(ip)) return true;
    return false;
}

/// The client X-Forwarded-For names: the right-most entry that is not a trusted proxy (each
/// proxy appends the address it saw), else the left-most; "" when the header is absent.
std::string_view forwarded_for(std::string_view value, std::span<const io::IpNetwork> networks) {
    std::string_view rest = value, leftmost;
    while (!rest.empty()) {
        size_t comma = rest.rfind(',');
        std::string_view entry =
            trim(comma == std::string_view::npos ? rest : rest.substr(comma + 1));
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(0, comma);
        if (entry.empty()) continue;
        leftmost = entry;
        auto ip = io::IpAddress::parse(entry);
        if (!ip || !trusted(*ip, networks)) return entry;
    }
    return leftmost;
}

std::string_view copy_into(std::string_view text, char* out, size_t out_bytes) {
    size_t n = text.size() < out_bytes ? text.size() : out_bytes;
    std::memcpy(out, text.data(), n);
    return {out, n};
}

}  // namespace

void identify(std::string_view authorization, std::span<const http::Header> headers,
              const io::IpAddress& peer, std::span<const io::IpNetwork> trusted_proxies,
              ClientIdentity& out) {
    std::string_view address;
    if (peer.valid() && trusted(peer, trusted_proxies)) {
        address = forwarded_for(http::find_header(headers, "X-Forwarded-For"), trusted_proxies);
        if (address.empty()) address = trim(http::find_header(headers, "X-Real-IP"));
    }
    if (!address.empty()) {
        out.address = copy_into(address, out.address_bytes, sizeof out.address_bytes);
    } else {
        peer.format(out.address_bytes, sizeof out.address_bytes);
        out.address = std::string_view(out.address_bytes);
        if (out.address.empty()) out.address = "unknown";
    }
    std::string_view id = http::jwt_unverified_id(authorization, out.name_bytes);
    out.by_id = !id.empty();
    out.name = out.by_id ? id : out.address;
}

SyncListener::SyncListener(io::Loop& loop, const ListenerConfig& config,
                           const SyncListenerConfig& sync, upstream::Registry& registry,
                           upstream::HealthBoard& board, pipeline::ShardMetrics& metrics)
    : policy_(sync.policy, &metrics.sync),
      trusted_(sync.trusted_proxies),
      cl_secret_(config.cl_secret),
      global_(std::make_unique<http::JwtVerifier>(config.cl_secret)) {
    for (const SyncClientSecret& c : sync.clients) {
        clients_.push_back(std::make_unique<Client>(c.name, c.secret));
    }
    Role* role = this;  // a private base: converted here, where it is accessible
    engine_ = std::make_unique<EngineListener>(loop, config, registry, board, metrics, role);
}

void SyncListener::apply(const http::JwtSecret& cl_secret, const pipeline::SyncPolicyConfig& policy,
                         const std::vector<io::IpNetwork>& trusted_proxies) {
    if (cl_secret.key != cl_secret_.key) {  // a new secret: a new verifier (and empty cache)
        cl_secret_ = cl_secret;
        global_ = std::make_unique<http::JwtVerifier>(cl_secret);
    }
    policy_.set_config(policy);
    trusted_ = trusted_proxies;
}

Result<pipeline::Origin> SyncListener::admit(const http::ServerConn& conn,
                                             const http::Request& request) {
    ClientIdentity who;
    identify(request.authorization, request.headers, conn.peer(), trusted_, who);
    http::JwtVerifier* verifier = global_.get();
    if (who.by_id) {
        for (auto& c : clients_)
            if (c->name == who.name) verifier = &c->verifier;
    }
    int64_t now = wall_s();
    if (auto ok = verifier->verify_authorization(request.authorization, now); !ok) {
        if (verifier == global_.get()) return Unexpected(ok.error());
        return Unexpected(ok.error().prefix("client " + std::string(who.name) +
                                            " (its own [[sync.clients]] secret)"));
    }
    pipeline::Origin origin;
    origin.client = policy_.client(who.name, who.address, mono_ns());
    origin.wall_s = now;
    return origin;
}

}  // namespace em::listener
