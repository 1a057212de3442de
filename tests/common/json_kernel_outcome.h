// Test helper: everything a JSON kernel (engine/json_kernel.h) makes of one request body, written
// out field by field as text, so that two kernels' outcomes compare with == and a difference is
// reported as the first line that differs. Used by tests/engine/json_kernel_test.cpp and
// fuzz/engine/json_kernel_fuzz.cpp.
//
// One thread per RequestKernel. The outcome covers the parse (error code and message, or the
// envelope: every entry's flags, error, method, id, params and raw text with their offsets in
// the body) and, for every valid entry: the newPayload decode (when the method is one: the
// error, or every decoded field and the unknown-field counter), param_string(0) and the
// param_member_string / param_is_object / param_member_bool answers the pipeline asks for.
#pragma once

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include "base/arena.h"
#include "engine/json_kernel.h"
#include "eth/payload_decode.h"

namespace em::test {

class OutcomeWriter {
  public:
    OutcomeWriter(const char* body, size_t len) : body_(body), len_(len) {}

    [[gnu::format(printf, 2, 3)]] void line(const char* fmt, ...) {
        char buf[512];
        va_list args;
        va_start(args, fmt);
        std::vsnprintf(buf, sizeof buf, fmt, args);
        va_end(args);
        out_ += buf;
        out_ += '\n';
    }
    /// name=@offset:"text" for a view into the body, name=scratch:"text" otherwise.
    void view(const char* name, std::string_view v) {
        out_ += name;
        if (v.data() == nullptr) {
            out_ += "=null\n";
            return;
        }
        bool in_body = v.data() >= body_ && v.data() <= body_ + len_;
        size_t offset = in_body ? static_cast<size_t>(v.data() - body_) : 0;
        out_ += in_body ? "=@" + std::to_string(offset) + ":" : std::string("=scratch:");
        out_ += v;
        out_ += '\n';
    }
    void bytes(const char* name, std::span<const uint8_t> b) {
        out_ += name;
        out_ += '=';
        static constexpr char digits[] = "0123456789abcdef";
        for (uint8_t x : b) {
            out_ += digits[x >> 4];
            out_ += digits[x & 15];
        }
        out_ += '\n';
    }
    void error(const char* name, const Error& e) {
        out_ += name;
        out_ += ": error " + std::to_string(static_cast<int>(e.code())) + " ";
        out_ += e.c_str();
        out_ += '\n';
    }
    std::string take() { return std::move(out_); }

