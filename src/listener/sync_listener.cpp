#include "listener/sync_listener.h"

#include <cstring>

#include "base/assert.h"
#include "base/clock.h"
#include "base/log.h"

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

/// One mirrored call to a proxy: its own copy of the body (the client's may be gone first).
class SyncListener::Mirror final : public upstream::CallDone {
  public:
    explicit Mirror(SyncListener& owner) : owner_(owner) {}
    void on_call_done(upstream::Call&, const http::Response* response,
                      const Error* error) override {
        owner_.mirror_done(*this, response, error);
    }
    SyncListener& owner_;
    upstream::Call call;
    ByteBuffer body{64u << 20, 1024};
    size_t proxy = 0;
};

SyncListener::SyncListener(io::Loop& loop, const ListenerConfig& config,
                           const SyncListenerConfig& sync, upstream::Registry& registry,
                           upstream::HealthBoard& board, pipeline::ShardMetrics& metrics)
    : policy_(sync.policy, &metrics.sync),
      trusted_(sync.trusted_proxies),
      cl_secret_(config.cl_secret),
      global_(std::make_unique<http::JwtVerifier>(config.cl_secret)),
      loop_(loop),
      board_(metrics.sync),
      proxy_timeout_ms_(sync.proxy_request_timeout_ms) {
    EM_ASSERT(sync.proxies.size() <= pipeline::sync_proxies_max);
    for (const upstream::NodeOptions& p : sync.proxies)
        proxies_.push_back(std::make_unique<upstream::Node>(loop, p));
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

SyncListener::~SyncListener() = default;

bool SyncListener::engine_call(std::string_view body, size_t capacity) {
    simdjson::ondemand::document doc;
    simdjson::padded_string_view json(body.data(), body.size(), capacity);
    simdjson::ondemand::object object;
    std::string_view method;
    if (method_parser_.iterate(json).get(doc) != simdjson::SUCCESS ||
        doc.get_object().get(object) != simdjson::SUCCESS ||
        object.find_field_unordered("method").get_string().get(method) != simdjson::SUCCESS)
        return false;  // a batch, or not JSON-RPC: the pipeline answers it; nothing to mirror
    return method.substr(0, 7) == "engine_";
}

void SyncListener::admitted(std::string_view body, size_t capacity) {
    if (proxies_.empty() || !engine_call(body, capacity)) return;
    for (size_t i = 0; i < proxies_.size(); i++) {
        Mirror* m = nullptr;
        if (!free_mirrors_.empty()) {
            m = free_mirrors_.back();
            free_mirrors_.pop_back();
        } else if (mirrors_.size() < mirrors_max) {
            mirrors_.push_back(std::make_unique<Mirror>(*this));
            m = mirrors_.back().get();
        }
        pipeline::bump(board_.mirrored[i]);
        if (m) m->body.clear();
        if (!m || !m->body.append(body)) {
            pipeline::bump(board_.mirror_failures[i]);
            if (m) free_mirrors_.push_back(m);
            continue;
        }
        m->proxy = i;
        m->call = upstream::Call{};
        m->call.body = m->body.view();
        m->call.deadline_ns = loop_.now_ns() + uint64_t{proxy_timeout_ms_} * 1'000'000ull;
        m->call.done = m;
        proxies_[i]->submit_ordered(m->call);  // in the client's order, as an EL would get it
    }
}

void SyncListener::mirror_done(Mirror& mirror, const http::Response* response, const Error* error) {
    if (error || !response || response->status != 200) {
        pipeline::bump(board_.mirror_failures[mirror.proxy]);
        EM_LOG_LIMITED(LogLevel::warn, 1, "sync: a call mirrored to proxy %s failed: %s",
                       proxies_[mirror.proxy]->name().c_str(),
                       error ? error->c_str() : "an HTTP error status");
    }
    mirror.body.release_if_grown(pipeline::call_buffer_keep_bytes, 1024);
    free_mirrors_.push_back(&mirror);
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
