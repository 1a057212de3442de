#include "net/ws_conn.h"

#include <utility>

#include "base/assert.h"

namespace em::http {

namespace {
constexpr size_t queue_initial_bytes = 4096;
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

void WsSendQueue::sent(size_t n) {
    EM_ASSERT(sent_ + n <= front_.size());
    sent_ += n;
}

WsSession::WsSession(const WsConfig& c, WsHandler& h)
    : handler(&h),
      config(c),
      parser(c.limits, WsRole::server),
      message(c.limits.message_bytes_max + 64, 4096),
      queue(c.send_queue_bytes) {}

}  // namespace em::http
