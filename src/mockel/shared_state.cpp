#include "mockel/shared_state.h"

#include <cstring>

#include "base/clock.h"
#include "base/hex.h"
#include "jsonrpc/writer.h"

namespace em::mockel {

namespace {

uint32_t fnv1a32(std::string_view s) {
    uint32_t h = 2166136261u;
    for (char c : s) {
        h ^= static_cast<uint8_t>(c);
        h *= 16777619u;
    }
    return h;
}

std::string json_string(std::string_view text) {
    ByteBuffer b(4096, 256);
    jsonrpc::write_json_string(b, text);
    return std::string(b.view());
}

void write_log_entry(ByteBuffer& out, const LogEntry& e) {
    out.append("{\"method\":");
    jsonrpc::write_json_string(out, {e.method, e.method_bytes});
    out.append(",\"id\":");
    if (e.id_too_long)
        out.append("\"(id longer than 64 bytes)\"");
    else if (e.id_bytes == 0)
        out.append("null");
    else
        out.append(e.id, e.id_bytes);
    out.append(",\"t_us\":");
    out.append_u64(e.t_us);
    if (e.hash_kind != LogEntry::HashKind::none) {
        out.append(e.hash_kind == LogEntry::HashKind::block_hash ? ",\"blockHash\":\""
                                                                 : ",\"headBlockHash\":\"");
        append_data(out, e.hash);
        out.push_back('"');
    }
    out.append(",\"status\":\"");
    switch (e.outcome) {
        case Outcome::result:
            out.append("result\"");
            break;
        case Outcome::payload_status:
            out.append(status_name(e.status));
            out.push_back('"');
            break;
        case Outcome::error:
            out.append("error\",\"error\":");
            out.append_i64(e.error_code);
            break;
        case Outcome::transport:
            out.append(transport_name(e.transport));
            out.push_back('"');
            break;
    }
    if (e.http_status) {
        out.append(",\"http\":");
        out.append_u64(e.http_status);
    }
    if (e.delay_ms) {
        out.append(",\"delay_ms\":");
        out.append_u64(e.delay_ms);
    }
    out.push_back('}');
}

}  // namespace

void LogEntry::set_call(std::string_view method_name, std::string_view id_text) {
    method_bytes = static_cast<uint8_t>(std::min(method_name.size(), method_bytes_max));
    if (method_bytes) std::memcpy(method, method_name.data(), method_bytes);
    id_too_long = id_text.size() > id_bytes_max;
    id_bytes = id_too_long ? 0 : static_cast<uint8_t>(id_text.size());
    // A notification has no id: its view may be null, which memcpy must never see.
    if (id_bytes) std::memcpy(id, id_text.data(), id_bytes);
}

Shared::Shared(MockConfig config, const RuleSet& rules, size_t threads)
    : config_(std::move(config)),
      start_ns_(mono_ns()),
      payload_id_tag_(fnv1a32(config_.name)),
      head_(config_.head),
      rules_(std::make_unique<RuleSet>(rules)) {
    client_version_json_ = "[{\"code\":\"EM\",\"name\":" + json_string(config_.name) +
                           ",\"version\":" + json_string(config_.version) +
                           ",\"commit\":\"0x00000000\"}]";
    web3_client_version_json_ =
        json_string(config_.web3_client_version.empty()
                        ? "enginemux-mock-el/" + config_.name + "/v" + config_.version
                        : config_.web3_client_version);
    for (size_t i = 0; i < threads; i++) stats_.push_back(std::make_unique<ThreadStats>());
    log_.reserve(config_.log_entries_max);
    has_rules_.store(rules_->size() > 0, std::memory_order_relaxed);
}

bool Shared::match_rule(std::string_view method, Action* out) {
    std::lock_guard<std::mutex> lock(mu_);
    return rules_->match(method, out);
}

void Shared::replace_rules(const RuleSet& rules) {
    std::lock_guard<std::mutex> lock(mu_);
    *rules_ = rules;
    has_rules_.store(rules_->size() > 0, std::memory_order_relaxed);
}

void Shared::reset() {
    std::lock_guard<std::mutex> lock(mu_);
    rules_->clear();
    has_rules_.store(false, std::memory_order_relaxed);
    log_.clear();
    log_dropped_ = 0;
}

size_t Shared::rule_count() {
    std::lock_guard<std::mutex> lock(mu_);
    return rules_->size();
}

void Shared::record(const LogEntry& entry) {
    std::lock_guard<std::mutex> lock(mu_);
    if (log_.size() >= config_.log_entries_max) {
        log_dropped_++;
        return;
    }
    log_.push_back(entry);  // capacity reserved at start: no allocation
}

bool Shared::write_log_json(ByteBuffer& out) {
    std::lock_guard<std::mutex> lock(mu_);
    out.append("{\"calls\":[");
    for (size_t i = 0; i < log_.size(); i++) {
        if (i) out.push_back(',');
        write_log_entry(out, log_[i]);
    }
    out.append("],\"dropped\":");
    out.append_u64(log_dropped_);
    out.push_back('}');
    return !out.overflowed();
}

bool Shared::write_stats_json(ByteBuffer& out) {
    auto sum = [&](auto member) {
        uint64_t total = 0;
        for (auto& s : stats_) total += ((*s).*member).load(std::memory_order_relaxed);
        return total;
    };
    out.append("{\"methods\":{");
    bool first = true;
    for (size_t m = 0; m < method_count; m++) {
        uint64_t n = 0;
        for (auto& s : stats_) n += s->calls[m].load(std::memory_order_relaxed);
        if (n == 0) continue;
        if (!first) out.push_back(',');
        first = false;
        jsonrpc::write_json_string(out, methods()[m].name);
        out.push_back(':');
        out.append_u64(n);
    }
    out.append("},\"unknown_methods\":");
    out.append_u64(sum(&ThreadStats::unknown_calls));
    out.append(",\"invalid_requests\":");
    out.append_u64(sum(&ThreadStats::invalid_entries));
    out.append(",\"jwt_rejections\":");
    out.append_u64(sum(&ThreadStats::jwt_rejections));
    out.append(",\"http_requests\":");
    out.append_u64(sum(&ThreadStats::http_requests));
    out.append(",\"rules_applied\":");
    out.append_u64(sum(&ThreadStats::rules_applied));
    out.append(",\"rules\":");
    out.append_u64(rule_count());
    out.append(",\"head\":");
    out.append_u64(head());
    out.push_back('}');
    return !out.overflowed();
}

void Shared::advance_head(uint64_t number) {
    uint64_t cur = head_.load(std::memory_order_relaxed);
    while (number > cur && !head_.compare_exchange_weak(cur, number, std::memory_order_relaxed)) {
    }
}

uint64_t Shared::next_payload_id() {
    uint32_t n = payload_ids_.fetch_add(1, std::memory_order_relaxed) + 1;
    return (uint64_t{payload_id_tag_} << 32) | n;
}

bool Shared::issued_payload_id(uint64_t id) const {
    uint32_t n = static_cast<uint32_t>(id);
    return (id >> 32) == payload_id_tag_ && n >= 1 &&
           n <= payload_ids_.load(std::memory_order_relaxed);
}

}  // namespace em::mockel
