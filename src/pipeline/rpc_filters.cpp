#include "pipeline/rpc_filters.h"

namespace em::pipeline::rpc {

FilterTable::FilterTable(size_t filters_max)
    : stripe_ids_max_(filters_max / stripes ? (filters_max + stripes - 1) / stripes : 1) {}

void FilterTable::remember(std::string_view id, size_t node) {
    if (id.empty() || id.size() > id_bytes_max) return;
    Stripe& s = stripe_of(id);
    std::lock_guard lock(s.mutex);
    auto found = s.nodes.find(id);
    if (found != s.nodes.end()) {
        found->second = static_cast<uint8_t>(node);
        return;
    }
    if (s.order.size() >= stripe_ids_max_) {
        s.nodes.erase(s.order.front());
        s.order.pop_front();
    }
    s.order.emplace_back(id);
    s.nodes.emplace(std::string(id), static_cast<uint8_t>(node));
}

int FilterTable::node_of(std::string_view id) const {
    const Stripe& s = stripe_of(id);
    std::lock_guard lock(s.mutex);
    auto found = s.nodes.find(id);
    return found == s.nodes.end() ? -1 : found->second;
}

size_t FilterTable::size() const {
    size_t total = 0;
    for (const Stripe& s : stripes_) {
        std::lock_guard lock(s.mutex);
        total += s.nodes.size();
    }
    return total;
}

}  // namespace em::pipeline::rpc
