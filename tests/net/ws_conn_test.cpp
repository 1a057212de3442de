// WsSendQueue (net/ws_conn.h) without sockets: the bound on queued bytes (a frame that would
// pass it is refused, so the caller closes with 1008), the close frame that always fits behind
// the data, nothing after it, bytes leaving in order across the two buffers, and memory that
// does not grow with the traffic that went through. WsSession::settle: what idle connections keep
// of grown buffers stays within the shared budget, and everything reserved is given back.
#include <gtest/gtest.h>

#include <string>

#include "http/websocket.h"
#include "net/ws_conn.h"

namespace em::http {
namespace {

std::span<const uint8_t> bytes_of(std::string_view s) {
    return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

/// Takes everything queued, n bytes per send, as a socket would.
std::string drain(WsSendQueue& q, size_t n = 1000) {
    std::string out;
    for (;;) {
        std::span<const char> b = q.next();
        if (b.empty()) return out;
        size_t k = std::min(n, b.size());
        out.append(b.data(), k);
        q.sent(k);
    }
}

/// The messages (text payloads) and close code in wire bytes, read with the client's parser.
std::vector<std::string> frames_of(std::string wire, uint16_t* close_code) {
    WsParser parser(WsLimits{}, WsRole::client);
    std::vector<std::string> out;
    std::span<uint8_t> in(reinterpret_cast<uint8_t*>(wire.data()), wire.size());
    while (!in.empty()) {
        WsEvent e = parser.parse(in);
        in = in.subspan(e.consumed);
        if (e.kind == WsEventKind::data)
            out.emplace_back(reinterpret_cast<const char*>(e.payload.data()), e.payload.size());
        if (e.kind == WsEventKind::close) *close_code = e.close_code;
        if (e.kind == WsEventKind::error || e.kind == WsEventKind::incomplete) break;
    }
    return out;
}

TEST(WsSendQueue, AFrameThatWouldPassTheBoundIsRefusedAndNothingOfItQueued) {
    WsSendQueue q(1000);
    std::string text(98, 'x');  // 100 bytes framed
    for (int i = 0; i < 10; i++) ASSERT_TRUE(q.push(WsOpcode::text, bytes_of(text))) << i;
    EXPECT_EQ(q.queued_bytes(), 1000u);
    EXPECT_FALSE(q.push(WsOpcode::text, bytes_of("y")));
    EXPECT_EQ(q.queued_bytes(), 1000u);
    // Bytes that left make room again.
    std::span<const char> b = q.next();
    q.sent(300);
    (void)b;
    EXPECT_EQ(q.queued_bytes(), 700u);
    EXPECT_TRUE(q.push(WsOpcode::text, bytes_of(text)));
    EXPECT_FALSE(q.push(WsOpcode::text, bytes_of(std::string(299, 'z'))));
}

TEST(WsSendQueue, TheCloseFrameFitsBehindAFullQueueAndNothingFollowsIt) {
    WsSendQueue q(500);
    std::string text(98, 'x');
    for (int i = 0; i < 5; i++) ASSERT_TRUE(q.push(WsOpcode::text, bytes_of(text)));
    std::string reason(200, 'r');  // cut to 123 bytes by ws_write_close
    q.push_close(ws_close::policy_violation, reason);
    EXPECT_TRUE(q.close_queued());
    EXPECT_LE(q.queued_bytes(), 500u + WsSendQueue::headroom_bytes);
    EXPECT_FALSE(q.push(WsOpcode::text, bytes_of("late")));
    EXPECT_FALSE(q.push(WsOpcode::pong, bytes_of("")));
    uint16_t code = 0;
    std::vector<std::string> got = frames_of(drain(q, 7), &code);
    ASSERT_EQ(got.size(), 5u);
    EXPECT_EQ(got[4], text);
    EXPECT_EQ(code, ws_close::policy_violation);
    EXPECT_EQ(q.queued_bytes(), 0u);
}

TEST(WsSendQueue, BytesLeaveInOrderAcrossTheTwoBuffersWhileMoreAreQueued) {
    WsSendQueue q(1u << 20);
    q.push_raw("HTTP/1.1 101 Switching Protocols\r\n\r\n");
    std::string wire;
    int pushed = 0;
    for (int round = 0; round < 50; round++) {
        for (int i = 0; i < 3; i++)
            ASSERT_TRUE(q.push(WsOpcode::text, bytes_of(std::to_string(pushed++))));
        // Half of what is ready leaves, then more is queued behind it.
        std::span<const char> b = q.next();
        size_t k = b.size() / 2 + 1;
        wire.append(b.data(), k);
        q.sent(k);
    }
    wire += drain(q);
    const std::string head = "HTTP/1.1 101 Switching Protocols\r\n\r\n";
    ASSERT_EQ(wire.substr(0, head.size()), head);
    uint16_t code = 0;
    std::vector<std::string> got = frames_of(wire.substr(head.size()), &code);
    ASSERT_EQ(got.size(), 150u);
    for (int i = 0; i < 150; i++) EXPECT_EQ(got[i], std::to_string(i));
}

TEST(WsSendQueue, MemoryDoesNotGrowWithTrafficAndGoesBackWhenEmpty) {
    const size_t max = 64 * 1024;
    WsSendQueue q(max);
    std::string text(8000, 'x');
    size_t most = 0;
    for (int round = 0; round < 200; round++) {
        while (q.push(WsOpcode::text, bytes_of(text))) {
        }
        EXPECT_LE(q.queued_bytes(), max);
        most = std::max(most, q.capacity_bytes());
        std::span<const char> b = q.next();
        q.sent(b.size());
    }
    // Two buffers, each at most the bound plus headroom (rounded up to a power of two).
    EXPECT_LE(most, 4 * (max + WsSendQueue::headroom_bytes));
    drain(q);
    EXPECT_EQ(q.queued_bytes(), 0u);
}

class NoHandler : public WsHandler {
  public:
    void on_ws_message(ServerConn&, std::string_view, size_t) override {}
    void on_ws_closed(ServerConn&) override {}
};

/// A session whose message buffer grew to hold `bytes` and was then delivered (cleared).
void grow_message(WsSession& s, size_t bytes) {
    std::string big(bytes, 'm');
    ASSERT_TRUE(s.message.append(big.data(), big.size()));
    s.message.clear();
}

TEST(WsSession, IdleGrownBuffersAreKeptWithinTheBudgetAndShrinkPastIt) {
    NoHandler handler;
    ByteBudget budget(600u << 10);  // room for two 256-KiB messages' growth, not three
    WsConfig config;
    config.limits.message_bytes_max = config.limits.frame_bytes_max = 1u << 20;
    config.grown_budget = &budget;
    WsSession a(config, handler), b(config, handler), c(config, handler);
    for (WsSession* s : {&a, &b, &c}) grow_message(*s, 200'000);
    EXPECT_GT(a.settle(), 0);
    EXPECT_GT(b.settle(), 0);
    EXPECT_GT(a.message.capacity(), 200'000u) << "kept: the budget had room";
    EXPECT_EQ(a.kept_bytes + b.kept_bytes, budget.reserved_bytes());
    EXPECT_EQ(c.settle(), 0) << "the budget is full: nothing more reserved";
    EXPECT_LE(c.message.capacity(), 4096u) << "shrunk back to its initial size";
    EXPECT_EQ(c.kept_bytes, 0u);
    EXPECT_LE(budget.reserved_bytes(), budget.bytes_max());
    // A second settle with nothing changed reserves nothing more.
    uint64_t held = budget.reserved_bytes();
    EXPECT_EQ(a.settle(), 0);
    EXPECT_EQ(budget.reserved_bytes(), held);
    // Closing gives back exactly what was kept; then c has room.
    EXPECT_LT(a.release(), 0);
    EXPECT_EQ(budget.reserved_bytes(), b.kept_bytes);
    grow_message(c, 200'000);
    EXPECT_GT(c.settle(), 0);
    EXPECT_GT(c.message.capacity(), 200'000u);
}

TEST(WsSession, WithoutABudgetOrWithAZeroOneEveryGrownBufferShrinksBack) {
    NoHandler handler;
    ByteBudget zero(0);
    for (ByteBudget* budget : {static_cast<ByteBudget*>(nullptr), &zero}) {
        WsConfig config;
        config.limits.message_bytes_max = config.limits.frame_bytes_max = 1u << 20;
        config.grown_budget = budget;
        WsSession s(config, handler);
        grow_message(s, 100'000);
        std::string answer(70'000, 'a');
        ASSERT_TRUE(s.queue.push(WsOpcode::text, bytes_of(answer)));
        EXPECT_GT(s.queue.grown_bytes(), 0u);
        drain(s.queue);
        EXPECT_EQ(s.settle(), 0);
        EXPECT_LE(s.message.capacity(), 4096u);
        EXPECT_EQ(s.queue.grown_bytes(), 0u);
        EXPECT_EQ(s.kept_bytes, 0u);
    }
}

TEST(WsSession, ABufferInUseIsNotShrunkAndItsGrowthIsSettledWhenIdle) {
    NoHandler handler;
    ByteBudget budget(0);
    WsConfig config;
    config.limits.message_bytes_max = config.limits.frame_bytes_max = 1u << 20;
    config.grown_budget = &budget;
    WsSession s(config, handler);
    std::string answer(70'000, 'a');
    ASSERT_TRUE(s.queue.push(WsOpcode::text, bytes_of(answer)));
    std::string part(50'000, 'p');  // a message half assembled
    ASSERT_TRUE(s.message.append(part.data(), part.size()));
    EXPECT_EQ(s.settle(), 0);
    EXPECT_EQ(s.queue.queued_bytes(), ws_header_bytes(answer.size(), false) + answer.size())
        << "queued bytes are never dropped";
    EXPECT_EQ(s.message.size(), part.size()) << "a message being assembled is kept whole";
    EXPECT_EQ(drain(s.queue).size(), ws_header_bytes(answer.size(), false) + answer.size());
    s.message.clear();
    s.settle();
    EXPECT_LE(s.message.capacity(), 4096u);
    EXPECT_EQ(s.queue.grown_bytes(), 0u);
}

TEST(WsSession, ReleaseOnDestructionGivesTheReservationBack) {
    NoHandler handler;
    ByteBudget budget(1u << 20);
    WsConfig config;
    config.limits.message_bytes_max = config.limits.frame_bytes_max = 1u << 20;
    config.grown_budget = &budget;
    {
        WsSession s(config, handler);
        grow_message(s, 100'000);
        EXPECT_GT(s.settle(), 0);
        EXPECT_GT(budget.reserved_bytes(), 0u);
    }
    EXPECT_EQ(budget.reserved_bytes(), 0u);
}

}  // namespace
}  // namespace em::http
