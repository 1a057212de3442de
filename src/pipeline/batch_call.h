// BatchCall: a JSON-RPC batch that holds engine calls. Each element runs as a call of its own
// (a vote, a forward, ...) and delivers its answer here; when every element is in, the array
// goes to the client in the elements' order (a batch of notifications only: HTTP 204, no body).
// Elements can be answered while the batch is still starting them (a malformed element is
// answered at once): the batch waits for started() before it can be complete.
//
// States: idle -> starting -> collecting -> done (starting -> done when every element was
// answered before started()).
//
// Threads: the owning shard's thread. No I/O: answers in, one answer action out.
#pragma once

#include <vector>

#include "base/buffer.h"
#include "pipeline/actions.h"
#include "pipeline/fanout.h"

namespace em::pipeline {

class BatchCall {
  public:
    enum class State : uint8_t { idle, starting, collecting, done };

    /// A batch of `count` elements; wanted[i]: the client expects element i's answer.
    void start(size_t count);
    void want(size_t index, bool wanted) { wanted_[index] = wanted ? 1 : 0; }
    /// Element `index`'s response object (copied; empty: no answer, e.g. a notification).
    void set(size_t index, std::string_view response, Actions& out);
    /// Every element has been started.
    void started(Actions& out);

    State state() const { return state_; }
    bool done() const { return state_ == State::done; }
    size_t count() const { return count_; }
    /// Between batches: buffers grown past call_buffer_keep_bytes go back to a small size.
    void release_grown_buffers();

  private:
    void complete(Actions& out);

    State state_ = State::idle;
    std::vector<ByteBuffer> elements_;
    std::vector<uint8_t> wanted_;
    std::vector<uint8_t> set_;
    size_t count_ = 0;
    size_t missing_ = 0;
    ByteBuffer answer_{64u << 20, 1024};
};

}  // namespace em::pipeline
