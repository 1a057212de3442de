#include "stats.h"

namespace em::load {

const char* outcome_name(Outcome o) {
    switch (o) {
        case Outcome::ok:
            return "ok";
        case Outcome::jsonrpc_error:
            return "jsonrpc";
        case Outcome::http_error:
            return "http";
        case Outcome::timeout:
            return "timeout";
        case Outcome::connection_error:
            return "connection";
        case Outcome::malformed:
            return "malformed";
    }
    return "?";
}

const char* payload_status_name(PayloadStatus s) {
    switch (s) {
        case PayloadStatus::none:
            return "none";
        case PayloadStatus::valid:
            return "VALID";
        case PayloadStatus::invalid:
            return "INVALID";
        case PayloadStatus::syncing:
            return "SYNCING";
        case PayloadStatus::accepted:
            return "ACCEPTED";
        case PayloadStatus::invalid_block_hash:
            return "INVALID_BLOCK_HASH";
        case PayloadStatus::other:
            return "other";
    }
    return "?";
}

namespace {

/// The string value of the first `"status"` member at or after `from`, or "" if none.
/// A scan, not a parse: the text is an answer the Classifier already validated as JSON, and
/// payload statuses are plain upper-case words (no escapes).
std::string_view status_value(std::string_view json, size_t from) {
    constexpr std::string_view key = "\"status\"";
    size_t at = json.find(key, from);
    if (at == std::string_view::npos) return {};
    size_t i = at + key.size();
    while (i < json.size() &&
           (json[i] == ' ' || json[i] == '\t' || json[i] == '\n' || json[i] == '\r'))
        i++;
    if (i >= json.size() || json[i] != ':') return {};
    i++;
    while (i < json.size() &&
           (json[i] == ' ' || json[i] == '\t' || json[i] == '\n' || json[i] == '\r'))
        i++;
    if (i >= json.size() || json[i] != '"') return {};
    size_t end = json.find('"', i + 1);
    return end == std::string_view::npos ? std::string_view() : json.substr(i + 1, end - i - 1);
}

}  // namespace

PayloadStatus find_payload_status(std::string_view result_json) {
    if (result_json.empty() || result_json.front() != '{') return PayloadStatus::none;
    // forkchoiceUpdated nests it: {"payloadStatus":{"status":...},"payloadId":...}
    size_t nested = result_json.find("\"payloadStatus\"");
    std::string_view v = status_value(result_json, nested == std::string_view::npos ? 0 : nested);
    if (v.empty()) return PayloadStatus::none;
    if (v == "VALID") return PayloadStatus::valid;
    if (v == "INVALID") return PayloadStatus::invalid;
    if (v == "SYNCING") return PayloadStatus::syncing;
    if (v == "ACCEPTED") return PayloadStatus::accepted;
    if (v == "INVALID_BLOCK_HASH") return PayloadStatus::invalid_block_hash;
    return PayloadStatus::other;
}

uint64_t MethodStats::calls() const {
    uint64_t n = 0;
    for (uint64_t v : outcomes) n += v;
    return n;
}

void RunStats::add_code(int32_t code, uint64_t n) {
    for (size_t i = 0; i < code_count_; i++) {
        if (codes_[i].code == code) {
            codes_[i].count += n;
            return;
        }
    }
    if (code_count_ == jsonrpc_codes_max) {
        codes_other_ += n;
        return;
    }
    codes_[code_count_++] = CodeCount{code, n};
}

void RunStats::merge(const RunStats& other) {
    for (size_t i = 0; i < outcome_count; i++) outcomes_[i] += other.outcomes_[i];
    calls_ += other.calls_;
    late_ += other.late_;
    for (size_t i = 0; i < other.code_count_; i++)
        add_code(other.codes_[i].code, other.codes_[i].count);
    codes_other_ += other.codes_other_;
    for (size_t i = 0; i < http_status_slots; i++) http_status_[i] += other.http_status_[i];
    latency_.merge(other.latency_);
    if (methods_.size() < other.methods_.size()) methods_.resize(other.methods_.size());
    for (size_t m = 0; m < other.methods_.size(); m++) {
        MethodStats& to = methods_[m];
        const MethodStats& from = other.methods_[m];
        for (size_t i = 0; i < outcome_count; i++) to.outcomes[i] += from.outcomes[i];
        for (size_t i = 0; i < payload_status_count; i++) to.statuses[i] += from.statuses[i];
        to.latency.merge(from.latency);
    }
}

uint64_t RunStats::requests() const {
    uint64_t n = 0;
    for (uint64_t v : outcomes_) n += v;
    return n;
}

uint64_t RunStats::answered() const {
    return outcome(Outcome::ok) + outcome(Outcome::jsonrpc_error) + outcome(Outcome::http_error) +
           outcome(Outcome::malformed);
}

}  // namespace em::load
