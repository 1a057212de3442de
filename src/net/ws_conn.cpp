#include "net/ws_conn.h"

#include <utility>

#include "base/assert.h"

namespace em::http {

namespace {
constexpr size_t queue_initial_bytes = 4096;
/// The message buffer's initial size (and what it shrinks back to).
constexpr size_t message_initial_bytes = 4096;
/// A queue buffer grown past this goes back to its initial size once the queue is empty.
constexpr size_t queue_keep_bytes = 256u << 10;
}  // namespace

WsSendQueue::WsSendQueue(size_t bytes_max)
    : bytes_max_(bytes_max),
      front_(bytes_max + headroom_bytes, queue_initial_bytes),
      back_(bytes_max + headroom_bytes, queue_initial_bytes) {}

bool WsSendQueue::push(WsOpcode op, std::span<const uint8_t> payload) {
    size_t frame = ws_header_bytes(payload.size(), false) + payload.size();
    if (close_queued_ || queued_bytes() + frame > bytes_max_) return false;
    bool fits = ws_write_frame(back_, op, payload);
    EM_ASSERT(fits);  // back_ holds at most bytes_max_ + headroom_bytes
    return true;
}

void WsSendQueue::push_raw(std::string_view bytes) {
    EM_ASSERT(bytes.size() <= headroom_bytes && queued_bytes() == 0);
    bool fits = back_.append(bytes);
    EM_ASSERT(fits);
}

void WsSendQueue::push_close(uint16_t code, std::string_view reason) {
    if (close_queued_) return;
    close_queued_ = true;
    bool fits = ws_write_close(back_, code, reason);
    EM_ASSERT(fits);  // a close frame is at most 127 bytes: within the headroom
}

std::span<const char> WsSendQueue::next() {
    if (sent_ == front_.size()) {
        front_.clear();
        sent_ = 0;
        if (!back_.empty()) {
            std::swap(front_, back_);
        } else {
            if (front_.capacity() > queue_keep_bytes) front_.shrink_to(queue_initial_bytes);
            if (back_.capacity() > queue_keep_bytes) back_.shrink_to(queue_initial_bytes);
        }
    }
    return {front_.data() + sent_, front_.size() - sent_};
}

size_t WsSendQueue::grown_bytes() const {
    auto grown = [](const ByteBuffer& b) {
        return b.capacity() > queue_initial_bytes ? b.capacity() - queue_initial_bytes : 0;
    };
    return grown(front_) + grown(back_);
}

void WsSendQueue::shrink() {
    EM_ASSERT(queued_bytes() == 0);
    front_.clear();
    back_.clear();
    sent_ = 0;
    if (front_.capacity() > queue_initial_bytes) front_.shrink_to(queue_initial_bytes);
    if (back_.capacity() > queue_initial_bytes) back_.shrink_to(queue_initial_bytes);
}

void WsSendQueue::sent(size_t n) {
    EM_ASSERT(sent_ + n <= front_.size());
    sent_ += n;
}

WsSession::WsSession(const WsConfig& c, WsHandler& h)
    : handler(&h),
      config(c),
      parser(c.limits, WsRole::server),
      message(c.limits.message_bytes_max + 64, message_initial_bytes),
      queue(c.send_queue_bytes) {}

namespace {
/// What the idle buffers of a session hold beyond their initial size (a buffer in use counts 0:
/// its growth is the message's or the backlog's, bounded by their own limits).
uint64_t idle_grown_bytes(const WsSession& s) {
    uint64_t bytes = 0;
    if (s.message.empty() && s.message.capacity() > message_initial_bytes)
        bytes += s.message.capacity() - message_initial_bytes;
    if (s.queue.queued_bytes() == 0) bytes += s.queue.grown_bytes();
    return bytes;
}
}  // namespace

int64_t WsSession::settle() {
    uint64_t before = kept_bytes;
    uint64_t want = idle_grown_bytes(*this);
    ByteBudget* budget = config.grown_budget;
    if (want > kept_bytes && !(budget && budget->try_reserve(want - kept_bytes))) {
        if (message.empty() && message.capacity() > message_initial_bytes)
            message.shrink_to(message_initial_bytes);
        if (queue.queued_bytes() == 0) queue.shrink();
        want = idle_grown_bytes(*this);  // 0: both idle buffers are back to their initial size
    }
    if (want < kept_bytes) budget->release(kept_bytes - want);  // kept_bytes > 0: a budget
    kept_bytes = want;
    return static_cast<int64_t>(kept_bytes) - static_cast<int64_t>(before);
}

int64_t WsSession::release() {
    uint64_t before = kept_bytes;
    if (kept_bytes && config.grown_budget) config.grown_budget->release(kept_bytes);
    kept_bytes = 0;
    return -static_cast<int64_t>(before);
}

}  // namespace em::http