  private:
    const char* body_;
    size_t len_;
    std::string out_;
};

inline void write_payload(OutcomeWriter& w, const eth::NewPayload& n) {
    const eth::ExecutionPayload& p = n.payload;
    w.line("version=%u fork=%s isthmus=%d", n.version, eth::fork_name(n.fork), n.op_isthmus);
    w.bytes("parent_hash", p.parent_hash);
    w.bytes("fee_recipient", p.fee_recipient);
    w.bytes("state_root", p.state_root);
    w.bytes("receipts_root", p.receipts_root);
    w.bytes("logs_bloom", p.logs_bloom);
    w.bytes("prev_randao", p.prev_randao);
    w.line("block_number=%llu gas_limit=%llu gas_used=%llu timestamp=%llu",
           static_cast<unsigned long long>(p.block_number),
           static_cast<unsigned long long>(p.gas_limit),
           static_cast<unsigned long long>(p.gas_used),
           static_cast<unsigned long long>(p.timestamp));
    w.bytes("extra_data", p.extra_data);
    w.bytes("base_fee_per_gas", p.base_fee_per_gas.be);
    w.bytes("block_hash", p.block_hash);
    w.line("transactions=%zu headroom=%zu", p.transactions.size(), p.transactions_headroom_bytes);
    for (const eth::Bytes& tx : p.transactions) w.bytes("tx", tx);
    w.line("has_withdrawals=%d withdrawals=%zu", p.has_withdrawals, p.withdrawals.size());
    for (const eth::Withdrawal& x : p.withdrawals) {
        w.line("withdrawal index=%llu validator=%llu amount=%llu",
               static_cast<unsigned long long>(x.index),
               static_cast<unsigned long long>(x.validator_index),
               static_cast<unsigned long long>(x.amount_gwei));
        w.bytes("withdrawal address", x.address);
    }
    w.line("has_blob_gas=%d blob_gas_used=%llu excess_blob_gas=%llu", p.has_blob_gas,
           static_cast<unsigned long long>(p.blob_gas_used),
           static_cast<unsigned long long>(p.excess_blob_gas));
    w.line("has_withdrawals_root=%d", p.has_withdrawals_root);
    w.bytes("withdrawals_root", p.withdrawals_root);
    w.line("has_block_access_list=%d slot_number=%llu", p.has_block_access_list,
           static_cast<unsigned long long>(p.slot_number));
    w.bytes("block_access_list", p.block_access_list);
    w.line("versioned_hashes=%zu", n.versioned_hashes.size());
    for (const eth::Hash32& h : n.versioned_hashes) w.bytes("versioned_hash", h);
    w.bytes("parent_beacon_block_root", n.parent_beacon_block_root);
    w.line("execution_requests=%zu", n.execution_requests.size());
    for (const eth::Bytes& r : n.execution_requests) w.bytes("request", r);
}

/// The outcome of one entry's params questions (the pipeline's and the decoder's).
inline void write_entry_params(OutcomeWriter& w, engine::RequestKernel& kernel, size_t index,
                               const jsonrpc::Request& request, Arena& arena,
                               const eth::DecodeOptions& options) {
    std::string_view text;
    size_t count = 0;
    bool found = kernel.param_string(index, 0, &text, &count);
    w.line("param_string(0)=%d count=%zu", found, found ? count : 0);
    if (found) w.view("param0", text);
    static constexpr const char* keys[][2] = {
        {"0", "headBlockHash"}, {"1", "timestamp"}, {"1", "parentBeaconBlockRoot"}};
    for (const auto& k : keys) {
        found = kernel.param_member_string(index, static_cast<size_t>(k[0][0] - '0'), k[1], &text);
        w.line("param_member_string(%s,%s)=%d", k[0], k[1], found);
        if (found) w.view("member", text);
    }
    bool flag = false;
    found = kernel.param_member_bool(index, 1, "noTxPool", &flag);
    w.line("param_is_object(1)=%d param_member_bool(1,noTxPool)=%d,%d",
           kernel.param_is_object(index, 1), found, found && flag);
    uint8_t version = eth::new_payload_version(request.method);
    if (version == 0) return;
    arena.reset();
    eth::NewPayload payload;
    eth::DecodeCounters counters;
    Result<void> decoded =
        kernel.decode_new_payload(index, version, arena, payload, options, &counters);
    if (!decoded) return w.error("decode", decoded.error());
    w.line("decode: ok unknown_fields_ignored=%llu",
           static_cast<unsigned long long>(counters.unknown_fields_ignored));
    write_payload(w, payload);
}

/// Everything `kernel` makes of body[0, len) (capacity_bytes >= len + 64), decoding newPayloads
/// with `options` into `arena`.
inline std::string kernel_outcome(engine::RequestKernel& kernel, const char* body, size_t len,
                                  size_t capacity_bytes, Arena& arena,
                                  const eth::DecodeOptions& options = {}) {
    OutcomeWriter w(body, len);
    Result<jsonrpc::Envelope> envelope = kernel.parse(body, len, capacity_bytes);
    if (!envelope) {
        w.error("parse", envelope.error());
        return w.take();
    }
    w.line("parse: ok batch=%d entries=%zu", envelope->batch, envelope->entries.size());
    for (size_t i = 0; i < envelope->entries.size(); i++) {
        const jsonrpc::Entry& e = envelope->entries[i];
        w.line("entry %zu ok=%d error_code=%d message=%s", i, e.ok, e.error_code,
               e.error_message ? e.error_message : "(none)");
        w.view("method", e.request.method);
        w.view("id", e.request.id);
        w.view("params", e.request.params);
        w.view("raw", e.request.raw);
        if (e.ok) write_entry_params(w, kernel, i, e.request, arena, options);
    }
    return w.take();
}

/// The first line where a and b differ, with its number (for failure messages).
inline std::string first_difference(const std::string& a, const std::string& b) {
    size_t line = 1, start = 0;
    size_t n = a.size() < b.size() ? a.size() : b.size();
    for (size_t i = 0; i < n && a[i] == b[i]; i++) {
        if (a[i] == '\n') {
            line++;
            start = i + 1;
        }
    }
    auto line_of = [&](const std::string& s) {
        size_t end = s.find('\n', start);
        return s.substr(start, end == std::string::npos ? std::string::npos : end - start);
    };
    return "line " + std::to_string(line) + ": \"" + line_of(a) + "\" vs \"" + line_of(b) + "\"";
}

}  // namespace em::test
