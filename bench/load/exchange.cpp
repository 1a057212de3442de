#include "exchange.h"

#include <algorithm>
#include <cstring>

#include "base/assert.h"
#include "jsonrpc/json_text.h"

namespace em::load {

namespace {

constexpr std::string_view bearer_prefix = "Authorization: Bearer ";
constexpr std::string_view length_prefix = "Content-Length: ";
constexpr std::string_view head_end = "\r\n\r\n";

}  // namespace

bool parse_id(std::string_view raw, uint64_t* out) {
    std::string_view t = jsonrpc::trim_json_space(raw);
    if (t.empty() || t.size() > 19) return false;
    uint64_t v = 0;
    for (char c : t) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + static_cast<uint64_t>(c - '0');
    }
    *out = v;
    return true;
}

RequestWriter::RequestWriter(const Mix& mix, std::string_view host_header, std::string_view path,
                             const http::JwtSecret* secret, int64_t jwt_cache_s, uint32_t batch,
                             uint64_t seed)
    : mix_(mix),
      batch_(batch),
      rng_(seed * 0x9E3779B97F4A7C15ull + 0x2545F4914F6CDD1Dull),
      picks_(batch),
      kind_calls_(mix.kinds().size()) {
    EM_ASSERT(batch >= 1);
    head_ = "POST " + std::string(path) + " HTTP/1.1\r\nHost: " + std::string(host_header) +
            "\r\nContent-Type: application/json\r\n";
    if (secret) signer_.emplace(*secret, jwt_cache_s);
    if (rng_ == 0) rng_ = 1;
}

double RequestWriter::next_uniform() {
    // xorshift64*: fast, good enough to spread a mix; deterministic per --seed and thread.
    rng_ ^= rng_ >> 12;
    rng_ ^= rng_ << 25;
    rng_ ^= rng_ >> 27;
    uint64_t x = rng_ * 0x2545F4914F6CDD1Dull;
    return static_cast<double>(x >> 11) * 0x1.0p-53;
}

size_t RequestWriter::request_bytes_max() const {
    return head_.size() + bearer_prefix.size() + http::JwtSigner::token_bytes_max + 2 +
           length_prefix.size() + 20 + head_end.size() + 2 + batch_ * (mix_.body_bytes_max() + 1);
}

bool RequestWriter::write(ByteBuffer& out, uint64_t first_id, int64_t now_s, bool count_kinds) {
    const std::vector<Kind>& kinds = mix_.kinds();
    size_t body_bytes = batch_ > 1 ? 2 + (batch_ - 1) : 0;
    for (uint32_t j = 0; j < batch_; j++) {
        size_t k = mix_.pick(next_uniform());
        picks_[j] = static_cast<uint32_t>(k);
        body_bytes += kinds[k].body.size();
        if (count_kinds) kind_calls_[k]++;
    }
    out.append(head_);
    if (signer_) {
        out.append(bearer_prefix);
        out.append(signer_->bearer_token(now_s));
        out.append("\r\n", 2);
    }
    out.append(length_prefix);
    out.append_u64(body_bytes);
    out.append(head_end);
    if (batch_ > 1) out.push_back('[');
    for (uint32_t j = 0; j < batch_; j++) {
        if (j > 0) out.push_back(',');
        const Kind& kind = kinds[picks_[j]];
        size_t at = out.size();
        if (!out.append(kind.body)) return false;
        patch_id(out.data() + at + kind.id_offset, first_id + j);
    }
    if (batch_ > 1) out.push_back(']');
    return !out.overflowed();
}

Classifier::Classifier(uint32_t batch, size_t response_bytes_max, const Mix* mix)
    : batch_(batch),
      mix_(mix),
      parser_(std::max<size_t>(batch, 1), response_bytes_max),
      seen_(batch),
      calls_(batch) {}

Outcome Classifier::classify(const http::Response* response, const Error* error, uint64_t first_id,
                             RunStats& stats, std::span<const uint32_t> kinds) {
    if (error) {
        switch (error->code()) {
            case Errc::timeout:
                return Outcome::timeout;
            case Errc::invalid_input:
            case Errc::too_large:
                return Outcome::malformed;
            default:
                return Outcome::connection_error;
        }
    }
    EM_ASSERT(response != nullptr);
    if (response->status != 200) {
        stats.add_http_status(response->status);
        return Outcome::http_error;
    }
    return classify_body(response->body, first_id, stats, kinds);
}

bool Classifier::id_in_request(std::string_view id, uint64_t first_id) {
    uint64_t v = 0;
    if (!parse_id(id, &v) || v < first_id || v - first_id >= batch_) return false;
    uint8_t& seen = seen_[v - first_id];
    if (seen) return false;  // the same id answered twice
    seen = 1;
    return true;
}

Outcome Classifier::classify_body(std::string_view body, uint64_t first_id, RunStats& stats,
                                  std::span<const uint32_t> kinds) {
    // The body is inside a ByteBuffer: 64 readable padding bytes follow it.
    auto parsed =
        parser_.parse_batch(body.data(), body.size(), body.size() + ByteBuffer::padding_bytes);
    if (!parsed) return Outcome::malformed;
    std::span<const jsonrpc::Response> answers = parsed->responses;
    bool want_array = batch_ > 1;
    if (!parsed->batch && want_array && answers.size() == 1 && answers[0].is_error) {
        stats.add_code(answers[0].error_code, 1);  // the server rejected the whole batch
        for (CallResult& c : calls_) c = CallResult{true, PayloadStatus::none};
        return Outcome::jsonrpc_error;
    }
    if (parsed->batch != want_array || answers.size() != batch_) return Outcome::malformed;
    std::memset(seen_.data(), 0, seen_.size());
    bool any_error = false;
    for (const jsonrpc::Response& a : answers) {
        if (!id_in_request(a.id, first_id)) return Outcome::malformed;
        any_error |= a.is_error;
    }
    // Answers may come in any order: file each under its call (its id says which).
    for (const jsonrpc::Response& a : answers) {
        uint64_t v = 0;
        parse_id(a.id, &v);
        size_t j = static_cast<size_t>(v - first_id);
        bool wants_status = mix_ && j < kinds.size() && mix_->kinds()[kinds[j]].payload_status;
        calls_[j] =
            CallResult{a.is_error, a.is_error || !wants_status ? PayloadStatus::none
                                                               : find_payload_status(a.result)};
    }
    if (!any_error) return Outcome::ok;
    for (const jsonrpc::Response& a : answers) {
        if (a.is_error) stats.add_code(a.error_code, 1);
    }
    return Outcome::jsonrpc_error;
}

}  // namespace em::load
