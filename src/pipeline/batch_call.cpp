#include "pipeline/batch_call.h"

#include "jsonrpc/writer.h"

namespace em::pipeline {

void BatchCall::start(size_t count) {
    EM_ASSERT(state_ == State::idle || state_ == State::done);
    state_ = State::starting;
    count_ = count;
    if (elements_.size() < count) {
        elements_.reserve(count);
        while (elements_.size() < count) elements_.emplace_back(64u << 20, 256);
    }
    wanted_.assign(count, 0);
    set_.assign(count, 0);
    for (size_t i = 0; i < count; i++) elements_[i].clear();
    missing_ = count;
}

void BatchCall::set(size_t index, std::string_view response, Actions& out) {
    EM_ASSERT(state_ == State::starting || state_ == State::collecting);
    EM_ASSERT(index < count_ && !set_[index]);
    set_[index] = 1;
    elements_[index].clear();
    elements_[index].append(response);
    missing_--;
    if (missing_ == 0 && state_ == State::collecting) complete(out);
}

void BatchCall::started(Actions& out) {
    EM_ASSERT(state_ == State::starting);
    state_ = State::collecting;
    if (missing_ == 0) complete(out);
}

void BatchCall::release_grown_buffers() {
    for (ByteBuffer& e : elements_) e.release_if_grown(call_buffer_keep_bytes, 256);
    answer_.release_if_grown(call_buffer_keep_bytes, 1024);
}

void BatchCall::complete(Actions& out) {
    state_ = State::done;
    answer_.clear();
    size_t answers = 0;
    for (size_t i = 0; i < count_; i++) answers += wanted_[i] && !elements_[i].empty();
    if (answers == 0) {
        out.answer({}, 204);  // only notifications: JSON-RPC sends nothing back
        return;
    }
    jsonrpc::begin_batch(answer_);
    bool first = true;
    for (size_t i = 0; i < count_; i++) {
        if (!wanted_[i] || elements_[i].empty()) continue;
        if (!first) jsonrpc::batch_separator(answer_);
        first = false;
        answer_.append(elements_[i].view());
    }
    jsonrpc::end_batch(answer_);
    out.answer(answer_.view());
}

}  // namespace em::pipeline
