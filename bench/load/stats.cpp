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
