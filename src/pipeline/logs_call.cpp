#include "pipeline/logs_call.h"

#include <cstdio>

#include "jsonrpc/codes.h"
#include "jsonrpc/writer.h"

namespace em::pipeline {

LogsCall::LogsCall(CallEnv& env, size_t body_bytes_max)
    : env_(env),
      rest_(body_bytes_max + 1024, 256),
      request_(body_bytes_max + 1024, 256),
      merged_(64u << 20, 1024),
      answer_((64u << 20) + 8192, 256) {}

bool LogsCall::start(std::string_view id, std::string_view params, const LogsSplit& split,
                     size_t method_slot) {
    EM_ASSERT(state_ == State::idle || state_ == State::done);
    if (!rpc::logs_filter_rest(params, rest_)) return false;
    rpc::split_range(split.from, split.to, split.blocks, ranges_);
    EM_ASSERT(!ranges_.empty());
    while (answers_.size() < ranges_.size()) answers_.emplace_back(64u << 20, 256);
    results_.assign(ranges_.size(), {});
    for (size_t k = 0; k < ranges_.size(); k++) answers_[k].clear();
    id_.clear();
    id_.append(id);
    merged_.set_bytes_max(split.bytes_max);
    missing_ = ranges_.size();
    all_started_ = false;
    method_slot_ = method_slot;
    state_ = State::collecting;
    return true;
}

std::string_view LogsCall::piece_request(size_t k) {
    bool ok = rpc::write_logs_piece(request_, k + 1, ranges_[k], rest_.view());
    EM_ASSERT(ok);  // the rest came from a request under the same limit, plus 1 KiB headroom
    return request_.view();
}

std::string_view LogsCall::piece_id(size_t k) {
    int n = std::snprintf(piece_id_, sizeof piece_id_, "%zu", k + 1);
    return {piece_id_, static_cast<size_t>(n)};
}

void LogsCall::set(size_t k, std::string_view response, Actions& out) {
    EM_ASSERT(k < ranges_.size() && missing_ > 0);
    EM_ASSERT(state_ == State::collecting || state_ == State::answered);
    missing_--;
    if (state_ == State::collecting) {
        ByteBuffer& a = answers_[k];
        a.clear();
        a.append(response);
        auto parsed = env_.responses.parse(a.data(), a.size(), a.capacity() + a.padding_bytes);
        if (!parsed) {
            fail(k, jsonrpc::code::server_error, parsed.error().message(), out);
        } else if (parsed->is_error) {
            fail(k, parsed->error_code, parsed->error_message, out);
        } else {
            results_[k] = parsed->result;
        }
    }
    complete(out);
}

void LogsCall::started(Actions& out) {
    EM_ASSERT(!all_started_ && (state_ == State::collecting || state_ == State::answered));
    all_started_ = true;
    complete(out);
}

void LogsCall::complete(Actions& out) {
    if (!all_started_ || missing_ > 0) return;
    if (state_ == State::answered) {
        state_ = State::done;  // the client has its error; the last piece is in
        return;
    }
    merging_.clear();
    for (size_t k = 0; k < ranges_.size(); k++) merging_.push_back({ranges_[k], results_[k]});
    auto merged = rpc::merge_logs(merging_, merged_);
    if (!merged) {
        char message[Error::message_bytes_max + 96];
        std::snprintf(message, sizeof message,
                      "eth_getLogs in %zu pieces: %s; no partial answer is given", ranges_.size(),
                      merged.error().c_str());
        answer_error(jsonrpc::code::server_error, message, out);
    } else if (id_.empty()) {
        out.answer({}, 204);  // a notification: JSON-RPC answers nothing
    } else {
        answer_.clear();
        jsonrpc::write_result(answer_, id_.view(), merged_.view());
        out.answer(answer_.view());
    }
    state_ = State::done;
}

void LogsCall::fail(size_t k, int code, std::string_view why, Actions& out) {
    char message[Error::message_bytes_max + 160];
    std::snprintf(message, sizeof message,
                  "eth_getLogs: blocks %llu..%llu (piece %zu of %zu) failed, so no answer is "
                  "given for the whole range: %.*s",
                  static_cast<unsigned long long>(ranges_[k].from),
                  static_cast<unsigned long long>(ranges_[k].to), k + 1, ranges_.size(),
                  static_cast<int>(why.size() > 400 ? 400 : why.size()), why.data());
    answer_error(code, message, out);
}

void LogsCall::answer_error(int code, std::string_view message, Actions& out) {
    bump(env_.metrics.rpc.logs_split_failures);
    bump(env_.metrics.rpc.methods[method_slot_].errors);
    bump(env_.metrics.request_errors[method_slot_other]);
    state_ = State::answered;
    if (id_.empty()) {
        out.answer({}, 204);  // a notification: JSON-RPC answers nothing, not even an error
        return;
    }
    answer_.clear();
    jsonrpc::write_error(answer_, id_.view(), code, message);
    out.answer(answer_.view());
}

void LogsCall::release_grown_buffers() {
    for (ByteBuffer& a : answers_) a.release_if_grown(call_buffer_keep_bytes, 256);
    for (ByteBuffer* b : {&rest_, &request_, &merged_, &answer_})
        b->release_if_grown(call_buffer_keep_bytes, 256);
}

}  // namespace em::pipeline
