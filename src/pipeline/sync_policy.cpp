#include "pipeline/sync_policy.h"

#include <cstdio>
#include <cstring>

#include "base/assert.h"
#include "base/name.h"
#include "engine/payload_status.h"

namespace em::pipeline {

namespace {

/// Copies text into a fixed field, every character outside base/name.h's rule as '_' (names
/// and addresses reach log lines, JSON and label values).
uint8_t copy_sanitized(std::string_view text, char* out, size_t out_bytes) {
    size_t n = text.size() < out_bytes ? text.size() : out_bytes;
    for (size_t i = 0; i < n; i++) out[i] = name_char_allowed(text[i]) ? text[i] : '_';
    return static_cast<uint8_t>(n);
}

}  // namespace

SyncPolicy::SyncPolicy(const SyncPolicyConfig& config, SyncBoard* board)
    : ForwardingPolicy(mux_), mux_(config.mux), config_(config), board_(board) {}

void SyncPolicy::set_config(const SyncPolicyConfig& config) {
    config_ = config;
    mux_.set_config(config.mux);
}

uint32_t SyncPolicy::client(std::string_view name, std::string_view address, uint64_t now_ns) {
    char wanted[sync_name_bytes_max];
    uint8_t wanted_bytes = copy_sanitized(name, wanted, sizeof wanted);
    std::string_view key(wanted, wanted_bytes);
    int free_slot = -1, quiet = -1;
    for (size_t i = 0; i < sync_clients_max; i++) {
        SyncClientRecord& c = clients_[i];
        if (c.used && c.name_view() == key) {
            // An address may change (a new connection through another proxy): show the last.
            c.address_bytes = copy_sanitized(address, c.address, sizeof c.address);
            return static_cast<uint32_t>(i);
        }
        if (!c.used && free_slot < 0) free_slot = static_cast<int>(i);
        if (c.used && static_cast<int>(i) != best_ &&
            (quiet < 0 || c.last_call_ns < clients_[static_cast<size_t>(quiet)].last_call_ns))
            quiet = static_cast<int>(i);
    }
    size_t slot = static_cast<size_t>(free_slot >= 0 ? free_slot : quiet);
    SyncClientRecord& c = clients_[slot];
    c = SyncClientRecord{};
    c.used = true;
    c.last_call_ns = now_ns;
    std::memcpy(c.name, wanted, wanted_bytes);
    c.name_bytes = wanted_bytes;
    c.address_bytes = copy_sanitized(address, c.address, sizeof c.address);
    publish(slot);
    return static_cast<uint32_t>(slot);
}

void SyncPolicy::publish(size_t slot) {
    if (board_) board_->publish(slot, clients_[slot]);
}

std::string_view SyncPolicy::observe(const CallFacts& facts, uint64_t now_ns) {
    size_t slot = facts.origin.client;
    EM_ASSERT(slot < sync_clients_max && clients_[slot].used);
    SyncClientRecord& c = clients_[slot];
    c.last_call_ns = now_ns;
    c.calls[facts.method_slot < c.calls.size() ? facts.method_slot : c.calls.size() - 1]++;
    if (facts.has_head) {
        c.head = facts.head;
        c.has_head = true;
    }
    std::string_view notice;
    if (facts.has_timestamp) {
        int64_t ahead = static_cast<int64_t>(facts.timestamp) - facts.origin.wall_s;
        if (ahead > static_cast<int64_t>(config_.future_slack_s)) {
            if (!c.future) {
                int n = std::snprintf(notice_, sizeof notice_,
                                      "sync: client %.*s sent timestamp %llu, %lld s in the future "
                                      "(future_slack_s %u): not followed until it sends a sane one",
                                      static_cast<int>(c.name_bytes), c.name,
                                      static_cast<unsigned long long>(facts.timestamp),
                                      static_cast<long long>(ahead), config_.future_slack_s);
                notice = std::string_view(notice_, n < 0 ? 0 : static_cast<size_t>(n));
            }
            c.future = true;
        } else {
            c.future = false;
            if (!c.has_timestamp || facts.timestamp > c.timestamp) c.timestamp = facts.timestamp;
            c.has_timestamp = true;
        }
    }
    choose_best(now_ns);
    publish(slot);
    return notice;
}

bool SyncPolicy::eligible(size_t slot, uint64_t now_ns) const {
    const SyncClientRecord& c = clients_[slot];
    uint64_t stale_ns = uint64_t{config_.best_stale_ms} * 1'000'000ull;
    return c.used && c.has_timestamp && !c.future && now_ns - c.last_call_ns < stale_ns;
}

void SyncPolicy::choose_best(uint64_t now_ns) {
    int freshest = -1;
    for (size_t i = 0; i < sync_clients_max; i++) {
        if (!eligible(i, now_ns)) continue;
        if (freshest < 0 ||
            clients_[i].timestamp > clients_[static_cast<size_t>(freshest)].timestamp)
            freshest = static_cast<int>(i);
    }
    bool keep = best_ >= 0 && eligible(static_cast<size_t>(best_), now_ns) &&
                (freshest < 0 || clients_[static_cast<size_t>(freshest)].timestamp <=
                                     clients_[static_cast<size_t>(best_)].timestamp);
    if (keep || best_ == freshest) return;
    best_ = freshest;
    if (board_) board_->publish_best(best_);
}

GateDecision SyncPolicy::admit(const CallFacts& facts, uint64_t now_ns) {
    std::string_view notice = observe(facts, now_ns);
    GateDecision d;
    if (facts.vote && facts.method) {
        if (facts.method->kind == engine::MethodKind::new_payload) {
            d = admit_new_payload(facts, now_ns);
        } else if (facts.method->kind == engine::MethodKind::forkchoice_updated) {
            d = admit_forkchoice(facts);
        }
    }
    d.notice = notice;
    return d;
}

GateDecision SyncPolicy::admit_forkchoice(const CallFacts& facts) {
    GateDecision d;
    if (best_ >= 0 && facts.origin.client == static_cast<uint32_t>(best_)) return d;
    // Not the client the fleet follows: a well-formed SYNCING, nothing forwarded.
    syncing_.clear();
    engine::PayloadStatus syncing;
    syncing.status = engine::Status::syncing;
    if (!engine::write_forkchoice_updated(syncing_, syncing, facts.method->status_schema, nullptr))
        return d;  // cannot happen for a 4 KiB buffer; run it rather than answer nothing
    d.verdict = GateDecision::Verdict::answer;
    d.result = syncing_.view();
    return d;
}

SyncPolicy::Block* SyncPolicy::find_block(const engine::Hash32& hash, uint8_t method,
                                          uint64_t now_ns) {
    for (Block& b : blocks_) {
        if (b.state == Block::State::final && now_ns >= b.until_ns) b.state = Block::State::free;
        if (b.state != Block::State::free && b.method == method && b.hash == hash) return &b;
    }
    return nullptr;
}

GateDecision SyncPolicy::admit_new_payload(const CallFacts& facts, uint64_t now_ns) {
    GateDecision d;
    if (!facts.has_block_hash) return d;  // undecodable or a mismatched hash: its own call
    Block* b = find_block(facts.block_hash, facts.method->index, now_ns);
    if (!b) return d;
    if (b->state == Block::State::final) {
        d.verdict = GateDecision::Verdict::answer;
        d.result = b->result.view();
    } else if (b->waiters < waiters_max) {
        b->waiters++;
        d.verdict = GateDecision::Verdict::join;
        d.call = b->call;
    }
    return d;
}

void SyncPolicy::started(const CallFacts& facts, uint32_t call, uint64_t now_ns) {
    if (!facts.has_block_hash || !facts.method ||
        facts.method->kind != engine::MethodKind::new_payload)
        return;
    if (find_block(facts.block_hash, facts.method->index, now_ns)) return;  // one is running
    Block* slot = nullptr;
    for (Block& b : blocks_) {
        if (b.state == Block::State::free) {
            slot = &b;
            break;
        }
        if (b.state == Block::State::final && (!slot || b.until_ns < slot->until_ns)) slot = &b;
    }
    if (!slot) return;  // blocks_max calls running: this one is not shared
    slot->state = Block::State::running;
    slot->method = facts.method->index;
    slot->call = call;
    slot->waiters = 0;
    slot->hash = facts.block_hash;
}

void SyncPolicy::answered(uint32_t call, const engine::Status* told, std::string_view result,
                          uint64_t now_ns) {
    for (Block& b : blocks_) {
        if (b.state != Block::State::running || b.call != call) continue;
        bool final = told && (*told == engine::Status::valid || *told == engine::Status::invalid);
        if (!final || result.size() > b.result.bytes_max()) {
            b.state = Block::State::free;  // SYNCING, ACCEPTED, errors: a later copy runs again
            return;
        }
        b.state = Block::State::final;
        b.until_ns = now_ns + uint64_t{config_.dedup_window_ms} * 1'000'000ull;
        b.result.clear();
        b.result.append(result);
        return;
    }
}

}  // namespace em::pipeline
