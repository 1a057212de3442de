#include "upstream/registry.h"

#include "base/name.h"

namespace em::upstream {

size_t Registry::count() const {
    size_t n = 0;
    for (auto& slot : slots_) n += slot.load(std::memory_order_acquire) != nullptr;
    return n;
}

int Registry::find(std::string_view name) const {
    for (size_t i = 0; i < nodes_max; i++) {
        const NodeInfo* info = get(i);
        if (info && info->name == name) return static_cast<int>(i);
    }
    return -1;
}

Result<size_t> Registry::add(NodeInfo info) {
    // The last line of defence: a name reaches log lines and /metrics labels from here.
    if (auto ok = check_name(info.name); !ok) return Unexpected(ok.error().prefix("node name"));
    std::lock_guard<std::mutex> lock(mutex_);
    if (find(info.name) >= 0)
        return failf(Errc::invalid_input, "a node named '%s' exists already", info.name.c_str());
    for (size_t i = 0; i < nodes_max; i++) {
        if (get(i)) continue;
        info.index = i;
        info.options.name = info.name;
        owned_.push_back(std::make_unique<NodeInfo>(std::move(info)));
        slots_[i].store(owned_.back().get(), std::memory_order_release);
        return i;
    }
    return failf(Errc::busy, "all %zu node slots are in use", nodes_max);
}

Result<void> Registry::replace(size_t i, NodeInfo info) {
    if (auto ok = check_name(info.name); !ok) return Unexpected(ok.error().prefix("node name"));
    std::lock_guard<std::mutex> lock(mutex_);
    int other = find(info.name);
    if (other >= 0 && static_cast<size_t>(other) != i)
        return failf(Errc::invalid_input, "a node named '%s' exists already", info.name.c_str());
    info.index = i;
    info.options.name = info.name;
    owned_.push_back(std::make_unique<NodeInfo>(std::move(info)));
    slots_[i].store(owned_.back().get(), std::memory_order_release);
    return {};
}

void Registry::remove(size_t i) {
    std::lock_guard<std::mutex> lock(mutex_);
    slots_[i].store(nullptr, std::memory_order_release);
}

}  // namespace em::upstream
