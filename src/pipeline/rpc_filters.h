// FilterTable: which node made each filter (issue 16: filter methods stick to the node that
// created the filter). eth_newFilter, eth_newBlockFilter and eth_newPendingTransactionFilter
// answer a filter id that only their node knows; eth_getFilterChanges, eth_getFilterLogs and
// eth_uninstallFilter with that id must go there. One table is shared by every shard's rpc
// policy: a client that made a filter on one connection may poll it on another, which
// SO_REUSEPORT may hand to another shard.
//
// Bounded: `filters_max` ids in all, split evenly over the stripes, each forgetting its oldest
// id first; an id longer than id_bytes_max is not remembered (ELs answer 0x and 32 hex digits).
//
// Threads: any. Each of 16 stripes has its own mutex, held for one hash lookup or insert (off
// the socket path: the gate asks before a call starts); a lookup by view allocates nothing, a
// filter's creation allocates its id once.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace em::pipeline::rpc {

class FilterTable {
  public:
    static constexpr size_t id_bytes_max = 130;  ///< a longer id is not remembered

    /// `filters_max`: ids remembered at once (at least one per stripe).
    explicit FilterTable(size_t filters_max);
    FilterTable(const FilterTable&) = delete;
    FilterTable& operator=(const FilterTable&) = delete;

    /// Node `node` made the filter `id` (a later creation of the same id moves it).
    void remember(std::string_view id, size_t node);
    /// The node that made the filter `id`, or -1 when it is not (or no longer) known.
    [[nodiscard]] int node_of(std::string_view id) const;
    /// Ids remembered now.
    [[nodiscard]] size_t size() const;

  private:
    static constexpr size_t stripes = 16;
    struct Hash {
        using is_transparent = void;
        size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };
    struct Stripe {
        mutable std::mutex mutex;
        std::unordered_map<std::string, uint8_t, Hash, std::equal_to<>> nodes;
        std::deque<std::string> order;  ///< oldest first
    };
    Stripe& stripe_of(std::string_view id) { return stripes_[Hash{}(id) % stripes]; }
    const Stripe& stripe_of(std::string_view id) const { return stripes_[Hash{}(id) % stripes]; }

    size_t stripe_ids_max_;
    std::array<Stripe, stripes> stripes_;
};

}  // namespace em::pipeline::rpc
